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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use multiproc::manager::{Address, BaseManager, DictProxy, Manager, Object};
use multiproc::Error;
use multiproc_tests::PATIENCE;

/// The uid and gid a stranger runs as.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
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
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if got == pid {
            assert!(libc::WIFEXITED(status), "the stranger died: status {status:#x}");
            return libc::WEXITSTATUS(status);
        }
        if std::time::Instant::now() > deadline {
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
    let Address::Tcp(tcp) = server.address() else {
        unreachable!()
    };
    let path = std::path::PathBuf::from(format!("/run/multiproc/basemanager-{}.sock", tcp.port()));
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
    let Address::Tcp(tcp) = server.address() else {
        unreachable!()
    };
    let path = format!("/run/multiproc/basemanager-{}.sock", tcp.port());
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
