//! The guide's synchronization primitives across processes (and threads):
//! [`Lock`], [`RLock`], [`Condition`], [`Event`], [`Semaphore`],
//! [`BoundedSemaphore`], [`Barrier`].
//!
//! Each lives in a small shared `memfd` segment. `Lock` and `RLock` are
//! process-shared futex locks whose word names the holder's thread
//! (`sys/lock.rs`), so a holder that died is found: the next
//! acquirer — one already blocked included — gets
//! [`LockError::OwnerDied`] carrying the guard, repairs what the dead
//! holder left half-done, and goes on; once that guard is released the
//! lock is healthy again. `Event` and the semaphores are futex counters.
//!
//! A semaphore permit held by a process that dies is not given back: the
//! semaphore has one permit fewer from then on; a waiter with a timeout is
//! never stuck past it.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::segment::Segment;
pub use crate::segment::{LockError, LockResult};
use crate::sys::{self, LockedSlice};

macro_rules! robust_lock {
    ($(#[$doc:meta])* $name:ident, $guard:ident, $recursive:expr, $seg_name:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            /// The segment whose mutex, at offset 0, this lock is.
            pub(crate) seg: Arc<Segment>,
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))
            }
        }

        /// Held while alive; released on drop. Not `Send`: a lock is
        /// released by the thread that acquired it.
        #[must_use = "the lock is released when the guard is dropped"]
        pub struct $guard<'a>(#[allow(dead_code)] LockedSlice<'a, u8>);

        impl fmt::Debug for $guard<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($guard))
            }
        }

        impl $name {
            /// A new, unlocked lock.
            ///
            /// # Errors
            /// [`Error::Io`] when the shared memory cannot be made.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let lock = multiproc::sync::", stringify!($name), "::new().unwrap();")]
            /// drop(lock.acquire().unwrap());
            /// ```
            pub fn new() -> Result<Self> {
                let seg = Segment::new($seg_name, 64)?;
                seg.region.init_mutex(0, $recursive).map_err(Error::io("initializing a shared lock"))?;
                Ok($name { seg })
            }

            #[inline]
            fn acquire_with(&self, deadline: Option<Instant>, try_only: bool) -> LockResult<$guard<'_>> {
                self.seg.lock::<u8>(0, 0, deadline, try_only).map($guard).map_err(|e| e.map($guard))
            }

            /// Waits for the lock (the guide's `acquire()`; `with lock:`
            /// is the guard's scope).
            ///
            /// # Errors
            /// [`LockError::OwnerDied`] with the guard when the holder died.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let lock = multiproc::sync::", stringify!($name), "::new().unwrap();")]
            /// {
            ///     let _held = lock.acquire().unwrap();
            /// } // released here
            /// ```
            #[inline]
            pub fn acquire(&self) -> LockResult<$guard<'_>> {
                self.acquire_with(None, false)
            }

            /// Waits at most `timeout` (the guide's `acquire(timeout=…)`).
            ///
            /// # Errors
            /// [`LockError::Timeout`]; else as `acquire`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let lock = multiproc::sync::", stringify!($name), "::new().unwrap();")]
            /// assert!(lock.acquire_timeout(std::time::Duration::from_secs(1)).is_ok());
            /// ```
            pub fn acquire_timeout(&self, timeout: Duration) -> LockResult<$guard<'_>> {
                self.acquire_with(crate::deadline::after(timeout), false)
            }

            /// Takes the lock only if it is free now (`acquire(False)`).
            ///
            /// # Errors
            /// [`LockError::Timeout`] when it is held; else as `acquire`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let lock = multiproc::sync::", stringify!($name), "::new().unwrap();")]
            /// assert!(lock.try_acquire().is_ok());
            /// ```
            pub fn try_acquire(&self) -> LockResult<$guard<'_>> {
                self.acquire_with(None, true)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                self.seg.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let seg = Segment::deserialize(d)?;
                if seg.region.len() < 64 {
                    return Err(serde::de::Error::custom("a lock's segment is too small"));
                }
                Ok($name { seg: Arc::new(seg) })
            }
        }
    };
}

