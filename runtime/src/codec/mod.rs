//! The wire format: one serde codec and one framing, used by every channel.
//!
//! Values are serde's data model laid out plainly, with fixed-width
//! little-endian numbers (`ser.rs` says exactly how; the bytes are those of
//! bincode 2's serde mode with fixed-width integers). The format was chosen
//! by the `codec` benchmark in `benches/` (see `docs/ARCHITECTURE.md`): on
//! the runs of numbers a pool carries it encodes and decodes several times
//! faster than varint formats. `ser.rs` encodes and `de.rs` decodes; nothing
//! outside this module knows the format, so it can be changed in one place.
//!
//! A frame is a little-endian `u32` length followed by that many bytes. A
//! reader refuses a length above its limit before allocating, so a garbage
//! header cannot make it allocate gigabytes, and a short read is an error,
//! never a hang on a closed peer.

use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::Serialize;

use crate::error::{Error, Result};

thread_local! {
    /// Why the encode running on this thread refused a value, if it did:
    /// serde's error cannot carry our own error, so the text waits here.
    static REFUSED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Says why the encode running on this thread refuses a value (a shared
/// object that may not travel this way): its error becomes
/// [`Error::Usage`] with `why`, not a codec error.
pub(crate) fn refuse(why: String) {
    REFUSED.with(|r| *r.borrow_mut() = Some(why));
}

mod de;
mod ser;

/// What went wrong inside our serializer or deserializer: serde's error
/// type for both, turned into [`Error::Codec`] at this module's edge.
#[derive(Debug)]
pub(crate) struct Problem(String);

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Problem {}

impl serde::ser::Error for Problem {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Problem(msg.to_string())
    }
}

impl serde::de::Error for Problem {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Problem(msg.to_string())
    }
}

/// Largest frame a reader accepts unless told otherwise: 1 GiB.
pub const MAX_FRAME_LEN: usize = 1 << 30;

/// Length of the frame header.
pub(crate) const HEADER_LEN: usize = 4;

/// Encodes `value` as the body of a frame.
///
/// # Errors
/// [`Error::Codec`] when the value cannot be serialized (a map with non-string
/// keys is fine; a serializer that returns an error is not).
///
/// # Examples
///
/// ```
/// let bytes = multiproc::codec::encode(&(7u64, "seven")).unwrap();
/// let back: (u64, String) = multiproc::codec::decode(&bytes).unwrap();
/// assert_eq!(back, (7, "seven".to_string()));
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    encode_into(value, Vec::new())
}

/// Encodes `value` after what `out` already holds.
fn encode_into<T: Serialize + ?Sized>(value: &T, mut out: Vec<u8>) -> Result<Vec<u8>> {
    append(value, &mut out)?;
    Ok(out)
}

/// [`encode`] into a buffer that starts with room for `hint` bytes (the
/// encoder otherwise grows it step by step).
pub(crate) fn encode_with_hint<T: Serialize + ?Sized>(value: &T, hint: usize) -> Result<Vec<u8>> {
    encode_into(value, Vec::with_capacity(hint))
}

/// Decodes a value from exactly `bytes`; trailing bytes are an error.
///
/// # Errors
/// [`Error::Codec`] for bytes that are not an encoding of `T`.
///
/// # Examples
///
/// ```
/// let err = multiproc::codec::decode::<String>(&[200, 1, 2]).unwrap_err();
/// assert!(matches!(err, multiproc::Error::Codec(_)));
/// ```
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    decode_borrowed(bytes)
}

/// Decodes a value that borrows from `bytes` (strings and byte slices read
/// in place); trailing bytes are an error.
pub(crate) fn decode_borrowed<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    let mut de = de::Decoder::new(bytes);
    let value = T::deserialize(&mut de).map_err(decode_error)?;
    finish(&de)?;
    Ok(value)
}

fn decode_error(e: Problem) -> Error {
    Error::Codec(format!("decode: {e}"))
}

