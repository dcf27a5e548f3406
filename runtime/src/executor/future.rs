//! [`Future`]: the result of a submitted task, with the guide's
//! `concurrent.futures.Future` methods, `std::future::Future` for async
//! code, and listeners for [`wait`](super::wait) and
//! [`as_completed`](super::as_completed).

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::bell::Bell;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Running,
    Finished,
    Cancelled,
}

type Callback<R> = Box<dyn FnOnce(&Future<R>) + Send>;

struct State<R> {
    status: Status,
    result: Option<Result<R>>,
    callbacks: Vec<Callback<R>>,
    wakers: Vec<Waker>,
    listeners: Vec<Arc<Listener>>,
    /// How to stop the task while it runs (a process executor's: ask its
    /// pool to kill the worker); `None` where nothing can.
    stopper: Option<Arc<dyn Fn() + Send + Sync>>,
    /// [`Future::cancel_running`] was called.
    stop_requested: bool,
}

struct Inner<R> {
    state: Mutex<State<R>>,
    done: Bell,
}

/// Something that wakes when any of the futures it listens to completes
/// (used by `wait` and `as_completed`).
#[derive(Debug, Default)]
pub struct Listener {
    fired: Mutex<u64>,
    cond: Bell,
}

impl Listener {
    fn fire(&self) {
        let mut fired = self.fired.lock().unwrap_or_else(|p| p.into_inner());
        *fired += 1;
        self.cond.ring_all(fired);
    }

    /// How many completions it has seen.
    pub(crate) fn count(&self) -> u64 {
        *self.fired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the count moves past `seen`, or `deadline`.
    pub(crate) fn wait_change(&self, seen: u64, deadline: Option<Instant>) {
        let mut fired = self.fired.lock().unwrap_or_else(|p| p.into_inner());
        while *fired == seen {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            fired = self.cond.wait(fired, deadline);
        }
    }
}

/// The result of a task submitted to an executor — the guide's
/// `concurrent.futures.Future`.
///
/// Clones are handles to the same result. [`result`](Future::result) can
/// be asked any number of times: it returns a clone of the value (so `R:
/// Clone`). A `Future` is also a [`std::future::Future`], so async code can
/// `.await` it under any runtime.
///
/// # Examples
///
/// ```
/// use multiproc::executor::ThreadPoolExecutor;
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = ThreadPoolExecutor::new(2)?;
/// let f = pool.submit(|| 6 * 7)?;
/// assert_eq!(f.result()?, 42);
/// assert!(f.done() && !f.cancelled());
/// # Ok(())
/// # }
/// ```
pub struct Future<R> {
    inner: Arc<Inner<R>>,
}

impl<R> Clone for Future<R> {
    fn clone(&self) -> Self {
        Future {
            inner: self.inner.clone(),
        }
    }
}

/// Futures are equal when they are the same future (clones of one
/// another), as Python's compare by identity: so [`wait`](super::wait)
/// and [`as_completed`](super::as_completed) report a future passed twice
/// once.
///
/// ```
/// let pool = multiproc::executor::ThreadPoolExecutor::new(1).unwrap();
/// let a = pool.submit(|| 1).unwrap();
/// let b = pool.submit(|| 1).unwrap();
/// assert_eq!(a, a.clone());
/// assert_ne!(a, b);
/// ```
impl<R> PartialEq for Future<R> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<R> Eq for Future<R> {}

impl<R> std::hash::Hash for Future<R> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl<R> Future<R> {
    /// What tells this future from every other one (and its clones from
    /// none).
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.inner) as *const () as usize
    }
}

impl<R> fmt::Debug for Future<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Future").field("status", &self.lock().status).finish()
    }
}

impl<R> Future<R> {
    pub(crate) fn pending() -> Self {
        Future {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    status: Status::Pending,
                    result: None,
                    callbacks: Vec::new(),
                    wakers: Vec::new(),
                    listeners: Vec::new(),
                    stopper: None,
                    stop_requested: false,
                }),
                done: Bell::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the task running; `false` when it was cancelled first.
    pub(crate) fn start_running(&self) -> bool {
        let mut state = self.lock();
        if state.status == Status::Pending {
            state.status = Status::Running;
            true
        } else {
            false
        }
    }

    /// Marks the task running unless it was cancelled (or is done): a
    /// task claimed again after its worker died stays running.
    pub(crate) fn claim(&self) -> bool {
        let mut state = self.lock();
        match state.status {
            Status::Pending | Status::Running => {
                state.status = Status::Running;
                true
            }
            Status::Finished | Status::Cancelled => false,
        }
    }

    /// Stores the outcome and wakes everyone.
    pub(crate) fn finish(&self, result: Result<R>) {
        self.complete(Status::Finished, Some(result));
    }

