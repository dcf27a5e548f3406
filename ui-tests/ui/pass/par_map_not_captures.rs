use multiproc::prelude::*;

const FACTOR: u64 = 3;
static OFFSET: u64 = 1;

fn helper(x: u64) -> u64 {
    x + 1
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Unit;

fn main() -> multiproc::Result<()> {
    // A function called by name, a const, a static and a unit struct are
    // not captures; nor is anything bound inside the closure.
    assert_eq!(par_map!(|x: u64| helper(x), 0..3u64, procs = 1)?, [1, 2, 3]);
    assert_eq!(par_map!(|x: u64| x * FACTOR + OFFSET, 0..3u64, procs = 1)?, [1, 4, 7]);
    assert_eq!(par_map!(|_x: u64| Unit, 0..1u64, procs = 1)?, [Unit]);
    let f = par_map!(|x: u64| self::helper(x).max(self::FACTOR), 0..3u64, procs = 1)?;
    assert_eq!(f, [3, 3, 3]);
    let described = par_map!(
        |x: Option<u64>| {
            let label = "item";
            let n = match x {
                Some(n) if n > FACTOR => n,
                Some(small) => small * 10,
                None => 0,
            };
            let squares: Vec<u64> = (0..n).map(|i| i * i).collect();
            if let Some(last) = squares.last() {
                format!("{label} {n}: {last} {:>width$}", "", width = 1)
            } else {
                format!("{label} {}", squares.len())
            }
        },
        vec![Some(1), Some(5), None],
        procs = 1
    )?;
    assert_eq!(described, ["item 10: 81  ", "item 5: 16  ", "item 0"]);
    Ok(())
}