/// Appends `value`'s encoding to `out` (a stream of values written one
/// after another, read back with [`decode_run_into`]). On error, `out` is
/// left as it was.
pub(crate) fn append<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    ser::encode_into(value, out).map_err(|e| {
        out.truncate(start);
        // A shared object that may not travel this way says why.
        match REFUSED.with(|r| r.borrow_mut().take()) {
            Some(why) => Error::Usage(why.into()),
            None => Error::Codec(format!("encode: {e}")),
        }
    })
}

/// Appends a byte string (what `serde_bytes` encodes) whose bytes `fill`
/// writes in place at the end of `out`: no intermediate buffer. On error,
/// `out` is left as it was.
pub(crate) fn append_bytes_with(out: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    if let Err(e) = fill(out) {
        out.truncate(start);
        return Err(e);
    }
    let len = (out.len() - start - 8) as u64;
    out[start..start + 8].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Appends a whole frame whose body `fill` writes in place at the end of
/// `out`. On error (`fill`'s, or a body over [`MAX_FRAME_LEN`]), `out` is
/// left as it was.
pub(crate) fn append_frame(out: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    let len = match fill(out) {
        Ok(()) => out.len() - start - HEADER_LEN,
        Err(e) => {
            out.truncate(start);
            return Err(e);
        }
    };
    if len > MAX_FRAME_LEN {
        out.truncate(start);
        return Err(Error::FrameTooLarge {
            len: len as u64,
            max: MAX_FRAME_LEN as u64,
        });
    }
    out[start..start + HEADER_LEN].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

#[cfg(any(test, feature = "fuzzing", feature = "mpi"))]
/// The bodies of the whole frames laid end to end in `bytes`; a truncated
/// or oversized frame is an error, and ends the iteration.
pub(crate) fn frames(mut bytes: &[u8]) -> impl Iterator<Item = Result<&[u8]>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let Some((header, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            bytes = &[];
            return Some(Err(Error::Codec("decode: a truncated frame header".into())));
        };
        let body = announced_len(*header, MAX_FRAME_LEN).and_then(|len| {
            rest.get(..len)
                .ok_or_else(|| Error::Codec("decode: a truncated frame".into()))
        });
        bytes = match &body {
            Ok(body) => &rest[body.len()..],
            Err(_) => &[],
        };
        Some(body)
    })
}

/// Decodes an encoded sequence of `T` one element at a time, handing each
/// to `f` as soon as it is read (the elements are never all in memory at
/// once). Stops at `f`'s first error; trailing bytes are an error.
pub(crate) fn for_each<T: DeserializeOwned>(bytes: &[u8], f: impl FnMut(T) -> Result<()>) -> Result<()> {
    struct Each<F, T> {
        f: F,
        failed: Option<Error>,
        item: std::marker::PhantomData<T>,
    }

    impl<'de, T: DeserializeOwned, F: FnMut(T) -> Result<()>> Visitor<'de> for &mut Each<F, T> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
            while let Some(item) = seq.next_element::<T>()? {
                if let Err(e) = (self.f)(item) {
                    self.failed = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }

    let mut each = Each {
        f,
        failed: None,
        item: std::marker::PhantomData,
    };
    let mut de = de::Decoder::new(bytes);
    let read = serde::Deserializer::deserialize_seq(&mut de, &mut each);
    if let Some(e) = each.failed {
        return Err(e);
    }
    read.map_err(decode_error)?;
    finish(&de)
}

/// Decodes `count` values of `T` written one after another (by [`append`])
/// at the start of `bytes`, appending them to `out`; returns the bytes
/// after them.
pub(crate) fn decode_run_into<'a, T: DeserializeOwned>(
    bytes: &'a [u8],
    count: usize,
    out: &mut Vec<T>,
) -> Result<&'a [u8]> {
    struct Append<'v, T>(&'v mut Vec<T>);

    impl<'de, T: DeserializeOwned> Visitor<'de> for Append<'_, T> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("values")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
            // Bounded: a count announced by the peer is not trusted.
            self.0.reserve(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(v) = seq.next_element()? {
                self.0.push(v);
            }
            Ok(())
        }
    }

    let mut de = de::Decoder::new(bytes);
    serde::Deserializer::deserialize_tuple(&mut de, count, Append(out)).map_err(decode_error)?;
    Ok(de.rest())
}