    fn complete(&self, status: Status, result: Option<Result<R>>) {
        let mut state = self.lock();
        if matches!(state.status, Status::Finished | Status::Cancelled) {
            return;
        }
        state.status = status;
        state.result = result;
        let callbacks = std::mem::take(&mut state.callbacks);
        let wakers = std::mem::take(&mut state.wakers);
        let listeners = std::mem::take(&mut state.listeners);
        self.inner.done.ring_all(state);
        for callback in callbacks {
            self.run_callback(callback);
        }
        wakers.into_iter().for_each(Waker::wake);
        listeners.iter().for_each(|l| l.fire());
    }

    fn run_callback(&self, callback: Callback<R>) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| callback(self))) {
            // Contained: a callback's panic never reaches the executor.
            eprintln!(
                "multiproc: a done callback panicked: {}",
                crate::unwind::panic_message(&*payload)
            );
        }
    }

    /// Cancels the task if it has not started: `true` then (or when it was
    /// cancelled already), `false` once it runs or is done.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::executor::ThreadPoolExecutor;
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = ThreadPoolExecutor::new(1)?;
    /// let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
    /// let g = gate.clone();
    /// let busy = pool.submit(move || { g.wait(); })?;
    /// let queued = pool.submit(|| 1)?;
    /// assert!(queued.cancel()); // still waiting behind `busy`
    /// assert!(queued.cancelled());
    /// gate.wait();
    /// busy.result()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel(&self) -> bool {
        let status = self.lock().status;
        match status {
            Status::Pending => {
                self.complete(Status::Cancelled, None);
                self.lock().status == Status::Cancelled
            }
            Status::Cancelled => true,
            _ => false,
        }
    }

    /// Cancels the task even while it runs — beyond Python, whose `cancel`
    /// cannot stop a running task (and [`cancel`](Future::cancel) keeps that
    /// meaning). A pending task is cancelled as by `cancel`; a task running
    /// on a [`ProcessPoolExecutor`](super::ProcessPoolExecutor) worker has
    /// its worker killed and replaced, and the future fails with
    /// [`Error::Cancelled`]; every other future completes. Returns whether
    /// the task was, or will be, stopped (`false` once done, or for a
    /// thread task, which cannot be stopped).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn forever() {
    ///     loop {
    ///         std::thread::sleep(std::time::Duration::from_millis(10));
    ///     }
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let ex = multiproc::executor::ProcessPoolExecutor::new(1)?;
    /// let f = ex.submit(forever, ())?;
    /// while !f.running() {
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// }
    /// assert!(f.cancel_running());
    /// assert!(matches!(f.result(), Err(multiproc::Error::Cancelled)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel_running(&self) -> bool {
        if self.cancel() {
            return true;
        }
        let stopper = {
            let mut state = self.lock();
            if state.status != Status::Running {
                return false;
            }
            let Some(stopper) = state.stopper.clone() else {
                return false;
            };
            state.stop_requested = true;
            stopper
        };
        stopper();
        true
    }

    /// Gives the future a way to stop its running task.
    pub(crate) fn set_stopper(&self, stopper: Arc<dyn Fn() + Send + Sync>) {
        self.lock().stopper = Some(stopper);
    }

    /// Whether [`cancel_running`](Future::cancel_running) was called.
    pub(crate) fn stop_requested(&self) -> bool {
        self.lock().stop_requested
    }

    /// Whether it was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let f = multiproc::executor::ThreadPoolExecutor::new(1)?.submit(|| ())?;
    /// f.result()?;
    /// assert!(!f.cancelled());
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancelled(&self) -> bool {
        self.lock().status == Status::Cancelled
    }

    /// Whether the task is running now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let f = multiproc::executor::ThreadPoolExecutor::new(1)?.submit(|| ())?;
    /// f.result()?;
    /// assert!(!f.running());
    /// # Ok(())
    /// # }
    /// ```
    pub fn running(&self) -> bool {
        self.lock().status == Status::Running
    }

    /// Whether it finished or was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let f = multiproc::executor::ThreadPoolExecutor::new(1)?.submit(|| ())?;
    /// f.result()?;
    /// assert!(f.done());
    /// # Ok(())
    /// # }
    /// ```
    pub fn done(&self) -> bool {
        matches!(self.lock().status, Status::Finished | Status::Cancelled)
    }

    /// Waits until it is done or `deadline`; whether it is done.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.lock();
        while !matches!(state.status, Status::Finished | Status::Cancelled) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            state = self.inner.done.wait(state, deadline);
        }
        true
    }

    /// Runs `callback` when the task is done — at once, on this thread, if
    /// it is done already. A panicking callback is contained and reported
    /// on stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let f = multiproc::executor::ThreadPoolExecutor::new(1)?.submit(|| 5)?;
    /// f.result()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// f.add_done_callback(move |f| tx.send(f.done()).unwrap());
    /// assert!(rx.recv().unwrap()); // ran at once: it was done
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future<R>) + Send + 'static) {
        {
            let mut state = self.lock();
            if !matches!(state.status, Status::Finished | Status::Cancelled) {
                state.callbacks.push(Box::new(callback));
                return;
            }
        }
        self.run_callback(Box::new(callback));
    }

    /// Registers `listener` to fire at completion; `false` if already done.
    pub(crate) fn listen(&self, listener: &Arc<Listener>) -> bool {
        let mut state = self.lock();
        if matches!(state.status, Status::Finished | Status::Cancelled) {
            return false;
        }
        state.listeners.push(listener.clone());
        true
    }

    /// Takes the value out (for a sole owner that reads it once).
    /// Whether it is done; if not, `cx`'s task is woken when it is.
    pub(crate) fn poll_done(&self, cx: &Context<'_>) -> bool {
        let mut state = self.lock();
        let done = matches!(state.status, Status::Finished | Status::Cancelled);
        if !done {
            state.wakers.push(cx.waker().clone());
        }
        done
    }

    pub(crate) fn take_result(&self) -> Result<R> {
        let mut state = self.lock();
        match state.status {
            Status::Cancelled => Err(Error::Cancelled),
            _ => state
                .result
                .take()
                .unwrap_or_else(|| Err(Error::Usage("a future read before it was done".into()))),
        }
    }

    /// Whether it is done with an error (or cancelled).
    pub(crate) fn failed(&self) -> bool {
        let state = self.lock();
        state.status == Status::Cancelled || matches!(state.result, Some(Err(_)))
    }
}

