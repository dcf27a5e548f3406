//! The guide's process `Pool`: `apply`, `apply_async`, `map`, `imap`,
//! `imap_unordered`, `starmap`, … over worker processes that survive the
//! failures of the tasks they run.
//!
//! - `mod.rs` — [`Pool`] and [`PoolBuilder`];
//! - `imap.rs` — the lazy [`IMap`] iterator, also awaitable;
//! - `result.rs` — [`AsyncResult`] and the sinks results land in;
//! - `dispatch.rs` — the I/O thread: demand-driven dispatch, worker deaths;
//! - `worker.rs` — the worker process's loop;
//! - `wire.rs` — the messages between them.

mod callbacks;
mod dispatch;
mod imap;
#[cfg(feature = "mpi")]
pub(crate) mod mpi;
mod result;
pub(crate) mod window;
pub(crate) mod wire;
mod worker;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

pub use self::callbacks::Callbacks;
use self::dispatch::{Config, Job, Manager, Shared, CLOSED, RUNNING, TERMINATING};
pub use self::imap::IMap;
pub use self::result::AsyncResult;
use self::result::{decode_all, decode_one, Callback, Collector};
pub(crate) use self::result::{ChunkResult, Sink};
use crate::codec;
use crate::entry::ProcessFn;
use crate::error::{Error, Result};
use crate::process::StartMethod;

/// Configures a [`Pool`]: the guide's
/// `Pool(processes, initializer, initargs, maxtasksperchild, context)`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn setup(tag: String) {
///     std::env::set_var("WORKER_TAG", tag);
/// }
///
/// #[process_fn]
/// fn read_tag() -> String {
///     std::env::var("WORKER_TAG").unwrap_or_default()
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = Pool::builder()
///     .processes(2)
///     .initializer(setup, ("ready".to_string(),))
///     .maxtasksperchild(100)
///     .start_method(StartMethod::ForkServer)
///     .build()?;
/// assert_eq!(pool.apply(read_tag, ())?, "ready");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build`"]
pub struct PoolBuilder {
    processes: Option<usize>,
    start_method: StartMethod,
    initializer: Option<dispatch::Initializer>,
    initializer_error: Option<Error>,
    max_tasks_per_child: Option<u64>,
    pin_workers: bool,
    task_timeout: Option<Duration>,
}

impl PoolBuilder {
    /// The number of worker processes (default: [`cpu_count`](crate::cpu_count)).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Pool::builder().processes(4);
    /// # drop(b);
    /// ```
    pub fn processes(mut self, n: usize) -> Self {
        self.processes = Some(n);
        self
    }

