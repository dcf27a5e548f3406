// A #[managed] method with an `impl Trait` argument.

pub struct Log(Vec<String>);

#[multiproc::managed]
impl Log {
    pub fn push(&mut self, line: impl Into<String>) {
        self.0.push(line.into());
    }
}

fn main() {}
