//! The guide's `Queue` example (a writer and a reader process), ported.
//!
//! Python:
//! ```python
//! def write(q):
//!     for value in ['A', 'B', 'C']:
//!         print('Put %s to queue...' % value)
//!         q.put(value)
//!         time.sleep(random.random())
//!
//! def read(q):
//!     while True:
//!         value = q.get(True)
//!         print('Get %s from queue.' % value)
//!
//! q = Queue()
//! pw = Process(target=write, args=(q,)); pr = Process(target=read, args=(q,))
//! pw.start(); pr.start()
//! pw.join()
//! pr.terminate()  # the reader loops forever
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example queue`.

use std::time::Duration;

use multiproc::prelude::*;
use multiproc::queue::Queue;

#[process_fn]
fn write(q: Queue<String>) -> multiproc::Result<()> {
    println!("Process to write: {}", std::process::id());
    for (i, value) in ["A", "B", "C"].into_iter().enumerate() {
        println!("Put {value} to queue...");
        q.put(value.to_string())?;
        std::thread::sleep(Duration::from_millis(100 * i as u64));
    }
    Ok(())
}

#[process_fn]
fn read(q: Queue<String>) {
    println!("Process to read: {}", std::process::id());
    // The reader puts nothing: once every writer is gone too, `get` fails
    // and the loop ends (Python's loops forever and must be terminated).
    q.close();
    while let Ok(value) = q.get() {
        println!("Get {value} from queue.");
    }
}

fn main() -> multiproc::Result<()> {
    let q = Queue::<String>::unbounded()?;
    let mut pw = Process::builder().start(write, (q.clone(),))?;
    let mut pr = Process::builder().start(read, (q.clone(),))?;
    q.close(); // the parent puts nothing
    pw.join()??;
    pr.join_timeout(Duration::from_secs(30))?;
    Ok(())
}
