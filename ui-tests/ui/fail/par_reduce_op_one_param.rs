use multiproc::prelude::*;

fn main() {
    let _ = par_reduce!(|x: u64| x, 0..10u64, 0u64, |a| a, procs = 2);
}
