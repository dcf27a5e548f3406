//! `StartMethod::ForkServer`: one single-threaded server process, started on
//! first use by re-executing the current binary, forks every child.
//!
//! Safe in a multi-threaded parent: the server never ran `main`, holds no
//! other thread, and so its forked children inherit no lock held by a thread
//! that does not exist in them.
//!
//! Protocol, all frames in the crate's codec, one request at a time under a
//! mutex on the parent's side:
//! 1. parent → server: a [`Request`] frame with two descriptors attached
//!    (SCM_RIGHTS): the child's end of the result socket, and the server's
//!    end of a status socket;
//! 2. the server forks; the child runs the entry and writes its outcome on
//!    the result socket;
//! 3. server → parent: a [`Reply`] frame with the child's pidfd attached;
//! 4. when the child exits the server reaps it and writes its
//!    [`WaitStatus`](crate::sys::WaitStatus) frame on the status socket.
//!
//! The server exits when the parent's end of the control socket closes —
//! which happens when the parent dies, however it dies.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::child::{self, Request};
use super::output::ChildPipes;
use super::Launched;
use crate::codec;
use crate::error::{Error, Result};
use crate::sys;

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Started { pid: i32 },
    Failed(String),
}

#[derive(Debug)]
struct Server {
    control: OwnedFd,
    pidfd: OwnedFd,
    /// The environment and working directory the server last took on.
    context: Option<child::Context>,
}

/// This process's server. Fork-local: a forked child starts its own when it
/// needs one, and never touches (nor waits on) its parent's copy.
static SERVER: sys::ForkLocal<Mutex<Option<Server>>> = sys::ForkLocal::new(Default::default);
/// The server's control socket and pidfd numbers, so that a forked child
/// can close its copies without touching `SERVER`.
static SERVER_FDS: [AtomicI32; 2] = [AtomicI32::new(-1), AtomicI32::new(-1)];

/// Records (or, with `None`, clears) the descriptors a child must close.
fn publish_fds(server: Option<&Server>) {
    let fds = server.map_or([-1, -1], |s| [s.control.as_raw_fd(), s.pidfd.as_raw_fd()]);
    for (slot, fd) in SERVER_FDS.iter().zip(fds) {
        slot.store(fd, Ordering::Release);
    }
}

/// In a child forked from the parent: drop the parent's link to the server,
/// so that the server still sees EOF when the parent dies.
pub(crate) fn forget_in_child() {
    for slot in &SERVER_FDS {
        let fd = slot.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            sys::close_raw(fd);
        }
    }
}

fn start_server() -> Result<Server> {
    let (ours, theirs) = sys::socketpair().map_err(Error::io("creating the forkserver socket"))?;
    let child = super::spawn::reexec("forkserver", theirs.as_raw_fd(), Default::default())?;
    drop(theirs);
    let pid = child.id() as i32;
    let pidfd = sys::pidfd_open(pid).map_err(Error::io("pidfd_open on the forkserver"))?;
    super::reap_in_background(pidfd.try_clone().map_err(Error::io("dup"))?);
    let server = Server {
        control: ours,
        pidfd,
        context: None,
    };
    publish_fds(Some(&server));
    Ok(server)
}

