use multiproc::prelude::*;

#[process_fn]
struct Config {
    x: u64,
}

fn main() {}
