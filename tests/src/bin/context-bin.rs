//! A plain binary that starts entries with each start method; the
//! `contexts` test runs it and reads its output. Its `main` must run once.

use multiproc::prelude::*;

#[process_fn]
fn local_square(x: u64) -> u64 {
    x * x
}

fn main() {
    println!("main ran in {}", std::process::id());
    multiproc_tests::report_every_method("bin");
    for method in multiproc_tests::METHODS {
        let v = Process::builder()
            .start_method(method)
            .start(local_square, (12,))
            .and_then(|mut p| p.join())
            .unwrap();
        println!("bin-local {method} ok {v}");
    }
}
