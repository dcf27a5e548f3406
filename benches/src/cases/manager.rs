//! Case `manager`: proxy round trips, beside Python's `Manager()` and
//! `BaseManager` on the same work (one client, one call at a time):
//!
//! - `dict` set and get through a [`Manager`] (abstract Unix socket);
//! - a lock acquire + release pair;
//! - a `#[managed]` method call through a [`BaseManager`] at `127.0.0.1`
//!   (a local client takes its Unix twin), and the same call over TCP.

use std::time::Instant;

use multiproc::manager::{BaseManager, Manager, Object};

use super::{err, Better, Case, CaseOutput, Figure, Options, PeerQuery, Target};

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "manager",
    about: "Manager dict set/get, lock pairs, BaseManager TCP method calls: proxy round trips",
    peer_group: Some("manager"),
    run,
};

const NAME: &str = "manager";

/// A counter on the server.
pub(crate) struct Tally(u64);

#[multiproc::managed]
impl Tally {
    /// Starts at zero.
    pub(crate) fn new() -> Self {
        Tally(0)
    }

    /// Adds `n`; the new total.
    pub(crate) fn add(&mut self, n: u64) -> u64 {
        self.0 += n;
        self.0
    }
}

/// Ops per second of `n` runs of `op`, best of `rounds`.
fn rate(rounds: usize, n: u64, mut op: impl FnMut(u64) -> multiproc::Result<()>) -> Result<f64, String> {
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let t = Instant::now();
        for i in 0..n {
            op(i).map_err(err("proxy call"))?;
        }
        best = best.max(n as f64 / t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let (rounds, n) = if options.quick { (1, 2_000) } else { (3, 20_000) };
    let mut figures = Vec::new();
    let manager = Manager::start().map_err(err("Manager::start"))?;
    let dict = manager.dict::<u64, u64>().map_err(err("dict"))?;
    let set = rate(rounds, n, |i| dict.insert(&(i % 100), &i).map(drop))?;
    figures.push(
        Figure::new(NAME, "Manager dict set", set, "ops/s", Better::Higher)
            .peer(PeerQuery::new("manager_dict_set"))
            .target(Target::PeerFactorAtLeast(10.0))
            .with("n", n),
    );
    let get = rate(rounds, n, |i| dict.get(&(i % 100)).map(drop))?;
    figures.push(
        Figure::new(NAME, "Manager dict get", get, "ops/s", Better::Higher)
            .peer(PeerQuery::new("manager_dict_get"))
            .target(Target::PeerFactorAtLeast(10.0))
            .with("n", n),
    );
    let lock = manager.lock().map_err(err("lock"))?;
    let pairs = rate(rounds, n / 2, |_| lock.acquire().map(drop))?;
    figures.push(
        Figure::new(NAME, "Manager lock acquire+release", pairs, "pairs/s", Better::Higher)
            .peer(PeerQuery::new("manager_lock_pair"))
            .with("n", n / 2),
    );
    drop(manager);

    let server = BaseManager::builder()
        .authkey(b"bench")
        .register_shared("tally", Object::managed(Tally::new()))
        .start()
        .map_err(err("BaseManager::start"))?;
    let client = BaseManager::connect(&server.address().to_string(), b"bench").map_err(err("connect"))?;
    let tally: TallyProxy = client.get("tally").map_err(err("get"))?;
    let calls = rate(rounds, n, |_| tally.add(1).map(drop))?;
    figures.push(
        Figure::new(
            NAME,
            "BaseManager 127.0.0.1 #[managed] call",
            calls,
            "ops/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("basemanager_tcp_call"))
        .target(Target::PeerFactorAtLeast(10.0))
        .with("n", n),
    );
    // The network path on this machine: the same call over TCP, where
    // every frame is encrypted and tagged (AES-256-GCM).
    let remote =
        multiproc::fuzz::manager_over_tcp(&server.address().to_string(), b"bench").map_err(err("connect over TCP"))?;
    let tally: TallyProxy = remote.get("tally").map_err(err("get"))?;
    let calls = rate(rounds, n, |_| tally.add(1).map(drop))?;
    figures.push(
        Figure::new(
            NAME,
            "BaseManager over TCP #[managed] call",
            calls,
            "ops/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("basemanager_tcp_call"))
        .with("n", n),
    );
    server.shutdown();
    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}
