// A #[managed] type used for real: a `Manager` server process makes the
// value with the generated `TallyProxy::new(&manager, …)`, and the proxy's
// methods run on it there.

use multiproc::manager::Manager;

pub struct Tally {
    total: u64,
}

#[multiproc::managed]
impl Tally {
    pub fn new(total: u64) -> Self {
        Tally { total }
    }

    pub fn add(&mut self, n: u64) -> u64 {
        self.total += n;
        self.total
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

fn main() {
    let manager = Manager::start().unwrap();
    let tally = TallyProxy::new(&manager, 5).unwrap();
    assert_eq!(tally.add(2).unwrap(), 7);
    assert_eq!(tally.clone().add(3).unwrap(), 10);
    assert_eq!(tally.total().unwrap(), 10);
}
