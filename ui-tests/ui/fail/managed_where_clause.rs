// #[managed] on an impl block with a `where` clause: the error points at
// the clause.

pub struct Counter(u64);

#[multiproc::managed]
impl Counter
where
    u64: Copy,
{
    pub fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
