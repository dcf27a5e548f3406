//! Connections to a manager's server: addresses, the authentication
//! handshake, framed requests and replies, and the client's pool of
//! connections.
//!
//! Handshake, before any request is decoded: the server sends
//! [`GREETING`] and 32 random bytes `Ns` (or [`BUSY`] and closes); the
//! client answers with its own 32 random bytes `Nc` and
//! `HMAC-SHA256(authkey, "client" ‖ Ns ‖ Nc)`; the server checks it (in
//! constant time) and answers [`ACCEPTED`] with
//! `HMAC-SHA256(authkey, "server" ‖ Ns ‖ Nc)`, or [`REFUSED`]. Each side
//! proves it knows the key on a nonce of the other's, so an answer
//! recorded from one connection is worthless on another. The server reads
//! exactly those sizes, in its event loop (see `gate.rs`), within one
//! total deadline; the client has its own total deadline.
//!
//! After it, every frame on the socket carries a 16-byte tag under keys
//! derived from the authkey and both nonces (see [`FrameAuth`]), and over
//! TCP is encrypted (AES-256-GCM): a relay that passed the
//! handshake through without the key can neither send a request nor read
//! or change a reply. Messages in the shared page of a local
//! connection are not tagged: the page reaches only the two processes of
//! a socket whose peer was checked (`local.rs`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::local;
use crate::codec::{self, FrameReader};
use crate::error::{Error, Result};
use crate::sys;

/// Bytes in a nonce and in a MAC.
const CHALLENGE: usize = 32;
/// The longest a client waits for the whole handshake.
pub(crate) const CLIENT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a server gives a connection to finish the handshake, all
/// reads together: a client that trickles its answer in is cut off then.
pub(crate) const SERVER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest request or reply frame (a client cannot make the server
/// allocate more).
pub(crate) const MAX_FRAME: usize = 64 << 20;

/// Refuses a message that the other side would refuse for its size, before
/// a byte of it is sent: the connection stays usable, and the caller learns
/// what happened (not that the server is "gone" after sending it all).
fn fits(len: usize) -> Result<()> {
    if len > MAX_FRAME {
        return Err(Error::FrameTooLarge {
            len: len as u64,
            max: MAX_FRAME as u64,
        });
    }
    Ok(())
}
/// The time a client has left to connect and authenticate: a deadline,
/// and the limit it was set from (which a timeout error reports).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// `limit` from now.
    pub(crate) fn after(limit: Duration) -> Deadline {
        Deadline {
            at: crate::deadline::after_or_far(limit),
            limit,
        }
    }

    /// The instant it passes.
    pub(crate) fn at(&self) -> Instant {
        self.at
    }

    /// What is left, or the timeout error once nothing is.
    pub(crate) fn left(&self) -> Result<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.expired());
        }
        Ok(left)
    }

    /// The error of a connection not made in time.
    pub(crate) fn expired(&self) -> Error {
        Error::HandshakeTimeout(self.limit)
    }

    /// The error of a connect to `what` that failed with `e`: this
    /// deadline's own when time ran out.
    pub(crate) fn connect_failed(&self, what: impl std::fmt::Display, e: std::io::Error) -> Error {
        match e.kind() {
            std::io::ErrorKind::TimedOut => self.expired(),
            _ => Error::Manager(format!("cannot connect to {what}: {e}")),
        }
    }
}

/// The pauses before a client asks a busy server again (75 ms in all).
const BUSY_RETRIES: [Duration; 3] = [
    Duration::from_millis(5),
    Duration::from_millis(20),
    Duration::from_millis(50),
];
/// How long a waiting side checks for the answer before it sleeps.
const SPIN: Duration = Duration::from_micros(60);

const REFUSED: u8 = 0;
const ACCEPTED: u8 = 1;
/// Instead of a greeting or a verdict: the server cannot take the
/// connection (out of descriptors, or too many unauthenticated ones).
const BUSY: u8 = 2;
/// The first byte of a server's greeting.
const GREETING: u8 = b'M';

/// Where a manager's server listens: a TCP address, or (for
/// [`Manager`](super::Manager)) an abstract Unix socket, which leaves
/// nothing in the file system.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Address {
    /// A TCP address.
    Tcp(SocketAddr),
    /// An abstract Unix socket name (Linux).
    Unix(String),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "{a}"),
            Address::Unix(name) => write!(f, "unix:@{name}"),
        }
    }
}

impl Address {
    /// Parses `host:port` (the first address it resolves to).
    pub(crate) fn tcp(text: &str) -> Result<Address> {
        text.to_socket_addrs()
            .map_err(|e| Error::Usage(format!("`{text}` is not a usable address: {e}").into()))?
            .next()
            .map(Address::Tcp)
            .ok_or_else(|| Error::Usage(format!("`{text}` resolves to no address").into()))
    }

    fn connect(&self, by: Deadline) -> Result<Stream> {
        let fail = |e| by.connect_failed(format_args!("the manager at {self}"), e);
        match self {
            Address::Tcp(a) => Ok(Stream::from(TcpStream::connect_timeout(a, by.left()?).map_err(fail)?)),
            Address::Unix(name) => {
                let stream = sys::unix_connect(name.as_bytes(), true, Some(by.at())).map_err(fail)?;
                // Anyone can bind an abstract name (once its server is
                // gone): talk only to a server of our own user.
                local::check_peer(stream.as_fd(), &format!("the manager socket {self}"))?;
                Ok(Stream::from(stream))
            }
        }
    }
}

/// A connected socket of either kind.
#[derive(Debug)]
pub(crate) enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// One connection: blocking during the handshake, then non-blocking, with
/// a frame reader that takes whatever the kernel has in one read.
#[derive(Debug)]
pub(crate) struct Stream {
    sock: Sock,
    reader: FrameReader,
    /// Where reads land before the reader takes them: allocated once, so
    /// a small message costs no fresh pages.
    scratch: Vec<u8>,
    /// How long the next wait spins: [`SPIN`] while answers come that
    /// fast, halved each time one does not (a busy machine, a slow call),
    /// so spinning never steals much CPU from the side it waits for.
    spin: Duration,
    /// On a Unix connection: the shared page that carries requests and
    /// replies (see [`Slot`]).
    slot: Option<Slot>,
    /// After the handshake: the keys that tag every frame on the socket
    /// (boxed: a client moves its idle streams in and out of a list on
    /// every call, and the keys are a kilobyte).
    auth: Option<Box<FrameAuth>>,
}

