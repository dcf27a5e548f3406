use multiproc::prelude::*;

/// Squares its argument.
///
/// More documentation.
#[inline]
#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

/// Attributes after the macro reach the function too.
#[process_fn]
#[inline]
#[must_use]
fn cube(x: u64) -> u64 {
    x * x * x
}

fn main() {
    assert_eq!(square(3), 9);
    assert_eq!(cube(2), 8);
}
