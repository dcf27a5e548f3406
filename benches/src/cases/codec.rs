//! Case `codec`: serde codecs on the payloads a process library carries.
//!
//! Codecs: multiproc's own (through `multiproc::codec::encode` / `decode`,
//! so its trailing-bytes check is included: fixed-width integers, the
//! bytes of bincode 2's fixed-int configuration), postcard (varints; the
//! codec before it), bitcode in its serde mode (`bitcode::serialize` /
//! `deserialize`), and bincode 2 through serde
//! (`bincode::serde::encode_to_vec` / `decode_from_slice`), with
//! `config::standard()` (varint integers) and with fixed-width integers.
//!
//! Shapes: 10 000 `u64` that are small (0‥9 999) and full-range random;
//! 1 000 structs of a 10-byte `String`, an `f64` and an `Option<u32>` (a
//! third `None`); 1 MiB of random bytes, once as a plain `Vec<u8>` (what a
//! user's type gets without annotations: a serde *sequence* of `u8`) and
//! once as `serde_bytes::ByteBuf` (serde *bytes*: one length and a copy);
//! and the tuple `(u64,)`, the smallest message.
//!
//! Each figure is the median over 11 timed batches, after a warm-up, of the
//! time per call, allocation of the output included (encode returns a fresh
//! `Vec<u8>`, decode a fresh value). MB/s divides the shape's *nominal* size
//! — the bytes of its data in memory, the same for every codec — by that
//! time (MB = 10^6 bytes). Every codec's round trip is checked first.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::{Better, Case, CaseOutput, Figure, Options};
use crate::common::Rng;
use crate::report;

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "codec",
    about: "encode/decode time and size of multiproc's codec, postcard, bitcode and bincode 2 on typical payloads",
    peer_group: None,
    run,
};

const NAME: &str = "codec";

/// Timed batches per measurement; the median batch is reported.
const BATCHES: u32 = 11;

/// A codec under test; every method reports errors as text.
trait Codec {
    /// Its name in the tables.
    const NAME: &'static str;
    /// Serializes `value` into a fresh buffer.
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String>;
    /// Deserializes an owned value from exactly `bytes`.
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String>;
}

/// multiproc's own codec, as every channel uses it.
struct Ours;

impl Codec for Ours {
    const NAME: &'static str = "multiproc";
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        multiproc::codec::encode(value).map_err(|e| e.to_string())
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        multiproc::codec::decode(bytes).map_err(|e| e.to_string())
    }
}

/// postcard: varint integers.
struct Postcard;

impl Codec for Postcard {
    const NAME: &'static str = "postcard";
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        postcard::to_allocvec(value).map_err(|e| e.to_string())
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        postcard::from_bytes(bytes).map_err(|e| e.to_string())
    }
}

/// bitcode, serde mode.
struct Bitcode;

impl Codec for Bitcode {
    const NAME: &'static str = "bitcode";
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        bitcode::serialize(value).map_err(|e| e.to_string())
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        bitcode::deserialize(bytes).map_err(|e| e.to_string())
    }
}

/// bincode 2, serde mode, standard configuration.
struct Bincode;

impl Codec for Bincode {
    const NAME: &'static str = "bincode2";
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| e.to_string())
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        let (value, read) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| e.to_string())?;
        if read != bytes.len() {
            return Err(format!("{} trailing bytes", bytes.len() - read));
        }
        Ok(value)
    }
}

/// bincode 2, serde mode, fixed-width integers (lengths too, as `u64`).
struct BincodeFixed;

impl Codec for BincodeFixed {
    const NAME: &'static str = "bincode2-fixint";
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        let config = bincode::config::standard().with_fixed_int_encoding();
        bincode::serde::encode_to_vec(value, config).map_err(|e| e.to_string())
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        let config = bincode::config::standard().with_fixed_int_encoding();
        let (value, read) = bincode::serde::decode_from_slice(bytes, config).map_err(|e| e.to_string())?;
        if read != bytes.len() {
            return Err(format!("{} trailing bytes", bytes.len() - read));
        }
        Ok(value)
    }
}

