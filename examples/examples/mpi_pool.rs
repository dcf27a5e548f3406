//! The guide's CPU-bound map, across the ranks of an MPI job: the same
//! `#[process_fn]` and `Pool` calls as the local example, with the workers
//! on other ranks (on this machine or others).
//!
//! Build and run (Debian: `apt-get install openmpi-bin libopenmpi-dev libclang-dev clang`):
//! ```sh
//! cargo build -p multiproc-examples --features mpi --example mpi_pool
//! mpirun -n 3 target/debug/examples/mpi_pool
//! ```
//! (As root, add `--allow-run-as-root`; on a machine with fewer cores than
//! ranks, `--oversubscribe`.)

use std::hint::black_box;
use std::time::Instant;

use multiproc::prelude::*;

/// CPU-bound work: the guide's `sum(i * i for i in range(n))`.
#[process_fn]
fn cpu_task(n: u64) -> u64 {
    (0..n).map(|i| black_box(i * i)).sum()
}

fn main() -> multiproc::Result<()> {
    let world = multiproc::mpi::init()?; // worker ranks serve in here
    println!("rank 0 of {}: {} worker ranks", world.size(), world.workers());
    let pool = world.pool()?;
    let jobs = vec![2_000_000u64; 16];
    let t = Instant::now();
    let sums = pool.map(cpu_task, jobs.clone())?;
    println!("{} CPU-bound tasks on the ranks in {:?}", sums.len(), t.elapsed());
    let t = Instant::now();
    let serial: Vec<u64> = jobs.iter().map(|&n| cpu_task(n)).collect();
    println!("the same, serially here, in {:?}", t.elapsed());
    assert_eq!(sums, serial);
    let squares = par_map!(|x: u64| x * x, 0..10u64, pool = &pool)?;
    println!("par_map! on the ranks: {squares:?}");
    Ok(())
}
