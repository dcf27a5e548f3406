// A generic #[managed] method: a proxy calls it by name, with concrete
// argument types.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter {
    pub fn add<T: Into<u64>>(&mut self, n: T) -> u64 {
        self.0 += n.into();
        self.0
    }
}

fn main() {}
