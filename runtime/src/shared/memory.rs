//! [`SharedMemory`]: a raw block, anonymous or by name in `/dev/shm`.

use std::fmt;

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::segment::Segment;

/// A raw block of bytes that several processes map — Python 3.8's
/// `shared_memory.SharedMemory`. Access is unsynchronized, as in Python:
/// pair it with a [`Lock`](crate::sync::Lock) when several processes write.
///
/// Two kinds, with one API:
///
/// - **anonymous** ([`new`](SharedMemory::new)): no name, and the kernel
///   frees it with its last user, so a crash leaves nothing in
///   `/dev/shm`. It reaches a child as an argument of a `#[process_fn]`.
/// - **named** ([`create`](SharedMemory::create) and
///   [`open`](SharedMemory::open)): a POSIX shared memory object,
///   `/dev/shm/NAME`, that unrelated processes attach to by name, as
///   Python's `SharedMemory(name, create=True, size=…)` and
///   `SharedMemory(name)`.
///
/// # Named blocks: trust and lifetime
///
/// - `create` never reuses a name: a taken one is
///   [`Error::SharedMemoryExists`], whoever took it. The object is made
///   readable and writable by its owner only (mode 0600).
/// - `open` trusts only what this user could have made with `create`: an
///   object owned by another user, one that gives any access to group or
///   others, or anything but a plain non-empty file is
///   [`Error::SharedMemoryRefused`]; a symbolic link under the name is
///   refused by the kernel.
/// - The creator removes the name when its last handle (in the process
///   that created it) is dropped, or at [`unlink`](SharedMemory::unlink).
///   Other processes keep the memory mapped until they drop their
///   handles; only the name goes. Handles in other processes never remove
///   it, so their crash leaves nothing behind.
/// - If the creator itself dies without dropping (SIGKILL, `abort`, a
///   `panic = "abort"` build), the name stays in `/dev/shm` until someone
///   removes it: [`SharedMemory::unlink_name`], or `rm /dev/shm/NAME`.
///   (Python has the same gap, and its resource tracker, a process of its
///   own, to warn about it.)
/// - Passed to a child as an argument, a named block travels like the
///   anonymous one (its descriptor), with its name; the child's handle is
///   not the creator's and does not remove the name on drop.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::SharedMemory;
///
/// #[process_fn]
/// fn write_hello(shm: SharedMemory) {
///     shm.write_at(0, b"hello").unwrap();
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let shm = SharedMemory::new(64)?;
/// Process::builder().start(write_hello, (shm.clone(),))?.join()?;
/// let mut buf = [0u8; 5];
/// shm.read_at(0, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok(())
/// # }
/// ```
///
/// By name, from a process that was given nothing but the name:
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::SharedMemory;
///
/// #[process_fn]
/// fn greet(name: String) -> multiproc::Result<()> {
///     SharedMemory::open(&name)?.write_at(0, b"hi")
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let name = format!("doc-greet-{}", std::process::id());
/// let shm = SharedMemory::create(&name, 16)?;
/// Process::builder().start(greet, (name.clone(),))?.join()??;
/// let mut buf = [0u8; 2];
/// shm.read_at(0, &mut buf)?;
/// assert_eq!(&buf, b"hi");
/// drop(shm); // the creator's last handle: the name is removed
/// assert!(matches!(SharedMemory::open(&name), Err(multiproc::Error::SharedMemoryNotFound(_))));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SharedMemory {
    seg: Arc<Segment>,
    /// `None`: anonymous.
    name: Option<Arc<ShmName>>,
}

/// The name of a named block, shared by the clones of one handle; the
/// creator's removes the name when the last clone goes.
struct ShmName {
    name: String,
    /// The object the name was given to, to recognise it before removing
    /// the name.
    id: crate::sys::shm::FileId,
    /// The pid of the process that created the block, in the creator's
    /// handles; `None` in every other. A forked child holds a copy of the
    /// creator's handle: it is told apart by its pid and removes nothing.
    creator: Option<i32>,
    /// Set by `unlink`: nothing left to remove.
    unlinked: std::sync::atomic::AtomicBool,
}

