use multiproc::prelude::*;

#[process_fn]
fn add((a, b): (u64, u64)) -> u64 {
    a + b
}

#[process_fn]
fn countdown(mut x: u64) -> u64 {
    while x > 1 {
        x -= 1;
    }
    x
}

fn main() {
    assert_eq!(add((2, 3)), 5);
    assert_eq!(add.call(((2, 3),)), 5);
    assert_eq!(countdown(10), 1);
    assert_eq!(countdown.call((10,)), 1);
}
