//! What a pool's parent and its workers say to each other.
//!
//! Parent → worker: one frame is a `Vec<Task>` (a batch). Worker → parent:
//! one frame per [`Reply`], written by [`Replies`]. Each task is a chunk of
//! one entry's argument tuples, encoded as one `Vec<Args>`; its result is
//! the chunk's outcome (see [`run_chunk`]), in which a panic fails its item
//! and no other.

use std::panic::{self, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::Error;

/// One chunk of work. Borrowed on both sides: the parent keeps the chunk
/// (to run it elsewhere should this worker die before starting it), and the
/// worker reads it in place from the frame.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Task<'a> {
    /// Pool-wide sequence number, increasing in dispatch order (never 0).
    pub(crate) seq: u64,
    /// The entry's stable name.
    pub(crate) entry: &'a str,
    /// The chunk: an encoded `Vec<Args>`.
    #[serde(with = "serde_bytes")]
    pub(crate) chunk: &'a [u8],
}

/// One message from a worker, read in place from its frame.
///
/// On the wire a reply is the tuple `(kind, seq, payload)`: a `u8`, a `u64`
/// task sequence number (0 when none) and a byte string. The payload of a
/// task that ran is the chunk's outcome, written straight into the frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply<'a> {
    /// The initializer ran; send work.
    Ready,
    /// The initializer failed; the worker exits.
    InitFailed(&'a str),
    /// Task `seq` ran: its chunk's encoded outcome.
    Ran { seq: u64, outcome: &'a [u8] },
    /// Task `seq` failed as a whole: its entry is unknown, its chunk did
    /// not decode, or a result could not be encoded. The payload is the
    /// encoded [`Error`].
    Failed { seq: u64, error: &'a [u8] },
    /// Task `seq` panicked under `panic = "abort"`: the worker aborts
    /// right after this reply (sent by its panic hook).
    Panicked {
        seq: u64,
        message: &'a str,
        location: Option<&'a str>,
    },
    /// Task `seq` took `nanos` to run (sent after its result, for tasks of
    /// a millisecond or more: the pool sizes later chunks by it).
    Took { seq: u64, nanos: u64 },
    /// The pool took back this worker's queued tasks (see `manager.rs`):
    /// the worker skipped those of the batch that ends with task `last`.
    Skipped { last: u64 },
}

const READY: u8 = 0;
const INIT_FAILED: u8 = 1;
const RAN: u8 = 2;
const FAILED: u8 = 3;
const SKIPPED: u8 = 4;
const PANICKED: u8 = 5;
const TOOK: u8 = 6;

impl<'a> Reply<'a> {
    /// Parses a reply frame's body.
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let (kind, seq, payload): (u8, u64, &[u8]) = codec::decode_borrowed(body)?;
        let text = || std::str::from_utf8(payload).map_err(|e| Error::Codec(format!("decode: {e}")));
        Ok(match kind {
            READY => Reply::Ready,
            INIT_FAILED => Reply::InitFailed(text()?),
            RAN => Reply::Ran { seq, outcome: payload },
            FAILED => Reply::Failed { seq, error: payload },
            SKIPPED => Reply::Skipped { last: seq },
            TOOK => Reply::Took {
                seq,
                nanos: codec::decode(payload)?,
            },
            PANICKED => {
                let (message, location) = codec::decode_borrowed(payload)?;
                Reply::Panicked { seq, message, location }
            }
            other => return Err(Error::Codec(format!("decode: unknown pool reply {other}"))),
        })
    }

    /// A task's reply as its sequence number and the length of its outcome
    /// (the tail of the frame), or why it could not run (attributed to
    /// worker `pid`); `None` for the start-up replies.
    pub(crate) fn task_result(&self, pid: i32) -> Option<(u64, Result<usize, Error>)> {
        match *self {
            Reply::Ready
            | Reply::InitFailed(_)
            | Reply::Skipped { .. }
            | Reply::Panicked { .. }
            | Reply::Took { .. } => None,
            Reply::Ran { seq, outcome } => Some((seq, Ok(outcome.len()))),
            Reply::Failed { seq, error } => Some((
                seq,
                Err(match codec::decode::<Error>(error) {
                    // Made in the worker, which cannot know its own pid's
                    // meaning to the caller: attribute it here.
                    Ok(Error::ChildSetup { message, .. }) => Error::ChildSetup { pid, message },
                    Ok(other) => other,
                    Err(e) => Error::ChildSetup {
                        pid,
                        message: format!("its failure did not decode: {e}"),
                    },
                }),
            )),
        }
    }
}

/// A worker's outgoing replies, frame after frame, in a buffer whose
/// allocation is reused: a task's outcome is encoded straight into it.
#[derive(Debug, Default)]
pub(crate) struct Replies {
    buf: Vec<u8>,
}

impl Replies {
    fn push(&mut self, kind: u8, seq: u64, fill: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>) -> Result<(), Error> {
        codec::append_frame(&mut self.buf, |body| {
            codec::append(&kind, body)?;
            codec::append(&seq, body)?;
            codec::append_bytes_with(body, fill)
        })
    }

    fn push_text(&mut self, kind: u8, seq: u64, text: &str) {
        // Cannot fail: the text is far below the frame limit.
        let _ = self.push(kind, seq, |out| {
            out.extend_from_slice(text.as_bytes());
            Ok(())
        });
    }

    /// Appends "ready".
    pub(crate) fn ready(&mut self) {
        self.push_text(READY, 0, "");
    }

    /// Appends "the initializer failed".
    pub(crate) fn init_failed(&mut self, message: &str) {
        self.push_text(INIT_FAILED, 0, message);
    }

    /// Appends "skipped the taken-back tasks of the batch ending at `last`".
    pub(crate) fn skipped(&mut self, last: u64) {
        self.push_text(SKIPPED, last, "");
    }

    /// Appends "task `seq` took `nanos`".
    pub(crate) fn took(&mut self, seq: u64, nanos: u64) {
        let _ = self.push(TOOK, seq, |out| codec::append(&nanos, out));
    }

    /// Appends "task `seq` panicked" (before a `panic = "abort"` abort).
    pub(crate) fn panicked(&mut self, seq: u64, message: &str, location: Option<&str>) {
        let _ = self.push(PANICKED, seq, |out| codec::append(&(message, location), out));
    }

    /// Runs `task` and appends its result.
    pub(crate) fn run(&mut self, task: &Task<'_>) {
        let ran = self.push(RAN, task.seq, |out| {
            crate::entry::run_chunk_by_name(task.entry, task.chunk, out)
        });
        if let Err(e) = ran {
            let e = match e {
                Error::Codec(m) => Error::Codec(format!("`{}`: {m}", task.entry)),
                other => other,
            };
            // Cannot fail: an error is far below the frame limit.
            let _ = self.push(FAILED, task.seq, |out| codec::append(&e, out));
        }
    }

    /// The frames appended since the last [`clear`](Replies::clear).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the frames, keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
    }
}

