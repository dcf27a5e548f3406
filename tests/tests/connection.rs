//! `multiproc::connection`: `wait` on pipe ends and processes at once;
//! `Listener` and `Client` between unrelated processes, with an authkey.

use std::io::Read;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use multiproc::connection::{wait, Address, Client, Listener, Waitable};
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

/// A fresh directory for Unix socket paths.
fn socket_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("multiproc-conn-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A child that connects to `address` with `key` and doubles what it gets
/// until the listener's side closes; returns how many it doubled.
#[process_fn]
fn doubler(address: String, key: Vec<u8>) -> multiproc::Result<u64> {
    let conn = Client::connect_timeout(&address.parse()?, &key, PATIENCE)?;
    let mut n = 0;
    loop {
        match conn.recv::<u64>() {
            Ok(x) => conn.send(&(x * 2))?,
            Err(Error::Disconnected { .. }) => return Ok(n),
            Err(e) => return Err(e),
        }
        let big = conn.recv_bytes()?;
        conn.send_bytes(&big)?;
        n += 1;
    }
}

#[test]
fn listener_and_client_round_trip_with_a_child_process() {
    let dir = socket_dir("round-trip");
    let addresses: [Address; 3] = [
        "127.0.0.1:0".parse().unwrap(),
        Address::Unix(dir.join("listener.sock")),
        Address::Abstract(format!("multiproc-test-{}", std::process::id())),
    ];
    for address in addresses {
        let listener = Listener::bind(&address, b"shared secret").unwrap();
        let at = listener.address().to_string();
        let mut child = Process::builder()
            .start(doubler, (at.clone(), b"shared secret".to_vec()))
            .unwrap();
        let conn = listener.accept_timeout(PATIENCE).unwrap();
        // Up to 1 MiB (the crypto is slow in a debug build).
        let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        for x in 0..20u64 {
            conn.send(&x).unwrap();
            // The accepted end is a `Connection`: `wait` takes it too.
            assert_eq!(wait(&[&conn], Some(PATIENCE)).unwrap(), [0], "{at}");
            assert_eq!(conn.recv::<u64>().unwrap(), x * 2, "{at}");
            let len = if x == 19 { big.len() } else { x as usize * 100 };
            conn.send_bytes(&big[..len]).unwrap();
            assert_eq!(conn.recv_bytes().unwrap(), &big[..len], "{at}");
        }
        assert!(matches!(
            conn.recv_timeout::<u64>(Duration::from_millis(5)),
            Err(Error::Timeout(_))
        ));
        assert!(!conn.poll(Duration::ZERO).unwrap());
        drop(conn);
        assert_eq!(child.join_timeout(PATIENCE).unwrap().unwrap(), 20, "{at}");
    }
    // The path listener took its file with it.
    assert!(!dir.join("listener.sock").exists());
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn a_wrong_authkey_fails_both_sides_with_typed_errors() {
    let dir = socket_dir("wrong-key");
    for address in ["127.0.0.1:0".parse().unwrap(), Address::Unix(dir.join("s"))] {
        let listener = Listener::bind(&address, b"right").unwrap();
        let at = listener.address().clone();
        let client = std::thread::spawn(move || Client::connect_timeout(&at, b"wrong", PATIENCE));
        let server = listener.accept_timeout(PATIENCE);
        assert!(matches!(server, Err(Error::AuthenticationFailed(_))), "{server:?}");
        let client = client.join().unwrap();
        assert!(matches!(client, Err(Error::AuthenticationFailed(_))), "{client:?}");
        // The listener goes on: the next client with the key is served.
        let at = listener.address().clone();
        let client = std::thread::spawn(move || Client::connect_timeout(&at, b"right", PATIENCE));
        let conn = listener.accept_timeout(PATIENCE).unwrap();
        conn.send("ok").unwrap();
        assert_eq!(client.join().unwrap().unwrap().recv::<String>().unwrap(), "ok");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_silent_client_does_not_block_an_honest_one() {
    let listener = Listener::bind(&"127.0.0.1:0".parse().unwrap(), b"key").unwrap();
    let Address::Tcp(at) = listener.address().clone() else {
        unreachable!()
    };
    // Connect and say nothing; one sends half its answer.
    let mut silent: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(at).unwrap()).collect();
    std::io::Write::write_all(&mut silent[2], &[0; 10]).unwrap();
    let address = listener.address().clone();
    let honest = std::thread::spawn(move || Client::connect_timeout(&address, b"key", PATIENCE));
    let conn = listener.accept_timeout(PATIENCE).unwrap();
    let theirs = honest.join().unwrap().unwrap();
    theirs.send(&7u8).unwrap();
    assert_eq!(conn.recv::<u8>().unwrap(), 7);
    // The silent ones were greeted and are still waiting (their 5 s
    // handshake deadline has not passed): the honest one went first.
    for s in &mut silent {
        let mut greeting = [0u8; 33];
        s.read_exact(&mut greeting).unwrap();
        assert_eq!(greeting[0], b'M');
        s.set_nonblocking(true).unwrap();
        let still_open = matches!(s.read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        assert!(still_open);
        s.set_nonblocking(false).unwrap();
    }
    // While `accept` runs, their handshake times out and they are closed;
    // then an honest client ends the wait.
    let address = listener.address().clone();
    let waiter = std::thread::spawn(move || listener.accept_timeout(PATIENCE));
    for s in &mut silent {
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        assert_eq!(s.read(&mut [0u8; 1]).unwrap(), 0, "closed");
    }
    let _late = Client::connect_timeout(&address, b"key", PATIENCE).unwrap();
    waiter.join().unwrap().unwrap();
}

#[test]
fn an_authenticated_connection_stays_in_its_process() {
    let listener = Listener::bind(&"127.0.0.1:0".parse().unwrap(), b"key").unwrap();
    let address = listener.address().clone();
    let client = std::thread::spawn(move || Client::connect_timeout(&address, b"key", PATIENCE));
    let conn = listener.accept_timeout(PATIENCE).unwrap();
    let _theirs = client.join().unwrap().unwrap();
    let sent = Process::builder().start(exit_when_told, (conn,));
    assert!(matches!(sent, Err(Error::Codec(_))), "{sent:?}");
    // An empty key is refused before any socket is made.
    let empty = Listener::bind(&"127.0.0.1:0".parse().unwrap(), b"");
    assert!(matches!(empty, Err(Error::Usage(_))));
}
