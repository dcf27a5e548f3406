//! The guide's shared state in memory that several processes map:
//! [`Value`] and [`Array`] of plain data, each behind a lock that survives
//! the death of its holder, a raw [`SharedMemory`] block (anonymous or
//! named), and a [`ShareableList`] of plain values in one.
//!
//! The memory is an anonymous `memfd` mapped shared: the kernel frees it
//! with its last descriptor and mapping, so nothing is left in `/dev/shm`
//! whatever happens. Handing a `Value` or `Array` to a child (an argument of
//! a `#[process_fn]`) hands over that descriptor. The one exception is a
//! [`SharedMemory`] made by name, which unrelated processes open as a file
//! of `/dev/shm` (see there).
//!
//! Their element type is plain data: [`Pod`]. This module re-exports it,
//! [`Zeroable`] and their derives (with the [`bytemuck`] crate they come
//! from), so a struct of your own needs no dependency of yours:
//!
//! ```
//! use multiproc::shared::{Pod, Value, Zeroable};
//!
//! #[derive(Clone, Copy, Pod, Zeroable)]
//! #[bytemuck(crate = "multiproc::shared::bytemuck")]
//! #[repr(C)]
//! struct Point {
//!     x: f64,
//!     y: f64,
//! }
//!
//! # fn main() -> multiproc::Result<()> {
//! let p = Value::new(Point { x: 1.0, y: 2.0 })?;
//! p.lock().unwrap().y += 1.0;
//! assert_eq!(p.get()?.y, 3.0);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The crate [`Pod`] and [`Zeroable`] come from, for their derives'
/// `#[bytemuck(crate = "multiproc::shared::bytemuck")]` (see the module's
/// example).
pub use bytemuck;
/// Plain data, which any bytes are a valid value of: what [`Value`] and
/// [`Array`] hold. Derive it (and [`Zeroable`]) for a `#[repr(C)]` struct,
/// as the module's example does.
pub use bytemuck::Pod;
/// The all-zero value is valid: needed by [`Pod`]; derive both.
pub use bytemuck::Zeroable;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

mod list;
use crate::segment::Segment;
use crate::sync::{Lock, LockError, LockResult, RLock};
use crate::sys::LockedSlice;
pub use list::ShareableList;

/// Where the data starts in a segment: after the mutex (and the length).
const DATA: usize = 64;
/// Where an array keeps its length.
const LEN: usize = 48;

/// One value of plain data `T` shared between processes — the guide's
/// `Value(typecode, value)`, typed. `get` and `set` take its lock; for a
/// read-modify-write, hold the guard of [`lock`](Value::lock).
///
/// `T` is any [`Pod`] type: the guide's type codes (`i8`…`u64`, `f32`,
/// `f64`, `u8` for `c`) and `#[repr(C)]` structs that derive it (see the
/// [module](self)'s example). Each value has a lock of its own, or one
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

fn wrap<'a, T, G>(r: LockResult<LockedSlice<'a, T>>, f: impl Fn(LockedSlice<'a, T>) -> G) -> LockResult<G> {
    r.map(&f).map_err(|e| e.map(f))
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

/// A fixed-length array of plain data `T` shared between processes — the
/// guide's `Array(typecode, size_or_initializer)`, typed; every access goes
/// through its lock.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::Array;
///
/// #[process_fn]
/// fn negate(a: Array<i32>) {
///     for x in a.lock().unwrap().iter_mut() {
///         *x = -*x;
///     }
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let a = Array::from_slice(&[1, 2, 3])?;
/// Process::builder().start(negate, (a.clone(),))?.join()?;
/// assert_eq!(a.to_vec()?, vec![-1, -2, -3]);
/// # Ok(())
/// # }
/// ```
pub struct Array<T> {
    seg: Arc<Segment>,
    len: usize,
    _value: PhantomData<T>,
}

impl<T> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array {
            seg: self.seg.clone(),
            len: self.len,
            _value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array").field("len", &self.len).finish()
    }
}

