//! The guide's `Executor.map` example, ported: results come back in input
//! order.
//!
//! Python:
//! ```python
//! from concurrent import futures
//!
//! def test(num):
//!     import time
//!     return time.ctime(), num
//!
//! data = [1, 2, 3]
//! with futures.ThreadPoolExecutor(max_workers=1) as executor:
//!     for future in executor.map(test, data):
//!         print(future)
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example executor_map`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use multiproc::executor::{ProcessPoolExecutor, ThreadPoolExecutor};
use multiproc::prelude::*;

#[process_fn]
fn test(num: u32) -> (u64, u32) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (now, num)
}

fn main() -> multiproc::Result<()> {
    let data = [1, 2, 3];

    let executor = ThreadPoolExecutor::new(1)?;
    for result in executor.map(|n: u32| test(n), data, None) {
        println!("thread:  {:?}", result?);
    }

    // In worker processes; each item may take at most a minute in all.
    let executor = ProcessPoolExecutor::new(2)?;
    let nums: Vec<u32> = executor
        .map(test, data, Some(Duration::from_secs(60)))
        .map(|r| r.map(|(_, num)| num))
        .collect::<Result<_, _>>()?;
    println!("process: {nums:?}");
    assert_eq!(nums, data);
    Ok(())
}
