//! What a pool's parent and its workers say to each other.
//!
//! Parent → worker: one frame is a `Vec<Task>` (a batch). Worker → parent:
//! one frame per [`Reply`], written by [`Replies`]. Each task is a chunk of
//! one entry's argument tuples, encoded as one `Vec<Args>`; its result is
//! the chunk's outcome (see [`crate::chunk`]), in which a panic fails its
//! item and no other.

use serde::{Deserialize, Serialize};

use crate::captures::{CapturesWire, WorkerCaptures};
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
    /// What the entry captured, when it is a closure that captures.
    pub(crate) captures: CapturesWire<'a>,
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
    /// The pool took back this worker's queued tasks (see `dispatch.rs`):
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

    /// Runs `task` (with the captures its worker holds) and appends its
    /// result.
    pub(crate) fn run(&mut self, task: &Task<'_>, captures: &mut WorkerCaptures) {
        let ran = self.push(RAN, task.seq, |out| {
            captures.run_chunk(task.entry, &task.captures, task.chunk, out)
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

/// Makes a worker process record where a task panicked and print nothing
/// (the panic travels to the caller as an error).
pub(crate) fn install_quiet_panic_hook() {
    crate::unwind::set_quiet(super::worker::report_panic_before_abort);
}

#[cfg(test)]
mod tests {
    use super::*;

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
        replies.run(
            &Task {
                seq: 6,
                entry: "no::such::entry",
                chunk: &[],
                captures: CapturesWire::default(),
            },
            &mut WorkerCaptures::default(),
        );
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
}
