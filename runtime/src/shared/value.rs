//! [`Value`]: one `T` behind its lock (its own, or a [`ValueLock`] that
//! several share).

use std::fmt;
use std::marker::PhantomData;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{checked_value_segment, wrap, Pod, DATA};
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::sync::{Lock, LockError, LockResult, RLock};
use crate::sys::LockedSlice;

/// One value of plain data `T` shared between processes — the guide's
/// `Value(typecode, value)`, typed. `get` and `set` take its lock; for a
/// read-modify-write, hold the guard of [`lock`](Value::lock).
///
/// `T` is any [`Pod`] type: the guide's type codes (`i8`…`u64`, `f32`,
/// `f64`, `u8` for `c`) and `#[repr(C)]` structs that derive it (see the
/// [module](crate::shared)'s example). Each value has a lock of its own, or one
/// given to [`with_lock`](Value::with_lock) that several share.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::Value;
///
/// #[process_fn]
/// fn add(counter: Value<i64>, n: i64) {
///     for _ in 0..n {
///         *counter.lock().unwrap() += 1;
///     }
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let counter = Value::new(0i64)?;
/// let mut a = Process::builder().start(add, (counter.clone(), 1000))?;
/// let mut b = Process::builder().start(add, (counter.clone(), 1000))?;
/// a.join()?;
/// b.join()?;
/// assert_eq!(counter.get()?, 2000); // exact: every += held the lock
/// # Ok(())
/// # }
/// ```
pub struct Value<T> {
    seg: Arc<Segment>,
    /// The lock given to `with_lock`; `None`: the mutex at the head of
    /// `seg`.
    lock: Option<ValueLock>,
    _value: PhantomData<T>,
}

impl<T> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value {
            seg: self.seg.clone(),
            lock: self.lock.clone(),
            _value: PhantomData,
        }
    }
}

/// The lock that guards a [`Value`]: a [`Lock`] or an [`RLock`] — what
/// [`Value::with_lock`] takes and [`Value::get_lock`] gives back.
///
/// With an `RLock`, a thread that holds it may still call the value's
/// `get`, `set` and `lock`: several values sharing it can be updated
/// together. One guard of a value at a time, though: while this thread
/// holds a [`ValueGuard`] of a value, its `lock`, `get` and `set` fail
/// with [`Error::Usage`] (a second guard would be a second `&mut` to the
/// value). With a `Lock` they would wait for themselves, as in Python.
///
/// # Examples
///
/// ```
/// use multiproc::shared::{Value, ValueLock};
/// use multiproc::sync::RLock;
///
/// # fn main() -> multiproc::Result<()> {
/// let lock = RLock::new()?;
/// let (a, b) = (Value::with_lock(10i32, lock.clone())?, Value::with_lock(0i32, lock.clone())?);
/// {
///     // A transfer between two values, atomic for every process.
///     let _both = lock.acquire()?;
///     a.set(a.get()? - 3)?;
///     b.set(b.get()? + 3)?;
/// }
/// assert_eq!((a.get()?, b.get()?), (7, 3));
/// assert!(matches!(a.get_lock(), ValueLock::RLock(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ValueLock {
    /// A plain lock.
    Lock(Lock),
    /// A re-entrant lock.
    RLock(RLock),
}

impl From<Lock> for ValueLock {
    fn from(lock: Lock) -> Self {
        ValueLock::Lock(lock)
    }
}

impl From<RLock> for ValueLock {
    fn from(lock: RLock) -> Self {
        ValueLock::RLock(lock)
    }
}

/// Held while alive: the [`ValueLock`] is released on drop.
#[must_use = "the lock is released when the guard is dropped"]
pub struct ValueLockGuard<'a>(#[allow(dead_code)] LockedSlice<'a, u8>);

impl fmt::Debug for ValueLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueLockGuard")
    }
}

impl ValueLock {
    fn segment(&self) -> &Segment {
        match self {
            ValueLock::Lock(l) => &l.seg,
            ValueLock::RLock(l) => &l.seg,
        }
    }

