// #[managed] on a function instead of an impl block.

#[multiproc::managed]
pub fn get() -> u64 {
    0
}

fn main() {}
