//! Signals: names, `SIGPIPE` (nix).

use nix::sys::signal::{signal, SigHandler, Signal};

/// Ignores `SIGPIPE`, as a Rust `main` does: code that runs before `main`
/// (the spawn and forkserver boot) must get `EPIPE`, not death, from a closed
/// peer.
pub(crate) fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN runs no handler code, so none of the
    // hazards of a signal handler arise; the old disposition is dropped.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// The conventional name of a signal number (`"SIGKILL"`), or `"SIG?"`.
pub(crate) fn signal_name(sig: i32) -> &'static str {
    Signal::try_from(sig).map_or("SIG?", Signal::as_str)
}

/// Signal numbers the crate sends.
pub(crate) use libc::{SIGINT, SIGKILL, SIGTERM};
