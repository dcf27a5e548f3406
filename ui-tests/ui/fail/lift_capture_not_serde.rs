use multiproc::prelude::*;

fn main() -> multiproc::Result<()> {
    let pool = Pool::new(2)?;
    let log = std::fs::File::open("/dev/null").unwrap();
    let write = multiproc::lift!(move |x: u64| {
        let _ = &log;
        x
    });
    let _ = pool.map(write, 0..3u64)?;
    Ok(())
}
