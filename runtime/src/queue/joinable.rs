//! [`JoinableQueue`]: a [`Queue`] that counts unfinished tasks.

use std::fmt;
use std::marker::PhantomData;

use std::sync::atomic::Ordering;

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

use crate::sys;

use super::*;

/// A [`Queue`] that also counts unfinished tasks — the guide's
/// `JoinableQueue`: each `put` adds a task, each [`task_done`] finishes
/// one, and [`join`] waits until all are done.
///
/// [`task_done`]: JoinableQueue::task_done
/// [`join`]: JoinableQueue::join
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::queue::JoinableQueue;
///
/// #[process_fn]
/// fn consumer(q: JoinableQueue<u32>) {
///     while let Ok(item) = q.get() {
///         let _ = item * 2;
///         q.task_done().unwrap();
///     }
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let q = JoinableQueue::unbounded()?;
/// let worker = Process::builder().daemon(true).start(consumer, (q.clone(),))?;
/// for i in 0..10 {
///     q.put(i)?;
/// }
/// q.join_timeout(std::time::Duration::from_secs(60))?; // every item done
/// worker.kill()?;
/// # Ok(())
/// # }
/// ```
pub struct JoinableQueue<T>(Queue<T>);

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue(self.0.clone())
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableQueue").field(&self.0).finish()
    }
}

impl<T> std::ops::Deref for JoinableQueue<T> {
    type Target = Queue<T>;

    fn deref(&self) -> &Queue<T> {
        &self.0
    }
}

impl<T: Serialize + DeserializeOwned> JoinableQueue<T> {
    /// A joinable queue of at most `maxsize` items.
    ///
    /// # Errors
    /// As [`Queue::bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::bounded(4)?;
    /// # drop(q);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Self> {
        let Queue { inner, .. } = Queue::<T>::bounded(maxsize)?;
        Ok(JoinableQueue(Queue {
            inner,
            joinable: true,
            _items: PhantomData,
        }))
    }

    /// A joinable queue without a size limit.
    ///
    /// # Errors
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.put(1)?;
    /// q.get()?;
    /// q.task_done()?;
    /// q.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Ok(JoinableQueue(Queue::with_max(0, true)?))
    }

    /// Marks one task finished (the guide's `task_done()`).
    ///
    /// # Errors
    /// [`Error::Usage`] when called more times than items were put (the
    /// guide's `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// assert!(q.task_done().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn task_done(&self) -> Result<()> {
        let unfinished = self.0.inner.unfinished();
        let mut u = unfinished.load(Ordering::Acquire);
        loop {
            if u == 0 {
                return Err(Error::Usage("task_done() called more times than items were put".into()));
            }
            match unfinished.compare_exchange(u, u - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => u = now,
            }
        }
        if u == 1 {
            sys::futex_wake(unfinished, i32::MAX);
        }
        Ok(())
    }

    fn join_deadline(&self, deadline: Option<Instant>) -> bool {
        let unfinished = self.0.inner.unfinished();
        loop {
            let u = unfinished.load(Ordering::Acquire);
            if u == 0 {
                return true;
            }
            if !sys::futex_wait(unfinished, u, deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
        }
    }

    /// Waits until every item put has been marked done (the guide's
    /// `join()`).
    ///
    /// # Errors
    /// None today; the `Result` leaves room for a dead-peer report.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.join()?; // nothing was put
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&self) -> Result<()> {
        self.join_deadline(None);
        Ok(())
    }

    /// Like [`join`](JoinableQueue::join), giving up after `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] when tasks are still unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.put(1)?;
    /// let r = q.join_timeout(std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Timeout(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        if self.join_deadline(crate::deadline::after(timeout)) {
            Ok(())
        } else {
            Err(Error::Timeout(timeout))
        }
    }
}

impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Queue::deserialize(deserializer).map(JoinableQueue)
    }
}
