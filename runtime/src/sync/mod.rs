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
//!
//! A file per primitive: `lock.rs` ([`Lock`], [`RLock`]), `event.rs`,
//! `semaphore.rs` (with [`BoundedSemaphore`]), `condition.rs`,
//! `barrier.rs`; here, what they share.

use std::sync::atomic::AtomicU32;

use crate::segment::Segment;
pub use crate::segment::{LockError, LockResult};

/// A primitive travels to another process as its segment.
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

mod barrier;
mod condition;
mod event;
mod lock;
mod semaphore;

pub use barrier::{Barrier, BarrierBuilder};
pub use condition::{Condition, ConditionGuard, WaitTimeoutResult};
pub use event::Event;
pub use lock::{Lock, LockGuard, RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};

/// The 4-byte word at `offset` of a primitive's segment.
fn word(seg: &Segment, offset: usize) -> &AtomicU32 {
    seg.region.atomic_u32(offset).expect("segments are at least 64 bytes")
}
