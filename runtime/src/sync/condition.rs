//! [`Condition`]: its own lock and a notification counter.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{word, LockResult};
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::sys::{self, LockedSlice};

/// Where a condition keeps its notification counter (after the mutex).
const SEQ: usize = 48;

/// A condition variable with its own lock — the guide's `Condition`:
/// waiters release the lock while they wait for a `notify`.
///
/// As with every condition variable, a wait may return without a notify;
/// [`wait_while`](Condition::wait_while) re-checks a predicate for you.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::Value;
/// use multiproc::sync::Condition;
///
/// #[process_fn]
/// fn stage_two(cond: Condition, stage: Value<u32>) -> u32 {
///     let guard = cond.acquire().unwrap();
///     let guard = cond.wait_while(guard, || stage.get().unwrap() < 1).unwrap();
///     drop(guard);
///     stage.get().unwrap()
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let cond = Condition::new()?;
/// let stage = Value::new(0u32)?;
/// let mut p = Process::builder().start(stage_two, (cond.clone(), stage.clone()))?;
/// {
///     let _held = cond.acquire().unwrap();
///     stage.set(1)?;
///     cond.notify_all();
/// }
/// assert_eq!(p.join()?, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Condition {
    seg: Arc<Segment>,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Condition")
    }
}

/// Whether a timed wait on a [`Condition`] ran out of time — what
/// [`Condition::wait_timeout`] and [`Condition::wait_timeout_while`] give
/// back with the guard, as `std::sync::WaitTimeoutResult` does.
///
/// # Examples
///
/// ```
/// let c = multiproc::sync::Condition::new().unwrap();
/// let g = c.acquire().unwrap();
/// let (_g, r) = c.wait_timeout(g, std::time::Duration::from_millis(1)).unwrap();
/// assert!(r.timed_out());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the time ran out: no notify woke the wait
    /// ([`wait_timeout`](Condition::wait_timeout)), or the condition still
    /// held ([`wait_timeout_while`](Condition::wait_timeout_while)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = multiproc::sync::Condition::new().unwrap();
    /// let g = c.acquire().unwrap();
    /// let (_g, r) = c.wait_timeout_while(g, Duration::from_secs(60), || false).unwrap();
    /// assert!(!r.timed_out());
    /// ```
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// The lock of a [`Condition`], held while alive.
#[must_use = "the lock is released when the guard is dropped"]
pub struct ConditionGuard<'a>(#[allow(dead_code)] LockedSlice<'a, u8>);

impl fmt::Debug for ConditionGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConditionGuard")
    }
}

impl Condition {
    /// A new condition with its own lock (which survives its holder's death).
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = multiproc::sync::Condition::new().unwrap();
    /// drop(c.acquire().unwrap());
    /// ```
    pub fn new() -> Result<Self> {
        let seg = Segment::new("multiproc-condition", 64)?;
        seg.region
            .init_mutex(0, false)
            .map_err(Error::io("initializing a shared lock"))?;
        Ok(Condition { seg })
    }

