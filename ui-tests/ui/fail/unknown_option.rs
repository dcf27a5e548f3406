use multiproc::prelude::*;

#[process_fn(foo = 1)]
fn f(x: u64) -> u64 {
    x
}

fn main() {}