impl Stream {
    fn new(sock: Sock) -> Stream {
        Stream {
            sock,
            reader: FrameReader::new(MAX_FRAME + TAG),
            scratch: vec![0; 64 * 1024],
            spin: SPIN,
            slot: None,
            auth: None,
        }
    }

    fn set_read_timeout(&self, t: Option<Duration>) {
        let _ = match &self.sock {
            Sock::Tcp(s) => s.set_read_timeout(t),
            Sock::Unix(s) => s.set_read_timeout(t),
        };
    }

    /// Ends the handshake: from now on the socket never blocks a call; the
    /// waiting is done here, spinning briefly first.
    pub(crate) fn framed(&mut self) -> Result<()> {
        self.set_read_timeout(None);
        match &self.sock {
            Sock::Tcp(s) => s.set_nonblocking(true),
            Sock::Unix(s) => s.set_nonblocking(true),
        }
        .map_err(Error::io("fcntl"))
    }

    fn io(&mut self) -> &mut dyn ReadWrite {
        match &mut self.sock {
            Sock::Tcp(s) => s,
            Sock::Unix(s) => s,
        }
    }

    /// Sends one frame.
    pub(crate) fn send<T: Serialize>(&mut self, value: &T) -> Result<()> {
        let mut frame = codec::encode_frame(value)?;
        fits(frame.len() - 4)?;
        self.seal(&mut frame)?;
        let broke = |e: std::io::Error| Error::Manager(format!("the connection broke while sending: {e}"));
        let mut sent = 0;
        while sent < frame.len() {
            match self.io().write(&frame[sent..]) {
                Ok(0) => return Err(broke(std::io::ErrorKind::WriteZero.into())),
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    sys::poll(&[(self.as_fd(), libc::POLLOUT)], None).map_err(broke)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(broke(e)),
            }
        }
        Ok(())
    }

    /// Receives one frame, checking for it briefly before sleeping: the
    /// answer usually arrives sooner than a sleeping thread wakes up.
    pub(crate) fn recv<T: DeserializeOwned>(&mut self) -> Result<T> {
        codec::decode(&self.recv_frame_body()?)
    }

