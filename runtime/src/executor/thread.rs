//! [`ThreadPoolExecutor`]: closures on a pool of threads.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::{Future, Submitted};
use crate::error::{Error, Result};

/// A submitted call: run it (`None`), or fail its future with the error
/// that broke the executor.
type Job = Box<dyn FnOnce(Option<&Error>) + Send>;

/// Why the executor broke (an initializer panicked), once it has.
#[derive(Debug, Default)]
struct Broken(Mutex<Option<Error>>);

impl Broken {
    fn get(&self) -> Option<Error> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, error: Error) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
    }
}

/// A pool of threads that runs closures — the guide's `ThreadPoolExecutor`.
///
/// Dropping it shuts it down and waits for the queued work, like leaving
/// Python's `with ThreadPoolExecutor() as ex:` block.
///
/// A task's panic is its future's [`Error::Panicked`](crate::Error::Panicked)
/// only where panics unwind: under `panic = "abort"` it ends the process
/// (see [`thread::UNWINDS`](crate::thread::UNWINDS));
/// [`ProcessPoolExecutor`](crate::executor::ProcessPoolExecutor) isolates it.
///
/// # Examples
///
/// ```
/// use multiproc::executor::ThreadPoolExecutor;
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = ThreadPoolExecutor::builder().max_workers(2).thread_name_prefix("io").build()?;
/// let futures: Vec<_> = (0..4).map(|i| pool.submit(move || i * i)).collect::<Result<_, _>>()?;
/// let squares: Vec<i32> = futures.iter().map(|f| f.result()).collect::<Result<_, _>>()?;
/// assert_eq!(squares, vec![0, 1, 4, 9]);
/// # Ok(())
/// # }
/// ```
pub struct ThreadPoolExecutor {
    tx: Mutex<Option<Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    submitted: Submitted,
    max_workers: usize,
    broken: Arc<Broken>,
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolExecutor")
            .field("max_workers", &self.max_workers)
            .finish()
    }
}

/// Configures a [`ThreadPoolExecutor`].
///
/// # Examples
///
/// ```
/// let b = multiproc::executor::ThreadPoolExecutor::builder().max_workers(4);
/// # drop(b);
/// ```
#[must_use = "a builder does nothing until `build`"]
pub struct ThreadPoolBuilder {
    max_workers: Option<usize>,
    prefix: String,
    initializer: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("max_workers", &self.max_workers)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl ThreadPoolBuilder {
    /// The number of threads (default: [`cpu_count`](crate::cpu_count) + 4,
    /// at most 32, as in Python).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::executor::ThreadPoolExecutor::builder().max_workers(2);
    /// # drop(b);
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// The prefix of the threads' names (`prefix_0`, `prefix_1`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::executor::ThreadPoolExecutor::builder().thread_name_prefix("fetch");
    /// # drop(b);
    /// ```
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Runs `f` once in each thread before it takes work. If it panics,
    /// the executor is broken, as Python's: every pending future and every
    /// later `submit` fails with [`Error::InitializerFailed`], which carries
    /// the panic's message.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::executor::ThreadPoolExecutor::builder().initializer(|| ());
    /// # drop(b);
    /// ```
    pub fn initializer(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.initializer = Some(Arc::new(f));
        self
    }

    /// Starts the threads.
    ///
    /// # Errors
    /// [`Error::Usage`] for zero workers; [`Error::Io`] when a thread cannot
    /// be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::executor::ThreadPoolExecutor::builder().max_workers(1).build().unwrap();
    /// # drop(pool);
    /// ```
    pub fn build(self) -> Result<ThreadPoolExecutor> {
        let n = self.max_workers.unwrap_or_else(|| (crate::cpu_count() + 4).min(32));
        if n == 0 {
            return Err(Error::Usage("an executor needs at least one worker".into()));
        }
        let (tx, rx): (Sender<Job>, Receiver<Job>) = crossbeam_channel::unbounded();
        let mut threads = Vec::with_capacity(n);
        let broken = Arc::new(Broken::default());
        for i in 0..n {
            let rx = rx.clone();
            let init = self.initializer.clone();
            let broken = broken.clone();
            let thread = std::thread::Builder::new()
                .name(format!("{}_{i}", self.prefix))
                .spawn(move || {
                    if let Some(init) = init {
                        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| init())) {
                            broken.set(Error::InitializerFailed(format!(
                                "an executor thread's initializer panicked: {}",
                                crate::unwind::panic_message(&*payload)
                            )));
                        }
                    }
                    for job in rx.iter() {
                        job(broken.get().as_ref());
                    }
                })
                .map_err(Error::io("starting an executor thread"))?;
            threads.push(thread);
        }
        Ok(ThreadPoolExecutor {
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
            submitted: Submitted::default(),
            max_workers: n,
            broken,
        })
    }
}

