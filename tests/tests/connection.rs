//! `multiproc::connection`: `wait` on pipe ends and processes at once.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use multiproc::connection::{wait, Waitable};
use multiproc::pipe::{Connection, Pipe};
use multiproc::prelude::*;
use multiproc_tests::{METHODS, PATIENCE};

#[process_fn]
fn say_when_told(conn: Connection) {
    // Echoes one word, if the parent sends one before closing its end.
    if let Ok(word) = conn.recv::<String>() {
        conn.send(&word).unwrap();
        let _ = conn.recv::<String>();
    }
}

#[process_fn]
fn exit_when_told(conn: Connection) {
    let _ = conn.recv::<u8>();
}

#[test]
fn wait_returns_the_ready_connection_among_several() {
    let (ours, theirs): (Vec<_>, Vec<_>) = (0..3).map(|_| Pipe::new().unwrap()).unzip();
    let children: Vec<_> = theirs
        .into_iter()
        .map(|end| Process::builder().start(say_when_told, (end,)).unwrap())
        .collect();
    let objects: Vec<&dyn Waitable> = ours.iter().map(|c| c as &dyn Waitable).collect();
    assert!(wait(&objects, Some(Duration::ZERO)).unwrap().is_empty());
    ours[1].send("one").unwrap();
    assert_eq!(wait(&objects, Some(PATIENCE)).unwrap(), [1]);
    // Ready means a message is there: `recv` returns at once.
    assert_eq!(ours[1].recv_timeout::<String>(Duration::ZERO).unwrap(), "one");
    ours[2].send("two").unwrap();
    assert_eq!(wait(&objects, None).unwrap(), [2]);
    assert_eq!(ours[2].recv::<String>().unwrap(), "two");
    drop(objects);
    drop(ours);
    for mut p in children {
        p.join_timeout(PATIENCE).unwrap();
    }
}

#[test]
fn wait_returns_a_process_sentinel_when_the_child_exits() {
    for method in METHODS {
        let (ours, theirs) = Pipe::new().unwrap();
        let (_keep, other) = Pipe::new().unwrap();
        let mut p = Process::builder()
            .start_method(method)
            .start(exit_when_told, (theirs,))
            .unwrap();
        let objects: [&dyn Waitable; 2] = [&other, &p];
        assert!(
            wait(&objects, Some(Duration::from_millis(20))).unwrap().is_empty(),
            "{method}"
        );
        ours.send(&1u8).unwrap();
        assert_eq!(wait(&objects, Some(PATIENCE)).unwrap(), [1], "{method}");
        // Still ready after the join, and through the raw sentinel.
        p.join_timeout(PATIENCE).unwrap();
        let sentinel = p.sentinel();
        assert_eq!(wait(&[&other, &sentinel], Some(PATIENCE)).unwrap(), [1], "{method}");
    }
}

#[test]
fn a_closed_or_dead_peer_counts_as_ready() {
    let (a, b) = Pipe::new().unwrap();
    let (_c, d) = Pipe::new().unwrap();
    drop(a);
    assert_eq!(wait(&[&d, &b], Some(PATIENCE)).unwrap(), [1]);
    assert!(matches!(b.recv::<u8>(), Err(Error::Disconnected { .. })));

    // A peer whose process is killed: the waiter wakes.
    let (ours, theirs) = Pipe::new().unwrap();
    let mut p = Process::builder().start(exit_when_told, (theirs,)).unwrap();
    assert!(wait(&[&ours], Some(Duration::from_millis(20))).unwrap().is_empty());
    p.kill().unwrap();
    assert_eq!(wait(&[&ours], Some(PATIENCE)).unwrap(), [0]);
    assert!(p.join_timeout(PATIENCE).is_err());

    // A send-only end wakes when its receiver is gone.
    let (rx, tx) = Pipe::one_way().unwrap();
    drop(rx);
    assert_eq!(wait(&[&tx], Some(PATIENCE)).unwrap(), [0]);
}

#[test]
fn timeout_returns_empty() {
    let (_a, b) = Pipe::new().unwrap();
    let (_c, d) = Pipe::new().unwrap();
    let started = Instant::now();
    assert!(wait(&[&b, &d], Some(Duration::from_millis(50))).unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(50));
    // No objects: a timeout is required, and is kept.
    assert!(wait(&[], Some(Duration::from_millis(1))).unwrap().is_empty());
    assert!(matches!(wait(&[], None), Err(Error::Usage(_))));
}

#[test]
fn half_a_message_is_not_ready() {
    let (a, b) = Pipe::new().unwrap();
    // A frame of 6 bytes, of which 3 arrive first (written past the
    // framing, on the sending end's descriptor).
    let write = |bytes: &[u8]| {
        // SAFETY: `a` owns the descriptor and outlives the call; the buffer
        // is valid for its length.
        let n = unsafe { libc::write(a.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        assert_eq!(n, bytes.len() as isize);
    };
    write(&[6, 0, 0, 0, b'a', b'b', b'c']);
    assert!(wait(&[&b], Some(Duration::from_millis(30))).unwrap().is_empty());
    write(b"def");
    assert_eq!(wait(&[&b], Some(PATIENCE)).unwrap(), [0]);
    assert_eq!(b.recv_bytes().unwrap(), b"abcdef");
    // Two messages in one read: the second is found in the buffer.
    a.send_bytes(b"x").unwrap();
    a.send_bytes(b"y").unwrap();
    assert_eq!(wait(&[&b], Some(PATIENCE)).unwrap(), [0]);
    assert_eq!(b.recv_bytes().unwrap(), b"x");
    assert_eq!(wait(&[&b], Some(Duration::ZERO)).unwrap(), [0]);
    assert_eq!(b.recv_bytes().unwrap(), b"y");
}

#[test]
fn every_ready_one_is_returned_buffered_or_not() {
    let (a, b) = Pipe::new().unwrap();
    let (c, d) = Pipe::new().unwrap();
    a.send(&1u8).unwrap();
    a.send(&2u8).unwrap();
    assert_eq!(wait(&[&b, &d], Some(PATIENCE)).unwrap(), [0]);
    assert_eq!(b.recv::<u8>().unwrap(), 1);
    // The second message may wait in `b`'s buffer, out of the kernel's
    // sight; `d`'s peer closes.
    drop(c);
    assert_eq!(wait(&[&b, &d], Some(PATIENCE)).unwrap(), [0, 1]);
    assert_eq!(b.recv::<u8>().unwrap(), 2);
    assert_eq!(wait(&[&b, &d], Some(PATIENCE)).unwrap(), [1]);
}
