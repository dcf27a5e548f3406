use multiproc::prelude::*;

struct Point {
    x: u64,
}

#[process_fn]
fn f(x: u64) -> Point {
    Point { x }
}

fn main() {}
