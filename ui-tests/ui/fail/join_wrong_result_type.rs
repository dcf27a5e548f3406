use multiproc::prelude::*;

#[process_fn]
fn f(x: u64) -> u64 {
    x
}

fn main() {
    let mut p = Process::builder().start(f, (7,)).unwrap();
    let _s: String = p.join().unwrap();
}