    /// One frame's body, however it arrives.
    fn recv_frame_body(&mut self) -> Result<Vec<u8>> {
        let started = Instant::now();
        let spin_until = started + self.spin;
        loop {
            if let Some(frame) = self.reader.next_frame()? {
                self.spin = if started.elapsed() <= SPIN { SPIN } else { self.spin / 2 };
                let body = frame.to_vec();
                return self.open(body);
            }
            // Spinning with `poll`, not with reads: a read takes the
            // socket's lock, which the writer needs (measured: reads made
            // a round trip 2.5x slower).
            let now = Instant::now();
            let deadline = if now < spin_until { Some(now) } else { None };
            let ready = sys::poll(&[(self.sock_fd(), sys::POLLIN)], deadline).map_err(Error::io("poll"))?;
            if ready[0] == 0 {
                std::hint::spin_loop();
                continue;
            }
            let read = match &mut self.sock {
                Sock::Tcp(s) => s.read(&mut self.scratch),
                Sock::Unix(s) => s.read(&mut self.scratch),
            };
            match read {
                Ok(0) => {
                    return Err(Error::Disconnected {
                        partial: self.reader.has_partial(),
                    })
                }
                Ok(n) => self.reader.push(&self.scratch[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(Error::io("reading from a manager connection")(e)),
            }
        }
    }

    fn sock_fd(&self) -> BorrowedFd<'_> {
        match &self.sock {
            Sock::Tcp(s) => s.as_fd(),
            Sock::Unix(s) => s.as_fd(),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.io().write_all(buf)
    }
}

/// A same-host connection's shared page: requests and replies travel
/// through it instead of the socket, with no system call while both sides
/// are awake (a socket round trip was about 7.5 µs of writes, polls and
/// reads). The socket stays: for liveness (a dead peer's socket hangs up),
/// and for a message larger than the page, whose place the page marks.
///
/// Layout: the request count, the reply count, the message length (or
/// [`SLOT_ON_SOCKET`]), whether the server sleeps, whether the client
/// sleeps; the message from byte 64. Strict turns: the client writes only
/// after a reply, the server only after a request, and each reads the
/// other's bytes only after the count's release. A hostile peer can make
/// only a decode error: the bytes are read volatile, the length checked.
#[derive(Debug)]
pub(crate) struct Slot {
    region: sys::SharedRegion,
    /// The last request count the server took.
    seen: u32,
}

const SLOT_BYTES: usize = 4096;
const SLOT_DATA: usize = 64;
const SLOT_REQ: usize = 0;
const SLOT_REP: usize = 4;
const SLOT_LEN: usize = 8;
const SLOT_SERVER_SLEEPS: usize = 12;
const SLOT_CLIENT_SLEEPS: usize = 16;
/// The length that says "the message is on the socket".
const SLOT_ON_SOCKET: u32 = u32::MAX;

impl Slot {
    fn word(&self, offset: usize) -> &AtomicU32 {
        self.region
            .atomic_u32(offset)
            .unwrap_or_else(|| unreachable!("the page holds its words"))
    }

    /// Puts `bytes` in the page; a message too large for it is marked
    /// there (`true`: send it on the socket — after the count is
    /// announced, since the peer reads the socket only then).
    fn write(&self, bytes: &[u8]) -> Result<bool> {
        if bytes.len() <= SLOT_BYTES - SLOT_DATA {
            self.region
                .write_at(SLOT_DATA, bytes)
                .map_err(Error::io("writing a manager message"))?;
            self.word(SLOT_LEN).store(bytes.len() as u32, Ordering::Relaxed);
            return Ok(false);
        }
        self.word(SLOT_LEN).store(SLOT_ON_SOCKET, Ordering::Relaxed);
        Ok(true)
    }

    /// Bumps the count at `count` and wakes the peer if it sleeps there.
    fn announce(&self, count: usize, sleeps: usize) {
        // SeqCst here and in `await_count`'s flag store and count load: a
        // bump must see a sleeper's flag, or the sleeper must see the bump.
        let word = self.word(count);
        word.fetch_add(1, Ordering::SeqCst);
        if self.word(sleeps).load(Ordering::SeqCst) != 0 {
            sys::futex_wake(word, 1);
        }
    }

    /// Waits until the count at `count` moves past `seen` (spinning for
    /// `spin` first); `Err` when the peer's socket hangs up meanwhile.
    fn await_count(&self, sock: BorrowedFd<'_>, count: usize, sleeps: usize, seen: u32, spin: Duration) -> Result<u32> {
        let word = self.word(count);
        let spin_until = Instant::now() + spin;
        loop {
            let now = word.load(Ordering::Acquire);
            if now != seen {
                return Ok(now);
            }
            if Instant::now() >= spin_until {
                break;
            }
            std::hint::spin_loop();
        }
        let flag = self.word(sleeps);
        flag.store(1, Ordering::SeqCst);
        let mut nap = Duration::from_millis(20);
        let result = loop {
            let now = word.load(Ordering::SeqCst);
            if now != seen {
                break Ok(now);
            }
            sys::futex_wait(word, seen, Some(Instant::now() + nap));
            if word.load(Ordering::Acquire) == seen {
                // A dead peer never counts: its socket says so.
                let hung = sys::poll(&[(sock, sys::POLLIN)], Some(Instant::now()))
                    .map(|r| r[0] & libc::POLLHUP != 0)
                    .unwrap_or(true);
                if hung {
                    break Err(Error::Disconnected { partial: false });
                }
                nap = (nap * 2).min(Duration::from_millis(500));
            }
        };
        flag.store(0, Ordering::Relaxed);
        result
    }

    /// Reads the message the peer just announced.
    fn read(&self, stream: &mut Stream) -> Result<Vec<u8>> {
        let len = self.word(SLOT_LEN).load(Ordering::Relaxed);
        if len == SLOT_ON_SOCKET {
            return stream.recv_raw();
        }
        let len = len as usize;
        if len > SLOT_BYTES - SLOT_DATA {
            return Err(Error::Codec(format!(
                "a manager message of {len} bytes in a {SLOT_BYTES}-byte page"
            )));
        }
        let mut bytes = vec![0u8; len];
        self.region
            .read_at(SLOT_DATA, &mut bytes)
            .map_err(Error::io("reading a manager message"))?;
        Ok(bytes)
    }
}

/// Writes all of `bytes` to a non-blocking socket.
fn write_blocking(sock: &mut Sock, bytes: &[u8]) -> Result<()> {
    let broke = |e: std::io::Error| Error::Manager(format!("the connection broke while sending: {e}"));
    let mut sent = 0;
    while sent < bytes.len() {
        let w = match sock {
            Sock::Tcp(s) => s.write(&bytes[sent..]),
            Sock::Unix(s) => s.write(&bytes[sent..]),
        };
        match w {
            Ok(0) => return Err(broke(std::io::ErrorKind::WriteZero.into())),
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let fd = match &*sock {
                    Sock::Tcp(s) => s.as_fd(),
                    Sock::Unix(s) => s.as_fd(),
                };
                sys::poll(&[(fd, libc::POLLOUT)], None).map_err(broke)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(broke(e)),
        }
    }
    Ok(())
}

impl Stream {
    /// Server side, after the client's hello on a Unix connection: makes
    /// the shared page and hands it over.
    pub(crate) fn offer_slot(&mut self) -> Result<()> {
        if !matches!(self.sock, Sock::Unix(_)) {
            return Ok(());
        }
        let region = sys::SharedRegion::new("multiproc-manager-slot", SLOT_BYTES).map_err(Error::io("memfd"))?;
        sys::send_with_fds(self.sock_fd(), &[1], &[region.fd()]).map_err(Error::io("sending the page"))?;
        self.slot = Some(Slot { region, seen: 0 });
        Ok(())
    }

    /// Client side: takes the page the server offers on a Unix connection.
    fn take_slot(&mut self, by: Deadline) -> Result<()> {
        if !matches!(self.sock, Sock::Unix(_)) {
            return Ok(());
        }
        by.left()?;
        let ready = sys::poll(&[(self.sock_fd(), sys::POLLIN)], Some(by.at())).map_err(Error::io("poll"))?;
        if ready.first().is_none_or(|r| *r == 0) {
            by.left()?; // out of time: the timeout's own error
            return Err(Error::Manager("the server offered no shared page".into()));
        }
        let mut one = [0u8; 1];
        let (n, fds) = sys::recv_with_fds(self.sock_fd(), &mut one).map_err(Error::io("receiving the page"))?;
        let fd = fds
            .into_iter()
            .next()
            .filter(|_| n == 1)
            .ok_or_else(|| Error::Manager("no shared page came".into()))?;
        let region = sys::SharedRegion::map(fd).map_err(Error::io("mapping the page"))?;
        if region.len() < SLOT_BYTES {
            return Err(Error::Manager("the shared page is too small".into()));
        }
        self.slot = Some(Slot { region, seen: 0 });
        Ok(())
    }

    /// Client side: sends `request` and waits for the reply — through the
    /// shared page when there is one.
    pub(crate) fn exchange(&mut self, request: &Request) -> Result<Reply> {
        let Some(slot) = self.slot.as_ref() else {
            self.send(request)?;
            return self.recv();
        };
        let bytes = codec::encode(request)?;
        fits(bytes.len())?;
        let seen = slot.word(SLOT_REP).load(Ordering::Acquire);
        let large = slot.write(&bytes)?;
        slot.announce(SLOT_REQ, SLOT_SERVER_SLEEPS);
        if large {
            let frame = self.framed_bytes(&bytes)?;
            write_blocking(&mut self.sock, &frame)?;
        }
        let slot = self.slot.as_ref().unwrap_or_else(|| unreachable!("checked above"));
        let started = Instant::now();
        let fd = match &self.sock {
            Sock::Tcp(s) => s.as_fd(),
            Sock::Unix(s) => s.as_fd(),
        };
        slot.await_count(fd, SLOT_REP, SLOT_CLIENT_SLEEPS, seen, self.spin)?;
        self.spin = if started.elapsed() <= SPIN { SPIN } else { self.spin / 2 };
        let slot = self.slot.take().unwrap_or_else(|| unreachable!("checked above"));
        let reply = slot.read(self);
        self.slot = Some(slot);
        codec::decode(&reply?)
    }

    /// Server side: the next request — from the shared page when there is
    /// one.
    pub(crate) fn next_request(&mut self) -> Result<Request> {
        let Some(slot) = self.slot.as_ref() else {
            return self.recv();
        };
        let started = Instant::now();
        let fd = match &self.sock {
            Sock::Tcp(s) => s.as_fd(),
            Sock::Unix(s) => s.as_fd(),
        };
        let now = slot.await_count(fd, SLOT_REQ, SLOT_SERVER_SLEEPS, slot.seen, self.spin)?;
        self.spin = if started.elapsed() <= SPIN { SPIN } else { self.spin / 2 };
        let mut slot = self.slot.take().unwrap_or_else(|| unreachable!("checked above"));
        slot.seen = now;
        let bytes = slot.read(self);
        self.slot = Some(slot);
        codec::decode(&bytes?)
    }

    /// Server side: answers the last request the way it came.
    pub(crate) fn reply(&mut self, reply: &Reply) -> Result<()> {
        let Some(slot) = self.slot.as_ref() else {
            return self.send(reply);
        };
        let bytes = codec::encode(reply)?;
        fits(bytes.len())?;
        let large = slot.write(&bytes)?;
        slot.announce(SLOT_REP, SLOT_CLIENT_SLEEPS);
        if large {
            let frame = self.framed_bytes(&bytes)?;
            write_blocking(&mut self.sock, &frame)?;
        }
        Ok(())
    }

    /// One frame's body from the socket.
    fn recv_raw(&mut self) -> Result<Vec<u8>> {
        self.recv_frame_body()
    }

    /// `bytes` as a frame for the socket, tagged.
    fn framed_bytes(&mut self, bytes: &[u8]) -> Result<Vec<u8>> {
        let mut frame = Vec::with_capacity(4 + bytes.len() + TAG);
        frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        frame.extend_from_slice(bytes);
        self.seal(&mut frame)?;
        Ok(frame)
    }

    /// Appends the tag to `frame` (header and body), once the handshake
    /// gave keys.
    fn seal(&mut self, frame: &mut Vec<u8>) -> Result<()> {
        let Some(auth) = self.auth.as_mut() else {
            return Ok(());
        };
        let tag = auth.seal(&mut frame[4..]);
        frame.extend_from_slice(&tag);
        let len = u32::try_from(frame.len() - 4).map_err(|_| Error::FrameTooLarge {
            len: (frame.len() - 4) as u64,
            max: u32::MAX as u64,
        })?;
        frame[..4].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    /// Checks and strips the tag of a frame's `body`, once the handshake
    /// gave keys.
    fn open(&mut self, body: Vec<u8>) -> Result<Vec<u8>> {
        match self.auth.as_mut() {
            Some(auth) => auth.open(body),
            None => Ok(body),
        }
    }

    /// After the handshake: the socket and its frame protection, for a
    /// [`Connection`](crate::pipe::Connection) to carry on with. The
    /// handshake reads exact sizes, so nothing is buffered here.
    pub(crate) fn into_parts(self) -> Result<(std::os::fd::OwnedFd, FrameAuth)> {
        let auth = self.auth.ok_or(Error::AuthenticationFailed(
            "the connection is not authenticated".into(),
        ))?;
        if self.reader.has_partial() || self.slot.is_some() {
            return Err(Error::Usage("a connection that framed messages already".into()));
        }
        let fd = match self.sock {
            Sock::Tcp(s) => s.into(),
            Sock::Unix(s) => s.into(),
        };
        Ok((fd, *auth))
    }

    /// Server side: the keys the handshake gave (frames over TCP are
    /// encrypted too).
    pub(crate) fn authenticated(&mut self, keys: FrameKeys) {
        let sealed = matches!(self.sock, Sock::Tcp(_));
        self.auth = Some(Box::new(FrameAuth::new(&keys, true, sealed)));
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock_fd()
    }
}

impl From<TcpStream> for Stream {
    fn from(s: TcpStream) -> Self {
        let _ = s.set_nodelay(true);
        Stream::new(Sock::Tcp(s))
    }
}

impl From<UnixStream> for Stream {
    fn from(s: UnixStream) -> Self {
        Stream::new(Sock::Unix(s))
    }
}

/// Fills `buf` from the kernel's random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(Error::io("reading /dev/urandom"))
}

/// A fresh random authkey.
pub(crate) fn random_key() -> Result<Arc<[u8]>> {
    let mut key = [0u8; 32];
    random_bytes(&mut key)?;
    Ok(key.into())
}

fn mac(key: &[u8], role: &[u8], server: &[u8; CHALLENGE], client: &[u8; CHALLENGE]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(role);
    mac.update(server);
    mac.update(client);
    mac
}

/// The server's side of one handshake, driven by whoever reads and writes
/// the socket (the server's event loop): the greeting to send, then the
/// verdict on the client's answer.
#[derive(Debug)]
pub(crate) struct Challenge {
    nonce: [u8; CHALLENGE],
}

/// What the server sends first: [`GREETING`] and its nonce.
pub(crate) const GREETING_LEN: usize = 1 + CHALLENGE;
/// What the client answers: its nonce and its MAC.
pub(crate) const ANSWER_LEN: usize = 2 * CHALLENGE;
/// The one byte a server sends to a connection it cannot take.
pub(crate) const BUSY_REPLY: [u8; 1] = [BUSY];

impl Challenge {
    /// A fresh challenge, from `urandom` (kept open by the caller: a
    /// server out of descriptors can still greet the connection it took).
    pub(crate) fn new(mut urandom: &std::fs::File) -> Result<Challenge> {
        let mut nonce = [0u8; CHALLENGE];
        urandom
            .read_exact(&mut nonce)
            .map_err(Error::io("reading /dev/urandom"))?;
        Ok(Challenge { nonce })
    }

    /// The first bytes the server sends.
    pub(crate) fn greeting(&self) -> [u8; GREETING_LEN] {
        let mut out = [GREETING; GREETING_LEN];
        out[1..].copy_from_slice(&self.nonce);
        out
    }

    /// The verdict on `answer` under `key`: what to send back, and — when
    /// the client proved it knows the key — the connection's frame keys.
    pub(crate) fn verdict(&self, key: &[u8], answer: &[u8; ANSWER_LEN]) -> (Vec<u8>, Option<FrameKeys>) {
        let mut theirs = [0u8; CHALLENGE];
        theirs.copy_from_slice(&answer[..CHALLENGE]);
        if mac(key, b"client", &self.nonce, &theirs)
            .verify_slice(&answer[CHALLENGE..])
            .is_err()
        {
            return (vec![REFUSED], None);
        }
        let mut out = vec![ACCEPTED];
        out.extend_from_slice(&mac(key, b"server", &self.nonce, &theirs).finalize().into_bytes());
        (out, Some(FrameKeys::derive(key, &self.nonce, &theirs)))
    }
}

/// Bytes of a frame's tag: HMAC-SHA256 truncated to 128 bits, or
/// GCM's.
pub(crate) const TAG: usize = 16;

/// The two keys of one connection, one per direction, derived from the
/// authkey and both nonces of its handshake:
/// `HMAC-SHA256(authkey, label ‖ Ns ‖ Nc)`.
#[derive(Clone)]
pub(crate) struct FrameKeys {
    c2s: [u8; 32],
    s2c: [u8; 32],
}

impl std::fmt::Debug for FrameKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameKeys(..)")
    }
}