robust_lock!(
    /// A lock shared by processes and threads — the guide's `Lock`, and a
    /// holder's death is reported, never a deadlock.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    /// use multiproc::sync::Lock;
    ///
    /// #[process_fn]
    /// fn report(lock: Lock, who: u32) {
    ///     let _held = lock.acquire().unwrap();
    ///     println!("worker {who} holds the lock");
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let lock = Lock::new()?;
    /// let mut children: Vec<_> = (0..3)
    ///     .map(|i| Process::builder().start(report, (lock.clone(), i)))
    ///     .collect::<Result<_, _>>()?;
    /// for c in &mut children {
    ///     c.join()?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    Lock,
    LockGuard,
    false,
    "multiproc-lock"
);

robust_lock!(
    /// A re-entrant lock — the guide's `RLock`: the thread that holds it may
    /// acquire it again; it is free once every guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let lock = multiproc::sync::RLock::new()?;
    /// let outer = lock.acquire().unwrap();
    /// let inner = lock.acquire().unwrap(); // no deadlock
    /// drop((inner, outer));
    /// # Ok(())
    /// # }
    /// ```
    RLock,
    RLockGuard,
    true,
    "multiproc-rlock"
);

/// A flag that processes wait on — the guide's `Event`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::sync::Event;
///
/// #[process_fn]
/// fn waiter(e: Event) -> bool {
///     e.wait_timeout(std::time::Duration::from_secs(60))
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let e = Event::new()?;
/// let mut p = Process::builder().start(waiter, (e.clone(),))?;
/// e.set();
/// assert!(p.join()?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Event {
    seg: Arc<Segment>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}

fn word(seg: &Segment, offset: usize) -> &AtomicU32 {
    seg.region.atomic_u32(offset).expect("segments are at least 64 bytes")
}

impl Event {
    /// A new event, not set.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!multiproc::sync::Event::new().unwrap().is_set());
    /// ```
    pub fn new() -> Result<Self> {
        Ok(Event {
            seg: Segment::new("multiproc-event", 64)?,
        })
    }

