use multiproc::prelude::*;

fn main() {
    let _ = par_map!(move |x: u64| x + 1, 0..10u64, procs = 2);
}
