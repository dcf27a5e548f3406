use multiproc::prelude::*;

fn main() {
    let _ = par_map!(|x: u64| x + 1, 0..10u64, threads = 0);
}
