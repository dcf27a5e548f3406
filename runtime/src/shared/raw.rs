//! [`RawValue`] and [`RawArray`]: [`Value`] and [`Array`] without a lock,
//! read and written through `unsafe fn`s.

use std::fmt;
use std::marker::PhantomData;

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{array_segment, value_segment, ArrayWireRef, Pod, DATA};
use crate::error::{Error, Result};
use crate::segment::Segment;

/// A [`Value`](crate::shared::Value) without a lock — the guide's `RawValue` (`Value(…,
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

/// An [`Array`](crate::shared::Array) without a lock — the guide's `RawArray`: every access is
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
