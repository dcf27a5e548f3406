use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let mut seen = 0u64;
    let _ = par_map!(
        move |x: u64| {
            seen += 1;
            x * 2
        },
        0..3u64,
        procs = 2
    )?;
    println!("{seen}");
    Ok(())
}
