//! Descriptors: reads and writes that retry, blocking mode, pipes,
//! redirection, adoption and closing, and [`fdreg`], the registry of the
//! descriptors a forked child must close.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};

use super::{cvt, poll, retry};

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
    let mut flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    flags.set(OFlag::O_NONBLOCK, on);
    fcntl(fd, FcntlArg::F_SETFL(flags))?;
    Ok(())
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

/// `pipe2(O_CLOEXEC)`: the read end, then the write end.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
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