    fn acquire_with(&self, deadline: Option<Instant>, try_only: bool) -> LockResult<ValueLockGuard<'_>> {
        let r = self.segment().lock::<u8>(0, 0, deadline, try_only);
        r.map(ValueLockGuard).map_err(|e| e.map(ValueLockGuard))
    }

    /// Waits for the lock, as [`Lock::acquire`].
    ///
    /// # Errors
    /// [`LockError::OwnerDied`] with the guard when the holder died.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(1u8)?;
    /// let lock = v.get_lock();
    /// let held = lock.acquire()?;
    /// assert!(v.try_lock().is_err()); // the value's own lock is held
    /// drop(held);
    /// # Ok(())
    /// # }
    /// ```
    pub fn acquire(&self) -> LockResult<ValueLockGuard<'_>> {
        self.acquire_with(None, false)
    }

    /// Waits at most `timeout`, as [`Lock::acquire_timeout`].
    ///
    /// # Errors
    /// [`LockError::Timeout`]; else as [`acquire`](ValueLock::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(1u8)?;
    /// assert!(v.get_lock().acquire_timeout(std::time::Duration::from_secs(1)).is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> LockResult<ValueLockGuard<'_>> {
        self.acquire_with(crate::deadline::after(timeout), false)
    }

    /// Takes the lock only if it is free now, as [`Lock::try_acquire`].
    ///
    /// # Errors
    /// [`LockError::Timeout`] when it is held; else as
    /// [`acquire`](ValueLock::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(1u8)?;
    /// let _held = v.lock().unwrap();
    /// assert!(v.get_lock().try_acquire().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_acquire(&self) -> LockResult<ValueLockGuard<'_>> {
        self.acquire_with(None, true)
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value").finish_non_exhaustive()
    }
}

/// The guard of a [`Value`]: derefs to the value while the lock is held.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let v = multiproc::shared::Value::new(2u32)?;
/// let mut guard = v.lock().unwrap();
/// *guard += 1;
/// drop(guard);
/// assert_eq!(v.get()?, 3);
/// # Ok(())
/// # }
/// ```
pub struct ValueGuard<'a, T> {
    slice: LockedSlice<'a, T>,
    /// Under an `RLock`: the value's "a guard is out" word, cleared on drop
    /// (before the lock is released).
    out: Option<&'a AtomicU32>,
}

impl<T> Drop for ValueGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(out) = self.out {
            out.store(0, Ordering::Release);
        }
    }
}

impl<T> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueGuard")
    }
}

impl<T> std::ops::Deref for ValueGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.slice[0]
    }
}

impl<T> std::ops::DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.slice[0]
    }
}

