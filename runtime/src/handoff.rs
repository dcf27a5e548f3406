//! Descriptors that travel with a process start.
//!
//! A shared object (a pool worker's channel, and later a queue, a pipe end,
//! a lock's memory) is an open descriptor. When such an object is an
//! argument of a `#[process_fn]` started with Spawn or ForkServer, its
//! descriptor must reach the child itself — by SCM_RIGHTS — not be
//! re-created there by name.
//!
//! [`TravelFd`] serializes as an index into the list of descriptors sent
//! with the frame: [`encode_with_fds`] collects them while encoding, and
//! [`with_incoming`] hands the received ones to the decoding side. With
//! Fork no encoding happens: the argument value, descriptors included, is
//! already in the child's copy of memory.

use std::cell::RefCell;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Result;

thread_local! {
    static OUTGOING: RefCell<Option<Vec<OwnedFd>>> = const { RefCell::new(None) };
    static ORIGINALS: RefCell<Vec<RawFd>> = const { RefCell::new(Vec::new()) };
    static INCOMING: RefCell<Vec<Option<OwnedFd>>> = const { RefCell::new(Vec::new()) };
}

/// An owned descriptor that can be part of a `#[process_fn]` argument.
#[derive(Debug)]
pub(crate) struct TravelFd(pub(crate) OwnedFd);

impl AsFd for TravelFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Serialize for TravelFd {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_fd(&self.0.as_fd(), serializer)
    }
}

/// Serializes a borrowed descriptor the way [`TravelFd`] does (for a
/// `#[serde(serialize_with)]` field of a shared object's wire form).
pub(crate) fn serialize_fd<S: Serializer>(fd: &BorrowedFd<'_>, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    let index = OUTGOING.with(|out| -> std::result::Result<u32, String> {
        let mut out = out.borrow_mut();
        let list = out.as_mut().ok_or(
            "a shared object (a queue, a pipe end, a lock, a Value, …) can travel only in the \
                 arguments of a process start or of a pool's initializer, not in a pool task or a \
                 result: hand it to the pool's initializer instead",
        )?;
        list.push(fd.try_clone_to_owned().map_err(|e| format!("dup: {e}"))?);
        ORIGINALS.with(|o| o.borrow_mut().push(fd.as_raw_fd()));
        Ok((list.len() - 1) as u32)
    });
    let index = index.map_err(|why| {
        crate::codec::refuse(why.clone());
        S::Error::custom(why)
    })?;
    serializer.serialize_u32(index)
}

impl<'de> Deserialize<'de> for TravelFd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let index = u32::deserialize(deserializer)? as usize;
        INCOMING
            .with(|inc| inc.borrow_mut().get_mut(index).and_then(Option::take))
            .map(TravelFd)
            .ok_or_else(|| D::Error::custom(format!("descriptor #{index} did not arrive with the message")))
    }
}

/// Encodes `value`, collecting (duplicates of) the descriptors it holds.
pub(crate) fn encode_with_fds<T: Serialize>(value: &T) -> Result<(Vec<u8>, Vec<OwnedFd>)> {
    OUTGOING.with(|out| *out.borrow_mut() = Some(Vec::new()));
    let bytes = crate::codec::encode(value);
    let fds = OUTGOING.with(|out| out.borrow_mut().take()).unwrap_or_default();
    Ok((bytes?, fds))
}

/// The descriptors (their numbers in this process) that `value` holds:
/// what a forked child must keep open for its task.
pub(crate) fn fds_in<T: Serialize>(value: &T) -> Result<Vec<RawFd>> {
    ORIGINALS.with(|o| o.borrow_mut().clear());
    encode_with_fds(value)?;
    Ok(ORIGINALS.with(|o| std::mem::take(&mut *o.borrow_mut())))
}

/// An owned descriptor of a shared object, tracked so that a child forked
/// for another task closes it (see `sys::fdreg`).
#[derive(Debug)]
pub(crate) struct TrackedFd(Option<OwnedFd>);

impl TrackedFd {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        crate::sys::fdreg::register(fd.as_raw_fd());
        TrackedFd(Some(fd))
    }
}

impl AsFd for TrackedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_ref().expect("present until drop").as_fd()
    }
}

impl AsRawFd for TrackedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl Drop for TrackedFd {
    fn drop(&mut self) {
        if let Some(fd) = self.0.take() {
            crate::sys::fdreg::unregister(fd.as_raw_fd());
        }
    }
}

/// Runs `f` — which decodes — with `fds` available to [`TravelFd`].
/// Descriptors that nothing claimed are closed afterwards.
pub(crate) fn with_incoming<R>(fds: Vec<OwnedFd>, f: impl FnOnce() -> R) -> R {
    INCOMING.with(|inc| *inc.borrow_mut() = fds.into_iter().map(Some).collect());
    let result = f();
    INCOMING.with(|inc| inc.borrow_mut().clear());
    result
}
