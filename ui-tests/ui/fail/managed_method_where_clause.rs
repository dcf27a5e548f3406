// A #[managed] method with a `where` clause: the error points at the
// clause.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub fn get(&self) -> u64
    where
        u64: Copy,
    {
        self.0
    }
}

fn main() {}
