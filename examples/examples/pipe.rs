//! The guide's `Pipe` example, ported.
//!
//! Python:
//! ```python
//! def f(Subconn):
//!     time.sleep(1)
//!     Subconn.send("吃了么")
//!     print("来自父亲的问候:", Subconn.recv())
//!     Subconn.close()
//!
//! if __name__ == "__main__":
//!     parent_conn, child_conn = Pipe()
//!     p = Process(target=f, args=(child_conn,))
//!     p.start()
//!     print("来自儿子的问候:", parent_conn.recv())
//!     parent_conn.send("嗯")
//! ```
//!
//! The child's end travels to the child as an argument (its descriptor goes
//! with the start, whatever the start method).
//!
//! Run with `cargo run -p multiproc-examples --example pipe`.

use std::time::Duration;

use multiproc::pipe::{Connection, Pipe};
use multiproc::prelude::*;

#[process_fn]
fn f(subconn: Connection) -> multiproc::Result<()> {
    std::thread::sleep(Duration::from_secs(1));
    subconn.send("吃了么")?;
    println!("来自父亲的问候: {}", subconn.recv::<String>()?);
    subconn.close();
    Ok(())
}

fn main() -> multiproc::Result<()> {
    let (parent_conn, child_conn) = Pipe::new()?;
    let mut p = Process::builder().start(f, (child_conn,))?;
    println!("来自儿子的问候: {}", parent_conn.recv::<String>()?);
    parent_conn.send("嗯")?;
    // The outer `?` is the child's fate; the inner one, what `f` returned.
    p.join()??;
    Ok(())
}
