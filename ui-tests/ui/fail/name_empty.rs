use multiproc::prelude::*;

#[process_fn(name = "")]
fn f(x: u64) -> u64 {
    x
}

fn main() {}