impl FrameKeys {
    fn derive(key: &[u8], server: &[u8; CHALLENGE], client: &[u8; CHALLENGE]) -> FrameKeys {
        let derive = |label: &[u8]| -> [u8; 32] { mac(key, label, server, client).finalize().into_bytes().into() };
        FrameKeys {
            c2s: derive(b"frames client to server"),
            s2c: derive(b"frames server to client"),
        }
    }
}

/// How one direction's frames are protected.
#[derive(Clone)]
enum FrameKey {
    /// `HMAC-SHA256(key, count ‖ body)`, truncated: on a local socket,
    /// whose peer was checked.
    Tag(Hmac<Sha256>),
    /// AES-256-GCM with the count as nonce: over TCP, where anyone
    /// on the path could read. (Boxed: AES's expanded keys dwarf the HMAC
    /// variant.)
    Seal(Box<Aes256Gcm>),
}

impl FrameKey {
    fn new(raw: &[u8; 32], sealed: bool) -> FrameKey {
        if sealed {
            FrameKey::Seal(Box::new(Aes256Gcm::new(raw.into())))
        } else {
            // HMAC takes a key of any length: this cannot fail.
            FrameKey::Tag(<Hmac<Sha256> as Mac>::new_from_slice(raw).unwrap_or_else(|_| unreachable!()))
        }
    }

