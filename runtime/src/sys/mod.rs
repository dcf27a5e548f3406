//! Every raw system call of the crate, and the only module with `unsafe`
//! besides the generated registry statics.
//!
//! Each function wraps one syscall family; every libc return value goes
//! through [`cvt`], and nothing else in the crate checks for `-1`.
//!
//! `fork_safe.rs` holds what a forked child can use whatever its parent's
//! other threads were doing: the fork generation and [`ForkLocal`].

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

mod fork_safe;
pub(crate) mod peercred;
pub(crate) mod shm;
pub(crate) use fork_safe::{fork_generation, ForkLocal};

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
/// The child of a multi-threaded parent holds only the calling thread; the
/// callers in `process/` keep the child to what is safe there.
pub(crate) fn fork() -> io::Result<Forked> {
    // SAFETY: fork has no memory-safety preconditions of its own; the
    // callers document the multi-threading hazards of running code in the
    // child and flush the stdio buffers before calling it.
    let pid = cvt(unsafe { libc::fork() })?;
    if pid == 0 {
        // Counted here too, in case the `pthread_atfork` handler was not
        // registered yet (see `fork_safe`).
        fork_safe::bump_in_child();
        return Ok(Forked::Child);
    }
    Ok(Forked::Parent(pid))
}

/// `pidfd_open(2)`: a descriptor that tracks one process, immune to pid reuse.
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
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// Sends `signal` to this very process.
pub(crate) fn raise_self(signal: i32) {
    // SAFETY: kill on our own pid with a valid signal number.
    unsafe {
        libc::kill(libc::getpid(), signal);
    }
}

/// `getpid(2)`.
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// Ignores `SIGPIPE`, as a Rust `main` does: code that runs before `main`
/// (the spawn and forkserver boot) must get `EPIPE`, not death, from a closed
/// peer.
pub(crate) fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN for SIGPIPE has no memory-safety hazards.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// One `sendmsg` of `data` with `fds` attached as SCM_RIGHTS, without
/// `SIGPIPE`; returns the bytes sent.
fn sendmsg_once(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>], flags: i32) -> io::Result<usize> {
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let fd_bytes = std::mem::size_of_val(raw.as_slice()) as u32;
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes) } as usize;
    let mut control = vec![0u8; space.max(1)];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is valid before we fill it.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !raw.is_empty() {
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        // SAFETY: `control` is CMSG_SPACE(fd_bytes) long, so the first header
        // and its data fit; the pointers come from the libc macros.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes) as _;
            std::ptr::copy_nonoverlapping(raw.as_ptr(), libc::CMSG_DATA(cmsg) as *mut RawFd, raw.len());
        }
    }
    retry(|| {
        // SAFETY: `msg` points at live buffers for the duration of the call.
        cvt(unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL | flags) }).map(|n| n as usize)
    })
}

/// Sends `data` on a stream socket with `fds` attached (to its first byte).
pub(crate) fn send_with_fds(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let sent = sendmsg_once(sock, data, fds, 0)?;
    if sent < data.len() {
        // The descriptors went with the first byte; the rest is plain data.
        write_all(sock, &data[sent..])?;
    }
    Ok(())
}

/// Sends one whole message on a `SOCK_SEQPACKET` socket, without waiting
/// (`WouldBlock` when there is no room).
pub(crate) fn send_message(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    sendmsg_once(sock, data, fds, libc::MSG_DONTWAIT).map(drop)
}

/// Receives up to `buf.len()` bytes and any SCM_RIGHTS descriptors sent with
/// them. Returns `(bytes read, descriptors)`; 0 bytes means end of file.
pub(crate) fn recv_with_fds(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    recv_with_fds_flags(sock, buf, 0)
}

/// Like [`recv_with_fds`], leaving the message on the socket (`MSG_PEEK`):
/// the descriptors returned are new copies of the ones it carries.
pub(crate) fn peek_with_fds(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    recv_with_fds_flags(sock, buf, libc::MSG_PEEK)
}

