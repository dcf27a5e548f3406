//! The guide's `Process` example, ported.
//!
//! Python:
//! ```python
//! def run_proc(name):
//!     print('Run child process %s (%s)...' % (name, os.getpid()))
//!
//! if __name__=='__main__':
//!     print('Parent process %s.' % os.getpid())
//!     p = Process(target=run_proc, args=('test',))
//!     print('Child process will start.')
//!     p.start()
//!     p.join()
//!     print('Child process end.')
//! ```
//!
//! No `if __name__ == '__main__'` guard is needed: a re-executed child runs
//! only its entry, never `main`.
//!
//! Run with `cargo run -p multiproc-examples --example process`.

use multiproc::prelude::*;

#[process_fn]
fn run_proc(name: String) {
    println!("Run child process {name} ({})...", std::process::id());
}

fn main() -> multiproc::Result<()> {
    println!("Parent process {}.", std::process::id());
    let mut p = Process::builder()
        .start_method(StartMethod::Spawn)
        .start(run_proc, ("test".to_string(),))?;
    println!("Child process will start.");
    p.join()?;
    println!("Child process end.");
    println!("exitcode = {:?}, is_alive = {}", p.exitcode(), p.is_alive());
    Ok(())
}