    fn nonce(count: u64) -> Nonce<U12> {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&count.to_le_bytes());
        nonce.into()
    }

    /// Protects frame number `count`'s `body` (encrypting it in place when
    /// sealed); its tag.
    fn seal(&self, count: u64, body: &mut [u8]) -> [u8; TAG] {
        match self {
            FrameKey::Tag(key) => {
                let mut mac = key.clone();
                mac.update(&count.to_le_bytes());
                mac.update(body);
                let full: [u8; 32] = mac.finalize().into_bytes().into();
                let mut tag = [0u8; TAG];
                tag.copy_from_slice(&full[..TAG]);
                tag
            }
            FrameKey::Seal(cipher) => cipher
                .encrypt_in_place_detached(&FrameKey::nonce(count), b"", body)
                // Only a message beyond 64 GiB fails.
                .unwrap_or_else(|_| unreachable!("a frame is at most 64 MiB"))
                .into(),
        }
    }

    /// Checks frame number `count` against `tag` (decrypting `body` in
    /// place when sealed); whether it passed.
    fn open(&self, count: u64, body: &mut [u8], tag: &[u8]) -> bool {
        match self {
            FrameKey::Tag(key) => {
                let mut mac = key.clone();
                mac.update(&count.to_le_bytes());
                mac.update(body);
                mac.verify_truncated_left(tag).is_ok()
            }
            FrameKey::Seal(cipher) => cipher
                .decrypt_in_place_detached(&FrameKey::nonce(count), b"", body, tag.into())
                .is_ok(),
        }
    }
}

/// One connection's frame protection after the handshake, and the count
/// of frames each way. Every frame on the socket carries a 16-byte tag
/// over its count and body (and is encrypted over TCP): someone who
/// relayed the handshake without the authkey can neither make a frame the
/// other side accepts nor read, change, replay, reorder or drop one
/// unnoticed.
#[derive(Clone, Debug)]
pub(crate) struct FrameAuth {
    send: FrameDir,
    recv: FrameDir,
}

/// One direction of a connection's frame protection: its key and the
/// count of frames so far. A [`Connection`](crate::pipe::Connection) keeps
/// each under the lock of its own direction.
#[derive(Clone)]
pub(crate) struct FrameDir {
    key: FrameKey,
    count: u64,
}

