use multiproc::prelude::*;

#[process_fn]
fn f(names: Vec<&'static str>) -> usize {
    names.len()
}

fn main() {}
