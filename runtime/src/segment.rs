//! What every shared object is made of, below both `shared` and `sync`:
//! a [`Segment`] (a shared `memfd` region and its descriptor, which is
//! what travels to a child) and the error of locking one
//! ([`LockError`], re-exported as `multiproc::sync::LockError`).

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Instant;

use bytemuck::Pod;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::handoff::{TrackedFd, TravelFd};
use crate::sys::{Locked, LockedSlice, SharedRegion};

/// A shared memory segment and its descriptor: what every shared object
/// is made of, and what travels to a child.
pub(crate) struct Segment {
    pub(crate) region: SharedRegion,
    fd: TrackedFd,
}

impl Segment {
    pub(crate) fn new(name: &str, len: usize) -> Result<Arc<Self>> {
        let region = SharedRegion::new(name, len).map_err(Error::io("creating shared memory"))?;
        let fd = TrackedFd::new(region.fd().try_clone_to_owned().map_err(Error::io("dup"))?);
        Ok(Arc::new(Segment { region, fd }))
    }

    /// Maps the whole of an object opened elsewhere (a named block).
    pub(crate) fn from_fd(fd: std::os::fd::OwnedFd) -> Result<Arc<Self>> {
        let tracked = TrackedFd::new(fd.try_clone().map_err(Error::io("dup"))?);
        let region = SharedRegion::map(fd).map_err(Error::io("mapping shared memory"))?;
        Ok(Arc::new(Segment { region, fd: tracked }))
    }

    /// Locks the segment's lock at offset 0 and lends `len` values of `T` at
    /// `data`, mapping the outcome to a [`LockResult`].
    #[inline]
    pub(crate) fn lock<T: Pod>(
        &self,
        data: usize,
        len: usize,
        deadline: Option<Instant>,
        try_only: bool,
    ) -> LockResult<LockedSlice<'_, T>> {
        self.lock_data_of(self, data, len, deadline, try_only)
    }

    /// [`lock`](Segment::lock), lending the data of another segment: a
    /// `Value` guarded by a lock of the caller's.
    #[inline]
    pub(crate) fn lock_data_of<'a, T: Pod>(
        &'a self,
        other: &'a Segment,
        data: usize,
        len: usize,
        deadline: Option<Instant>,
        try_only: bool,
    ) -> LockResult<LockedSlice<'a, T>> {
        match self
            .region
            .lock_slice_of::<T>(0, &other.region, data, len, deadline, try_only)
        {
            Ok((Locked::Yes, Some(guard))) => Ok(guard),
            Ok((Locked::OwnerDied, Some(guard))) => Err(LockError::OwnerDied(guard)),
            Ok(_) => Err(LockError::Timeout),
            Err(e) => Err(LockError::Failed(Error::io("locking")(e))),
        }
    }
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        crate::handoff::serialize_fd(&self.fd.as_fd(), s)
    }
}

impl<'de> Deserialize<'de> for Segment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let fd = TravelFd::deserialize(d)?.0;
        let region =
            SharedRegion::map(fd.try_clone().map_err(serde::de::Error::custom)?).map_err(serde::de::Error::custom)?;
        Ok(Segment {
            region,
            fd: TrackedFd::new(fd),
        })
    }
}

impl AsFd for Segment {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Why a lock was not simply acquired.
pub enum LockError<G> {
    /// Acquired, from a holder that died while holding it: what it guarded
    /// may be half-updated. The guard is inside; the lock is healthy again
    /// once it is released.
    OwnerDied(G),
    /// Not acquired within the time given (or at once, for `try_`).
    Timeout,
    /// The operating system refused.
    Failed(Error),
}

impl<G> LockError<G> {
    /// The guard, when the lock was acquired after all (`OwnerDied`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let lock = multiproc::sync::Lock::new()?;
    /// let _guard = match lock.acquire() {
    ///     Ok(g) => g,
    ///     Err(e) => e.into_inner().expect("owner died: take over"),
    /// };
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> Option<G> {
        match self {
            LockError::OwnerDied(g) => Some(g),
            _ => None,
        }
    }

    pub(crate) fn map<H>(self, f: impl FnOnce(G) -> H) -> LockError<H> {
        match self {
            LockError::OwnerDied(g) => LockError::OwnerDied(f(g)),
            LockError::Timeout => LockError::Timeout,
            LockError::Failed(e) => LockError::Failed(e),
        }
    }
}

impl<G> fmt::Debug for LockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::OwnerDied(_) => f.write_str("OwnerDied(..)"),
            LockError::Timeout => f.write_str("Timeout"),
            LockError::Failed(e) => write!(f, "Failed({e:?})"),
        }
    }
}

impl<G> fmt::Display for LockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::OwnerDied(_) => f.write_str("the lock's previous holder died while holding it"),
            LockError::Timeout => f.write_str("the lock was not acquired in time"),
            LockError::Failed(e) => write!(f, "locking failed: {e}"),
        }
    }
}

impl<G> std::error::Error for LockError<G> {}

/// So that `lock.acquire()?` works in a function that returns
/// [`multiproc::Result`](crate::Result). An `OwnerDied` guard is dropped
/// (the lock is released) and becomes [`Error::OwnerDied`]; match the
/// `LockError` instead to keep it.
///
/// # Examples
///
/// ```
/// fn bump(lock: &multiproc::sync::Lock, n: &mut u32) -> multiproc::Result<()> {
///     let _held = lock.acquire()?;
///     *n += 1;
///     Ok(())
/// }
/// let lock = multiproc::sync::Lock::new().unwrap();
/// let mut n = 0;
/// bump(&lock, &mut n).unwrap();
/// assert_eq!(n, 1);
/// ```
impl<G> From<LockError<G>> for Error {
    fn from(e: LockError<G>) -> Error {
        match e {
            LockError::OwnerDied(_) => Error::OwnerDied,
            LockError::Timeout => Error::NotAcquired,
            LockError::Failed(e) => e,
        }
    }
}

/// What acquiring a lock gives: the guard, or why not.
pub type LockResult<G> = std::result::Result<G, LockError<G>>;
