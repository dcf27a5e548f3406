use multiproc::prelude::*;

#[process_fn]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

fn main() {
    let mut p = Process::builder()
        .start_method(StartMethod::Fork)
        .start(add, (2, 3))
        .unwrap();
    let sum: u64 = p.join().unwrap();
    assert_eq!(sum, 5);
}