    /// Sets the flag and wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn set(&self) {
        let w = word(&self.seg, 0);
        w.store(1, Ordering::Release);
        sys::futex_wake(w, i32::MAX);
    }

    /// Clears the flag.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        word(&self.seg, 0).store(0, Ordering::Release);
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!multiproc::sync::Event::new().unwrap().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        word(&self.seg, 0).load(Ordering::Acquire) != 0
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let w = word(&self.seg, 0);
        loop {
            if w.load(Ordering::Acquire) != 0 {
                return true;
            }
            if !sys::futex_wait(w, 0, deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                return w.load(Ordering::Acquire) != 0;
            }
        }
    }

    /// Waits until the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// e.set();
    /// e.wait();
    /// ```
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`; returns whether the flag was set.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// assert!(!e.wait_timeout(std::time::Duration::from_millis(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(crate::deadline::after(timeout))
    }
}

/// A counter of permits — the guide's `Semaphore(n)`.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let slots = multiproc::sync::Semaphore::new(2)?;
/// let a = slots.acquire();
/// let b = slots.acquire();
/// assert!(slots.try_acquire().is_none()); // both permits taken
/// drop(a);
/// assert!(slots.try_acquire().is_some());
/// # drop(b);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Semaphore {
    seg: Arc<Segment>,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("value", &self.value()).finish()
    }
}

/// A permit of a [`Semaphore`], given back on drop.
#[must_use = "a permit guard dropped at once gives the permit back at once: keep it (`let _permit = sem.acquire();`) for as long as the permit is needed"]
pub struct SemaphoreGuard<'a>(&'a Semaphore);

impl SemaphoreGuard<'_> {
    /// Keeps the permit taken without a guard, for Python's unpaired style
    /// (`sem.acquire()` … `sem.release()`): give it back later with
    /// [`Semaphore::add_permit`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = multiproc::sync::Semaphore::new(1).unwrap();
    /// sem.acquire().forget();
    /// assert_eq!(sem.value(), 0);
    /// sem.add_permit().unwrap();
    /// assert_eq!(sem.value(), 1);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemaphoreGuard")
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.give_back();
    }
}

const VALUE: usize = 0;
const BOUND: usize = 4;

impl Semaphore {
    fn with(value: u32, bound: u32) -> Result<Self> {
        let seg = Segment::new("multiproc-semaphore", 64)?;
        word(&seg, VALUE).store(value, Ordering::Release);
        word(&seg, BOUND).store(bound, Ordering::Release);
        Ok(Semaphore { seg })
    }

    /// A semaphore with `permits` permits.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::sync::Semaphore::new(3).unwrap().value(), 3);
    /// ```
    pub fn new(permits: u32) -> Result<Self> {
        Self::with(permits, 0)
    }

    /// The permits free now (approximate, like Python's `get_value`).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = multiproc::sync::Semaphore::new(1).unwrap();
    /// let _p = s.acquire();
    /// assert_eq!(s.value(), 0);
    /// ```
    pub fn value(&self) -> u32 {
        word(&self.seg, VALUE).load(Ordering::Acquire)
    }

    fn acquire_until(&self, deadline: Option<Instant>, try_only: bool) -> Option<SemaphoreGuard<'_>> {
        let w = word(&self.seg, VALUE);
        loop {
            let v = w.load(Ordering::Acquire);
            if v > 0 {
                if w.compare_exchange(v, v - 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return Some(SemaphoreGuard(self));
                }
                continue;
            }
            if try_only {
                return None;
            }
            if !sys::futex_wait(w, 0, deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
        }
    }

    /// Waits for a permit.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = multiproc::sync::Semaphore::new(1).unwrap();
    /// let _permit = s.acquire();
    /// ```
    pub fn acquire(&self) -> SemaphoreGuard<'_> {
        loop {
            if let Some(g) = self.acquire_until(None, false) {
                return g;
            }
        }
    }

    /// Waits at most `timeout` for a permit.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = multiproc::sync::Semaphore::new(0).unwrap();
    /// assert!(s.acquire_timeout(std::time::Duration::from_millis(5)).is_none());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
        self.acquire_until(crate::deadline::after(timeout), false)
    }

    /// Takes a permit only if one is free now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(multiproc::sync::Semaphore::new(1).unwrap().try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.acquire_until(None, true)
    }

    /// Adds a permit, without a guard: the guide's `release()`. A permit
    /// taken with a guard is given back by dropping the guard; this is for
    /// one kept with [`SemaphoreGuard::forget`], or to raise the count.
    ///
    /// # Errors
    /// [`Error::Usage`] for a [`BoundedSemaphore`] released past its bound
    /// (the guide's `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = multiproc::sync::Semaphore::new(0).unwrap();
    /// s.add_permit().unwrap();
    /// assert_eq!(s.value(), 1);
    /// ```
    pub fn add_permit(&self) -> Result<()> {
        self.give_back()
    }

    /// The old name of [`add_permit`](Semaphore::add_permit). The literal
    /// port of Python's `sem.acquire(); …; sem.release()` compiled and
    /// limited nothing (the guard dropped at once gave the permit back,
    /// then `release` added another), so this name now warns.
    ///
    /// # Errors
    /// As [`add_permit`](Semaphore::add_permit).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = multiproc::sync::Semaphore::new(0).unwrap();
    /// #[allow(deprecated)]
    /// s.release().unwrap();
    /// assert_eq!(s.value(), 1);
    /// ```
    #[deprecated(
        note = "dropping the guard from `acquire()` gives the permit back; to add a permit without a guard, call `add_permit()`"
    )]
    pub fn release(&self) -> Result<()> {
        self.give_back()
    }

    fn give_back(&self) -> Result<()> {
        let w = word(&self.seg, VALUE);
        let bound = word(&self.seg, BOUND).load(Ordering::Acquire);
        let mut v = w.load(Ordering::Acquire);
        loop {
            if bound > 0 && v >= bound {
                return Err(Error::Usage(
                    "a BoundedSemaphore was released more times than acquired".into(),
                ));
            }
            match w.compare_exchange(v, v + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => v = now,
            }
        }
        sys::futex_wake(w, 1);
        Ok(())
    }
}