impl Drop for ShmName {
    fn drop(&mut self) {
        if self.creator == Some(crate::sys::getpid()) && !self.unlinked.load(Ordering::Relaxed) {
            // Best effort: a drop has no one to report to. Another object
            // under the name (ours was unlinked elsewhere and the name
            // taken again) is left alone.
            let _ = crate::sys::shm::unlink_if(&self.name, self.id);
        }
    }
}

/// The longest name: a file name's limit (`NAME_MAX`).
const MAX_NAME: usize = 255;

/// Checks a name for a named block: one file name under `/dev/shm`.
fn check_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_NAME {
        "is longer than 255 bytes"
    } else if name.contains('/') {
        "contains '/' (give the name without a leading slash)"
    } else if name.contains('\0') {
        "contains a NUL byte"
    } else if name == "." || name == ".." {
        "is not a file name"
    } else {
        return Ok(());
    };
    Err(Error::Usage(
        format!("the shared memory name {name:?} {problem}").into(),
    ))
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SharedMemory");
        if let Some(name) = self.name() {
            d.field("name", &name);
        }
        d.field("size", &self.size()).finish()
    }
}

impl SharedMemory {
    /// A zeroed anonymous block of `size` bytes.
    ///
    /// # Errors
    /// [`Error::Usage`] for size 0; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::SharedMemory::new(4096).unwrap().size(), 4096);
    /// ```
    pub fn new(size: usize) -> Result<Self> {
        if size == 0 {
            return Err(Error::Usage("shared memory needs at least one byte".into()));
        }
        Ok(SharedMemory {
            seg: Segment::new("multiproc-shared-memory", size)?,
            name: None,
        })
    }

