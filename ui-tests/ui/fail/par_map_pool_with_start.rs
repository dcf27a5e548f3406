use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    let pool = Pool::new(2).unwrap();
    let _ = par_map!(square, 0..10u64, pool = &pool, start = spawn);
}