fn recv_with_fds_flags(sock: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> io::Result<(usize, Vec<OwnedFd>)> {
    // The kernel's own cap (SCM_MAX_FD): a process start's frame carries
    // every descriptor of its arguments — four per queue — at once.
    const MAX_FDS: usize = 253;
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<RawFd>()) as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is valid before we fill it.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = space as _;
    let n = retry(|| {
        // SAFETY: `msg` points at live, writable buffers for the call.
        cvt(unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC | flags) })
    })? as usize;
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `control` up to msg_controllen; the libc
    // macros walk only within it.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                let len = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                for i in 0..len / std::mem::size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "too many descriptors in one message",
        ));
    }
    Ok((n, fds))
}

/// Writes all of `data` to a socket, without `SIGPIPE`, waiting for room if
/// the socket is non-blocking.
pub(crate) fn write_all(sock: BorrowedFd<'_>, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: `data` is a valid readable buffer of `data.len()` bytes.
        let ret = unsafe {
            libc::send(
                sock.as_raw_fd(),
                data.as_ptr() as *const libc::c_void,
                data.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        match cvt(ret) {
            Ok(n) => data = &data[n as usize..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                poll(&[(sock, libc::POLLOUT)], None)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of several buffers, in order, with as few `sendmsg` calls as
/// the socket allows, without `SIGPIPE`; waits for room on a non-blocking
/// socket.
pub(crate) fn write_all_vectored(sock: BorrowedFd<'_>, bufs: &[&[u8]]) -> io::Result<()> {
    let total: usize = bufs.iter().map(|b| b.len()).sum();
    let mut done = 0;
    while done < total {
        // Skip what is sent; build iovecs for the rest.
        let mut skip = done;
        let mut iov: Vec<libc::iovec> = Vec::with_capacity(bufs.len());
        for b in bufs {
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            iov.push(libc::iovec {
                iov_base: b[skip..].as_ptr() as *mut libc::c_void,
                iov_len: b.len() - skip,
            });
            skip = 0;
        }
        // SAFETY: msghdr is plain data; zeroed is valid before we fill it.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len() as _;
        // SAFETY: the iovecs point into `bufs`, alive for the call.
        match cvt(unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) }) {
            Ok(n) => done += n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                poll(&[(sock, libc::POLLOUT)], None)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One non-blocking `send` without `SIGPIPE`; returns the bytes taken.
pub(crate) fn write_nonblocking(sock: BorrowedFd<'_>, data: &[u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: `data` is a valid readable buffer of `data.len()` bytes.
        cvt(unsafe {
            libc::send(
                sock.as_raw_fd(),
                data.as_ptr() as *const libc::c_void,
                data.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        })
        .map(|n| n as usize)
    })
}

/// `read(2)` once; `WouldBlock` is returned as an error for the caller.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: `buf` is a valid writable buffer of `buf.len()` bytes.
        cvt(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len()) }).map(|n| n as usize)
    })
}

/// `read(2)` of up to `max` bytes appended to `buf`, written straight into
/// its spare capacity.
pub(crate) fn read_into_spare(fd: BorrowedFd<'_>, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let want = spare.len().min(max);
    let n = retry(|| {
        // SAFETY: `spare` is writable memory of at least `want` bytes owned
        // by `buf`; read writes at most `want` bytes into it.
        cvt(unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr() as *mut libc::c_void, want) }).map(|n| n as usize)
    })?;
    // SAFETY: the kernel initialized the first `n` spare bytes.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// Reads exactly `buf.len()` bytes from a blocking descriptor.
pub(crate) fn read_exact(fd: BorrowedFd<'_>, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match read(fd, buf)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf = &mut buf[n..],
        }
    }
    Ok(())
}

/// Switches `O_NONBLOCK` on or off.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: fcntl on a valid descriptor with integer arguments.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
}

/// Lets up to `backlog` connections wait for `accept` on a listening
/// socket (std's listeners ask for 128; the kernel caps the number at
/// `net.core.somaxconn`).
#[cfg(feature = "manager")]
pub(crate) fn set_backlog(fd: BorrowedFd<'_>, backlog: i32) -> io::Result<()> {
    // SAFETY: listen on a valid descriptor with an integer argument; on a
    // socket that already listens it only changes the backlog.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) }).map(drop)
}

