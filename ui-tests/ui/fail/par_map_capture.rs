use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let factor = 3;
    let tripled = par_map!(|x: u64| x * factor, 0..10u64, procs = 2)?;
    println!("{tripled:?}");
    Ok(())
}
