// A #[managed] method whose result is not a serde type: the error points
// at that type.

pub struct Point {
    pub x: u64,
}

pub struct Track(Vec<u64>);

#[multiproc::managed]
impl Track {
    pub fn last(&self) -> Point {
        Point { x: self.0[0] }
    }
}

fn main() {}