/// Asks for `bytes` of kernel buffer in each direction of a socket (the
/// kernel caps it at `net.core.[rw]mem_max`): fewer wake-ups per large
/// message.
pub(crate) fn set_socket_buffers(sock: BorrowedFd<'_>, bytes: i32) {
    for option in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        // SAFETY: setsockopt reads an int from a valid pointer.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                &bytes as *const i32 as *const libc::c_void,
                std::mem::size_of::<i32>() as libc::socklen_t,
            );
        }
    }
}

/// Connects a close-on-exec `AF_UNIX` stream socket to `name`: a path, or
/// (with `abstract_name`) a name in the abstract namespace. A listener whose
/// backlog is full makes `connect` wait; with a `deadline` it waits no
/// longer than that (the kernel bounds a blocking `connect` by the
/// socket's send timeout) and fails with `TimedOut`.
#[cfg(feature = "manager")]
pub(crate) fn unix_connect(
    name: &[u8],
    abstract_name: bool,
    deadline: Option<Instant>,
) -> io::Result<std::os::unix::net::UnixStream> {
    // SAFETY: `sockaddr_un` is plain data, and all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // An abstract name starts with a NUL byte; a path ends with one.
    let start = usize::from(abstract_name);
    let used = start + name.len() + usize::from(!abstract_name);
    if name.is_empty() || used > addr.sun_path.len() || (!abstract_name && name.contains(&0)) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a usable socket name"));
    }
    for (slot, b) in addr.sun_path[start..].iter_mut().zip(name) {
        *slot = *b as libc::c_char;
    }
    let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + used;
    // SAFETY: a plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: the kernel just returned this descriptor to us alone.
    let stream = std::os::unix::net::UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if let Some(deadline) = deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
    }
    loop {
        // SAFETY: `addr` is an initialized `sockaddr_un` whose first `len`
        // bytes are the address; the descriptor is ours.
        let r = unsafe {
            libc::connect(
                stream.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                len as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EISCONN) => break,
            Some(libc::EAGAIN | libc::EINPROGRESS) => return Err(io::ErrorKind::TimedOut.into()),
            _ => return Err(e),
        }
    }
    if deadline.is_some() {
        // Later writes have timeouts of their own.
        stream.set_write_timeout(None)?;
    }
    Ok(stream)
}

/// A connected pair of `AF_UNIX` stream sockets, both close-on-exec.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    unix_pair(libc::SOCK_STREAM)
}

/// A connected pair of `AF_UNIX` sockets of `kind`, both close-on-exec.
fn unix_pair(kind: i32) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, kind | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) })?;
    // SAFETY: the kernel just returned these two descriptors to us alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Builds an `OwnedFd` from a descriptor number inherited across `exec`.
///
/// # Safety
/// `fd` must be open and owned by nobody else in this process.
pub(crate) unsafe fn adopt_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: guaranteed by the caller.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Whether `fd` is an open descriptor of this process.
pub(crate) fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any integer is harmless; EBADF tells it is closed.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Closes a raw descriptor number that this process owns but holds no
/// `OwnedFd` for (the forkserver's control socket in a forked child).
pub(crate) fn close_raw(fd: RawFd) {
    // SAFETY: the caller passes a descriptor whose owner lives in the parent's
    // address space only; in this child nobody else uses it.
    unsafe {
        libc::close(fd);
    }
}

/// The conventional name of a signal number (`"SIGKILL"`), or `"SIG?"`.
pub(crate) fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        _ => "SIG?",
    }
}

/// Signal numbers the crate sends.
pub(crate) use libc::{SIGINT, SIGKILL, SIGTERM};

/// A string set at most a few times per process and read from anywhere,
/// without a lock (a forked child must be able to set it whatever the
/// parent's other threads held). Old values are leaked, by design: they are
/// process identities, a few bytes each.
#[derive(Debug)]
pub(crate) struct StrSlot(std::sync::atomic::AtomicPtr<String>);

impl StrSlot {
    pub(crate) const fn new() -> Self {
        StrSlot(std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()))
    }

    pub(crate) fn set(&self, value: String) {
        let leaked: &'static mut String = Box::leak(Box::new(value));
        self.0.store(leaked, std::sync::atomic::Ordering::Release);
    }

    pub(crate) fn get(&self) -> Option<&'static str> {
        let ptr = self.0.load(std::sync::atomic::Ordering::Acquire);
        // SAFETY: a non-null pointer here always comes from `Box::leak` in
        // `set` and is never freed, so it is valid for 'static.
        (!ptr.is_null()).then(|| unsafe { (*ptr).as_str() })
    }
}