    /// How workers are started (default: [`StartMethod::ForkServer`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Pool::builder().start_method(multiproc::StartMethod::Fork);
    /// # drop(b);
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = method;
        self
    }

    /// Runs `f(args…)` once in every worker before it takes any task. If it
    /// panics or fails, [`build`](PoolBuilder::build) returns
    /// [`Error::InitializerFailed`] instead of a pool that spins forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    /// #[process_fn]
    /// fn init(level: u8) {}
    /// let b = Pool::builder().initializer(init, (3,));
    /// # drop(b);
    /// ```
    pub fn initializer<F: ProcessFn>(mut self, f: F, args: F::Args) -> Self {
        // Shared objects (a queue, a pipe end, …) in the arguments travel
        // to every worker: their descriptors are kept for each start.
        match crate::handoff::encode_with_fds(&args)
            .and_then(|(bytes, fds)| Ok((crate::captures::request_args(&f, bytes)?, fds)))
        {
            Ok((bytes, fds)) => {
                self.initializer = Some(dispatch::Initializer {
                    entry: f.name().to_string(),
                    args: bytes,
                    fds: Arc::new(fds),
                })
            }
            Err(e) => self.initializer_error = Some(e),
        }
        self
    }

    /// Replaces a worker after it has run `k` tasks (a `map` chunk counts as
    /// one task, as in Python). Unset, there is no limit; `0` is refused by
    /// [`build`](PoolBuilder::build), as Python refuses it.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Pool::builder().maxtasksperchild(1000);
    /// # drop(b);
    /// ```
    pub fn maxtasksperchild(mut self, k: u64) -> Self {
        self.max_tasks_per_child = Some(k);
        self
    }

    /// Pins worker `i` to CPU `i % cpu_count()` (`sched_setaffinity`) — the
    /// guide's remedy for workers that bounce between cores.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Pool::builder().pin_workers(true);
    /// # drop(b);
    /// ```
    pub fn pin_workers(mut self, pin: bool) -> Self {
        self.pin_workers = pin;
        self
    }

    /// Kills and replaces a worker whose current task has run longer than
    /// `limit`; that task fails with [`Error::TaskTimeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Pool::builder().task_timeout(std::time::Duration::from_secs(30));
    /// # drop(b);
    /// ```
    pub fn task_timeout(mut self, limit: Duration) -> Self {
        self.task_timeout = Some(limit);
        self
    }

    /// Starts the workers and waits until each has run its initializer.
    ///
    /// # Errors
    /// [`Error::InitializerFailed`] when an initializer failed;
    /// [`Error::Usage`] for zero processes; any error of starting a process.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::Pool::builder().processes(2).build()?;
    /// assert_eq!(pool.processes(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn build(self) -> Result<Pool> {
        if let Some(e) = self.initializer_error {
            return Err(e);
        }
        let processes = self.processes.unwrap_or_else(crate::cpu_count);
        if processes == 0 {
            return Err(Error::Usage("a pool needs at least one process".into()));
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(Error::Usage(
                "maxtasksperchild must be at least 1 (leave it unset for no limit)".into(),
            ));
        }
        crate::entry::lookup(self::worker::pool_worker.name())?;
        let config = Config {
            processes,
            start_method: self.start_method,
            initializer: self.initializer,
            max_tasks_per_child: self.max_tasks_per_child,
            pin_workers: self.pin_workers,
            task_timeout: self.task_timeout,
        };
        let shared = Shared::new()?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let (finished_tx, finished) = crossbeam_channel::bounded(0);
        let manager = Manager::new(Arc::clone(&shared), rx, config, ready_tx)?;
        let thread = std::thread::Builder::new()
            .name("multiproc-pool".into())
            .spawn(move || {
                manager.run();
                drop(finished_tx);
            })
            .map_err(Error::io("starting the pool's I/O thread"))?;
        let pool = Pool {
            shared,
            tx: Some(tx),
            thread: Some(thread),
            finished,
            processes,
            keepalive: None,
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(pool),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::PoolTerminated),
        }
    }
}

/// A pool of worker processes — the guide's `multiprocessing.Pool`.
///
/// Tasks are `#[process_fn]` entries. A task that panics fails alone; a
/// worker that is killed, aborts, segfaults or exits fails only the task it
/// was running (with the signal or exit code) and is replaced; every other
/// task completes. Nothing hangs: every wait has a timeout form.
///
/// Dropping the pool terminates it, like leaving Python's `with Pool() as
/// p:` block: workers are killed, unfinished results fail with
/// [`Error::PoolTerminated`]. Call [`close`](Pool::close) and
/// [`join`](Pool::join) first to let queued work finish.
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
/// let pool = Pool::new(2)?;
/// assert_eq!(pool.map(square, 0..5)?, vec![0, 1, 4, 9, 16]);
/// let total: u64 = pool.imap(square, 0..1000).map(|r| r.unwrap()).sum();
/// assert_eq!(total, 332_833_500);
/// pool.close();
/// pool.join()?;
/// # Ok(())
/// # }
/// ```
pub struct Pool {
    shared: Arc<Shared>,
    tx: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Disconnects when the I/O thread has finished.
    finished: Receiver<()>,
    processes: usize,
    /// Kept until the I/O thread has stopped (an MPI pool's world).
    #[allow(dead_code)]
    keepalive: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("processes", &self.processes)
            .field("workers", &self.worker_pids())
            .finish()
    }
}

/// The default chunk size for `map`: about eight chunks per worker.
/// Python takes four; eight measured faster here on trivial items (1 M
/// `x*x` on 2 workers: 82 against 68 M items/s), since the first chunk is
/// sent, and the last one decoded, sooner — and it balances uneven work
/// better.
pub(crate) fn default_chunksize(len: usize, processes: usize) -> usize {
    len.div_ceil(8 * processes).max(1)
}

/// How a map's chunks are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunking {
    /// As the caller said.
    Given(usize),
    /// By the entry's measured time per item, if any (calls that return at
    /// once: `map_async`).
    Learned,
    /// The same, and when nothing is measured yet, by timing the first
    /// items of this call before sizing the rest (calls that wait anyway).
    Probe,
}

/// How long a default chunk should run, once the entry's time per item is
/// known: long enough that its overhead (tens of microseconds) is noise,
/// short enough that a worker's last chunk leaves the others little idle.
const CHUNK_TARGET_NS: f64 = 2_000_000.0;

