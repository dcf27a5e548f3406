//! The guide's `Pool` + `map` example, ported.
//!
//! Python:
//! ```python
//! def test(i):
//!     print(i)
//!
//! if __name__ == "__main__":
//!     lists = range(100)
//!     pool = Pool(8)
//!     pool.map(test, lists)
//!     pool.close()
//!     pool.join()
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example pool_map`.

use multiproc::prelude::*;

#[process_fn]
fn test(i: u32) -> u32 {
    println!("{i}");
    i
}

fn main() -> multiproc::Result<()> {
    let lists = 0..100;
    let pool = Pool::new(8)?;
    let echoed = pool.map(test, lists)?;
    pool.close();
    pool.join()?;
    assert_eq!(echoed, (0..100).collect::<Vec<_>>()); // in input order
    Ok(())
}