impl std::fmt::Debug for FrameDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameDir")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl FrameDir {
    /// Protects the next frame's `body` (encrypting it in place when
    /// sealed); the tag that follows it.
    pub(crate) fn seal(&mut self, body: &mut [u8]) -> [u8; TAG] {
        let tag = self.key.seal(self.count, body);
        self.count += 1;
        tag
    }

    /// Checks and strips the tag of the next frame's `body`: a frame that
    /// a relay made, changed, dropped, replayed or reordered fails here.
    pub(crate) fn open(&mut self, mut body: Vec<u8>) -> Result<Vec<u8>> {
        let tampered =
            || Error::AuthenticationFailed("a frame failed its check: the connection was tampered with".into());
        let Some(split) = body.len().checked_sub(TAG) else {
            return Err(tampered());
        };
        let (text, tag) = body.split_at_mut(split);
        if !self.key.open(self.count, text, tag) {
            return Err(tampered());
        }
        self.count += 1;
        body.truncate(split);
        Ok(body)
    }
}

impl FrameAuth {
    fn new(keys: &FrameKeys, server_side: bool, sealed: bool) -> FrameAuth {
        let (c2s, s2c) = (FrameKey::new(&keys.c2s, sealed), FrameKey::new(&keys.s2c, sealed));
        let (send, recv) = if server_side { (s2c, c2s) } else { (c2s, s2c) };
        FrameAuth {
            send: FrameDir { key: send, count: 0 },
            recv: FrameDir { key: recv, count: 0 },
        }
    }

    #[cfg(any(test, feature = "fuzzing"))]
    /// A client's and a server's protection as one handshake under `key`
    /// would give them (for tests and the fuzzers).
    pub(crate) fn pair(key: &[u8], sealed: bool) -> (FrameAuth, FrameAuth) {
        let keys = FrameKeys::derive(key, &[1; CHALLENGE], &[2; CHALLENGE]);
        (
            FrameAuth::new(&keys, false, sealed),
            FrameAuth::new(&keys, true, sealed),
        )
    }

    /// Protects the next frame's `body`; see [`FrameDir::seal`].
    pub(crate) fn seal(&mut self, body: &mut [u8]) -> [u8; TAG] {
        self.send.seal(body)
    }

    /// Checks the next frame's `body`; see [`FrameDir::open`].
    pub(crate) fn open(&mut self, body: Vec<u8>) -> Result<Vec<u8>> {
        self.recv.open(body)
    }

    /// The sending and the receiving direction, apart.
    pub(crate) fn split(self) -> (FrameDir, FrameDir) {
        (self.send, self.recv)
    }
}

impl Stream {
    /// One non-blocking read (the server's handshake loop).
    pub(crate) fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.io().read(buf)
    }

    /// One non-blocking write (the server's handshake loop).
    pub(crate) fn write_some(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.io().write(buf)
    }

    /// Makes the socket non-blocking (the server's handshake loop).
    pub(crate) fn set_nonblocking(&self) -> Result<()> {
        match &self.sock {
            Sock::Tcp(s) => s.set_nonblocking(true),
            Sock::Unix(s) => s.set_nonblocking(true),
        }
        .map_err(Error::io("fcntl"))
    }

    /// Fills `buf` before `by` (the client's handshake): the one deadline
    /// covers every read, however slowly the bytes come.
    fn read_by(&mut self, buf: &mut [u8], by: Deadline) -> Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            let left = by.left()?;
            self.set_read_timeout(Some(left));
            match self.io().read(&mut buf[filled..]) {
                Ok(0) => {
                    return Err(Error::io("the server closed the connection during the handshake")(
                        std::io::ErrorKind::UnexpectedEof.into(),
                    ))
                }
                Ok(n) => filled += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(Error::io("reading the manager's handshake")(e)),
            }
        }
        Ok(())
    }
}

/// Runs `open` (a connect and a handshake) until it succeeds or fails
/// otherwise than busy, retrying a busy server after each pause of
/// [`BUSY_RETRIES`] while time is left before `by`: under a flood of
/// connects a gate makes room by dropping the oldest connections not yet
/// authenticated, and an honest client can be one of them.
pub(crate) fn retry_busy<T>(by: Deadline, mut open: impl FnMut() -> Result<T>) -> Result<T> {
    let mut retries = BUSY_RETRIES.iter();
    loop {
        match open() {
            Err(Error::ManagerBusy(m)) => match retries.next() {
                Some(pause) if Instant::now() + *pause < by.at() => std::thread::sleep(*pause),
                _ => return Err(Error::ManagerBusy(m)),
            },
            other => return other,
        }
    }
}

/// The client's side of the handshake, all of it before `deadline`
/// (by default [`CLIENT_HANDSHAKE_TIMEOUT`] from the connect).
pub(crate) fn client_handshake(stream: &mut Stream, key: &[u8], deadline: Deadline) -> Result<()> {
    let busy = || Error::ManagerBusy("the server has no room for another connection now".into());
    let mut status = [0u8; 1];
    stream.read_by(&mut status, deadline)?;
    match status[0] {
        GREETING => {}
        BUSY => return Err(busy()),
        other => {
            return Err(Error::AuthenticationFailed(format!(
                "the server greeted with byte {other}: not a multiproc manager or listener of this version"
            )))
        }
    }
    // Once it has greeted, a server hangs up before its verdict to make
    // room for newer connections (its BUSY byte can be lost to the reset
    // of our answer) or because it stops: both are worth asking again.
    let hung_up = |e: Error| match e {
        Error::Io { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            Error::ManagerBusy(format!(
                "the server hung up before its verdict ({source}): it drops the oldest connections \
                 not yet authenticated when too many wait"
            ))
        }
        e => e,
    };
    let mut theirs = [0u8; CHALLENGE];
    stream.read_by(&mut theirs, deadline).map_err(hung_up)?;
    let mut ours = [0u8; CHALLENGE];
    random_bytes(&mut ours)?;
    let mut answer = ours.to_vec();
    answer.extend_from_slice(&mac(key, b"client", &theirs, &ours).finalize().into_bytes());
    stream
        .write_all(&answer)
        .map_err(|e| hung_up(Error::io("answering the manager's challenge")(e)))?;
    stream.read_by(&mut status, deadline).map_err(hung_up)?;
    match status[0] {
        ACCEPTED => {}
        BUSY => return Err(busy()),
        REFUSED => return Err(Error::AuthenticationFailed("the server refused our authkey".into())),
        other => return Err(Error::AuthenticationFailed(format!("the server answered byte {other}"))),
    }
    let mut proof = [0u8; CHALLENGE];
    stream.read_by(&mut proof, deadline)?;
    if mac(key, b"server", &theirs, &ours).verify_slice(&proof).is_err() {
        return Err(Error::AuthenticationFailed(
            "the server does not know the authkey".into(),
        ));
    }
    stream.set_read_timeout(None);
    let sealed = matches!(stream.sock, Sock::Tcp(_));
    stream.auth = Some(Box::new(FrameAuth::new(
        &FrameKeys::derive(key, &theirs, &ours),
        false,
        sealed,
    )));
    Ok(())
}

