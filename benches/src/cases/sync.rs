//! Case `sync`: locks and shared values, beside Python's `mp.Lock` and
//! `mp.Value` and `std::sync::Mutex` in one process.
//!
//! - uncontended `Lock` acquire/release pairs per second, and the same for
//!   `std::sync::Mutex`;
//! - two processes each adding 1 to a `Value<u64>` under its lock, 1 M
//!   times each: operations per second, and the exact final count;
//! - `Event` wake-up latency between two processes (set → waiter awake).

use std::hint::black_box;
use std::time::{Duration, Instant};

use multiproc::prelude::*;
use multiproc::shared::Value;
use multiproc::sync::{Event, Lock};

use super::{err, Better, Case, CaseOutput, Figure, Options, PeerQuery, Stats, Target};

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "sync",
    about: "Lock uncontended vs std Mutex and Python; Value += 1 by 2 processes; Event wake-up",
    peer_group: Some("lock value"),
    run,
};

#[process_fn]
fn add(counter: Value<u64>, n: u64, go: Event) {
    go.wait();
    for _ in 0..n {
        *counter.lock().unwrap() += 1;
    }
}

#[process_fn]
fn ping(ask: Event, answer: Event, n: u32) {
    for _ in 0..n {
        if !ask.wait_timeout(Duration::from_secs(60)) {
            return;
        }
        ask.clear();
        answer.set();
    }
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let q = options.quick;
    let mut figures = Vec::new();
    let n: u64 = if q { 500_000 } else { 5_000_000 };

    let lock = Lock::new().map_err(err("Lock"))?;
    let t = Instant::now();
    for _ in 0..n {
        let guard = lock.acquire().map_err(|e| e.to_string())?;
        drop(black_box(guard));
    }
    let ours = n as f64 / t.elapsed().as_secs_f64();
    let mutex = std::sync::Mutex::new(0u64);
    let t = Instant::now();
    for _ in 0..n {
        let guard = mutex.lock().map_err(|e| e.to_string())?;
        drop(black_box(guard));
    }
    let std_rate = n as f64 / t.elapsed().as_secs_f64();
    figures.push(
        Figure::new(
            "sync",
            "Lock acquire/release, uncontended",
            ours,
            "pairs/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("mp_lock_pairs_uncontended"))
        .with("n", n),
    );
    figures.push(
        Figure::new(
            "sync",
            "Lock time / std Mutex time (uncontended)",
            std_rate / ours,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(2.0))
        .with("std_pairs_per_s", std_rate),
    );

    // Two processes incrementing one Value.
    let per: u64 = if q { 100_000 } else { 1_000_000 };
    let counter = Value::new(0u64).map_err(err("Value"))?;
    let go = Event::new().map_err(err("Event"))?;
    let mut kids: Vec<_> = (0..2)
        .map(|_| {
            Process::builder()
                .start_method(StartMethod::Fork)
                .start(add, (counter.clone(), per, go.clone()))
        })
        .collect::<Result<_, _>>()
        .map_err(err("start"))?;
    let t = Instant::now();
    go.set();
    for k in &mut kids {
        k.join().map_err(err("join"))?;
    }
    let secs = t.elapsed().as_secs_f64();
    let total = counter.get().map_err(err("get"))?;
    if total != 2 * per {
        return Err(format!("lost increments: {total} of {}", 2 * per));
    }
    figures.push(
        Figure::new(
            "sync",
            "Value += 1 under its lock, 2 processes",
            total as f64 / secs,
            "ops/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("mp_value_locked_incr_2proc"))
        .target(Target::PeerFactorAtLeast(10.0))
        .with("final_value", total),
    );

    // Event wake-up latency: set here, the child clears and answers.
    let rounds: u32 = if q { 200 } else { 2000 };
    let (ask, answer) = (Event::new().map_err(err("Event"))?, Event::new().map_err(err("Event"))?);
    let mut child = Process::builder()
        .start_method(StartMethod::Fork)
        .start(ping, (ask.clone(), answer.clone(), rounds))
        .map_err(err("start"))?;
    let mut us = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let t = Instant::now();
        ask.set();
        if !answer.wait_timeout(Duration::from_secs(60)) {
            return Err("no answer".into());
        }
        answer.clear();
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    child.join().map_err(err("join"))?;
    figures.push(
        Figure::new(
            "sync",
            "Event set -> other process awake -> answer, median",
            Stats::of(&us).median,
            "us",
            Better::Lower,
        )
        .with("n", rounds),
    );
    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}