/// A [`Semaphore`] that refuses to be released past its initial value —
/// the guide's `BoundedSemaphore`.
///
/// # Examples
///
/// ```
/// let s = multiproc::sync::BoundedSemaphore::new(1).unwrap();
/// assert!(s.add_permit().is_err()); // never acquired
/// ```
#[derive(Clone, Debug)]
pub struct BoundedSemaphore(Semaphore);

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = multiproc::sync::BoundedSemaphore::new(2).unwrap();
    /// assert_eq!(s.value(), 2);
    /// ```
    pub fn new(permits: u32) -> Result<Self> {
        Ok(BoundedSemaphore(Semaphore::with(permits, permits)?))
    }
}

impl std::ops::Deref for BoundedSemaphore {
    type Target = Semaphore;

    fn deref(&self) -> &Semaphore {
        &self.0
    }
}

macro_rules! travels {
    ($($ty:ident),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                self.seg.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let seg = Segment::deserialize(d)?;
                if seg.region.len() < 64 {
                    return Err(serde::de::Error::custom("a segment is too small"));
                }
                Ok($ty { seg: Arc::new(seg) })
            }
        }
    )*};
}

travels!(Event, Semaphore);

impl Serialize for BoundedSemaphore {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for BoundedSemaphore {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Semaphore::deserialize(d).map(BoundedSemaphore)
    }
}

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
    /// [`LockError::OwnerDied`] with the guard when a holder died.
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
    /// [`LockError::OwnerDied`] when, meanwhile, a holder died.
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

/// Barrier words: parties, arrived, generation, broken; then, for a
/// waiter that slept through more events than the generation word's
/// history holds, the event counts of the last [`BREAKS`] breaks (a ring)
/// and the number of breaks so far.
const PARTIES: usize = 0;
const ARRIVED: usize = 4;
const GENERATION: usize = 8;
const BROKEN: usize = 12;
const BREAK_RING: usize = 16;
const BREAKS: usize = 4;
const BREAK_COUNT: usize = BREAK_RING + 4 * BREAKS;

/// Bits of a barrier's generation word that remember how its last events
/// ended; the bits above count the events (a pass, an abort, a reset).
const HISTORY: u32 = 8;

/// The generation word after one more event: the count goes up, and the
/// event's kind (`broke`: an abort or a reset) enters the history at bit 0.
/// The arrival word holds the round's tag (the low 16 bits of its event
/// count) above the count of parties that arrived in it: an arrival is one
/// compare-and-swap that fails if the round ended meanwhile, so no party
/// counts itself into a round it does not wait in.
const TAG_SHIFT: u32 = 16;
const COUNT_MASK: u32 = (1 << TAG_SHIFT) - 1;

/// The tag of the round that generation word `generation` names.
fn round_tag(generation: u32) -> u32 {
    (generation >> HISTORY) & COUNT_MASK
}

fn next_generation(current: u32, broke: bool) -> u32 {
    let count = (current >> HISTORY).wrapping_add(1);
    let history = (current << 1) & ((1 << HISTORY) - 1);
    (count << HISTORY) | history | u32::from(broke)
}

