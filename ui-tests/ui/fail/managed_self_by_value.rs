// A #[managed] method that takes `self` by value: the value stays on the
// server.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub fn get(&self) -> u64 {
        self.0
    }

    pub fn into_inner(self) -> u64 {
        self.0
    }
}

fn main() {}