/// Bytes of the count that starts an encoded chunk outcome.
const COUNT_LEN: usize = 8;

/// Runs `f` on every item of an encoded `Vec<A>` (a chunk) as it is
/// decoded, and encodes each result as soon as it returns: no vector of
/// arguments or of results is ever built, and a panic fails its item only.
///
/// The outcome's layout: the number of leading items that returned (`u64`,
/// little endian), their values one after another, then — only when an
/// item panicked — the outcomes of that item and every later one, as one
/// encoded `Vec<ItemOutcome<T>>`.
///
/// A chunk whose bytes stop decoding part-way, or a result that cannot be
/// encoded, fails the whole chunk (the items before it have run). The
/// parent never sends such a chunk; the check is against corruption.
pub(crate) fn run_chunk<A: DeserializeOwned, T: Serialize>(
    chunk: &[u8],
    f: impl Fn(A) -> T,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let start = out.len();
    out.reserve(chunk.len() + 64);
    out.extend_from_slice(&[0; COUNT_LEN]);
    let mut returned: u64 = 0;
    let mut after_panic: Option<Vec<ItemOutcome<T>>> = None;
    // A result that cannot be encoded is a codec error; a chunk that does
    // not decode, a failure to set the task up.
    let unencodable = |e: Error| Error::Codec(format!("a result could not be encoded: {}", codec_message(e)));
    let mut encoding_failed = None;
    let decoded = codec::for_each(chunk, |args: A| {
        let outcome = ItemOutcome::run(|| f(args));
        match (&mut after_panic, outcome) {
            (None, ItemOutcome::Ok(v)) => {
                if let Err(e) = codec::append(&v, out) {
                    encoding_failed = Some(unencodable(e));
                    return Err(Error::Codec("stopped".into()));
                }
                returned += 1;
            }
            (None, failed) => after_panic = Some(vec![failed]),
            (Some(rest), outcome) => rest.push(outcome),
        }
        Ok(())
    });
    if let Some(e) = encoding_failed {
        return Err(e);
    }
    decoded.map_err(|e| Error::ChildSetup {
        pid: 0,
        message: format!("its chunk did not decode: {e}"),
    })?;
    out[start..start + COUNT_LEN].copy_from_slice(&returned.to_le_bytes());
    if let Some(rest) = after_panic {
        codec::append(&rest, out).map_err(unencodable)?;
    }
    Ok(())
}