/// The lock word's bit that says a thread sleeps on it.
const LOCK_WAITERS: u32 = 1 << 31;
/// The lock word's owner thread id.
const LOCK_TID: u32 = !LOCK_WAITERS;
/// How long a waiter sleeps before it checks that the owner still lives.
const LIVENESS_CHECK: std::time::Duration = std::time::Duration::from_millis(20);

/// This thread's id (cached; refreshed after a fork, where the child's
/// thread has a new one).
#[inline]
pub(crate) fn current_tid() -> u32 {
    use std::cell::Cell;
    thread_local! {
        static CACHED: Cell<(u32, u32)> = const { Cell::new((u32::MAX, 0)) };
    }
    let generation = fork_generation();
    CACHED.with(|c| {
        let (seen, tid) = c.get();
        if seen == generation {
            return tid;
        }
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32 & LOCK_TID;
        c.set((generation, tid));
        tid
    })
}

/// Whether thread `tid` lives (in any process of this pid namespace). A
/// zombie — a killed process that its parent has not reaped yet — does not.
fn thread_exists(tid: u32) -> bool {
    // SAFETY: signal 0 sends nothing; kill only checks the target.
    let r = unsafe { libc::kill(tid as libc::pid_t, 0) };
    if r != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{tid}/stat")) {
        // The state is the first field after the command's closing paren.
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => true, // no /proc: trust kill
    }
}

/// How a [`SharedRegion::lock_mutex`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    /// Acquired.
    Yes,
    /// Acquired from a holder that died while holding it.
    OwnerDied,
    /// Not acquired: held elsewhere past the deadline (or at once, for a try).
    Busy,
}

