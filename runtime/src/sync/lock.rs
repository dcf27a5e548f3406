//! [`Lock`] and [`RLock`]: the segment's futex lock (`sys/lock.rs`),
//! plain or recursive, whose holder's death the next acquirer learns.

use std::fmt;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::LockResult;
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::sys::LockedSlice;

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
            /// [`LockError::OwnerDied`](crate::sync::LockError::OwnerDied)(crate::sync::LockError::OwnerDied) with the guard when the holder died.
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
            /// [`LockError::Timeout`](crate::sync::LockError::Timeout)(crate::sync::LockError::Timeout); else as `acquire`.
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
            /// [`LockError::Timeout`](crate::sync::LockError::Timeout)(crate::sync::LockError::Timeout) when it is held; else as `acquire`.
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
