//! The thread twin of the process [`Pool`](crate::Pool): the same methods,
//! on threads of this process (the guide's `multiprocessing.dummy.Pool`).
//!
//! Work travels as chunks of items, each chunk one job on a shared queue
//! that the threads take from — so an uneven workload balances, as in the
//! process pool. Nothing is encoded: items and results move.
//!
//! `mod.rs` holds [`Pool`] and [`PoolBuilder`]; `result.rs`
//! [`AsyncResult`] and the gathering of a job's chunks; `imap.rs` [`IMap`].

mod imap;
mod result;

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::Callable;
use crate::error::{Error, Result};
use crate::executor::Future;

use crate::pool::Callbacks;

pub use self::imap::IMap;
pub use self::result::AsyncResult;
use self::result::{finish_with, Gather};

const RUNNING: u8 = 0;
const CLOSED: u8 = 1;
const TERMINATING: u8 = 2;

/// A chunk to run (`None`), or to fail with why the pool stopped (it was
/// terminated, or an initializer panicked).
type Job = Box<dyn FnOnce(Option<&Error>) + Send>;

/// A chunk's results: the values of the items that succeeded, in order,
/// and the failures by position in the chunk (ascending).
struct Chunk<R> {
    values: Vec<R>,
    failures: VecDeque<(usize, Error)>,
}

impl<R> Chunk<R> {
    /// Runs `f` over `items`. One unwind guard covers the whole loop: a
    /// panic records its item and the loop resumes after it.
    fn run<T>(f: &dyn Fn(T) -> R, items: Vec<T>) -> Self {
        let mut chunk = Chunk {
            values: Vec::with_capacity(items.len()),
            failures: VecDeque::new(),
        };
        let mut items = items.into_iter();
        let mut at = 0;
        loop {
            let pass = panic::catch_unwind(AssertUnwindSafe(|| {
                for item in items.by_ref() {
                    chunk.values.push(f(item));
                    at += 1;
                }
            }));
            match pass {
                Ok(()) => return chunk,
                Err(payload) => {
                    chunk.failures.push_back((at, panicked(&*payload)));
                    at += 1;
                }
            }
        }
    }

    /// Every item failed with `error`: the pool stopped before it ran.
    fn stopped(len: usize, error: &Error) -> Self {
        Chunk {
            values: Vec::new(),
            failures: (0..len).map(|k| (k, error.clone())).collect(),
        }
    }

    /// The results in item order; a failure names its item (`start + k`).
    fn into_results(mut self, start: usize) -> impl Iterator<Item = Result<R>> {
        let len = self.values.len() + self.failures.len();
        let mut values = self.values.into_iter();
        (0..len).map(move |k| match self.failures.front() {
            Some((at, _)) if *at == k => {
                let (_, e) = self.failures.pop_front().expect("front checked");
                Err(item_failed(start + k, e))
            }
            _ => values.next().ok_or_else(|| Error::Usage("a chunk lost a value".into())),
        })
    }
}

fn item_failed(index: usize, e: Error) -> Error {
    match e {
        Error::PoolTerminated | Error::InitializerFailed(_) => e,
        e => Error::ItemFailed {
            index,
            source: Box::new(e),
        },
    }
}

fn panicked(payload: &(dyn std::any::Any + Send)) -> Error {
    Error::Panicked {
        pid: std::process::id() as i32,
        message: crate::unwind::panic_message(payload),
        location: None,
    }
}

struct Shared {
    state: AtomicU8,
    /// Why the pool stopped taking work: an initializer's panic.
    broken: Mutex<Option<Error>>,
}

impl Shared {
    /// The error queued work fails with once the pool has stopped.
    fn stopped(&self) -> Option<Error> {
        if self.state.load(Ordering::Acquire) != TERMINATING {
            return None;
        }
        let broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        Some(broken.clone().unwrap_or(Error::PoolTerminated))
    }
}

/// Configures a thread [`Pool`].
///
/// # Examples
///
/// ```
/// use multiproc::thread::Pool;
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = Pool::builder().processes(2).initializer(|| println!("thread up"), ()).build()?;
/// assert_eq!(pool.processes(), 2);
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until `build`"]
pub struct PoolBuilder {
    threads: Option<usize>,
    initializer: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder").field("threads", &self.threads).finish()
    }
}

