use multiproc::prelude::*;

#[process_fn(name = 3)]
fn f(x: u64) -> u64 {
    x
}

fn main() {}