/// Whether the first event after generation word `seen` was a break, read
/// from the later word `now`, or — for a waiter that slept through more
/// events than the history holds — from `breaks`, the event counts of the
/// latest breaks. When every one of those is later than that first event,
/// the ring has lost it: told the barrier broke (it cannot tell).
fn first_event_broke(seen: u32, now: u32, breaks: [u32; BREAKS]) -> bool {
    let counts = u32::MAX >> HISTORY;
    let events = (now >> HISTORY).wrapping_sub(seen >> HISTORY) & counts;
    if events == 0 {
        return true;
    }
    if events <= HISTORY {
        return (now >> (events - 1)) & 1 == 1;
    }
    // Each break's place after `seen`: 1 is the first event.
    let place = |b: u32| b.wrapping_sub(seen >> HISTORY) & counts;
    breaks.contains(&(((seen >> HISTORY) + 1) & counts)) || breaks.iter().all(|&b| (2..=events).contains(&place(b)))
}

/// A meeting point for a fixed number of parties — the guide's `Barrier`.
/// Each `wait` returns once all parties have called it, with an index
/// unique among them (0 for the last to arrive).
///
/// A party whose wait times out breaks the barrier, and every waiter gets
/// [`Error::BrokenBarrier`]; so does a party that dies before it arrives,
/// once the others' timeouts run out.
///
/// Python's `Barrier(parties, action, timeout)` is
/// [`Barrier::builder`]: an action run by one party when the barrier
/// trips, and a default timeout for every [`wait`](Barrier::wait).
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::sync::Barrier;
///
/// #[process_fn]
/// fn meet(b: Barrier) -> u32 {
///     b.wait_timeout(std::time::Duration::from_secs(60)).unwrap()
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let b = Barrier::new(2)?;
/// let mut p = Process::builder().start(meet, (b.clone(),))?;
/// let mine = b.wait()?;
/// let theirs = p.join()?;
/// assert_eq!(mine + theirs, 1); // indices 0 and 1
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Barrier {
    seg: Arc<Segment>,
    /// Run by the party that trips the barrier.
    action: Option<Action>,
    /// How long a plain [`wait`](Barrier::wait) waits.
    timeout: Option<Duration>,
}

/// A barrier's action.
#[derive(Clone)]
enum Action {
    /// A `#[process_fn]` with no arguments, by name: it travels with the
    /// barrier, and every process finds it in its own registry.
    Entry(String),
    /// A closure: for this process's handles only (threads, and `fork`
    /// closures, which copy the handle in memory).
    Closure(Arc<dyn Fn() + Send + Sync>),
}

