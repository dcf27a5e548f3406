// A #[managed] type whose impl block has no public `&self`/`&mut self`
// method: a constructor and a private method are not enough.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub fn new() -> Self {
        Counter(0)
    }

    fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
