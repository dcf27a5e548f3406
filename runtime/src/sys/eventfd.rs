//! `eventfd`s: a wake-up for a thread in `poll`, and a counting semaphore.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{cvt, read};

/// An `eventfd` used to wake a thread sleeping in [`poll`].
#[derive(Debug)]
pub(crate) struct EventFd(OwnedFd);

impl EventFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: plain syscall.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: a fresh descriptor we alone own.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Makes the descriptor readable.
    pub(crate) fn notify(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writing 8 bytes from a valid buffer. A full counter
        // (EAGAIN) means it is readable already, which is all we need.
        unsafe {
            libc::write(self.0.as_raw_fd(), one.as_ptr() as *const libc::c_void, 8);
        }
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
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK | libc::EFD_SEMAPHORE) })?;
    // SAFETY: a fresh descriptor we alone own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd's counter (a full counter — `WouldBlock` — means
/// it is readable already, which is all a waker needs).
pub(crate) fn eventfd_post(fd: BorrowedFd<'_>) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writing 8 bytes from a valid buffer.
    unsafe {
        libc::write(fd.as_raw_fd(), one.as_ptr() as *const libc::c_void, 8);
    }
}
