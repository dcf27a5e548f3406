//! A child's output: its standard error (and, with
//! [`capture_output`](super::ProcessBuilder::capture_output), its standard
//! output) goes through a pipe that this process reads, so the error that
//! reports the child's death (a signal, an exit code, a failed allocation)
//! can say what the child wrote last, and a captured child's whole output
//! can be read after it ends.
//!
//! One relay thread per process reads every child's pipe as output comes,
//! forwards it at once to this process's own standard error (so nothing
//! changes for the reader of the terminal, except that a child's stderr is
//! a pipe, not a tty) and keeps the last [`TAIL`] bytes of each; a captured
//! stream is kept whole instead of forwarded. Reading as
//! it comes, not at `join`, so a chatty child never blocks on a full pipe.
//! The relay's table is fork-local: a forked child starts its own relay
//! for its own children. A child still writing after its handle is gone
//! is relayed until its pipe closes.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::sys;

/// Bytes of a child's stderr kept for its error.
pub(crate) const TAIL: usize = 4096;

/// One child's pipe and the tail of what came through it.
#[derive(Debug)]
struct Pipe {
    /// The read end; `None` once the child's side is closed.
    fd: Option<Arc<OwnedFd>>,
    /// Forward what comes to this process's stderr (else keep it all).
    forward: bool,
    /// Everything that came, for a captured stream.
    all: Vec<u8>,
    tail: VecDeque<u8>,
    /// The standard library's "memory allocation of N bytes failed" line,
    /// kept apart: the backtrace printed after it can push it out of the
    /// tail.
    alloc_failure: Option<String>,
}

impl Pipe {
    /// Reads what the pipe holds now, forwards it and keeps its tail.
    /// Returns `false` once the writing side is closed.
    fn pump(&mut self) -> bool {
        let Some(fd) = self.fd.clone() else { return false };
        let mut buf = [0u8; 8192];
        loop {
            match sys::read(fd.as_fd(), &mut buf) {
                Ok(0) => {
                    self.fd = None;
                    return false;
                }
                Ok(n) => {
                    if self.forward {
                        let _ = sys::write_all(std::io::stderr().as_fd(), &buf[..n]);
                    } else {
                        self.all.extend_from_slice(&buf[..n]);
                    }
                    self.tail.extend(&buf[..n]);
                    let excess = self.tail.len().saturating_sub(TAIL);
                    self.tail.drain(..excess);
                    self.note_alloc_failure();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => {
                    self.fd = None;
                    return false;
                }
            }
        }
    }
}

impl Pipe {
    fn note_alloc_failure(&mut self) {
        const SAYS: &str = "memory allocation of ";
        let text = String::from_utf8_lossy(self.tail.make_contiguous());
        if let Some(at) = text.rfind(SAYS) {
            let line = text[at..].lines().next().unwrap_or_default();
            if line.contains(" bytes failed") {
                self.alloc_failure = Some(line.to_string());
            }
        }
    }
}

/// The handle a [`Process`](super::Process) keeps on its child's stderr.
#[derive(Debug, Clone)]
pub(crate) struct Tail(Arc<Mutex<Pipe>>);

impl Tail {
    /// What the child wrote last (up to [`TAIL`] bytes, lossy UTF-8,
    /// trimmed), after reading whatever the pipe still holds (the child is
    /// dead by now, so all it wrote is there).
    ///
    /// With them, the line that says an allocation failed ("memory
    /// allocation of N bytes failed"), if the child said so.
    pub(crate) fn read_out(&self) -> (String, Option<String>) {
        let pipe = self.drained();
        let bytes: Vec<u8> = pipe.tail.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        // A cut at the front may split a character: start at a line.
        let text = match (bytes.len() >= TAIL, text.find('\n')) {
            (true, Some(i)) => &text[i + 1..],
            _ => &text[..],
        };
        (text.trim().to_string(), pipe.alloc_failure.clone())
    }
}

impl Tail {
    /// The pipe, after reading whatever it holds now. No waiting for its
    /// end: once the child is dead, all it wrote is in the pipe already,
    /// and a copy of the write end held elsewhere (a descendant, a sibling
    /// forked meanwhile) must not delay a `join`.
    fn drained(&self) -> MutexGuard<'_, Pipe> {
        let mut pipe = lock(&self.0);
        pipe.pump();
        pipe
    }

    /// Everything a captured stream carried (the child has ended).
    pub(crate) fn all(&self) -> Vec<u8> {
        self.drained().all.clone()
    }
}