/// The guard of an [`Array`]: derefs to the slice while the lock is held.
pub struct ArrayGuard<'a, T>(LockedSlice<'a, T>);

impl<T> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayGuard").field("len", &self.0.len()).finish()
    }
}

impl<T> std::ops::Deref for ArrayGuard<'_, T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> std::ops::DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: Pod> Array<T> {
    /// An array of `len` zeroed values.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let a = multiproc::shared::Array::<f64>::new(4)?;
    /// assert_eq!(a.to_vec()?, vec![0.0; 4]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(len: usize) -> Result<Self> {
        let bytes = std::mem::size_of::<T>()
            .checked_mul(len)
            .ok_or(Error::Usage("array too large".into()))?;
        let seg = Segment::new("multiproc-array", DATA + bytes.max(1))?;
        seg.region
            .init_mutex(0, false)
            .map_err(Error::io("initializing a shared lock"))?;
        if let Some(l) = seg.region.atomic_u64(LEN) {
            l.store(len as u64, std::sync::atomic::Ordering::Release);
        }
        Ok(Array {
            seg,
            len,
            _value: PhantomData,
        })
    }

    /// An array holding a copy of `values`.
    ///
    /// # Errors
    /// As [`new`](Array::new).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let a = multiproc::shared::Array::from_slice(b"abc")?;
    /// assert_eq!(a.len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_slice(values: &[T]) -> Result<Self> {
        let a = Self::new(values.len())?;
        a.guard(a.lock())?.copy_from_slice(values);
        Ok(a)
    }

    fn guard<'a>(&self, r: LockResult<ArrayGuard<'a, T>>) -> Result<ArrayGuard<'a, T>> {
        match r {
            Ok(g) => Ok(g),
            Err(e) => e.into_inner().ok_or(Error::Usage("the array's lock failed".into())),
        }
    }

    /// The number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert_eq!(multiproc::shared::Array::<u8>::new(5)?.len(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(multiproc::shared::Array::<u8>::new(0)?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Holds the array's lock; the guard derefs to the slice.
    ///
    /// # Errors
    /// [`LockError::OwnerDied`] (with the guard) when a process died
    /// holding it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let a = multiproc::shared::Array::from_slice(&[3u8, 1, 2])?;
    /// a.lock().unwrap().sort();
    /// assert_eq!(a.to_vec()?, vec![1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock(&self) -> LockResult<ArrayGuard<'_, T>> {
        wrap(self.seg.lock::<T>(DATA, self.len, None, false), ArrayGuard)
    }

    /// Like [`lock`](Array::lock), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`LockError::Timeout`]; else as [`lock`](Array::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let a = multiproc::shared::Array::<u8>::new(1)?;
    /// assert!(a.lock_timeout(std::time::Duration::from_secs(1)).is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> LockResult<ArrayGuard<'_, T>> {
        wrap(
            self.seg
                .lock::<T>(DATA, self.len, crate::deadline::after(timeout), false),
            ArrayGuard,
        )
    }

    /// A copy of the elements (under the lock).
    ///
    /// # Errors
    /// [`Error::Io`] when locking fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert_eq!(multiproc::shared::Array::from_slice(&[1i16])?.to_vec()?, vec![1]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_vec(&self) -> Result<Vec<T>> {
        Ok(self.guard(self.lock())?.to_vec())
    }
}

#[derive(Serialize)]
struct ArrayWireRef<'a> {
    seg: &'a Segment,
    len: u64,
}

#[derive(Deserialize)]
struct ArrayWire {
    seg: Segment,
    len: u64,
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

impl<T> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ArrayWireRef {
            seg: &self.seg,
            len: self.len as u64,
        }
        .serialize(s)
    }
}

impl<'de, T: Pod> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (seg, len) = array_segment::<T, D>(d)?;
        Ok(Array {
            seg,
            len,
            _value: PhantomData,
        })
    }
}

