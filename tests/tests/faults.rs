//! Fault injection: the other side is killed with SIGKILL at a random
//! (seeded) point, many times over, and the caller must get an error that
//! names what happened within a bounded time, every item not held by the
//! killed process must be delivered exactly once, and the object must stay
//! usable.
//!
//! The seed is printed, and can be set with `MULTIPROC_FAULT_SEED=<n>`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use multiproc::executor::ProcessPoolExecutor;
use multiproc::manager::Manager;
use multiproc::pipe::{Connection, Pipe};
use multiproc::prelude::*;
use multiproc_tests::{send_signal, PATIENCE};

/// A small seeded generator (xorshift64*), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Rng {
        let seed = std::env::var("MULTIPROC_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
            | 1;
        eprintln!("{test}: MULTIPROC_FAULT_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A task long enough for a kill to land in the middle of the work.
#[process_fn]
fn slow_square(x: u64) -> u64 {
    let t = Instant::now();
    while t.elapsed() < Duration::from_micros(300) {
        std::hint::spin_loop();
    }
    x * x
}

/// Whether `e` says that a worker was killed (or lost the result).
fn names_the_kill(e: &Error) -> bool {
    match e {
        Error::ItemFailed { source, .. } => names_the_kill(source),
        Error::Signaled { name, .. } => *name == "SIGKILL",
        Error::ResultLost { cause, .. } => cause.contains("SIGKILL"),
        _ => false,
    }
}

/// Kills a random worker of `pids()` `kills` times, at random moments,
/// until `stop`.
fn killer(
    mut rng: Rng,
    kills: usize,
    pids: impl Fn() -> Vec<i32> + Send + 'static,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut done = 0;
        while done < kills && !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_micros(500 + rng.below(3000)));
            let pids = pids();
            if pids.is_empty() {
                continue;
            }
            send_signal(pids[rng.below(pids.len() as u64) as usize], libc::SIGKILL);
            done += 1;
        }
        done
    })
}

#[test]
fn pool_imap_and_apply_async_survive_random_kills() {
    let mut rng = Rng::seeded("pool");
    for method in [StartMethod::Fork, StartMethod::ForkServer] {
        let pool = Arc::new(Pool::builder().processes(2).start_method(method).build().unwrap());
        for round in 0..8 {
            let n = 400u64;
            let stop = Arc::new(AtomicBool::new(false));
            let p = Arc::clone(&pool);
            let kill = killer(Rng(rng.next() | 1), 3, move || p.worker_pids(), stop.clone());
            let started = Instant::now();
            let results: Vec<multiproc::Result<u64>> = pool.imap(slow_square, 0..n).collect();
            stop.store(true, Ordering::Release);
            let kills = kill.join().unwrap();
            assert!(started.elapsed() < PATIENCE, "{method:?} round {round}: too slow");
            // Every item exactly once, in place: its value, or the kill.
            assert_eq!(results.len() as u64, n);
            let mut failed = 0;
            for (i, r) in results.iter().enumerate() {
                match r {
                    Ok(v) => assert_eq!(*v, (i * i) as u64),
                    Err(e) => {
                        assert!(names_the_kill(e), "{method:?} item {i}: {e}");
                        failed += 1;
                    }
                }
            }
            assert!(failed <= kills * 2, "{failed} failures for {kills} kills");
            // apply_async, one result per call.
            let stop = Arc::new(AtomicBool::new(false));
            let p = Arc::clone(&pool);
            let kill = killer(Rng(rng.next() | 1), 2, move || p.worker_pids(), stop.clone());
            let handles: Vec<_> = (0..200u64)
                .map(|i| pool.apply_async(slow_square, (i,)).unwrap())
                .collect();
            for (i, h) in handles.iter().enumerate() {
                match h.get_timeout(PATIENCE) {
                    Ok(v) => assert_eq!(v, (i * i) as u64),
                    Err(e) => assert!(names_the_kill(&e), "{method:?} apply {i}: {e}"),
                }
            }
            stop.store(true, Ordering::Release);
            kill.join().unwrap();
            // Still usable.
            assert_eq!(pool.map(slow_square, 0..10u64).unwrap()[9], 81);
        }
    }
}

#[test]
fn executor_futures_survive_random_kills() {
    let mut rng = Rng::seeded("executor");
    let ex = Arc::new(ProcessPoolExecutor::new(2).unwrap());
    for _ in 0..8 {
        let stop = Arc::new(AtomicBool::new(false));
        let e = Arc::clone(&ex);
        let kill = killer(Rng(rng.next() | 1), 3, move || e.worker_pids(), stop.clone());
        let futures: Vec<_> = (0..300u64).map(|i| ex.submit(slow_square, (i,)).unwrap()).collect();
        for (i, f) in futures.iter().enumerate() {
            match f.result_timeout(PATIENCE) {
                Ok(v) => assert_eq!(v, (i * i) as u64),
                Err(e) => assert!(names_the_kill(&e), "future {i}: {e}"),
            }
        }
        stop.store(true, Ordering::Release);
        kill.join().unwrap();
        assert_eq!(ex.submit(slow_square, (5,)).unwrap().result().unwrap(), 25);
    }
}

#[process_fn]
fn echo_forever(conn: Connection) {
    while let Ok(v) = conn.recv::<u64>() {
        if conn.send(&v).is_err() {
            return;
        }
    }
}

#[test]
fn a_pipe_peer_killed_mid_exchange_is_an_error_at_once() {
    let mut rng = Rng::seeded("pipe");
    for _ in 0..10 {
        let (ours, theirs) = Pipe::new().unwrap();
        let mut child = Process::builder().start(echo_forever, (theirs,)).unwrap();
        let kill_after = rng.below(200);
        let started = Instant::now();
        let mut i = 0u64;
        let failure = loop {
            if i == kill_after {
                child.kill().unwrap();
            }
            if let Err(e) = ours.send(&i) {
                break e;
            }
            match ours.recv_timeout::<u64>(PATIENCE) {
                Ok(v) => assert_eq!(v, i),
                Err(e) => break e,
            }
            i += 1;
        };
        assert!(i >= kill_after);
        assert!(
            matches!(failure, Error::Disconnected { .. } | Error::Io { .. }),
            "{failure}"
        );
        assert!(started.elapsed() < PATIENCE);
        let _ = child.join();
    }
}

#[test]
fn manager_calls_fail_promptly_when_the_server_is_killed() {
    let mut rng = Rng::seeded("manager");
    for _ in 0..5 {
        let manager = Manager::start().unwrap();
        let dict = manager.dict::<u64, u64>().unwrap();
        let server = manager.server_pid();
        let kill_after = rng.below(500);
        let started = Instant::now();
        let mut i = 0u64;
        let failure = loop {
            if i == kill_after {
                send_signal(server, libc::SIGKILL);
            }
            match dict.insert(&i, &i) {
                Ok(_) => i += 1,
                Err(e) => break e,
            }
        };
        assert!(matches!(failure, Error::Manager(_)), "{failure}");
        assert!(started.elapsed() < PATIENCE);
        // What was stored before the kill was acknowledged; nothing hangs.
        assert!(i >= kill_after);
    }
}