/// The small struct of shape (b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    score: f64,
    tag: Option<u32>,
}

/// One codec's figures on one shape.
struct Measured {
    codec: &'static str,
    size: usize,
    encode_ns: f64,
    decode_ns: f64,
}

/// Median time per call of `f`, in nanoseconds, within about `budget`.
fn ns_per_op(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm-up, which also calibrates the batch size.
    let warm = budget / 5;
    let t = Instant::now();
    let mut calls: u64 = 0;
    while t.elapsed() < warm || calls < 3 {
        f();
        calls += 1;
    }
    let per_call = t.elapsed().as_secs_f64() / calls as f64;
    let batch_time = (budget - warm).as_secs_f64() / f64::from(BATCHES);
    let per_batch = ((batch_time / per_call) as u64).max(1);
    let mut ns = Vec::with_capacity(BATCHES as usize);
    for _ in 0..BATCHES {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        ns.push(t.elapsed().as_secs_f64() * 1e9 / per_batch as f64);
    }
    super::Stats::of(&ns).median
}

/// Checks `C`'s round trip of `value`, then times it.
fn measure<C: Codec, T>(value: &T, budget: Duration) -> Result<Measured, String>
where
    T: Serialize + DeserializeOwned + PartialEq,
{
    let bytes = C::encode(value).map_err(|e| format!("{} encode: {e}", C::NAME))?;
    let back: T = C::decode(&bytes).map_err(|e| format!("{} decode: {e}", C::NAME))?;
    if back != *value {
        return Err(format!("{}: round trip changed the value", C::NAME));
    }
    let encode_ns = ns_per_op(budget, || {
        black_box(C::encode(black_box(value)).expect("encoded once already"));
    });
    let decode_ns = ns_per_op(budget, || {
        black_box(C::decode::<T>(black_box(&bytes)).expect("decoded once already"));
    });
    Ok(Measured {
        codec: C::NAME,
        size: bytes.len(),
        encode_ns,
        decode_ns,
    })
}

/// All codecs on one shape.
fn measure_all<T>(value: &T, budget: Duration) -> Result<Vec<Measured>, String>
where
    T: Serialize + DeserializeOwned + PartialEq,
{
    Ok(vec![
        measure::<Ours, T>(value, budget)?,
        measure::<Postcard, T>(value, budget)?,
        measure::<Bitcode, T>(value, budget)?,
        measure::<Bincode, T>(value, budget)?,
        measure::<BincodeFixed, T>(value, budget)?,
    ])
}

