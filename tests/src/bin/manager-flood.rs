//! Issue 17's lock-out at its full size, against a `BaseManager` server
//! limited to 1 024 descriptors: 10 000 idle connections and 1 100 that
//! drip a byte every 5 s, each reopened as soon as the server drops it,
//! while an honest client connects, writes and reads four times a second.
//!
//! ```sh
//! # not CI: about a minute
//! cargo run --release -p multiproc-tests --bin manager-flood -- [SECONDS]
//! ```
//!
//! The last line printed is `honest=N refused=R slowest=…`; the exit status
//! is 1 when an honest client was refused or waited a second or more.
//! (Before the gate, the server spent a thread and a descriptor on every
//! stranger: honest clients were refused for as long as the flood lasted.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use multiproc::manager::{BaseManager, DictProxy, Object};
use multiproc::prelude::*;

const KEY: &[u8] = b"manager-flood";
const IDLE: usize = 10_000;
const DRIPS: usize = 1_100;
const DRIP_EVERY: Duration = Duration::from_secs(5);

/// Serves a dict `d` on `port` with at most `limit` descriptors.
#[process_fn]
fn limited_server(port: u16, limit: u64) -> multiproc::Result<()> {
    set_nofile(limit).map_err(|e| Error::Usage(format!("setrlimit: {e}").into()))?;
    BaseManager::builder()
        .address(&format!("127.0.0.1:{port}"))
        .authkey(KEY)
        .register_shared("d", Object::dict())
        .serve()
}

fn set_nofile(limit: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: `lim` is a valid rlimit that outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Holds `count` connections to `addr` open, reopening each one the
/// server drops; with `drip`, writes a byte on each every [`DRIP_EVERY`].
/// Counts the reopenings in `reopened`; how many were open at the end.
fn flood(addr: SocketAddr, count: usize, drip: bool, stop: Arc<AtomicBool>, reopened: Arc<AtomicUsize>) -> usize {
    let open = || {
        TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok()
    };
    let mut conns: Vec<Option<TcpStream>> = (0..count).map(|_| open()).collect();
    let mut last_drip = Instant::now();
    let mut buf = [0u8; 64];
    while !stop.load(Ordering::Relaxed) {
        let drip_now = drip && last_drip.elapsed() >= DRIP_EVERY;
        for slot in &mut conns {
            let alive = match slot {
                Some(s) => {
                    let read_ok = match s.read(&mut buf) {
                        Ok(0) => false,
                        Ok(_) => true,
                        Err(e) => e.kind() == ErrorKind::WouldBlock,
                    };
                    read_ok && (!drip_now || s.write(&[0x5a]).is_ok())
                }
                None => false,
            };
            if !alive {
                *slot = open();
                reopened.fetch_add(1, Ordering::Relaxed);
            }
        }
        if drip_now {
            last_drip = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    conns.iter().flatten().count()
}

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    if let Err(e) = set_nofile((IDLE + DRIPS + 512) as u64) {
        eprintln!("cannot raise this process's descriptor limit for the flood: {e}");
        std::process::exit(2);
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let addr: SocketAddr = address.parse().unwrap();
    let mut server = Process::builder()
        .start_method(StartMethod::Spawn)
        .daemon(true)
        .start(limited_server, (port, 1024))
        .expect("starting the server");
    let up = Instant::now() + Duration::from_secs(30);
    while multiproc::fuzz::manager_over_tcp(&address, KEY).is_err() {
        assert!(Instant::now() < up, "the server never came up");
        std::thread::sleep(Duration::from_millis(20));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let reopened = Arc::new(AtomicUsize::new(0));
    let flooders: Vec<_> = [(IDLE, false), (DRIPS, true)]
        .into_iter()
        .map(|(count, drip)| {
            let (stop, reopened) = (stop.clone(), reopened.clone());
            std::thread::spawn(move || flood(addr, count, drip, stop, reopened))
        })
        .collect();
    println!("flood: {IDLE} idle and {DRIPS} slow-drip connections, reopened when dropped; server limit 1024 fds");

    let (mut honest, mut refused, mut slowest) = (0u32, 0u32, Duration::ZERO);
    let mut latencies = Vec::new();
    let ends = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < ends {
        let started = Instant::now();
        // Alternately through the local twin and over TCP.
        let client = if honest % 2 == 0 {
            BaseManager::connect(&address, KEY)
        } else {
            multiproc::fuzz::manager_over_tcp(&address, KEY)
        };
        let served = client.and_then(|c| {
            let d: DictProxy<u32, u32> = c.get("d")?;
            d.insert(&honest, &honest)?;
            d.get(&honest)
        });
        let took = started.elapsed();
        if took >= Duration::from_millis(100) {
            let way = if honest % 2 == 0 { "the local twin" } else { "TCP" };
            println!("honest client {honest} took {took:?} through {way}");
        }
        match served {
            Ok(Some(v)) if v == honest => {}
            other => {
                refused += 1;
                println!("honest client {honest} not served after {took:?}: {other:?}");
            }
        }
        honest += 1;
        slowest = slowest.max(took);
        latencies.push(took);
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    let open: usize = flooders.into_iter().map(|f| f.join().unwrap_or(0)).sum();
    latencies.sort();
    let median = latencies.get(latencies.len() / 2).copied().unwrap_or_default();
    let _ = std::io::stdout().flush();
    let _ = server.kill();
    let _ = server.join();
    println!(
        "honest={honest} refused={refused} median={median:?} slowest={slowest:?} flood_open={open} flood_reopened={}",
        reopened.load(Ordering::Relaxed)
    );
    if refused > 0 || slowest >= Duration::from_secs(1) {
        std::process::exit(1);
    }
}
