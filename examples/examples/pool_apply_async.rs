//! The guide's asynchronous pool example (`apply_async` with 8 workers over
//! 100 items), and its blocking twin `apply`, ported.
//!
//! Python:
//! ```python
//! pool = Pool(8)
//! for i in range(100):
//!     pool.apply_async(test, args=(i,))  # keeps 8 running; the loop does not block
//! print("test")
//! pool.close()
//! pool.join()
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example pool_apply_async`.

use multiproc::prelude::*;

#[process_fn]
fn test(i: u32) -> u32 {
    println!("{i}");
    i * i
}

fn main() -> multiproc::Result<()> {
    let pool = Pool::new(8)?;
    // Each call returns at once with an AsyncResult; 8 workers run them.
    let results: Vec<AsyncResult<u32>> = (0..100)
        .map(|i| pool.apply_async(test, (i,)))
        .collect::<Result<_, _>>()?;
    println!("test"); // printed while the tasks run: submitting did not block
    pool.close();
    pool.join()?;
    let total: u32 = results.iter().map(|r| r.get()).sum::<Result<u32, _>>()?;
    println!("sum of squares: {total}");

    // `apply` blocks until its one task is done (the guide: "rarely used").
    let pool = Pool::new(2)?;
    println!("apply(test, 12) = {}", pool.apply(test, (12,))?);
    Ok(())
}
