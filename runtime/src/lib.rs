//! multiproc: the toolbox of Python's `multiprocessing`, the Rust way.
//!
//! Mark a function `#[process_fn]` and start it in a child process with any
//! of three start methods; join its typed result, or an error that says how
//! the child failed.
//!
//! ```
//! use multiproc::prelude::*;
//!
//! #[process_fn]
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! # fn main() -> multiproc::Result<()> {
//! let mut p = Process::builder().start(square, (7,))?;
//! assert_eq!(p.join()?, 49);
//! # Ok(())
//! # }
//! ```
//!
//! New here? Read the [`guide`], in English, or [in Chinese](guide::zh)
//! (用户指南，中文版): a chapter per concept, each with runnable examples.
//!
//! Module map (one module per concept of the guide):
//! - [`process`] — `Process`, start methods, `current_process`, …;
//! - [`pool`] — `Pool`, `AsyncResult`, lazy `imap`;
//! - [`executor`] — `ThreadPoolExecutor`, `ProcessPoolExecutor`, `Future`,
//!   `wait`, `as_completed`;
//! - [`thread`] — the thread twin (`multiprocessing.dummy`): `Pool`, the
//!   queues and the sync primitives on threads;
//! - [`manager`] — `Manager`, `BaseManager` and proxies to objects in a
//!   server process; [`#[managed]`](managed) for your own types;
//! - [`pipe`] — `Pipe` and its `Connection` ends;
//! - [`connection`] — `wait` on pipe ends and processes at once;
//! - [`queue`] — `Queue`, `SimpleQueue`, `JoinableQueue`;
//! - [`shared`] — `Value`, `Array`, `RawValue`, `RawArray`, `SharedMemory`
//!   (anonymous or by name), `ShareableList`;
//! - [`sync`] — `Lock`, `RLock`, `Event`, `Semaphore`, `BoundedSemaphore`,
//!   `Condition`, `Barrier`;
//! - [`entry`] — the [`ProcessFn`] trait and the registry of entry points;
//! - [`par_map!`] — map a function over data in worker processes or on threads;
//! - [`Error`](enum@Error) — the one error type.
//!
//! # Platform support
//!
//! Linux only, kernel 5.4 or later: the crate is built on pidfds, memfds,
//! futexes, `SCM_RIGHTS` and `/proc/self/exe`, and on any other target
//! stops at compile time saying so. Both `panic =
//! "unwind"` and `panic = "abort"` are supported: a task's panic comes back
//! as [`Error::Panicked`] either way.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `manager` | on | [`manager`], [`#[managed]`](managed), [`connection::Listener`] and [`connection::Client`] (hmac, sha2, aes-gcm) |
//! | `rayon` | on | thread mode of [`par_map!`] and `par_reduce!` (`threads = n`) on rayon's work-stealing pool, splitting ranges, `Vec`s and slices in place; without it, the same calls run on scoped threads of the standard library |
//! | `stream` | off | [`pool::IMap`] as a `futures_core::Stream` (it is awaitable item by item without it: [`IMap::next_async`](pool::IMap::next_async)) |
//! | `mpi` | off | `mpi`: pools and executors over the ranks of an MPI job (needs an MPI library) |
//!
//! Everything else — processes, pools, executors, queues, pipes, shared
//! memory, locks, [`connection::wait`] and [`par_map!`] in both modes —
//! needs no feature.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]
// `unsafe` lives in `sys` alone, and in the few places that say why with
// an `#[allow(unsafe_code)]` of their own (see docs/ARCHITECTURE.md).
#![deny(unsafe_code)]

// Lets the code that `#[process_fn]` generates (`::multiproc::…`) compile
// inside this crate too, for its own unit tests and doctests.
extern crate self as multiproc;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "multiproc supports Linux only (kernel 5.4 or later): it is built on pidfds, memfds, futexes, \
     SCM_RIGHTS and /proc/self/exe, which this target lacks"
);

/// The crate's README (`runtime/README.md`), its code compiled and run as
/// a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadme;

mod bell;
mod captures;
mod chunk;
// The wire format: public for the code `#[managed]` generates (through
// `__private`) and for this project's tests, benchmarks and fuzzers; not
// part of the API, so that the format can change.
#[doc(hidden)]
pub mod codec;
pub mod connection;
mod context;
mod deadline;
pub mod entry;
mod error;
pub mod executor;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
pub mod guide;
mod handoff;
#[cfg(feature = "manager")]
#[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
pub mod manager;
#[cfg(feature = "mpi")]
#[cfg_attr(docsrs, doc(cfg(feature = "mpi")))]
pub mod mpi;
mod par_map;
pub mod pipe;
pub mod pool;
pub mod process;
mod progress;
pub mod queue;
mod segment;
pub mod shared;
pub mod sync;
#[allow(unsafe_code)]
mod sys;
pub mod thread;
mod unwind;

