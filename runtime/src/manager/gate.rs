//! The gate of a manager's server: one thread that accepts connections
//! and runs every handshake, in one `poll` loop, before a connection gets
//! a thread of its own. What a stranger without the key can make the
//! server spend is bounded:
//!
//! - no thread, and one small buffer, per connection not yet
//!   authenticated;
//! - at most [`max_pending`] of them (a quarter of the descriptor limit,
//!   from 8 to 256): a new one beyond that pushes out the oldest, which is
//!   told [`BUSY`](super::conn::BUSY_REPLY);
//! - one total deadline ([`SERVER_HANDSHAKE_TIMEOUT`]) for the whole
//!   handshake, however the bytes trickle in;
//! - a deep accept queue ([`BACKLOG`]), so that a flood of connects does
//!   not make the kernel drop an honest client's;
//! - out of descriptors (`EMFILE`, `ENFILE`), a spare descriptor kept for
//!   that moment is given up to accept the waiting connection, tell it
//!   `BUSY` and close it; without one, accepting pauses for
//!   [`ACCEPT_PAUSE`] instead of spinning on a listener that stays
//!   readable.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use super::conn::{Challenge, Stream, ANSWER_LEN, BUSY_REPLY, SERVER_HANDSHAKE_TIMEOUT};
use super::server::Listener;
use crate::error::{Error, Result};
use crate::sys;

/// How long accepting pauses when descriptors run out and no spare is
/// left to answer with.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);
/// How many connections may wait to be accepted. With std's 128, a flood
/// of connects filled the queue and the kernel dropped an honest client's
/// SYN, which it then sent again only a second later (measured with
/// `manager-flood`: one honest client in 235 took 1.01 s).
const BACKLOG: i32 = 4096;
/// The most connections taken from one listener in one turn of the loop,
/// so that handshakes under way are not starved by a flood.
const ACCEPT_BURST: usize = 64;

/// A connection whose handshake is under way.
struct Pending {
    stream: Stream,
    challenge: Challenge,
    deadline: Instant,
    answer: [u8; ANSWER_LEN],
    got: usize,
}

/// The most unauthenticated connections held at once: a quarter of this
/// process's descriptor limit, between 8 and 256.
pub(crate) fn max_pending() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1024);
    (soft / 4).clamp(8, 256)
}

/// Whether an `accept` error means this process or the system is out of
/// descriptors (or memory for a socket).
fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Tells a connection the server cannot take it, without waiting.
fn turn_away(mut stream: Stream) {
    let _ = stream.set_nonblocking();
    let _ = stream.write_some(&BUSY_REPLY);
}

/// What became of a connection whose handshake ended.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// It proved it knows the key: authenticated, ready to frame.
    Accepted(Stream),
    /// It answered, wrongly: told so and closed.
    Refused,
}

/// The gate's state between turns: the connections whose handshake is
/// under way, and what it keeps for a moment without descriptors.
pub(crate) struct Gate {
    cap: usize,
    pending: VecDeque<Pending>,
    spare: Option<File>,
    urandom: File,
    paused_until: Option<Instant>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate for `listeners` (made non-blocking, with a deep backlog).
    pub(crate) fn new(listeners: &[Listener]) -> Result<Gate> {
        for l in listeners {
            sys::set_nonblocking(l.fd(), true).map_err(Error::io("fcntl"))?;
            sys::set_backlog(l.fd(), BACKLOG).map_err(Error::io("listen"))?;
        }
        Ok(Gate {
            cap: max_pending(),
            pending: VecDeque::new(),
            spare: File::open("/dev/null").ok(),
            urandom: File::open("/dev/urandom").map_err(Error::io("opening /dev/urandom"))?,
            paused_until: None,
        })
    }