impl Action {
    /// Runs the action; its panic (or an entry that cannot be found) is
    /// the error.
    fn run(&self) -> Result<()> {
        let panicked = |payload: Box<dyn std::any::Any + Send>| Error::Panicked {
            pid: std::process::id() as i32,
            message: crate::unwind::panic_message(&*payload),
            location: None,
        };
        match self {
            Action::Entry(name) => {
                let entry = crate::entry::lookup(name)?;
                let args = crate::codec::encode(&())?;
                std::panic::catch_unwind(|| (entry.run)(&args)).map_err(panicked)??;
                Ok(())
            }
            Action::Closure(f) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f())).map_err(panicked),
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match &self.action {
            None => None,
            Some(Action::Entry(name)) => Some(name.as_str()),
            Some(Action::Closure(_)) => Some("<closure>"),
        };
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("action", &action)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Builds a [`Barrier`] with an action and a default timeout — Python's
/// `Barrier(parties, action=None, timeout=None)`. Made by
/// [`Barrier::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # fn main() -> multiproc::Result<()> {
/// let b = multiproc::sync::Barrier::builder(1)
///     .timeout(Duration::from_secs(60))
///     .closure_action(|| println!("tripped"))
///     .build()?;
/// assert_eq!(b.wait()?, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()`"]
pub struct BarrierBuilder {
    parties: u32,
    action: Option<Action>,
    timeout: Option<Duration>,
}

impl fmt::Debug for BarrierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierBuilder")
            .field("parties", &self.parties)
            .field("action", &self.action.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BarrierBuilder {
    /// Runs `f` — a `#[process_fn]` with no arguments — in the party that
    /// trips the barrier, before any party is released. The barrier
    /// carries the entry's name, so the action works in every child that
    /// the barrier is passed to, whatever its start method. What the entry
    /// returns is dropped.
    ///
    /// If the action panics, the barrier breaks: the waiting parties get
    /// [`Error::BrokenBarrier`], and the party that ran it gets
    /// [`Error::Panicked`] (Python re-raises the action's exception there).
    /// Under `panic = "abort"` the panic ends the process instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    /// use multiproc::sync::Barrier;
    ///
    /// #[process_fn]
    /// fn announce() {
    ///     println!("everyone is here");
    /// }
    ///
    /// #[process_fn]
    /// fn meet(b: Barrier) -> u32 {
    ///     b.wait().unwrap()
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let b = Barrier::builder(2).action(announce).build()?;
    /// let mut p = Process::builder().start(meet, (b.clone(),))?;
    /// let mine = b.wait()?; // one of the two parties prints, once
    /// assert_eq!(mine + p.join()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn action<F: crate::ProcessFn<Args = ()>>(mut self, f: F) -> Self {
        self.action = Some(Action::Entry(f.name().to_string()));
        self
    }

    /// Runs the closure `f` in the party that trips the barrier, as
    /// [`action`](BarrierBuilder::action) does — for parties that are
    /// threads of this process (or children started with
    /// [`fork`](crate::process::ProcessBuilder::fork), which copy the
    /// barrier in memory). A closure cannot travel: passing the barrier to
    /// a child as an argument fails with [`Error::Codec`]; use a
    /// `#[process_fn]` [`action`](BarrierBuilder::action) there.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// # fn main() -> multiproc::Result<()> {
    /// let trips = Arc::new(AtomicU32::new(0));
    /// let t = trips.clone();
    /// let b = multiproc::sync::Barrier::builder(2)
    ///     .closure_action(move || {
    ///         t.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// let other = b.clone();
    /// let thread = std::thread::spawn(move || other.wait());
    /// b.wait()?;
    /// thread.join().unwrap()?;
    /// assert_eq!(trips.load(Ordering::SeqCst), 1); // one party ran it
    /// # Ok(())
    /// # }
    /// ```
    pub fn closure_action(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.action = Some(Action::Closure(Arc::new(f)));
        self
    }

    /// How long [`wait`](Barrier::wait) waits before it breaks the
    /// barrier (Python's `timeout`); [`wait_timeout`](Barrier::wait_timeout)
    /// still takes its own. Without one, `wait` waits for ever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let b = multiproc::sync::Barrier::builder(2).timeout(Duration::from_millis(5)).build()?;
    /// assert!(matches!(b.wait(), Err(multiproc::Error::BrokenBarrier)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Makes the barrier.
    ///
    /// # Errors
    /// As [`Barrier::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::builder(3).build().unwrap();
    /// assert_eq!(b.parties(), 3);
    /// ```
    pub fn build(self) -> Result<Barrier> {
        let mut barrier = Barrier::new(self.parties)?;
        barrier.action = self.action;
        barrier.timeout = self.timeout;
        Ok(barrier)
    }
}

impl Barrier {
    /// A barrier for `parties` parties.
    ///
    /// # Errors
    /// [`Error::Usage`] for zero parties; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::sync::Barrier::new(3).unwrap().parties(), 3);
    /// ```
    pub fn new(parties: u32) -> Result<Self> {
        if parties == 0 {
            return Err(Error::Usage("a barrier needs at least one party".into()));
        }
        let seg = Segment::new("multiproc-barrier", 64)?;
        word(&seg, PARTIES).store(parties, Ordering::Release);
        Ok(Barrier {
            seg,
            action: None,
            timeout: None,
        })
    }

    /// A builder for a barrier with an action or a default timeout —
    /// Python's `Barrier(parties, action=None, timeout=None)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let b = multiproc::sync::Barrier::builder(2).timeout(Duration::from_secs(60)).build()?;
    /// assert_eq!(b.parties(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(parties: u32) -> BarrierBuilder {
        BarrierBuilder {
            parties,
            action: None,
            timeout: None,
        }
    }