/// A block of memory shared with other processes: an anonymous `memfd`
/// mapped `MAP_SHARED`. The kernel frees it with its last descriptor and
/// mapping, so nothing is left in `/dev/shm` whatever happens.
#[derive(Debug)]
pub(crate) struct SharedRegion {
    fd: OwnedFd,
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; all access goes through
// atomics (`atomic_u64`), which are safe to use from any thread.
unsafe impl Send for SharedRegion {}
// SAFETY: as above.
unsafe impl Sync for SharedRegion {}

impl SharedRegion {
    /// A new zeroed region of `len` bytes.
    pub(crate) fn new(name: &str, len: usize) -> io::Result<Self> {
        let cname = std::ffi::CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: `cname` is a valid NUL-terminated string.
        let fd = cvt(unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) })?;
        // SAFETY: memfd_create returned a fresh descriptor we alone own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: ftruncate on a valid descriptor.
        cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) })?;
        Self::map(fd)
    }

    /// A region holding a copy of `bytes`, for a message too large to go
    /// through a socket in one piece: the receiver maps it, no second copy.
    pub(crate) fn from_bytes(name: &str, bytes: &[u8]) -> io::Result<OwnedFd> {
        use std::io::Write;
        let region = Self::new(name, bytes.len().max(1))?;
        let fd = region.fd.try_clone()?;
        drop(region);
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        Ok(OwnedFd::from(file))
    }

    /// Maps a region received from another process.
    pub(crate) fn map(fd: OwnedFd) -> io::Result<Self> {
        // SAFETY: fstat fills a plain-data struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is valid for writing.
        cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
        let len = st.st_size as usize;
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "empty shared region"));
        }
        // SAFETY: mapping a whole regular file read-write and shared; the
        // kernel validates the descriptor and length.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = std::ptr::NonNull::new(ptr as *mut u8).ok_or(io::ErrorKind::InvalidData)?;
        Ok(SharedRegion { fd, ptr, len })
    }

    /// The descriptor, to hand to another process.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The 4-byte atomic at byte `offset`, or `None` when out of bounds or
    /// misaligned.
    pub(crate) fn atomic_u32(&self, offset: usize) -> Option<&std::sync::atomic::AtomicU32> {
        if offset % 4 != 0 || offset.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: in bounds and 4-aligned; lives as long as `self`; other
        // processes only access it atomically too.
        Some(unsafe { &*(self.ptr.as_ptr().add(offset) as *const std::sync::atomic::AtomicU32) })
    }

    /// A raw pointer to byte `offset`, when `size` bytes from there are in
    /// bounds and `align`-aligned.
    #[inline]
    fn checked_ptr(&self, offset: usize, size: usize, align: usize) -> Option<*mut u8> {
        (offset % align == 0 && offset.checked_add(size)? <= self.len)
            // SAFETY: in bounds of the mapping, checked just above.
            .then(|| unsafe { self.ptr.as_ptr().add(offset) })
    }

    /// The three words of the lock at `offset`: the lock word (owner's
    /// thread id, and [`LOCK_WAITERS`]), the recursion count (touched only
    /// by the owner), and the kind (1: recursive).
    #[inline]
    fn mutex_words(&self, offset: usize) -> io::Result<(&AtomicU32, &AtomicU32, &AtomicU32)> {
        let outside = || io::Error::new(io::ErrorKind::InvalidInput, "mutex outside the region");
        let ptr = self.checked_ptr(offset, 12, 4).ok_or_else(outside)? as *const AtomicU32;
        // SAFETY: 12 bytes from `ptr` are in the mapping and 4-aligned
        // (checked just above); the mapping lives as long as `self`, and
        // every access to these words anywhere is atomic.
        Ok(unsafe { (&*ptr, &*ptr.add(1), &*ptr.add(2)) })
    }

    /// Initializes the process-shared lock at `offset` (recursive for an
    /// `RLock`): [`MUTEX_BYTES`] bytes. Only the creator of a fresh region
    /// calls this.
    pub(crate) fn init_mutex(&self, offset: usize, recursive: bool) -> io::Result<()> {
        let (word, count, kind) = self.mutex_words(offset)?;
        word.store(0, Ordering::Relaxed);
        count.store(0, Ordering::Relaxed);
        kind.store(u32::from(recursive), Ordering::Release);
        Ok(())
    }

    /// Locks the lock at `offset`: waits until `deadline` (`None`: as long
    /// as it takes), or not at all with `try_only`. A holder that died is
    /// reported as [`Locked::OwnerDied`] — the lock is then held.
    ///
    /// The lock word holds the owner's thread id, so taking a free lock is
    /// one compare-and-swap and releasing it one swap (a futex wake only
    /// when someone waits). A waiter sleeps on the futex at most
    /// [`LIVENESS_CHECK`] at a time, and before each sleep checks that the
    /// owner's thread still exists: one that died holding the lock (its
    /// process killed, say) is found within that period and its lock taken
    /// over. (A thread id reused by a new thread within one hold would
    /// delay that — thread ids cycle through millions.)
    #[inline]
    pub(crate) fn lock_mutex(&self, offset: usize, deadline: Option<Instant>, try_only: bool) -> io::Result<Locked> {
        let (word, count, _) = self.mutex_words(offset)?;
        let me = current_tid();
        if word
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            // The count is 1 for every hold of a plain lock too: then
            // `unlock` need not read the kind.
            count.store(1, Ordering::Relaxed);
            return Ok(Locked::Yes);
        }
        self.lock_mutex_contended(offset, me, deadline, try_only)
    }

    /// [`lock_mutex`](Self::lock_mutex) when the lock was not free.
    #[cold]
    #[inline(never)]
    fn lock_mutex_contended(
        &self,
        offset: usize,
        me: u32,
        deadline: Option<Instant>,
        try_only: bool,
    ) -> io::Result<Locked> {
        let (word, count, kind) = self.mutex_words(offset)?;
        let taken = |how: Locked| {
            count.store(1, Ordering::Relaxed);
            Ok(how)
        };
        let mut w = word.load(Ordering::Relaxed);
        if w & LOCK_TID == me && kind.load(Ordering::Relaxed) == 1 {
            count.fetch_add(1, Ordering::Relaxed);
            return Ok(Locked::Yes);
        }
        loop {
            if w == 0 {
                // Free: taken with the waiters bit, since others may sleep.
                match word.compare_exchange(0, me | LOCK_WAITERS, Ordering::Acquire, Ordering::Relaxed) {
                    Ok(_) => return taken(Locked::Yes),
                    Err(now) => {
                        w = now;
                        continue;
                    }
                }
            }
            let owner = w & LOCK_TID;
            if owner != me && !thread_exists(owner) {
                match word.compare_exchange(w, me | (w & LOCK_WAITERS), Ordering::Acquire, Ordering::Relaxed) {
                    Ok(_) => return taken(Locked::OwnerDied),
                    Err(now) => {
                        w = now;
                        continue;
                    }
                }
            }
            let now = Instant::now();
            if try_only || deadline.is_some_and(|d| now >= d) {
                return Ok(Locked::Busy);
            }
            if w & LOCK_WAITERS == 0 {
                if let Err(now) = word.compare_exchange(w, w | LOCK_WAITERS, Ordering::Relaxed, Ordering::Relaxed) {
                    w = now;
                    continue;
                }
                w |= LOCK_WAITERS;
            }
            let check = now + LIVENESS_CHECK;
            futex_wait(word, w, Some(deadline.map_or(check, |d| d.min(check))));
            w = word.load(Ordering::Relaxed);
        }
    }

    /// Unlocks the lock at `offset`, held by this thread (a guard, which
    /// cannot leave its thread, is the only caller).
    #[inline]
    pub(crate) fn unlock_mutex(&self, offset: usize) -> io::Result<()> {
        let (word, count, _) = self.mutex_words(offset)?;
        let c = count.load(Ordering::Relaxed);
        if c > 1 {
            count.store(c - 1, Ordering::Relaxed);
            return Ok(());
        }
        count.store(0, Ordering::Relaxed);
        if word.swap(0, Ordering::Release) & LOCK_WAITERS != 0 {
            futex_wake(word, 1);
        }
        Ok(())
    }

    /// The region's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The whole region as bytes (for a region only this process writes).
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes, alive as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The 8-byte atomic at byte `offset`, or `None` when out of bounds or
    /// misaligned.
    pub(crate) fn atomic_u64(&self, offset: usize) -> Option<&std::sync::atomic::AtomicU64> {
        if offset % 8 != 0 || offset.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY: in bounds and 8-aligned (mmap is page-aligned); the memory
        // lives as long as `self`, and AtomicU64 has the layout of u64. Other
        // processes only ever access it atomically too.
        Some(unsafe { &*(self.ptr.as_ptr().add(offset) as *const std::sync::atomic::AtomicU64) })
    }
}