    /// One turn: sleeps until something happens on `listeners`, on a
    /// handshake under way, on `wake` (when given: then `stop` is asked,
    /// and `Ok(None)` returned if it says so) or until `deadline`; then
    /// accepts and greets new connections, reads answers, and returns the
    /// verdicts of the handshakes that ended (none, often).
    pub(crate) fn turn(
        &mut self,
        listeners: &[Listener],
        key: &[u8],
        wake: Option<(BorrowedFd<'_>, &dyn Fn() -> bool)>,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<Verdict>>> {
        let now = Instant::now();
        if self.paused_until.is_some_and(|t| now >= t) {
            self.paused_until = None;
        }
        let accepting = self.paused_until.is_none();
        let mut fds: Vec<(BorrowedFd<'_>, i16)> = Vec::with_capacity(1 + listeners.len() + self.pending.len());
        if let Some((fd, _)) = wake {
            fds.push((fd, sys::POLLIN));
        }
        let first_listener = fds.len();
        if accepting {
            fds.extend(listeners.iter().map(|l| (l.fd(), sys::POLLIN)));
        }
        let first_pending = fds.len();
        fds.extend(self.pending.iter().map(|p| (p.stream.as_fd(), sys::POLLIN)));
        let wake_at = self
            .pending
            .iter()
            .map(|p| p.deadline)
            .min()
            .into_iter()
            .chain(self.paused_until)
            .chain(deadline)
            .min();
        let ready = sys::poll(&fds, wake_at).map_err(Error::io("poll"))?;
        drop(fds);
        if wake.is_some_and(|(_, stop)| stop()) {
            return Ok(None);
        }
        let mut verdicts = Vec::new();

        // Handshakes first (by index, before new ones join the queue).
        let mut done: Vec<usize> = Vec::new();
        for (i, p) in self.pending.iter_mut().enumerate() {
            let revents = ready[first_pending + i];
            if revents == 0 {
                continue;
            }
            match p.stream.read_some(&mut p.answer[p.got..]) {
                Ok(0) => done.push(i),
                Ok(n) => {
                    p.got += n;
                    if p.got == ANSWER_LEN {
                        done.push(i);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => done.push(i),
            }
        }
        for i in done.into_iter().rev() {
            let Some(mut p) = self.pending.remove(i) else { continue };
            if p.got < ANSWER_LEN {
                continue; // hung up: dropped
            }
            let (verdict, keys) = p.challenge.verdict(key, &p.answer);
            // A verdict of 33 bytes on a connection that has sent only its
            // greeting always fits the socket's buffer; if it does not,
            // the connection is dropped.
            let sent = matches!(p.stream.write_some(&verdict), Ok(n) if n == verdict.len());
            match (keys, sent) {
                (Some(keys), true) => {
                    p.stream.authenticated(keys);
                    verdicts.push(Verdict::Accepted(p.stream));
                }
                (None, _) => verdicts.push(Verdict::Refused),
                (Some(_), false) => {}
            }
        }
        // In the order they came.
        verdicts.reverse();

        // Out of time, all reads together.
        let now = Instant::now();
        self.pending.retain(|p| p.deadline > now);

        if !accepting {
            return Ok(Some(verdicts));
        }
        for (li, listener) in listeners.iter().enumerate() {
            if ready[first_listener + li] == 0 {
                continue;
            }
            self.accept_burst(listener);
        }
        Ok(Some(verdicts))
    }

    /// Accepts and greets what `listener` has waiting, up to
    /// [`ACCEPT_BURST`] connections.
    fn accept_burst(&mut self, listener: &Listener) {
        for _ in 0..ACCEPT_BURST {
            match listener.accept() {
                Ok(stream) => {
                    if let Some(p) = greet(stream, &self.urandom) {
                        if self.pending.len() >= self.cap {
                            if let Some(oldest) = self.pending.pop_front() {
                                turn_away(oldest.stream);
                            }
                        }
                        self.pending.push_back(p);
                    }
                }
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(Error::Io { source, .. }) if out_of_descriptors(&source) => {
                    // Give up the spare to answer one waiting
                    // connection; pause if there is none to give.
                    if let Some(f) = self.spare.take() {
                        drop(f);
                        if let Ok(stream) = listener.accept() {
                            turn_away(stream);
                        }
                        self.spare = File::open("/dev/null").ok();
                    }
                    if self.spare.is_none() {
                        self.paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                    }
                    break;
                }
                // A connection that went away before we took it, a
                // local peer of another user (closed), a transient
                // error: the next one.
                Err(_) => {}
            }
        }
    }
}

/// Accepts on `listeners` and runs handshakes under `key` until `stop`
/// says so (checked whenever `wake` is readable); hands every connection
/// that proved it knows the key to `serve`.
pub(crate) fn run(
    listeners: &[Listener],
    key: &[u8],
    wake: BorrowedFd<'_>,
    stop: impl Fn() -> bool,
    mut serve: impl FnMut(Stream),
) -> Result<()> {
    let mut gate = Gate::new(listeners)?;
    while let Some(verdicts) = gate.turn(listeners, key, Some((wake, &stop)), None)? {
        for v in verdicts {
            if let Verdict::Accepted(stream) = v {
                serve(stream);
            }
        }
    }
    Ok(())
}

/// Starts the handshake on a new connection: sends the greeting.
fn greet(mut stream: Stream, urandom: &File) -> Option<Pending> {
    stream.set_nonblocking().ok()?;
    let challenge = Challenge::new(urandom).ok()?;
    let greeting = challenge.greeting();
    // A new socket's buffer always takes 33 bytes.
    match stream.write_some(&greeting) {
        Ok(n) if n == greeting.len() => {}
        _ => return None,
    }
    Some(Pending {
        stream,
        challenge,
        deadline: Instant::now() + SERVER_HANDSHAKE_TIMEOUT,
        answer: [0; ANSWER_LEN],
        got: 0,
    })
}
