use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let factor = 3;
    let labels = par_map!(|x: u64| format!("{x} times {factor}"), 0..10u64, procs = 2)?;
    println!("{labels:?}");
    Ok(())
}
