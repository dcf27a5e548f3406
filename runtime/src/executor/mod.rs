//! The guide's `concurrent.futures`: executors that return [`Future`]s,
//! and [`wait`] / [`as_completed`] over futures of any executors.
//!
//! - `mod.rs` — [`wait`], [`as_completed`], and what both executors share;
//! - `thread.rs` — [`ThreadPoolExecutor`];
//! - `process.rs` — [`ProcessPoolExecutor`], over a [`Pool`](crate::Pool);
//! - `future.rs` — [`Future`].

mod future;
mod process;
mod thread;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use self::future::Future;
use self::future::Listener;
pub use self::process::{ProcessPoolBuilder, ProcessPoolExecutor};
pub use self::thread::{ThreadPoolBuilder, ThreadPoolExecutor};
use crate::error::{Error, Result};

/// A submitted future, as `shutdown(cancel_futures)` sees it.
trait Queued: Send {
    fn cancel_if_pending(&self);
    fn finished(&self) -> bool;
}

impl<R: Send> Queued for Future<R> {
    fn cancel_if_pending(&self) {
        self.cancel();
    }

    fn finished(&self) -> bool {
        self.done()
    }
}

/// The futures an executor handed out, so that `shutdown(cancel_futures)`
/// can cancel the queued ones; pruned of finished ones as the list doubles.
#[derive(Default)]
struct Submitted(Mutex<Vec<Box<dyn Queued>>>);

impl Submitted {
    fn push<R: Send + 'static>(&self, future: &Future<R>) {
        let mut list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if list.len() >= 64 && list.len().is_power_of_two() {
            list.retain(|f| !f.finished());
        }
        list.push(Box::new(future.clone()));
    }

    fn cancel_all(&self) {
        for queued in self.0.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            queued.cancel_if_pending();
        }
    }
}

/// When [`wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any future is done.
    FirstCompleted,
    /// As soon as any future fails (or all are done).
    FirstException,
    /// When all are done.
    AllCompleted,
}

/// A future of any result type, for [`wait`] and [`as_completed`]: every
/// [`Future`], and a reference to one (so `&futures` works, and futures of
/// different result types go together as `&dyn AnyFuture`).
pub trait AnyFuture: Send + Sync {
    /// Whether it is done.
    fn is_done(&self) -> bool;
    /// Whether it is done with an error (or cancelled).
    fn is_failed(&self) -> bool;
    #[doc(hidden)]
    fn listen(&self, listener: &Arc<Listener>) -> bool;
    #[doc(hidden)]
    fn identity(&self) -> usize;
}

impl<R: Send> AnyFuture for Future<R> {
    fn is_done(&self) -> bool {
        self.done()
    }

    fn is_failed(&self) -> bool {
        self.failed()
    }

    fn listen(&self, listener: &Arc<Listener>) -> bool {
        Future::listen(self, listener)
    }

    fn identity(&self) -> usize {
        Future::identity(self)
    }
}

impl<T: AnyFuture + ?Sized> AnyFuture for &T {
    fn is_done(&self) -> bool {
        (**self).is_done()
    }

    fn is_failed(&self) -> bool {
        (**self).is_failed()
    }

    fn listen(&self, listener: &Arc<Listener>) -> bool {
        (**self).listen(listener)
    }

    fn identity(&self) -> usize {
        (**self).identity()
    }
}

/// The futures, each once (Python's `wait` and `as_completed` take a set).
fn distinct<F: AnyFuture>(futures: impl IntoIterator<Item = F>) -> Vec<F> {
    let mut seen = HashSet::new();
    futures.into_iter().filter(|f| seen.insert(f.identity())).collect()
}

/// Waits on futures of any executors (the guide's `wait`); returns the
/// done ones and the others. `futures` is any collection of futures or of
/// references to them; a future given twice counts once.
///
/// # Examples
///
/// ```
/// use multiproc::executor::{wait, AnyFuture, ReturnWhen, ThreadPoolExecutor};
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = ThreadPoolExecutor::new(2)?;
/// let futures = vec![pool.submit(|| 1)?, pool.submit(|| 2)?];
/// let (done, not_done) = wait(&futures, None, ReturnWhen::AllCompleted);
/// assert_eq!((done.len(), not_done.len()), (2, 0));
/// assert_eq!(done[0].result()? + done[1].result()?, 3);
///
/// // Futures of different result types, together.
/// let a = pool.submit(|| 1)?;
/// let b = pool.submit(|| "two")?;
/// let (done, _) = wait([&a as &dyn AnyFuture, &b], None, ReturnWhen::AllCompleted);
/// assert_eq!(done.len(), 2);
/// # Ok(())
/// # }
/// ```
pub fn wait<F: AnyFuture>(
    futures: impl IntoIterator<Item = F>,
    timeout: Option<Duration>,
    when: ReturnWhen,
) -> (Vec<F>, Vec<F>) {
    let futures = distinct(futures);
    let deadline = timeout.and_then(crate::deadline::after);
    let listener = Arc::new(Listener::default());
    for f in &futures {
        f.listen(&listener);
    }
    loop {
        let seen = listener.count();
        let done = futures.iter().filter(|f| f.is_done()).count();
        let finished = match when {
            ReturnWhen::AllCompleted => done == futures.len(),
            ReturnWhen::FirstCompleted => done > 0 || futures.is_empty(),
            ReturnWhen::FirstException => done == futures.len() || futures.iter().any(|f| f.is_failed()),
        };
        if finished || deadline.is_some_and(|d| Instant::now() >= d) {
            return futures.into_iter().partition(|f| f.is_done());
        }
        listener.wait_change(seen, deadline);
    }
}

/// Yields `futures` in the order they complete (the guide's
/// `as_completed`), each once however often it was given; once `timeout`
/// is up, one [`Error::Pending`] saying how many are left of how many, and
/// then nothing.
///
/// # Examples
///
/// ```
/// use multiproc::executor::{as_completed, ThreadPoolExecutor};
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = ThreadPoolExecutor::new(2)?;
/// let slow = pool.submit(|| std::thread::sleep(std::time::Duration::from_millis(100)))?;
/// let fast = pool.submit(|| ())?;
/// let futures = vec![slow.clone(), fast.clone(), fast.clone()];
/// let order: Vec<_> = as_completed(&futures, None).map(Result::unwrap).collect();
/// assert_eq!(order, vec![&fast, &slow]);
/// # Ok(())
/// # }
/// ```
pub fn as_completed<F: AnyFuture>(
    futures: impl IntoIterator<Item = F>,
    timeout: Option<Duration>,
) -> impl Iterator<Item = Result<F>> {
    let mut left = distinct(futures);
    let total = left.len();
    let deadline = timeout.and_then(crate::deadline::after);
    let listener = Arc::new(Listener::default());
    for f in &left {
        f.listen(&listener);
    }
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished || left.is_empty() {
            return None;
        }
        loop {
            let seen = listener.count();
            if let Some(i) = left.iter().position(|f| f.is_done()) {
                return Some(Ok(left.remove(i)));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                finished = true;
                return Some(Err(Error::Pending {
                    pending: left.len(),
                    total,
                }));
            }
            listener.wait_change(seen, deadline);
        }
    })
}
