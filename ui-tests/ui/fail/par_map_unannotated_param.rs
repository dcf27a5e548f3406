use multiproc::prelude::*;

fn main() {
    let _ = par_map!(|x| x + 1, 0..10u64, procs = 2);
}
