// #[managed] takes no options.

pub struct Counter(u64);

#[multiproc::managed(name = "counter")]
impl Counter {
    pub fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
