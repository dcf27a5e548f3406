//! The guide's `wait` / `as_completed` example, ported: results in the
//! order the tasks finish, not the order they were submitted.
//!
//! Python:
//! ```python
//! from concurrent.futures import ThreadPoolExecutor, wait, as_completed
//! from time import sleep
//! from random import randint
//!
//! def return_after_5_secs(num):
//!     sleep(randint(1, 5))
//!     return "Return of {}".format(num)
//!
//! pool = ThreadPoolExecutor(5)
//! futures = []
//! for x in range(5):
//!     futures.append(pool.submit(return_after_5_secs, x))
//! print(1)
//! for x in as_completed(futures):
//!     print(x.result())
//! print(2)
//! ```
//!
//! (Tenths of a second here instead of seconds.)
//!
//! Run with `cargo run -p multiproc-examples --example as_completed`.

use std::time::Duration;

use multiproc::executor::{as_completed, wait, ReturnWhen, ThreadPoolExecutor};

/// Sleeps one to five tenths of a second, chosen by `num`'s hash.
fn return_after_secs(num: u32) -> String {
    let tenths = 1 + (num.wrapping_mul(2_654_435_761) >> 29) % 5;
    std::thread::sleep(Duration::from_millis(100 * u64::from(tenths)));
    format!("Return of {num}")
}

fn main() -> multiproc::Result<()> {
    let pool = ThreadPoolExecutor::new(5)?;
    let futures = (0..5)
        .map(|x| pool.submit(move || return_after_secs(x)))
        .collect::<Result<Vec<_>, _>>()?;
    println!("1");
    for future in as_completed(&futures, Some(Duration::from_secs(60))) {
        println!("{}", future?.result()?);
    }
    println!("2");

    // `wait` sorts them into done and not done.
    let (done, not_done) = wait(&futures, None, ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (5, 0));
    Ok(())
}
