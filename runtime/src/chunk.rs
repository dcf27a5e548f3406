//! A chunk's outcome, the format a worker writes and its parent reads:
//! below both the registry (`entry`, which runs chunks for each entry) and
//! the pool (which sends chunks and decodes what comes back), so neither
//! reaches the other for it.
//!
//! A chunk is one entry's argument tuples encoded as one `Vec<Args>`; its
//! outcome (see [`run_chunk`]) holds a result per item, and a panic fails
//! its item and no other.

use std::panic::{self, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::Error;

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

impl<T> ItemOutcome<T> {
    /// Runs one item, catching a panic.
    pub(crate) fn run(f: impl FnOnce() -> T) -> Self {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(v) => ItemOutcome::Ok(v),
            Err(payload) => ItemOutcome::Panicked {
                message: crate::unwind::panic_message(&*payload),
                location: crate::unwind::take_location(),
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