/// The end of a decode: every byte must have been read.
fn finish(de: &de::Decoder<'_>) -> Result<()> {
    let rest = de.rest();
    if !rest.is_empty() {
        return Err(Error::Codec(format!("decode: {} trailing bytes", rest.len())));
    }
    Ok(())
}

/// Encodes `value` as a complete frame: header and body.
///
/// # Errors
/// [`Error::Codec`] as for [`encode`]; [`Error::FrameTooLarge`] when the body
/// exceeds [`MAX_FRAME_LEN`].
///
/// # Examples
///
/// ```
/// let frame = multiproc::codec::encode_frame(&5u8).unwrap();
/// assert_eq!(frame, [1, 0, 0, 0, 5]);
/// ```
pub fn encode_frame<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = encode_into(value, vec![0u8; HEADER_LEN])?;
    let len = out.len() - HEADER_LEN;
    if len > MAX_FRAME_LEN {
        return Err(Error::FrameTooLarge {
            len: len as u64,
            max: MAX_FRAME_LEN as u64,
        });
    }
    out[..HEADER_LEN].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

/// Assembles frames from bytes that arrive in pieces.
///
/// Feed it what a read returned with [`push`](FrameReader::push), then take
/// complete frames with [`next_frame`](FrameReader::next_frame). It never
/// allocates more than the announced length, and refuses an announced length
/// above its limit as soon as the header is in.
///
/// # Examples
///
/// ```
/// use multiproc::codec::{encode_frame, FrameReader};
///
/// let frame = encode_frame("hello").unwrap();
/// let mut reader = FrameReader::new(1024);
/// reader.push(&frame[..3]);
/// assert!(reader.next_frame().unwrap().is_none()); // not complete yet
/// reader.push(&frame[3..]);
/// let body = reader.next_frame().unwrap().unwrap();
/// assert_eq!(multiproc::codec::decode::<String>(&body).unwrap(), "hello");
///
/// let mut reader = FrameReader::new(16);
/// reader.push(&u32::MAX.to_le_bytes());
/// assert!(reader.next_frame().is_err()); // oversized
/// ```
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already handed out as frames.
    start: usize,
    max: usize,
}

impl FrameReader {
    /// A reader that accepts frames of at most `max` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let reader = multiproc::codec::FrameReader::new(multiproc::codec::MAX_FRAME_LEN);
    /// assert!(!reader.has_partial());
    /// ```
    pub fn new(max: usize) -> Self {
        FrameReader {
            buf: Vec::new(),
            start: 0,
            max,
        }
    }

    /// Appends bytes read from the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut reader = multiproc::codec::FrameReader::new(8);
    /// reader.push(&[1, 0]);
    /// assert!(reader.has_partial());
    /// ```
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished frame are buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let reader = multiproc::codec::FrameReader::new(8);
    /// assert!(!reader.has_partial());
    /// ```
    pub fn has_partial(&self) -> bool {
        self.buf.len() > self.start
    }

