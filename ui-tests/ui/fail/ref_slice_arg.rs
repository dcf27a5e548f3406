use multiproc::prelude::*;

#[process_fn]
fn f(bytes: &[u8]) -> usize {
    bytes.len()
}

fn main() {}
