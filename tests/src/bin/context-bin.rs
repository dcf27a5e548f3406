//! A plain binary that starts entries with each start method; the
//! `contexts` test runs it and reads its output. Its `main` must run once.

use multiproc::prelude::*;

#[process_fn]
fn local_square(x: u64) -> u64 {
    x * x
}

fn main() {
    multiproc_tests::context_main("bin", local_square);
}
