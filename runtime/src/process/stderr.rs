//! A child's last words: its standard error goes through a pipe that this
//! process reads, so the error that reports the child's death (a signal,
//! an exit code, a failed allocation) can say what the child wrote last.
//!
//! One relay thread per process reads every child's pipe as output comes,
//! forwards it at once to this process's own standard error (so nothing
//! changes for the reader of the terminal, except that a child's stderr is
//! a pipe, not a tty) and keeps the last [`TAIL`] bytes of each. Reading as
//! it comes, not at `join`, so a chatty child never blocks on a full pipe.
//! The relay's table is fork-local: a forked child starts its own relay
//! for its own children. A child still writing after its handle is gone
//! is relayed until its pipe closes.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::sys;

/// Bytes of a child's stderr kept for its error.
pub(crate) const TAIL: usize = 4096;

/// One child's pipe and the tail of what came through it.
#[derive(Debug)]
struct Pipe {
    /// The read end; `None` once the child's side is closed.
    fd: Option<Arc<OwnedFd>>,
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
                    let _ = sys::write_all(std::io::stderr().as_fd(), &buf[..n]);
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
    /// trimmed), after reading whatever the pipe still holds: the child is
    /// dead by now, so all it wrote is there, unless a descendant of it
    /// still holds the pipe (it is then read for at most a moment).
    ///
    /// With them, the line that says an allocation failed ("memory
    /// allocation of N bytes failed"), if the child said so.
    pub(crate) fn read_out(&self) -> (String, Option<String>) {
        let deadline = Instant::now() + Duration::from_millis(50);
        let mut pipe = lock(&self.0);
        while pipe.pump() && Instant::now() < deadline {
            // Data may still be on its way from the kernel's side of a
            // descendant; a short look, not a wait for it to exit.
            drop(pipe);
            std::thread::sleep(Duration::from_millis(1));
            pipe = lock(&self.0);
        }
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

/// A pipe for a child's stderr: the write end goes to the child (onto its
/// descriptor 2), the returned [`Tail`] reads the other. `None` when the
/// pipe or the relay cannot be made: the child then writes straight to
/// this process's stderr, as before, and its errors carry no last words.
pub(crate) fn capture() -> Option<(Tail, OwnedFd)> {
    let (read, write) = sys::pipe().ok()?;
    sys::set_nonblocking(read.as_fd(), true).ok()?;
    let pipe = Arc::new(Mutex::new(Pipe {
        fd: Some(Arc::new(read)),
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