    /// Changes the largest frame accepted from now on.
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Whether a whole frame is buffered (or a header that is over the
    /// limit: taking it gives the error at once).
    pub(crate) fn complete(&self) -> bool {
        let pending = self.pending().len();
        pending >= HEADER_LEN
            && (self.announced() as usize > self.max || pending >= HEADER_LEN + self.announced() as usize)
    }

    /// How many more bytes the frame being assembled needs (at least 1 while
    /// the header is incomplete). Lets a reader ask for no more than one frame.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut reader = multiproc::codec::FrameReader::new(64);
    /// assert_eq!(reader.wanted(), 4);
    /// reader.push(&[10, 0, 0, 0]);
    /// assert_eq!(reader.wanted(), 10);
    /// ```
    pub fn wanted(&self) -> usize {
        let pending = self.pending().len();
        if pending < HEADER_LEN {
            return HEADER_LEN - pending;
        }
        let len = self.announced() as usize;
        (HEADER_LEN + len).saturating_sub(pending).max(1)
    }

    fn announced(&self) -> u32 {
        let p = self.pending();
        u32::from_le_bytes([p[0], p[1], p[2], p[3]])
    }

    /// The bytes not yet handed out.
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Drops the bytes already handed out, before reading more.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Reads what a non-blocking descriptor has, straight into the frame
    /// being assembled (no intermediate buffer). Returns the bytes read;
    /// 0 means end of file.
    pub(crate) fn read_from(&mut self, fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<usize> {
        const STEP: usize = 64 * 1024;
        self.compact();
        let want = if self.buf.len() < HEADER_LEN {
            STEP
        } else {
            // The rest of this frame at once (bounded by the limit), or a step.
            let len = (self.announced() as usize).min(self.max);
            (HEADER_LEN + len).saturating_sub(self.buf.len()).max(STEP)
        };
        crate::sys::read_into_spare(fd, &mut self.buf, want)
    }

    /// Takes the next complete frame, if one is buffered.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] as soon as a header announces more than the
    /// limit; the reader is then unusable.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut reader = multiproc::codec::FrameReader::new(8);
    /// reader.push(&[0, 0, 0, 0]);
    /// assert_eq!(reader.next_frame().unwrap().as_deref(), Some(&[][..]));
    /// ```
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.pending().len() < HEADER_LEN {
            return Ok(None);
        }
        let len = announced_len(self.announced().to_le_bytes(), self.max)?;
        let end = self.start + HEADER_LEN + len;
        if self.buf.len() < end {
            return Ok(None);
        }
        // A frame that is most of the buffer and of its allocation (the
        // usual case for large ones) is handed over without a copy; what
        // follows it, if anything, moves to a fresh buffer. Any other frame
        // is copied out, so a small frame never pins a large buffer and
        // taking frames one by one copies each byte once.
        let rest = self.buf.len() - end;
        if self.start == 0 && rest <= end && self.buf.capacity() <= 2 * self.buf.len() {
            let rest = self.buf.split_off(end);
            return Ok(Some(Frame(std::mem::replace(&mut self.buf, rest))));
        }
        let frame = Frame(self.buf[self.start..end].to_vec());
        self.start = end;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(frame))
    }
}

/// One frame from a [`FrameReader`]; derefs to its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(Vec<u8>);

impl Frame {
    /// The whole frame, header included.
    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl std::ops::Deref for Frame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0[HEADER_LEN..]
    }
}

/// The body length a header announces, refused above `max`.
fn announced_len(header: [u8; HEADER_LEN], max: usize) -> Result<usize> {
    let len = u32::from_le_bytes(header) as usize;
    if len > max {
        return Err(Error::FrameTooLarge {
            len: len as u64,
            max: max as u64,
        });
    }
    Ok(len)
}

/// Reads the body a header announced, from a blocking descriptor.
fn read_body(fd: std::os::fd::BorrowedFd<'_>, header: [u8; HEADER_LEN], max: usize) -> Result<Vec<u8>> {
    let mut body = vec![0u8; announced_len(header, max)?];
    crate::sys::read_exact(fd, &mut body).map_err(eof_or_io(true))?;
    Ok(body)
}

/// Reads one whole frame's body from a blocking descriptor into `body`,
/// whose allocation is reused from one frame to the next.
pub(crate) fn read_frame_into(fd: std::os::fd::BorrowedFd<'_>, max: usize, body: &mut Vec<u8>) -> Result<()> {
    let mut header = [0u8; HEADER_LEN];
    crate::sys::read_exact(fd, &mut header).map_err(eof_or_io(false))?;
    let len = announced_len(header, max)?;
    body.clear();
    while body.len() < len {
        match crate::sys::read_into_spare(fd, body, len - body.len()) {
            Ok(0) => return Err(Error::Disconnected { partial: true }),
            Ok(_) => {}
            Err(e) => return Err(eof_or_io(true)(e)),
        }
    }
    Ok(())
}

