//! The child's side: run one task, report how it ended, leave.
//!
//! Whatever the start method, a child ends in [`run_and_exit`]: it runs the
//! task under `catch_unwind`, writes one [`Outcome`] frame on its result
//! socket, flushes stdio and calls `_exit`, so no destructor or `atexit`
//! handler of the parent's copied state ever runs twice.

use std::os::fd::{AsFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::sys;

use super::StartMethod;

/// What a parent asks a re-executed child or the forkserver to run.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) entry: String,
    #[serde(with = "serde_bytes")]
    pub(crate) args: Vec<u8>,
    pub(crate) name: String,
    pub(crate) daemon: bool,
    pub(crate) parent_pid: i32,
    pub(crate) parent_name: String,
    /// The parent's environment and working directory at the start, for a
    /// forkserver child (whose server captured its own long ago); empty
    /// for spawn, which inherits them through `exec`.
    pub(crate) context: Option<Context>,
    /// A forkserver request carries the child's stdout and stderr pipes,
    /// those it has, after its two sockets.
    pub(crate) stdout: bool,
    pub(crate) stderr: bool,
}

/// A parent's environment and working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Context {
    env: Vec<(Vec<u8>, Vec<u8>)>,
    cwd: Option<Vec<u8>>,
}

impl Context {
    /// This process's environment and working directory.
    pub(crate) fn current() -> Self {
        use std::os::unix::ffi::OsStrExt;
        Context {
            env: std::env::vars_os()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            cwd: std::env::current_dir().ok().map(|d| d.as_os_str().as_bytes().to_vec()),
        }
    }

    /// Makes this (single-threaded, freshly forked) process's environment
    /// and working directory the parent's.
    pub(crate) fn apply(self) {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let wanted: std::collections::HashMap<&[u8], &[u8]> =
            self.env.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        for (key, _) in std::env::vars_os() {
            if !wanted.contains_key(key.as_bytes()) {
                std::env::remove_var(key);
            }
        }
        for (k, v) in &self.env {
            if std::env::var_os(OsStr::from_bytes(k)).as_deref() != Some(OsStr::from_bytes(v)) {
                std::env::set_var(OsStr::from_bytes(k), OsStr::from_bytes(v));
            }
        }
        if let Some(cwd) = self.cwd {
            let _ = std::env::set_current_dir(OsStr::from_bytes(&cwd));
        }
    }
}

/// The one frame a child writes before it exits.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Outcome {
    /// The task returned; the encoded value.
    Returned(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The task panicked.
    Panicked { message: String, location: Option<String> },
    /// The task could not be started in the child (unknown entry, bad args).
    SetupFailed(String),
    /// The task returned, but its result could not be encoded.
    Unencodable(String),
}

/// Who this process is, for `current_process()` and `parent_process()`.
/// Atomics rather than locks: a forked child of a multi-threaded parent must
/// be able to set them whatever the other threads were doing.
static NAME: sys::StrSlot = sys::StrSlot::new();
static PARENT_PID: AtomicI32 = AtomicI32::new(0);
static PARENT_NAME: sys::StrSlot = sys::StrSlot::new();
/// How this process was started: 0 when multiproc did not start it, else
/// the method's [`code`](StartMethod::code).
static START_METHOD: AtomicU8 = AtomicU8::new(0);
static DAEMON: AtomicBool = AtomicBool::new(false);

/// How multiproc started this process, if it did.
pub(crate) fn own_start_method() -> Option<StartMethod> {
    StartMethod::from_code(START_METHOD.load(Ordering::Acquire))
}

/// Whether this process was started as a daemon.
pub(crate) fn own_daemon() -> bool {
    DAEMON.load(Ordering::Acquire)
}

/// This process's name: `"MainProcess"` unless it was started by multiproc.
pub(crate) fn own_name() -> &'static str {
    NAME.get().unwrap_or("MainProcess")
}

/// The parent's pid and name, when multiproc started this process.
pub(crate) fn parent() -> Option<(i32, &'static str)> {
    match PARENT_PID.load(Ordering::Acquire) {
        0 => None,
        pid => Some((pid, PARENT_NAME.get().unwrap_or("MainProcess"))),
    }
}

/// Records the identity of a freshly started child (once per process; the
/// two strings are leaked on purpose, they live as long as the process).
pub(crate) fn set_identity(name: String, parent_pid: i32, parent_name: String, method: StartMethod, daemon: bool) {
    START_METHOD.store(method.code(), Ordering::Release);
    DAEMON.store(daemon, Ordering::Release);
    NAME.set(name);
    PARENT_NAME.set(parent_name);
    PARENT_PID.store(parent_pid, Ordering::Release);
}

/// Makes this process kill itself when `parent` exits, however it exits.
///
/// A pidfd watched by a thread rather than `PR_SET_PDEATHSIG`, which fires
/// when the *thread* that forked exits, not the process.
pub(crate) fn die_with(parent: i32) {
    let Ok(pidfd) = sys::pidfd_open(parent) else {
        // The parent is already gone.
        sys::raise_self(sys::SIGKILL);
        return;
    };
    let watcher = std::thread::Builder::new()
        .name("multiproc-daemon-watch".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            // Readable once the parent has exited; an error means the same.
            let _ = sys::poll(&[(pidfd.as_fd(), sys::POLLIN)], None);
            sys::raise_self(sys::SIGKILL);
        });
    if watcher.is_err() {
        sys::raise_self(sys::SIGKILL);
    }
}

/// The task's result socket, for the panic hook under `panic = "abort"`.
static RESULT: crate::unwind::LastWords = crate::unwind::LastWords::new();

/// Under `panic = "abort"`: writes the task's `Panicked` outcome before the
/// process aborts, so the parent reports the panic, not only SIGABRT.
fn report_panic_before_abort(message: &str, location: Option<&str>) {
    let outcome = Outcome::Panicked {
        message: message.to_string(),
        location: location.map(str::to_string),
    };
    if let Ok(frame) = crate::codec::encode_frame(&outcome) {
        RESULT.say(&frame);
    }
    flush_stdio();
}

/// Runs `task`, writes its [`Outcome`] on `result`, and exits the process.
pub(crate) fn run_and_exit(result: OwnedFd, task: impl FnOnce() -> Result<Vec<u8>>) -> ! {
    crate::unwind::set_record(report_panic_before_abort);
    if cfg!(panic = "abort") {
        RESULT.arm(result.as_fd());
    }
    let outcome = match panic::catch_unwind(AssertUnwindSafe(task)) {
        Ok(Ok(bytes)) => Outcome::Returned(bytes),
        Ok(Err(crate::Error::Codec(m))) => Outcome::Unencodable(m),
        Ok(Err(crate::Error::ChildSetup { message, .. })) => Outcome::SetupFailed(message),
        Ok(Err(e)) => Outcome::SetupFailed(e.to_string()),
        Err(payload) => Outcome::Panicked {
            message: crate::unwind::panic_message(&*payload),
            location: crate::unwind::take_location(),
        },
    };
    RESULT.disarm();
    let code = match outcome {
        Outcome::Returned(_) => 0,
        _ => 1,
    };
    let frame = crate::codec::encode_frame(&outcome)
        .or_else(|e| crate::codec::encode_frame(&Outcome::SetupFailed(e.to_string())));
    if let Ok(frame) = frame {
        // A parent that is gone cannot be told; exit all the same.
        let _ = sys::write_all(result.as_fd(), &frame);
    }
    flush_stdio();
    sys::exit_now(code)
}

/// Flushes Rust's stdout and stderr buffers.
pub(crate) fn flush_stdio() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}
