//! Case `uneven`: scheduling of tasks of uneven length (issue 18), beside
//! Python on the same durations in the same run.
//!
//! Every task *spins*: it reads the monotonic clock (`Instant`, Python's
//! `time.monotonic_ns`) in a loop until its duration has passed, so it is
//! CPU work that ends at a set wall time, whatever else the machine runs.
//!
//! - two 1.5 s tasks on `Pool(2)`, `apply_async` one after the other: the
//!   wall time until both results are in (ideal 1.5 s: one per worker);
//! - a quick task (`spin(0)`, `apply` = submit and wait) while one worker
//!   runs a 3 s task: its latency, 20 in a row, median and worst (target:
//!   median < 10 ms — it must not queue behind the busy worker);
//! - 400 heavy-tailed durations (95 % of 1–3 ms, 5 % of 40–160 ms) through
//!   `Pool(2).map` (default chunk size), `Pool(2).imap_unordered`,
//!   `ProcessPoolExecutor(2).map`, `thread::Pool(2).map` and
//!   `ThreadPoolExecutor(2).map`: the makespan (first submission to last
//!   result) over its lower bound `max(sum / 2, longest)`, median of 3
//!   runs, one with `--quick` (target ≤ 1.05×). Ours take their default
//!   chunk sizes: `Pool::map` `len / (8 × workers)` (25 here),
//!   `thread::Pool::map` `len / (4 × threads)` (50), one item at a time for
//!   the rest. Python's figures use `Pool.map`,
//!   `Pool.imap_unordered`, `ProcessPoolExecutor.map`,
//!   `multiprocessing.dummy.Pool.map` and `ThreadPoolExecutor.map`, each with
//!   its own default chunk size (`Pool.map`: `len / (4 × workers)`, here 50).
//!   Python's thread tasks spin under the GIL, so theirs overrun their
//!   durations by up to a switch interval (5 ms) when the other thread holds
//!   it. Beside them, computed rather than measured: what handing the tasks
//!   out one at a time in input order, with no overhead at all, would reach
//!   on this list (three of the long tasks are among the last twenty, so
//!   not even that reaches the bound).
//!
//! - the same list through the *first* `Pool(2).map` of an entry on a fresh
//!   pool (warmed up with another entry, so it is ready): nothing is known
//!   of the entry's time per item when the call starts, so its chunk size
//!   must be found within the call. No Python peer: `Pool.map` does not
//!   learn either way.
//!
//! The durations come from [`durations`]: an xorshift64* generator
//! (`common::Rng`, written out again in `py_baseline.py`) seeded with
//! [`SEED`] shuffles 20 long and 380 short durations, so both languages run
//! the very same list.

use std::hint::black_box;
use std::time::{Duration, Instant};

use multiproc::executor::{ProcessPoolExecutor, ThreadPoolExecutor};
use multiproc::prelude::*;

use crate::common::Rng;

use super::{err, Better, Case, CaseOutput, Figure, Options, PeerQuery, Stats, Target};

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "uneven",
    about: "uneven tasks on 2 workers: two long tasks, a quick one behind a busy worker, heavy-tailed makespans",
    peer_group: Some("uneven"),
    run,
};

const NAME: &str = "uneven";

/// The generator's seed (the same in `py_baseline.py`).
pub(crate) const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Workers in every pool of the case.
const WORKERS: usize = 2;

/// Spins on the monotonic clock for `us` microseconds; returns how many
/// times it read the clock.
#[process_fn]
fn spin(us: u64) -> u64 {
    let end = Instant::now() + Duration::from_micros(us);
    let mut reads = 0u64;
    while Instant::now() < end {
        reads = black_box(reads + 1);
    }
    reads
}

/// [`spin`] under another name: an entry the pool has never run.
#[process_fn]
fn spin_first(us: u64) -> u64 {
    spin(us)
}

/// `n` task durations in microseconds: `n / 20` long ones (40–160 ms), the
/// rest short (1–3 ms), drawn and then shuffled (Fisher–Yates) with one
/// xorshift64* stream seeded with `seed`. `py_baseline.py` has the same
/// function, step for step.
pub(crate) fn durations(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng(seed);
    let long = n / 20;
    let mut out: Vec<u64> = (0..n)
        .map(|i| {
            if i < long {
                40_000 + rng.next() % 120_001
            } else {
                1_000 + rng.next() % 2_001
            }
        })
        .collect();
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        out.swap(i, j);
    }
    out
}

/// The makespan's lower bound on `WORKERS` workers, in microseconds.
fn lower_bound_us(durations: &[u64]) -> f64 {
    let sum: u64 = durations.iter().sum();
    let longest = durations.iter().copied().max().unwrap_or(0);
    (sum as f64 / WORKERS as f64).max(longest as f64)
}

