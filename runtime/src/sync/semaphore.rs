//! [`Semaphore`] and [`BoundedSemaphore`]: a futex counter, and a bound.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::word;
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::sys::{self};

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

travels!(Semaphore);

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
