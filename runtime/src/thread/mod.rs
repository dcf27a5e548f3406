//! The thread twin of the process API (the guide's `multiprocessing.dummy`):
//! switching a program between processes and threads is a one-line change.
//!
//! - [`Pool`] — every method of the process [`Pool`](crate::Pool), on
//!   threads; it takes `#[process_fn]` entries and closures alike
//!   ([`Callable`]);
//! - [`Queue`], [`JoinableQueue`], [`SimpleQueue`] — the queues, for any
//!   `Send` item, moved instead of encoded;
//! - [`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`],
//!   [`Condition`], [`Event`], [`Barrier`], [`Value`], [`Array`] — the very
//!   types of [`sync`](crate::sync) and [`shared`](crate::shared), which work
//!   between threads as they do between processes.
//!
//! ```
//! use multiproc::prelude::*;
//! // use multiproc::Pool;          // processes
//! use multiproc::thread::Pool;     // threads: the one line that changes
//!
//! #[process_fn]
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! # fn main() -> multiproc::Result<()> {
//! let pool = Pool::new(2)?;
//! assert_eq!(pool.map(square, [1, 2, 3])?, [1, 4, 9]);
//! # Ok(())
//! # }
//! ```
//!
//! - `call.rs` — [`Callable`]; `pool.rs` — [`Pool`]; `queue.rs` — the queues.

mod call;
mod pool;
mod queue;

pub use self::call::{Callable, Closure, Entry};
pub use self::pool::{AsyncResult, IMap, Pool, PoolBuilder};
pub use self::queue::{JoinableQueue, Queue, SimpleQueue};
pub use crate::shared::{Array, Value};
pub use crate::sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore};
