// An `unsafe` #[managed] method.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub unsafe fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
