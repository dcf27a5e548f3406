//! Targets for the fuzzing command (`cargo run --release -p
//! multiproc-benches --bin fuzz`): every decoder that reads bytes from
//! another process or the network, callable with arbitrary bytes. Each
//! must return (an error is fine) — never panic, hang or misbehave.
//! Not part of the API.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::captures::{CapturesWire, WorkerCaptures};
use crate::chunk::{decode_until_failure, run_chunk, ItemOutcome};
use crate::codec::{self, FrameReader};
use crate::error::{Error, Result};
use crate::manager::conn::{client_handshake, Deadline, FrameAuth, Reply, Request, CLIENT_HANDSHAKE_TIMEOUT};
use crate::pool::wire::{Replies, Reply as PoolReply, Task};

/// The decoders, by name.
pub const TARGETS: &[&str] = &[
    "frame_reader",
    "manager_request",
    "manager_reply",
    "pool_tasks",
    "pool_reply",
    "chunk_u64",
    "chunk_string",
    "error",
    "manager_frames",
    "manager_handshake",
];

/// Feeds `bytes` to decoder `target`; whether they decoded.
///
/// # Errors
/// [`Error::Usage`] for an unknown target name.
pub fn run(target: &str, bytes: &[u8]) -> Result<bool> {
    Ok(match target {
        "frame_reader" => {
            // In uneven pieces, as reads deliver them.
            let mut reader = FrameReader::new(1 << 16);
            let mut frames = 0;
            for piece in bytes.chunks(7) {
                reader.push(piece);
                loop {
                    match reader.next_frame() {
                        Ok(Some(_)) => frames += 1,
                        Ok(None) => break,
                        Err(_) => return Ok(false),
                    }
                }
            }
            frames > 0
        }
        "manager_request" => codec::decode::<Request>(bytes).is_ok(),
        "manager_reply" => codec::decode::<Reply>(bytes).is_ok(),
        "pool_tasks" => codec::decode_borrowed::<Vec<Task<'_>>>(bytes).is_ok(),
        // What a worker writes: reply frames laid end to end.
        "pool_reply" => codec::frames(bytes).all(|body| body.and_then(PoolReply::parse).is_ok()),
        "chunk_u64" => decode_until_failure::<u64>(bytes, 1 << 16, &mut Vec::new(), 1).is_ok(),
        "chunk_string" => decode_until_failure::<String>(bytes, 1 << 16, &mut Vec::new(), 1).is_ok(),
        "error" => codec::decode::<Error>(bytes).is_ok(),
        "manager_frames" => manager_frames(bytes),
        "manager_handshake" => manager_handshake(bytes)?,
        _ => return Err(Error::Usage(format!("no fuzz target `{target}`").into())),
    })
}

/// What a server does with the frames after a handshake, the tags
/// checked: `bytes` is a mode byte (bit 0: sealed, as over TCP; bit 1:
/// raw) and then frames, each a `u16` length and its body. Honest frames
/// (the mode's bit 1 clear) are tagged with the client's key, so their
/// bodies reach the request decoder behind the check; raw ones are taken
/// as they come, as a relay without the key would send them, and must
/// all fail their tag. Whether a request decoded.
fn manager_frames(bytes: &[u8]) -> bool {
    let Some((&mode, mut rest)) = bytes.split_first() else {
        return false;
    };
    let (mut client, mut server) = FrameAuth::pair(b"fuzz", mode & 1 == 1);
    let raw = mode & 2 == 2;
    let mut decoded = false;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut frame = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        if !raw {
            let tag = client.seal(&mut frame);
            frame.extend_from_slice(&tag);
        }
        match server.open(frame) {
            Ok(body) => {
                // A frame without the key passing its tag is the finding.
                assert!(!raw, "a frame made without the key passed its tag");
                decoded |= codec::decode::<Request>(&body).is_ok();
            }
            // An honest frame failing is one too: the server would drop a
            // client that did nothing wrong.
            Err(e) => assert!(raw, "an honest frame failed its tag: {e}"),
        }
    }
    decoded
}

/// A client's handshake with a server that sends `bytes` and hangs up:
/// it must end with an error (never a session, a panic or a hang). Whether
/// the client took it for a server's.
fn manager_handshake(bytes: &[u8]) -> Result<bool> {
    let (client, mut server) = UnixStream::pair().map_err(Error::io("socketpair"))?;
    // The socket's buffer takes a few KiB at once: more is never read.
    let _ = server.write_all(&bytes[..bytes.len().min(4096)]);
    let _ = server.shutdown(Shutdown::Write);
    let by = Deadline::after(CLIENT_HANDSHAKE_TIMEOUT);
    Ok(client_handshake(&mut client.into(), b"fuzz", by).is_ok())
}