/// A raw block of bytes that several processes map — Python 3.8's
/// `shared_memory.SharedMemory`. Access is unsynchronized, as in Python:
/// pair it with a [`Lock`] when several processes write.
///
/// Two kinds, with one API:
///
/// - **anonymous** ([`new`](SharedMemory::new)): no name, and the kernel
///   frees it with its last user, so a crash leaves nothing in
///   `/dev/shm`. It reaches a child as an argument of a `#[process_fn]`.
/// - **named** ([`create`](SharedMemory::create) and
///   [`open`](SharedMemory::open)): a POSIX shared memory object,
///   `/dev/shm/NAME`, that unrelated processes attach to by name, as
///   Python's `SharedMemory(name, create=True, size=…)` and
///   `SharedMemory(name)`.
///
/// # Named blocks: trust and lifetime
///
/// - `create` never reuses a name: a taken one is
///   [`Error::SharedMemoryExists`], whoever took it. The object is made
///   readable and writable by its owner only (mode 0600).
/// - `open` trusts only what this user could have made with `create`: an
///   object owned by another user, one that gives any access to group or
///   others, or anything but a plain non-empty file is
///   [`Error::SharedMemoryRefused`]; a symbolic link under the name is
///   refused by the kernel.
/// - The creator removes the name when its last handle (in the process
///   that created it) is dropped, or at [`unlink`](SharedMemory::unlink).
///   Other processes keep the memory mapped until they drop their
///   handles; only the name goes. Handles in other processes never remove
///   it, so their crash leaves nothing behind.
/// - If the creator itself dies without dropping (SIGKILL, `abort`, a
///   `panic = "abort"` build), the name stays in `/dev/shm` until someone
///   removes it: [`SharedMemory::unlink_name`], or `rm /dev/shm/NAME`.
///   (Python has the same gap, and its resource tracker, a process of its
///   own, to warn about it.)
/// - Passed to a child as an argument, a named block travels like the
///   anonymous one (its descriptor), with its name; the child's handle is
///   not the creator's and does not remove the name on drop.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::SharedMemory;
///
/// #[process_fn]
/// fn write_hello(shm: SharedMemory) {
///     shm.write_at(0, b"hello").unwrap();
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let shm = SharedMemory::new(64)?;
/// Process::builder().start(write_hello, (shm.clone(),))?.join()?;
/// let mut buf = [0u8; 5];
/// shm.read_at(0, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok(())
/// # }
/// ```
///
/// By name, from a process that was given nothing but the name:
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::SharedMemory;
///
/// #[process_fn]
/// fn greet(name: String) -> multiproc::Result<()> {
///     SharedMemory::open(&name)?.write_at(0, b"hi")
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let name = format!("doc-greet-{}", std::process::id());
/// let shm = SharedMemory::create(&name, 16)?;
/// Process::builder().start(greet, (name.clone(),))?.join()??;
/// let mut buf = [0u8; 2];
/// shm.read_at(0, &mut buf)?;
/// assert_eq!(&buf, b"hi");
/// drop(shm); // the creator's last handle: the name is removed
/// assert!(matches!(SharedMemory::open(&name), Err(multiproc::Error::SharedMemoryNotFound(_))));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SharedMemory {
    seg: Arc<Segment>,
    /// `None`: anonymous.
    name: Option<Arc<ShmName>>,
}

/// The name of a named block, shared by the clones of one handle; the
/// creator's removes the name when the last clone goes.
struct ShmName {
    name: String,
    /// The object the name was given to, to recognise it before removing
    /// the name.
    id: crate::sys::shm::FileId,
    /// The pid of the process that created the block, in the creator's
    /// handles; `None` in every other. A forked child holds a copy of the
    /// creator's handle: it is told apart by its pid and removes nothing.
    creator: Option<i32>,
    /// Set by `unlink`: nothing left to remove.
    unlinked: std::sync::atomic::AtomicBool,
}

