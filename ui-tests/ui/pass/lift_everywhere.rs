use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let pool = Pool::new(2)?;
    let factor = 3u64;
    let triple = multiproc::lift!(move |x: u64| x * factor);
    assert_eq!(pool.map(triple.clone(), 0..3u64)?, [0, 3, 6]);
    assert_eq!(pool.apply(triple, (5,))?, 15);
    Ok(())
}
