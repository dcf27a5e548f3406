use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    // `move` with nothing to capture, and with several captures.
    assert_eq!(par_map!(move |x: u64| x + 1, 0..3u64, procs = 2)?, [1, 2, 3]);
    let (offset, names) = (10u64, vec!["a".to_string(), "b".to_string()]);
    let got = par_map!(move |i: usize| format!("{}{}", names[i], offset + i as u64), 0..2usize, procs = 2)?;
    assert_eq!(got, ["a10", "b11"]);
    Ok(())
}
