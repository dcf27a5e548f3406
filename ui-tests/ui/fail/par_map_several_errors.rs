use multiproc::prelude::*;

fn main() {
    let offset = 1;
    let _ = par_map!(
        move |x| x + offset,
        0..10u64,
        procs = 0,
        pool = &offset,
        start = threads,
        chunk = 2
    );
}
