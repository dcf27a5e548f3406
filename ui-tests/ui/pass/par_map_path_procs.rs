use multiproc::prelude::*;

mod m {
    use multiproc::prelude::*;

    #[process_fn]
    pub fn square(x: u64) -> u64 {
        x * x
    }
}

use m::square;

fn main() -> multiproc::Result<()> {
    let serial: Vec<u64> = (0..10u64).map(|x| x * x).collect();
    assert_eq!(par_map!(square, 0..10u64, procs = 2)?, serial);
    assert_eq!(
        par_map!(crate::m::square, (0..10u64).collect::<Vec<_>>(), procs = 2,)?,
        serial
    );
    let n = 2;
    assert_eq!(
        par_map!(m::square, (0..10u64).rev().rev(), procs = n, start = fork)?,
        serial
    );
    Ok(())
}