impl Pool {
    /// The chunk size of a map of `len` items of `entry` when none is
    /// given: at most `len / (8 × workers)`, and, once the entry's tasks
    /// have shown how long an item takes, as many as run in about 2 ms (so
    /// a map of microsecond items is batched and one of 100 ms items is
    /// not) — joblib's `batch_size="auto"`, measured across calls.
    pub(crate) fn default_chunksize_for(&self, entry: &str, len: usize) -> usize {
        let base = default_chunksize(len, self.processes);
        let per_item = self.shared.per_item.lock().unwrap_or_else(|p| p.into_inner());
        match per_item.get(entry) {
            Some(&ns) if ns > 0.0 => base.min(((CHUNK_TARGET_NS / ns) as usize).max(1)),
            _ => base,
        }
    }

    /// Starts `processes` workers with the default settings.
    ///
    /// # Errors
    /// As [`PoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::Pool::new(2)?;
    /// # drop(pool);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(processes: usize) -> Result<Pool> {
        Pool::builder().processes(processes).build()
    }

    /// A [`PoolBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Pool::builder();
    /// # drop(b);
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert_eq!(multiproc::Pool::new(2)?.processes(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// The pids of the current workers (they change as workers are
    /// replaced).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::Pool::new(2)?;
    /// assert_eq!(pool.worker_pids().len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn worker_pids(&self) -> Vec<i32> {
        self.shared.pids.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn sender(&self) -> Result<&Sender<Job>> {
        if let Some(e) = self.shared.broken() {
            return Err(e);
        }
        match self.shared.state.load(Ordering::Acquire) {
            RUNNING => self.tx.as_ref().ok_or(Error::PoolClosed),
            CLOSED => Err(Error::PoolClosed),
            _ => Err(Error::PoolTerminated),
        }
    }

    /// Encodes `items` (exactly `len` of them) in chunks of `chunksize` and
    /// queues them for `f`: streamed through one reused chunk buffer, so a
    /// big input is never held twice.
    pub(crate) fn submit<F: ProcessFn>(
        &self,
        f: &F,
        items: impl Iterator<Item = F::Args>,
        chunksize: usize,
        sink: Arc<dyn Sink>,
    ) -> Result<()> {
        self.submit_from(f, items, chunksize, sink, 0)
    }

    /// [`submit`](Pool::submit), numbering the chunks from `first`.
    fn submit_from<F: ProcessFn>(
        &self,
        f: &F,
        items: impl Iterator<Item = F::Args>,
        chunksize: usize,
        sink: Arc<dyn Sink>,
        first: usize,
    ) -> Result<()> {
        if chunksize == 0 {
            return Err(crate::error::zero_chunksize());
        }
        let tx = self.sender()?;
        crate::entry::lookup(f.name())?;
        let captures = f.__captures()?;
        let mut items = items.fuse();
        let mut chunk: Vec<F::Args> = Vec::new();
        let mut index = first;
        while let Some(first) = items.next() {
            let bytes = if chunksize == 1 {
                // One item (`apply_async`, `submit`): no vector to build.
                codec::encode_with_hint(std::slice::from_ref(&first), std::mem::size_of::<F::Args>() + 16)?
            } else {
                chunk.clear();
                chunk.push(first);
                chunk.extend(items.by_ref().take(chunksize - 1));
                codec::encode_with_hint(&chunk, std::mem::size_of_val(chunk.as_slice()) + 64)?
            };
            let job = Job {
                entry: f.name(),
                chunk: bytes,
                captures: captures.clone(),
                sink: Arc::clone(&sink),
                index,
                items: if chunksize == 1 { 1 } else { chunk.len() },
            };
            tx.send(job).map_err(|_| Error::PoolTerminated)?;
            // Workers start on the first chunks while later ones encode.
            self.shared.nudge();
            index += 1;
        }
        Ok(())
    }

    /// Queues every item; `items` is collected first only when its length
    /// is not known exactly (the default chunk size needs it).
    fn start_all<F: ProcessFn, I: Iterator<Item = F::Args>>(
        &self,
        f: &F,
        items: I,
        chunking: Chunking,
        callback: Option<Callback>,
    ) -> Result<Arc<Collector>> {
        match items.size_hint() {
            (low, Some(high)) if low == high => self.start_exact(f, items, low, chunking, callback),
            _ => {
                let items: Vec<F::Args> = items.collect();
                let len = items.len();
                self.start_exact(f, items.into_iter(), len, chunking, callback)
            }
        }
    }

    fn start_exact<F: ProcessFn>(
        &self,
        f: &F,
        items: impl Iterator<Item = F::Args>,
        len: usize,
        chunking: Chunking,
        callback: Option<Callback>,
    ) -> Result<Arc<Collector>> {
        if chunking == Chunking::Given(0) {
            return Err(crate::error::zero_chunksize());
        }
        // Refused calls are refused before the collector exists: an empty
        // map's collector runs its callback at once.
        self.sender()?;
        crate::entry::lookup(f.name())?;
        // An iterator that lies about its exact length must not leave the
        // collector waiting for chunks that never come.
        let mut items = items.take(len);
        let probe = match chunking {
            Chunking::Probe if !self.measured(f.name()) && default_chunksize(len, self.processes) > 1 => {
                self.processes.min(len)
            }
            _ => 0,
        };
        if probe == 0 {
            let chunksize = match chunking {
                Chunking::Given(n) => n,
                Chunking::Learned | Chunking::Probe => self.default_chunksize_for(f.name(), len),
            };
            let collector = Collector::new(len.div_ceil(chunksize), chunksize, callback);
            self.submit(f, items, chunksize, collector.clone())?;
            return Ok(collector);
        }
        // The entry's time per item is unknown: one item to each worker
        // first, and the rest sized by what the first one to finish took
        // (a map of 100 ms items is not batched by fifty, one of
        // microsecond items is by thousands). The other workers run their
        // items meanwhile: nobody idles.
        let collector = Collector::probing(probe, callback);
        self.submit(f, items.by_ref().take(probe), 1, collector.clone())?;
        collector.wait_first();
        dispatch::record_untimed(
            &mut self.shared.per_item.lock().unwrap_or_else(|p| p.into_inner()),
            f.name(),
        );
        let rest = len - probe;
        let chunksize = self.default_chunksize_for(f.name(), rest);
        collector.seal(chunksize, rest.div_ceil(chunksize));
        self.submit_from(f, items, chunksize, collector.clone(), probe)?;
        Ok(collector)
    }

    /// Whether the entry's time per item is known.
    fn measured(&self, entry: &str) -> bool {
        let per_item = self.shared.per_item.lock().unwrap_or_else(|p| p.into_inner());
        per_item.contains_key(entry)
    }

    /// Runs `f(args…)` in a worker and waits for the result — the guide's
    /// `apply`.
    ///
    /// # Errors
    /// The task's failure, as [`AsyncResult::get`]; [`Error::PoolClosed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// #[process_fn]
    /// fn add(a: i32, b: i32) -> i32 {
    ///     a + b
    /// }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// assert_eq!(pool.apply(add, (2, 3))?, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply<F: ProcessFn>(&self, f: F, args: F::Args) -> Result<F::Output> {
        self.apply_async(f, args)?.get()
    }

    /// Queues `f(args…)` and returns at once — the guide's `apply_async`.
    ///
    /// # Errors
    /// [`Error::PoolClosed`], [`Error::PoolTerminated`], or the pool's
    /// initializer failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// #[process_fn]
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let results: Vec<_> = (0..10).map(|i| pool.apply_async(square, (i,))).collect::<Result<_, _>>()?;
    /// let values: Vec<u64> = results.iter().map(|r| r.get()).collect::<Result<_, _>>()?;
    /// assert_eq!(values[9], 81);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply_async<F: ProcessFn>(&self, f: F, args: F::Args) -> Result<AsyncResult<F::Output>> {
        self.apply_async_with(f, args, Callbacks::new())
    }

    /// Like [`apply_async`](Pool::apply_async), with the guide's optional
    /// `callback` and `error_callback` (see [`Callbacks`]): the one that
    /// applies runs on the pool's I/O thread when the task completes, before
    /// the result turns ready. A panicking callback is contained.
    ///
    /// # Errors
    /// As [`apply_async`](Pool::apply_async); then no callback runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # use std::sync::{Arc, Mutex};
    /// use multiproc::Callbacks;
    /// #[process_fn]
    /// fn square(x: u64) -> u64 {
    ///     x * x
    /// }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let on = Callbacks::new().on_success(move |v: &u64| *sink.lock().unwrap() = Some(*v));
    /// let r = pool.apply_async_with(square, (6,), on)?;
    /// r.wait();
    /// assert_eq!(*seen.lock().unwrap(), Some(36));
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply_async_with<F: ProcessFn>(
        &self,
        f: F,
        args: F::Args,
        callbacks: Callbacks<F::Output>,
    ) -> Result<AsyncResult<F::Output>> {
        let hook = hook(callbacks, decode_one::<F::Output>);
        let collector = self.start_all(&f, std::iter::once(args), Chunking::Given(1), hook)?;
        Ok(AsyncResult::new(collector, decode_one::<F::Output>))
    }

    /// [`apply_async_with`](Pool::apply_async_with) with both callbacks
    /// given.
    ///
    /// # Errors
    /// As [`apply_async`](Pool::apply_async).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn square(x: u64) -> u64 { x * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// # #[allow(deprecated)]
    /// let r = pool.apply_async_callback(square, (6,), |_| {}, |_| {})?;
    /// assert_eq!(r.get()?, 36);
    /// # Ok(())
    /// # }
    /// ```
    #[deprecated(note = "use `apply_async_with(f, args, Callbacks::new().on_success(…).on_error(…))`")]
    pub fn apply_async_callback<F, C, E>(
        &self,
        f: F,
        args: F::Args,
        callback: C,
        error_callback: E,
    ) -> Result<AsyncResult<F::Output>>
    where
        F: ProcessFn,
        C: FnOnce(&F::Output) + Send + 'static,
        E: FnOnce(&Error) + Send + 'static,
    {
        let callbacks = Callbacks::new().on_success(callback).on_error(error_callback);
        self.apply_async_with(f, args, callbacks)
    }

    /// Applies `f` to every item and returns the results in input order —
    /// the guide's `map`, with a default chunk size like Python's (about eight
    /// chunks per worker), made smaller for slow items: about 2 ms of work
    /// per chunk once the pool knows `f`'s time per item. The first call of
    /// an `f` times one item on each worker before it sizes the rest.
    ///
    /// # Errors
    /// The first failed item, by index, as [`Error::ItemFailed`] — returned
    /// after every other item has completed; the pool stays usable.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// #[process_fn]
    /// fn inverse(x: i32) -> f64 {
    ///     assert!(x != 0, "division by zero");
    ///     1.0 / x as f64
    /// }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// assert_eq!(pool.map(inverse, [1, 2, 4])?, vec![1.0, 0.5, 0.25]);
    /// match pool.map(inverse, [1, 0, 4]) {
    ///     Err(Error::ItemFailed { index, source }) => {
    ///         assert_eq!(index, 1);
    ///         assert!(source.to_string().contains("division by zero"));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn map<F, A, I>(&self, f: F, items: I) -> Result<Vec<F::Output>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        self.map_async_inner(f, items.into_iter().map(|a| (a,)), Chunking::Probe, Callbacks::new())?
            .get()
    }

    /// [`map`](Pool::map) with an explicit chunk size.
    ///
    /// # Errors
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn double(x: u32) -> u32 { 2 * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// assert_eq!(pool.map_chunked(double, 0..4, 1)?, vec![0, 2, 4, 6]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_chunked<F, A, I>(&self, f: F, items: I, chunksize: usize) -> Result<Vec<F::Output>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        self.map_async_inner(
            f,
            items.into_iter().map(|a| (a,)),
            Chunking::Given(chunksize),
            Callbacks::new(),
        )?
        .get()
    }

    /// Queues a `map` and returns at once — the guide's `map_async`.
    ///
    /// # Errors
    /// As [`apply_async`](Pool::apply_async).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn double(x: u32) -> u32 { 2 * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let r = pool.map_async(double, 0..4)?;
    /// assert_eq!(r.get()?, vec![0, 2, 4, 6]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_async<F, A, I>(&self, f: F, items: I) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        self.map_async_inner(f, items.into_iter().map(|a| (a,)), Chunking::Learned, Callbacks::new())
    }

    /// Like [`map_async`](Pool::map_async), with the guide's optional
    /// `callback` (given the whole vector of results) and `error_callback`
    /// (given the first failed item's error): see [`Callbacks`].
    ///
    /// # Errors
    /// As [`apply_async`](Pool::apply_async); then no callback runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn double(x: u32) -> u32 { 2 * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let on = multiproc::Callbacks::new().on_success(move |v: &Vec<u32>| tx.send(v.iter().sum::<u32>()).unwrap());
    /// let r = pool.map_async_with(double, 0..4, on)?;
    /// r.wait();
    /// assert_eq!(rx.recv().unwrap(), 12);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_async_with<F, A, I>(
        &self,
        f: F,
        items: I,
        callbacks: Callbacks<Vec<F::Output>>,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        self.map_async_inner(f, items.into_iter().map(|a| (a,)), Chunking::Learned, callbacks)
    }

    fn map_async_inner<F: ProcessFn>(
        &self,
        f: F,
        items: impl Iterator<Item = F::Args>,
        chunking: Chunking,
        callbacks: Callbacks<Vec<F::Output>>,
    ) -> Result<AsyncResult<Vec<F::Output>>> {
        let hook = hook(callbacks, decode_all::<F::Output>);
        let collector = self.start_all(&f, items, chunking, hook)?;
        Ok(AsyncResult::new(collector, decode_all::<F::Output>))
    }

    /// Like [`map`](Pool::map) for functions of several arguments: each
    /// item is the whole argument tuple — the guide's `starmap`.
    ///
    /// # Errors
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// #[process_fn]
    /// fn pow(base: u64, exp: u32) -> u64 {
    ///     base.pow(exp)
    /// }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// assert_eq!(pool.starmap(pow, [(2, 10), (3, 2)])?, vec![1024, 9]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap<F, I>(&self, f: F, items: I) -> Result<Vec<F::Output>>
    where
        F: ProcessFn,
        I: IntoIterator<Item = F::Args>,
    {
        self.map_async_inner(f, items.into_iter(), Chunking::Probe, Callbacks::new())?
            .get()
    }

    /// [`starmap`](Pool::starmap) with an explicit chunk size.
    ///
    /// # Errors
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn pow(base: u64, exp: u32) -> u64 { base.pow(exp) }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let items = (0..6).map(|e| (2, e));
    /// assert_eq!(pool.starmap_chunked(pow, items, 4)?, [1, 2, 4, 8, 16, 32]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap_chunked<F, I>(&self, f: F, items: I, chunksize: usize) -> Result<Vec<F::Output>>
    where
        F: ProcessFn,
        I: IntoIterator<Item = F::Args>,
    {
        self.map_async_inner(f, items.into_iter(), Chunking::Given(chunksize), Callbacks::new())?
            .get()
    }

    /// Queues a [`starmap`](Pool::starmap) and returns at once.
    ///
    /// # Errors
    /// As [`apply_async`](Pool::apply_async).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn pow(base: u64, exp: u32) -> u64 { base.pow(exp) }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// assert_eq!(pool.starmap_async(pow, [(2, 3)])?.get()?, vec![8]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap_async<F, I>(&self, f: F, items: I) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: ProcessFn,
        I: IntoIterator<Item = F::Args>,
    {
        self.map_async_inner(f, items.into_iter(), Chunking::Learned, Callbacks::new())
    }

    /// Like [`starmap_async`](Pool::starmap_async), with the guide's
    /// optional `callback` and `error_callback`: see [`Callbacks`].
    ///
    /// # Errors
    /// As [`apply_async`](Pool::apply_async); then no callback runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// #[process_fn]
    /// fn pow(base: u64, exp: u32) -> u64 {
    ///     base.checked_pow(exp).expect("overflow")
    /// }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let on = multiproc::Callbacks::new().on_error(move |e| tx.send(e.to_string()).unwrap());
    /// // 2^70 overflows: the error callback gets the failed item's error.
    /// let r = pool.starmap_async_with(pow, [(2, 3), (2, 70)], on)?;
    /// assert!(r.get().is_err());
    /// assert!(rx.recv().unwrap().contains("overflow"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap_async_with<F, I>(
        &self,
        f: F,
        items: I,
        callbacks: Callbacks<Vec<F::Output>>,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: ProcessFn,
        I: IntoIterator<Item = F::Args>,
    {
        self.map_async_inner(f, items.into_iter(), Chunking::Learned, callbacks)
    }

    /// A lazy, ordered map — the guide's `imap`. It pulls from `items` only
    /// as workers free up, so an endless or huge input streams with flat
    /// memory (Python's consumes the whole input first). Each item's own
    /// `Result` comes out in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn square(x: u64) -> u64 { x * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let first: Vec<u64> = pool.imap(square, 0..).take(3).map(|r| r.unwrap()).collect();
    /// assert_eq!(first, vec![0, 1, 4]); // an endless input
    /// # Ok(())
    /// # }
    /// ```
    pub fn imap<F, A, I>(&self, f: F, items: I) -> IMap<'_, F, impl Iterator<Item = F::Args>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        IMap::new(self, f, items.into_iter().map(|a| (a,)), 1, true)
    }

    /// [`imap`](Pool::imap) with a chunk size: fewer, larger messages.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn square(x: u64) -> u64 { x * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let n = pool.imap_chunked(square, 0..10_000, 500).filter(|r| r.is_ok()).count();
    /// assert_eq!(n, 10_000);
    /// # Ok(())
    /// # }
    /// ```
    pub fn imap_chunked<F, A, I>(&self, f: F, items: I, chunksize: usize) -> IMap<'_, F, impl Iterator<Item = F::Args>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        IMap::new(self, f, items.into_iter().map(|a| (a,)), chunksize, true)
    }

    /// Like [`imap`](Pool::imap), but yields results as they complete —
    /// the guide's `imap_unordered`. Errors name the item's index.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn square(x: u64) -> u64 { x * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let mut all: Vec<u64> = pool.imap_unordered(square, 0..5).map(|r| r.unwrap()).collect();
    /// all.sort();
    /// assert_eq!(all, vec![0, 1, 4, 9, 16]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn imap_unordered<F, A, I>(&self, f: F, items: I) -> IMap<'_, F, impl Iterator<Item = F::Args>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        IMap::new(self, f, items.into_iter().map(|a| (a,)), 1, false)
    }

    /// [`imap_unordered`](Pool::imap_unordered) with a chunk size.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn square(x: u64) -> u64 { x * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let sum: u64 = pool.imap_unordered_chunked(square, 0..100, 10).map(|r| r.unwrap()).sum();
    /// assert_eq!(sum, 328_350);
    /// # Ok(())
    /// # }
    /// ```
    pub fn imap_unordered_chunked<F, A, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> IMap<'_, F, impl Iterator<Item = F::Args>>
    where
        F: ProcessFn<Args = (A,)>,
        I: IntoIterator<Item = A>,
    {
        IMap::new(self, f, items.into_iter().map(|a| (a,)), chunksize, false)
    }

    /// `map_async` of whole argument tuples with a given chunk size.
    pub(crate) fn map_async_chunked<F: ProcessFn>(
        &self,
        f: F,
        items: impl Iterator<Item = F::Args>,
        chunksize: usize,
    ) -> Result<AsyncResult<Vec<F::Output>>> {
        self.map_async_inner(f, items, Chunking::Given(chunksize), Callbacks::new())
    }

    /// `map_async` sized as the blocking `map` is (timing the first items
    /// when the entry is new): for callers that wait on it at once.
    pub(crate) fn map_async_probed<F: ProcessFn>(
        &self,
        f: F,
        items: impl Iterator<Item = F::Args>,
    ) -> Result<AsyncResult<Vec<F::Output>>> {
        self.map_async_inner(f, items, Chunking::Probe, Callbacks::new())
    }

    /// Every item at once (no window), ordered or not: `par_map!`'s engine.
    pub(crate) fn map_stream<F: ProcessFn, I: Iterator<Item = F::Args>>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
        ordered: bool,
    ) -> IMap<'_, F, I> {
        IMap::new(self, f, items, chunksize, ordered).unbounded()
    }

    /// Accepts no more work; queued work still runs — the guide's `close`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::Pool::new(1)?;
    /// pool.close();
    /// pool.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        let _ = self
            .shared
            .state
            .compare_exchange(RUNNING, CLOSED, Ordering::AcqRel, Ordering::Acquire);
        self.shared.wake.notify();
    }

    /// Kills the workers now; unfinished results fail with
    /// [`Error::PoolTerminated`] — the guide's `terminate`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::Pool::new(1)?;
    /// pool.terminate();
    /// pool.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn terminate(&self) {
        self.terminate_with(crate::sys::SIGKILL);
    }

    /// Wakes the I/O thread to look for tasks whose stop was requested
    /// (see `Sink::stop_requested`). One per executor: every future shares
    /// it.
    pub(crate) fn stopper(&self) -> Arc<dyn Fn() + Send + Sync> {
        let shared = self.shared.clone();
        Arc::new(move || {
            shared.stops_asked.fetch_add(1, Ordering::AcqRel);
            shared.wake.notify();
        })
    }

    /// [`terminate`](Pool::terminate), stopping the workers with `signal`
    /// (SIGTERM: those still alive after a grace period are killed).
    pub(crate) fn terminate_with(&self, signal: i32) {
        self.shared.stop_signal.store(signal, Ordering::Release);
        self.shared.state.store(TERMINATING, Ordering::Release);
        self.shared.wake.notify();
    }

    /// Waits until the workers have exited; call [`close`](Pool::close) or
    /// [`terminate`](Pool::terminate) first — the guide's `join`.
    ///
    /// # Errors
    /// [`Error::Usage`] when the pool is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::Pool::new(1)?;
    /// assert!(pool.join().is_err()); // not closed yet
    /// pool.close();
    /// pool.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&self) -> Result<()> {
        self.join_deadline(None)
    }

    /// Like [`join`](Pool::join), but gives up after `timeout` with
    /// [`Error::Timeout`].
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Usage`] when the pool is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::Pool::new(1)?;
    /// pool.close();
    /// pool.join_timeout(std::time::Duration::from_secs(60))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        self.join_deadline(Some(timeout))
    }

    fn join_deadline(&self, timeout: Option<Duration>) -> Result<()> {
        await_finished(
            self.shared.state.load(Ordering::Acquire) == RUNNING,
            &self.finished,
            timeout,
        )
    }
}

/// What a collector runs before its result turns ready: the given
/// callbacks, on the decoded result (nothing is decoded when there are
/// none).
fn hook<R: 'static>(callbacks: Callbacks<R>, decode: fn(&Collector) -> Result<R>) -> Option<Callback> {
    if callbacks.is_empty() {
        return None;
    }
    Some(Box::new(move |c: &Collector| callbacks.run(&decode(c))))
}

/// A pool's `join`: refused while it still runs; else waits (at most
/// `timeout`) for `finished` — a channel on which nothing is ever sent,
/// which disconnects when the pool's last thread ends.
pub(crate) fn await_finished(running: bool, finished: &Receiver<()>, timeout: Option<Duration>) -> Result<()> {
    if running {
        return Err(Error::Usage("Pool::join needs close() or terminate() first".into()));
    }
    match timeout {
        None => {
            let _ = finished.recv();
            Ok(())
        }
        Some(t) => match finished.recv_timeout(t) {
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(Error::Timeout(t)),
            _ => Ok(()),
        },
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
// A `#[process_fn]` in this crate expands linkme's link-section static
// through a macro of this crate, which `deny(unsafe_code)` looks into.
#[allow(unsafe_code)]
mod tests {
    use std::time::Duration;

