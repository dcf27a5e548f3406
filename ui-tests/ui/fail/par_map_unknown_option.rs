use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    let _ = par_map!(square, 0..10u64, proc = 2);
    let _ = par_map!(square, 0..10u64, workers = 2);
}
