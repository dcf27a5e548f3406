//! Managers under attack from the same machine: a stranger who takes the
//! name or path an honest client would try first, plays relay or impostor,
//! and must get nothing; strangers who knock on a manager's local sockets.
//!
//! The tests that need another user (uid 65534) fork a child that drops to
//! it, so they run only as root (as CI does) and pass trivially otherwise.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use multiproc::manager::{Address, BaseManager, DictProxy, Manager, Object};
use multiproc::prelude::*;
use multiproc_tests::{eventually, PATIENCE};

/// The uid and gid a stranger runs as.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Where a root server listening at `address` puts its local twin.
fn root_twin_path(address: &Address) -> std::path::PathBuf {
    let Address::Tcp(tcp) = address else {
        unreachable!("a BaseManager listens on TCP")
    };
    std::path::PathBuf::from(format!("/run/multiproc/basemanager-{}.sock", tcp.port()))
}

/// Runs `f` in a forked child that has dropped to uid and gid [`NOBODY`];
/// `f`'s value is the child's exit code. Returns the child's pid.
fn fork_as_stranger(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only makes system calls and runs `f`, which uses
    // no lock another thread of the parent could hold (std's I/O on its
    // own descriptors), then leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain system calls on our own credentials.
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setresgid(NOBODY, NOBODY, NOBODY) == 0
                && libc::setresuid(NOBODY, NOBODY, NOBODY) == 0
        };
        let code = if dropped { f() } else { 100 };
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// The exit code of child `pid`, waiting at most [`PATIENCE`] (then it is
/// killed and the test fails).
fn exit_code(pid: i32) -> i32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if got == pid {
            assert!(libc::WIFEXITED(status), "the stranger died: status {status:#x}");
            return libc::WEXITSTATUS(status);
        }
        if Instant::now() > deadline {
            multiproc_tests::send_signal(pid, libc::SIGKILL);
            panic!("the stranger did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A free TCP port on loopback (bound and let go: someone may take it
/// before us, so callers retry).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Copies one direction of a relay, adding what it saw to `seen`.
fn pump(mut from: impl Read, mut to: impl Write, seen: Arc<AtomicUsize>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
        seen.fetch_add(n, Ordering::SeqCst);
    }
}

/// The attack of issue 17: a relay bound to the abstract name that clients
/// used to try first (`@multiproc-basemanager-PORT`) before the server
/// started, passing everything on to the real server over TCP. The honest
/// client must reach the real server, not the relay: the relay gets no
/// connection, the secret stays the honest client's, and the server keeps
/// serving. (Before the fix the client took the relay's socket.)
#[test]
fn a_relay_on_the_old_abstract_twin_gets_no_connection() {
    let (port, relay) = loop {
        let port = free_port();
        let name = format!("multiproc-basemanager-{port}");
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        if let Ok(l) = UnixListener::bind_addr(&addr) {
            break (port, l);
        }
    };
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    {
        let (accepted, seen) = (accepted.clone(), seen.clone());
        std::thread::spawn(move || {
            for client in relay.incoming() {
                let Ok(client) = client else { break };
                accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (a, b) = (seen.clone(), seen.clone());
                std::thread::spawn(move || pump(client, server, a));
                std::thread::spawn(move || pump(s2, c2, b));
            }
        });
    }
    let server = BaseManager::builder()
        .address(&format!("127.0.0.1:{port}"))
        .authkey(b"the real key")
        .register_shared("secrets", Object::dict())
        .start()
        .unwrap();
    let address = server.address().to_string();
    let client = BaseManager::connect(&address, b"the real key").unwrap();
    let secrets: DictProxy<String, String> = client.get("secrets").unwrap();
    secrets.insert(&"launch code".into(), &"0000".into()).unwrap();
    for _ in 0..10 {
        assert_eq!(secrets.get(&"launch code".into()).unwrap().as_deref(), Some("0000"));
    }
    // Proxies decoded elsewhere (another client of the same address) take
    // the same route.
    let again = BaseManager::connect(&address, b"the real key").unwrap();
    let same: DictProxy<String, String> = again.get("secrets").unwrap();
    assert_eq!(same.len().unwrap(), 1);
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "the client talked to the relay");
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    server.shutdown();
}

