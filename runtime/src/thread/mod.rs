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
//! # Panics under `panic = "abort"`
//!
//! A thread-mode task that panics comes back as [`Error::Panicked`](crate::Error::Panicked) only
//! where panics unwind. A build with `panic = "abort"` (common in release
//! profiles) ends the whole process at the first panic of any task on
//! [`Pool`], [`ThreadPoolExecutor`](crate::executor::ThreadPoolExecutor)
//! or `par_map!(…, threads = n)`: nothing can catch it. [`UNWINDS`] says
//! which build this is. The process twins isolate such a panic: there the
//! worker reports the panic's message and location to the parent before it
//! aborts, the task fails with [`Error::Panicked`](crate::Error::Panicked), and the pool replaces
//! the worker.
//!
//! - `call.rs` — [`Callable`]; `pool/` — [`Pool`]; `queue.rs` — the queues.

mod call;
mod pool;
mod queue;

pub use self::call::{Callable, Closure, Entry};
pub use self::pool::{AsyncResult, IMap, Pool, PoolBuilder};
pub use self::queue::{JoinableQueue, PutError, Queue, SimpleQueue};
pub use crate::pool::Callbacks;
pub use crate::shared::{Array, Value};
/// Whether a panic in a thread-mode task can be caught (and returned as
/// [`Error::Panicked`](crate::Error::Panicked)) in this build: `false` under
/// `panic = "abort"`, where it ends the process (see the module's docs).
///
/// ```
/// // The test profile unwinds.
/// assert!(multiproc::thread::UNWINDS);
/// ```
pub const UNWINDS: bool = cfg!(panic = "unwind");

pub use crate::sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore};
