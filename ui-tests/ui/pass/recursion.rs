use multiproc::prelude::*;

#[process_fn]
fn factorial(n: u64) -> u64 {
    if n == 0 {
        1
    } else {
        n * factorial(n - 1)
    }
}

fn main() {
    assert_eq!(factorial(5), 120);
    assert_eq!(factorial.call((5,)), 120);
}
