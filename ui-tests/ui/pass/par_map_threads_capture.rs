use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn double(x: &u64) -> u64 {
    x * 2
}

fn main() -> multiproc::Result<()> {
    let factor = 3;
    let v: Vec<u64> = (0..100).collect();
    // Over `&vec`: items are `&u64`, and the closure may capture.
    let tripled = par_map!(|x: &u64| x * factor, &v, threads = 2)?;
    assert_eq!(tripled, v.iter().map(|x| x * factor).collect::<Vec<_>>());
    // Over a range, with an un-annotated and a `move` closure.
    let shifted = par_map!(move |x| x + factor, 0..100u64, threads = 2)?;
    assert_eq!(shifted[99], 102);
    // A #[process_fn] and a plain function on threads; a set is collected first.
    assert_eq!(par_map!(square, 0..4u64, threads = 2)?, [0, 1, 4, 9]);
    assert_eq!(par_map!(double, &v, threads = 1)?[50], 100);
    let set = std::collections::BTreeSet::from([1u8, 2]);
    assert_eq!(par_map!(|x| x + 1, set, threads = 2)?, [2, 3]);
    let threads = 2;
    let strings = par_map!(|s: String| s.len(), vec!["a".to_string()], threads = threads)?;
    assert_eq!(strings, [1]);
    Ok(())
}
