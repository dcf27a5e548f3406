use multiproc::prelude::*;

#[process_fn]
fn f() -> &'static str {
    "hello"
}

fn main() {}
