//! State that a forked child can use whatever its parent's other threads
//! were doing at the fork.
//!
//! A child inherits every lock and every lazy initialisation exactly as the
//! parent's threads left them, and those threads do not exist in it: a
//! `Once` caught "running" or a `Mutex` caught held stays so forever. The
//! rule (docs/ARCHITECTURE.md, "Fork safety") is that nothing a child may
//! touch waits on another thread of its parent:
//!
//! - the fork generation needs no `Once`: its `pthread_atfork` handler is
//!   registered by a load-time constructor, and every fork the library makes
//!   bumps it in the child itself ([`super::fork`]);
//! - a process-wide table guarded by a lock lives in a [`ForkLocal`], which
//!   gives a child a fresh value (and lock) of its own on first use.

use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, Ordering};

/// Bumped in every forked child, so a thread's cached id is refreshed.
static FORK_GENERATION: AtomicU32 = AtomicU32::new(0);

/// Whether the `pthread_atfork` handler is registered: 0 no, 1 being
/// registered, 2 yes.
static ATFORK: AtomicU8 = AtomicU8::new(0);

extern "C" fn after_fork_in_child() {
    bump_in_child();
}

/// Counts one fork: called in a freshly forked child (async-signal-safe: one
/// atomic add).
pub(super) fn bump_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Registers the child-after-fork handler, once, without ever waiting: a
/// thread that finds the registration under way goes on (the forks the
/// library makes count themselves, see [`super::fork`]).
fn register_atfork() {
    if ATFORK.load(Ordering::Acquire) == 0
        && ATFORK
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        // SAFETY: registers a handler that only bumps an atomic, which is
        // async-signal-safe, as a child-after-fork handler must be.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
        ATFORK.store(2, Ordering::Release);
    }
}

extern "C" fn register_at_load() {
    register_atfork();
}

/// Registers the handler while the program loads, before `main` and before
/// any thread exists, so that forks made by other code (`libc::fork`,
/// `nix::unistd::fork`) are counted too.
// SAFETY: `.init_array` entries are called once by the dynamic loader with
// no arguments; `register_at_load` takes none, returns nothing and does not
// unwind (it makes one libc call and stores atomics).
#[used]
#[link_section = ".init_array"]
static REGISTER_AT_LOAD: extern "C" fn() = register_at_load;

/// How many forks this process's memory has been through: changes exactly
/// when memory is copied into a forked child, so state cached with it (a
/// thread id, a parent's connections) can tell whose it is — no `getpid`
/// system call on hot paths.
#[inline]
pub(crate) fn fork_generation() -> u32 {
    if ATFORK.load(Ordering::Relaxed) != 2 {
        register_atfork();
    }
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// A value of which every forked child gets a fresh one (made by `init`) on
/// its first use, in place of its parent's copy.
///
/// For process-wide tables behind a lock: a child's first use never waits
/// on a lock that a thread of its parent held at the fork. The parent's
/// copy is left alone in the child (never used, never dropped: it may be in
/// the middle of a change), which costs one small allocation per fork that
/// uses it.
///
/// ```text
/// static TABLE: ForkLocal<Mutex<Vec<u32>>> = ForkLocal::new(Default::default);
/// TABLE.get().lock().unwrap().push(1);
/// ```
pub(crate) struct ForkLocal<T> {
    /// The current value with the generation it was made in; null until
    /// first use. Values are never freed while the process can reach them.
    slot: AtomicPtr<(u32, T)>,
    init: fn() -> T,
}

impl<T> ForkLocal<T> {
    pub(crate) const fn new(init: fn() -> T) -> Self {
        Self {
            slot: AtomicPtr::new(ptr::null_mut()),
            init,
        }
    }

    /// This process's value, made on first use in each process.
    pub(crate) fn get(&self) -> &T {
        self.get_in(fork_generation())
    }

    /// The value for `generation`, made if the slot holds another's.
    fn get_in(&self, generation: u32) -> &T {
        let mut seen = self.slot.load(Ordering::Acquire);
        loop {
            // SAFETY: a non-null slot always holds a pointer from
            // `Box::into_raw` below that is never freed while `self` lives
            // (`Drop` frees only this process's own value), so it is valid
            // for as long as `&self`.
            if let Some(current) = unsafe { seen.as_ref() } {
                if current.0 == generation {
                    return &current.1;
                }
            }
            let fresh = Box::into_raw(Box::new((generation, (self.init)())));
            match self
                .slot
                .compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                // The parent's copy (if any) is abandoned, not freed.
                // SAFETY: `fresh` is now the slot's and lives as long as
                // `self` (see above).
                Ok(_) => return unsafe { &(*fresh).1 },
                Err(other) => {
                    // SAFETY: another thread won; `fresh` was never shared.
                    drop(unsafe { Box::from_raw(fresh) });
                    seen = other;
                }
            }
        }
    }
}

impl<T> Drop for ForkLocal<T> {
    fn drop(&mut self) {
        let current = *self.slot.get_mut();
        // SAFETY: as in `get`; `&mut self` means no one else uses it.
        if let Some((generation, _)) = unsafe { current.as_ref() } {
            if *generation == fork_generation() {
                // SAFETY: made by `Box::into_raw` in this process and no
                // longer reachable by anyone.
                drop(unsafe { Box::from_raw(current) });
            }
        }
    }
}

// SAFETY: a `ForkLocal` hands out `&T` to any thread and may drop its `T`
// on another thread than the one that made it: exactly `Sync + Send`.
unsafe impl<T: Send + Sync> Sync for ForkLocal<T> {}
// SAFETY: as above; moving the handle moves ownership of the `T`.
unsafe impl<T: Send> Send for ForkLocal<T> {}

impl<T: std::fmt::Debug> std::fmt::Debug for ForkLocal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ForkLocal").field(self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn a_fork_local_is_made_once_per_generation() {
        static TABLE: ForkLocal<Mutex<Vec<u32>>> = ForkLocal::new(Default::default);
        TABLE.get_in(7).lock().unwrap().push(1);
        assert_eq!(*TABLE.get_in(7).lock().unwrap(), [1]);
        // What a child sees: a new generation, a fresh value, even while
        // its parent's copy is locked.
        let _held = TABLE.get_in(7).lock().unwrap();
        assert!(TABLE.get_in(8).lock().unwrap().is_empty());
    }

    #[test]
    fn the_atfork_handler_is_registered_at_load() {
        assert_eq!(ATFORK.load(Ordering::Acquire), 2);
    }
}
