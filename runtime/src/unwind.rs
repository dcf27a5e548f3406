//! Panics, in one place: the one panic hook for every child (installed by
//! the parent before its first fork), and the message of a caught panic.
//! Below `process`, `pool` and `entry`, which all catch panics and report
//! them, so none of them reaches another for it.
//!
//! A child must learn where its task panicked (for `Error::Panicked`), and
//! a pool worker must not print a task's panic. Setting a hook takes the
//! standard library's hook lock — and a forked child of a multi-threaded
//! parent must not take a lock that another thread of the parent may have
//! held at the fork (a thread that was panicking then left it held
//! forever: the child hung). So the hook is installed once, before any
//! fork, and a child only flips an atomic mode.
//!
//! Under `panic = "abort"` nothing unwinds to the code that would report the
//! panic: the process aborts right after the hook. So there the hook itself
//! hands the panic's message and location to the parent first, through a
//! [`LastWords`] descriptor (a child's result socket: its `Panicked`
//! outcome; a pool worker's channel: a `Panicked` reply), and the parent
//! reports `Error::Panicked` rather than a bare SIGABRT.

use std::cell::RefCell;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::panic;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, Once};

use crate::sys;

/// The parent's behaviour: the previous hook, untouched.
const NORMAL: u8 = 0;
/// A child's task: remember the location, and print as before.
const RECORD: u8 = 1;
/// A pool worker: remember the location, print nothing (the panic travels
/// to the caller as an error).
const QUIET: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(NORMAL);
static INSTALL: Once = Once::new();

/// What a child's hook calls before a `panic = "abort"` abort: a process
/// child's report on its result socket, or a pool worker's on its channel.
/// Whoever makes the child sets it, so this module names neither.
/// Const-initialised, and set only in a child at its start, before its
/// task runs (so before any fork of its own): no fork finds it half-set.
static REPORT: Mutex<Option<Report>> = Mutex::new(None);

/// A report of a panic's message and location, made before an abort.
pub(crate) type Report = fn(&str, Option<&str>);

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
                if cfg!(panic = "abort") {
                    let message = panic_message(info.payload());
                    // `try_lock`: a panic never waits on the hook's own lock.
                    if let Some(report) = REPORT.try_lock().ok().and_then(|r| *r) {
                        report(&message, location.as_deref());
                    }
                }
                LAST_LOCATION.with(|l| *l.borrow_mut() = location);
            }
            if mode != QUIET {
                previous(info);
            }
        }));
    });
}

/// A descriptor the panic hook may write a last message on before a
/// `panic = "abort"` abort. Fork-local: a child never sees its parent's.
pub(crate) struct LastWords(sys::ForkLocal<Mutex<Option<OwnedFd>>>);

impl LastWords {
    pub(crate) const fn new() -> Self {
        LastWords(sys::ForkLocal::new(Default::default))
    }

    /// Keeps a copy of `fd` for the hook (nothing when it cannot be copied:
    /// the panic is then reported as the signal only).
    pub(crate) fn arm(&self, fd: BorrowedFd<'_>) {
        if let (Ok(copy), Ok(mut slot)) = (fd.try_clone_to_owned(), self.0.get().lock()) {
            *slot = Some(copy);
        }
    }

    /// Closes the copy.
    pub(crate) fn disarm(&self) {
        if let Ok(mut slot) = self.0.get().lock() {
            *slot = None;
        }
    }

    /// Writes `bytes` once on the armed descriptor, if any; never waits on
    /// another thread.
    pub(crate) fn say(&self, bytes: &[u8]) {
        if let Ok(mut slot) = self.0.get().try_lock() {
            if let Some(fd) = slot.take() {
                let _ = sys::write_all(fd.as_fd(), bytes);
            }
        }
    }
}

/// Switches this process to `mode` (no lock taken once installed).
fn set_mode(mode: u8, report: Report) {
    install();
    if let Ok(mut slot) = REPORT.lock() {
        *slot = Some(report);
    }
    MODE.store(mode, Ordering::Relaxed);
}

/// Makes this process a child that records where its task panicked, and
/// prints the panic as before; under `panic = "abort"` the hook hands the
/// panic to `report` first.
pub(crate) fn set_record(report: Report) {
    set_mode(RECORD, report);
}

/// Makes this process a quiet child (a pool worker): as
/// [`set_record`], and panics print nothing (they travel to the caller as
/// errors).
pub(crate) fn set_quiet(report: Report) {
    set_mode(QUIET, report);
}

/// The message of a caught panic's payload (`&str` or `String`; other
/// payloads say what they are not).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

/// Where this thread's last panic happened, if recorded.
pub(crate) fn take_location() -> Option<String> {
    LAST_LOCATION.with(|l| l.borrow_mut().take())
}
