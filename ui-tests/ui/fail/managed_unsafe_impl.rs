// #[managed] on an `unsafe impl` block.

pub struct Counter(u64);

#[multiproc::managed]
unsafe impl Counter {
    pub fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
