//! The guide's `Pipe`: two connected [`Connection`] ends.
//!
//! An end is a Unix stream socket carrying the crate's frames (a `u32`
//! length and a body). `send`/`recv` carry serde values; `send_bytes`/
//! `recv_bytes` carry raw bytes in the same framing, so either side may use
//! either. An end can be an argument of a `#[process_fn]` with any start
//! method: its descriptor travels with the start (SCM_RIGHTS).
//!
//! When the other end is gone (closed, or its process died), `recv` returns
//! [`Error::Disconnected`] instead of blocking forever.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{self, Frame, FrameReader, MAX_FRAME_LEN};
use crate::error::{Error, Result};
use crate::handoff::{TrackedFd, TravelFd};
#[cfg(feature = "manager")]
use crate::manager::conn::{FrameAuth, FrameDir, TAG};
use crate::sys;

/// A pair of connected ends — the guide's `multiprocessing.Pipe()`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::pipe::{Connection, Pipe};
///
/// #[process_fn]
/// fn child(conn: Connection) {
///     conn.send(&vec![42, 0, -1]).unwrap();
///     let reply: String = conn.recv().unwrap();
///     conn.send(&reply.to_uppercase()).unwrap();
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let (parent_end, child_end) = Pipe::new()?;
/// let mut p = Process::builder().start(child, (child_end,))?;
/// assert_eq!(parent_end.recv::<Vec<i32>>()?, vec![42, 0, -1]);
/// parent_end.send("hello")?;
/// assert_eq!(parent_end.recv::<String>()?, "HELLO");
/// p.join()?;
/// // The child is gone, and so is the other end: no hang.
/// assert!(matches!(parent_end.recv::<String>(), Err(Error::Disconnected { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Pipe;

impl Pipe {
    /// Two ends that can both send and receive (`Pipe(duplex=True)`).
    ///
    /// # Errors
    /// [`Error::Io`] when the sockets cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send(&1u8)?;
    /// b.send(&2u8)?;
    /// assert_eq!((b.recv::<u8>()?, a.recv::<u8>()?), (1, 2));
    /// # Ok(())
    /// # }
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<(Connection, Connection)> {
        let (a, b) = sys::socketpair().map_err(Error::io("creating a pipe"))?;
        Ok((Connection::from_fd(a, true, true)?, Connection::from_fd(b, true, true)?))
    }

    /// `(receiver, sender)`: the first end only receives, the second only
    /// sends (`Pipe(duplex=False)`).
    ///
    /// # Errors
    /// [`Error::Io`] when the sockets cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (rx, tx) = multiproc::pipe::Pipe::one_way()?;
    /// tx.send("one way")?;
    /// assert_eq!(rx.recv::<String>()?, "one way");
    /// assert!(rx.send(&0).is_err()); // the receiving end cannot send
    /// # Ok(())
    /// # }
    /// ```
    pub fn one_way() -> Result<(Connection, Connection)> {
        let (a, b) = sys::socketpair().map_err(Error::io("creating a pipe"))?;
        Ok((
            Connection::from_fd(a, true, false)?,
            Connection::from_fd(b, false, true)?,
        ))
    }
}

/// One end of a [`Pipe`] — the guide's `Connection`.
///
/// Safe to share between threads: sends are whole frames under a lock, and
/// so are receives.
pub struct Connection {
    fd: TrackedFd,
    readable: bool,
    writable: bool,
    reader: Mutex<FrameReader>,
    writer: Mutex<()>,
    /// A connection made by [`Listener`](crate::connection::Listener) and
    /// [`Client`](crate::connection::Client): each direction's frame
    /// protection, taken under that direction's lock (`writer`, `reader`)
    /// so that the counts follow the frames' order.
    auth: Option<Box<FrameLocks>>,
}

/// The frame protection of an authenticated connection, a direction each.
#[cfg(feature = "manager")]
struct FrameLocks {
    send: Mutex<FrameDir>,
    recv: Mutex<FrameDir>,
}

#[cfg(feature = "manager")]
impl FrameLocks {
    /// What a tag adds to a frame.
    const TAG: usize = TAG;

    /// The frame that carries `body`: sealed (encrypted over TCP), then
    /// its tag.
    fn seal(&self, body: &[u8]) -> Vec<u8> {
        let mut frame = Vec::with_capacity(body.len() + TAG);
        frame.extend_from_slice(body);
        let tag = self.send.lock().unwrap_or_else(|p| p.into_inner()).seal(&mut frame);
        frame.extend_from_slice(&tag);
        frame
    }

    /// Checks a received frame's tag and strips it (and decrypts).
    fn open(&self, frame: Vec<u8>) -> Result<Vec<u8>> {
        self.recv.lock().unwrap_or_else(|p| p.into_inner()).open(frame)
    }
}

