//! `eventfd`s: a wake-up for a thread in `poll`, and a counting semaphore
//! (nix).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::sys::eventfd::EfdFlags;

use super::read;

/// An `eventfd` used to wake a thread sleeping in [`poll`](super::poll).
#[derive(Debug)]
pub(crate) struct EventFd(OwnedFd);

impl EventFd {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(EventFd(new_eventfd(EfdFlags::EFD_NONBLOCK)?))
    }

    /// Makes the descriptor readable.
    pub(crate) fn notify(&self) {
        eventfd_post(self.0.as_fd());
    }

    /// Resets the counter.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 8];
        let _ = read(self.0.as_fd(), &mut buf);
    }

    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A non-blocking, close-on-exec `eventfd` in semaphore mode: each
/// [`eventfd_post`] adds one, each 8-byte [`read`] takes one (`WouldBlock`
/// at zero); `poll` says readable while it is above zero.
pub(crate) fn eventfd_semaphore() -> io::Result<OwnedFd> {
    new_eventfd(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_SEMAPHORE)
}

/// Adds one to an eventfd's counter (a full counter — `WouldBlock` — means
/// it is readable already, which is all a waker needs).
pub(crate) fn eventfd_post(fd: BorrowedFd<'_>) {
    let _ = nix::unistd::write(fd, &1u64.to_ne_bytes());
}

/// A close-on-exec eventfd at zero, with `flags`.
fn new_eventfd(flags: EfdFlags) -> io::Result<OwnedFd> {
    let fd = nix::sys::eventfd::EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | flags)?;
    Ok(fd.into())
}
