use multiproc::prelude::*;

fn main() {
    let pool = Pool::new(2).unwrap();
    let _ = pool.map(|x: u64| x * 2, 0..10u64);
}
