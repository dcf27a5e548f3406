//! Case `pool`: throughput of the process pool, beside Python's `Pool(2)`
//! and a serial loop, with the same work.
//!
//! - `map` of `x*x` over 1 M `u64` at the default chunk size, on a pool made
//!   beforehand (Python's figure also excludes pool start-up) — and once more
//!   including the pool's start-up;
//! - `apply_async` per item (chunk size 1): 100 k submissions, then every
//!   `get`, against Python's `Pool(2).map(chunksize=1)`;
//! - `imap_unordered` with chunk size 1;
//! - a CPU-bound `map`: speed-up of `Pool(2)` over the serial loop;
//! - `imap` over a lazy 10 M-item input: how much the parent's peak RSS
//!   grows (the input is never collected).

use std::hint::black_box;
use std::time::Instant;

use multiproc::prelude::*;

use crate::common::{burn, status_kib};

use super::{err, Better, Case, CaseOutput, Figure, Options, PeerQuery, Target};

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "pool",
    about: "Pool(2): map, apply_async per item, imap_unordered, CPU-bound speed-up, imap memory",
    peer_group: Some("pool"),
    run,
};

const NAME: &str = "pool";

#[process_fn]
fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let q = options.quick;
    let mut figures = Vec::new();
    let pool = Pool::new(2).map_err(err("starting Pool(2)"))?;
    pool.map(square, 0..1000u64).map_err(err("warm-up"))?;

    // map, default chunk size.
    let n_map: u64 = if q { 100_000 } else { 1_000_000 };
    let mut best = 0.0f64;
    for _ in 0..if q { 1 } else { 5 } {
        let t = Instant::now();
        let out = pool.map(square, 0..n_map).map_err(err("map"))?;
        let rate = n_map as f64 / t.elapsed().as_secs_f64();
        if out.len() as u64 != n_map || out[3] != 9 {
            return Err("map returned wrong results".into());
        }
        best = best.max(rate);
    }
    figures.push(
        Figure::new(
            NAME,
            "Pool(2).map x*x, default chunksize",
            best,
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("pool2_map").filter("chunksize", "default"))
        .target(Target::PeerFactorAtLeast(10.0))
        .with("n", n_map)
        .with("stat", "best of 5"),
    );

    // par_map!, reusing the pool, and making its own.
    let data: Vec<u64> = (0..n_map).collect();
    let mut best = 0.0f64;
    for _ in 0..if q { 1 } else { 5 } {
        let t = Instant::now();
        let out = par_map!(square, data.iter().copied(), pool = &pool).map_err(err("par_map!"))?;
        best = best.max(n_map as f64 / t.elapsed().as_secs_f64());
        black_box(out);
    }
    figures.push(
        Figure::new(NAME, "par_map!(pool = &pool) x*x", best, "items/s", Better::Higher)
            .peer(PeerQuery::new("pool2_map").filter("chunksize", "default"))
            .target(Target::PeerFactorAtLeast(10.0))
            .with("n", n_map)
            .with("stat", "best of 5"),
    );
    // The one-line front door: each call starts its own pool, maps, and
    // stops it; Python's figure is a pool already running.
    let mut best = 0.0f64;
    for _ in 0..if q { 1 } else { 5 } {
        let t = Instant::now();
        let out = par_map!(square, data.iter().copied(), procs = 2).map_err(err("par_map!"))?;
        best = best.max(n_map as f64 / t.elapsed().as_secs_f64());
        black_box(out);
    }
    figures.push(
        Figure::new(
            NAME,
            "par_map!(procs = 2) x*x, pool made per call",
            best,
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("pool2_map").filter("chunksize", "default"))
        .target(Target::PeerFactorAtLeast(10.0))
        .with("n", n_map)
        .with("stat", "best of 5"),
    );

    // Threads: par_map! against rayon's own par_iter on the same data.
    use rayon::prelude::*;
    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .map_err(|e| e.to_string())?;
    let (mut ours_s, mut rayon_s) = (f64::MAX, f64::MAX);
    for round in 0..if q { 4 } else { 40 } {
        // Alternate which goes first, so neither always finds warm caches.
        for turn in [round % 2, 1 - round % 2] {
            let t = Instant::now();
            let out: Vec<u64> = if turn == 0 {
                par_map!(|x: &u64| x.wrapping_mul(*x), &data, threads = 2).map_err(err("par_map! threads"))?
            } else {
                rayon_pool.install(|| data.par_iter().map(|x| x.wrapping_mul(*x)).collect())
            };
            let s = t.elapsed().as_secs_f64();
            if out.len() != data.len() || out[3] != 9 {
                return Err("threads map returned wrong results".into());
            }
            if turn == 0 {
                ours_s = ours_s.min(s);
            } else {
                rayon_s = rayon_s.min(s);
            }
        }
    }
    figures.push(
        Figure::new(
            NAME,
            "par_map!(threads = 2) time / rayon par_iter time",
            ours_s / rayon_s,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(1.2))
        .with("ours_items_per_s", n_map as f64 / ours_s)
        .with("rayon_items_per_s", n_map as f64 / rayon_s)
        .with("stat", "best of 40 each, order alternating"),
    );

    // The same including the pool's start-up, as a one-off par_map! pays it.
    let mut best = 0.0f64;
    for _ in 0..if q { 1 } else { 5 } {
        let t = Instant::now();
        let fresh = Pool::new(2).map_err(err("starting Pool(2)"))?;
        fresh.map(square, 0..n_map).map_err(err("map"))?;
        drop(fresh);
        best = best.max(n_map as f64 / t.elapsed().as_secs_f64());
    }
    figures.push(
        Figure::new(
            NAME,
            "Pool(2) start + map x*x + terminate",
            best,
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("pool2_map").filter("chunksize", "default"))
        .with("n", n_map)
        .with("stat", "best of 5"),
    );

    // apply_async per item.
    let n_apply: u64 = if q { 10_000 } else { 100_000 };
    let t = Instant::now();
    let pending: Vec<_> = (0..n_apply)
        .map(|i| pool.apply_async(square, (i,)))
        .collect::<Result<_, _>>()
        .map_err(err("apply_async"))?;
    let mut sum = 0u64;
    for r in &pending {
        sum = sum.wrapping_add(r.get().map_err(err("get"))?);
    }
    black_box(sum);
    figures.push(
        Figure::new(
            NAME,
            "apply_async per item (chunksize 1)",
            n_apply as f64 / t.elapsed().as_secs_f64(),
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("pool2_map").filter("chunksize", "1"))
        .target(Target::PeerFactorAtLeast(20.0))
        .with("n", n_apply),
    );

    // imap_unordered, chunk size 1.
    let t = Instant::now();
    let count = pool.imap_unordered(square, 0..n_apply).filter(Result::is_ok).count() as u64;
    if count != n_apply {
        return Err("imap_unordered lost items".into());
    }
    figures.push(
        Figure::new(
            NAME,
            "imap_unordered (chunksize 1)",
            n_apply as f64 / t.elapsed().as_secs_f64(),
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("pool2_imap_unordered").filter("chunksize", "default(=1)"))
        .with("n", n_apply),
    );

    // CPU-bound speed-up.
    let n_cpu: u64 = if q { 100 } else { 1000 };
    let t = Instant::now();
    let serial: Vec<u64> = (0..n_cpu).map(*burn).collect();
    let serial_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let parallel = pool.map(burn, 0..n_cpu).map_err(err("cpu map"))?;
    let pool_s = t.elapsed().as_secs_f64();
    if serial != parallel {
        return Err("CPU-bound map disagrees with the serial loop".into());
    }
    figures.push(
        Figure::new(
            NAME,
            "CPU-bound map speed-up, Pool(2) vs serial",
            serial_s / pool_s,
            "x",
            Better::Higher,
        )
        .peer(PeerQuery::new("cpu_map_speedup_pool2"))
        .with("serial_s", serial_s)
        .with("pool_s", pool_s)
        .with("n", n_cpu),
    );

    // imap over a lazy input: the parent's peak RSS must not grow with it.
    let n_lazy: u64 = if q { 1_000_000 } else { 10_000_000 };
    let before = status_kib("VmHWM");
    let t = Instant::now();
    let mut total = 0u64;
    for r in pool.imap_chunked(square, 0..n_lazy, 10_000) {
        total = total.wrapping_add(r.map_err(err("imap"))?);
    }
    black_box(total);
    let elapsed = t.elapsed().as_secs_f64();
    let grown_mib = status_kib("VmHWM").saturating_sub(before) as f64 / 1024.0;
    figures.push(
        Figure::new(
            NAME,
            "imap over lazy 10M input: peak RSS growth",
            grown_mib,
            "MiB",
            Better::Lower,
        )
        .with("n", n_lazy)
        .with("input_if_collected_mib", n_lazy as f64 * 8.0 / 1048576.0)
        .with("items_per_s", n_lazy as f64 / elapsed),
    );
    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}
