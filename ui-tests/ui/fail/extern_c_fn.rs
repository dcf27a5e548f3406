use multiproc::prelude::*;

#[process_fn]
extern "C" fn f(x: u64) -> u64 {
    x
}

fn main() {}
