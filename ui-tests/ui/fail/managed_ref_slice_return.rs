// A #[managed] method that returns a borrow (`&[u8]`).

pub struct Buffer(Vec<u8>);

#[multiproc::managed]
impl Buffer {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

fn main() {}
