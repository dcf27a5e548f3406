use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    let _ = par_map!(square, 0..10u64, procs = 2, threads = 2);
}
