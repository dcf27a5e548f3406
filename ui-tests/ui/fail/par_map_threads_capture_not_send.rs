use std::rc::Rc;

use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let factor = Rc::new(3u64);
    let _ = par_map!(move |x: u64| x * *factor, 0..3u64, threads = 2)?;
    let counter = std::cell::Cell::new(0u64);
    let _ = par_map!(|x: u64| x + counter.get(), 0..3u64, threads = 2)?;
    Ok(())
}
