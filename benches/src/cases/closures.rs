//! Case `closures`: closures that capture, and parallel reductions
//! (issue 24), beside the ways to do the same without them.
//!
//! - `par_map!` of a closure that captures a 1 MiB lookup table, over
//!   100 k items with `procs = 2`, as the issue asks: the time of the
//!   whole call over the same call made with the table passed through a
//!   pool initializer (a `Pool(2)` built for the call, then `par_map!` of a
//!   `#[process_fn]` that reads it; target ≤ 1.10×).
//! - The same two maps on warm pools (both made beforehand): the bytes of
//!   captures sent per call (target: about 2 × 1 MiB, one copy per worker,
//!   not one per item or chunk), and the time ratio, with no target: the
//!   captured variant encodes and sends its table in every call, the
//!   initializer variant once per pool, so on a warm pool the captures'
//!   fixed cost (about 3 ms for 2 × 1 MiB here) is all the difference.
//! - `par_reduce!` sum of 10 M `u64` on a warm `Pool(2)`: its time over
//!   rayon's `par_iter().sum()` on 2 threads (no process boundary at all),
//!   and over `par_map!` of the identity on the same pool followed by a
//!   local sum (which sends every item back).
//!
//! Each timing is the best of 5 (1 with `--quick`), the variants taking
//! turns. No Python peer.

use std::sync::OnceLock;
use std::time::Instant;

use multiproc::prelude::*;

use super::{err, Better, Case, CaseOutput, Figure, Options, Target};

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "closures",
    about: "captured 1 MiB table vs a pool initializer; par_reduce! sum vs rayon and par_map! + sum",
    peer_group: None,
    run,
};

const NAME: &str = "closures";
/// `u64`s in the table: 1 MiB.
const TABLE_LEN: u64 = 131_072;

/// The table a worker's initializer stored.
static TABLE: OnceLock<Vec<u64>> = OnceLock::new();

fn table() -> Vec<u64> {
    (0..TABLE_LEN).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect()
}

#[process_fn]
fn store_table(table: Vec<u64>) {
    let _ = TABLE.set(table);
}

