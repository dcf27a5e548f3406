//! A `BaseManager`'s local twin: a Unix socket beside its TCP port, for
//! clients on the same machine (whose calls then go through a shared page
//! instead of the network stack) — and how each side makes sure the other
//! is who it should be.
//!
//! The twin is a file-system socket in a directory that only the server's
//! user can write: `/run/multiproc` for root, `/run/user/UID/multiproc`
//! for others (no twin for a user without `/run/user/UID`). Both parents
//! are writable by root alone, so no other user can make that directory,
//! and the directory is checked (a real directory, owned by the user,
//! mode 0700) by the server before it binds and by the client before it
//! connects. Then the kernel's word on the peer (`SO_PEERCRED`) is checked
//! both ways: the server serves only its own user (or root), the client
//! talks only to a server of its own user (or root). A name that anyone
//! can bind — an abstract socket named after the port, as before — is
//! never tried.
//!
//! A client that finds no twin (no directory, no socket, or a stale socket
//! nobody listens on) uses TCP, which reaches whoever holds the port; one
//! that finds a twin it cannot verify gets an error and never falls back.

use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use super::conn::Deadline;
use crate::error::{Error, Result};
use crate::sys::{self, peercred};

/// The directory where servers of `uid` keep their twins, if that user has
/// one that no other user could have made.
fn twin_dir(uid: u32) -> Option<PathBuf> {
    if uid == 0 {
        return Some(PathBuf::from("/run/multiproc"));
    }
    let base = PathBuf::from(format!("/run/user/{uid}"));
    let meta = std::fs::symlink_metadata(&base).ok()?;
    (meta.is_dir() && meta.uid() == uid).then(|| base.join("multiproc"))
}

/// The twin of the server on TCP port `port`, for a server or client run
/// by `uid`.
pub(crate) fn twin_path(uid: u32, port: u16) -> Option<PathBuf> {
    twin_dir(uid).map(|d| d.join(format!("basemanager-{port}.sock")))
}

/// Checks that `dir` is a directory (not a link to one) of `uid` that no
/// one else can write or read. `Ok(false)` when it does not exist.
fn check_dir(dir: &Path, uid: u32) -> Result<bool> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("inspecting the manager's socket directory")(e)),
    };
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(Error::AuthenticationFailed(format!(
            "{} is not a directory of uid {uid} with mode 0700 (it is {}, uid {}, mode {:o}): \
             a manager's local socket there cannot be trusted",
            dir.display(),
            if meta.is_dir() {
                "a directory"
            } else {
                "not a directory"
            },
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(true)
}

/// Checks that the peer of `sock` runs as this process's user or as root.
pub(crate) fn check_peer(sock: BorrowedFd<'_>, what: &str) -> Result<()> {
    let me = peercred::euid();
    let peer = peercred::peer_cred(sock).map_err(Error::io("reading a local peer's credentials"))?;
    if peer.uid == me || peer.uid == 0 {
        return Ok(());
    }
    Err(Error::AuthenticationFailed(format!(
        "{what} belongs to uid {} (pid {}), not to uid {me} or root",
        peer.uid, peer.pid
    )))
}

/// A bound twin; the socket file goes when it is dropped.
#[derive(Debug)]
pub(crate) struct Twin {
    pub(crate) listener: UnixListener,
    path: PathBuf,
}

impl Drop for Twin {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Server side: binds the twin of TCP port `port`. `Ok(None)` when this
/// user has no place for one, or another live server of this user holds
/// it (it then serves local clients of that port itself).
///
/// # Errors
/// [`Error::AuthenticationFailed`] when the directory exists but is not
/// this user's alone: a twin there could be replaced by someone else.
pub(crate) fn bind_twin(port: u16) -> Result<Option<Twin>> {
    let uid = peercred::euid();
    let Some(path) = twin_path(uid, port) else {
        return Ok(None);
    };
    let dir = path
        .parent()
        .unwrap_or_else(|| unreachable!("a twin's path has a directory"));
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        // No /run (a bare container): no twin.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("making the manager's socket directory")(e)),
    }
    if !check_dir(dir, uid)? {
        return Ok(None);
    }
    if UnixStream::connect(&path).is_ok() {
        return Ok(None);
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("removing a stale manager socket")(e)),
    }
    let listener = UnixListener::bind(&path).map_err(Error::io("binding the manager's local socket"))?;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    Ok(Some(Twin { listener, path }))
}

/// Client side: the twin of the server on TCP port `port`, checked.
/// `Ok(None)` when there is none to use (no directory, no socket, or a
/// stale socket nobody listens on): TCP then.
///
/// # Errors
/// [`Error::AuthenticationFailed`] when the directory or the socket's
/// owner is not what a server of this user would have made.
pub(crate) fn find_twin(port: u16, by: Deadline) -> Result<Option<(PathBuf, UnixStream)>> {
    let uid = peercred::euid();
    let Some(path) = twin_path(uid, port) else {
        return Ok(None);
    };
    let dir = path
        .parent()
        .unwrap_or_else(|| unreachable!("a twin's path has a directory"));
    if !check_dir(dir, uid)? {
        return Ok(None);
    }
    let stream = match sys::unix_connect(path.as_os_str().as_bytes(), false, Some(by.at())) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused) => return Ok(None),
        Err(e) => return Err(by.connect_failed(path.display(), e)),
    };
    check_peer(
        std::os::fd::AsFd::as_fd(&stream),
        &format!("the manager socket {}", path.display()),
    )?;
    Ok(Some((path, stream)))
}