/// Asks the server (started on first use, restarted if it died) to fork a
/// child that runs `request`.
///
/// The parent's environment and working directory go along only when they
/// changed since the server last took them on: the server adopts them, so
/// its children inherit them as a spawned child would.
pub(crate) fn launch(request: &mut Request, fds: &[OwnedFd], pipes: &ChildPipes) -> Result<Launched> {
    request.stdout = pipes.stdout.is_some();
    request.stderr = pipes.stderr.is_some();
    let context = child::Context::current();
    let mut guard = SERVER.get().lock().unwrap_or_else(|p| p.into_inner());
    let mut last_error = None;
    for _attempt in 0..2 {
        if guard.as_ref().is_none_or(|s| !server_alive(s)) {
            if let Some(old) = guard.take() {
                publish_fds(None);
                drop(old);
            }
            *guard = Some(start_server()?);
        }
        let server = guard.as_mut().expect("set above");
        let changed = server.context.as_ref() != Some(&context);
        request.context = changed.then(|| context.clone());
        let frame = codec::encode_frame(&*request)?;
        match ask(server, &frame, fds, pipes) {
            Ok(launched) => {
                if changed {
                    server.context = Some(context);
                }
                return Ok(launched);
            }
            Err(e @ (Error::Disconnected { .. } | Error::Io { .. })) => {
                // The server died between requests: start another once.
                let _ = sys::pidfd_send_signal(server.pidfd.as_fd(), sys::SIGKILL);
                publish_fds(None);
                *guard = None;
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::ForkServer(format!(
        "the server died twice in a row: {}",
        last_error.map(|e| e.to_string()).unwrap_or_default()
    )))
}

fn server_alive(server: &Server) -> bool {
    matches!(sys::poll(&[(server.pidfd.as_fd(), sys::POLLIN)], Some(std::time::Instant::now())), Ok(r) if r[0] == 0)
}

fn ask(server: &Server, frame: &[u8], arg_fds: &[OwnedFd], pipes: &ChildPipes) -> Result<Launched> {
    let (parent_end, child_end) = sys::socketpair().map_err(Error::io("creating the result socket"))?;
    let (status_ours, status_theirs) = sys::socketpair().map_err(Error::io("creating the status socket"))?;
    let mut fds = vec![child_end.as_fd(), status_theirs.as_fd()];
    fds.extend(pipes.stdout.iter().chain(&pipes.stderr).map(AsFd::as_fd));
    fds.extend(arg_fds.iter().map(AsFd::as_fd));
    sys::send_with_fds(server.control.as_fd(), frame, &fds).map_err(Error::io("sending to the forkserver"))?;
    drop((child_end, status_theirs));
    let (body, mut fds) = codec::recv_frame_with_fds(server.control.as_fd())?;
    match codec::decode::<Reply>(&body)? {
        Reply::Started { pid } => {
            let pidfd = fds
                .pop()
                .ok_or_else(|| Error::ForkServer("reply without the child's pidfd".into()))?;
            Launched::remote(pid, pidfd, parent_end, status_ours)
        }
        Reply::Failed(message) => Err(Error::ForkServer(message)),
    }
}

struct Running {
    pidfd: OwnedFd,
    status: OwnedFd,
}

/// The server loop; runs in the re-executed copy, before `main`, forever.
pub(crate) fn serve(control: OwnedFd) -> ! {
    // After a request, poll without sleeping for a while: starts come in
    // bursts, and waking a sleeping server costs more than the fork. It
    // yields rather than spins, so the child it just forked can run on
    // this CPU: on 2 CPUs, with the parent waiting in `join`, a spinning
    // server had kept its own child off both for about 250 µs (start +
    // join took 0.53 ms; now 0.25–0.28 ms).
    const SPIN: std::time::Duration = std::time::Duration::from_micros(300);
    let mut running: Vec<Running> = Vec::new();
    let mut spin_until = std::time::Instant::now();
    loop {
        let mut watch: Vec<(BorrowedFd<'_>, i16)> = vec![(control.as_fd(), sys::POLLIN)];
        watch.extend(running.iter().map(|r| (r.pidfd.as_fd(), sys::POLLIN)));
        let now = std::time::Instant::now();
        let Ok(revents) = sys::poll(&watch, (now < spin_until).then_some(now)) else {
            sys::exit_now(71);
        };
        if revents.iter().all(|r| *r == 0) {
            std::thread::yield_now();
            continue;
        }
        let exited: Vec<usize> = revents[1..]
            .iter()
            .enumerate()
            .filter(|(_, r)| **r != 0)
            .map(|(i, _)| i)
            .collect();
        for i in exited.into_iter().rev() {
            let done = running.swap_remove(i);
            if let Ok(Some(status)) = sys::waitid_pidfd(done.pidfd.as_fd(), false) {
                if let Ok(frame) = codec::encode_frame(&status) {
                    // The parent may have dropped its handle; that is fine.
                    let _ = sys::write_all(done.status.as_fd(), &frame);
                }
            } else {
                running.push(done);
            }
        }
        if revents[0] != 0 {
            spin_until = std::time::Instant::now() + SPIN;
            match codec::recv_frame_with_fds(control.as_fd()) {
                Ok((body, fds)) => {
                    let reply = start_child(&control, &running, &body, fds);
                    let (reply, pidfd) = match reply {
                        Ok(r) => {
                            let pid = r.0;
                            running.push(r.1);
                            (Reply::Started { pid }, running.last().map(|r| r.pidfd.as_fd()))
                        }
                        Err(e) => (Reply::Failed(e.to_string()), None),
                    };
                    let Ok(frame) = codec::encode_frame(&reply) else {
                        sys::exit_now(71);
                    };
                    let fds: Vec<BorrowedFd<'_>> = pidfd.into_iter().collect();
                    if sys::send_with_fds(control.as_fd(), &frame, &fds).is_err() {
                        sys::exit_now(0);
                    }
                }
                // The parent is gone (or spoke nonsense): the server's work is done.
                Err(_) => sys::exit_now(0),
            }
        }
    }
}

fn start_child(control: &OwnedFd, running: &[Running], body: &[u8], fds: Vec<OwnedFd>) -> Result<(i32, Running)> {
    let mut request: Request = codec::decode(body)?;
    if let Some(context) = request.context.take() {
        // The server is single-threaded: it may change its own environment.
        context.apply();
    }
    let mut fds = fds.into_iter();
    let (Some(result), Some(status)) = (fds.next(), fds.next()) else {
        return Err(Error::ForkServer("a request without its two sockets".into()));
    };
    let pipes = ChildPipes {
        stdout: if request.stdout { fds.next() } else { None },
        stderr: if request.stderr { fds.next() } else { None },
    };
    let arg_fds: Vec<OwnedFd> = fds.collect();
    super::fork::before_fork();
    // SAFETY: the fork server has no other thread; `before_fork` ran, and
    // the child closes the server's descriptors, runs the task and exits.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::fork() };
    match forked.map_err(Error::io("fork"))? {
        sys::Forked::Child => {
            sys::close_raw(control.as_raw_fd());
            for r in running {
                sys::close_raw(r.pidfd.as_raw_fd());
                sys::close_raw(r.status.as_raw_fd());
            }
            drop(status);
            pipes.install();
            child::set_identity(
                request.name,
                request.parent_pid,
                request.parent_name,
                super::StartMethod::ForkServer,
                request.daemon,
            );
            if request.daemon {
                child::die_with(request.parent_pid);
            }
            let entry = request.entry;
            let args = request.args;
            child::run_and_exit(result, move || {
                crate::handoff::with_incoming(arg_fds, || crate::entry::run_by_name(&entry, &args))
            })
        }
        sys::Forked::Parent(pid) => {
            drop((result, arg_fds, pipes));
            let pidfd = sys::pidfd_open(pid).map_err(Error::io("pidfd_open"))?;
            Ok((pid, Running { pidfd, status }))
        }
    }
}
