use multiproc::prelude::*;

#[process_fn]
unsafe fn f(x: u64) -> u64 {
    x
}

fn main() {}
