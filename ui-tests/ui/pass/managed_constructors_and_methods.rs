// A #[managed] type with constructors, `&self` and `&mut self` methods, a
// method returning `multiproc::Result<T>`, and a private helper that stays
// local: it compiles, and its generated `Managed` impl dispatches by name.

use multiproc::manager::{Managed, ManagerClient};

#[derive(Debug)]
pub struct Counter {
    count: u64,
    step: u64,
}

#[multiproc::managed]
impl Counter {
    /// Starts at zero.
    pub fn new() -> Self {
        Counter { count: 0, step: 1 }
    }

    /// Starts at `count`, adding `step` at a time.
    pub fn with_step(count: u64, step: u64) -> Counter {
        Counter { count, step }
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.count
    }

    /// Adds `times` steps; the new count.
    pub fn bump(&mut self, times: u64) -> u64 {
        self.count += self.scaled(times);
        self.count
    }

    /// Takes `n` off; fails below zero.
    pub fn take(&mut self, n: u64) -> multiproc::Result<u64> {
        self.count = self
            .count
            .checked_sub(n)
            .ok_or_else(|| multiproc::Error::Usage(format!("cannot take {n} from {}", self.count).into()))?;
        Ok(self.count)
    }

    /// Not `pub`: stays local, not on the proxy.
    fn scaled(&self, times: u64) -> u64 {
        times * self.step
    }
}

/// The proxy's signatures: constructors take the manager, methods wrap
/// their result in `multiproc::Result`. Type-checked, not run.
fn _through_the_proxy(manager: &ManagerClient) -> multiproc::Result<()> {
    let p: CounterProxy = CounterProxy::with_step(manager, 10, 5)?;
    let _: CounterProxy = CounterProxy::new(manager)?;
    let _: u64 = p.get()?;
    let _: u64 = p.bump(2)?;
    let _: multiproc::Result<u64> = p.take(1)?;
    let _: CounterProxy = p.clone();
    Ok(())
}

fn main() {
    use multiproc::codec::{decode, encode};

    let mut c = Counter::construct("with_step", &encode(&(10u64, 5u64)).unwrap()).unwrap();
    assert_eq!(c.get(), 10);

    let reply = c.dispatch("bump", &encode(&(2u64,)).unwrap()).unwrap();
    assert_eq!(decode::<u64>(&reply).unwrap(), 20);

    let reply = c.dispatch("take", &encode(&(25u64,)).unwrap()).unwrap();
    let taken: multiproc::Result<u64> = decode(&reply).unwrap();
    assert!(matches!(taken, Err(multiproc::Error::Usage(_))));

    // The private helper is reachable by name neither as a method nor as a
    // constructor.
    assert!(c.dispatch("scaled", &encode(&(1u64,)).unwrap()).is_err());
    assert!(Counter::construct("scaled", &encode(&(1u64,)).unwrap()).is_err());

    let fresh = Counter::construct("new", &encode(&()).unwrap()).unwrap();
    assert_eq!(fresh.get(), 0);
    assert!(<Counter as Managed>::TYPE_NAME.ends_with("::Counter"));
}