impl Drop for SharedRegion {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `map`.
        unsafe {
            libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.len);
        }
    }
}

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

/// Pins the calling process to one CPU (`sched_setaffinity`).
pub(crate) fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes within it (the
    // index is checked against its size first).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        libc::CPU_SET(cpu, &mut set);
        cvt(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)).map(drop)
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the same clock in every process.
pub(crate) fn monotonic_ns() -> u64 {
    // SAFETY: timespec is plain data; clock_gettime fills it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a timespec.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The value of a zero-sized type, made from nothing: how a child calls a
/// non-capturing closure that `par_map!` registered by name (the closure's
/// type is known to the registry entry; its value carries no data).
/// A type with a size fails to compile.
pub(crate) fn conjure_zst<C: Copy>() -> C {
    const {
        assert!(
            std::mem::size_of::<C>() == 0,
            "only a closure that captures nothing can be lifted"
        )
    };
    // SAFETY: `C` has size zero (checked at compile time above), and a
    // zero-sized read from a dangling, aligned, non-null pointer is valid;
    // a capture-less closure has no invariant beyond its type.
    unsafe { std::ptr::NonNull::<C>::dangling().as_ptr().read() }
}

/// The descriptors multiproc's shared objects hold in this process (pipe
/// ends, pool channels): a lock-free bitmap, so that a forked child can
/// read it whatever the parent's other threads were doing, and close the
/// ones its task was not given — otherwise a child would keep, say, the
/// other end of a pipe open, and its reader would never see end of file.
pub(crate) mod fdreg {
    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    const WORDS: usize = 1024;
    static BITS: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
    static COUNT: AtomicUsize = AtomicUsize::new(0);

    fn slot(fd: RawFd) -> Option<(usize, u64)> {
        let fd = usize::try_from(fd).ok()?;
        (fd < WORDS * 64).then(|| (fd / 64, 1u64 << (fd % 64)))
    }

    /// Tracks `fd` (descriptors beyond 65 535 are not tracked).
    pub(crate) fn register(fd: RawFd) {
        if let Some((word, bit)) = slot(fd) {
            if BITS[word].fetch_or(bit, Ordering::AcqRel) & bit == 0 {
                COUNT.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Stops tracking `fd`; call before closing it.
    pub(crate) fn unregister(fd: RawFd) {
        if let Some((word, bit)) = slot(fd) {
            if BITS[word].fetch_and(!bit, Ordering::AcqRel) & bit != 0 {
                COUNT.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Whether any descriptor is tracked.
    pub(crate) fn any() -> bool {
        COUNT.load(Ordering::Acquire) > 0
    }

    /// In a forked child: closes every tracked descriptor not in `keep`.
    pub(crate) fn close_all_except(keep: &[RawFd]) {
        for (word, bits) in BITS.iter().enumerate() {
            let mut bits = bits.load(Ordering::Acquire);
            while bits != 0 {
                let fd = (word * 64 + bits.trailing_zeros() as usize) as RawFd;
                bits &= bits - 1;
                if !keep.contains(&fd) {
                    unregister(fd);
                    super::close_raw(fd);
                }
            }
        }
    }
}

/// A connected pair of `AF_UNIX` `SOCK_SEQPACKET` sockets (each `send` is
/// one message, each `recv` takes exactly one), close-on-exec.
pub(crate) fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    unix_pair(libc::SOCK_SEQPACKET)
}

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

/// Plain data of a region, held under the region's robust mutex: derefs to
/// `[T]` while alive, unlocks on drop. Not `Send`: a pthread mutex must be
/// unlocked by the thread that locked it.
pub(crate) struct LockedSlice<'a, T> {
    region: &'a SharedRegion,
    mutex: usize,
    data: *mut T,
    len: usize,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl<T> fmt::Debug for LockedSlice<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedSlice").field("len", &self.len).finish()
    }
}

impl SharedRegion {
    /// Locks the mutex at `mutex` here and lends the `len` values of `T` at
    /// `data` in `region` — this one, or another (a `Value` guarded by a
    /// `Lock` of the caller's). Every user of that data must take this same
    /// mutex: the caller's duty. `Busy` comes back without a guard.
    pub(crate) fn lock_slice_of<'a, T: bytemuck::Pod>(
        &'a self,
        mutex: usize,
        region: &'a SharedRegion,
        data: usize,
        len: usize,
        deadline: Option<Instant>,
        try_only: bool,
    ) -> io::Result<(Locked, Option<LockedSlice<'a, T>>)> {
        let size = std::mem::size_of::<T>()
            .checked_mul(len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "too long"))?;
        let ptr = region
            .checked_ptr(data, size, std::mem::align_of::<T>())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "data outside the region"))?;
        let locked = self.lock_mutex(mutex, deadline, try_only)?;
        if locked == Locked::Busy {
            return Ok((locked, None));
        }
        Ok((
            locked,
            Some(LockedSlice {
                region: self,
                mutex,
                data: ptr as *mut T,
                len,
                _not_send: std::marker::PhantomData,
            }),
        ))
    }
}

