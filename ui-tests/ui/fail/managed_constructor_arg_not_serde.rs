// A #[managed] constructor whose argument is not a serde type: the error
// points at that type.

pub struct Point {
    pub x: u64,
}

pub struct Track(Vec<u64>);

#[multiproc::managed]
impl Track {
    pub fn starting_at(p: Point) -> Self {
        Track(vec![p.x])
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {}
