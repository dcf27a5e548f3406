// A #[managed] method that returns the managed type itself (as `Self`):
// only a constructor returns `Self`.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub fn fork(&self) -> Self {
        Counter(self.0)
    }
}

fn main() {}