impl<T> std::ops::Deref for LockedSlice<'_, T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: the range is in bounds and aligned (checked when the guard
        // was made) in a region borrowed for as long as the guard lives,
        // `T: Pod` makes any bytes a valid `T`, and the mutex we hold is
        // what every process takes before touching this data.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

impl<T> std::ops::DerefMut for LockedSlice<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.len) }
    }
}

impl<T> Drop for LockedSlice<'_, T> {
    fn drop(&mut self) {
        let _ = self.region.unlock_mutex(self.mutex);
    }
}

impl SharedRegion {
    /// Copies `buf.len()` bytes at `offset` out of the region. Other
    /// processes may write meanwhile; the bytes are then a mix, as with any
    /// unsynchronized shared memory — but never undefined behaviour here:
    /// the copy goes through raw pointers, byte by byte, as volatile reads.
    pub(crate) fn read_at(&self, offset: usize, buf: &mut [u8]) -> io::Result<()> {
        let ptr = self
            .checked_ptr(offset, buf.len(), 1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "read outside the shared memory"))?;
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: in bounds (checked above); a volatile read of a byte
            // has no validity requirement.
            *b = unsafe { std::ptr::read_volatile(ptr.add(i)) };
        }
        Ok(())
    }

    /// Copies `bytes` into the region at `offset` (volatile writes; see
    /// [`read_at`](SharedRegion::read_at)).
    pub(crate) fn write_at(&self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        let ptr = self
            .checked_ptr(offset, bytes.len(), 1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "write outside the shared memory"))?;
        for (i, b) in bytes.iter().enumerate() {
            // SAFETY: in bounds (checked above); the mapping is writable.
            unsafe { std::ptr::write_volatile(ptr.add(i), *b) };
        }
        Ok(())
    }
}