impl<R: Clone> Future<R> {
    fn outcome(&self) -> Result<R> {
        let state = self.lock();
        match (&state.status, &state.result) {
            (Status::Cancelled, _) => Err(Error::Cancelled),
            (_, Some(result)) => result.clone(),
            _ => Err(Error::Usage("a future read before it was done".into())),
        }
    }

    /// Waits for the task and returns a clone of its value (the guide's
    /// `result()`).
    ///
    /// # Errors
    /// [`Error::Cancelled`], or the task's own failure (a panic is
    /// [`Error::Panicked`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let f = multiproc::executor::ThreadPoolExecutor::new(1)?.submit(|| "ok".to_string())?;
    /// assert_eq!(f.result()?, "ok");
    /// assert_eq!(f.result()?, "ok"); // again
    /// # Ok(())
    /// # }
    /// ```
    pub fn result(&self) -> Result<R> {
        self.wait_until(None);
        self.outcome()
    }

    /// Like [`result`](Future::result), giving up after `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`]; else as [`result`](Future::result).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(1)?;
    /// let f = pool.submit(|| std::thread::sleep(std::time::Duration::from_millis(200)))?;
    /// let r = f.result_timeout(std::time::Duration::from_millis(1));
    /// assert!(matches!(r, Err(multiproc::Error::Timeout(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<R> {
        if !self.wait_until(crate::deadline::after(timeout)) {
            return Err(Error::Timeout(timeout));
        }
        self.outcome()
    }

    /// Waits for the task and returns its error, if it failed (the guide's
    /// `exception()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(1)?;
    /// let f = pool.submit(|| -> u8 { panic!("oops") })?;
    /// assert!(matches!(f.error(), Some(multiproc::Error::Panicked { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn error(&self) -> Option<Error> {
        self.wait_until(None);
        self.outcome().err()
    }
}

impl<R> Future<R> {
    /// Waits at most `timeout` for the task and returns its error, if it
    /// failed: the guide's `exception(timeout)`. `Ok(None)` when the task
    /// succeeded, `Ok(Some(e))` with its failure (a panic is
    /// [`Error::Panicked`]).
    ///
    /// Unlike [`error`](Future::error), which reports a cancelled task as
    /// `Some(Error::Cancelled)`, this returns cancellation as the call's own
    /// error, as Python's `exception()` raises `CancelledError`.
    ///
    /// # Errors
    /// [`Error::Timeout`] when the task is not done in time;
    /// [`Error::Cancelled`] when it was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::executor::ThreadPoolExecutor::new(1)?;
    /// let ok = pool.submit(|| 1)?;
    /// assert!(ok.error_timeout(Duration::from_secs(60))?.is_none());
    /// let bad = pool.submit(|| -> u8 { panic!("oops") })?;
    /// let e = bad.error_timeout(Duration::from_secs(60))?;
    /// assert!(matches!(e, Some(multiproc::Error::Panicked { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn error_timeout(&self, timeout: Duration) -> Result<Option<Error>> {
        if !self.wait_until(crate::deadline::after(timeout)) {
            return Err(Error::Timeout(timeout));
        }
        let state = self.lock();
        match (&state.status, &state.result) {
            (Status::Cancelled, _) => Err(Error::Cancelled),
            (_, Some(Ok(_))) => Ok(None),
            (_, Some(Err(e))) => Ok(Some(e.clone())),
            (_, None) => Err(Error::Usage("a future read before it was done".into())),
        }
    }
}

impl<R: Clone> std::future::Future for Future<R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        if self.poll_done(cx) {
            Poll::Ready(self.outcome())
        } else {
            Poll::Pending
        }
    }
}
