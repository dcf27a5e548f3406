//! [`ProcessPoolExecutor`]: `#[process_fn]` entries on worker processes,
//! each submission a [`Future`].
//!
//! It is a [`Pool`] underneath: the same demand-driven dispatch, the same
//! replacement of a worker that dies. A submission is a one-item chunk whose
//! sink settles its future; the pool's I/O thread *claims* the chunk as it
//! hands it to a worker, which is the moment the future turns running, so a
//! future cancelled before that is dropped unsent.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{Future, Submitted};
use crate::chunk::decode_item;
use crate::entry::ProcessFn;
use crate::error::{Error, Result};
use crate::pool::{ChunkResult, Pool, PoolBuilder, Sink};
use crate::process::StartMethod;

/// Settles one submission's future from its chunk.
struct Settle<R>(Future<R>);

impl<R: DeserializeOwned + Send + 'static> Sink for Settle<R> {
    fn claim(&self, _index: usize) -> bool {
        self.0.claim()
    }

    fn complete(&self, _index: usize, (pid, result): ChunkResult) {
        self.0.finish(result.and_then(|bytes| decode_item(&bytes, pid)));
    }

    fn stop_requested(&self, _index: usize) -> bool {
        self.0.stop_requested()
    }
}

/// Worker processes that run `#[process_fn]` entries — the guide's
/// `ProcessPoolExecutor`.
///
/// Unlike Python's, a worker that dies (a signal, `exit`, an abort) fails
/// only the future it was running, with an error that names the cause; a
/// fresh worker takes its place and the executor goes on. Dropping it shuts
/// it down and waits for the submitted work, like leaving Python's `with`
/// block.
///
/// A task counts as running from the moment a worker claims it; workers
/// claim a few tasks ahead, so [`Future::cancel`] succeeds only for tasks
/// still queued behind those.
///
/// # Examples
///
/// ```
/// use multiproc::executor::ProcessPoolExecutor;
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = ProcessPoolExecutor::new(2)?;
/// let futures: Vec<_> = (0..4).map(|i| pool.submit(square, (i,))).collect::<Result<_, _>>()?;
/// let squares: Vec<u64> = futures.iter().map(|f| f.result()).collect::<Result<_, _>>()?;
/// assert_eq!(squares, vec![0, 1, 4, 9]);
/// # Ok(())
/// # }
/// ```
pub struct ProcessPoolExecutor {
    pool: Pool,
    submitted: Submitted,
    shut: AtomicBool,
    /// What `cancel_running` calls: one for all futures.
    stopper: Arc<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for ProcessPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolExecutor")
            .field("max_workers", &self.pool.processes())
            .finish()
    }
}

/// Configures a [`ProcessPoolExecutor`].
///
/// # Examples
///
/// ```
/// use multiproc::executor::ProcessPoolExecutor;
/// use multiproc::StartMethod;
///
/// let b = ProcessPoolExecutor::builder()
///     .max_workers(2)
///     .start_method(StartMethod::ForkServer)
///     .max_tasks_per_child(100);
/// # drop(b);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build`"]
pub struct ProcessPoolBuilder {
    pool: PoolBuilder,
}

impl ProcessPoolBuilder {
    /// The number of worker processes (default: [`cpu_count`](crate::cpu_count)).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::executor::ProcessPoolExecutor::builder().max_workers(4);
    /// # drop(b);
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.pool = self.pool.processes(n);
        self
    }

    /// How the workers start (default [`StartMethod::ForkServer`], as for a
    /// [`Pool`](crate::Pool)).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::{executor::ProcessPoolExecutor, StartMethod};
    /// let b = ProcessPoolExecutor::builder().start_method(StartMethod::Spawn);
    /// # drop(b);
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.pool = self.pool.start_method(method);
        self
    }

    /// Runs `f(args…)` once in each worker before it takes work; a failure
    /// there fails every submission, as [`PoolBuilder::initializer`] says.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn setup(level: u8) {
    ///     let _ = level;
    /// }
    ///
    /// let b = multiproc::executor::ProcessPoolExecutor::builder().initializer(setup, (3,));
    /// # drop(b);
    /// ```
    pub fn initializer<F: ProcessFn>(mut self, f: F, args: F::Args) -> Self {
        self.pool = self.pool.initializer(f, args);
        self
    }

    /// Replaces each worker with a fresh process after `k` tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::executor::ProcessPoolExecutor::builder().max_tasks_per_child(10);
    /// # drop(b);
    /// ```
    pub fn max_tasks_per_child(mut self, k: u64) -> Self {
        self.pool = self.pool.maxtasksperchild(k);
        self
    }

    /// Kills and replaces a worker whose current task has run longer than
    /// `limit` (Python 3.14 cannot stop a running task); that task's future
    /// fails with [`Error::TaskTimeout`], every other one completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = multiproc::executor::ProcessPoolExecutor::builder().task_timeout(Duration::from_secs(30));
    /// # drop(b);
    /// ```
    pub fn task_timeout(mut self, limit: std::time::Duration) -> Self {
        self.pool = self.pool.task_timeout(limit);
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    /// As [`PoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = multiproc::executor::ProcessPoolExecutor::builder().max_workers(1).build().unwrap();
    /// # drop(ex);
    /// ```
    pub fn build(self) -> Result<ProcessPoolExecutor> {
        Ok(ProcessPoolExecutor::over(self.pool.build()?))
    }
}

