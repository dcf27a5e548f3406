//! The guide's `Process`: start a `#[process_fn]` (or, with fork, a closure)
//! in a child process and join its typed result.
//!
//! - `mod.rs` — what the start methods hand back (`Launched`) and the
//!   table of live children;
//! - `builder.rs` — [`ProcessBuilder`];
//! - `handle.rs` — [`Process`] and [`CapturedOutput`];
//! - `method.rs` — [`StartMethod`] and the process-wide default;
//! - `info.rs` — [`ProcessInfo`] and the module-level functions
//!   ([`current_process`], [`active_children`], …);
//! - `child.rs` — what every child does: run, report, `_exit`;
//! - `fork.rs`, `spawn.rs`, `forkserver.rs` — one file per start method;
//!   `spawn.rs` also holds the pre-`main` boot that re-executed copies run.
//! - `output.rs` — the relay that reads children's stderr (and captured
//!   stdout) for their last words and [`Process::output`];

mod builder;
mod child;
mod fork;
mod forkserver;
mod handle;
mod info;
mod method;
mod output;
mod spawn;

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, Weak};

use crate::error::{Error, Result};
use crate::sys;

pub use builder::ProcessBuilder;
pub use handle::{CapturedOutput, Process};
pub use info::{active_children, cpu_count, current_process, parent_process, ProcessInfo};
pub use method::{get_start_method, set_start_method, StartMethod};

/// A just-started child, whatever started it.
#[derive(Debug)]
pub(crate) struct Launched {
    pid: i32,
    pidfd: OwnedFd,
    /// Our end of the result socket (non-blocking).
    result: OwnedFd,
    /// For a forkserver child: where the server writes its exit status.
    status: Option<OwnedFd>,
    /// The child's output, read by the relay (see `output.rs`).
    output: output::Captured,
}

impl Launched {
    /// A child of this process: we reap it through its pidfd. `result`
    /// must already be non-blocking.
    fn local(pid: i32, result: OwnedFd) -> Result<Self> {
        let pidfd = sys::pidfd_open(pid).map_err(Error::io("pidfd_open"))?;
        Ok(Launched {
            pid,
            pidfd,
            result,
            status: None,
            output: Default::default(),
        })
    }

    /// A child of the forkserver: the server reaps it and reports its status.
    fn remote(pid: i32, pidfd: OwnedFd, result: OwnedFd, status: OwnedFd) -> Result<Self> {
        sys::set_nonblocking(result.as_fd(), true).map_err(Error::io("fcntl"))?;
        Ok(Launched {
            pid,
            pidfd,
            result,
            status: Some(status),
            output: Default::default(),
        })
    }
}

/// Waits for an orphaned local child on a small thread, so it never lingers
/// as a zombie after its handle is dropped.
pub(crate) fn reap_in_background(pidfd: OwnedFd) {
    let _ = std::thread::Builder::new()
        .name("multiproc-reaper".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = sys::waitid_pidfd(pidfd.as_fd(), true);
        });
}

/// What `active_children` lists: one entry per live handle.
#[derive(Debug)]
struct Shared {
    pid: i32,
    name: String,
    pidfd: OwnedFd,
    start_method: StartMethod,
    daemon: bool,
}

/// This process's children. Fork-local: a forked child starts with none
/// (its parent's are not its own), and never waits on the parent's lock.
static CHILDREN: sys::ForkLocal<Mutex<Vec<Weak<Shared>>>> = sys::ForkLocal::new(Default::default);

#[cfg(test)]
// The test entries, linkme statics: as for `pool::worker`'s entry.
#[allow(unsafe_code)]
mod test;
