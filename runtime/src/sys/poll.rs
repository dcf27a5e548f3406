//! `poll` with a deadline, and waiting for one descriptor to turn readable.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Instant;

use super::cvt;

/// Which events a [`poll`] entry waits for and got.
pub(crate) const POLLIN: i16 = libc::POLLIN;

/// `poll(2)` on `(fd, events)` pairs; returns the `revents` of each.
///
/// `deadline == None` waits forever. Returns all zeros on timeout.
pub(crate) fn poll(fds: &[(BorrowedFd<'_>, i16)], deadline: Option<Instant>) -> io::Result<Vec<i16>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, events)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: *events,
            revents: 0,
        })
        .collect();
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so a sub-millisecond remainder does not spin.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        // SAFETY: `pfds` is a valid array of `pfds.len()` pollfd structs.
        let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        match cvt(ret) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(pfds.iter().map(|p| p.revents).collect()),
        }
    }
}

/// Waits until `fd` is readable or `deadline` passes (`false`). Until
/// `spin_until` it checks without sleeping (returning `true` at once so
/// the caller retries its non-blocking read): waking a sleeper on the other
/// CPU costs more than a reply that is already on its way.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, spin_until: Instant, deadline: Option<Instant>) -> io::Result<bool> {
    let now = Instant::now();
    if now < spin_until && deadline.is_none_or(|d| now < d) {
        std::hint::spin_loop();
        return Ok(true);
    }
    Ok(poll(&[(fd, POLLIN)], deadline)?[0] != 0)
}
