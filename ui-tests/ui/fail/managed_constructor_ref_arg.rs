// A #[managed] constructor with a borrowed argument (`&str`).

pub struct Log(Vec<String>);

#[multiproc::managed]
impl Log {
    pub fn with_first(line: &str) -> Self {
        Log(vec![line.to_string()])
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {}