    /// The number of parties.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::sync::Barrier::new(1).unwrap().parties(), 1);
    /// ```
    pub fn parties(&self) -> u32 {
        word(&self.seg, PARTIES).load(Ordering::Acquire)
    }

    /// How many parties wait in the current round (Python's `n_waiting`).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// assert_eq!(b.n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> u32 {
        word(&self.seg, ARRIVED).load(Ordering::Acquire) & COUNT_MASK
    }

    /// Whether the barrier is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// b.abort();
    /// assert!(b.broken());
    /// ```
    pub fn broken(&self) -> bool {
        word(&self.seg, BROKEN).load(Ordering::Acquire) != 0
    }

    /// Breaks the barrier: every waiter, now and later, gets
    /// [`Error::BrokenBarrier`] until [`reset`](Barrier::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// b.abort();
    /// assert!(matches!(b.wait(), Err(multiproc::Error::BrokenBarrier)));
    /// ```
    pub fn abort(&self) {
        word(&self.seg, BROKEN).store(1, Ordering::Release);
        self.end_generation(None, true);
    }

    /// Ends the current generation (or only `expected`, if given) as a
    /// pass or a break, and wakes every waiter; whether it was this call
    /// that ended it.
    fn end_generation(&self, expected: Option<u32>, broke: bool) -> bool {
        let generation = word(&self.seg, GENERATION);
        let arrivals = word(&self.seg, ARRIVED);
        let mut current = generation.load(Ordering::Acquire);
        loop {
            if expected.is_some_and(|e| e != current) {
                return false;
            }
            let next = next_generation(current, broke);
            if broke {
                // Before the generation moves: whoever sees it sees this.
                let n = word(&self.seg, BREAK_COUNT).fetch_add(1, Ordering::AcqRel) as usize;
                word(&self.seg, BREAK_RING + 4 * (n % BREAKS)).store(next >> HISTORY, Ordering::Release);
            }
            // The next round starts with no arrival, tagged before the
            // generation moves (arrivals wait for the two to agree). Only
            // a count of `current`'s round is cleared: one of the next
            // round's, there already, stays.
            let mut seen = arrivals.load(Ordering::Acquire);
            while seen >> TAG_SHIFT == round_tag(current) {
                match arrivals.compare_exchange(seen, round_tag(next) << TAG_SHIFT, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
            match generation.compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        sys::futex_wake(generation, i32::MAX);
        true
    }

    /// Makes a broken barrier usable again (waiters of the current round
    /// get [`Error::BrokenBarrier`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(1).unwrap();
    /// b.abort();
    /// b.reset();
    /// assert_eq!(b.wait().unwrap(), 0);
    /// ```
    pub fn reset(&self) {
        word(&self.seg, BROKEN).store(0, Ordering::Release);
        self.end_generation(None, true);
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<u32> {
        let parties = self.parties();
        let generation = word(&self.seg, GENERATION);
        let arrivals = word(&self.seg, ARRIVED);
        let timed_out = || deadline.is_some_and(|d| Instant::now() >= d);
        let (gen, arrived) = loop {
            if self.broken() {
                return Err(Error::BrokenBarrier);
            }
            let gen = generation.load(Ordering::Acquire);
            let seen = arrivals.load(Ordering::Acquire);
            if seen >> TAG_SHIFT != round_tag(gen) {
                // A round is ending between its two words: a moment.
                if timed_out() {
                    self.abort();
                    return Err(Error::BrokenBarrier);
                }
                std::thread::yield_now();
                continue;
            }
            if seen & COUNT_MASK >= parties {
                // Full: its last party runs the action. Wait for the
                // next round, counted in nowhere meanwhile.
                if !sys::futex_wait(generation, gen, deadline)
                    && timed_out()
                    && generation.load(Ordering::Acquire) == gen
                {
                    self.abort();
                    return Err(Error::BrokenBarrier);
                }
                continue;
            }
            if arrivals
                .compare_exchange(seen, seen + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                break (gen, (seen & COUNT_MASK) + 1);
            }
        };
        if arrived == parties {
            return self.trip(gen);
        }
        loop {
            let now = generation.load(Ordering::Acquire);
            if now != gen {
                // The event that ended *this* round decides, whatever
                // happened after it (an abort right after a pass).
                let breaks = std::array::from_fn(|i| word(&self.seg, BREAK_RING + 4 * i).load(Ordering::Acquire));
                return if first_event_broke(gen, now, breaks) {
                    Err(Error::BrokenBarrier)
                } else {
                    Ok(parties - arrived)
                };
            }
            if !sys::futex_wait(generation, gen, deadline) && timed_out() {
                if generation.load(Ordering::Acquire) != gen {
                    continue;
                }
                self.abort();
                return Err(Error::BrokenBarrier);
            }
        }
    }

    /// The last party of round `gen` arrived: runs the action, then ends
    /// the round as a pass and wakes the others.
    fn trip(&self, gen: u32) -> Result<u32> {
        // Not a round that an abort or a reset has ended already.
        if self.broken() || word(&self.seg, GENERATION).load(Ordering::Acquire) != gen {
            return Err(Error::BrokenBarrier);
        }
        if let Some(action) = &self.action {
            // As in Python, the action runs before any party is released.
            if let Err(e) = action.run() {
                // A failed action breaks the barrier: the others get
                // `BrokenBarrier`, this party the action's own failure.
                self.abort();
                return Err(e);
            }
        }
        // Unless an abort or a reset ended this round first.
        if self.end_generation(Some(gen), false) {
            Ok(0)
        } else {
            Err(Error::BrokenBarrier)
        }
    }

    /// Waits until every party has arrived; returns this party's index.
    /// A barrier built with a [`timeout`](BarrierBuilder::timeout) waits
    /// that long at most, as [`wait_timeout`](Barrier::wait_timeout) does.
    ///
    /// # Errors
    /// [`Error::BrokenBarrier`] when the barrier is or becomes broken (by
    /// the default timeout too); the action's failure, for the party that
    /// ran it (see [`BarrierBuilder::action`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::sync::Barrier::new(1).unwrap().wait().unwrap(), 0);
    /// ```
    pub fn wait(&self) -> Result<u32> {
        self.wait_until(self.timeout.and_then(crate::deadline::after))
    }

    /// Like [`wait`](Barrier::wait), breaking the barrier after `timeout`
    /// (instead of the barrier's default timeout, if it has one).
    ///
    /// # Errors
    /// [`Error::BrokenBarrier`], on timeout too; else as
    /// [`wait`](Barrier::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// let r = b.wait_timeout(std::time::Duration::from_millis(5));
    /// assert!(matches!(r, Err(multiproc::Error::BrokenBarrier)));
    /// assert!(b.broken());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32> {
        self.wait_until(crate::deadline::after(timeout))
    }
}

travels!(Condition);

/// A barrier travels as its shared memory, its action's entry name and its
/// default timeout. One whose action is a closure does not travel: that
/// is a codec error, not a barrier that silently lost its action.
impl Serialize for Barrier {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let action = match &self.action {
            None => None,
            Some(Action::Entry(name)) => Some(name.as_str()),
            Some(Action::Closure(_)) => {
                return Err(serde::ser::Error::custom(
                    "a Barrier whose action is a closure cannot be sent to another process; \
                     give it a #[process_fn] action instead",
                ))
            }
        };
        (&*self.seg, action, self.timeout).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Barrier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (seg, action, timeout) = <(Segment, Option<String>, Option<Duration>)>::deserialize(d)?;
        if seg.region.len() < 64 {
            return Err(serde::de::Error::custom("a segment is too small"));
        }
        Ok(Barrier {
            seg: Arc::new(seg),
            action: action.map(Action::Entry),
            timeout,
        })
    }
}