impl ProcessPoolExecutor {
    /// An executor over `pool`'s workers (the MPI ranks, for one).
    pub(crate) fn over(pool: Pool) -> Self {
        ProcessPoolExecutor {
            stopper: pool.stopper(),
            pool,
            submitted: Submitted::default(),
            shut: AtomicBool::new(false),
        }
    }

    /// An executor with `max_workers` worker processes.
    ///
    /// # Errors
    /// As [`ProcessPoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(2).unwrap();
    /// # drop(ex);
    /// ```
    pub fn new(max_workers: usize) -> Result<Self> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A [`ProcessPoolBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::executor::ProcessPoolExecutor::builder();
    /// # drop(b);
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// The pids of the current workers.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(2)?;
    /// assert_eq!(ex.worker_pids().len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn worker_pids(&self) -> Vec<i32> {
        self.pool.worker_pids()
    }

    /// Runs `f(args…)` in a worker; returns its [`Future`] at once (the
    /// guide's `submit`). The future fails with the task's panic, its own
    /// error, or its worker's death.
    ///
    /// # Errors
    /// [`Error::ExecutorShutdown`] after
    /// [`shutdown`](ProcessPoolExecutor::shutdown); the initializer's failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn add(a: i32, b: i32) -> i32 {
    ///     a + b
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(1)?;
    /// assert_eq!(ex.submit(add, (2, 3))?.result()?, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn submit<F: ProcessFn>(&self, f: F, args: F::Args) -> Result<Future<F::Output>> {
        if self.shut.load(Ordering::Acquire) {
            return Err(Error::ExecutorShutdown);
        }
        let future = Future::pending();
        future.set_stopper(Arc::clone(&self.stopper));
        self.pool
            .submit(&f, std::iter::once(args), 1, Arc::new(Settle(future.clone())))
            .map_err(|e| match e {
                Error::PoolClosed | Error::PoolTerminated => Error::ExecutorShutdown,
                other => other,
            })?;
        self.submitted.push(&future);
        Ok(future)
    }

    /// Applies `f` to every item, lazily and in input order (the guide's
    /// `map` with `chunksize=1`). Each item gives its own `Result` (a failed
    /// item is [`Error::ItemFailed`], naming its index); with `timeout`,
    /// counted from this call, the first item not done in time is
    /// [`Error::Timeout`] and ends the iteration.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn len(s: String) -> usize {
    ///     s.len()
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(2)?;
    /// let words = ["a", "bb", "ccc"].map(String::from);
    /// let lens: Vec<usize> = ex.map(len, words, None).collect::<Result<_, _>>()?;
    /// assert_eq!(lens, vec![1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map<'a, F, A, I>(
        &'a self,
        f: F,
        items: I,
        timeout: Option<Duration>,
    ) -> impl Iterator<Item = Result<F::Output>> + 'a
    where
        F: ProcessFn<Args = (A,)>,
        A: 'a,
        I: IntoIterator<Item = A> + 'a,
    {
        self.map_chunked(f, items, 1, timeout)
    }

    /// Like [`map`](ProcessPoolExecutor::map), sending `chunksize` items to
    /// a worker at a time (the guide's `chunksize`): far less overhead for
    /// many small items.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn double(x: u32) -> u32 {
    ///     2 * x
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(2)?;
    /// let total: u32 = ex.map_chunked(double, 0..1000, 100, None).map(Result::unwrap).sum();
    /// assert_eq!(total, 999_000);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_chunked<'a, F, A, I>(
        &'a self,
        f: F,
        items: I,
        chunksize: usize,
        timeout: Option<Duration>,
    ) -> impl Iterator<Item = Result<F::Output>> + 'a
    where
        F: ProcessFn<Args = (A,)>,
        A: 'a,
        I: IntoIterator<Item = A> + 'a,
    {
        self.lazy_map(f, items, chunksize, None, timeout)
    }

    /// Like [`map`](ProcessPoolExecutor::map), with at most `buffersize`
    /// items submitted and not yet yielded — Python 3.14's `buffersize`.
    /// The input is read only as results are taken, so an endless or
    /// costly input is safe, and memory stays bounded however slow the
    /// caller is. (Plain `map` bounds it too, by a size it picks to keep
    /// every worker busy.)
    ///
    /// # Errors
    /// The first item is [`Error::Usage`] when `buffersize` is 0.
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
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(2)?;
    /// // An endless input: only the first few items are ever read.
    /// let first: Vec<u64> = ex.map_buffered(square, 0.., 4, None).take(3).collect::<Result<_, _>>()?;
    /// assert_eq!(first, vec![0, 1, 4]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_buffered<'a, F, A, I>(
        &'a self,
        f: F,
        items: I,
        buffersize: usize,
        timeout: Option<Duration>,
    ) -> impl Iterator<Item = Result<F::Output>> + 'a
    where
        F: ProcessFn<Args = (A,)>,
        A: 'a,
        I: IntoIterator<Item = A> + 'a,
    {
        self.lazy_map(f, items, 1, Some(buffersize), timeout)
    }

    /// The executor's lazy, ordered map: `buffer` bounds the items sent and
    /// not yet yielded (unset, the pool picks the bound).
    fn lazy_map<'a, F, A, I>(
        &'a self,
        f: F,
        items: I,
        chunksize: usize,
        buffer: Option<usize>,
        timeout: Option<Duration>,
    ) -> impl Iterator<Item = Result<F::Output>> + 'a
    where
        F: ProcessFn<Args = (A,)>,
        A: 'a,
        I: IntoIterator<Item = A> + 'a,
    {
        let deadline = timeout.and_then(crate::deadline::after);
        let mut refused = if self.shut.load(Ordering::Acquire) {
            Some(Error::ExecutorShutdown)
        } else if buffer == Some(0) {
            Some(crate::error::zero_buffersize())
        } else {
            None
        };
        let chunks = buffer.map(|b| b.div_ceil(chunksize.max(1)));
        let mut results = self.pool.imap_chunked(f, items, chunksize).bounded(chunks);
        let mut over = false;
        std::iter::from_fn(move || {
            if over {
                return None;
            }
            if let Some(e) = refused.take() {
                over = true;
                return Some(Err(e));
            }
            match results.next_before(deadline) {
                Some(item) => item,
                None => {
                    over = true;
                    Some(Err(Error::Timeout(timeout.unwrap_or_default())))
                }
            }
        })
    }

    /// Stops accepting work (the guide's `shutdown`). With `cancel_futures`
    /// the tasks no worker has claimed yet are cancelled; with `wait` it
    /// returns once the others finish and the workers exit.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn three() -> u8 {
    ///     3
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(1)?;
    /// let f = ex.submit(three, ())?;
    /// ex.shutdown(true, false);
    /// assert_eq!(f.result()?, 3);
    /// assert!(matches!(ex.submit(three, ()), Err(Error::ExecutorShutdown)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.shut.store(true, Ordering::Release);
        if cancel_futures {
            self.submitted.cancel_all();
        }
        self.pool.close();
        if wait {
            let _ = self.pool.join();
        }
    }
}

impl ProcessPoolExecutor {
    /// Shuts the executor down at once, stopping its workers with SIGTERM
    /// (those still alive 5 s later with SIGKILL) — Python 3.14's
    /// `terminate_workers`. Futures no worker has started are cancelled;
    /// those that were running fail with [`Error::PoolTerminated`]; later
    /// submits fail with [`Error::ExecutorShutdown`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    /// use multiproc::executor::ProcessPoolExecutor;
    ///
    /// #[process_fn]
    /// fn forever() {
    ///     loop {
    ///         std::thread::sleep(std::time::Duration::from_secs(1));
    ///     }
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = ProcessPoolExecutor::new(1)?;
    /// let running = ex.submit(forever, ())?;
    /// ex.terminate_workers();
    /// assert!(running.result().is_err());
    /// assert!(matches!(ex.submit(forever, ()), Err(multiproc::Error::ExecutorShutdown)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn terminate_workers(&self) {
        self.stop_workers(crate::sys::SIGTERM);
    }

    /// As [`terminate_workers`](ProcessPoolExecutor::terminate_workers),
    /// with SIGKILL — Python 3.14's `kill_workers`.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn stuck() {
    ///     loop {
    ///         std::thread::sleep(std::time::Duration::from_secs(1));
    ///     }
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(1)?;
    /// let running = ex.submit(stuck, ())?;
    /// while !running.running() {
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// }
    /// ex.kill_workers();
    /// assert!(matches!(running.result(), Err(multiproc::Error::PoolTerminated)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn kill_workers(&self) {
        self.stop_workers(crate::sys::SIGKILL);
    }

    fn stop_workers(&self, signal: i32) {
        self.shut.store(true, Ordering::Release);
        self.submitted.cancel_all();
        self.pool.terminate_with(signal);
        let _ = self.pool.join();
    }
}

impl Drop for ProcessPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}
