//! `StartMethod::Fork`: a plain `fork`, the child runs the task in place.

use std::io::Write;
use std::os::fd::AsFd;

use super::child;
use super::Launched;
use crate::error::{Error, Result};
use crate::sys;

/// Initialises, in the forking thread, everything lazily initialised that a
/// child may touch, so that no child finds it half done by another thread
/// of the parent (docs/ARCHITECTURE.md, "Fork safety"). The process-wide
/// tables behind locks are `sys::ForkLocal`s and need nothing here.
pub(super) fn before_fork() {
    // The panic hook: setting it takes the standard library's hook lock.
    crate::unwind::install();
    // The entry registry, built once behind a `OnceLock`.
    crate::entry::prepare_for_fork();
    // The fork generation's `pthread_atfork` handler (registered at load;
    // this only makes sure).
    sys::fork_generation();
}

/// Forks a child that runs `task` and reports its outcome.
///
/// Stdout and stderr are flushed — and held locked across the fork — so the
/// child neither prints the parent's buffered output again nor inherits a
/// stdio lock that another thread of the parent held.
///
/// With `keep: Some(fds)`, the child closes every tracked descriptor of the
/// parent's shared objects except `fds` (its task's own); with `None` it
/// keeps everything, as `os.fork` does.
pub(crate) fn launch(
    name: String,
    daemon: bool,
    keep: Option<Vec<std::os::fd::RawFd>>,
    pipes: super::output::ChildPipes,
    task: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Launched> {
    let (parent_end, child_end) = sys::socketpair().map_err(Error::io("creating the result socket"))?;
    // Everything the parent can do before the fork, it does before: work
    // after it runs while the child shares (copy-on-write) its pages.
    sys::set_nonblocking(parent_end.as_fd(), true).map_err(Error::io("fcntl"))?;
    before_fork();
    let parent_pid = sys::getpid();
    let parent_name = child::own_name().to_string();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let _ = out.flush();
    let _ = err.flush();
    // SAFETY: `before_fork` ran, and the child only resets its own state,
    // runs the task through `run_and_exit` and exits (see "Fork safety" in
    // docs/ARCHITECTURE.md: the task's own code is the user's promise, as
    // Python's fork start method asks of it).
    #[allow(unsafe_code)]
    let forked = unsafe { sys::fork() };
    match forked.map_err(Error::io("fork"))? {
        sys::Forked::Child => {
            drop((out, err));
            drop(parent_end);
            pipes.install();
            super::forkserver::forget_in_child();
            if let Some(keep) = &keep {
                sys::fdreg::close_all_except(keep);
            }
            child::set_identity(name, parent_pid, parent_name, super::StartMethod::Fork, daemon);
            if daemon {
                child::die_with(parent_pid);
            }
            child::run_and_exit(child_end, task)
        }
        sys::Forked::Parent(pid) => {
            drop((out, err, pipes));
            drop(child_end);
            Launched::local(pid, parent_end)
        }
    }
}
