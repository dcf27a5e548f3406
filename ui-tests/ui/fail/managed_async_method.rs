// An `async` #[managed] method.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub async fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