/// Reads one whole frame from a blocking descriptor.
pub(crate) fn read_frame(fd: std::os::fd::BorrowedFd<'_>, max: usize) -> Result<Vec<u8>> {
    let mut header = [0u8; HEADER_LEN];
    crate::sys::read_exact(fd, &mut header).map_err(eof_or_io(false))?;
    read_body(fd, header, max)
}

/// Reads one frame, collecting descriptors that arrive with its first bytes.
pub(crate) fn recv_frame_with_fds(sock: std::os::fd::BorrowedFd<'_>) -> Result<(Vec<u8>, Vec<std::os::fd::OwnedFd>)> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    let mut fds = Vec::new();
    while got < HEADER_LEN {
        let (n, more) = crate::sys::recv_with_fds(sock, &mut header[got..]).map_err(Error::io("receiving a frame"))?;
        fds.extend(more);
        if n == 0 {
            return Err(Error::Disconnected { partial: got > 0 });
        }
        got += n;
    }
    Ok((read_body(sock, header, MAX_FRAME_LEN)?, fds))
}

/// Maps an early end of file to [`Error::Disconnected`].
pub(crate) fn eof_or_io(partial: bool) -> impl FnOnce(std::io::Error) -> Error {
    move |e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Disconnected { partial }
        } else {
            Error::Io {
                context: "reading a frame",
                source: e,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_taken_from_a_shared_buffer_are_copied_to_their_size() {
        let mut bytes = Vec::new();
        for i in 0..1000u32 {
            append_frame(&mut bytes, |body| append(&i, body)).unwrap();
        }
        let mut reader = FrameReader::new(64);
        reader.push(&bytes);
        for i in 0..1000u32 {
            let frame = reader.next_frame().unwrap().unwrap();
            assert_eq!(decode::<u32>(&frame).unwrap(), i);
            // A small frame does not keep the reader's buffer alive.
            assert!(frame.0.capacity() < 64, "{}", frame.0.capacity());
        }
        assert!(reader.next_frame().unwrap().is_none());
        assert!(!reader.has_partial());
    }

    #[test]
    fn a_frame_that_is_the_whole_buffer_is_handed_over() {
        let body = vec![7u8; 100_000];
        let mut reader = FrameReader::new(MAX_FRAME_LEN);
        reader.push(&encode_frame(&serde_bytes::Bytes::new(&body)).unwrap());
        let frame = reader.next_frame().unwrap().unwrap();
        let back: serde_bytes::ByteBuf = decode(&frame).unwrap();
        assert_eq!(back.as_slice(), body);
        assert!(!reader.has_partial());

        // With the start of the next frame behind it, the big one is still
        // handed over whole, and the next one completes later.
        let next = encode_frame(&7u64).unwrap();
        let mut bytes = encode_frame(&serde_bytes::Bytes::new(&body)).unwrap();
        bytes.extend_from_slice(&next[..5]);
        reader.push(&bytes);
        let frame = reader.next_frame().unwrap().unwrap();
        assert_eq!(frame.len(), body.len() + 8);
        assert!(reader.next_frame().unwrap().is_none());
        reader.push(&next[5..]);
        assert_eq!(decode::<u64>(&reader.next_frame().unwrap().unwrap()).unwrap(), 7);
    }

    #[test]
    fn frames_split_anywhere_reassemble() {
        let mut bytes = Vec::new();
        for text in ["a", "bc", "", "def"] {
            append_frame(&mut bytes, |body| append(text, body)).unwrap();
        }
        for cut in 0..bytes.len() {
            let mut reader = FrameReader::new(64);
            let mut got = Vec::new();
            for part in [&bytes[..cut], &bytes[cut..]] {
                reader.push(part);
                while let Some(frame) = reader.next_frame().unwrap() {
                    got.push(decode::<String>(&frame).unwrap());
                }
            }
            assert_eq!(got, ["a", "bc", "", "def"], "cut at {cut}");
        }
    }
}