pub use entry::{registered_entries, ProcessFn};
pub use error::{Error, Result};
#[cfg(feature = "manager")]
#[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
pub use multiproc_macros::managed;
pub use multiproc_macros::process_fn;

pub use context::{get_context, Context};
/// Maps a function over data in parallel — in worker processes, or on
/// threads — and returns a [`Result`]`<Vec<R>>` in input order.
///
/// `par_map!(f, data, option = value, …)`. `f` is a path to a
/// [`#[process_fn]`](process_fn) or a closure; `data` is anything
/// `IntoIterator`. Options, in any order:
///
/// | option | meaning |
/// |---|---|
/// | `procs = n` | `n` worker processes (the default: [`cpu_count()`]) |
/// | `threads = n` | `n` threads of this process instead of processes (a panic is caught only where panics unwind: see [`thread::UNWINDS`]) |
/// | `chunksize = n` | items sent to a worker at a time |
/// | `ordered = false` | results in completion order |
/// | `start = fork \| forkserver \| spawn` | the start method of the workers |
/// | `pool = &pool` | run on an existing [`Pool`] |
/// | `timeout = duration` | fail with [`Error::Timeout`] after this long |
/// | `progress = true` | a progress bar on stderr |
///
/// In process mode, a closure takes one parameter with its type written out:
/// it is lifted into a registered entry that every worker finds by name,
/// like a `#[process_fn]`. It may capture locals whose types are owned
/// serde types (`Serialize + DeserializeOwned`): their values are encoded
/// once per call and sent to each worker with its first chunk, not with
/// every item (see [`lift!`] for the rules). A failed item makes the whole
/// call fail with [`Error::ItemFailed`], which says which item.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// // In two worker processes.
/// let squares = par_map!(square, 0..10u64, procs = 2)?;
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
///
/// // A closure, lifted into an entry; its parameter's type is written out.
/// let cubes = par_map!(|x: u64| x * x * x, 0..4u64, procs = 2, start = spawn)?;
/// assert_eq!(cubes, [0, 1, 8, 27]);
///
/// // It may capture: `factor` travels to each worker once.
/// let factor = 3;
/// let tripled = par_map!(move |x: u64| x * factor, 0..4u64, procs = 2)?;
/// assert_eq!(tripled, [0, 3, 6, 9]);
///
/// // On threads a closure may also borrow, the data included.
/// let offset = 100;
/// let shifted = par_map!(|x: &u64| x + offset, &squares, threads = 4)?;
/// assert_eq!(shifted[3], 109);
/// # Ok(())
/// # }
/// ```
///
/// A closure that worker processes run cannot change what it captures:
/// each worker changes its own copy, and the change would be lost.
///
/// ```compile_fail
/// # use multiproc::prelude::*;
/// # fn main() -> multiproc::Result<()> {
/// let mut seen = 0;
/// let _ = par_map!(|x: u64| { seen += 1; x }, 0..10u64, procs = 2)?;
/// # Ok(())
/// # }
/// ```
#[doc(inline)]
pub use multiproc_macros::par_map;

/// Lifts a closure into a value that implements [`ProcessFn`], so that
/// everything that takes a [`#[process_fn]`](process_fn) takes it too:
/// [`Pool::map`], [`Pool::apply_async`], [`Pool::imap_unordered`],
/// [`ProcessPoolExecutor::submit`](executor::ProcessPoolExecutor::submit),
/// [`ProcessBuilder::start`], and the MPI pool.
///
/// `lift!(move |x: T| …)` takes one closure of one parameter, whose type is
/// written out. What it may capture, by mode:
///
/// | captured value | worker processes (`lift!`, `par_map!` with `procs`) | threads (`par_map!` with `threads`) |
/// |---|---|---|
/// | owned serde type (`u64`, `String`, `Vec<T>`, a `#[derive(Serialize, Deserialize)]` struct) | yes: encoded once, a copy in each worker | yes |
/// | a reference (`&T`), `self` | no: capture an owned value | yes, when `T: Sync` |
/// | not serde (a file, a lock, a `Rc`, a shared object) | no: open it in a pool initializer | yes, when `Sync` (`Send + Sync` for `move`) |
/// | changed by the closure (`n += 1`, `&mut v`) | no: each worker would change its own copy | through an atomic or a `Mutex` |
///
/// The captures are encoded when `lift!` runs; a clone of the value shares
/// them, and a worker that received them for one call keeps them for the
/// next (it keeps the last two sets). Each is a compile-time check, spanned
/// at the variable.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::lift;
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = Pool::new(2)?;
/// let factor = 3u64;
/// let table = vec![10u64, 20, 30, 40];
/// let scale = lift!(move |i: usize| table[i] * factor);
/// assert_eq!(pool.map(scale.clone(), 0..4usize)?, [30, 60, 90, 120]);
/// assert_eq!(pool.apply(scale.clone(), (2,))?, 90);
///
/// // In a process of its own, with any start method.
/// let mut p = Process::builder()
///     .start_method(StartMethod::Spawn)
///     .start(scale, (3,))?;
/// assert_eq!(p.join()?, 120);
/// # Ok(())
/// # }
/// ```
///
/// A closure that changes a capture does not compile:
///
/// ```compile_fail
/// let mut calls = 0;
/// let counting = multiproc::lift!(move |x: u64| { calls += 1; x });
/// ```
#[doc(inline)]
pub use multiproc_macros::lift;

