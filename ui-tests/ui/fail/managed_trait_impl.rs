// #[managed] on a trait impl: only an inherent `impl Type { … }` block.

pub struct Counter(u64);

#[multiproc::managed]
impl Default for Counter {
    fn default() -> Self {
        Counter(0)
    }
}

fn main() {}