/// A codec error's own words (without the "codec: " of its `Display`).
pub(crate) fn codec_message(e: Error) -> String {
    match e {
        Error::Codec(m) => m,
        other => other.to_string(),
    }
}

/// Splits a chunk outcome into its count of leading values, refused above
/// `max_items`, and the bytes after the count.
fn split_count(bytes: &[u8], max_items: usize) -> Result<(usize, &[u8]), Error> {
    let count = bytes
        .get(..COUNT_LEN)
        .and_then(|b| <[u8; COUNT_LEN]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| Error::Codec("decode: a chunk outcome without its count".into()))?;
    if count > max_items as u64 {
        return Err(Error::Codec(format!(
            "decode: a chunk outcome of {count} items, at most {max_items} expected"
        )));
    }
    Ok((count as usize, &bytes[COUNT_LEN..]))
}

/// Decodes a chunk outcome (see [`run_chunk`]) of at most `max_items`
/// items: appends the values of its leading items that returned to `out`,
/// and returns the outcomes of the items after them (empty when every item
/// returned).
fn decode_chunk_into<T: DeserializeOwned>(
    bytes: &[u8],
    max_items: usize,
    out: &mut Vec<T>,
) -> Result<Vec<ItemOutcome<T>>, Error> {
    let (count, bytes) = split_count(bytes, max_items)?;
    let rest = codec::decode_run_into(bytes, count, out)?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let rest: Vec<ItemOutcome<T>> = codec::decode(rest)?;
    if count + rest.len() > max_items {
        return Err(Error::Codec(format!(
            "decode: a chunk outcome of more than {max_items} items"
        )));
    }
    Ok(rest)
}

/// Decodes a chunk outcome's values onto the end of `out`, up to its first
/// failed item: returns that item's position in the chunk and its error
/// (attributed to worker `pid`).
pub(crate) fn decode_until_failure<T: DeserializeOwned>(
    bytes: &[u8],
    max_items: usize,
    out: &mut Vec<T>,
    pid: i32,
) -> Result<Option<(usize, Error)>, Error> {
    let before = out.len();
    for item in decode_chunk_into(bytes, max_items, out)? {
        match item.into_result(pid) {
            Ok(v) => out.push(v),
            Err(e) => return Ok(Some((out.len() - before, e))),
        }
    }
    Ok(None)
}

/// Decodes the outcome of a one-item chunk: the item's value, or its error
/// (attributed to worker `pid`). No vector is built unless it panicked.
pub(crate) fn decode_item<T: DeserializeOwned>(bytes: &[u8], pid: i32) -> Result<T, Error> {
    match split_count(bytes, 1)? {
        (1, value) => codec::decode(value),
        (_, rest) => {
            let mut outcomes: Vec<ItemOutcome<T>> = codec::decode(rest)?;
            match (outcomes.pop(), outcomes.is_empty()) {
                (Some(outcome), true) => outcome.into_result(pid),
                _ => Err(Error::Codec(
                    "decode: a one-item outcome without exactly one item".into(),
                )),
            }
        }
    }
}

/// Each item's own result, in order (what `imap` yields).
pub(crate) fn decode_results<T: DeserializeOwned>(
    bytes: &[u8],
    max_items: usize,
    pid: i32,
) -> Result<impl Iterator<Item = Result<T, Error>>, Error> {
    let mut values = Vec::new();
    let rest = decode_chunk_into(bytes, max_items, &mut values)?;
    Ok(values
        .into_iter()
        .map(Ok)
        .chain(rest.into_iter().map(move |o| o.into_result(pid))))
}

/// How one item of a chunk ended.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ItemOutcome<T> {
    /// The function returned.
    Ok(T),
    /// The function panicked.
    Panicked {
        /// The panic message.
        message: String,
        /// `file:line:col`.
        location: Option<String>,
    },
}

/// Makes a worker process record where a task panicked and print nothing
/// (the panic travels to the caller as an error).
pub(crate) fn install_quiet_panic_hook() {
    crate::process::panic_hook::set_quiet(super::worker::report_panic_before_abort);
}