/// Valid inputs of `target`, to mutate.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let enc = |r: Result<Vec<u8>>| r.unwrap_or_default();
    fn outcome<A: serde::de::DeserializeOwned, T: serde::Serialize>(
        chunk: &[u8],
        f: impl Fn(A) -> T,
    ) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        run_chunk(chunk, f, &mut out).map(|()| out)
    }
    match target {
        "frame_reader" => vec![
            enc(codec::encode_frame(&(1u32, "abc".to_string()))),
            [enc(codec::encode_frame(&vec![7u8; 40])), enc(codec::encode_frame(&()))].concat(),
        ],
        "manager_request" => vec![
            enc(codec::encode(&Request::Hello { client: 42 })),
            enc(codec::encode(&Request::Call {
                id: 3,
                method: "insert".into(),
                thread: 1,
                args: enc(codec::encode(&(vec![1u8, 2], vec![3u8]))),
            })),
            enc(codec::encode(&Request::Create {
                type_name: "multiproc::queue".into(),
                constructor: "new".into(),
                args: enc(codec::encode(&0u64)),
            })),
            enc(codec::encode(&Request::Lookup { name: "jobs".into() })),
        ],
        "manager_reply" => vec![
            enc(codec::encode(&Reply::Value(vec![1, 2, 3]))),
            enc(codec::encode(&Reply::Failed(Error::Full))),
            enc(codec::encode(&Reply::Object {
                id: 9,
                type_name: "multiproc::dict".into(),
            })),
        ],
        "pool_tasks" => vec![enc(codec::encode(&vec![Task {
            seq: 1,
            entry: "m::square",
            chunk: &enc(codec::encode(&vec![(3u64,)])),
            captures: CapturesWire {
                id: 1,
                blob: b"captures",
            },
        }]))],
        "pool_reply" => {
            let mut replies = Replies::default();
            replies.ready();
            replies.init_failed("no");
            // An entry no program has: a "could not run" reply.
            let chunk = enc(codec::encode(&vec![(3u64,)]));
            replies.run(
                &Task {
                    seq: 1,
                    entry: "m::square",
                    chunk: &chunk,
                    captures: CapturesWire::default(),
                },
                &mut WorkerCaptures::default(),
            );
            vec![replies.bytes().to_vec()]
        }
        "chunk_u64" => {
            // One outcome where every item returned, one where the second panicked.
            let all = enc(codec::encode(&vec![(1u64,), (2,), (3,)]).and_then(|c| outcome(&c, |(x,): (u64,)| x)));
            let mut mixed = 1u64.to_le_bytes().to_vec();
            let panicked = vec![ItemOutcome::<u64>::Panicked {
                message: "m".into(),
                location: None,
            }];
            let _ = codec::append(&5u64, &mut mixed).and_then(|()| codec::append(&panicked, &mut mixed));
            vec![all, mixed]
        }
        "chunk_string" => vec![enc(
            codec::encode(&vec![("a".to_string(),)]).and_then(|c| outcome(&c, |(s,): (String,)| s))
        )],
        "error" => vec![
            enc(codec::encode(&Error::Panicked {
                pid: 1,
                message: "m".into(),
                location: Some("f:1:2".into()),
            })),
            enc(codec::encode(&Error::ItemFailed {
                index: 2,
                source: Box::new(Error::Timeout(Duration::from_millis(5))),
            })),
        ],
        "manager_frames" => {
            let mut frames = vec![1u8];
            for request in [Request::Hello { client: 42 }, Request::Lookup { name: "jobs".into() }] {
                let body = enc(codec::encode(&request));
                frames.extend_from_slice(&(body.len() as u16).to_le_bytes());
                frames.extend_from_slice(&body);
            }
            let mut raw = frames.clone();
            raw[0] = 3;
            vec![frames, raw]
        }
        // A greeting and a nonce, then an acceptance and a wrong proof.
        "manager_handshake" => vec![[vec![b'M'], vec![7; 32], vec![1], vec![9; 32]].concat()],
        _ => Vec::new(),
    }
}

/// An authenticated, blocking connection to the manager server at
/// `address`, to write raw bytes on (for tests of what the server does
/// with them).
///
/// # Errors
/// As [`BaseManager::connect`](crate::manager::BaseManager::connect).
pub fn manager_raw(address: &str, authkey: &[u8]) -> Result<TcpStream> {
    crate::manager::conn::Client::connect(crate::manager::Address::tcp(address)?, authkey.into())?.raw_stream()
}

/// A client of the manager at `address` over TCP even on this machine
/// (where [`BaseManager::connect`](crate::manager::BaseManager::connect)
/// takes the local socket), for tests of the network path.
///
/// # Errors
/// As `BaseManager::connect`.
pub fn manager_over_tcp(address: &str, authkey: &[u8]) -> Result<crate::manager::ManagerClient> {
    crate::manager::ManagerClient::over(crate::manager::Address::tcp(address)?, authkey)
}

/// Sends `bytes` raw to a manager server at `address` — before the
/// handshake when `authenticated` is false, else after a real one, as
/// frames would come — and reads what comes back for a moment. The server
/// must survive it and go on serving others.
///
/// # Errors
/// [`Error::Io`] when the connection cannot be made.
pub fn manager_session(address: &str, authkey: &[u8], authenticated: bool, bytes: &[u8]) -> Result<()> {
    let mut stream = if authenticated {
        manager_raw(address, authkey)?
    } else {
        TcpStream::connect(address).map_err(Error::io("connecting"))?
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let _ = stream.write_all(bytes);
    let mut sink = [0u8; 4096];
    let _ = stream.read(&mut sink);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every target runs on its seeds; the honest frames reach the
    /// request decoder, and a client never takes a made-up server for the
    /// real one.
    #[test]
    fn every_target_runs_on_its_seeds() {
        for target in TARGETS {
            for seed in seeds(target) {
                run(target, &seed).unwrap_or_else(|e| panic!("{target}: {e}"));
            }
        }
        let [honest, raw] = &seeds("manager_frames")[..] else {
            panic!("two seeds")
        };
        assert!(run("manager_frames", honest).unwrap());
        assert!(!run("manager_frames", raw).unwrap());
        assert!(!run("manager_handshake", &seeds("manager_handshake")[0]).unwrap());
        assert!(!run("manager_handshake", b"").unwrap());
    }
}
