use multiproc::prelude::*;

#[process_fn(name = "a", name = "b")]
fn f(x: u64) -> u64 {
    x
}

fn main() {}