/// The pipes a child's standard output and error go to (each `None`: the
/// parent's own, as it is).
#[derive(Debug, Default)]
pub(crate) struct ChildPipes {
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

impl ChildPipes {
    /// In the child: makes the pipes its standard output and error.
    pub(crate) fn install(self) {
        if let Some(fd) = self.stdout {
            let _ = sys::redirect_onto(fd.as_fd(), sys::STDOUT);
        }
        if let Some(fd) = self.stderr {
            let _ = sys::redirect_onto(fd.as_fd(), sys::STDERR);
        }
    }
}

/// The parent's ends of a child's output pipes.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub(crate) stdout: Option<Tail>,
    pub(crate) stderr: Option<Tail>,
}

/// Makes the pipes for a child: stderr always (forwarded, its tail kept),
/// unless it cannot be made; with `whole`, stdout and stderr kept whole
/// instead (an error if they cannot be made).
pub(crate) fn pipes(whole: bool) -> crate::Result<(Captured, ChildPipes)> {
    let mut captured = Captured::default();
    let mut child = ChildPipes::default();
    if whole {
        let failed = || crate::Error::Io {
            context: "creating the pipes of a child's captured output",
            source: std::io::Error::other("no pipe or no relay thread"),
        };
        let (tail, fd) = capture(false).ok_or_else(failed)?;
        (captured.stdout, child.stdout) = (Some(tail), Some(fd));
        let (tail, fd) = capture(false).ok_or_else(failed)?;
        (captured.stderr, child.stderr) = (Some(tail), Some(fd));
    } else if let Some((tail, fd)) = capture(true) {
        (captured.stderr, child.stderr) = (Some(tail), Some(fd));
    }
    Ok((captured, child))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every pipe the relay reads, and how to wake it.
#[derive(Default)]
struct Relay {
    pipes: Vec<Arc<Mutex<Pipe>>>,
    wake: Option<Arc<sys::EventFd>>,
}

static RELAY: sys::ForkLocal<Mutex<Relay>> = sys::ForkLocal::new(Default::default);

/// A pipe for one of a child's streams: the write end goes to the child,
/// the returned [`Tail`] reads the other, forwarding to this process's
/// stderr or keeping it all. `None` when the pipe or the relay cannot be
/// made: the child then writes straight to this process's stream, and its
/// errors carry no last words.
fn capture(forward: bool) -> Option<(Tail, OwnedFd)> {
    let (read, write) = sys::pipe().ok()?;
    sys::set_nonblocking(read.as_fd(), true).ok()?;
    let pipe = Arc::new(Mutex::new(Pipe {
        fd: Some(Arc::new(read)),
        forward,
        all: Vec::new(),
        tail: VecDeque::new(),
        alloc_failure: None,
    }));
    let mut relay = lock(RELAY.get());
    let wake = match &relay.wake {
        Some(wake) => wake.clone(),
        None => {
            let wake = Arc::new(sys::EventFd::new().ok()?);
            let theirs = wake.clone();
            std::thread::Builder::new()
                .name("multiproc-stderr".into())
                .stack_size(128 * 1024)
                .spawn(move || relay_loop(&theirs))
                .ok()?;
            relay.wake = Some(wake.clone());
            wake
        }
    };
    relay.pipes.push(pipe.clone());
    drop(relay);
    wake.notify();
    Some((Tail(pipe), write))
}

/// The relay thread: polls every open pipe and pumps the readable ones.
fn relay_loop(wake: &sys::EventFd) {
    loop {
        let pipes: Vec<(Arc<Mutex<Pipe>>, Arc<OwnedFd>)> = {
            let mut relay = lock(RELAY.get());
            relay.pipes.retain(|p| lock(p).fd.is_some());
            relay
                .pipes
                .iter()
                .filter_map(|p| lock(p).fd.clone().map(|fd| (p.clone(), fd)))
                .collect()
        };
        let mut fds = vec![(wake.as_fd(), sys::POLLIN)];
        fds.extend(pipes.iter().map(|(_, fd)| (fd.as_fd(), sys::POLLIN)));
        let Ok(revents) = sys::poll(&fds, None) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        if revents[0] != 0 {
            wake.drain();
        }
        for ((pipe, _), revents) in pipes.iter().zip(&revents[1..]) {
            if *revents != 0 {
                lock(pipe).pump();
            }
        }
    }
}
