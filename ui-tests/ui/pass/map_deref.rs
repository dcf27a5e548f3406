use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    let squares: Vec<u64> = (1..=4).map(*square).collect();
    assert_eq!(squares, [1, 4, 9, 16]);
}
