//! The guide's `os.fork()` example, ported.
//!
//! Python:
//! ```python
//! print('Process (%s) start...' % os.getpid())
//! pid = os.fork()
//! if pid == 0:
//!     print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))
//! else:
//!     print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
//! ```
//!
//! In Rust the child is a closure run by a forked process; its result comes
//! back typed, and the parent reaps it with `join`.
//!
//! Run with `cargo run -p multiproc-examples --example os_fork`.

use multiproc::Process;

fn main() -> multiproc::Result<()> {
    println!("Process ({}) start...", std::process::id());
    let parent = std::process::id();
    let mut child = Process::builder().fork(move || {
        let me = multiproc::current_process().pid();
        println!("I am child process ({me}) and my parent is {parent}.");
        me
    })?;
    println!(
        "I ({}) just created a child process ({}).",
        std::process::id(),
        child.pid()
    );
    let reported = child.join()?;
    assert_eq!(reported, child.pid());
    Ok(())
}