impl PoolBuilder {
    /// The number of threads (default: [`cpu_count`](crate::cpu_count));
    /// named like the process pool's option so that switching is one line.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::thread::Pool::builder().processes(4);
    /// # drop(b);
    /// ```
    pub fn processes(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Runs `f(args…)` once in each thread before it takes work — a
    /// `#[process_fn]` entry or a closure.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::thread::Pool::builder().initializer(|level: u8| assert!(level < 5), (3,));
    /// # drop(b);
    /// ```
    pub fn initializer<A, M, F>(mut self, f: F, args: A) -> Self
    where
        F: Callable<A, M>,
        A: Clone + Send + Sync + 'static,
    {
        self.initializer = Some(Arc::new(move || {
            f.call_with(args.clone());
        }));
        self
    }

    /// Starts the threads.
    ///
    /// # Errors
    /// [`Error::Usage`] for zero threads; [`Error::Io`] when a thread cannot
    /// be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::builder().processes(1).build().unwrap();
    /// # drop(pool);
    /// ```
    pub fn build(self) -> Result<Pool> {
        let n = self.threads.unwrap_or_else(crate::cpu_count);
        if n == 0 {
            return Err(Error::Usage("a pool needs at least one thread".into()));
        }
        let shared = Arc::new(Shared {
            state: AtomicU8::new(RUNNING),
            broken: Mutex::new(None),
        });
        let (tx, rx): (Sender<Job>, Receiver<Job>) = crossbeam_channel::unbounded();
        let (alive, finished) = crossbeam_channel::bounded::<()>(0);
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let (rx, alive, shared, init) = (rx.clone(), alive.clone(), shared.clone(), self.initializer.clone());
            let thread = std::thread::Builder::new()
                .name(format!("ThreadPoolWorker-{i}"))
                .spawn(move || {
                    let _alive = alive; // dropped when this thread ends: `join` sees it
                    if let Some(init) = init {
                        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| init())) {
                            // As Python's: the whole pool is broken, and says why.
                            shared.broken.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(
                                Error::InitializerFailed(format!(
                                    "a pool thread's initializer panicked: {}",
                                    crate::unwind::panic_message(&*payload)
                                )),
                            );
                            shared.state.store(TERMINATING, Ordering::Release);
                        }
                    }
                    for job in rx.iter() {
                        job(shared.stopped().as_ref());
                    }
                })
                .map_err(Error::io("starting a pool thread"))?;
            threads.push(thread);
        }
        Ok(Pool {
            tx: Mutex::new(Some(tx)),
            shared,
            threads: Mutex::new(threads),
            finished,
            processes: n,
        })
    }
}

/// A pool of threads with the methods of the process [`Pool`](crate::Pool):
/// `apply`, `apply_async`, `map`, `imap`, `imap_unordered`, `starmap`, …
///
/// It takes `#[process_fn]` entries, like the process pool, and closures
/// (which may capture). Items and results are moved, never encoded, so they
/// need not be serde types. A task's panic fails that task alone, as
/// [`Error::Panicked`] — where panics unwind: under `panic = "abort"` it
/// ends the process (see [`UNWINDS`](crate::thread::UNWINDS)).
///
/// Threads cannot be killed: [`terminate`](Pool::terminate) fails the work
/// no thread has started, and dropping the pool terminates it without
/// waiting for the tasks that run (their threads end after them).
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
/// // The process pool …
/// let pool = multiproc::Pool::new(2)?;
/// assert_eq!(pool.map(square, 0..5)?, [0, 1, 4, 9, 16]);
/// // … and its thread twin: the same call.
/// let pool = multiproc::thread::Pool::new(2)?;
/// assert_eq!(pool.map(square, 0..5)?, [0, 1, 4, 9, 16]);
/// // Closures too, capturing what they like.
/// let offset = 10;
/// assert_eq!(pool.map(move |x: u64| x + offset, 0..3)?, [10, 11, 12]);
/// # Ok(())
/// # }
/// ```
pub struct Pool {
    tx: Mutex<Option<Sender<Job>>>,
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    finished: Receiver<()>,
    processes: usize,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("processes", &self.processes).finish()
    }
}

