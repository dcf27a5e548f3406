use multiproc::prelude::*;

#[process_fn]
fn f<'a>(x: u64) -> u64 {
    x
}

fn main() {}