/// Without the `manager` feature there are no authenticated connections
/// (no [`Listener`](crate::connection) or `Client`): nothing builds this.
#[cfg(not(feature = "manager"))]
enum FrameLocks {}

#[cfg(not(feature = "manager"))]
impl FrameLocks {
    const TAG: usize = 0;

    fn seal(&self, _: &[u8]) -> Vec<u8> {
        match *self {}
    }

    fn open(&self, _: Vec<u8>) -> Result<Vec<u8>> {
        match *self {}
    }
}

/// A received message's body: the frame itself, or what was left of it
/// once its tag was checked (and it was decrypted).
enum Message {
    Plain(Frame),
    Opened(Vec<u8>),
}

impl std::ops::Deref for Message {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Message::Plain(frame) => frame,
            Message::Opened(body) => body,
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.fd.as_raw_fd())
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .field("authenticated", &self.auth.is_some())
            .finish()
    }
}

impl Connection {
    fn from_fd(fd: OwnedFd, readable: bool, writable: bool) -> Result<Self> {
        sys::set_nonblocking(fd.as_fd(), true).map_err(Error::io("fcntl"))?;
        Ok(Connection {
            fd: TrackedFd::new(fd),
            readable,
            writable,
            reader: Mutex::new(FrameReader::new(MAX_FRAME_LEN)),
            writer: Mutex::new(()),
            auth: None,
        })
    }

    /// A connection that passed the authkey handshake (see
    /// [`connection`](crate::connection)): every frame carries a tag, and
    /// is encrypted over TCP.
    #[cfg(feature = "manager")]
    pub(crate) fn authenticated(fd: OwnedFd, auth: FrameAuth) -> Result<Self> {
        let mut conn = Connection::from_fd(fd, true, true)?;
        let (send, recv) = auth.split();
        conn.auth = Some(Box::new(FrameLocks {
            send: Mutex::new(send),
            recv: Mutex::new(recv),
        }));
        conn.reader = Mutex::new(FrameReader::new(conn.max_frame()));
        Ok(conn)
    }

    /// The longest frame this end reads: a message and its tag.
    fn max_frame(&self) -> usize {
        MAX_FRAME_LEN + if self.auth.is_some() { FrameLocks::TAG } else { 0 }
    }

    /// Checks and strips a received frame's tag, on an authenticated
    /// connection; called under the reader's lock, in the frames' order.
    fn open(&self, frame: Frame) -> Result<Message> {
        match &self.auth {
            None => Ok(Message::Plain(frame)),
            Some(auth) => Ok(Message::Opened(auth.open(frame.to_vec())?)),
        }
    }

    /// Whether this end can receive.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (rx, tx) = multiproc::pipe::Pipe::one_way()?;
    /// assert!(rx.readable() && !rx.writable());
    /// assert!(tx.writable() && !tx.readable());
    /// # Ok(())
    /// # }
    /// ```
    pub fn readable(&self) -> bool {
        self.readable
    }

    /// Whether this end can send.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, _b) = multiproc::pipe::Pipe::new()?;
    /// assert!(a.writable());
    /// # Ok(())
    /// # }
    /// ```
    pub fn writable(&self) -> bool {
        self.writable
    }

