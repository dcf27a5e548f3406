//! Who is at the other end of a Unix socket (`SO_PEERCRED`), and who we
//! are: what a manager's local socket checks in both directions.

#[cfg(feature = "manager")]
use std::io;
#[cfg(feature = "manager")]
use std::os::fd::{AsRawFd, BorrowedFd};

/// The credentials the kernel recorded for a Unix socket's peer: for a
/// connected client, at `connect`; for a server, at `listen`.
#[cfg(feature = "manager")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerCred {
    pub(crate) pid: i32,
    pub(crate) uid: u32,
}

/// The peer of the connected Unix socket `sock`.
#[cfg(feature = "manager")]
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> io::Result<PeerCred> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a valid, writable `ucred` and `len` holds its size,
    // as SO_PEERCRED expects; the kernel writes at most `len` bytes.
    let ret = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast::<libc::c_void>(),
            &mut len,
        )
    };
    super::cvt(ret)?;
    if len as usize != std::mem::size_of::<libc::ucred>() {
        return Err(io::Error::other("SO_PEERCRED returned a short answer"));
    }
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
    })
}

/// This process's effective user id.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