impl Drop for ShmName {
    fn drop(&mut self) {
        if self.creator == Some(crate::sys::getpid()) && !self.unlinked.load(Ordering::Relaxed) {
            // Best effort: a drop has no one to report to. Another object
            // under the name (ours was unlinked elsewhere and the name
            // taken again) is left alone.
            let _ = crate::sys::shm::unlink_if(&self.name, self.id);
        }
    }
}

/// The longest name: a file name's limit (`NAME_MAX`).
const MAX_NAME: usize = 255;

/// Checks a name for a named block: one file name under `/dev/shm`.
fn check_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_NAME {
        "is longer than 255 bytes"
    } else if name.contains('/') {
        "contains '/' (give the name without a leading slash)"
    } else if name.contains('\0') {
        "contains a NUL byte"
    } else if name == "." || name == ".." {
        "is not a file name"
    } else {
        return Ok(());
    };
    Err(Error::Usage(
        format!("the shared memory name {name:?} {problem}").into(),
    ))
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SharedMemory");
        if let Some(name) = self.name() {
            d.field("name", &name);
        }
        d.field("size", &self.size()).finish()
    }
}

impl SharedMemory {
    /// A zeroed anonymous block of `size` bytes.
    ///
    /// # Errors
    /// [`Error::Usage`] for size 0; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::SharedMemory::new(4096).unwrap().size(), 4096);
    /// ```
    pub fn new(size: usize) -> Result<Self> {
        if size == 0 {
            return Err(Error::Usage("shared memory needs at least one byte".into()));
        }
        Ok(SharedMemory {
            seg: Segment::new("multiproc-shared-memory", size)?,
            name: None,
        })
    }

