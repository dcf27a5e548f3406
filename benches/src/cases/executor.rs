//! Case `executor`: `concurrent.futures` throughput, beside Python's
//! `ThreadPoolExecutor(2)` and `ProcessPoolExecutor(2)` on the same work
//! (`x*x`, one submission per item, then every result):
//!
//! - thread executor: 100 k `submit` + `result`;
//! - process executor: 20 k `submit` + `result`;
//! - process executor `map` with chunksize 1 and 1000;
//! - the thread twin of the pool: `thread::Pool(2).map` against the process
//!   `Pool(2).map`, same work;
//! - the thread twin of the queue: one thread puts integers, another gets
//!   them, against Python's `queue.Queue`.

use std::hint::black_box;
use std::time::Instant;

use multiproc::executor::{Future, ProcessPoolExecutor, ThreadPoolExecutor};
use multiproc::prelude::*;

use super::{err, Better, Case, CaseOutput, Figure, Options, PeerQuery, Target};

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "executor",
    about: "Thread/ProcessPoolExecutor(2): submit+result per item, map; thread::Pool map",
    peer_group: Some("tpe ppe pool tqueue"),
    run,
};

const NAME: &str = "executor";

#[process_fn]
fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

/// The best rate of `rounds` runs of `body` over `n` items.
fn best_rate(rounds: usize, n: u64, mut body: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let t = Instant::now();
        body()?;
        best = best.max(n as f64 / t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Waits for every future of a run of `x*x` over `0..n` and checks the last.
fn check_results(futures: &[Future<u64>], n: u64) -> Result<(), String> {
    let mut last = 0;
    for f in futures {
        last = f.result().map_err(err("result"))?;
    }
    if last != (n - 1) * (n - 1) {
        return Err("wrong last result".into());
    }
    Ok(())
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let q = options.quick;
    let rounds = if q { 1 } else { 5 };
    let mut figures = Vec::new();

    // Thread executor: submit + result per item.
    let n_tpe: u64 = if q { 10_000 } else { 100_000 };
    let tpe = ThreadPoolExecutor::new(2).map_err(err("ThreadPoolExecutor(2)"))?;
    tpe.submit(|| 1)
        .map_err(err("warm-up"))?
        .result()
        .map_err(err("warm-up"))?;
    let rate = best_rate(rounds, n_tpe, || {
        let futures = (0..n_tpe)
            .map(|i| tpe.submit(move || square(i)))
            .collect::<multiproc::Result<Vec<_>>>()
            .map_err(err("submit"))?;
        check_results(&futures, n_tpe)
    })?;
    figures.push(
        Figure::new(
            NAME,
            "ThreadPoolExecutor(2) submit+result",
            rate,
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("tpe2_submit_per_item"))
        .target(Target::PeerFactorAtLeast(20.0))
        .with("n", n_tpe)
        .with("stat", "best of 5"),
    );
    drop(tpe);

    // Process executor: submit + result per item.
    let n_ppe: u64 = if q { 5_000 } else { 20_000 };
    let ppe = ProcessPoolExecutor::new(2).map_err(err("ProcessPoolExecutor(2)"))?;
    ppe.map(square, 0..100u64, None).for_each(drop);
    let rate = best_rate(rounds, n_ppe, || {
        let futures = (0..n_ppe)
            .map(|i| ppe.submit(square, (i,)))
            .collect::<multiproc::Result<Vec<_>>>()
            .map_err(err("submit"))?;
        check_results(&futures, n_ppe)
    })?;
    figures.push(
        Figure::new(
            NAME,
            "ProcessPoolExecutor(2) submit+result",
            rate,
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("ppe2_submit_per_item"))
        .target(Target::PeerFactorAtLeast(20.0))
        .with("n", n_ppe)
        .with("stat", "best of 5"),
    );
    for chunksize in [1usize, 1000] {
        let rate = best_rate(rounds, n_ppe, || {
            let n = ppe
                .map_chunked(square, 0..n_ppe, chunksize, None)
                .map(black_box)
                .count();
            if n as u64 != n_ppe {
                return Err("map lost items".into());
            }
            Ok(())
        })?;
        figures.push(
            Figure::new(
                NAME,
                format!("ProcessPoolExecutor(2).map chunksize={chunksize}"),
                rate,
                "items/s",
                Better::Higher,
            )
            .peer(PeerQuery::new("ppe2_map").filter("chunksize", chunksize.to_string()))
            .with("n", n_ppe)
            .with("stat", "best of 5"),
        );
    }
    drop(ppe);

    // The thread twin of the pool, against the process pool, same map.
    let n_map: u64 = if q { 100_000 } else { 1_000_000 };
    let threads = multiproc::thread::Pool::new(2).map_err(err("thread::Pool(2)"))?;
    let rate = best_rate(rounds, n_map, || {
        let out = threads.map(square, 0..n_map).map_err(err("map"))?;
        black_box(out);
        Ok(())
    })?;
    figures.push(
        Figure::new(NAME, "thread::Pool(2).map x*x", rate, "items/s", Better::Higher)
            .peer(PeerQuery::new("pool2_map").filter("chunksize", "default"))
            .with("n", n_map)
            .with("stat", "best of 5"),
    );

    // The thread twin of the queue: a producer thread and this one.
    let n_queue: u64 = if q { 100_000 } else { 1_000_000 };
    let rate = best_rate(rounds, n_queue, || {
        let queue = multiproc::thread::Queue::<u64>::unbounded().map_err(err("thread::Queue"))?;
        let producer = {
            let queue = queue.clone();
            std::thread::spawn(move || (0..n_queue).try_for_each(|i| queue.put(i)))
        };
        let mut sum = 0u64;
        for _ in 0..n_queue {
            sum = sum.wrapping_add(queue.get().map_err(err("get"))?);
        }
        producer
            .join()
            .map_err(|_| "the producer panicked".to_string())?
            .map_err(err("put"))?;
        if sum != n_queue * (n_queue - 1) / 2 {
            return Err("thread::Queue lost items".into());
        }
        Ok(())
    })?;
    figures.push(
        Figure::new(
            NAME,
            "thread::Queue put/get, 2 threads",
            rate,
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("tqueue_put_get"))
        .with("n", n_queue)
        .with("stat", "best of 5"),
    );
    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}
