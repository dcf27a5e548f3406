use multiproc::prelude::*;

#[process_fn(name = "custom::name")]
fn f(x: u64) -> u64 {
    x
}

fn main() {
    assert_eq!(f.name(), "custom::name");
    assert!(multiproc::registered_entries().contains(&"custom::name"));
}