    /// A zeroed block of `size` bytes named `name` (Python's
    /// `SharedMemory(name, create=True, size=size)`), which other
    /// processes of this user can [`open`](SharedMemory::open). The name
    /// is removed when this process drops its last handle to the block,
    /// or at [`unlink`](SharedMemory::unlink) (see the type's
    /// documentation for a creator that is killed).
    ///
    /// A name is one file name: not empty, at most 255 bytes, no `/` (the
    /// leading one of `shm_open` is added here).
    ///
    /// # Errors
    /// [`Error::SharedMemoryExists`] when the name is taken;
    /// [`Error::Usage`] for a bad name or size 0; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    /// use multiproc::Error;
    ///
    /// let name = format!("doc-create-{}", std::process::id());
    /// let shm = SharedMemory::create(&name, 100).unwrap();
    /// assert_eq!((shm.name(), shm.size()), (Some(name.as_str()), 100));
    /// assert!(matches!(SharedMemory::create(&name, 100), Err(Error::SharedMemoryExists(_))));
    /// assert!(matches!(SharedMemory::create("a/b", 100), Err(Error::Usage(_))));
    /// ```
    pub fn create(name: &str, size: usize) -> Result<Self> {
        check_name(name)?;
        if size == 0 {
            return Err(Error::Usage("shared memory needs at least one byte".into()));
        }
        let fd = crate::sys::shm::create(name, size).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::SharedMemoryExists(name.to_string()),
            _ => Error::io("creating named shared memory")(e),
        })?;
        let made = (|| {
            let id = crate::sys::shm::file_id(fd.as_fd()).map_err(Error::io("fstat"))?;
            Ok((Segment::from_fd(fd)?, id))
        })();
        let (seg, id) = match made {
            Ok(made) => made,
            Err(e) => {
                let _ = crate::sys::shm::unlink(name);
                return Err(e);
            }
        };
        Ok(SharedMemory {
            seg,
            name: Some(Arc::new(ShmName {
                name: name.to_string(),
                id,
                creator: Some(crate::sys::getpid()),
                unlinked: false.into(),
            })),
        })
    }

    /// Attaches to the block named `name` (Python's
    /// `SharedMemory(name)`); its size is the one it was created with.
    /// Only a block this user could have made with
    /// [`create`](SharedMemory::create) is accepted: owned by this user
    /// (the effective uid), with no access for group or others, a plain
    /// non-empty file. This handle does not remove the name on drop.
    ///
    /// # Errors
    /// [`Error::SharedMemoryNotFound`] when no block has the name;
    /// [`Error::SharedMemoryRefused`] for one that fails the checks above
    /// (or cannot be opened for lack of permission); [`Error::Usage`] for
    /// a bad name; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    ///
    /// let name = format!("doc-open-{}", std::process::id());
    /// let created = SharedMemory::create(&name, 8).unwrap();
    /// created.write_at(0, b"x").unwrap();
    /// let opened = SharedMemory::open(&name).unwrap();
    /// let mut b = [0u8];
    /// opened.read_at(0, &mut b).unwrap();
    /// assert_eq!((&b, opened.size()), (b"x", 8));
    /// assert!(SharedMemory::open("doc-open-no-such-name").is_err());
    /// ```
    pub fn open(name: &str) -> Result<Self> {
        check_name(name)?;
        let refused = |reason: String| Error::SharedMemoryRefused {
            name: name.to_string(),
            reason,
        };
        let (fd, id) = crate::sys::shm::open(name).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Error::SharedMemoryNotFound(name.to_string()),
            Some(libc::EACCES | libc::EPERM) => refused("permission denied: it belongs to another user".into()),
            Some(libc::ELOOP) => refused("it is a symbolic link".into()),
            Some(libc::EISDIR) => refused("it is a directory".into()),
            _ => Error::io("opening named shared memory")(e),
        })?;
        let me = crate::sys::peercred::euid();
        if id.uid != me {
            return Err(refused(format!(
                "it belongs to uid {}, not to this process's uid {me}",
                id.uid
            )));
        }
        if id.mode & 0o077 != 0 {
            return Err(refused(format!(
                "its mode {:04o} gives access to group or others (blocks are created 0600)",
                id.mode
            )));
        }
        if !id.regular {
            return Err(refused("it is not a regular file".into()));
        }
        if id.size == 0 {
            return Err(refused("it is empty (its creator may not have sized it yet)".into()));
        }
        Ok(SharedMemory {
            seg: Segment::from_fd(fd)?,
            name: Some(Arc::new(ShmName {
                name: name.to_string(),
                id,
                creator: None,
                unlinked: false.into(),
            })),
        })
    }

    /// Removes the name now (Python's `unlink()`), from any handle of a
    /// named block: later [`open`](SharedMemory::open)s fail, and the
    /// memory lives on while anyone maps it. A name that was removed and
    /// taken again for another block is left alone.
    ///
    /// # Errors
    /// [`Error::SharedMemoryNotFound`] when the name is gone already;
    /// [`Error::SharedMemoryRefused`] when it now names another block;
    /// [`Error::Usage`] for an anonymous block; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    ///
    /// let name = format!("doc-unlink-{}", std::process::id());
    /// let shm = SharedMemory::create(&name, 8).unwrap();
    /// shm.unlink().unwrap();
    /// assert!(SharedMemory::open(&name).is_err());
    /// shm.write_at(0, b"mapped").unwrap(); // the memory lives on
    /// assert!(shm.unlink().is_err()); // the name is gone already
    /// ```
    pub fn unlink(&self) -> Result<()> {
        let Some(n) = &self.name else {
            return Err(Error::Usage("anonymous shared memory has no name to unlink".into()));
        };
        match crate::sys::shm::unlink_if(&n.name, n.id).map_err(Error::io("unlinking named shared memory"))? {
            crate::sys::shm::Unlinked::Yes => {
                n.unlinked.store(true, Ordering::Relaxed);
                Ok(())
            }
            crate::sys::shm::Unlinked::Missing => Err(Error::SharedMemoryNotFound(n.name.clone())),
            crate::sys::shm::Unlinked::Other => Err(Error::SharedMemoryRefused {
                name: n.name.clone(),
                reason: "the name now belongs to another block; left alone".into(),
            }),
        }
    }

    /// Removes the name `name`, whatever block it names: the clean-up for
    /// a creator that died without removing it (see the type's
    /// documentation). `/dev/shm` is sticky, so only the owner (or root)
    /// can remove a name.
    ///
    /// # Errors
    /// [`Error::SharedMemoryNotFound`] when no block has the name;
    /// [`Error::SharedMemoryRefused`] when it is another user's;
    /// [`Error::Usage`] for a bad name; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    ///
    /// let name = format!("doc-unlink-name-{}", std::process::id());
    /// let shm = SharedMemory::create(&name, 8).unwrap();
    /// std::mem::forget(shm); // as if its creator had been killed
    /// SharedMemory::unlink_name(&name).unwrap();
    /// assert!(matches!(
    ///     SharedMemory::unlink_name(&name),
    ///     Err(multiproc::Error::SharedMemoryNotFound(_))
    /// ));
    /// ```
    pub fn unlink_name(name: &str) -> Result<()> {
        check_name(name)?;
        crate::sys::shm::unlink(name).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Error::SharedMemoryNotFound(name.to_string()),
            Some(libc::EACCES | libc::EPERM) => Error::SharedMemoryRefused {
                name: name.to_string(),
                reason: "permission denied: it belongs to another user".into(),
            },
            _ => Error::io("unlinking named shared memory")(e),
        })
    }

    /// The name of a named block; `None` for an anonymous one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::SharedMemory::new(8).unwrap().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|n| n.name.as_str())
    }

    /// Its size in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::SharedMemory::new(10).unwrap().size(), 10);
    /// ```
    pub fn size(&self) -> usize {
        self.seg.region.len()
    }

    /// Copies `buf.len()` bytes from `offset`.
    ///
    /// # Errors
    /// [`Error::Io`] when the range is outside the block.
    ///
    /// # Examples
    ///
    /// ```
    /// let shm = multiproc::shared::SharedMemory::new(8).unwrap();
    /// let mut buf = [1u8; 8];
    /// shm.read_at(0, &mut buf).unwrap();
    /// assert_eq!(buf, [0; 8]);
    /// assert!(shm.read_at(4, &mut buf).is_err());
    /// ```
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.seg
            .region
            .read_at(offset, buf)
            .map_err(Error::io("reading shared memory"))
    }

    /// Copies `bytes` to `offset`.
    ///
    /// # Errors
    /// [`Error::Io`] when the range is outside the block.
    ///
    /// # Examples
    ///
    /// ```
    /// let shm = multiproc::shared::SharedMemory::new(8).unwrap();
    /// shm.write_at(6, b"ok").unwrap();
    /// assert!(shm.write_at(7, b"no").is_err());
    /// ```
    pub fn write_at(&self, offset: usize, bytes: &[u8]) -> Result<()> {
        self.seg
            .region
            .write_at(offset, bytes)
            .map_err(Error::io("writing shared memory"))
    }
}

