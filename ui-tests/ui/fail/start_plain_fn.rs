use multiproc::prelude::*;

fn plain(x: u64) -> u64 {
    x
}

fn main() {
    let _ = Process::builder().start(plain, (7,));
}
