// A #[managed] method that takes the managed type itself as an argument:
// its values stay on the server.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub fn merge(&mut self, other: Counter) {
        self.0 += other.0;
    }
}

fn main() {}