#[derive(Serialize)]
struct SharedMemoryWireRef<'a> {
    seg: &'a Segment,
    name: Option<&'a str>,
}

#[derive(Deserialize)]
struct SharedMemoryWire {
    seg: Segment,
    name: Option<String>,
}

impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        SharedMemoryWireRef {
            seg: &self.seg,
            name: self.name(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let wire = SharedMemoryWire::deserialize(d)?;
        let name = match wire.name {
            Some(name) => {
                check_name(&name).map_err(serde::de::Error::custom)?;
                let id = crate::sys::shm::file_id(wire.seg.as_fd()).map_err(serde::de::Error::custom)?;
                Some(Arc::new(ShmName {
                    name,
                    id,
                    creator: None,
                    unlinked: false.into(),
                }))
            }
            None => None,
        };
        Ok(SharedMemory {
            seg: Arc::new(wire.seg),
            name,
        })
    }
}

/// A [`Value`] without a lock — the guide's `RawValue` (`Value(…,
/// lock=False)`). Faster, and explicit about the price: every access is
/// `unsafe`, because two processes touching it at once is a data race.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let v = multiproc::shared::RawValue::new(5u32)?;
/// // SAFETY: no other process or thread has this value yet.
/// unsafe {
///     v.set(6)?;
///     assert_eq!(v.get()?, 6);
/// }
/// # Ok(())
/// # }
/// ```
pub struct RawValue<T> {
    seg: Arc<Segment>,
    _value: PhantomData<T>,
}

