use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    // A capture used only inside a format string.
    let factor = 3;
    let labels = par_map!(|x: u64| format!("{x} times {factor}"), 0..2u64, procs = 2)?;
    assert_eq!(labels, ["0 times 3", "1 times 3"]);
    Ok(())
}
