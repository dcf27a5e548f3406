//! `StartMethod::Spawn`: re-execute the current binary; the child runs the
//! entry before `main` and exits, so the user's `main` — or a test harness's
//! tests — never run in it.
//!
//! The parent passes one end of a socketpair (its descriptor number in the
//! environment variable [`BOOT_ENV`]) and writes the [`Request`] on it. The
//! child's [`boot`] runs from `.init_array`, before `main`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::child::{self, Request};
use super::output::ChildPipes;
use super::Launched;
use crate::codec;
use crate::error::{Error, Result};
use crate::sys;

/// Names the role of a re-executed copy of the program and its channel:
/// `spawn:FD` or `forkserver:FD`.
pub(crate) const BOOT_ENV: &str = "__MULTIPROC_BOOT";

/// Runs [`boot`] before `main` in every program that links multiproc.
// SAFETY: the loader calls each `.init_array` entry once, before `main`,
// with no thread but this one; `boot` is an `extern "C" fn()` as such an
// entry must be, returns at once unless the environment names a role for
// this process, and never unwinds (it exits instead).
#[allow(unsafe_code)]
#[used]
#[link_section = ".init_array"]
static BOOT: extern "C" fn() = boot;

/// Starts a copy of this executable in the given role, handing it `fd`.
///
/// With `pipes`, the copy's standard output and error are those.
pub(crate) fn reexec(role: &str, fd: RawFd, pipes: ChildPipes) -> Result<std::process::Child> {
    // Referencing BOOT keeps its object file, and so the `.init_array`
    // entry, in the link wherever spawning is possible.
    std::hint::black_box(&BOOT);
    let mut cmd = Command::new("/proc/self/exe");
    if let Some(arg0) = std::env::args_os().next() {
        cmd.arg0(arg0);
    }
    cmd.env(BOOT_ENV, format!("{role}:{fd}"));
    sys::keep_across_exec(&mut cmd, fd);
    if let Some(stdout) = pipes.stdout {
        cmd.stdout(stdout);
    }
    if let Some(stderr) = pipes.stderr {
        cmd.stderr(stderr);
    }
    cmd.spawn().map_err(Error::io("re-executing the current binary"))
}

/// Starts a re-executed child that runs `request`, handing it `fds` (the
/// descriptors inside the arguments) with the request; `pipes` become its
/// standard output and error.
pub(crate) fn launch(request: &Request, fds: &[OwnedFd], pipes: ChildPipes) -> Result<Launched> {
    let (parent_end, child_end) = sys::socketpair().map_err(Error::io("creating the result socket"))?;
    let child = reexec("spawn", child_end.as_raw_fd(), pipes)?;
    drop(child_end);
    let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
    // A child that died before reading gets EPIPE here; `join` reports how
    // it died, which says more than the broken pipe.
    match sys::send_with_fds(parent_end.as_fd(), &codec::encode_frame(request)?, &fds) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.map_err(Error::io("sending the task to the child"))?,
    }
    sys::set_nonblocking(parent_end.as_fd(), true).map_err(Error::io("fcntl"))?;
    Launched::local(child.id() as i32, parent_end)
}

/// The pre-`main` dispatcher. Returns at once in an ordinary start; in a
/// re-executed copy it runs the requested role and never returns.
extern "C" fn boot() {
    let Some(value) = std::env::var_os(BOOT_ENV) else {
        return;
    };
    // Single-threaded here, before main: nothing else reads the environment.
    std::env::remove_var(BOOT_ENV);
    sys::ignore_sigpipe();
    let value = value.to_string_lossy();
    let Some((role, fd)) = value.split_once(':') else {
        eprintln!("multiproc: malformed {BOOT_ENV}={value}");
        sys::exit_now(70);
    };
    let fd: RawFd = match fd.parse() {
        Ok(fd) if sys::fd_is_open(fd) => fd,
        _ => {
            eprintln!("multiproc: {BOOT_ENV}={value} names no open descriptor");
            sys::exit_now(70);
        }
    };
    // SAFETY: the parent cleared CLOEXEC on exactly this descriptor for us;
    // nothing else in this fresh process knows it.
    #[allow(unsafe_code)]
    let channel = unsafe { sys::adopt_fd(fd) };
    match role {
        "spawn" => {
            let received = codec::recv_frame_with_fds(channel.as_fd())
                .and_then(|(body, fds)| Ok((codec::decode::<Request>(&body)?, fds)));
            let (request, fds) = match received {
                Ok(r) => r,
                // The parent went away before sending the task.
                Err(_) => sys::exit_now(70),
            };
            child::set_identity(
                request.name,
                request.parent_pid,
                request.parent_name,
                super::StartMethod::Spawn,
                request.daemon,
            );
            if request.daemon {
                child::die_with(request.parent_pid);
            }
            let entry = request.entry;
            let args = request.args;
            child::run_and_exit(channel, move || {
                crate::handoff::with_incoming(fds, || crate::entry::run_by_name(&entry, &args))
            })
        }
        "forkserver" => super::forkserver::serve(channel),
        _ => {
            eprintln!("multiproc: unknown role in {BOOT_ENV}={value}");
            sys::exit_now(70);
        }
    }
}
