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
//!
//! `mod.rs` holds addresses, deadlines and [`Stream`]; `auth.rs` the
//! handshake and the frames' protection; `slot.rs` the shared page;
//! `client.rs` the client and its calls.

mod auth;
mod client;
mod slot;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};

use std::os::unix::net::UnixStream;

use std::sync::atomic::Ordering;

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::local;
use crate::codec::{self, FrameReader};
use crate::error::{Error, Result};
use crate::sys;

pub(crate) use self::auth::*;
pub(crate) use self::client::*;
pub(crate) use self::slot::*;

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
    pub(super) fn new(sock: Sock) -> Stream {
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
