//! POSIX shared memory by name (`shm_open`, files under `/dev/shm`): what
//! `SharedMemory::create` and `SharedMemory::open` are made of.
//!
//! Names are checked by the caller (`shared/memory.rs`); here they arrive without
//! their leading `/`. glibc's `shm_open` opens `/dev/shm/NAME` with
//! `O_NOFOLLOW | O_CLOEXEC` added, so a symbolic link planted under the
//! name is refused by the kernel (`ELOOP`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::cvt;

/// What `fstat` says of an opened object: enough to decide whether to
/// trust it, and to recognise it again under its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) uid: u32,
    /// The permission bits (`st_mode & 0o7777`).
    pub(crate) mode: u32,
    pub(crate) regular: bool,
    pub(crate) size: u64,
}

fn path(name: &str) -> io::Result<CString> {
    CString::new(format!("/{name}")).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// `fstat` of `fd`.
pub(crate) fn file_id(fd: BorrowedFd<'_>) -> io::Result<FileId> {
    // SAFETY: `stat` is plain data; all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writing and `fd` is an open descriptor.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(FileId {
        dev: st.st_dev,
        ino: st.st_ino,
        uid: st.st_uid,
        mode: st.st_mode & 0o7777,
        regular: st.st_mode & libc::S_IFMT == libc::S_IFREG,
        size: u64::try_from(st.st_size).unwrap_or(0),
    })
}

/// Creates the object `name` — never one that exists already
/// (`O_CREAT | O_EXCL`: `ErrorKind::AlreadyExists` then), readable and
/// writable by its owner only (mode 0600) — and sizes it to `len` bytes
/// of zeroes. If sizing fails, the name is removed again.
pub(crate) fn create(name: &str, len: usize) -> io::Result<OwnedFd> {
    let path = path(name)?;
    let size = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `path` is a valid NUL-terminated string; shm_open has no
    // other preconditions.
    let fd = cvt(unsafe {
        libc::shm_open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o600,
        )
    })?;
    // SAFETY: shm_open returned a fresh descriptor that we alone own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ftruncate on a valid descriptor, with a non-negative size.
    if let Err(e) = cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), size) }) {
        let _ = unlink(name);
        return Err(e);
    }
    Ok(fd)
}

/// Opens the existing object `name` for reading and writing, and says
/// what it is. Nothing is trusted yet: the caller checks the [`FileId`].
/// `O_NONBLOCK` so that a FIFO planted under the name cannot make the
/// open wait.
pub(crate) fn open(name: &str) -> io::Result<(OwnedFd, FileId)> {
    let path = path(name)?;
    // SAFETY: `path` is a valid NUL-terminated string; with no O_CREAT the
    // mode is ignored.
    let fd = cvt(unsafe { libc::shm_open(path.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC, 0) })?;
    // SAFETY: shm_open returned a fresh descriptor that we alone own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let id = file_id(std::os::fd::AsFd::as_fd(&fd))?;
    Ok((fd, id))
}

/// Removes the name `name` (the memory lives on while anyone maps it).
pub(crate) fn unlink(name: &str) -> io::Result<()> {
    let path = path(name)?;
    // SAFETY: `path` is a valid NUL-terminated string.
    cvt(unsafe { libc::shm_unlink(path.as_ptr()) }).map(drop)
}

/// What [`unlink_if`] found under the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unlinked {
    /// Our object, now unlinked.
    Yes,
    /// Nothing.
    Missing,
    /// Another object (ours was unlinked and the name taken again): left
    /// alone.
    Other,
}

/// Removes `name` only while it still names the object `ours` (same
/// device and inode): a name that was unlinked and taken again by someone
/// else is left to them. (Between the check and the unlink another
/// process could still swap the object; only the names' owners can, as
/// `/dev/shm` is sticky.)
pub(crate) fn unlink_if(name: &str, ours: FileId) -> io::Result<Unlinked> {
    let path = path(name)?;
    // SAFETY: `path` is a valid NUL-terminated string; with no O_CREAT the
    // mode is ignored.
    let fd = unsafe { libc::shm_open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC, 0) };
    let fd = match cvt(fd) {
        // SAFETY: shm_open returned a fresh descriptor that we alone own.
        Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Unlinked::Missing),
        // Not ours to open (another user's, a link): not ours to remove.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::ELOOP | libc::EISDIR)) => {
            return Ok(Unlinked::Other)
        }
        Err(e) => return Err(e),
    };
    let now = file_id(std::os::fd::AsFd::as_fd(&fd))?;
    if (now.dev, now.ino) != (ours.dev, ours.ino) {
        return Ok(Unlinked::Other);
    }
    match unlink(name) {
        Ok(()) => Ok(Unlinked::Yes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Unlinked::Missing),
        Err(e) => Err(e),
    }
}
