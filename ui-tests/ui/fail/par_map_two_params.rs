use multiproc::prelude::*;

fn main() {
    let _ = par_map!(|a: u64, b: u64| a + b, [(1u64, 2u64)], procs = 2);
}