impl<T> Clone for RawValue<T> {
    fn clone(&self) -> Self {
        RawValue {
            seg: self.seg.clone(),
            _value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RawValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawValue")
    }
}

// The raw accessors are `unsafe fn`s that hand their caller's contract on
// to `sys` (see `get` and `set`).
#[allow(unsafe_code)]
impl<T: Pod> RawValue<T> {
    /// A new unlocked shared value.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = multiproc::shared::RawValue::new(1.5f32).unwrap();
    /// # drop(v);
    /// ```
    pub fn new(value: T) -> Result<Self> {
        let v = RawValue {
            seg: Segment::new("multiproc-raw-value", DATA + std::mem::size_of::<T>())?,
            _value: PhantomData,
        };
        // SAFETY: nobody else has the fresh segment yet.
        unsafe { v.set(value)? };
        Ok(v)
    }

    /// Reads the value.
    ///
    /// # Safety
    /// No other thread or process may write it meanwhile.
    ///
    /// # Errors
    /// [`Error::Io`] if the segment is too small (never for one made here).
    ///
    /// # Examples
    ///
    /// ```
    /// let v = multiproc::shared::RawValue::new(2u8).unwrap();
    /// // SAFETY: single-threaded, not shared yet.
    /// assert_eq!(unsafe { v.get() }.unwrap(), 2);
    /// ```
    pub unsafe fn get(&self) -> Result<T> {
        // SAFETY: forwarded from the caller.
        unsafe { self.seg.region.read_pod(DATA) }.map_err(Error::io("reading a raw value"))
    }

    /// Writes the value.
    ///
    /// # Safety
    /// No other thread or process may read or write it meanwhile.
    ///
    /// # Errors
    /// [`Error::Io`] if the segment is too small (never for one made here).
    ///
    /// # Examples
    ///
    /// ```
    /// let v = multiproc::shared::RawValue::new(2u8).unwrap();
    /// // SAFETY: single-threaded, not shared yet.
    /// unsafe { v.set(3) }.unwrap();
    /// ```
    pub unsafe fn set(&self, value: T) -> Result<()> {
        // SAFETY: forwarded from the caller.
        unsafe { self.seg.region.write_pod(DATA, value) }.map_err(Error::io("writing a raw value"))
    }
}

/// An [`Array`] without a lock — the guide's `RawArray`: every access is
/// `unsafe`, because two processes touching it at once is a data race.
///
/// # Examples
///
/// ```
/// let a = multiproc::shared::RawArray::<u16>::new(3).unwrap();
/// // SAFETY: not shared yet.
/// unsafe {
///     a.set(2, 9).unwrap();
///     assert_eq!(a.get(2).unwrap(), 9);
/// }
/// assert_eq!(a.len(), 3);
/// ```
pub struct RawArray<T> {
    seg: Arc<Segment>,
    len: usize,
    _value: PhantomData<T>,
}

impl<T> Clone for RawArray<T> {
    fn clone(&self) -> Self {
        RawArray {
            seg: self.seg.clone(),
            len: self.len,
            _value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RawArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawArray").field("len", &self.len).finish()
    }
}

// As for `RawValue`: the raw accessors forward their caller's contract.
#[allow(unsafe_code)]
impl<T: Pod> RawArray<T> {
    /// `len` zeroed values, unlocked.
    ///
    /// # Errors
    /// [`Error::Io`] when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(multiproc::shared::RawArray::<u8>::new(0).unwrap().is_empty());
    /// ```
    pub fn new(len: usize) -> Result<Self> {
        let bytes = std::mem::size_of::<T>()
            .checked_mul(len)
            .ok_or(Error::Usage("array too large".into()))?;
        Ok(RawArray {
            seg: Segment::new("multiproc-raw-array", DATA + bytes.max(1))?,
            len,
            _value: PhantomData,
        })
    }

