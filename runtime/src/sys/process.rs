//! Processes: `fork`, pidfds (`pidfd_open`, `pidfd_send_signal`,
//! `waitid(P_PIDFD)`), exit, pid, CPU affinity, descriptors kept across `exec`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::{cvt, fork_safe, retry};

/// How a child process ended, as `waitid` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum WaitStatus {
    /// `_exit(code)` or a return from `main`.
    Exited(i32),
    /// Killed by a signal; the flag says whether it dumped core.
    Signaled(i32, bool),
}

impl WaitStatus {
    /// Python's `exitcode`: the code, or minus the signal number.
    pub(crate) fn exitcode(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => code,
            WaitStatus::Signaled(sig, _) => -sig,
        }
    }
}

/// The result of [`fork`] on each side.
pub(crate) enum Forked {
    Parent(i32),
    Child,
}

/// `fork(2)`.
///
/// # Safety
///
/// The child of a multi-threaded parent holds only the calling thread, and
/// any lock another thread held stays held there forever. Until it exits
/// (with [`exit_now`], never by returning into the caller's caller), the
/// child may touch only what docs/ARCHITECTURE.md, "Fork safety", allows:
/// state initialised at load, made ready before the fork
/// (`process::fork::before_fork`, which the caller runs first), or
/// fork-local ([`ForkLocal`](super::ForkLocal)), and calls that take no
/// lock another thread may hold. The caller flushes the stdio buffers it
/// does not want written twice.
pub(crate) unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: nix's contract for the child is this function's own, passed
    // on to its caller (see above).
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            // Counted here too, in case the `pthread_atfork` handler was not
            // registered yet (see `fork_safe`).
            fork_safe::bump_in_child();
            Ok(Forked::Child)
        }
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child.as_raw())),
    }
}

/// `pidfd_open(2)`: a descriptor that tracks one process, immune to pid reuse.
/// (Raw `libc::syscall`: nix has no wrapper for it.)
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: a plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel just returned this descriptor and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(2)`; `ESRCH` (already exited) is not an error.
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    // SAFETY: a plain syscall; a null siginfo is documented as allowed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    match cvt(ret) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        other => other.map(drop),
    }
}

/// `waitid(P_PIDFD, …, WEXITED)`: reaps the child behind `pidfd`.
///
/// With `block == false` returns `Ok(None)` while the child runs.
pub(crate) fn waitid_pidfd(pidfd: BorrowedFd<'_>, block: bool) -> io::Result<Option<WaitStatus>> {
    let flags = libc::WEXITED | if block { 0 } else { libc::WNOHANG };
    retry(|| {
        // SAFETY: siginfo_t is plain data, zeroed is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t for the call.
        cvt(unsafe { libc::waitid(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, flags) })?;
        // SAFETY: waitid filled `info` (or left it zeroed under WNOHANG).
        let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        Ok(Some(match code {
            libc::CLD_EXITED => WaitStatus::Exited(status),
            libc::CLD_DUMPED => WaitStatus::Signaled(status, true),
            _ => WaitStatus::Signaled(status, false),
        }))
    })
}

/// Makes the child of `cmd` inherit descriptor `fd` (clears `FD_CLOEXEC` on
/// the child's copy only, between its fork and exec).
pub(crate) fn keep_across_exec(cmd: &mut std::process::Command, fd: RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls fcntl,
    // which is async-signal-safe; it touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            // SAFETY: fcntl on an integer fd has no memory-safety preconditions.
            cvt(libc::fcntl(fd, libc::F_SETFD, 0)).map(drop)
        });
    }
}

/// `_exit(2)`: ends the process now, without destructors or atexit handlers.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions. (Raw libc: nix
    // has no wrapper for it.)
    unsafe { libc::_exit(code) }
}

/// Sends `signal` to this very process.
pub(crate) fn raise_self(signal: i32) {
    // To the process, as `kill` sends it, not to this thread alone (`raise`).
    if let Ok(signal) = nix::sys::signal::Signal::try_from(signal) {
        let _ = nix::sys::signal::kill(nix::unistd::getpid(), signal);
    }
}

/// `getpid(2)`.
pub(crate) fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// Pins the calling process to one CPU (`sched_setaffinity`).
pub(crate) fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?; // EINVAL beyond the set's size
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    Ok(())
}