impl<T> ItemOutcome<T> {
    /// Runs one item, catching a panic.
    pub(crate) fn run(f: impl FnOnce() -> T) -> Self {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(v) => ItemOutcome::Ok(v),
            Err(payload) => ItemOutcome::Panicked {
                message: crate::process::panic_message(&*payload),
                location: crate::process::panic_hook::take_location(),
            },
        }
    }

    /// The item's result, attributing a panic to worker `pid`.
    pub(crate) fn into_result(self, pid: i32) -> Result<T, Error> {
        match self {
            ItemOutcome::Ok(v) => Ok(v),
            ItemOutcome::Panicked { message, location } => Err(Error::Panicked { pid, message, location }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(items: &[u64]) -> Vec<u8> {
        let args: Vec<(u64,)> = items.iter().map(|x| (*x,)).collect();
        codec::encode(&args).unwrap()
    }

    fn run(chunk: &[u8], f: impl Fn((u64,)) -> u64) -> Vec<u8> {
        let mut out = Vec::new();
        run_chunk(chunk, f, &mut out).unwrap();
        out
    }

    fn halve(x: u64) -> u64 {
        assert!(x % 2 == 0, "odd {x}");
        x / 2
    }

    #[test]
    fn replies_parse_back_frame_by_frame() {
        let mut replies = Replies::default();
        replies.ready();
        replies.init_failed("bad init");
        replies
            .push(RAN, 5, |out| {
                out.extend_from_slice(b"outcome");
                Ok(())
            })
            .unwrap();
        replies.run(&Task {
            seq: 6,
            entry: "no::such::entry",
            chunk: &[],
        });
        let parsed: Vec<Reply<'_>> = codec::frames(replies.bytes())
            .map(|b| Reply::parse(b.unwrap()).unwrap())
            .collect();
        assert_eq!(
            parsed[..3],
            [
                Reply::Ready,
                Reply::InitFailed("bad init"),
                Reply::Ran {
                    seq: 5,
                    outcome: b"outcome"
                }
            ]
        );
        let Reply::Failed { seq: 6, error } = parsed[3] else {
            panic!("{:?}", parsed[3])
        };
        assert!(matches!(codec::decode(error), Ok(Error::UnknownEntry(name)) if name == "no::such::entry"));
        // A fill that fails leaves nothing behind.
        let before = replies.bytes().len();
        assert!(replies.push(RAN, 7, |_| Err(Error::Codec("no".into()))).is_err());
        assert_eq!(replies.bytes().len(), before);
    }

    #[test]
    fn bad_replies_are_codec_errors() {
        let mut replies = Replies::default();
        replies.push_text(9, 0, "");
        let body = codec::frames(replies.bytes()).next().unwrap().unwrap();
        assert!(matches!(Reply::parse(body), Err(Error::Codec(_))));
        assert!(matches!(Reply::parse(&body[..3]), Err(Error::Codec(_))));
        let bytes = replies.bytes();
        assert!(codec::frames(&bytes[..bytes.len() - 1]).any(|b| b.is_err()));
    }

    #[test]
    fn a_panic_fails_its_item_and_no_other() {
        let out = run(&chunk(&[2, 4, 5, 6, 7, 8]), |(x,)| halve(x));
        let mut values: Vec<u64> = vec![99];
        let (at, error) = decode_until_failure(&out, 6, &mut values, 7).unwrap().unwrap();
        assert_eq!((at, values), (2, vec![99, 1, 2]));
        assert!(matches!(error, Error::Panicked { pid: 7, ref message, .. } if message == "odd 5"));
        let each: Vec<Result<u64, Error>> = decode_results(&out, 6, 7).unwrap().collect();
        let oks: Vec<Option<u64>> = each.iter().map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(oks, [Some(1), Some(2), None, Some(3), None, Some(4)]);
    }

    #[test]
    fn an_outcome_that_returned_everywhere_decodes_whole() {
        let out = run(&chunk(&[0, 2, 1 << 40]), |(x,)| halve(x));
        let mut values = Vec::new();
        assert!(decode_until_failure::<u64>(&out, 3, &mut values, 1).unwrap().is_none());
        assert_eq!(values, [0, 1, 1 << 39]);
    }

    #[test]
    fn bad_outcomes_are_codec_errors() {
        let out = run(&chunk(&[2, 4, 6]), |(x,)| halve(x));
        let decode = |bytes: &[u8], max| decode_until_failure::<u64>(bytes, max, &mut Vec::new(), 1);
        // More items than were sent, a truncated count, truncated values,
        // and garbage after the values.
        assert!(matches!(decode(&out, 2), Err(Error::Codec(_))));
        assert!(matches!(decode(&out[..5], 3), Err(Error::Codec(_))));
        assert!(matches!(decode(&out[..out.len() - 1], 3), Err(Error::Codec(_))));
        let mut garbage = out.clone();
        garbage.push(0xff);
        assert!(matches!(decode(&garbage, 3), Err(Error::Codec(_))));
        // A huge count of zero-sized values is refused before any is made.
        let mut units = u64::MAX.to_le_bytes().to_vec();
        units.push(0);
        assert!(decode_until_failure::<()>(&units, 8, &mut Vec::new(), 1).is_err());
    }
}
