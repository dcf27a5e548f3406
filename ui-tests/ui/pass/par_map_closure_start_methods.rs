use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let serial: Vec<u64> = (0..10u64).map(|x| x * 3).collect();
    assert_eq!(par_map!(|x: u64| x * 3, 0..10u64, procs = 2, start = fork)?, serial);
    assert_eq!(
        par_map!(|x: u64| x * 3, 0..10u64, procs = 2, start = forkserver)?,
        serial
    );
    assert_eq!(par_map!(|x: u64| x * 3, 0..10u64, procs = 2, start = spawn)?, serial);
    // A pattern parameter, a block body, a result of another type.
    let sums = par_map!(
        |(a, b): (u64, String)| {
            let n = b.len() as u64;
            format!("{a}+{n}={}", a + n)
        },
        vec![(1u64, "ab".to_string())],
        procs = 1,
    )?;
    assert_eq!(sums, ["1+2=3"]);
    Ok(())
}
