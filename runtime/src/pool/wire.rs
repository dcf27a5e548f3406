//! What a pool's parent and its workers say to each other.
//!
//! Parent → worker: one frame is a `Vec<Task>` (a batch). Worker → parent:
//! one frame is a [`Reply`]. Each task is a chunk of one entry's argument
//! tuples, encoded as one `Vec<Args>`; its result is one encoded
//! `ChunkOutcome<Output>`, so a panic fails its item and no other.

use std::panic::{self, AssertUnwindSafe};

use serde::{Deserialize, Serialize};

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

/// What a worker sends back.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// The initializer ran; send work.
    Ready,
    /// The initializer failed; the worker exits.
    InitFailed(String),
    /// Results, in the order the tasks were received.
    Done(Vec<(u64, TaskResult)>),
}

/// A chunk's result.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum TaskResult {
    /// An encoded `ChunkOutcome<Output>`.
    Ran(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The chunk could not run at all (unknown entry, undecodable chunk).
    Failed(String),
}

/// How a chunk's items ended: all returned (the common case, encoded as a
/// plain sequence of values), or some panicked.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ChunkOutcome<T> {
    /// Every item returned.
    All(Vec<T>),
    /// At least one item panicked.
    Mixed(Vec<ItemOutcome<T>>),
}

impl<T> ChunkOutcome<T> {
    /// Runs `f` on every item, catching panics item by item.
    pub(crate) fn run<A>(items: Vec<A>, f: impl Fn(A) -> T) -> Self {
        let mut values = Vec::with_capacity(items.len());
        let mut items = items.into_iter();
        for item in items.by_ref() {
            match ItemOutcome::run(|| f(item)) {
                ItemOutcome::Ok(v) => values.push(v),
                failed => {
                    let mut mixed: Vec<ItemOutcome<T>> = values.into_iter().map(ItemOutcome::Ok).collect();
                    mixed.push(failed);
                    mixed.extend(items.map(|item| ItemOutcome::run(|| f(item))));
                    return ChunkOutcome::Mixed(mixed);
                }
            }
        }
        ChunkOutcome::All(values)
    }

    /// Each item's result, in order, attributing panics to worker `pid`.
    pub(crate) fn into_results(self, pid: i32) -> impl Iterator<Item = Result<T, Error>> {
        let (all, mixed) = match self {
            ChunkOutcome::All(v) => (Some(v), None),
            ChunkOutcome::Mixed(v) => (None, Some(v)),
        };
        all.into_iter()
            .flatten()
            .map(Ok)
            .chain(mixed.into_iter().flatten().map(move |o| o.into_result(pid)))
    }
}

/// Decodes an encoded `ChunkOutcome<T>` straight onto the end of `out`
/// (no intermediate `Vec` per chunk). Returns the first failed item's
/// position in the chunk and its error, if an item panicked; the values
/// before it are appended.
pub(crate) fn decode_chunk_into<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    out: &mut Vec<T>,
    pid: i32,
) -> crate::error::Result<Option<(usize, Error)>> {
    use serde::de::{DeserializeSeed, EnumAccess, SeqAccess, VariantAccess, Visitor};
    use std::fmt;

    /// Appends the elements of a sequence to a `Vec`.
    struct Append<'a, T>(&'a mut Vec<T>);

    impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Append<'_, T> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Append<'_, T> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence of values")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            // Bounded: a length announced by the peer is not trusted.
            self.0.reserve(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(v) = seq.next_element()? {
                self.0.push(v);
            }
            Ok(())
        }
    }

    struct Outcome<'a, T>(&'a mut Vec<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Outcome<'_, T> {
        type Value = Option<Vec<ItemOutcome<T>>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a chunk outcome")
        }
        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            let (variant, access): (u32, _) = data.variant()?;
            match variant {
                0 => access.newtype_variant_seed(Append(self.0)).map(|()| None),
                1 => access.newtype_variant::<Vec<ItemOutcome<T>>>().map(Some),
                other => Err(serde::de::Error::custom(format!("unknown chunk outcome {other}"))),
            }
        }
    }

    let mut de = postcard::Deserializer::from_bytes(bytes);
    let mixed = serde::Deserializer::deserialize_enum(&mut de, "ChunkOutcome", &["All", "Mixed"], Outcome(out))
        .map_err(|e| Error::Codec(format!("decode: {e}")))?;
    if !de
        .finalize()
        .map_err(|e| Error::Codec(format!("decode: {e}")))?
        .is_empty()
    {
        return Err(Error::Codec("decode: trailing bytes".into()));
    }
    let Some(items) = mixed else { return Ok(None) };
    for (k, item) in items.into_iter().enumerate() {
        match item.into_result(pid) {
            Ok(v) => out.push(v),
            Err(e) => return Ok(Some((k, e))),
        }
    }
    Ok(None)
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
    crate::process::panic_hook::set_mode(crate::process::panic_hook::QUIET);
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
