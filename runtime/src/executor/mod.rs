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

/// A future of any result type, for [`wait`] and [`as_completed`].
pub trait AnyFuture: Send + Sync {
    /// Whether it is done.
    fn is_done(&self) -> bool;
    /// Whether it is done with an error (or cancelled).
    fn is_failed(&self) -> bool;
    #[doc(hidden)]
    fn listen(&self, listener: &Arc<Listener>) -> bool;
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
}

/// Waits on futures of any executors (the guide's `wait`); returns the
/// indices of the done ones and of the others.
///
/// # Examples
///
/// ```
/// use multiproc::executor::{wait, ReturnWhen, ThreadPoolExecutor};
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = ThreadPoolExecutor::new(2)?;
/// let a = pool.submit(|| 1)?;
/// let b = pool.submit(|| "two")?;
/// let (done, not_done) = wait(&[&a, &b], None, ReturnWhen::AllCompleted);
/// assert_eq!((done.len(), not_done.len()), (2, 0));
/// # Ok(())
/// # }
/// ```
pub fn wait(futures: &[&dyn AnyFuture], timeout: Option<Duration>, when: ReturnWhen) -> (Vec<usize>, Vec<usize>) {
    let deadline = timeout.map(|t| Instant::now() + t);
    let listener = Arc::new(Listener::default());
    for f in futures {
        f.listen(&listener);
    }
    loop {
        let seen = listener.count();
        let (done, not_done): (Vec<usize>, Vec<usize>) = (0..futures.len()).partition(|&i| futures[i].is_done());
        let finished = match when {
            ReturnWhen::AllCompleted => not_done.is_empty(),
            ReturnWhen::FirstCompleted => !done.is_empty() || futures.is_empty(),
            ReturnWhen::FirstException => not_done.is_empty() || done.iter().any(|&i| futures[i].is_failed()),
        };
        if finished || deadline.is_some_and(|d| Instant::now() >= d) {
            return (done, not_done);
        }
        listener.wait_change(seen, deadline);
    }
}

/// Yields the indices of `futures` in the order they complete (the guide's
/// `as_completed`); once `timeout` is up, one [`Error::Pending`] saying how
/// many are left, and then nothing.
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
/// let order: Vec<usize> = as_completed(&[&slow, &fast], None).map(Result::unwrap).collect();
/// assert_eq!(order, vec![1, 0]);
/// # Ok(())
/// # }
/// ```
pub fn as_completed<'a>(
    futures: &'a [&'a dyn AnyFuture],
    timeout: Option<Duration>,
) -> impl Iterator<Item = Result<usize>> + 'a {
    let deadline = timeout.map(|t| Instant::now() + t);
    let listener = Arc::new(Listener::default());
    for f in futures {
        f.listen(&listener);
    }
    let mut yielded: HashSet<usize> = HashSet::new();
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished || yielded.len() == futures.len() {
            return None;
        }
        loop {
            let seen = listener.count();
            if let Some(i) = (0..futures.len()).find(|i| !yielded.contains(i) && futures[*i].is_done()) {
                yielded.insert(i);
                return Some(Ok(i));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                finished = true;
                return Some(Err(Error::Pending {
                    pending: futures.len() - yielded.len(),
                }));
            }
            listener.wait_change(seen, deadline);
        }
    })
}
