//! The codec and framing: round trips, and bad bytes give typed errors.

use multiproc::codec::{decode, encode, encode_frame, FrameReader, MAX_FRAME_LEN};
use multiproc::Error;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Circle { r: f64 },
    Poly(Vec<(i32, i32)>),
    Empty,
}

#[test]
fn round_trips() {
    let values = vec![
        Shape::Circle { r: 2.5 },
        Shape::Poly(vec![(0, 0), (1, -1), (i32::MAX, i32::MIN)]),
        Shape::Empty,
    ];
    let bytes = encode(&values).unwrap();
    assert_eq!(decode::<Vec<Shape>>(&bytes).unwrap(), values);
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut bytes = encode(&7u32).unwrap();
    bytes.push(0);
    assert!(matches!(decode::<u32>(&bytes), Err(Error::Codec(m)) if m.contains("trailing")));
}

#[test]
fn garbage_never_panics() {
    // A cheap deterministic generator; every prefix and every byte pattern
    // must give a value or an error, never a panic or a huge allocation.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 64) as usize;
        let bytes: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8).collect();
        let _ = decode::<Vec<Shape>>(&bytes);
        let _ = decode::<(String, Vec<u64>, Option<bool>)>(&bytes);
    }
}

#[test]
fn a_huge_announced_length_is_refused_without_allocating() {
    // A varint length of u64::MAX for a Vec<u8>: must error, not allocate.
    let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(matches!(decode::<Vec<u8>>(&bytes), Err(Error::Codec(_))));
}

#[test]
fn frames_assemble_from_single_bytes() {
    let frames: Vec<Vec<u8>> = (0..5).map(|i| encode_frame(&format!("message {i}")).unwrap()).collect();
    let stream: Vec<u8> = frames.concat();
    let mut reader = FrameReader::new(MAX_FRAME_LEN);
    let mut got = Vec::new();
    for b in stream {
        reader.push(&[b]);
        while let Some(body) = reader.next_frame().unwrap() {
            got.push(decode::<String>(&body).unwrap());
        }
    }
    assert_eq!(got, (0..5).map(|i| format!("message {i}")).collect::<Vec<_>>());
    assert!(!reader.has_partial());
}

#[test]
fn oversized_frames_are_refused_at_the_header() {
    let mut reader = FrameReader::new(1024);
    reader.push(&2048u32.to_le_bytes());
    match reader.next_frame() {
        Err(Error::FrameTooLarge { len: 2048, max: 1024 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_truncated_frame_stays_incomplete() {
    let frame = encode_frame(&vec![1u64; 100]).unwrap();
    let mut reader = FrameReader::new(MAX_FRAME_LEN);
    reader.push(&frame[..frame.len() - 1]);
    assert_eq!(reader.next_frame().unwrap(), None);
    assert!(reader.has_partial());
    assert_eq!(reader.wanted(), 1);
}

/// Found by fuzzing: an `Error` encoding that nests `ItemFailed` a million
/// deep overflowed the decoder's stack. It is now a decode error.
#[test]
fn a_deeply_nested_error_is_refused_not_a_stack_overflow() {
    let mut bytes = Vec::new();
    for _ in 0..1_000_000 {
        bytes.extend_from_slice(&[12, 0]); // ItemFailed { index: 0, source: … }
    }
    bytes.push(20); // … PoolClosed
    assert!(multiproc::codec::decode::<multiproc::Error>(&bytes).is_err());
    // Nesting as deep as the library makes still decodes.
    let e = multiproc::Error::ItemFailed {
        index: 3,
        source: Box::new(multiproc::Error::ItemFailed {
            index: 1,
            source: Box::new(multiproc::Error::PoolClosed),
        }),
    };
    let back: multiproc::Error = multiproc::codec::decode(&multiproc::codec::encode(&e).unwrap()).unwrap();
    assert_eq!(back.to_string(), e.to_string());
}
