use std::time::Duration;

use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn main() -> multiproc::Result<()> {
    let serial: Vec<u64> = (0..20u64).map(|x| x * x).collect();

    let mut unordered = par_map!(square, 0..20u64, procs = 2, ordered = false)?;
    unordered.sort();
    assert_eq!(unordered, serial);
    assert_eq!(par_map!(square, 0..20u64, procs = 2, ordered = true)?, serial);

    let chunk = 3;
    assert_eq!(par_map!(square, 0..20u64, chunksize = 7, procs = 2)?, serial);
    assert_eq!(par_map!(square, 0..20u64, chunksize = chunk, procs = 2)?, serial);

    let pool = Pool::new(2)?;
    assert_eq!(par_map!(square, 0..20u64, pool = &pool)?, serial);
    assert_eq!(par_map!(|x: u64| x * x, 0..20u64, pool = &pool, chunksize = 5)?, serial);

    let out = par_map!(
        square,
        0..20u64,
        timeout = Duration::from_secs(60),
        progress = false,
        procs = 2
    )?;
    assert_eq!(out, serial);

    // Neither `procs` nor `threads`: one worker per CPU.
    assert_eq!(par_map!(square, 0..20u64)?, serial);
    Ok(())
}
