use multiproc::prelude::*;

#[process_fn]
fn f<T>(x: T) -> T {
    x
}

fn main() {}
