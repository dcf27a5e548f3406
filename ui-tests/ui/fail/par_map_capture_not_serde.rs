use multiproc::prelude::*;

struct Table {
    rows: Vec<u64>,
}

fn main() -> multiproc::Result<()> {
    let table = Table { rows: vec![1, 2, 3] };
    let _ = par_map!(move |i: usize| table.rows[i], 0..3usize, procs = 2)?;
    Ok(())
}