    /// A zeroed block of `size` bytes named `name` (Python's
    /// `SharedMemory(name, create=True, size=size)`), which other
    /// processes of this user can [`open`](SharedMemory::open). The name
    /// is removed when this process drops its last handle to the block,
    /// or at [`unlink`](SharedMemory::unlink) (see the type's
    /// documentation for a creator that is killed).
    ///
    /// A name is one file name: not empty, at most 255 bytes, no `/` (the
    /// leading one of `shm_open` is added here).
    ///
    /// # Errors
    /// [`Error::SharedMemoryExists`] when the name is taken;
    /// [`Error::Usage`] for a bad name or size 0; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    /// use multiproc::Error;
    ///
    /// let name = format!("doc-create-{}", std::process::id());
    /// let shm = SharedMemory::create(&name, 100).unwrap();
    /// assert_eq!((shm.name(), shm.size()), (Some(name.as_str()), 100));
    /// assert!(matches!(SharedMemory::create(&name, 100), Err(Error::SharedMemoryExists(_))));
    /// assert!(matches!(SharedMemory::create("a/b", 100), Err(Error::Usage(_))));
    /// ```
    pub fn create(name: &str, size: usize) -> Result<Self> {
        check_name(name)?;
        if size == 0 {
            return Err(Error::Usage("shared memory needs at least one byte".into()));
        }
        let fd = crate::sys::shm::create(name, size).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::SharedMemoryExists(name.to_string()),
            _ => Error::io("creating named shared memory")(e),
        })?;
        let made = (|| {
            let id = crate::sys::shm::file_id(fd.as_fd()).map_err(Error::io("fstat"))?;
            Ok((Segment::from_fd(fd)?, id))
        })();
        let (seg, id) = match made {
            Ok(made) => made,
            Err(e) => {
                let _ = crate::sys::shm::unlink(name);
                return Err(e);
            }
        };
        Ok(SharedMemory {
            seg,
            name: Some(Arc::new(ShmName {
                name: name.to_string(),
                id,
                creator: Some(crate::sys::getpid()),
                unlinked: false.into(),
            })),
        })
    }

    /// Attaches to the block named `name` (Python's
    /// `SharedMemory(name)`); its size is the one it was created with.
    /// Only a block this user could have made with
    /// [`create`](SharedMemory::create) is accepted: owned by this user
    /// (the effective uid), with no access for group or others, a plain
    /// non-empty file. This handle does not remove the name on drop.
    ///
    /// # Errors
    /// [`Error::SharedMemoryNotFound`] when no block has the name;
    /// [`Error::SharedMemoryRefused`] for one that fails the checks above
    /// (or cannot be opened for lack of permission); [`Error::Usage`] for
    /// a bad name; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    ///
    /// let name = format!("doc-open-{}", std::process::id());
    /// let created = SharedMemory::create(&name, 8).unwrap();
    /// created.write_at(0, b"x").unwrap();
    /// let opened = SharedMemory::open(&name).unwrap();
    /// let mut b = [0u8];
    /// opened.read_at(0, &mut b).unwrap();
    /// assert_eq!((&b, opened.size()), (b"x", 8));
    /// assert!(SharedMemory::open("doc-open-no-such-name").is_err());
    /// ```
    pub fn open(name: &str) -> Result<Self> {
        check_name(name)?;
        let refused = |reason: String| Error::SharedMemoryRefused {
            name: name.to_string(),
            reason,
        };
        let (fd, id) = crate::sys::shm::open(name).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Error::SharedMemoryNotFound(name.to_string()),
            Some(libc::EACCES | libc::EPERM) => refused("permission denied: it belongs to another user".into()),
            Some(libc::ELOOP) => refused("it is a symbolic link".into()),
            Some(libc::EISDIR) => refused("it is a directory".into()),
            _ => Error::io("opening named shared memory")(e),
        })?;
        let me = crate::sys::peercred::euid();
        if id.uid != me {
            return Err(refused(format!(
                "it belongs to uid {}, not to this process's uid {me}",
                id.uid
            )));
        }
        if id.mode & 0o077 != 0 {
            return Err(refused(format!(
                "its mode {:04o} gives access to group or others (blocks are created 0600)",
                id.mode
            )));
        }
        if !id.regular {
            return Err(refused("it is not a regular file".into()));
        }
        if id.size == 0 {
            return Err(refused("it is empty (its creator may not have sized it yet)".into()));
        }
        Ok(SharedMemory {
            seg: Segment::from_fd(fd)?,
            name: Some(Arc::new(ShmName {
                name: name.to_string(),
                id,
                creator: None,
                unlinked: false.into(),
            })),
        })
    }

    /// Removes the name now (Python's `unlink()`), from any handle of a
    /// named block: later [`open`](SharedMemory::open)s fail, and the
    /// memory lives on while anyone maps it. A name that was removed and
    /// taken again for another block is left alone.
    ///
    /// # Errors
    /// [`Error::SharedMemoryNotFound`] when the name is gone already;
    /// [`Error::SharedMemoryRefused`] when it now names another block;
    /// [`Error::Usage`] for an anonymous block; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    ///
    /// let name = format!("doc-unlink-{}", std::process::id());
    /// let shm = SharedMemory::create(&name, 8).unwrap();
    /// shm.unlink().unwrap();
    /// assert!(SharedMemory::open(&name).is_err());
    /// shm.write_at(0, b"mapped").unwrap(); // the memory lives on
    /// assert!(shm.unlink().is_err()); // the name is gone already
    /// ```
    pub fn unlink(&self) -> Result<()> {
        let Some(n) = &self.name else {
            return Err(Error::Usage("anonymous shared memory has no name to unlink".into()));
        };
        match crate::sys::shm::unlink_if(&n.name, n.id).map_err(Error::io("unlinking named shared memory"))? {
            crate::sys::shm::Unlinked::Yes => {
                n.unlinked.store(true, Ordering::Relaxed);
                Ok(())
            }
            crate::sys::shm::Unlinked::Missing => Err(Error::SharedMemoryNotFound(n.name.clone())),
            crate::sys::shm::Unlinked::Other => Err(Error::SharedMemoryRefused {
                name: n.name.clone(),
                reason: "the name now belongs to another block; left alone".into(),
            }),
        }
    }

    /// Removes the name `name`, whatever block it names: the clean-up for
    /// a creator that died without removing it (see the type's
    /// documentation). `/dev/shm` is sticky, so only the owner (or root)
    /// can remove a name.
    ///
    /// # Errors
    /// [`Error::SharedMemoryNotFound`] when no block has the name;
    /// [`Error::SharedMemoryRefused`] when it is another user's;
    /// [`Error::Usage`] for a bad name; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::SharedMemory;
    ///
    /// let name = format!("doc-unlink-name-{}", std::process::id());
    /// let shm = SharedMemory::create(&name, 8).unwrap();
    /// std::mem::forget(shm); // as if its creator had been killed
    /// SharedMemory::unlink_name(&name).unwrap();
    /// assert!(matches!(
    ///     SharedMemory::unlink_name(&name),
    ///     Err(multiproc::Error::SharedMemoryNotFound(_))
    /// ));
    /// ```
    pub fn unlink_name(name: &str) -> Result<()> {
        check_name(name)?;
        crate::sys::shm::unlink(name).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Error::SharedMemoryNotFound(name.to_string()),
            Some(libc::EACCES | libc::EPERM) => Error::SharedMemoryRefused {
                name: name.to_string(),
                reason: "permission denied: it belongs to another user".into(),
            },
            _ => Error::io("unlinking named shared memory")(e),
        })
    }

    /// The name of a named block; `None` for an anonymous one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::SharedMemory::new(8).unwrap().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|n| n.name.as_str())
    }

    /// Its size in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::SharedMemory::new(10).unwrap().size(), 10);
    /// ```
    pub fn size(&self) -> usize {
        self.seg.region.len()
    }

    /// Copies `buf.len()` bytes from `offset`.
    ///
    /// # Errors
    /// [`Error::Io`] when the range is outside the block.
    ///
    /// # Examples
    ///
    /// ```
    /// let shm = multiproc::shared::SharedMemory::new(8).unwrap();
    /// let mut buf = [1u8; 8];
    /// shm.read_at(0, &mut buf).unwrap();
    /// assert_eq!(buf, [0; 8]);
    /// assert!(shm.read_at(4, &mut buf).is_err());
    /// ```
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.seg
            .region
            .read_at(offset, buf)
            .map_err(Error::io("reading shared memory"))
    }

    /// Copies `bytes` to `offset`.
    ///
    /// # Errors
    /// [`Error::Io`] when the range is outside the block.
    ///
    /// # Examples
    ///
    /// ```
    /// let shm = multiproc::shared::SharedMemory::new(8).unwrap();
    /// shm.write_at(6, b"ok").unwrap();
    /// assert!(shm.write_at(7, b"no").is_err());
    /// ```
    pub fn write_at(&self, offset: usize, bytes: &[u8]) -> Result<()> {
        self.seg
            .region
            .write_at(offset, bytes)
            .map_err(Error::io("writing shared memory"))
    }
}

#[derive(Serialize)]
struct SharedMemoryWireRef<'a> {
    seg: &'a Segment,
    name: Option<&'a str>,
}

#[derive(Deserialize)]
struct SharedMemoryWire {
    seg: Segment,
    name: Option<String>,
}

impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        SharedMemoryWireRef {
            seg: &self.seg,
            name: self.name(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let wire = SharedMemoryWire::deserialize(d)?;
        let name = match wire.name {
            Some(name) => {
                check_name(&name).map_err(serde::de::Error::custom)?;
                let id = crate::sys::shm::file_id(wire.seg.as_fd()).map_err(serde::de::Error::custom)?;
                Some(Arc::new(ShmName {
                    name,
                    id,
                    creator: None,
                    unlinked: false.into(),
                }))
            }
            None => None,
        };
        Ok(SharedMemory {
            seg: Arc::new(wire.seg),
            name,
        })
    }
}
