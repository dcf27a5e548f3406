// A #[managed] method whose argument is not a serde type: the error
// points at that type.

pub struct Point {
    pub x: u64,
}

pub struct Track(Vec<u64>);

#[multiproc::managed]
impl Track {
    pub fn push(&mut self, p: Point) {
        self.0.push(p.x);
    }
}

fn main() {}
