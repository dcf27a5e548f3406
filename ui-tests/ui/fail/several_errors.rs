use multiproc::prelude::*;

#[process_fn]
async unsafe fn f<T>(s: &str, _t: T) -> &'static str {
    let _ = s;
    "all five errors are reported at once"
}

fn main() {}