    /// The number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::RawArray::<u8>::new(2).unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!multiproc::shared::RawArray::<u8>::new(1).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn offset(&self, i: usize) -> Result<usize> {
        if i >= self.len {
            return Err(Error::Usage("index out of bounds".into()));
        }
        Ok(DATA + i * std::mem::size_of::<T>())
    }

    /// Reads element `i`.
    ///
    /// # Safety
    /// No other thread or process may write it meanwhile.
    ///
    /// # Errors
    /// [`Error::Usage`] when `i` is out of bounds.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = multiproc::shared::RawArray::<u8>::new(1).unwrap();
    /// // SAFETY: not shared yet.
    /// assert!(unsafe { a.get(5) }.is_err());
    /// ```
    pub unsafe fn get(&self, i: usize) -> Result<T> {
        let at = self.offset(i)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.seg.region.read_pod(at) }.map_err(Error::io("reading a raw array"))
    }

    /// Writes element `i`.
    ///
    /// # Safety
    /// No other thread or process may read or write it meanwhile.
    ///
    /// # Errors
    /// [`Error::Usage`] when `i` is out of bounds.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = multiproc::shared::RawArray::<u8>::new(1).unwrap();
    /// // SAFETY: not shared yet.
    /// unsafe { a.set(0, 1) }.unwrap();
    /// ```
    pub unsafe fn set(&self, i: usize, value: T) -> Result<()> {
        let at = self.offset(i)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.seg.region.write_pod(at, value) }.map_err(Error::io("writing a raw array"))
    }
}

impl<T> Serialize for RawValue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.seg.serialize(s)
    }
}

impl<'de, T: Pod> Deserialize<'de> for RawValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(RawValue {
            seg: value_segment::<T, D>(d)?,
            _value: PhantomData,
        })
    }
}

impl<T> Serialize for RawArray<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ArrayWireRef {
            seg: &self.seg,
            len: self.len as u64,
        }
        .serialize(s)
    }
}

impl<'de, T: Pod> Deserialize<'de> for RawArray<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (seg, len) = array_segment::<T, D>(d)?;
        Ok(RawArray {
            seg,
            len,
            _value: PhantomData,
        })
    }
}

/// A received segment for one `T` (a `Value` or `RawValue`), checked to
/// be large enough.
fn value_segment<'de, T: Pod, D: Deserializer<'de>>(d: D) -> std::result::Result<Arc<Segment>, D::Error> {
    checked_value_segment::<T>(Segment::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// `seg`, when it is large enough for one `T`.
fn checked_value_segment<T: Pod>(seg: Segment) -> std::result::Result<Arc<Segment>, &'static str> {
    if seg.region.len() < DATA + std::mem::size_of::<T>() {
        return Err("a shared value's segment is too small for its type");
    }
    Ok(Arc::new(seg))
}

/// A received segment and length of an `Array` or `RawArray`, checked to
/// hold that many `T`.
fn array_segment<'de, T: Pod, D: Deserializer<'de>>(d: D) -> std::result::Result<(Arc<Segment>, usize), D::Error> {
    let wire = ArrayWire::deserialize(d)?;
    let len = usize::try_from(wire.len).map_err(serde::de::Error::custom)?;
    let need = std::mem::size_of::<T>()
        .checked_mul(len)
        .and_then(|b| b.checked_add(DATA))
        .ok_or_else(|| serde::de::Error::custom("array length overflows"))?;
    if wire.seg.region.len() < need {
        return Err(serde::de::Error::custom(
            "a shared array's segment is too small for its length",
        ));
    }
    Ok((Arc::new(wire.seg), len))
}
