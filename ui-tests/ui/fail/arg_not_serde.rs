use multiproc::prelude::*;

struct Point {
    x: u64,
}

#[process_fn]
fn f(p: Point) -> u64 {
    p.x
}

fn main() {}
