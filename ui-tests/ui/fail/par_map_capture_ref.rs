use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let rows: Vec<u64> = vec![1, 2, 3];
    let table: &Vec<u64> = &rows;
    let _ = par_map!(move |i: usize| table[i], 0..3usize, procs = 2)?;
    Ok(())
}
