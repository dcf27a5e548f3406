use multiproc::prelude::*;

struct Meters(f64);

fn main() {
    let _ = par_map!(|x: u64| Meters(x as f64), 0..10u64, procs = 2);
}
