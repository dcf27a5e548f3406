//! The guide's `Executor.submit` example, ported — on threads and on
//! processes.
//!
//! Python:
//! ```python
//! from concurrent import futures
//!
//! def test(num):
//!     import time
//!     return time.ctime(), num
//!
//! with futures.ThreadPoolExecutor(max_workers=1) as executor:
//!     future = executor.submit(test, 1)
//!     print(future.result())
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example executor_submit`.

use std::time::{SystemTime, UNIX_EPOCH};

use multiproc::executor::{ProcessPoolExecutor, ThreadPoolExecutor};
use multiproc::prelude::*;

/// Seconds since the epoch (the guide prints `time.ctime()`), and `num`.
#[process_fn]
fn test(num: u32) -> (u64, u32) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (now, num)
}

fn main() -> multiproc::Result<()> {
    // A thread executor takes any closure (here it calls the entry directly).
    {
        let executor = ThreadPoolExecutor::new(1)?;
        let future = executor.submit(|| test(1))?;
        println!("thread:  {:?}", future.result()?);
    } // dropped: shut down and waited for, like the end of a `with` block

    // A process executor takes a `#[process_fn]` and its arguments.
    let executor = ProcessPoolExecutor::new(1)?;
    let future = executor.submit(test, (1,))?;
    let (secs, num) = future.result()?;
    println!("process: ({secs}, {num})");
    assert_eq!(num, 1);
    Ok(())
}
