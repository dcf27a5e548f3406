use multiproc::prelude::*;

#[process_fn]
fn log(x: u64) {
    let _ = x;
}

fn main() {
    log(1);
    let (): <log as ProcessFn>::Output = log.call((2,));
}
