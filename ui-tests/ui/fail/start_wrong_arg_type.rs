use multiproc::prelude::*;

#[process_fn]
fn f(x: u64) -> u64 {
    x
}

fn main() {
    let _ = Process::builder().start(f, ("wrong type",));
}