impl<T: Pod> Value<T> {
    /// A new shared value.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(3.5f64)?;
    /// assert_eq!(v.get()?, 3.5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(value: T) -> Result<Self> {
        let seg = Segment::new("multiproc-value", DATA + std::mem::size_of::<T>())?;
        seg.region
            .init_mutex(0, false)
            .map_err(Error::io("initializing a shared lock"))?;
        let v = Value {
            seg,
            lock: None,
            _value: PhantomData,
        };
        v.set(value)?;
        Ok(v)
    }

    /// A new shared value guarded by `lock`, a [`Lock`] or [`RLock`] that
    /// other values (or other code) may share — the guide's
    /// `Value(typecode, value, lock=lock)`. The lock travels with the value
    /// to a child.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    /// use multiproc::shared::Value;
    /// use multiproc::sync::Lock;
    ///
    /// #[process_fn]
    /// fn count(hits: Value<u32>, bytes: Value<u64>) {
    ///     for _ in 0..100 {
    ///         // One lock guards both: a reader never sees one updated alone.
    ///         *hits.lock().unwrap() += 1;
    ///     }
    ///     *bytes.lock().unwrap() += 100;
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let lock = Lock::new()?;
    /// let hits = Value::with_lock(0u32, lock.clone())?;
    /// let bytes = Value::with_lock(0u64, lock.clone())?;
    /// Process::builder().start(count, (hits.clone(), bytes.clone()))?.join()?;
    /// assert_eq!((hits.get()?, bytes.get()?), (100, 100));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_lock(value: T, lock: impl Into<ValueLock>) -> Result<Self> {
        let v = Value {
            seg: Segment::new("multiproc-value", DATA + std::mem::size_of::<T>())?,
            lock: Some(lock.into()),
            _value: PhantomData,
        };
        v.set(value)?;
        Ok(v)
    }

    /// The lock that guards the value — the guide's `get_lock()`: the one
    /// given to [`with_lock`](Value::with_lock), or the value's own (a
    /// [`Lock`]). Holding it keeps every other process and thread from the
    /// value; with a `Lock`, the holder itself must not call `get`, `set` or
    /// `lock` meanwhile (they would wait for it), with an `RLock` it may.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// use multiproc::shared::{Value, ValueLock};
    /// let v = Value::new(5i32)?;
    /// let lock = v.get_lock();
    /// assert!(matches!(lock, ValueLock::Lock(_)));
    /// let held = lock.acquire()?;
    /// assert!(v.try_lock().is_err());
    /// drop(held);
    /// assert_eq!(v.get()?, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_lock(&self) -> ValueLock {
        match &self.lock {
            Some(lock) => lock.clone(),
            None => ValueLock::Lock(Lock { seg: self.seg.clone() }),
        }
    }

    fn acquire(&self, deadline: Option<Instant>, try_only: bool) -> LockResult<ValueGuard<'_, T>> {
        let r = match &self.lock {
            None => self.seg.lock::<T>(DATA, 1, deadline, try_only),
            Some(lock) => lock.segment().lock_data_of::<T>(&self.seg, DATA, 1, deadline, try_only),
        };
        if !matches!(self.lock, Some(ValueLock::RLock(_))) {
            return wrap(r, |slice| ValueGuard { slice, out: None });
        }
        // An `RLock` lets its holder acquire again: a second guard would be
        // a second `&mut` to the same value. The value's own lock word
        // (unused under a lock given by the user) says a guard is out; only
        // the lock's holder reads or writes it.
        let out = self.seg.region.atomic_u32(0).expect("segments are at least 64 bytes");
        let owner_died = matches!(r, Err(LockError::OwnerDied(_)));
        let slice = match r {
            Ok(slice) => slice,
            Err(LockError::OwnerDied(slice)) => {
                out.store(0, Ordering::Release); // the dead holder's guard is gone
                slice
            }
            Err(LockError::Timeout) => return Err(LockError::Timeout),
            Err(LockError::Failed(e)) => return Err(LockError::Failed(e)),
        };
        if out.swap(1, Ordering::AcqRel) == 1 {
            drop(slice); // one level of the RLock back
            return Err(LockError::Failed(Error::Usage(
                "this thread already holds a guard of this value (through its RLock): use that one".into(),
            )));
        }
        let guard = ValueGuard { slice, out: Some(out) };
        if owner_died {
            Err(LockError::OwnerDied(guard))
        } else {
            Ok(guard)
        }
    }

    /// Takes the value's lock only if it is free now — the guide's
    /// `get_lock().acquire(False)`.
    ///
    /// # Errors
    /// [`LockError::Timeout`] when it is held; else as
    /// [`lock`](Value::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(1u32)?;
    /// let held = v.lock().unwrap();
    /// assert!(matches!(v.try_lock(), Err(multiproc::sync::LockError::Timeout)));
    /// drop(held);
    /// *v.try_lock().unwrap() += 1;
    /// assert_eq!(v.get()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_lock(&self) -> LockResult<ValueGuard<'_, T>> {
        self.acquire(None, true)
    }

    /// Holds the value's lock; the guard derefs to the value.
    ///
    /// # Errors
    /// [`LockError::OwnerDied`] (with the guard) when a process died
    /// holding it; the value may be half-updated.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(1u32)?;
    /// *v.lock().unwrap() *= 10;
    /// assert_eq!(v.get()?, 10);
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock(&self) -> LockResult<ValueGuard<'_, T>> {
        self.acquire(None, false)
    }

    /// Like [`lock`](Value::lock), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`LockError::Timeout`]; else as [`lock`](Value::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(1u8)?;
    /// let g = v.lock_timeout(std::time::Duration::from_secs(1)).unwrap();
    /// assert_eq!(*g, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> LockResult<ValueGuard<'_, T>> {
        self.acquire(crate::deadline::after(timeout), false)
    }

    /// The current value (under the lock; a dead holder's value is read
    /// as it was left).
    ///
    /// # Errors
    /// [`Error::Io`] when locking fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert_eq!(multiproc::shared::Value::new(7i8)?.get()?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self) -> Result<T> {
        match self.lock() {
            Ok(g) | Err(LockError::OwnerDied(g)) => Ok(*g),
            Err(LockError::Failed(e)) => Err(e),
            Err(LockError::Timeout) => Err(Error::Usage("the value's lock timed out with no deadline".into())),
        }
    }

    /// Replaces the value (under the lock).
    ///
    /// # Errors
    /// [`Error::Io`] when locking fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let v = multiproc::shared::Value::new(0u16)?;
    /// v.set(9)?;
    /// assert_eq!(v.get()?, 9);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set(&self, value: T) -> Result<()> {
        match self.lock() {
            Ok(mut g) | Err(LockError::OwnerDied(mut g)) => *g = value,
            Err(LockError::Failed(e)) => return Err(e),
            Err(LockError::Timeout) => return Err(Error::Usage("the value's lock timed out with no deadline".into())),
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ValueWireRef<'a> {
    seg: &'a Segment,
    lock: Option<&'a ValueLock>,
}

#[derive(Deserialize)]
struct ValueWire {
    seg: Segment,
    lock: Option<ValueLock>,
}

impl<T> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ValueWireRef {
            seg: &self.seg,
            lock: self.lock.as_ref(),
        }
        .serialize(s)
    }
}

impl<'de, T: Pod> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let wire = ValueWire::deserialize(d)?;
        Ok(Value {
            seg: checked_value_segment::<T>(wire.seg).map_err(serde::de::Error::custom)?,
            lock: wire.lock,
            _value: PhantomData,
        })
    }
}
