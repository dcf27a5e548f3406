use multiproc::prelude::*;

#[process_fn]
fn f(x: u64) -> u64
where
    u64: Copy,
{
    x
}

fn main() {}
