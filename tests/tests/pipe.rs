//! `Pipe`: both directions, every start method, large messages, a peer that
//! dies, bad bytes.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;

use multiproc::pipe::{Connection, Pipe};
use multiproc::prelude::*;
use multiproc_tests::{METHODS, PATIENCE};

#[process_fn]
fn echo(conn: Connection) -> usize {
    let mut n = 0;
    while let Ok(bytes) = conn.recv_bytes() {
        conn.send_bytes(&bytes).unwrap();
        n += 1;
    }
    n
}

#[process_fn]
fn write_raw(conn: Connection, bytes: Vec<u8>) {
    // Bypasses the framing: whatever bytes the test wants on the wire.
    let mut file = std::mem::ManuallyDrop::new(unsafe_file(conn.as_raw_fd()));
    file.write_all(&bytes).unwrap();
}

fn unsafe_file(fd: i32) -> std::fs::File {
    use std::os::fd::FromRawFd;
    // SAFETY: the test borrows a descriptor that `conn` owns and keeps open;
    // the File is never dropped (ManuallyDrop), so it never closes it.
    unsafe { std::fs::File::from_raw_fd(fd) }
}

#[process_fn]
fn hold_then_sleep(conn: Connection) {
    conn.send(&"ready").unwrap();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn echo_with_every_start_method() {
    for method in METHODS {
        let (ours, theirs) = Pipe::new().unwrap();
        let mut p = Process::builder().start_method(method).start(echo, (theirs,)).unwrap();
        for i in 0..100u32 {
            ours.send_bytes(&i.to_le_bytes()).unwrap();
            assert_eq!(ours.recv_bytes().unwrap(), i.to_le_bytes());
        }
        // Large messages, both ways.
        let big: Vec<u8> = (0..8 << 20).map(|i| (i % 253) as u8).collect();
        ours.send_bytes(&big).unwrap();
        assert_eq!(ours.recv_bytes().unwrap(), big);
        ours.close();
        assert_eq!(p.join_timeout(PATIENCE).unwrap(), 101, "{method}");
    }
}

#[test]
fn a_dead_peer_wakes_the_receiver() {
    for method in METHODS {
        let (ours, theirs) = Pipe::new().unwrap();
        let p = Process::builder()
            .start_method(method)
            .start(hold_then_sleep, (theirs,))
            .unwrap();
        assert_eq!(ours.recv_timeout::<String>(PATIENCE).unwrap(), "ready");
        let waiter = std::thread::spawn(move || ours.recv::<String>());
        p.kill().unwrap();
        match waiter.join().unwrap() {
            Err(Error::Disconnected { partial: false }) => {}
            other => panic!("{method}: {other:?}"),
        }
    }
}

#[test]
fn bad_bytes_are_typed_errors() {
    let cases: [(Vec<u8>, &str); 3] = [
        (vec![3, 0, 0, 0, 0xff, 0xff, 0xff], "codec"),
        (vec![0xff, 0xff, 0xff, 0xff], "too large"),
        (vec![100, 0, 0, 0, 1, 2], "partial"),
    ];
    for (bytes, what) in cases {
        let (ours, theirs) = Pipe::new().unwrap();
        let mut p = Process::builder()
            .start_method(StartMethod::Spawn)
            .start(write_raw, (theirs, bytes))
            .unwrap();
        p.join_timeout(PATIENCE).unwrap();
        let got = ours.recv::<String>();
        match (what, got) {
            ("codec", Err(Error::Codec(_))) => {}
            ("too large", Err(Error::FrameTooLarge { .. })) => {}
            ("partial", Err(Error::Disconnected { partial: true })) => {}
            (what, other) => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn byte_api_limits() {
    let (a, b) = Pipe::new().unwrap();
    assert!(matches!(a.send_bytes_range(b"abc", 2, 5), Err(Error::Usage(_))));
    a.send_bytes(&[7; 64]).unwrap();
    let mut small = [0u8; 8];
    assert!(matches!(
        b.recv_bytes_into(&mut small),
        Err(Error::FrameTooLarge { len: 64, max: 8 })
    ));
    a.send_bytes(&[1; 32]).unwrap();
    assert!(matches!(
        b.recv_bytes_max(16),
        Err(Error::FrameTooLarge { len: 32, max: 16 })
    ));
    let (rx, tx) = Pipe::one_way().unwrap();
    assert!(matches!(tx.recv::<u8>(), Err(Error::Usage(_))));
    assert!(matches!(rx.send(&1u8), Err(Error::Usage(_))));
    assert!(!rx.poll(Duration::ZERO).unwrap());
    tx.send(&5u8).unwrap();
    assert!(rx.poll(PATIENCE).unwrap());
    assert_eq!(rx.recv::<u8>().unwrap(), 5);
}

#[test]
fn a_connection_is_shared_between_threads() {
    let (a, b) = Pipe::new().unwrap();
    let a = std::sync::Arc::new(a);
    let senders: Vec<_> = (0..4u32)
        .map(|t| {
            let a = a.clone();
            std::thread::spawn(move || {
                for i in 0..250u32 {
                    a.send(&(t, i, vec![t as u8; 1000])).unwrap();
                }
            })
        })
        .collect();
    let mut seen = 0;
    for _ in 0..1000 {
        let (t, _i, v): (u32, u32, Vec<u8>) = b.recv_timeout(PATIENCE).unwrap();
        assert!(v.iter().all(|x| *x == t as u8)); // frames never interleave
        seen += 1;
    }
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(seen, 1000);
}