/// What a scheduler with no overhead reaches when it hands the tasks out
/// one at a time in input order, each to the worker that frees up first:
/// its makespan over the lower bound. The bound itself is out of reach
/// when long tasks come late in the list.
fn in_order_greedy_ratio(durations: &[u64]) -> f64 {
    let mut free_at = [0u64; WORKERS];
    for &us in durations {
        let first = free_at.iter_mut().min().expect("WORKERS > 0");
        *first += us;
    }
    free_at.iter().copied().max().unwrap_or(0) as f64 / lower_bound_us(durations)
}

/// Runs `body` (one whole pass over the durations) `rounds` times; the
/// makespans in seconds.
fn makespans(rounds: usize, mut body: impl FnMut() -> Result<(), String>) -> Result<Vec<f64>, String> {
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        body()?;
        out.push(t.elapsed().as_secs_f64());
    }
    Ok(out)
}

/// Checks that all `n` tasks returned.
fn check(results: impl IntoIterator<Item = multiproc::Result<u64>>, n: usize) -> Result<(), String> {
    let mut count = 0;
    for r in results {
        black_box(r.map_err(err("task"))?);
        count += 1;
    }
    if count != n {
        return Err(format!("{count} results for {n} tasks"));
    }
    Ok(())
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let q = options.quick;
    let rounds = if q { 1 } else { 3 };
    let n = 400;
    let mut figures = Vec::new();

    let pool = Pool::new(WORKERS).map_err(err("Pool(2)"))?;
    pool.map(spin, [0u64; 16]).map_err(err("warm-up"))?;

    // Two long tasks, one after the other, on an idle pool.
    let long_us = 1_500_000u64;
    let t = Instant::now();
    let a = pool.apply_async(spin, (long_us,)).map_err(err("apply_async"))?;
    let b = pool.apply_async(spin, (long_us,)).map_err(err("apply_async"))?;
    a.get().map_err(err("get"))?;
    let first_s = t.elapsed().as_secs_f64();
    b.get().map_err(err("get"))?;
    let wall_s = t.elapsed().as_secs_f64();
    figures.push(
        Figure::new(
            NAME,
            "Pool(2) two 1.5 s apply_async: wall (ideal 1.5 s)",
            wall_s,
            "s",
            Better::Lower,
        )
        .peer(PeerQuery::new("uneven_two_long"))
        .with("first_done_s", first_s)
        .with("ideal_s", long_us as f64 / 1e6),
    );

    // A quick task while one worker is inside a 3 s task.
    let busy = pool.apply_async(spin, (3_000_000u64,)).map_err(err("apply_async"))?;
    std::thread::sleep(Duration::from_millis(100));
    let mut latencies = Vec::with_capacity(20);
    for _ in 0..20 {
        let t = Instant::now();
        pool.apply(spin, (0,)).map_err(err("apply"))?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let still_busy = !busy.ready();
    busy.get().map_err(err("get"))?;
    if !still_busy {
        return Err("the 3 s task ended before the quick tasks did".into());
    }
    let stats = Stats::of(&latencies);
    let worst = latencies.iter().copied().fold(0.0, f64::max);
    figures.push(
        Figure::new(
            NAME,
            "Pool(2) quick task beside a busy 3 s worker, median of 20",
            stats.median,
            "ms",
            Better::Lower,
        )
        .peer(PeerQuery::new("uneven_quick_latency"))
        .target(Target::AtMost(10.0))
        .with("first_ms", latencies[0])
        .with("p90_ms", stats.p90)
        .with("worst_ms", worst),
    );
    figures.push(
        Figure::new(
            NAME,
            "Pool(2) quick task beside a busy 3 s worker, worst of 20",
            worst,
            "ms",
            Better::Lower,
        )
        .peer(PeerQuery::new("uneven_quick_latency").field("worst_ms")),
    );

    // Heavy-tailed durations: makespan over the lower bound.
    let work = durations(n, SEED);
    let bound = lower_bound_us(&work) / 1e6;
    let sum_ms = work.iter().sum::<u64>() as f64 / 1e3;
    figures.push(
        Figure::new(
            NAME,
            format!("the {n} durations: sum (Python's: the same list)"),
            sum_ms,
            "ms",
            Better::Lower,
        )
        .peer(
            PeerQuery::new("uneven_makespan")
                .filter("api", "Pool.map")
                .field("sum_ms"),
        )
        .with("longest_ms", work.iter().copied().max().unwrap_or(0) as f64 / 1e3)
        .with("bound_s", bound),
    );
    figures.push(
        Figure::new(
            NAME,
            "reference: one at a time in order, no overhead (computed)",
            in_order_greedy_ratio(&work),
            "x",
            Better::Lower,
        )
        .with("bound_s", bound),
    );
    let makespan_figure = |label: &str, peer_api: &'static str, spans: Vec<f64>| {
        let median = Stats::of(&spans).median;
        Figure::new(
            NAME,
            format!("{label}: makespan / max(sum/2, longest)"),
            median / bound,
            "x",
            Better::Lower,
        )
        .peer(PeerQuery::new("uneven_makespan").filter("api", peer_api))
        .target(Target::AtMost(1.05))
        .with("n", n)
        .with("seed", SEED)
        .with("bound_s", bound)
        .with("makespans_s", spans)
        .with("stat", format!("median of {rounds}"))
    };

    let spans = makespans(rounds, || {
        check(
            pool.map(spin, work.iter().copied())
                .map_err(err("map"))?
                .into_iter()
                .map(Ok),
            n,
        )
    })?;
    figures.push(makespan_figure("Pool(2).map, default chunksize", "Pool.map", spans));

    let spans = makespans(rounds, || check(pool.imap_unordered(spin, work.iter().copied()), n))?;
    figures.push(makespan_figure("Pool(2).imap_unordered", "Pool.imap_unordered", spans));
    drop(pool);

    // The first map of an entry, on a fresh (warmed-up) pool each round.
    let mut spans = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let fresh = Pool::new(WORKERS).map_err(err("Pool(2)"))?;
        fresh.map(spin, [0u64; 16]).map_err(err("warm-up"))?;
        let t = Instant::now();
        let out = fresh.map(spin_first, work.iter().copied()).map_err(err("map"))?;
        spans.push(t.elapsed().as_secs_f64());
        check(out.into_iter().map(Ok), n)?;
    }
    let median = Stats::of(&spans).median;
    figures.push(
        Figure::new(
            NAME,
            "Pool(2).map, the entry's first call: makespan / max(sum/2, longest)",
            median / bound,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(1.05))
        .with("n", n)
        .with("bound_s", bound)
        .with("makespans_s", spans)
        .with("stat", format!("median of {rounds}")),
    );

    let ppe = ProcessPoolExecutor::new(WORKERS).map_err(err("ProcessPoolExecutor(2)"))?;
    check(ppe.map(spin, [0u64; 16], None), 16)?;
    let spans = makespans(rounds, || check(ppe.map(spin, work.iter().copied(), None), n))?;
    figures.push(makespan_figure(
        "ProcessPoolExecutor(2).map",
        "ProcessPoolExecutor.map",
        spans,
    ));
    drop(ppe);

    let threads = multiproc::thread::Pool::new(WORKERS).map_err(err("thread::Pool(2)"))?;
    threads.map(spin, [0u64; 16]).map_err(err("warm-up"))?;
    let spans = makespans(rounds, || {
        check(
            threads
                .map(spin, work.iter().copied())
                .map_err(err("map"))?
                .into_iter()
                .map(Ok),
            n,
        )
    })?;
    figures.push(makespan_figure(
        "thread::Pool(2).map, default chunksize",
        "dummy.Pool.map",
        spans,
    ));
    drop(threads);

    let tpe = ThreadPoolExecutor::new(WORKERS).map_err(err("ThreadPoolExecutor(2)"))?;
    check(tpe.map(|us: u64| spin(us), [0u64; 16], None), 16)?;
    let spans = makespans(rounds, || check(tpe.map(|us: u64| spin(us), work.clone(), None), n))?;
    figures.push(makespan_figure(
        "ThreadPoolExecutor(2).map",
        "ThreadPoolExecutor.map",
        spans,
    ));
    drop(tpe);

    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_heavy_tailed_and_seeded() {
        let d = durations(400, SEED);
        assert_eq!(d, durations(400, SEED));
        let long: Vec<_> = d.iter().filter(|&&us| us >= 40_000).collect();
        assert_eq!(long.len(), 20);
        assert!(long.iter().all(|&&us| us <= 160_000));
        assert!(d
            .iter()
            .filter(|&&us| us < 40_000)
            .all(|&us| (1_000..=3_000).contains(&us)));
    }

    #[test]
    fn greedy_reference_takes_tasks_in_order() {
        assert_eq!(in_order_greedy_ratio(&[3, 1, 1, 1]), 1.0);
        // The long task comes last: 1 + 4 = 5 against a bound of 4.
        assert_eq!(in_order_greedy_ratio(&[1, 1, 4]), 1.25);
    }
}
