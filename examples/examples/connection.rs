//! `multiprocessing.connection`, ported: `wait` on several workers' pipes
//! and on their processes at once; then a `Listener` and a `Client` that
//! share an authkey.
//!
//! Python:
//! ```python
//! from multiprocessing import Pipe, Process
//! from multiprocessing.connection import wait
//!
//! def work(conn, n):
//!     conn.send(n * n)
//!     conn.close()
//!
//! if __name__ == "__main__":
//!     readers = []
//!     for n in range(4):
//!         r, w = Pipe(duplex=False)
//!         Process(target=work, args=(w, n)).start()
//!         w.close()
//!         readers.append(r)
//!     while readers:
//!         for r in wait(readers):
//!             try:
//!                 print(r.recv())
//!             except EOFError:
//!                 readers.remove(r)
//!
//!     with Listener(("127.0.0.1", 0), authkey=b"secret") as listener:
//!         Process(target=client, args=(listener.address,)).start()
//!         with listener.accept() as conn:
//!             print(conn.recv())
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example connection`.

use multiproc::connection::{wait, Client, Listener, Waitable};
use multiproc::pipe::{Connection, Pipe};
use multiproc::prelude::*;

#[process_fn]
fn work(conn: Connection, n: u64) -> multiproc::Result<()> {
    conn.send(&(n * n))
}

/// Connects to the listener at `address` as an unrelated process would:
/// knowing only the address and the key.
#[process_fn]
fn client(address: String) -> multiproc::Result<()> {
    let conn = Client::connect(&address.parse()?, b"secret")?;
    conn.send(&format!("hello from {}", std::process::id()))
}

fn main() -> multiproc::Result<()> {
    let mut readers = Vec::new();
    let mut workers = Vec::new();
    for n in 0..4 {
        let (r, w) = Pipe::one_way()?;
        // `w` moves into the child's start and is closed here after it.
        workers.push(Process::builder().start(work, (w, n))?);
        readers.push(r);
    }
    let mut total = 0;
    while !readers.is_empty() {
        let objects: Vec<&dyn Waitable> = readers.iter().map(|r| r as &dyn Waitable).collect();
        let ready = wait(&objects, None)?;
        // Indices, highest first, so removing one keeps the others valid.
        for i in ready.into_iter().rev() {
            match readers[i].recv::<u64>() {
                Ok(square) => {
                    println!("{square}");
                    total += square;
                }
                Err(Error::Disconnected { .. }) => {
                    readers.remove(i);
                }
                Err(e) => return Err(e),
            }
        }
    }
    assert_eq!(total, 1 + 4 + 9);
    // The workers' sentinels: join each as it exits.
    while !workers.is_empty() {
        let sentinels: Vec<&dyn Waitable> = workers.iter().map(|p| p as &dyn Waitable).collect();
        let exited = wait(&sentinels, None)?;
        for i in exited.into_iter().rev() {
            workers.remove(i).join()??;
        }
    }

    let listener = Listener::bind(&"127.0.0.1:0".parse()?, b"secret")?;
    let mut p = Process::builder().start(client, (listener.address().to_string(),))?;
    let conn = listener.accept()?;
    println!("{}", conn.recv::<String>()?);
    p.join()??;
    Ok(())
}
