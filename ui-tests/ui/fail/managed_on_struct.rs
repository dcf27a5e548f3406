// #[managed] on the struct instead of its impl block.

#[multiproc::managed]
pub struct Counter(u64);

fn main() {}
