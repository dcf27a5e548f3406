use multiproc::prelude::*;

struct Counter;

impl Counter {
    #[process_fn]
    fn make(x: u64) -> u64 {
        x
    }
}

fn main() {}
