//! The process-shared lock in a [`SharedRegion`](super::SharedRegion):
//! its word holds the owner's thread id, so a holder that died is found
//! by asking whether that thread still exists.

use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use super::{fork_generation, futex_wait, futex_wake, SharedRegion};

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

/// The lock's algorithm, on the words of a region.
impl SharedRegion {
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
    ///
    /// The lock is held for as long as the [`MutexHeld`] lives: no one can
    /// release a lock they do not hold.
    #[inline]
    pub(crate) fn lock_mutex(
        &self,
        offset: usize,
        deadline: Option<Instant>,
        try_only: bool,
    ) -> io::Result<(Locked, Option<MutexHeld<'_>>)> {
        let locked = self.acquire(offset, deadline, try_only)?;
        let held = (locked != Locked::Busy).then(|| MutexHeld {
            region: self,
            offset,
            _not_send: PhantomData,
        });
        Ok((locked, held))
    }

    #[inline]
    fn acquire(&self, offset: usize, deadline: Option<Instant>, try_only: bool) -> io::Result<Locked> {
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

    /// Unlocks the lock at `offset`, held by this thread: only the drop of
    /// its [`MutexHeld`], which cannot leave the thread, calls this.
    #[inline]
    fn release(&self, offset: usize) -> io::Result<()> {
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
}

/// The lock at an offset of a region, held by this thread: released when
/// dropped. Not `Send`: the lock word names the thread that took it, and
/// only that thread may release it.
#[derive(Debug)]
pub(crate) struct MutexHeld<'a> {
    region: &'a SharedRegion,
    offset: usize,
    _not_send: PhantomData<*const ()>,
}

impl Drop for MutexHeld<'_> {
    fn drop(&mut self) {
        // The offset was in bounds when the lock was taken: this cannot fail.
        let _ = self.region.release(self.offset);
    }
}
