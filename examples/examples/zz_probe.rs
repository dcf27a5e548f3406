use multiproc::prelude::*;
use std::time::Instant;
#[process_fn]
fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}
fn main() {
    let pool = Pool::new(2).unwrap();
    pool.map(square, 0..1000u64).unwrap();
    for n in [100_000u64, 1_000_000, 1_000_000, 1_000_000] {
        let t = Instant::now();
        let out = pool.map(square, 0..n).unwrap();
        let e = t.elapsed();
        println!("map n={n}: {:?} {:.1} M items/s", e, n as f64 / e.as_secs_f64() / 1e6);
        assert_eq!(out.len() as u64, n);
    }
    let t = Instant::now();
    let n = 100_000u64;
    let pending: Vec<_> = (0..n).map(|i| pool.apply_async(square, (i,)).unwrap()).collect();
    let sub = t.elapsed();
    for r in &pending {
        r.get().unwrap();
    }
    println!(
        "apply_async n={n}: submit {:?} total {:?} {:.0} k/s",
        sub,
        t.elapsed(),
        n as f64 / t.elapsed().as_secs_f64() / 1e3
    );
}
