use multiproc::prelude::*;

#[process_fn]
fn hello() -> String {
    "hi".to_string()
}

fn main() {
    assert_eq!(hello(), "hi");
    assert_eq!(hello.call(()), "hi");
    let _: <hello as ProcessFn>::Args = ();
}
