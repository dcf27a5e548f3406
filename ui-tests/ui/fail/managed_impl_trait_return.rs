// A #[managed] method that returns `impl Trait`.

pub struct Log(Vec<String>);

#[multiproc::managed]
impl Log {
    pub fn lines(&self) -> impl Iterator<Item = String> {
        self.0.clone().into_iter()
    }
}

fn main() {}
