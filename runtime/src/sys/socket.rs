//! Unix sockets: pairs, connecting by name, messages with descriptors
//! (`SCM_RIGHTS`), buffer sizes and backlogs.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
#[cfg(feature = "manager")]
use std::time::Instant;

use super::{cvt, retry, write_all};

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

/// A connected pair of `AF_UNIX` `SOCK_SEQPACKET` sockets (each `send` is
/// one message, each `recv` takes exactly one), close-on-exec.
pub(crate) fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    unix_pair(libc::SOCK_SEQPACKET)
}
