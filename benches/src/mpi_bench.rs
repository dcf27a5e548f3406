//! The MPI benchmark: the same work on the ranks of an MPI job and on a
//! local process pool, ratios from one run. Run it under `mpirun`:
//!
//! ```sh
//! cargo build --release -p multiproc-benches --features mpi --bin mpi-bench
//! OMPI_MCA_mpi_yield_when_idle=1 mpirun -n 3 target/release/mpi-bench
//! ```
//! (as root add `--allow-run-as-root`, and `--oversubscribe` on 2 cores).
//!
//! - CPU-bound `par_map!` (the pool benchmark's `burn`, 64 items): the ranks'
//!   time against a local `Pool` with as many workers as worker ranks;
//! - trivial `x*x` map, 1 M items: throughput on the ranks and locally;
//! - `x*x` with chunk sizes 1 and 1000, as `benches/peers/mpi4py_baseline.py`
//!   measures mpi4py's `MPIPoolExecutor.map` (run it beside this).
//!
//! Prints one JSON line per figure after the table.

use std::time::Instant;

use multiproc::prelude::*;

mod common;
use common::burn;

#[process_fn]
fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

/// The best time of `rounds` runs of `f`, in seconds.
fn best(rounds: usize, mut f: impl FnMut() -> multiproc::Result<()>) -> multiproc::Result<f64> {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn main() -> multiproc::Result<()> {
    let world = multiproc::mpi::init()?;
    let workers = world.workers();
    let ranks = world.pool()?;
    let local = Pool::new(workers)?;
    let seeds: Vec<u64> = (0..64).collect();
    let n_map = 1_000_000u64;

    let cpu_ranks = best(3, || par_map!(burn, seeds.clone(), pool = &ranks).map(drop))?;
    let cpu_local = best(3, || par_map!(burn, seeds.clone(), pool = &local).map(drop))?;
    let map_ranks = n_map as f64 / best(3, || ranks.map(square, 0..n_map).map(drop))?;
    let map_local = n_map as f64 / best(3, || local.map(square, 0..n_map).map(drop))?;
    // As mpi4py's `MPIPoolExecutor.map` is measured (benches/peers/mpi4py_baseline.py).
    let chunk1 = 10_000f64 / best(3, || ranks.map_chunked(square, 0..10_000u64, 1).map(drop))?;
    let chunk1000 = 100_000f64 / best(3, || ranks.map_chunked(square, 0..100_000u64, 1000).map(drop))?;

    println!(
        "multiproc MPI benchmark — {} ranks ({workers} workers), best of 3",
        world.size()
    );
    println!(
        "{:<52} {:>14} {:>14} {:>8}",
        "figure", "MPI ranks", "local Pool", "ratio"
    );
    println!(
        "{:<52} {:>12.1}ms {:>12.1}ms {:>7.2}x   target <= 1.3x: {}",
        "CPU-bound par_map!(burn), 64 items: time",
        cpu_ranks * 1e3,
        cpu_local * 1e3,
        cpu_ranks / cpu_local,
        if cpu_ranks / cpu_local <= 1.3 { "met" } else { "MISSED" }
    );
    println!(
        "{:<52} {:>10.2}M/s {:>10.2}M/s {:>7.2}x",
        "map x*x, 1 M items: throughput",
        map_ranks / 1e6,
        map_local / 1e6,
        map_ranks / map_local
    );
    println!(
        "{:<52} {:>10.2}M/s   (mpi4py MPIPoolExecutor.map: run benches/peers/mpi4py_baseline.py)",
        "map x*x on the ranks, chunksize 1, 10 k items",
        chunk1 / 1e6
    );
    println!(
        "{:<52} {:>10.2}M/s",
        "map x*x on the ranks, chunksize 1000, 100 k items",
        chunk1000 / 1e6
    );
    println!(
        "{{\"case\":\"mpi\",\"figure\":\"cpu par_map time ranks/local\",\"ranks_s\":{cpu_ranks},\"local_s\":{cpu_local},\"ratio\":{}}}",
        cpu_ranks / cpu_local
    );
    println!(
        "{{\"case\":\"mpi\",\"figure\":\"map x*x items/s\",\"ranks\":{map_ranks},\"local\":{map_local},\"ratio\":{}}}",
        map_ranks / map_local
    );
    Ok(())
}