/// An impostor at the very path of the server's local twin, whose socket
/// belongs to another user (it listened as uid 65534): the client must
/// refuse it with an error — not fall back to TCP, and not send it a byte.
#[test]
fn an_impostor_on_the_twin_path_is_refused_not_fallen_back_from() {
    if !is_root() {
        eprintln!("skipped: needs root to play another user");
        return;
    }
    let server = BaseManager::builder()
        .authkey(b"k")
        .register_shared("d", Object::dict())
        .start()
        .unwrap();
    let address = server.address().to_string();
    let path = root_twin_path(server.address());
    assert!(path.exists(), "the server made no twin at {}", path.display());
    // Through the real twin first.
    let honest = BaseManager::connect(&address, b"k").unwrap();
    let d: DictProxy<u8, u8> = honest.get("d").unwrap();
    d.insert(&1, &1).unwrap();

    // The impostor takes the path (as root could), then listens as a
    // stranger: the kernel records the stranger as the socket's owner.
    std::fs::remove_file(&path).unwrap();
    let impostor = UnixListener::bind(&path).unwrap();
    let fd = impostor.as_raw_fd();
    let (mut ready, mut listening) = UnixStream::pair().unwrap();
    let pid = fork_as_stranger(move || {
        // SAFETY: `fd` is the inherited listening socket.
        if unsafe { libc::listen(fd, 16) } != 0 || listening.write_all(&[1]).is_err() {
            return 101;
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, PATIENCE.as_millis() as i32) } != 1 {
            return 102;
        }
        let Ok((mut victim, _)) = impostor.accept() else {
            return 103;
        };
        let mut got = Vec::new();
        let _ = victim.set_read_timeout(Some(PATIENCE));
        let _ = victim.read_to_end(&mut got);
        i32::from(!got.is_empty())
    });
    // (The closure, and with it our copy of the listener, is gone: only
    // the stranger listens, once it says so.)
    ready.set_read_timeout(Some(PATIENCE)).unwrap();
    ready.read_exact(&mut [0u8; 1]).unwrap();
    let result = BaseManager::connect(&address, b"k");
    let refused = matches!(&result, Err(Error::AuthenticationFailed(m)) if m.contains("uid 65534"));
    if !refused {
        multiproc_tests::send_signal(pid, libc::SIGKILL);
        panic!("the client did not refuse the impostor: {result:?}");
    }
    drop(result);
    assert_eq!(exit_code(pid), 0, "the client sent bytes to the impostor");
    // The real server is untouched, and still serves over TCP.
    assert_eq!(d.get(&1).unwrap(), Some(1));
    let _ = std::fs::remove_file(&path);
    server.shutdown();
}

/// Strangers on the same machine cannot reach a manager's local sockets:
/// the twin's directory shuts them out, and a `Manager`'s abstract socket
/// (which anyone can connect to) closes on them before the handshake.
#[test]
fn strangers_cannot_open_the_local_sockets() {
    if !is_root() {
        eprintln!("skipped: needs root to play another user");
        return;
    }
    let server = BaseManager::builder().authkey(b"k").start().unwrap();
    let path = root_twin_path(server.address());
    let pid = fork_as_stranger(move || match UnixStream::connect(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => 0,
        Err(_) => 1,
        Ok(_) => 2,
    });
    assert_eq!(exit_code(pid), 0, "a stranger reached the twin");

    let manager = Manager::start().unwrap();
    let Address::Unix(name) = manager.address().clone() else {
        unreachable!("a Manager listens on an abstract socket")
    };
    let pid = fork_as_stranger(move || {
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let Ok(mut s) = UnixStream::connect_addr(&addr) else {
            return 0;
        };
        let _ = s.set_read_timeout(Some(PATIENCE));
        let mut byte = [0u8; 1];
        match s.read(&mut byte) {
            Ok(0) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        }
    });
    assert_eq!(exit_code(pid), 0, "the manager sent a stranger a challenge");
    let list = manager.list::<u8>().unwrap();
    list.push(&1).unwrap();
    server.shutdown();
}

