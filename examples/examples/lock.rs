//! The guide's `Lock` example, ported: 20 processes print in turn.
//!
//! Python:
//! ```python
//! def l(lock, num):
//!     lock.acquire()
//!     print("Hello Num: %s" % (num))
//!     lock.release()
//!
//! lock = Lock()
//! for num in range(20):
//!     Process(target=l, args=(lock, num)).start()
//! ```
//!
//! `release()` is the guard's drop; a holder that dies is reported to the
//! next acquirer instead of deadlocking it.
//!
//! Run with `cargo run -p multiproc-examples --example lock`.

use multiproc::prelude::*;
use multiproc::sync::Lock;

#[process_fn]
fn l(lock: Lock, num: u32) {
    let _held = lock
        .acquire()
        .unwrap_or_else(|e| e.into_inner().expect("the lock works"));
    println!("Hello Num: {num}");
}

fn main() -> multiproc::Result<()> {
    let lock = Lock::new()?;
    let mut children: Vec<_> = (0..20)
        .map(|num| Process::builder().start(l, (lock.clone(), num)))
        .collect::<Result<_, _>>()?;
    for child in &mut children {
        child.join()?;
    }
    Ok(())
}
