// #[managed] on an impl block of a type without a name (here a tuple).

#[multiproc::managed]
impl (u64, u64) {
    pub fn first(&self) -> u64 {
        self.0
    }
}

fn main() {}