#[process_fn]
fn look_up(i: u64) -> u64 {
    TABLE.get().map_or(0, |t| t[(i % TABLE_LEN) as usize])
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let q = options.quick;
    let rounds = if q { 1 } else { 5 };
    let mut figures = Vec::new();

    // A captured table against one passed through an initializer.
    let n_items = if q { 10_000u64 } else { 100_000 };

    // Each call with its own pool (`procs = 2`), as a one-off map is made.
    let (mut fresh_captured_s, mut fresh_init_s) = (f64::MAX, f64::MAX);
    for round in 0..rounds {
        for turn in [round % 2, 1 - round % 2] {
            let t = Instant::now();
            let got = if turn == 0 {
                let table = table();
                par_map!(move |i: u64| table[(i % TABLE_LEN) as usize], 0..n_items, procs = 2)
                    .map_err(err("captured par_map!(procs = 2)"))?
            } else {
                let pool = Pool::builder()
                    .processes(2)
                    .initializer(store_table, (table(),))
                    .build()
                    .map_err(err("starting Pool(2) with an initializer"))?;
                par_map!(look_up, 0..n_items, pool = &pool).map_err(err("initializer par_map!"))?
            };
            let took = t.elapsed().as_secs_f64();
            if turn == 0 {
                fresh_captured_s = fresh_captured_s.min(took);
            } else {
                fresh_init_s = fresh_init_s.min(took);
            }
            if got.len() as u64 != n_items {
                return Err("a table map lost items".into());
            }
        }
    }
    figures.push(
        Figure::new(
            NAME,
            "captured-table par_map!(procs = 2) time / the same call with an initializer-table pool",
            fresh_captured_s / fresh_init_s,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(1.10))
        .with("captured_ms", fresh_captured_s * 1e3)
        .with("initializer_ms", fresh_init_s * 1e3)
        .with(
            "stat",
            format!("best of {rounds} each, order alternating, a pool per call"),
        ),
    );

    let captured_pool = Pool::new(2).map_err(err("starting Pool(2)"))?;
    let init_pool = Pool::builder()
        .processes(2)
        .initializer(store_table, (table(),))
        .build()
        .map_err(err("starting Pool(2) with an initializer"))?;
    let want: u64 = {
        let t = table();
        (0..n_items)
            .map(|i| t[(i % TABLE_LEN) as usize])
            .fold(0, u64::wrapping_add)
    };
    let (mut captured_s, mut init_s, mut sent_bytes) = (f64::MAX, f64::MAX, 0u64);
    for round in 0..rounds {
        for turn in [round % 2, 1 - round % 2] {
            let t = Instant::now();
            let got = if turn == 0 {
                let table = table();
                let before = multiproc::__private::captures_sent().1;
                let t = Instant::now();
                let got = par_map!(
                    move |i: u64| table[(i % TABLE_LEN) as usize],
                    0..n_items,
                    pool = &captured_pool
                )
                .map_err(err("captured par_map!"))?;
                captured_s = captured_s.min(t.elapsed().as_secs_f64());
                sent_bytes = multiproc::__private::captures_sent().1 - before;
                got
            } else {
                let got = par_map!(look_up, 0..n_items, pool = &init_pool).map_err(err("initializer par_map!"))?;
                init_s = init_s.min(t.elapsed().as_secs_f64());
                got
            };
            if got.into_iter().fold(0, u64::wrapping_add) != want {
                return Err("a table map returned wrong results".into());
            }
        }
    }
    figures.push(
        Figure::new(
            NAME,
            format!(
                "captured 1 MiB table, {} k items: capture bytes sent per call",
                n_items / 1_000
            ),
            sent_bytes as f64,
            "B",
            Better::Lower,
        )
        .target(Target::AtMost(2.0 * 1_048_576.0 + 4_096.0))
        .with("table_bytes", TABLE_LEN * 8)
        .with("item_bytes", n_items * 8),
    );
    figures.push(
        Figure::new(
            NAME,
            "warm pools: captured-table par_map! time / initializer-table par_map! time",
            captured_s / init_s,
            "x",
            Better::Lower,
        )
        .with("captured_ms", captured_s * 1e3)
        .with("initializer_ms", init_s * 1e3)
        .with("stat", format!("best of {rounds} each, order alternating")),
    );
    drop((captured_pool, init_pool));

    // A sum of 10 M: par_reduce! against rayon and against map + sum.
    let n_sum = if q { 1_000_000u64 } else { 10_000_000 };
    let data: Vec<u64> = (0..n_sum).collect();
    let want: u64 = data.iter().sum();
    let pool = Pool::new(2).map_err(err("starting Pool(2)"))?;
    use rayon::prelude::*;
    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .map_err(|e| e.to_string())?;
    let (mut reduce_s, mut rayon_s, mut map_s) = (f64::MAX, f64::MAX, f64::MAX);
    for round in 0..rounds {
        for turn in 0..3 {
            let turn = (turn + round) % 3;
            let t = Instant::now();
            let got: u64 = match turn {
                0 => par_reduce!(|x: u64| x, data.iter().copied(), 0u64, |a, b| a + b, pool = &pool)
                    .map_err(err("par_reduce!"))?,
                1 => rayon_pool.install(|| data.par_iter().sum()),
                _ => par_map!(|x: u64| x, data.iter().copied(), pool = &pool)
                    .map_err(err("par_map!"))?
                    .into_iter()
                    .sum(),
            };
            let s = t.elapsed().as_secs_f64();
            if got != want {
                return Err(format!("sum variant {turn} returned {got}, not {want}"));
            }
            let best = [&mut reduce_s, &mut rayon_s, &mut map_s];
            let slot = best.into_iter().nth(turn).ok_or("no such variant")?;
            *slot = slot.min(s);
        }
    }
    let millions = n_sum / 1_000_000;
    figures.push(
        Figure::new(
            NAME,
            format!("par_reduce! sum of {millions} M u64 / rayon par_iter().sum()"),
            reduce_s / rayon_s,
            "x",
            Better::Lower,
        )
        .with("par_reduce_ms", reduce_s * 1e3)
        .with("rayon_ms", rayon_s * 1e3)
        .with("stat", format!("best of {rounds} each, order rotating")),
    );
    figures.push(
        Figure::new(
            NAME,
            format!("par_reduce! sum of {millions} M u64 / par_map! + local sum"),
            reduce_s / map_s,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(1.0))
        .with("par_reduce_ms", reduce_s * 1e3)
        .with("par_map_sum_ms", map_s * 1e3)
        .with("stat", format!("best of {rounds} each, order rotating")),
    );
    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}
