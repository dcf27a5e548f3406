//! Every raw system call of the crate, and the only module with `unsafe`
//! besides the generated registry statics.
//!
//! A file per syscall family, as nix splits its own. Calls go through
//! nix where it wraps them well: `fork`, signals, `memfd_create`,
//! `ftruncate`, `mmap`/`munmap`, file seals, `pipe2`, `fcntl`, `poll`,
//! `eventfd`, CPU affinity, the clock. Raw libc remains where nix has no
//! wrapper (`pidfd_open`, `pidfd_send_signal`, `waitid(P_PIDFD)`, futexes,
//! `_exit`) and, not yet moved, for sockets with `SCM_RIGHTS`, reads and
//! writes that retry, `SO_PEERCRED` and `/dev/shm`; every raw libc return
//! value goes through [`cvt`], and nothing else in the crate checks for
//! `-1`:
//!
//! - `process.rs` — `fork`, pidfds, `waitid`, exit, pid, CPU affinity;
//! - `signal.rs` — signal names, `SIGPIPE`;
//! - `fd.rs` — reads, writes, blocking mode, pipes, redirection, and the
//!   registry of descriptors a forked child closes (`fdreg`);
//! - `socket.rs` — Unix socket pairs and names, `SCM_RIGHTS` messages;
//! - `poll.rs` — `poll` with a deadline;
//! - `futex.rs` — futex waits and wakes on a shared word;
//! - `eventfd.rs` — wake-ups and counting semaphores;
//! - `region.rs` — [`SharedRegion`], a shared `memfd` mapping, and
//!   [`LockedSlice`];
//! - `lock.rs` — the process-shared lock in a region (owner's thread id in
//!   a futex word);
//! - `shm.rs` — named shared memory (`/dev/shm`);
//! - `peercred.rs` — `SO_PEERCRED`, the effective uid;
//! - `time.rs` — the monotonic clock;
//! - `cell.rs` — a lock-free string slot, a zero-sized closure's value;
//! - `code.rs` — code addresses as offsets within the executable;
//! - `fork_safe.rs` — what a forked child can use whatever its parent's
//!   other threads were doing: the fork generation and [`ForkLocal`].

use std::io;

mod cell;
mod code;
mod eventfd;
mod fd;
mod fork_safe;
mod futex;
mod lock;
pub(crate) mod peercred;
mod poll;
mod process;
mod region;
pub(crate) mod shm;
mod signal;
mod socket;
mod time;

pub(crate) use cell::*;
pub(crate) use code::{code_at, code_offset};
pub(crate) use eventfd::*;
pub(crate) use fd::*;
pub(crate) use fork_safe::{fork_generation, ForkLocal};
pub(crate) use futex::*;
pub(crate) use lock::*;
pub(crate) use poll::*;
pub(crate) use process::*;
pub(crate) use region::*;
pub(crate) use signal::*;
pub(crate) use socket::*;
pub(crate) use time::*;

/// Turns a libc return value into an `io::Result`, reading `errno` on `-1`.
pub(crate) fn cvt<T: IsMinusOne>(ret: T) -> io::Result<T> {
    if ret.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Integer types a syscall can return `-1` in.
pub(crate) trait IsMinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

impl IsMinusOne for i32 {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl IsMinusOne for i64 {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl IsMinusOne for isize {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

/// Retries `f` while it fails with `EINTR`.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
