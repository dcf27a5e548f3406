//! `poll` with a deadline, and waiting for one descriptor to turn readable
//! (nix).

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout};

/// Which events a [`poll`] entry waits for and got.
pub(crate) const POLLIN: i16 = PollFlags::POLLIN.bits();

/// `poll(2)` on `(fd, events)` pairs; returns the `revents` of each.
///
/// `deadline == None` waits forever. Returns all zeros on timeout.
pub(crate) fn poll(fds: &[(BorrowedFd<'_>, i16)], deadline: Option<Instant>) -> io::Result<Vec<i16>> {
    let mut pfds: Vec<PollFd<'_>> = fds
        .iter()
        .map(|(fd, events)| PollFd::new(*fd, PollFlags::from_bits_truncate(*events)))
        .collect();
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so a sub-millisecond remainder does not spin.
                let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128);
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        match nix::poll::poll(&mut pfds, timeout) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => return Ok(pfds.iter().map(|p| p.revents().map_or(0, |r| r.bits())).collect()),
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
