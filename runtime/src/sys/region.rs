//! [`SharedRegion`]: a `memfd` mapped shared, the memory of every shared
//! object, and [`LockedSlice`], plain data read and written under its lock;
//! [`SealedBytes`], a sealed memfd from another process, read-only. On nix
//! (memfd, ftruncate, mmap, seals).

use std::fmt;
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

use super::{Locked, MutexHeld};

/// A block of memory shared with other processes: an anonymous `memfd`
/// mapped `MAP_SHARED`. The kernel frees it with its last descriptor and
/// mapping, so nothing is left in `/dev/shm` whatever happens.
#[derive(Debug)]
pub(crate) struct SharedRegion {
    fd: OwnedFd,
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the region hands out no reference to plain bytes that another
// thread or process may write: only atomics (`atomic_u32`, `atomic_u64`,
// whose every access anywhere is atomic), volatile copies (`read_at`,
// `write_at`), `unsafe fn`s that pass their contract on (`read_pod`,
// `write_pod`), and slices lent under the region's lock (`LockedSlice`,
// which cannot leave its thread). The mapping itself lives until drop.
unsafe impl Send for SharedRegion {}
// SAFETY: as above: every shared access is atomic, volatile, or locked.
unsafe impl Sync for SharedRegion {}

/// A new close-on-exec `memfd` named `name` (the name shows in
/// `/proc/PID/fd`, nowhere else).
fn memfd(name: &str, flags: MFdFlags) -> io::Result<OwnedFd> {
    Ok(memfd_create(name, flags)?)
}

/// The size of the file behind `fd`; an empty one cannot be mapped, and
/// is `InvalidData` saying `empty`.
fn size_of(fd: &OwnedFd, empty: &'static str) -> io::Result<NonZeroUsize> {
    let len = nix::sys::stat::fstat(fd)?.st_size;
    let len = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidData)?;
    NonZeroUsize::new(len).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, empty))
}

/// Maps the whole file behind `fd`, shared, with `prot`.
fn map_whole(fd: &OwnedFd, len: NonZeroUsize, prot: ProtFlags) -> io::Result<std::ptr::NonNull<u8>> {
    // SAFETY: a fresh mapping at an address the kernel picks, of a whole
    // regular file (its size just read); it aliases no Rust object, and
    // its users reach it only through this module's checked accessors.
    let ptr = unsafe { mmap(None, len, prot, MapFlags::MAP_SHARED, fd, 0) }?;
    Ok(ptr.cast::<u8>())
}

/// Unmaps what [`map_whole`] mapped.
fn unmap(ptr: std::ptr::NonNull<u8>, len: usize) {
    // SAFETY: exactly a mapping made by `map_whole`, whose owner is being
    // dropped: no reference into it outlives this call.
    let _ = unsafe { munmap(ptr.cast(), len) };
}

impl SharedRegion {
    /// A new zeroed region of `len` bytes.
    pub(crate) fn new(name: &str, len: usize) -> io::Result<Self> {
        let fd = memfd(name, MFdFlags::MFD_CLOEXEC)?;
        let len = libc::off_t::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
        nix::unistd::ftruncate(&fd, len)?;
        Self::map(fd)
    }

    /// Maps a region received from another process.
    pub(crate) fn map(fd: OwnedFd) -> io::Result<Self> {
        let len = size_of(&fd, "empty shared region")?;
        let ptr = map_whole(&fd, len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE)?;
        Ok(SharedRegion {
            fd,
            ptr,
            len: len.get(),
        })
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
    pub(super) fn checked_ptr(&self, offset: usize, size: usize, align: usize) -> Option<*mut u8> {
        (offset % align == 0 && offset.checked_add(size)? <= self.len)
            // SAFETY: in bounds of the mapping, checked just above.
            .then(|| unsafe { self.ptr.as_ptr().add(offset) })
    }

    /// The region's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
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
        unmap(self.ptr, self.len);
    }
}

/// Plain data of a region, held under a lock of the region: derefs to
/// `[T]` while alive, unlocks on drop. Not `Send`, as the lock it holds.
pub(crate) struct LockedSlice<'a, T> {
    _held: MutexHeld<'a>,
    data: *mut T,
    len: usize,
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
        let (locked, held) = self.lock_mutex(mutex, deadline, try_only)?;
        let slice = held.map(|held| LockedSlice {
            _held: held,
            data: ptr as *mut T,
            len,
        });
        Ok((locked, slice))
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

/// Seals that make a memfd's bytes fixed: no write, no resize, no more
/// seals (so no one can lift them).
fn fixed() -> SealFlag {
    SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL
}

/// A sealed `memfd` holding a copy of `bytes`, for a message too large to
/// go through a socket in one piece: the receiver maps it
/// ([`SealedBytes::map`]), with no second copy. Sealed, so that nothing,
/// the sender included, can change the bytes once they are handed over.
pub(crate) fn sealed_memfd(name: &str, bytes: &[u8]) -> io::Result<OwnedFd> {
    let fd = memfd(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)?;
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, bytes)?;
    // No mapping of it exists, so the write seal can be added.
    fcntl(&file, FcntlArg::F_ADD_SEALS(fixed()))?;
    Ok(OwnedFd::from(file))
}

/// The bytes of a sealed `memfd` from another process, mapped read-only:
/// derefs to `[u8]`.
#[derive(Debug)]
pub(crate) struct SealedBytes {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

impl SealedBytes {
    /// Maps `fd` read-only, if its sender sealed it against writes and
    /// shrinking: otherwise the sender could change the bytes while they
    /// are read, or cut them short under the mapping (a `SIGBUS`), and the
    /// descriptor is refused with `InvalidData`.
    pub(crate) fn map(fd: OwnedFd) -> io::Result<Self> {
        let seals = SealFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GET_SEALS)?);
        if !seals.contains(SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SHRINK) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a memfd that its sender did not seal against writes and shrinking",
            ));
        }
        let len = size_of(&fd, "an empty memfd")?;
        let ptr = map_whole(&fd, len, ProtFlags::PROT_READ)?;
        Ok(SealedBytes { ptr, len: len.get() })
    }
}

impl std::ops::Deref for SealedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `len` mapped bytes, alive as long as `self`; sealed
        // against writes and shrinking (checked in `map`), so no one can
        // change them or take them away while this borrow lasts.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SealedBytes {
    fn drop(&mut self) {
        unmap(self.ptr, self.len);
    }
}

// SAFETY: read-only memory that no one can change (sealed): sharing or
// sending a view of it is as safe as for a `Box<[u8]>`.
unsafe impl Send for SealedBytes {}
// SAFETY: as above.
unsafe impl Sync for SealedBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile sender's memfd that is not sealed, and so could change
    /// under the reader, is refused; a sealed one reads back as written.
    #[test]
    fn only_a_sealed_memfd_is_mapped() {
        let sealed = sealed_memfd("test", b"hello").unwrap();
        assert_eq!(&*SealedBytes::map(sealed).unwrap(), b"hello");

        let open = SharedRegion::new("test", 64).unwrap();
        let fd = open.fd().try_clone_to_owned().unwrap();
        let err = SealedBytes::map(fd).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");

        // Its seals cannot be lifted, nor the bytes changed.
        let sealed = sealed_memfd("test", b"fixed").unwrap();
        let mut file = std::fs::File::from(sealed);
        assert!(std::io::Write::write_all(&mut file, b"changed").is_err());
        assert!(file.set_len(1).is_err());
    }
}
