//! Futex waits and wakes on a shared 32-bit word (raw `libc::syscall`:
//! no safe wrapper offers `FUTEX_WAIT`/`FUTEX_WAKE` on shared memory).

use std::io;
use std::time::Instant;

/// Waits while the shared `word` equals `expected`, until woken or
/// `deadline`. Returns `false` on timeout. Spurious returns are possible:
/// callers re-check their condition.
pub(crate) fn futex_wait(word: &std::sync::atomic::AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
    let timeout = deadline.map(|d| {
        let left = d.saturating_duration_since(Instant::now());
        libc::timespec {
            tv_sec: left.as_secs() as libc::time_t,
            tv_nsec: left.subsec_nanos() as libc::c_long,
        }
    });
    if timeout.is_some_and(|t| t.tv_sec == 0 && t.tv_nsec == 0) {
        return false;
    }
    let ts = timeout
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the call; shared (not
    // private) futex, since other processes map the same memory.
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, ts) };
    !(r == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
}

/// Wakes up to `n` waiters of the shared `word`.
pub(crate) fn futex_wake(word: &std::sync::atomic::AtomicU32, n: i32) {
    // SAFETY: as in `futex_wait`.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
    }
}