/// Who makes a call: the client (one per process and server) and its
/// thread — what a managed `RLock` counts as its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Caller {
    pub(crate) client: u64,
    pub(crate) thread: u64,
}

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    /// The first request on a connection: who we are.
    Hello { client: u64 },
    /// Make an object of a registered type with one of its constructors.
    Create {
        type_name: String,
        constructor: String,
        args: Vec<u8>,
    },
    /// A proxy to the object registered under `name`.
    Lookup { name: String },
    /// Call `method` of object `id`.
    Call {
        id: u64,
        method: String,
        thread: u64,
        args: Vec<u8>,
    },
    /// Stop the server.
    Shutdown,
}

/// What the server answers.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// An object: its id and type.
    Object { id: u64, type_name: String },
    /// A method's encoded result.
    Value(Vec<u8>),
    /// The request failed.
    Failed(Error),
}

/// One process's connections to one server. Each call borrows an idle
/// connection (or opens one), so a call that blocks on the server — a lock,
/// a queue — holds up no other thread.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) address: Address,
    pub(crate) authkey: Arc<[u8]>,
    /// The verified local twin of a TCP server on this machine, which
    /// every connection of this client then goes through.
    twin: Option<PathBuf>,
    id: u64,
    /// [`sys::fork_generation`] when made: another value means this is a
    /// forked child's copy of a parent's client.
    generation: u32,
    idle: Mutex<Vec<Stream>>,
    /// How long each new connection may take to connect and authenticate.
    timeout: Duration,
    /// In a forked child: its own client, which lives as long as this one
    /// (the server counts a client's locks as its own until it is gone).
    /// Fork-local, so a grandchild never waits on a lock its parent held.
    forked: sys::ForkLocal<Mutex<Option<Arc<Client>>>>,
}

impl Client {
    /// A client of the server at `address`; connects (and authenticates)
    /// once now, so a wrong key or a missing server is an error here.
    pub(crate) fn connect(address: Address, authkey: Arc<[u8]>) -> Result<Arc<Client>> {
        let by = Deadline::after(CLIENT_HANDSHAKE_TIMEOUT);
        Client::make(address, authkey, None, by)
    }

    /// Like [`connect`](Client::connect), through the server's local twin
    /// when `address` is a loopback TCP address and the twin is there
    /// (see [`local`]): an error when a twin is there but is not the
    /// server's, never a silent fall back.
    ///
    /// Finding the twin, connecting and the handshake all happen within
    /// `timeout`, and so does each connection the client opens later.
    pub(crate) fn connect_local(address: Address, authkey: Arc<[u8]>, timeout: Duration) -> Result<Arc<Client>> {
        let by = Deadline::after(timeout);
        let twin = match &address {
            Address::Tcp(a) if a.ip().is_loopback() => local::find_twin(a.port(), by)?,
            _ => None,
        };
        Client::make(address, authkey, twin, by)
    }

    fn make(
        address: Address,
        authkey: Arc<[u8]>,
        twin: Option<(PathBuf, UnixStream)>,
        by: Deadline,
    ) -> Result<Arc<Client>> {
        let mut id = [0u8; 8];
        random_bytes(&mut id)?;
        let (twin, first) = match twin {
            Some((path, stream)) => (Some(path), Some(Stream::from(stream))),
            None => (None, None),
        };
        let client = Arc::new(Client {
            address,
            authkey,
            twin,
            id: u64::from_le_bytes(id),
            generation: sys::fork_generation(),
            idle: Mutex::new(Vec::new()),
            timeout: by.limit,
            forked: sys::ForkLocal::new(Default::default),
        });
        let first = match first.map(|stream| client.setup(stream, by)) {
            Some(Err(Error::ManagerBusy(_))) | None => client.open_by(by)?,
            Some(done) => done?,
        };
        client.idle.lock().unwrap_or_else(|p| p.into_inner()).push(first);
        Ok(client)
    }

    /// The client of this process for `address`: shared by every proxy
    /// that this process decodes, never inherited across a fork.
    /// (Weak references: a client whose last proxy is gone closes its
    /// connections.)
    pub(crate) fn shared(address: &Address, authkey: &Arc<[u8]>) -> Result<Arc<Client>> {
        // Fork-local: a child never waits on a lock that its parent held at
        // the fork (this one is held across a connect).
        static CLIENTS: sys::ForkLocal<Mutex<Vec<std::sync::Weak<Client>>>> = sys::ForkLocal::new(Default::default);
        let mut clients = CLIENTS.get().lock().unwrap_or_else(|p| p.into_inner());
        let generation = sys::fork_generation();
        clients.retain(|c| c.upgrade().is_some_and(|c| c.generation == generation));
        let found = clients
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .find(|c| &c.address == address && *c.authkey == **authkey);
        if let Some(c) = found {
            return Ok(c);
        }
        let client = Client::connect_local(address.clone(), authkey.clone(), CLIENT_HANDSHAKE_TIMEOUT)?;
        clients.push(Arc::downgrade(&client));
        Ok(client)
    }

