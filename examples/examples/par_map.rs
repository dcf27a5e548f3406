//! `par_map!`: one line to map a function over data in parallel — in worker
//! processes, or on threads.
//!
//! Run with `cargo run -p multiproc-examples --example par_map`.

use multiproc::prelude::*;

/// Counts the primes below `n` the slow way: CPU-bound work for the workers.
#[process_fn]
fn primes_below(n: u64) -> usize {
    (2..n)
        .filter(|&k| (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count()
}

fn main() -> multiproc::Result<()> {
    let limits: Vec<u64> = (1..=8).map(|i| i * 10_000).collect();

    // A #[process_fn] in four worker processes; results in input order.
    let counts = par_map!(primes_below, limits.clone(), procs = 4)?;
    for (n, count) in limits.iter().zip(&counts) {
        println!("{count:>5} primes below {n}");
    }

    // A closure works too, when it captures nothing: par_map! lifts it into
    // an entry that the workers find by name. Its parameter's type is
    // written out; here the workers are re-executed copies of this program.
    let pids = par_map!(|_item: u32| std::process::id(), 0..8u32, procs = 2, start = spawn)?;
    let mut distinct = pids.clone();
    distinct.sort();
    distinct.dedup();
    println!(
        "8 items ran in {} worker processes (this one is {})",
        distinct.len(),
        std::process::id()
    );

    // On threads of this process a closure may capture, and borrow the data.
    let scale = 2.5;
    let scaled = par_map!(|n: &u64| *n as f64 * scale, &limits, threads = 4)?;
    println!("scaled on threads: {scaled:?}");
    Ok(())
}
