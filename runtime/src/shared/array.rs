//! [`Array`]: a fixed-length array of `T` behind its lock.

use std::fmt;
use std::marker::PhantomData;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{array_segment, wrap, ArrayWireRef, Pod, DATA, LEN};
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::sync::LockResult;
use crate::sys::LockedSlice;

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
    /// [`LockError::OwnerDied`](crate::sync::LockError::OwnerDied) (with the guard) when a process died
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
    /// [`LockError::Timeout`](crate::sync::LockError::Timeout); else as [`lock`](Array::lock).
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
