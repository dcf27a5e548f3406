//! The soak command (not a CI test): load held for a while, with faults.
//!
//! ```sh
//! cargo run --release -p multiproc-benches --bin soak -- [--items N] [--seconds S]
//! ```
//!
//! 1. `N` (default 10 million) tiny tasks through `Pool(2).imap_unordered`
//!    while a thread SIGKILLs a random worker every 20 ms: every item must
//!    come back exactly once — its value, or an error naming the kill;
//!    throughput and the parent's resident memory, sampled every 250 ms,
//!    are reported (it must stay flat: the input is never collected).
//! 2. 16 manager clients (processes) for `S` seconds (default 10), each
//!    counting into its own key of a shared dict under a shared lock: the
//!    final counts must equal what each client did.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use multiproc::manager::{DictProxy, LockProxy, Manager};
use multiproc::prelude::*;

mod common;
use common::status_kib;

#[process_fn]
fn tiny(x: u64) -> u64 {
    x ^ 0x5555
}

/// Counts into `dict[me]` under `lock` for `seconds`; how many times.
#[process_fn]
fn client(lock: LockProxy, dict: DictProxy<u32, u64>, me: u32, seconds: u64) -> u64 {
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0;
    while Instant::now() < end {
        let guard = lock.acquire().unwrap();
        let v = dict.get(&me).unwrap().unwrap_or(0);
        dict.insert(&me, &(v + 1)).unwrap();
        drop(guard);
        n += 1;
    }
    n
}

fn main() -> multiproc::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let items = flag("--items", 10_000_000);
    let seconds = flag("--seconds", 10);

    // 1. Pool with random kills.
    let pool = Arc::new(Pool::new(2)?);
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicU64::new(0));
    let killer = {
        let (pool, stop, kills) = (pool.clone(), stop.clone(), kills.clone());
        std::thread::spawn(move || {
            let mut state = 0x2545_F491u64;
            while !stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(20));
                let pids = pool.worker_pids();
                if pids.is_empty() {
                    continue;
                }
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let pid = pids[(state % pids.len() as u64) as usize];
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                kills.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let started = Instant::now();
    // One bit per item, touched now: the bookkeeping must not look like
    // growth in the memory figures.
    let mut seen = vec![0u64; (items as usize).div_ceil(64)];
    for word in seen.iter_mut() {
        *word = std::hint::black_box(0);
    }
    let (mut ok, mut failed, mut other) = (0u64, 0u64, 0u64);
    let mut rss = vec![status_kib("VmRSS")];
    let mut next_sample = Instant::now() + Duration::from_millis(250);
    // Results carry no index in completion order: the value identifies it.
    for (i, r) in pool.imap_unordered_chunked(tiny, 0..items, 64).enumerate() {
        match r {
            Ok(v) => {
                let x = (v ^ 0x5555) as usize;
                let (word, bit) = (x / 64, 1u64 << (x % 64));
                if word < seen.len() && seen[word] & bit == 0 {
                    seen[word] |= bit;
                    ok += 1;
                } else {
                    other += 1; // a duplicate or a wrong value
                }
            }
            Err(e) => {
                let s = e.to_string();
                if s.contains("SIGKILL") {
                    failed += 1;
                } else {
                    other += 1;
                    eprintln!("unexpected error: {s}");
                }
            }
        }
        if i % 16_384 == 0 && Instant::now() >= next_sample {
            rss.push(status_kib("VmRSS"));
            next_sample += Duration::from_millis(250);
        }
    }
    stop.store(true, Ordering::Release);
    let _ = killer.join();
    let elapsed = started.elapsed();
    let lost = items - ok - failed;
    println!(
        "pool: {items} tasks in {:.1} s ({:.2} M tasks/s), {} worker kills: {ok} values, {failed} failed with SIGKILL, {lost} unaccounted (lost or duplicated: {other})",
        elapsed.as_secs_f64(),
        items as f64 / elapsed.as_secs_f64() / 1e6,
        kills.load(Ordering::Relaxed)
    );
    println!(
        "pool: resident memory every 250 ms (MiB): {}",
        rss.iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" ")
    );
    drop(pool);

    // 2. 16 manager clients.
    let manager = Manager::start()?;
    let lock = manager.lock()?;
    let dict = manager.dict::<u32, u64>()?;
    let started = Instant::now();
    let mut children: Vec<_> = (0..16u32)
        .map(|me| Process::builder().start(client, (lock.clone(), dict.clone(), me, seconds)))
        .collect::<multiproc::Result<_>>()?;
    let mut done = Vec::new();
    for child in &mut children {
        done.push(child.join()?);
    }
    let elapsed = started.elapsed();
    let counted: Vec<u64> = (0..16u32)
        .map(|me| dict.get(&me).map(|v| v.unwrap_or(0)))
        .collect::<multiproc::Result<_>>()?;
    let total: u64 = done.iter().sum();
    let exact = counted == done;
    println!(
        "manager: 16 clients for {:.1} s: {total} locked increments ({:.0} rounds/s, 4 calls each), counts exact: {exact}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    if lost != 0 || other != 0 || !exact {
        std::process::exit(1);
    }
    Ok(())
}
