// A #[managed] method with a borrowed argument (`&str`).

pub struct Log(Vec<String>);

#[multiproc::managed]
impl Log {
    pub fn push(&mut self, line: &str) {
        self.0.push(line.to_string());
    }
}

fn main() {}
