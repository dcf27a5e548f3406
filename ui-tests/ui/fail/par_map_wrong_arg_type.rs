use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    let _ = par_map!(square, vec!["a"], procs = 2);
}