/// A shape's results.
struct ShapeResult {
    shape: &'static str,
    nominal_bytes: usize,
    codecs: Vec<Measured>,
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let budget = if options.quick {
        Duration::from_millis(25)
    } else {
        Duration::from_millis(200)
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let small: Vec<u64> = (0..10_000).collect();
    let random: Vec<u64> = (0..10_000).map(|_| rng.next()).collect();
    let items: Vec<Item> = (0..1_000u32)
        .map(|i| Item {
            name: format!("item-{i:05}"),
            score: (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 1000.0,
            tag: (i % 3 != 0).then_some(i * 37),
        })
        .collect();
    let items_bytes: usize = items.iter().map(|it| it.name.len() + 8 + it.tag.map_or(0, |_| 4)).sum();
    let raw: Vec<u8> = (0..1 << 20).map(|_| rng.next() as u8).collect();
    let buf = ByteBuf::from(raw.clone());
    let tiny = (123_456_789u64,);

    let results = vec![
        ShapeResult {
            shape: "Vec<u64> 10k small",
            nominal_bytes: 80_000,
            codecs: measure_all(&small, budget)?,
        },
        ShapeResult {
            shape: "Vec<u64> 10k random",
            nominal_bytes: 80_000,
            codecs: measure_all(&random, budget)?,
        },
        ShapeResult {
            shape: "Vec<Item> 1k",
            nominal_bytes: items_bytes,
            codecs: measure_all(&items, budget)?,
        },
        ShapeResult {
            shape: "1 MiB Vec<u8> (seq)",
            nominal_bytes: raw.len(),
            codecs: measure_all(&raw, budget)?,
        },
        ShapeResult {
            shape: "1 MiB ByteBuf (bytes)",
            nominal_bytes: buf.len(),
            codecs: measure_all(&buf, budget)?,
        },
        ShapeResult {
            shape: "(u64,)",
            nominal_bytes: 8,
            codecs: measure_all(&tiny, budget)?,
        },
    ];

    Ok(CaseOutput {
        figures: figures(&results),
        sections: vec![matrix(&results, budget)],
    })
}

/// MB/s for `bytes` per call of `ns`.
fn mb_per_s(bytes: usize, ns: f64) -> f64 {
    bytes as f64 / ns * 1e3
}

/// The JSON figures (left out of the main table; the matrix shows them).
fn figures(results: &[ShapeResult]) -> Vec<Figure> {
    let mut out = Vec::new();
    for r in results {
        for m in &r.codecs {
            let tag = |f: Figure| {
                f.detail()
                    .with("shape", r.shape)
                    .with("codec", m.codec)
                    .with("nominal_bytes", r.nominal_bytes)
                    .with("encoded_bytes", m.size)
            };
            out.push(tag(Figure::new(
                NAME,
                format!("{} / {} encoded size", r.shape, m.codec),
                m.size as f64,
                "B",
                Better::Lower,
            )));
            out.push(
                tag(Figure::new(
                    NAME,
                    format!("{} / {} encode", r.shape, m.codec),
                    m.encode_ns,
                    "ns/op",
                    Better::Lower,
                ))
                .with("op", "encode")
                .with("mb_per_s", mb_per_s(r.nominal_bytes, m.encode_ns)),
            );
            out.push(
                tag(Figure::new(
                    NAME,
                    format!("{} / {} decode", r.shape, m.codec),
                    m.decode_ns,
                    "ns/op",
                    Better::Lower,
                ))
                .with("op", "decode")
                .with("mb_per_s", mb_per_s(r.nominal_bytes, m.decode_ns)),
            );
        }
    }
    out
}

/// The comparison table, with each codec's size and times over ours.
fn matrix(results: &[ShapeResult], budget: Duration) -> String {
    let headers = [
        "shape",
        "codec",
        "size B",
        "size/ours",
        "encode ns/op",
        "enc MB/s",
        "enc/ours",
        "decode ns/op",
        "dec MB/s",
        "dec/ours",
    ];
    let mut rows = Vec::new();
    for r in results {
        let ours = &r.codecs[0];
        for m in &r.codecs {
            rows.push(vec![
                r.shape.to_string(),
                m.codec.to_string(),
                m.size.to_string(),
                format!("{:.2}", m.size as f64 / ours.size as f64),
                report::num(m.encode_ns),
                report::num(mb_per_s(r.nominal_bytes, m.encode_ns)),
                format!("{:.2}", m.encode_ns / ours.encode_ns),
                report::num(m.decode_ns),
                report::num(mb_per_s(r.nominal_bytes, m.decode_ns)),
                format!("{:.2}", m.decode_ns / ours.decode_ns),
            ]);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "codec comparison (median of {BATCHES} batches, ~{} ms per figure). \
         Lower is better for size and ns/op, higher for MB/s;\n\
         x/ours = this codec's size or time over multiproc's own codec: < 1 beats it.\n\
         MB/s = nominal data bytes (same for every codec) per second; MB = 10^6 B.",
        budget.as_millis()
    );
    out.push_str(&report::render(&headers, &rows, 2));
    out
}