impl SharedRegion {
    /// Reads the `T` at `offset` without any lock.
    ///
    /// # Safety
    /// No other thread or process may write those bytes meanwhile (a data
    /// race is undefined behaviour even for plain data).
    pub(crate) unsafe fn read_pod<T: bytemuck::Pod>(&self, offset: usize) -> io::Result<T> {
        let ptr = self
            .checked_ptr(offset, std::mem::size_of::<T>(), std::mem::align_of::<T>())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "outside the shared memory"))?;
        // SAFETY: in bounds and aligned (checked); any bytes are a valid `T`
        // (`Pod`); no concurrent writer, by the caller's contract.
        Ok(unsafe { std::ptr::read_volatile(ptr as *const T) })
    }

    /// Writes `value` at `offset` without any lock.
    ///
    /// # Safety
    /// No other thread or process may read or write those bytes meanwhile.
    pub(crate) unsafe fn write_pod<T: bytemuck::Pod>(&self, offset: usize, value: T) -> io::Result<()> {
        let ptr = self
            .checked_ptr(offset, std::mem::size_of::<T>(), std::mem::align_of::<T>())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "outside the shared memory"))?;
        // SAFETY: in bounds and aligned (checked); exclusive access by the
        // caller's contract.
        unsafe { std::ptr::write_volatile(ptr as *mut T, value) };
        Ok(())
    }
}

impl SharedRegion {
    /// The `n` 8-byte atomics from byte `offset` on, or `None` when out of
    /// bounds or misaligned: shared memory that several processes read and
    /// write word by word (a queue's ring), with no data race possible —
    /// every access is atomic.
    pub(crate) fn atomic_u64_slice(&self, offset: usize, n: usize) -> Option<&[std::sync::atomic::AtomicU64]> {
        let ptr = self.checked_ptr(offset, n.checked_mul(8)?, 8)?;
        // SAFETY: `n` words from `ptr` are in bounds and 8-aligned (checked
        // above; mmap is page-aligned); the mapping lives as long as `self`;
        // AtomicU64 has the layout of u64 and any bit pattern is valid; every
        // process accesses this memory through atomics only.
        Some(unsafe { std::slice::from_raw_parts(ptr as *const std::sync::atomic::AtomicU64, n) })
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

/// `pipe2(O_CLOEXEC)`: the read end, then the write end.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: two fresh descriptors that we alone own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Standard output's descriptor, for [`redirect_onto`].
pub(crate) const STDOUT: RawFd = libc::STDOUT_FILENO;
/// Standard error's descriptor, for [`redirect_onto`].
pub(crate) const STDERR: RawFd = libc::STDERR_FILENO;

/// Makes `fd` this process's standard output or error (`dup2(fd, target)`
/// with `target` [`STDOUT`] or [`STDERR`]; the copy is inherited across
/// `exec`).
pub(crate) fn redirect_onto(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    if target != STDOUT && target != STDERR {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: dup2 onto 1 or 2 replaces a standard descriptor, which std
    // treats as always open; it stays open, now on `fd`'s file.
    cvt(unsafe { libc::dup2(fd.as_raw_fd(), target) }).map(drop)
}