/// What the default chunk size aims at: about four chunks per thread
/// (the process pool's default, halved: a thread chunk costs no encoding).
fn default_chunksize(len: usize, threads: usize) -> usize {
    len.div_ceil(4 * threads).max(1)
}

impl Pool {
    /// A pool of `threads` threads.
    ///
    /// # Errors
    /// As [`PoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(2).unwrap();
    /// # drop(pool);
    /// ```
    pub fn new(threads: usize) -> Result<Pool> {
        Pool::builder().processes(threads).build()
    }

    /// A [`PoolBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::thread::Pool::builder();
    /// # drop(b);
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder {
            threads: None,
            initializer: None,
        }
    }

    /// The number of threads.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::thread::Pool::new(3).unwrap().processes(), 3);
    /// ```
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// Whether the pool takes work: the error of a call it refuses.
    fn check_open(&self) -> Result<()> {
        match self.shared.state.load(Ordering::Acquire) {
            RUNNING => Ok(()),
            CLOSED => Err(Error::PoolClosed),
            _ => Err(self.shared.stopped().unwrap_or(Error::PoolTerminated)),
        }
    }

    fn send(&self, job: Job) -> Result<()> {
        self.check_open()?;
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        tx.as_ref()
            .ok_or(Error::PoolClosed)?
            .send(job)
            .map_err(|_| Error::PoolTerminated)
    }

    /// Queues a chunk; `deliver` gets its results.
    fn send_chunk<T, R>(
        &self,
        f: &Arc<dyn Fn(T) -> R + Send + Sync>,
        chunk: Vec<T>,
        deliver: impl FnOnce(Chunk<R>) + Send + 'static,
    ) -> Result<()>
    where
        T: Send + 'static,
        R: Send + 'static,
    {
        let f = f.clone();
        self.send(Box::new(move |stopped| {
            deliver(match stopped {
                None => Chunk::run(&*f, chunk),
                Some(error) => Chunk::stopped(chunk.len(), error),
            })
        }))
    }

    /// Queues every item in chunks; `finish` gets the values in order, or
    /// the first failure, once the last chunk is done. `items` is collected
    /// first only when its length is not known exactly.
    fn start_all<T, R>(
        &self,
        f: Arc<dyn Fn(T) -> R + Send + Sync>,
        items: impl Iterator<Item = T>,
        chunksize: Option<usize>,
        finish: impl FnOnce(Result<Vec<R>>) + Send + 'static,
    ) -> Result<()>
    where
        T: Send + 'static,
        R: Send + 'static,
    {
        if chunksize == Some(0) {
            return Err(crate::error::zero_chunksize());
        }
        let mut items: Box<dyn Iterator<Item = T>> = match items.size_hint() {
            (low, Some(high)) if low == high => Box::new(items),
            _ => Box::new(items.collect::<Vec<T>>().into_iter()),
        };
        let len = items.size_hint().0;
        let chunksize = chunksize
            .unwrap_or_else(|| default_chunksize(len, self.processes))
            .max(1);
        let chunks = len.div_ceil(chunksize);
        let gather = Arc::new(Gather {
            slots: Mutex::new(((0..chunks).map(|_| None).collect(), chunks)),
            chunksize,
            finish: Mutex::new(Some(Box::new(finish))),
        });
        if chunks == 0 {
            // Nothing to send, so nothing would refuse the call: check
            // first, or a closed pool would run an empty map's callback.
            self.check_open()?;
            gather.call_finish(Ok(Vec::new()));
        }
        for index in 0..chunks {
            let chunk: Vec<T> = items.by_ref().take(chunksize).collect();
            let g = gather.clone();
            if let Err(e) = self.send_chunk(&f, chunk, move |results| g.complete(index, results)) {
                // The call is refused: what it would have run (callbacks
                // among it) must not run when the chunks already sent end.
                drop(gather.finish.lock().unwrap_or_else(|p| p.into_inner()).take());
                return Err(e);
            }
        }
        Ok(())
    }

    /// Runs `f(args…)` on a thread and waits for the result — the guide's
    /// `apply`.
    ///
    /// # Errors
    /// The task's panic as [`Error::Panicked`]; [`Error::PoolClosed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(1)?;
    /// assert_eq!(pool.apply(|a: i32, b: i32| a + b, (2, 3))?, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply<A, M, F>(&self, f: F, args: A) -> Result<F::Output>
    where
        F: Callable<A, M>,
        A: Send + 'static,
        F::Output: Clone,
    {
        self.apply_async(f, args)?.get()
    }

    /// Queues `f(args…)` and returns at once — the guide's `apply_async`.
    ///
    /// # Errors
    /// [`Error::PoolClosed`], [`Error::PoolTerminated`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// let r = pool.apply_async(|x: u64| x * x, (7,))?;
    /// assert_eq!(r.get()?, 49);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply_async<A, M, F>(&self, f: F, args: A) -> Result<AsyncResult<F::Output>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
    {
        self.apply_async_with(f, args, Callbacks::new())
    }

    /// Like [`apply_async`](Pool::apply_async), with the guide's optional
    /// `callback` and `error_callback` (see [`Callbacks`]): the one that
    /// applies runs on the pool's thread when the task completes, before the
    /// result turns ready. A panicking callback is contained.
    ///
    /// # Errors
    /// As [`apply_async`](Pool::apply_async); then no callback runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// use multiproc::thread::Callbacks;
    /// let pool = multiproc::thread::Pool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let on = Callbacks::new().on_success(move |v: &u64| tx.send(*v).unwrap());
    /// let r = pool.apply_async_with(|x: u64| x + 1, (41,), on)?;
    /// r.wait();
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply_async_with<A, M, F>(
        &self,
        f: F,
        args: A,
        callbacks: Callbacks<F::Output>,
    ) -> Result<AsyncResult<F::Output>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
    {
        let future = Future::pending();
        let mine = future.clone();
        let f: Arc<dyn Fn(A) -> F::Output + Send + Sync> = Arc::new(move |args| f.call_with(args));
        self.send_chunk(&f, vec![args], move |mut chunk| {
            let result = match chunk.failures.pop_front() {
                Some((_, e)) => Err(e),
                None => chunk
                    .values
                    .pop()
                    .ok_or_else(|| Error::Usage("a task gave no result".into())),
            };
            finish_with(&mine, callbacks, result);
        })?;
        Ok(AsyncResult { future })
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
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(1)?;
    /// # #[allow(deprecated)]
    /// let r = pool.apply_async_callback(|x: u64| x + 1, (41,), |_| {}, |_| {})?;
    /// assert_eq!(r.get()?, 42);
    /// # Ok(())
    /// # }
    /// ```
    #[deprecated(note = "use `apply_async_with(f, args, Callbacks::new().on_success(…).on_error(…))`")]
    pub fn apply_async_callback<A, M, F, C, E>(
        &self,
        f: F,
        args: A,
        callback: C,
        error_callback: E,
    ) -> Result<AsyncResult<F::Output>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
        C: FnOnce(&F::Output) + Send + 'static,
        E: FnOnce(&Error) + Send + 'static,
    {
        let callbacks = Callbacks::new().on_success(callback).on_error(error_callback);
        self.apply_async_with(f, args, callbacks)
    }

    /// Applies `f` to every item and returns the results in input order —
    /// the guide's `map`, with a default chunk size.
    ///
    /// # Errors
    /// The first failed item, by index, as [`Error::ItemFailed`] — after
    /// every other item has completed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// assert_eq!(pool.map(|s: &str| s.len(), ["a", "bb"])?, [1, 2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map<T, M, F, I>(&self, f: F, items: I) -> Result<Vec<F::Output>>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.map_chunks(f, items, None, Callbacks::new())?.into_result()
    }

    /// Like [`map`](Pool::map), with the guide's `chunksize`.
    ///
    /// # Errors
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// assert_eq!(pool.map_chunked(|x: u8| x + 1, 0..4, 2)?, [1, 2, 3, 4]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_chunked<T, M, F, I>(&self, f: F, items: I, chunksize: usize) -> Result<Vec<F::Output>>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.map_chunks(f, items, Some(chunksize), Callbacks::new())?
            .into_result()
    }

    /// Like [`map`](Pool::map), returning at once — the guide's `map_async`.
    ///
    /// # Errors
    /// [`Error::PoolClosed`], [`Error::PoolTerminated`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// let r = pool.map_async(|x: i32| -x, vec![1, 2])?;
    /// assert_eq!(r.get()?, [-1, -2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_async<T, M, F, I>(&self, f: F, items: I) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.map_chunks(f, items, None, Callbacks::new())
    }

    /// Like [`map_async`](Pool::map_async), with the guide's optional
    /// `callback` (given the whole vector of results) and `error_callback`
    /// (given the first failed item's error): see [`Callbacks`].
    ///
    /// # Errors
    /// As [`map_async`](Pool::map_async); then no callback runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// use multiproc::thread::Callbacks;
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let on = Callbacks::new().on_success(move |v: &Vec<i32>| tx.send(v.len()).unwrap());
    /// pool.map_async_with(|x: i32| -x, 0..5, on)?.wait();
    /// assert_eq!(rx.recv().unwrap(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_async_with<T, M, F, I>(
        &self,
        f: F,
        items: I,
        callbacks: Callbacks<Vec<F::Output>>,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.map_chunks(f, items, None, callbacks)
    }

    fn map_chunks<T, M, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<F::Output>>,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.starmap_chunks(f, items.into_iter().map(|t| (t,)), chunksize, callbacks)
    }

    fn starmap_chunks<A, M, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<F::Output>>,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
        I: IntoIterator<Item = A>,
    {
        let future = Future::pending();
        let mine = future.clone();
        let f: Arc<dyn Fn(A) -> F::Output + Send + Sync> = Arc::new(move |args| f.call_with(args));
        self.start_all(f, items.into_iter(), chunksize, move |results| {
            finish_with(&mine, callbacks, results)
        })?;
        Ok(AsyncResult { future })
    }

    /// Applies `f` to every tuple of arguments — the guide's `starmap`.
    ///
    /// # Errors
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// assert_eq!(pool.starmap(|a: u32, b: u32| a.pow(b), [(2, 3), (3, 2)])?, [8, 9]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap<A, M, F, I>(&self, f: F, items: I) -> Result<Vec<F::Output>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_chunks(f, items, None, Callbacks::new())?.into_result()
    }

    /// Like [`starmap`](Pool::starmap), with the guide's `chunksize`.
    ///
    /// # Errors
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// let sums = pool.starmap_chunked(|a: u32, b: u32| a + b, (0..6).map(|i| (i, i)), 4)?;
    /// assert_eq!(sums, [0, 2, 4, 6, 8, 10]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap_chunked<A, M, F, I>(&self, f: F, items: I, chunksize: usize) -> Result<Vec<F::Output>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_chunks(f, items, Some(chunksize), Callbacks::new())?
            .into_result()
    }

    /// Like [`starmap`](Pool::starmap), returning at once — the guide's
    /// `starmap_async`.
    ///
    /// # Errors
    /// [`Error::PoolClosed`], [`Error::PoolTerminated`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// let r = pool.starmap_async(|a: i32, b: i32| a - b, [(5, 1)])?;
    /// assert_eq!(r.get()?, [4]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap_async<A, M, F, I>(&self, f: F, items: I) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_chunks(f, items, None, Callbacks::new())
    }

    /// Like [`starmap_async`](Pool::starmap_async), with the guide's
    /// optional `callback` and `error_callback`: see [`Callbacks`].
    ///
    /// # Errors
    /// As [`starmap_async`](Pool::starmap_async); then no callback runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// use multiproc::thread::Callbacks;
    /// let pool = multiproc::thread::Pool::new(2)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let on = Callbacks::new().on_error(move |e| tx.send(e.to_string()).unwrap());
    /// let r = pool.starmap_async_with(|a: u8, b: u8| a / b, [(4, 2), (1, 0)], on)?;
    /// assert!(r.get().is_err());
    /// assert!(rx.recv().unwrap().contains("divide by zero"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn starmap_async_with<A, M, F, I>(
        &self,
        f: F,
        items: I,
        callbacks: Callbacks<Vec<F::Output>>,
    ) -> Result<AsyncResult<Vec<F::Output>>>
    where
        F: Callable<A, M>,
        A: Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_chunks(f, items, None, callbacks)
    }

    /// A lazy iterator over the results, in input order — the guide's
    /// `imap`. Items are taken from `items` only as threads free up, so
    /// memory stays bounded however long the input.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(2).unwrap();
    /// let mut it = pool.imap(|x: u64| x * 10, 1..);
    /// assert_eq!(it.next().unwrap().unwrap(), 10);
    /// assert_eq!(it.next().unwrap().unwrap(), 20);
    /// ```
    pub fn imap<T, M, F, I>(&self, f: F, items: I) -> IMap<'_, T, F::Output, I::IntoIter>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        IMap::new(self, f, items.into_iter(), 1, true)
    }

    /// [`imap`](Pool::imap) with `chunksize` items per chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(2).unwrap();
    /// let total: u64 = pool.imap_chunked(|x: u64| x, 0..100, 10).map(Result::unwrap).sum();
    /// assert_eq!(total, 4950);
    /// ```
    pub fn imap_chunked<T, M, F, I>(&self, f: F, items: I, chunksize: usize) -> IMap<'_, T, F::Output, I::IntoIter>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        IMap::new(self, f, items.into_iter(), chunksize, true)
    }

    /// Like [`imap`](Pool::imap), in completion order — the guide's
    /// `imap_unordered`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(2).unwrap();
    /// let mut v: Vec<u32> = pool.imap_unordered(|x: u32| x + 1, [1, 2, 3]).map(Result::unwrap).collect();
    /// v.sort();
    /// assert_eq!(v, [2, 3, 4]);
    /// ```
    pub fn imap_unordered<T, M, F, I>(&self, f: F, items: I) -> IMap<'_, T, F::Output, I::IntoIter>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        IMap::new(self, f, items.into_iter(), 1, false)
    }

    /// [`imap_unordered`](Pool::imap_unordered) with `chunksize` items per
    /// chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(2).unwrap();
    /// assert_eq!(pool.imap_unordered_chunked(|x: u8| x, 0..10, 3).count(), 10);
    /// ```
    pub fn imap_unordered_chunked<T, M, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> IMap<'_, T, F::Output, I::IntoIter>
    where
        F: Callable<(T,), M>,
        T: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        IMap::new(self, f, items.into_iter(), chunksize, false)
    }

    /// Accepts no more work; queued work still runs — the guide's `close`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// pool.close();
    /// pool.join().unwrap();
    /// ```
    pub fn close(&self) {
        let _ = self
            .shared
            .state
            .compare_exchange(RUNNING, CLOSED, Ordering::AcqRel, Ordering::Acquire);
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Fails the work no thread has started with [`Error::PoolTerminated`]
    /// and accepts no more — the guide's `terminate` (running tasks finish:
    /// a thread cannot be killed).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// pool.terminate();
    /// pool.join().unwrap();
    /// ```
    pub fn terminate(&self) {
        self.shared.state.store(TERMINATING, Ordering::Release);
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Waits until the threads have exited; call [`close`](Pool::close) or
    /// [`terminate`](Pool::terminate) first — the guide's `join`.
    ///
    /// # Errors
    /// [`Error::Usage`] when the pool is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// assert!(pool.join().is_err()); // not closed yet
    /// pool.close();
    /// pool.join().unwrap();
    /// ```
    pub fn join(&self) -> Result<()> {
        self.join_deadline(None)
    }

    /// Like [`join`](Pool::join), giving up after `timeout` with
    /// [`Error::Timeout`].
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Usage`] when the pool is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// pool.close();
    /// pool.join_timeout(std::time::Duration::from_secs(60)).unwrap();
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        self.join_deadline(Some(timeout))
    }

    fn join_deadline(&self, timeout: Option<Duration>) -> Result<()> {
        crate::pool::await_finished(
            self.shared.state.load(Ordering::Acquire) == RUNNING,
            &self.finished,
            timeout,
        )?;
        for thread in std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner())) {
            let _ = thread.join();
        }
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
    }
}
