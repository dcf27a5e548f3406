use multiproc::prelude::*;

#[process_fn]
fn f(s: &str) -> usize {
    s.len()
}

fn main() {}