const FLOOD_KEY: &[u8] = b"flood key";

/// Serves a dict `d` on `port` with at most `limit` descriptors.
#[process_fn]
fn limited_server(port: u16, limit: u64) -> multiproc::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: `lim` is a valid rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    BaseManager::builder()
        .address(&format!("127.0.0.1:{port}"))
        .authkey(FLOOD_KEY)
        .register_shared("d", Object::dict())
        .serve()
}

/// Issue 17's lock-out, bounded: a server limited to 128 descriptors,
/// 300 idle connections, 100 that drip a byte every 100 ms, and a stream
/// of new idle ones; honest clients (through the local twin and through
/// TCP) are each served within a few seconds (well under a second on an
/// idle machine). Then honest clients that hold connections until the
/// descriptors run out get `ManagerBusy` — not a hang, not an
/// authentication error — and once they let go the server serves again.
/// (Before the fix, the server spent a thread and a descriptor on each
/// stranger and spun on `accept` once they ran out.)
#[test]
fn floods_of_idle_and_slow_drip_connections_do_not_lock_honest_clients_out() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Process::builder()
        .start_method(StartMethod::Spawn)
        .daemon(true) // gone with this process, should a check fail
        .start(limited_server, (port, 128))
        .unwrap();
    assert!(
        eventually(|| multiproc::fuzz::manager_over_tcp(&address, FLOOD_KEY).is_ok()),
        "the server never came up"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let idle: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(&address).unwrap()).collect();
    let drips: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(&address).unwrap()).collect();
    let dripping = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut drips = drips;
            while !stop.load(Ordering::Relaxed) {
                for d in &mut drips {
                    let _ = d.write(&[0x5a]);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let churning = {
        let (stop, address) = (stop.clone(), address.clone());
        std::thread::spawn(move || {
            let mut ring = std::collections::VecDeque::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(s) = TcpStream::connect(&address) {
                    ring.push_back(s);
                }
                if ring.len() > 200 {
                    ring.pop_front();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let mut slowest = Duration::ZERO;
    for i in 0..20u32 {
        let started = Instant::now();
        let client = if i % 2 == 0 {
            BaseManager::connect(&address, FLOOD_KEY)
        } else {
            multiproc::fuzz::manager_over_tcp(&address, FLOOD_KEY)
        }
        .unwrap_or_else(|e| panic!("honest client {i} was refused: {e}"));
        let d: DictProxy<u32, u32> = client.get("d").unwrap();
        d.insert(&i, &i).unwrap();
        assert_eq!(d.get(&i).unwrap(), Some(i));
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("slowest honest client under the flood: {slowest:?}");
    assert!(slowest < Duration::from_secs(5), "an honest client waited {slowest:?}");

    // Honest clients that each hold a connection, until the descriptors
    // run out: then a clear "busy".
    let mut held = Vec::new();
    let busy = loop {
        match multiproc::fuzz::manager_over_tcp(&address, FLOOD_KEY) {
            Ok(c) => held.push(c),
            Err(e) => break e,
        }
        assert!(held.len() < 200, "the server never ran out of descriptors");
    };
    assert!(matches!(busy, Error::ManagerBusy(_)), "not a busy error: {busy:?}");
    drop(held);
    let deadline = Instant::now() + PATIENCE;
    let after = loop {
        match multiproc::fuzz::manager_over_tcp(&address, FLOOD_KEY) {
            Ok(c) => break c,
            // Its connections' threads may still be closing.
            Err(Error::ManagerBusy(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("after the busy spell: {e}"),
        }
    };
    let d: DictProxy<u32, u32> = after.get("d").unwrap();
    assert_eq!(d.len().unwrap(), 20);

    stop.store(true, Ordering::Relaxed);
    dripping.join().unwrap();
    churning.join().unwrap();
    drop(idle);
    after.shutdown().unwrap();
    server.join_timeout(PATIENCE).unwrap().unwrap();
}

/// A client that trickles its answer in, a byte every 300 ms, is cut off
/// at the server's one total handshake deadline (5 s) — not kept alive by
/// each byte as when the deadline was per read (about 20 s for 64 bytes),
/// and never answered.
#[test]
fn a_trickled_answer_is_cut_off_at_the_total_deadline() {
    let server = BaseManager::builder().authkey(b"k").start().unwrap();
    let mut s = TcpStream::connect(server.address().to_string()).unwrap();
    let started = Instant::now();
    let mut greeting = [0u8; 33];
    s.read_exact(&mut greeting).unwrap();
    s.set_nonblocking(true).unwrap();
    let mut sent = 0;
    let closed = loop {
        let mut byte = [0u8; 1];
        match s.read(&mut byte) {
            Ok(0) => break true,
            Ok(_) => panic!("the server answered a trickle: {}", byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break true,
        }
        if sent < 64 && s.write(&[0x5a]).is_ok() {
            sent += 1;
        }
        if started.elapsed() > PATIENCE {
            break false;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let took = started.elapsed();
    assert!(closed);
    eprintln!("cut off after {took:?} and {sent} bytes");
    assert!(sent < 64, "the whole answer got through");
    assert!(took < Duration::from_secs(12), "cut off only after {took:?}");
    server.shutdown();
}

/// The three ways a handshake can fail are three errors: a server that
/// greets and then says nothing is a timeout (after the client's 10 s),
/// a wrong key is an authentication failure, a `BUSY` byte is busy.
#[test]
fn handshake_failures_are_told_apart() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let (silent_addr, busy_addr) = (silent.local_addr().unwrap(), busy.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut s in silent.incoming().flatten() {
            let _ = s.write_all(b"M");
            held.push(s);
        }
    });
    std::thread::spawn(move || {
        for mut s in busy.incoming().flatten() {
            let _ = s.write_all(&[2]);
        }
    });
    let started = Instant::now();
    let got = multiproc::fuzz::manager_over_tcp(&silent_addr.to_string(), b"k");
    assert!(matches!(got, Err(Error::HandshakeTimeout(_))), "{got:?}");
    assert!(started.elapsed() < PATIENCE);
    let got = multiproc::fuzz::manager_over_tcp(&busy_addr.to_string(), b"k");
    assert!(matches!(got, Err(Error::ManagerBusy(_))), "{got:?}");
    let server = BaseManager::builder().authkey(b"right").start().unwrap();
    let got = BaseManager::connect(&server.address().to_string(), b"wrong");
    assert!(matches!(got, Err(Error::AuthenticationFailed(_))), "{got:?}");
    server.shutdown();
}

/// `connect_timeout` gives up at the caller's deadline on a server that
/// takes the connection and then says nothing, reporting that deadline;
/// an honest server is reached; a zero timeout is refused.
#[test]
fn connect_timeout_bounds_connect_and_handshake() {
    // Bound but never accepting: the kernel completes the TCP connect, and
    // the greeting never comes.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap().to_string();
    let limit = Duration::from_millis(300);
    let started = Instant::now();
    let got = BaseManager::connect_timeout(&address, b"k", limit);
    let took = started.elapsed();
    assert!(matches!(got, Err(Error::HandshakeTimeout(d)) if d == limit), "{got:?}");
    assert!(took >= limit && took < PATIENCE, "gave up after {took:?}");
    drop(silent);

    let server = BaseManager::builder()
        .authkey(b"k")
        .register_shared("d", Object::dict())
        .start()
        .unwrap();
    let address = server.address().to_string();
    let client = BaseManager::connect_timeout(&address, b"k", PATIENCE).unwrap();
    let d: DictProxy<u8, u8> = client.get("d").unwrap();
    d.insert(&1, &2).unwrap();
    assert_eq!(d.get(&1).unwrap(), Some(2));
    let got = BaseManager::connect_timeout(&address, b"k", Duration::ZERO);
    assert!(matches!(got, Err(Error::Usage(_))), "{got:?}");
    let got = BaseManager::connect_timeout(&address, b"wrong", PATIENCE);
    assert!(matches!(got, Err(Error::AuthenticationFailed(_))), "{got:?}");
    server.shutdown();
}

/// A local twin whose backlog is full (its server accepts nothing) makes a
/// Unix `connect` wait: `connect_timeout` bounds that wait too.
#[test]
fn connect_timeout_bounds_a_local_connect_that_would_wait() {
    if !is_root() {
        eprintln!("skipped: needs the twin directory of root");
        return;
    }
    let server = BaseManager::builder().authkey(b"k").start().unwrap();
    let address = server.address().to_string();
    let path = root_twin_path(server.address());
    assert!(path.exists(), "the server made no twin at {}", path.display());
    // A stuck twin in its place: a backlog of none, taken by one connect.
    std::fs::remove_file(&path).unwrap();
    let stuck = UnixListener::bind(&path).unwrap();
    // SAFETY: re-listening on our own listening socket sets its backlog.
    assert_eq!(unsafe { libc::listen(stuck.as_raw_fd(), 0) }, 0);
    let _queued = UnixStream::connect(&path).unwrap();
    let limit = Duration::from_millis(300);
    let started = Instant::now();
    let got = BaseManager::connect_timeout(&address, b"k", limit);
    let took = started.elapsed();
    assert!(matches!(got, Err(Error::HandshakeTimeout(d)) if d == limit), "{got:?}");
    assert!(took >= limit && took < PATIENCE, "gave up after {took:?}");
    let _ = std::fs::remove_file(&path);
    server.shutdown();
}

/// What a relay between an honest client and the server does once the
/// handshake (which it passes through untouched) is over.
#[derive(Debug, Clone, Copy)]
enum Mischief {
    /// Slips a `Shutdown` request in after the client's first frame.
    Inject,
    /// Flips the last byte of every reply after the first.
    Flip,
    /// Only listens.
    Watch,
}

/// One frame, its length prefix included.
fn read_frame(from: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut frame = vec![0u8; 4];
    from.read_exact(&mut frame)?;
    let len = u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize;
    frame.resize(4 + len, 0);
    from.read_exact(&mut frame[4..])?;
    Ok(frame)
}

/// A relay on loopback in front of `target`, up to no good; its address.
fn start_relay(target: std::net::SocketAddr, mischief: Mischief) -> std::net::SocketAddr {
    start_relay_recording(target, mischief, Arc::default())
}

/// [`start_relay`], keeping every byte that passes after the handshake in
/// `heard`.
fn start_relay_recording(
    target: std::net::SocketAddr,
    mischief: Mischief,
    heard: Arc<std::sync::Mutex<Vec<u8>>>,
) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let (mut from_client, mut to_client) = (client.try_clone().unwrap(), client);
            let (mut from_server, mut to_server) = (server.try_clone().unwrap(), server);
            let (authed, is_authed) = std::sync::mpsc::channel();
            let (heard_s2c, heard_c2s) = (heard.clone(), heard.clone());
            std::thread::spawn(move || {
                // The greeting and the verdict, untouched.
                for _ in 0..2 {
                    let mut part = [0u8; 33];
                    if from_server.read_exact(&mut part).is_err() || to_client.write_all(&part).is_err() {
                        return;
                    }
                }
                let _ = authed.send(());
                let mut replies = 0;
                while let Ok(mut frame) = read_frame(&mut from_server) {
                    replies += 1;
                    if matches!(mischief, Mischief::Flip) && replies > 1 {
                        let last = frame.len() - 1;
                        frame[last] ^= 1;
                    }
                    heard_s2c.lock().unwrap().extend_from_slice(&frame);
                    if to_client.write_all(&frame).is_err() {
                        break;
                    }
                }
                // The server hung up (the other thread holds a copy).
                let _ = to_client.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let mut answer = [0u8; 64];
                if from_client.read_exact(&mut answer).is_err() || to_server.write_all(&answer).is_err() {
                    return;
                }
                if is_authed.recv().is_err() {
                    return;
                }
                let Ok(hello) = read_frame(&mut from_client) else {
                    return;
                };
                let _ = to_server.write_all(&hello);
                if matches!(mischief, Mischief::Watch) {
                    while let Ok(frame) = read_frame(&mut from_client) {
                        heard_c2s.lock().unwrap().extend_from_slice(&frame);
                        if to_server.write_all(&frame).is_err() {
                            break;
                        }
                    }
                }
                if matches!(mischief, Mischief::Inject) {
                    // `Request::Shutdown` (variant 4 as a little-endian
                    // u32, as the codec writes it), untagged.
                    let _ = to_server.write_all(&[4, 0, 0, 0, 4, 0, 0, 0]);
                }
                let _ = std::io::copy(&mut from_client, &mut to_server);
                let _ = to_server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    address
}

/// A relay that passed an honest client's handshake through (it does not
/// know the key) cannot use the session: a request it slips in is not
/// served (the server does not shut down), and a reply it changes is an
/// error for the client, never a wrong value. (Before frames were tagged,
/// the injected `Shutdown` stopped the server and the flipped byte came
/// out as a wrong secret.)
#[test]
fn a_relay_without_the_key_can_neither_inject_nor_tamper() {
    let server = BaseManager::builder()
        .authkey(b"k")
        .register_shared("secrets", Object::dict())
        .start()
        .unwrap();
    let Address::Tcp(target) = server.address().clone() else {
        unreachable!()
    };
    let direct = multiproc::fuzz::manager_over_tcp(&target.to_string(), b"k").unwrap();
    let secrets: DictProxy<String, String> = direct.get("secrets").unwrap();
    secrets.insert(&"code".into(), &"1234".into()).unwrap();

    let injecting = start_relay(target, Mischief::Inject);
    let victim = multiproc::fuzz::manager_over_tcp(&injecting.to_string(), b"k").unwrap();
    let got = victim.get::<DictProxy<String, String>>("secrets");
    assert!(got.is_err(), "the victim's session survived an injected frame");
    // The server still takes new connections, and the secret is intact.
    let fresh = multiproc::fuzz::manager_over_tcp(&target.to_string(), b"k").expect("the relay shut the server down");
    let again: DictProxy<String, String> = fresh.get("secrets").unwrap();
    assert_eq!(again.get(&"code".into()).unwrap().as_deref(), Some("1234"));

    let flipping = start_relay(target, Mischief::Flip);
    let victim = multiproc::fuzz::manager_over_tcp(&flipping.to_string(), b"k").unwrap();
    let through: DictProxy<String, String> = victim.get("secrets").unwrap();
    match through.get(&"code".into()) {
        Err(Error::AuthenticationFailed(_)) => {}
        other => panic!("a changed reply came out as {other:?}"),
    }
    assert_eq!(again.get(&"code".into()).unwrap().as_deref(), Some("1234"));
    server.shutdown();
}

/// Over TCP frames are encrypted too: a relay that only listens hears
/// neither a secret written nor one read back. (Before, both were there
/// in clear.)
#[test]
fn a_listening_relay_hears_no_secret_over_tcp() {
    let server = BaseManager::builder()
        .authkey(b"k")
        .register_shared("secrets", Object::dict())
        .start()
        .unwrap();
    let Address::Tcp(target) = server.address().clone() else {
        unreachable!()
    };
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let relay = start_relay_recording(target, Mischief::Watch, heard.clone());
    let client = multiproc::fuzz::manager_over_tcp(&relay.to_string(), b"k").unwrap();
    let secrets: DictProxy<String, String> = client.get("secrets").unwrap();
    secrets.insert(&"name".into(), &"correct horse battery".into()).unwrap();
    assert_eq!(
        secrets.get(&"name".into()).unwrap().as_deref(),
        Some("correct horse battery")
    );
    let heard = heard.lock().unwrap();
    assert!(heard.len() > 100, "the relay heard only {} bytes", heard.len());
    let secret = b"correct horse battery";
    assert!(
        !heard.windows(secret.len()).any(|w| w == secret),
        "the relay heard the secret"
    );
    server.shutdown();
}