    use super::{default_chunksize, Chunking, Pool};
    use crate::process_fn;

    #[process_fn]
    fn nap_and_return(ms: u64) -> u64 {
        std::thread::sleep(Duration::from_millis(ms));
        ms
    }

    #[process_fn]
    fn plus_one(x: u64) -> u64 {
        x + 1
    }

    /// The default chunk follows the entry's measured time per item: slow
    /// items (3 ms) go one per chunk once measured, tiny ones stay batched.
    #[test]
    fn default_chunks_follow_the_measured_time_per_item() {
        let pool = Pool::new(2).unwrap();
        let name = super::ProcessFn::name(&nap_and_return);
        assert_eq!(pool.default_chunksize_for(name, 160), 10, "nothing measured yet");
        pool.map(nap_and_return, vec![3u64; 32]).unwrap();
        assert_eq!(pool.default_chunksize_for(name, 160), 1);
        pool.map(plus_one, 0..200_000u64).unwrap();
        let tiny = super::ProcessFn::name(&plus_one);
        // Microsecond items stay batched by thousands (a chunk of about 2 ms
        // at most, here in a debug build).
        assert!(pool.default_chunksize_for(tiny, 200_000) >= 1_000);
    }

    /// A blocking map of an entry nobody has timed sends one item to each
    /// worker, then sizes the rest by what the first one took, in the same
    /// call: slow items go one per chunk, tiny ones in the base size. Once
    /// the entry is timed, no probe; `map_async` never waits for one.
    #[test]
    fn a_first_map_times_its_first_items_before_sizing_the_rest() {
        let pool = Pool::new(2).unwrap();
        let three_ms = || std::iter::repeat_n((3u64,), 64);
        let slow = pool
            .start_all(&nap_and_return, three_ms(), Chunking::Probe, None)
            .unwrap();
        assert_eq!(slow.shape(), (2, 62, 1));
        let again = pool
            .start_all(&nap_and_return, three_ms(), Chunking::Probe, None)
            .unwrap();
        assert_eq!(again.shape(), (0, 64, 1), "timed: no probe");

        let tiny = pool
            .start_all(&plus_one, (0..64_000u64).map(|x| (x,)), Chunking::Probe, None)
            .unwrap();
        let base = default_chunksize(63_998, 2);
        assert_eq!(tiny.shape(), (2, 63_998usize.div_ceil(base), base));
        assert_eq!(tiny.values::<u64>().unwrap(), (1..=64_000u64).collect::<Vec<_>>());
        let unprobed = pool
            .start_all(&plus_one, (0..64_000u64).map(|x| (x,)), Chunking::Learned, None)
            .unwrap();
        assert_eq!(unprobed.shape().0, 0);
        // Every item lands where it belongs.
        let values = pool.map(plus_one, 0..1_000u64).unwrap();
        assert!(values.iter().enumerate().all(|(i, v)| *v == i as u64 + 1));
        for c in [slow, again, tiny, unprobed] {
            assert!(c.values::<u64>().is_ok());
        }
    }
}