    /// This process's own client in place of a parent's copy.
    fn in_child(&self) -> Result<Arc<Client>> {
        let mut forked = self.forked.get().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = forked.as_ref() {
            return Ok(c.clone());
        }
        let c = match self.twin {
            Some(_) => Client::connect_local(self.address.clone(), self.authkey.clone(), self.timeout)?,
            None => Client::make(
                self.address.clone(),
                self.authkey.clone(),
                None,
                Deadline::after(self.timeout),
            )?,
        };
        *forked = Some(c.clone());
        Ok(c)
    }

    /// A new authenticated connection, within the client's timeout.
    fn open(&self) -> Result<Stream> {
        self.open_by(Deadline::after(self.timeout))
    }

    /// A new authenticated connection before `by`. A server that says it
    /// is busy is asked again a few times within [`BUSY_RETRIES`] (while
    /// time is left): under a flood of connects it makes room by dropping
    /// the oldest connections not yet authenticated, and an honest client
    /// can be one of them.
    fn open_by(&self, by: Deadline) -> Result<Stream> {
        retry_busy(by, || self.open_once(by))
    }

    fn open_once(&self, by: Deadline) -> Result<Stream> {
        let stream = match &self.twin {
            Some(path) => {
                let fail = |e| by.connect_failed(path.display(), e);
                let stream = sys::unix_connect(path.as_os_str().as_bytes(), false, Some(by.at())).map_err(fail)?;
                local::check_peer(stream.as_fd(), &format!("the manager socket {}", path.display()))?;
                Stream::from(stream)
            }
            None => self.address.connect(by)?,
        };
        self.setup(stream, by)
    }

    /// Authenticates a new connection and says who we are, before `by`.
    fn setup(&self, mut stream: Stream, by: Deadline) -> Result<Stream> {
        client_handshake(&mut stream, &self.authkey, by)?;
        stream.send(&Request::Hello { client: self.id })?;
        stream.take_slot(by)?;
        Ok(stream)
    }

    #[cfg(feature = "fuzzing")]
    /// An authenticated, blocking TCP connection to the server, for the
    /// fuzzing command to write raw bytes on.
    pub(crate) fn raw_stream(&self) -> Result<TcpStream> {
        match self.open()?.sock {
            Sock::Tcp(s) => {
                s.set_nonblocking(false).map_err(Error::io("fcntl"))?;
                Ok(s)
            }
            Sock::Unix(_) => Err(Error::Usage("raw streams are TCP only".into())),
        }
    }

    /// Sends `request` and waits for the reply.
    pub(crate) fn request(&self, request: &Request) -> Result<Reply> {
        if sys::fork_generation() != self.generation {
            // A forked child must not share its parent's connections.
            return self.in_child()?.request(request);
        }
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut stream = match idle {
            Some(s) => s,
            None => self.open()?,
        };
        // A tampered frame stays an authentication error: the connection
        // is not to be trusted, whether or not the server is there.
        let gone = |e: Error| match e {
            Error::AuthenticationFailed(_) | Error::FrameTooLarge { .. } => e,
            e => Error::Manager(format!("the manager at {} is gone: {e}", self.address)),
        };
        let reply = stream.exchange(request).map_err(gone)?;
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(stream);
        Ok(reply)
    }

    /// Calls `method` of object `id` with `args`; decodes its result.
    pub(crate) fn call<A: Serialize, R: DeserializeOwned>(&self, id: u64, method: &str, args: &A) -> Result<R> {
        let request = Request::Call {
            id,
            method: method.to_string(),
            thread: thread_token(),
            args: codec::encode(args)?,
        };
        match self.request(&request)? {
            Reply::Value(bytes) => codec::decode(&bytes),
            Reply::Failed(e) => Err(e),
            Reply::Object { .. } => Err(Error::Manager("the server answered a call with an object".into())),
        }
    }

    /// Asks for an object (made or looked up); returns its id and type.
    pub(crate) fn object(&self, request: &Request) -> Result<(u64, String)> {
        match self.request(request)? {
            Reply::Object { id, type_name } => Ok((id, type_name)),
            Reply::Failed(e) => Err(e),
            Reply::Value(_) => Err(Error::Manager("the server answered with a value, not an object".into())),
        }
    }
}

/// A number for the calling thread, unique in this process.
fn thread_token() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|t| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(sealed: bool) -> (FrameAuth, FrameAuth) {
        FrameAuth::pair(b"key", sealed)
    }

    fn seal(auth: &mut FrameAuth, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        let tag = auth.seal(&mut out);
        out.extend_from_slice(&tag);
        out
    }

    fn open(auth: &mut FrameAuth, frame: &[u8]) -> Option<Vec<u8>> {
        auth.open(frame.to_vec()).ok()
    }

    #[test]
    fn frames_pass_in_order_and_fail_replayed_reordered_changed_or_reflected() {
        for sealed in [false, true] {
            let (mut client, mut server) = pair(sealed);
            let (a, b) = (seal(&mut client, b"first"), seal(&mut client, b"second"));
            assert_eq!(sealed, !a.windows(5).any(|w| w == b"first"), "sealed: {sealed}");
            // Out of order, the second fails where the first is due.
            assert!(open(&mut server.clone(), &b).is_none());
            assert_eq!(open(&mut server, &a).as_deref(), Some(&b"first"[..]));
            // Replayed, the first fails where the second is due.
            assert!(open(&mut server.clone(), &a).is_none());
            let mut changed = b.clone();
            changed[0] ^= 1;
            assert!(open(&mut server.clone(), &changed).is_none());
            assert_eq!(open(&mut server, &b).as_deref(), Some(&b"second"[..]));
            // A client's frame sent back to it is not the server's.
            let (mut client, _) = pair(sealed);
            let mine = seal(&mut client.clone(), b"x");
            assert!(open(&mut client, &mine).is_none());
        }
    }
}