    fn lock_until(&self, deadline: Option<Instant>) -> LockResult<ConditionGuard<'_>> {
        self.seg
            .lock::<u8>(0, 0, deadline, false)
            .map(ConditionGuard)
            .map_err(|e| e.map(ConditionGuard))
    }

    /// Takes the condition's lock.
    ///
    /// # Errors
    /// [`LockError::OwnerDied`](crate::sync::LockError::OwnerDied) with the guard when a holder died.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = multiproc::sync::Condition::new().unwrap();
    /// let _held = c.acquire().unwrap();
    /// ```
    pub fn acquire(&self) -> LockResult<ConditionGuard<'_>> {
        self.lock_until(None)
    }

    fn wait_until<'a>(
        &'a self,
        guard: ConditionGuard<'a>,
        deadline: Option<Instant>,
    ) -> LockResult<(ConditionGuard<'a>, WaitTimeoutResult)> {
        let seq = word(&self.seg, SEQ);
        let seen = seq.load(Ordering::Acquire);
        drop(guard);
        // Only the futex's own timeout counts as timing out: a waiter that a
        // `notify(n)` did not pick sleeps on to its deadline, as in Python.
        // A wake-up with no notify behind it waits again.
        let timed_out = loop {
            if !sys::futex_wait(seq, seen, deadline) {
                break true;
            }
            if seq.load(Ordering::Acquire) != seen {
                break false;
            }
        };
        let result = WaitTimeoutResult(timed_out);
        // The lock is taken again even past the deadline, as Python does.
        self.lock_until(None)
            .map(|g| (g, result))
            .map_err(|e| e.map(|g| (g, result)))
    }

    /// Releases the lock, waits for a notify, takes the lock again.
    ///
    /// # Errors
    /// [`LockError::OwnerDied`](crate::sync::LockError::OwnerDied) when, meanwhile, a holder died.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = multiproc::sync::Condition::new().unwrap();
    /// let g = c.acquire().unwrap();
    /// let g = c.wait_timeout(g, std::time::Duration::from_millis(1)).unwrap();
    /// drop(g);
    /// ```
    pub fn wait<'a>(&'a self, guard: ConditionGuard<'a>) -> LockResult<ConditionGuard<'a>> {
        self.wait_until(guard, None)
            .map(|(g, _)| g)
            .map_err(|e| e.map(|(g, _)| g))
    }

    /// Like [`wait`](Condition::wait), waiting at most `timeout` for the
    /// notify (the lock is taken again either way). Also says whether the
    /// time ran out: Python's `wait(timeout)` returns
    /// `not result.timed_out()`.
    ///
    /// # Errors
    /// As [`wait`](Condition::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = multiproc::sync::Condition::new().unwrap();
    /// let g = c.acquire().unwrap();
    /// let (g, result) = c.wait_timeout(g, std::time::Duration::from_millis(1)).unwrap();
    /// assert!(result.timed_out()); // nobody notified
    /// drop(g);
    /// ```
    pub fn wait_timeout<'a>(
        &'a self,
        guard: ConditionGuard<'a>,
        timeout: Duration,
    ) -> LockResult<(ConditionGuard<'a>, WaitTimeoutResult)> {
        self.wait_until(guard, crate::deadline::after(timeout))
    }

    /// Waits while `condition()` holds (the guide's `wait_for`, inverted as
    /// Rust's `Condvar::wait_while` is).
    ///
    /// # Errors
    /// As [`wait`](Condition::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = multiproc::sync::Condition::new().unwrap();
    /// let g = c.acquire().unwrap();
    /// let _g = c.wait_while(g, || false).unwrap(); // nothing to wait for
    /// ```
    pub fn wait_while<'a>(
        &'a self,
        mut guard: ConditionGuard<'a>,
        mut condition: impl FnMut() -> bool,
    ) -> LockResult<ConditionGuard<'a>> {
        while condition() {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Waits while `condition()` holds, at most `timeout` in all (the
    /// guide's `wait_for(predicate, timeout)`, inverted as Rust's
    /// `Condvar::wait_timeout_while` is). The result has timed out when
    /// `condition()` still held at the end; Python's `wait_for` returns
    /// `not result.timed_out()`. The condition is checked with the lock
    /// held, first before any wait.
    ///
    /// # Errors
    /// As [`wait`](Condition::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = multiproc::sync::Condition::new().unwrap();
    /// let g = c.acquire().unwrap();
    /// let (g, r) = c.wait_timeout_while(g, Duration::from_millis(5), || true).unwrap();
    /// assert!(r.timed_out()); // it never stopped holding
    /// let (_g, r) = c.wait_timeout_while(g, Duration::from_secs(60), || false).unwrap();
    /// assert!(!r.timed_out()); // nothing to wait for
    /// ```
    pub fn wait_timeout_while<'a>(
        &'a self,
        mut guard: ConditionGuard<'a>,
        timeout: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> LockResult<(ConditionGuard<'a>, WaitTimeoutResult)> {
        let deadline = crate::deadline::after_or_far(timeout);
        loop {
            if !condition() {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            if Instant::now() >= deadline {
                return Ok((guard, WaitTimeoutResult(true)));
            }
            guard = self.wait_until(guard, Some(deadline))?.0;
        }
    }

    /// Wakes up to `n` waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// multiproc::sync::Condition::new().unwrap().notify(1);
    /// ```
    pub fn notify(&self, n: u32) {
        let seq = word(&self.seg, SEQ);
        seq.fetch_add(1, Ordering::AcqRel);
        sys::futex_wake(seq, i32::try_from(n).unwrap_or(i32::MAX));
    }

    /// Wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// multiproc::sync::Condition::new().unwrap().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.notify(u32::MAX);
    }
}

travels!(Condition);
