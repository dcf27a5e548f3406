// #[managed] on a generic impl block: the server makes values of one
// concrete type, by name.

pub struct Cell<T>(T);

#[multiproc::managed]
impl<T: Clone + Send + 'static> Cell<T> {
    pub fn get(&self) -> u64 {
        0
    }
}

fn main() {}
