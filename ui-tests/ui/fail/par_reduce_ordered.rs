use multiproc::prelude::*;

fn main() {
    let _ = par_reduce!(|x: u64| x, 0..10u64, 0u64, |a, b| a + b, procs = 2, ordered = false);
}