/// Reduces data in parallel, in worker processes or on threads: `f` maps
/// each item to a partial result, `op` combines two of them, `identity`
/// starts every fold. Returns a [`Result`]`<M>`.
///
/// `par_reduce!(f, data, identity, op, option = value, …)` takes the
/// options of [`par_map!`] but `ordered`. In worker processes the data is
/// cut into chunks (`chunksize = n` items, by default about four chunks
/// per worker); each worker folds a chunk with `f` and `op` where it is
/// and sends back one partial result, so a sum over 10 M items sends a
/// handful of values back, not 10 M. The parent combines the partial
/// results with `op` in the order of the data, so `op` need only be
/// associative (not commutative). `f`, `identity` and `op` may capture as
/// a [`lift!`] closure may. A failing item fails the call with
/// [`Error::ItemFailed`] whose index is that of its *chunk*.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
///
/// # fn main() -> multiproc::Result<()> {
/// let sum = par_reduce!(|x: u64| x, 0..10_000u64, 0u64, |a, b| a + b, procs = 2)?;
/// assert_eq!(sum, 49_995_000);
///
/// // The largest square under a captured bound, on threads.
/// let bound = 50u64;
/// let best = par_reduce!(move |x: u64| if x * x < bound { x * x } else { 0 }, 0..100u64, 0, u64::max, threads = 2)?;
/// assert_eq!(best, 49);
///
/// // Word counts merged from chunks, in spawned workers.
/// let words = vec!["a", "b", "a", "c", "a"].into_iter().map(String::from).collect::<Vec<_>>();
/// let counts = par_reduce!(
///     |w: String| std::collections::BTreeMap::from([(w, 1u32)]),
///     words,
///     std::collections::BTreeMap::new(),
///     |mut a, b| {
///         for (w, n) in b {
///             *a.entry(w).or_insert(0) += n;
///         }
///         a
///     },
///     procs = 2,
///     start = spawn
/// )?;
/// assert_eq!(counts["a"], 3);
/// # Ok(())
/// # }
/// ```
///
/// The operation takes two partial results:
///
/// ```compile_fail
/// # use multiproc::prelude::*;
/// let _ = par_reduce!(|x: u64| x, 0..10u64, 0u64, |a| a, procs = 2);
/// ```
#[doc(inline)]
pub use multiproc_macros::par_reduce;
pub use pool::{AsyncResult, Callbacks, IMap, Pool, PoolBuilder};
pub use process::{
    active_children, cpu_count, current_process, get_start_method, parent_process, set_start_method, Process,
    ProcessBuilder, ProcessInfo, StartMethod,
};

/// What most programs need, in one `use multiproc::prelude::*;`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// let _method = StartMethod::Spawn;
/// ```
pub mod prelude {
    pub use crate::{lift, par_map, par_reduce, process_fn, AsyncResult, Error, Pool, Process, ProcessFn, StartMethod};
}

/// Paths that generated code names; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::captures::{
        captures_sent, check_capture, check_thread_capture, check_thread_move, Capturable, CaptureRefs, Captured,
        ThreadCapturable, ThreadMovable,
    };
    pub use crate::codec;
    pub use crate::entry::{Captures, EntryDesc, ProcessFn, ProcessFnCore, ENTRIES};
    #[cfg(feature = "manager")]
    pub use crate::manager::registry::{ManagedDesc, MANAGED};
    #[cfg(feature = "manager")]
    pub use crate::manager::{Handle, Managed, ManagerClient, Proxy};
    pub use crate::par_map::{
        fold_chunk, procs as par_map_procs, reduce_procs as par_reduce_procs, Lifted, ProcOptions, ThreadData, ViaIter,
        ViaRayon,
    };
    pub use crate::process::StartMethod;
    pub use linkme;
    pub use serde;

    /// Requires `T` to cross a process boundary; the macro spans each call
    /// at the user's argument or return type.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot cross a process boundary",
        label = "this type must implement serde's `Serialize` and `DeserializeOwned`",
        note = "arguments and results of a #[process_fn] or a #[managed] method travel between processes; derive `serde::Serialize` and `serde::Deserialize` for it"
    )]
    pub trait Portable: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {}
    impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> Portable for T {}

    /// Compile-time check that `T` is [`Portable`].
    pub const fn assert_portable<T: Portable>() {}
}
