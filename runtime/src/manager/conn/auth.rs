//! The handshake ([`Challenge`], [`client_handshake`]) and the frames'
//! tags and encryption ([`FrameAuth`]).

use std::io::Read;

use std::sync::Arc;
use std::time::Instant;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};

use sha2::Sha256;

use crate::error::{Error, Result};

use super::*;

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

pub(super) fn mac(key: &[u8], role: &[u8], server: &[u8; CHALLENGE], client: &[u8; CHALLENGE]) -> Hmac<Sha256> {
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
pub(super) enum FrameKey {
    /// `HMAC-SHA256(key, count ‖ body)`, truncated: on a local socket,
    /// whose peer was checked.
    Tag(Hmac<Sha256>),
    /// AES-256-GCM with the count as nonce: over TCP, where anyone
    /// on the path could read. (Boxed: AES's expanded keys dwarf the HMAC
    /// variant.)
    Seal(Box<Aes256Gcm>),
}

impl FrameKey {
    pub(super) fn new(raw: &[u8; 32], sealed: bool) -> FrameKey {
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
    pub(super) fn new(keys: &FrameKeys, server_side: bool, sealed: bool) -> FrameAuth {
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
