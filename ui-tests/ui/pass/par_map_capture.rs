use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    // Captured without `move`: the value travels to the workers all the
    // same, and stays usable here.
    let factor = 3;
    let tripled = par_map!(|x: u64| x * factor, 0..10u64, procs = 2)?;
    assert_eq!(tripled, (0..10).map(|x| x * factor).collect::<Vec<u64>>());
    Ok(())
}
