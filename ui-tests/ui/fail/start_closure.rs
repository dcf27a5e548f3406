use multiproc::prelude::*;

fn main() {
    let _ = Process::builder().start(|x: u64| x * 2, (7,));
}