impl ThreadPoolExecutor {
    /// An executor with `max_workers` threads.
    ///
    /// # Errors
    /// As [`ThreadPoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(2).unwrap();
    /// # drop(pool);
    /// ```
    pub fn new(max_workers: usize) -> Result<Self> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A [`ThreadPoolBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::executor::ThreadPoolExecutor::builder();
    /// # drop(b);
    /// ```
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder {
            max_workers: None,
            prefix: "ThreadPoolExecutor".into(),
            initializer: None,
        }
    }

    /// Runs `f` on a thread; returns its [`Future`] at once (the guide's
    /// `submit`). A panic in `f` becomes the future's [`Error::Panicked`].
    ///
    /// # Errors
    /// [`Error::ExecutorShutdown`] after [`shutdown`](ThreadPoolExecutor::shutdown);
    /// [`Error::InitializerFailed`] once an initializer panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(1)?;
    /// assert_eq!(pool.submit(|| 1 + 1)?.result()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn submit<R, F>(&self, f: F) -> Result<Future<R>>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        if let Some(error) = self.broken.get() {
            return Err(error);
        }
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let tx = tx.as_ref().ok_or(Error::ExecutorShutdown)?;
        let future = Future::pending();
        let mine = future.clone();
        self.submitted.push(&future);
        let job: Job = Box::new(move |broken| {
            if let Some(error) = broken {
                mine.finish(Err(error.clone()));
                return;
            }
            if !mine.start_running() {
                return; // cancelled while queued
            }
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| Error::Panicked {
                    pid: std::process::id() as i32,
                    message: crate::unwind::panic_message(&*payload),
                    location: None,
                });
            mine.finish(outcome);
        });
        tx.send(job).map_err(|_| Error::ExecutorShutdown)?;
        Ok(future)
    }

    /// Applies `f` to every item, lazily and in input order (the guide's
    /// `map`): twice `max_workers` items are in flight, and while the first
    /// of them still runs, more start as others finish (at most 64 ×
    /// `max_workers` held), so a long item does not leave threads idle.
    /// Each item gives its own `Result`; with `timeout`, an item not done
    /// within it (counted from this call) is [`Error::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(2)?;
    /// let lens: Vec<usize> = pool.map(|s: &str| s.len(), ["a", "bb", "ccc"], None).map(Result::unwrap).collect();
    /// assert_eq!(lens, vec![1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map<'a, T, R, F, I>(
        &'a self,
        f: F,
        items: I,
        timeout: Option<Duration>,
    ) -> impl Iterator<Item = Result<R>> + 'a
    where
        T: Send + 'static,
        R: Clone + Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        self.lazy_map(f, items, None, timeout)
    }

    /// Like [`map`](ThreadPoolExecutor::map), with at most `buffersize`
    /// items submitted and not yet yielded — Python 3.14's `buffersize`.
    /// The input is read only as results are taken, so an endless or
    /// costly input is safe.
    ///
    /// # Errors
    /// The first item is [`Error::Usage`] when `buffersize` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(2)?;
    /// // An endless input: only the first few items are ever read.
    /// let first: Vec<u64> = pool.map_buffered(|x: u64| x * x, 0.., 4, None).take(3).collect::<Result<_, _>>()?;
    /// assert_eq!(first, vec![0, 1, 4]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map_buffered<'a, T, R, F, I>(
        &'a self,
        f: F,
        items: I,
        buffersize: usize,
        timeout: Option<Duration>,
    ) -> impl Iterator<Item = Result<R>> + 'a
    where
        T: Send + 'static,
        R: Clone + Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        self.lazy_map(f, items, Some(buffersize), timeout)
    }

    /// The lazy, ordered map: `buffer` bounds the items submitted and not
    /// yet yielded; unset, the bound keeps every thread busy.
    fn lazy_map<'a, T, R, F, I>(
        &'a self,
        f: F,
        items: I,
        buffer: Option<usize>,
        timeout: Option<Duration>,
    ) -> impl Iterator<Item = Result<R>> + 'a
    where
        T: Send + 'static,
        R: Clone + Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        let f = Arc::new(f);
        let deadline = timeout.and_then(crate::deadline::after);
        // Work-conserving: `window` unfinished items are kept in flight
        // while the caller waits on the first one, so a long item at the
        // head does not leave the other threads idle. Finished results
        // waiting for their turn are bounded too.
        let (window, held) = match buffer {
            Some(b) => (b, b),
            None => (2 * self.max_workers, 64 * self.max_workers),
        };
        let mut refused = (buffer == Some(0)).then(crate::error::zero_buffersize);
        let mut input = items.into_iter().fuse().peekable();
        let mut in_flight: VecDeque<Result<Future<R>>> = VecDeque::new();
        std::iter::from_fn(move || loop {
            // (A zero bound refuses, then ends: nothing may be in flight.)
            if let Some(e) = refused.take() {
                return Some(Err(e));
            }
            let unfinished =
                |q: &VecDeque<Result<Future<R>>>| q.iter().filter(|r| r.as_ref().is_ok_and(|f| !f.done())).count();
            // Up to `window` in all, as a plain lazy map; past it (up to
            // `held`) only while the head is unfinished and threads idle.
            let may_top_up = |q: &VecDeque<Result<Future<R>>>| {
                q.len() < window
                    || (q.len() < held
                        && q.front().is_some_and(|r| r.as_ref().is_ok_and(|f| !f.done()))
                        && unfinished(q) < window)
            };
            while may_top_up(&in_flight) {
                let Some(item) = input.next() else { break };
                let f = f.clone();
                in_flight.push_back(self.submit(move || f(item)));
            }
            let head_ready = match in_flight.front()? {
                Ok(head) => head.done(),
                Err(_) => true,
            };
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if head_ready || left.is_some_and(|l| l.is_zero()) {
                let next = in_flight.pop_front()?;
                return Some(next.and_then(|fut| match left {
                    None => fut.result(),
                    Some(left) => fut.result_timeout(left),
                }));
            }
            // Wait until the head or any other item finishes, then top up.
            // The items still running are taken first; one that finishes
            // after that ends the wait, and one that finished before it
            // made room, seen here (else the wait would be on the head
            // alone, while the items it waits for are never submitted).
            let running: Vec<&Future<R>> = in_flight
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .filter(|f| !f.done())
                .collect();
            // (Room first: `peek` pulls an item, which may block.)
            if may_top_up(&in_flight) && input.peek().is_some() {
                continue;
            }
            super::wait(running, left, super::ReturnWhen::FirstCompleted);
        })
    }

    /// Stops accepting work (the guide's `shutdown`). With `cancel_futures`
    /// the queued tasks are cancelled; with `wait` it returns once the
    /// running ones finish and the threads exit.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(1)?;
    /// let f = pool.submit(|| 3)?;
    /// pool.shutdown(true, false);
    /// assert_eq!(f.result()?, 3);
    /// assert!(pool.submit(|| 4).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        if cancel_futures {
            self.submitted.cancel_all();
        }
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if wait {
            let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
            for t in threads {
                let _ = t.join();
            }
        }
    }
}

impl Drop for ThreadPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}