    fn write_frame(&self, body: &[u8]) -> Result<()> {
        if !self.writable {
            return Err(Error::Usage("this end of the pipe cannot send (Pipe::one_way)".into()));
        }
        if body.len() > MAX_FRAME_LEN {
            return Err(Error::FrameTooLarge {
                len: body.len() as u64,
                max: MAX_FRAME_LEN as u64,
            });
        }
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let written = match &self.auth {
            None => {
                let header = (body.len() as u32).to_le_bytes();
                sys::write_all_vectored(self.fd.as_fd(), &[&header, body])
            }
            Some(auth) => {
                let frame = auth.seal(body);
                let header = (frame.len() as u32).to_le_bytes();
                sys::write_all_vectored(self.fd.as_fd(), &[&header, &frame])
            }
        };
        written.map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Error::Disconnected { partial: false }
            } else {
                Error::io("sending on a pipe")(e)
            }
        })
    }

    /// Sends a serde value (the guide's `send(obj)`).
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the other end is gone; [`Error::Codec`];
    /// [`Error::Usage`] on a receive-only end.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send(&("tuple", 1.5))?;
    /// assert_eq!(b.recv::<(String, f64)>()?, ("tuple".to_string(), 1.5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.write_frame(&codec::encode(value)?)
    }

    /// Sends raw bytes (the guide's `send_bytes(buf)`).
    ///
    /// # Errors
    /// As [`send`](Connection::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send_bytes(b"raw")?;
    /// assert_eq!(b.recv_bytes()?, b"raw");
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        self.write_frame(bytes)
    }

    /// Sends `size` bytes of `buf` starting at `offset` (the guide's
    /// `send_bytes(buf, offset, size)`).
    ///
    /// # Errors
    /// [`Error::Usage`] when the range is outside `buf`; else as
    /// [`send`](Connection::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send_bytes_range(b"0123456789", 2, 3)?;
    /// assert_eq!(b.recv_bytes()?, b"234");
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_bytes_range(&self, buf: &[u8], offset: usize, size: usize) -> Result<()> {
        let end = offset.checked_add(size).filter(|end| *end <= buf.len());
        let end = end.ok_or(Error::Usage(
            "send_bytes_range: offset + size is outside the buffer".into(),
        ))?;
        self.write_frame(&buf[offset..end])
    }

    fn lock_reader(&self) -> Result<MutexGuard<'_, FrameReader>> {
        if !self.readable {
            return Err(Error::Usage(
                "this end of the pipe cannot receive (Pipe::one_way)".into(),
            ));
        }
        Ok(self.reader.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reads until a whole frame is in, or `deadline` passes (`Ok(None)`).
    ///
    /// Before sleeping in `poll` it retries the read for a few tens of
    /// microseconds: waking a sleeper on the other CPU costs 40–80 µs on
    /// machines like ours, so a reply that is on its way is far cheaper to
    /// catch awake.
    fn read_frame(&self, reader: &mut FrameReader, deadline: Option<Instant>) -> Result<Option<Frame>> {
        const SPIN: Duration = Duration::from_micros(50);
        let spin_until = Instant::now() + SPIN;
        loop {
            if let Some(frame) = reader.next_frame()? {
                return Ok(Some(frame));
            }
            match reader.read_from(self.fd.as_fd()) {
                Ok(0) => {
                    return Err(Error::Disconnected {
                        partial: reader.has_partial(),
                    })
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !sys::wait_readable(self.fd.as_fd(), spin_until, deadline).map_err(Error::io("poll"))? {
                        return Ok(None);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Err(Error::Disconnected {
                        partial: reader.has_partial(),
                    })
                }
                Err(e) => return Err(Error::io("receiving on a pipe")(e)),
            }
        }
    }

    fn recv_frame(&self, timeout: Option<Duration>) -> Result<Message> {
        let mut reader = self.lock_reader()?;
        let deadline = timeout.and_then(crate::deadline::after);
        let frame = self
            .read_frame(&mut reader, deadline)?
            .ok_or(Error::Timeout(timeout.unwrap_or_default()))?;
        self.open(frame)
    }

    /// Receives a serde value, waiting as long as it takes (the guide's
    /// `recv()`).
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the other end is gone (never a hang);
    /// [`Error::Codec`] for bytes that are not a `T`; [`Error::FrameTooLarge`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send(&vec![1u8, 2])?;
    /// drop(a);
    /// assert_eq!(b.recv::<Vec<u8>>()?, vec![1, 2]);
    /// assert!(b.recv::<Vec<u8>>().is_err()); // end of file
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T> {
        codec::decode(&self.recv_frame(None)?)
    }

    /// Like [`recv`](Connection::recv), but gives up after `timeout` with
    /// [`Error::Timeout`]; a message still on its way stays for the next call.
    ///
    /// # Errors
    /// [`Error::Timeout`], or any error of [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, _b) = multiproc::pipe::Pipe::new()?;
    /// let r = a.recv_timeout::<u8>(std::time::Duration::from_millis(5));
    /// assert!(matches!(r, Err(multiproc::Error::Timeout(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T> {
        codec::decode(&self.recv_frame(Some(timeout))?)
    }

    /// Receives one message's raw bytes (the guide's `recv_bytes()`).
    ///
    /// # Errors
    /// As [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send_bytes(&[9; 3])?;
    /// assert_eq!(b.recv_bytes()?, vec![9, 9, 9]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.recv_frame(None)?.to_vec())
    }

    /// Like [`recv_bytes`](Connection::recv_bytes), refusing a message
    /// longer than `maxlength` (the guide's `recv_bytes(maxlength)`): the
    /// announced length is checked before anything is read into memory.
    /// As in Python, the connection is unusable afterwards.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] for a longer message; else as
    /// [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send_bytes(&[0; 100])?;
    /// assert!(matches!(b.recv_bytes_max(10), Err(multiproc::Error::FrameTooLarge { len: 100, max: 10 })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_bytes_max(&self, maxlength: usize) -> Result<Vec<u8>> {
        let mut reader = self.lock_reader()?;
        let tag = self.max_frame() - MAX_FRAME_LEN;
        reader.set_max(maxlength.saturating_add(tag));
        let frame = self.read_frame(&mut reader, None);
        reader.set_max(self.max_frame());
        let frame = frame?.ok_or(Error::Usage("no deadline, yet no message".into()))?;
        Ok(self.open(frame)?.to_vec())
    }

    /// Receives one message into `buf`, returning its length (the guide's
    /// `recv_bytes_into`).
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] when `buf` is too short (the message is
    /// consumed, as Python's `BufferTooShort` does); else as
    /// [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.send_bytes(b"abc")?;
    /// let mut buf = [0u8; 8];
    /// let n = b.recv_bytes_into(&mut buf)?;
    /// assert_eq!(&buf[..n], b"abc");
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_bytes_into(&self, buf: &mut [u8]) -> Result<usize> {
        let frame = self.recv_frame(None)?;
        if frame.len() > buf.len() {
            return Err(Error::FrameTooLarge {
                len: frame.len() as u64,
                max: buf.len() as u64,
            });
        }
        buf[..frame.len()].copy_from_slice(&frame);
        Ok(frame.len())
    }

    /// Whether a message can be received without blocking, waiting up to
    /// `timeout` for one (the guide's `poll(timeout)`). End of file counts as
    /// ready: the next `recv` returns the error at once.
    ///
    /// # Errors
    /// [`Error::Io`] when polling fails; [`Error::Usage`] on a send-only end.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// assert!(!b.poll(std::time::Duration::ZERO)?);
    /// a.send(&1)?;
    /// assert!(b.poll(std::time::Duration::from_secs(60))?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll(&self, timeout: Duration) -> Result<bool> {
        let mut reader = self.lock_reader()?;
        let deadline = crate::deadline::after_or_far(timeout);
        loop {
            if reader.complete() {
                return Ok(true);
            }
            match reader.read_from(self.fd.as_fd()) {
                Ok(0) => return Ok(true),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let ready =
                        sys::poll(&[(self.fd.as_fd(), sys::POLLIN)], Some(deadline)).map_err(Error::io("poll"))?;
                    if ready[0] == 0 {
                        return Ok(false);
                    }
                }
                Err(_) => return Ok(true),
            }
        }
    }

    /// For [`connection::wait`](crate::connection::wait), before it
    /// sleeps: whether a whole message is buffered already (its descriptor
    /// would not say so).
    pub(crate) fn message_buffered(&self) -> bool {
        self.readable && self.try_lock_reader().is_some_and(|r| r.complete())
    }

    /// For [`connection::wait`](crate::connection::wait), once the
    /// descriptor polled readable: takes in what the kernel holds, and says
    /// whether a `recv` would return at once (a whole message, end of
    /// file, an error). A half-arrived message is not ready: its bytes are
    /// kept and the wait goes on. An end another thread is receiving on
    /// counts as ready (that thread may take the message).
    pub(crate) fn settle(&self) -> bool {
        if !self.readable {
            return true; // a send-only end polls readable at end of file
        }
        let Some(mut reader) = self.try_lock_reader() else {
            return true;
        };
        loop {
            if reader.complete() {
                return true;
            }
            match reader.read_from(self.fd.as_fd()) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }

    fn try_lock_reader(&self) -> Option<MutexGuard<'_, FrameReader>> {
        match self.reader.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Closes this end (the guide's `close()`); the other end's `recv` then
    /// fails with [`Error::Disconnected`]. Dropping does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let (a, b) = multiproc::pipe::Pipe::new()?;
    /// a.close();
    /// assert!(b.recv::<u8>().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(self) {}
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// What travels: the descriptor and the direction. Buffered bytes of a
/// half-read message do not; hand over an end between messages.
#[derive(Deserialize)]
struct Wire {
    fd: TravelFd,
    readable: bool,
    writable: bool,
}

/// [`Wire`] as it is sent, borrowing the descriptor.
#[derive(Serialize)]
struct WireRef<'a> {
    #[serde(serialize_with = "crate::handoff::serialize_fd")]
    fd: BorrowedFd<'a>,
    readable: bool,
    writable: bool,
}

impl Serialize for Connection {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        if self.auth.is_some() {
            return Err(serde::ser::Error::custom(
                "a connection from a Listener or Client cannot travel to another process: \
                 its frame keys and counts stay with this end",
            ));
        }
        WireRef {
            fd: self.fd.as_fd(),
            readable: self.readable,
            writable: self.writable,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Connection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        Connection::from_fd(wire.fd.0, wire.readable, wire.writable).map_err(serde::de::Error::custom)
    }
}
