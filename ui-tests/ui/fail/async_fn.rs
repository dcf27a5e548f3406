use multiproc::prelude::*;

#[process_fn]
async fn f(x: u64) -> u64 {
    x
}

fn main() {}
