//! One panic hook for every child, installed by the parent before its
//! first fork.
//!
//! A child must learn where its task panicked (for `Error::Panicked`), and
//! a pool worker must not print a task's panic. Setting a hook takes the
//! standard library's hook lock — and a forked child of a multi-threaded
//! parent must not take a lock that another thread of the parent may have
//! held at the fork (a thread that was panicking then left it held
//! forever: the child hung). So the hook is installed once, before any
//! fork, and a child only flips an atomic mode.

use std::cell::RefCell;
use std::panic;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Once;

/// The parent's behaviour: the previous hook, untouched.
const NORMAL: u8 = 0;
/// A child's task: remember the location, and print as before.
pub(crate) const RECORD: u8 = 1;
/// A pool worker: remember the location, print nothing (the panic travels
/// to the caller as an error).
pub(crate) const QUIET: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(NORMAL);
static INSTALL: Once = Once::new();

thread_local! {
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook, once per process (before a fork, or first thing in a
/// spawned child). A user's hook set later replaces it; children then lose
/// only the panic's location.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let mode = MODE.load(Ordering::Relaxed);
            if mode != NORMAL {
                let location = info.location().map(|l| l.to_string());
                LAST_LOCATION.with(|l| *l.borrow_mut() = location);
            }
            if mode != QUIET {
                previous(info);
            }
        }));
    });
}

/// Switches this process to `mode` (no lock taken once installed).
pub(crate) fn set_mode(mode: u8) {
    install();
    MODE.store(mode, Ordering::Relaxed);
}

/// Where this thread's last panic happened, if recorded.
pub(crate) fn take_location() -> Option<String> {
    LAST_LOCATION.with(|l| l.borrow_mut().take())
}
