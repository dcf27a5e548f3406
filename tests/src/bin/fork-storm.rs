//! Forks while other threads make their *first* use of the library.
//!
//! A forked child inherits every lock and every lazy initialisation exactly
//! as the other threads of its parent left them. This program looks for the
//! children that hang because of it:
//!
//! ```sh
//! # the long run (not CI): 10 000 forks, prints the count of stuck children
//! cargo run --release -p multiproc-tests --bin fork-storm -- 10000
//! ```
//!
//! The driver starts fresh processes of itself (`fork-storm one …`), since a
//! first use happens once per process. Each of them starts five threads that
//! at once take their first `Lock`, `Queue`, `Pipe`, manager client and
//! `Pool`, and meanwhile forks children with `StartMethod::Fork`; every child
//! uses a lock, a queue, a pipe and the manager itself. A child that does not
//! finish within a generous deadline is counted as stuck and killed.
//!
//! The last line printed is `forks=N stuck=S`; the exit status is 1 when
//! `S > 0`.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use multiproc::manager::{BaseManager, DictProxy, Object};
use multiproc::prelude::*;
use multiproc::queue::Queue;
use multiproc::sync::Lock;

const AUTHKEY: &[u8] = b"fork-storm";
/// Forks per fresh process.
const FORKS_PER_PROCESS: usize = 5;
/// How long a child may take before it counts as stuck: far beyond the
/// milliseconds it needs, even on a loaded 2-core machine.
const CHILD_DEADLINE: Duration = Duration::from_secs(30);

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

/// What every thread and every child does: one use of each object kind.
fn use_everything(address: &str) -> multiproc::Result<u64> {
    let lock = Lock::new()?;
    drop(lock.acquire().map_err(|e| usage(e.to_string()))?);
    let queue = Queue::<u64>::unbounded()?;
    queue.put(7)?;
    let mut sum = queue.get()?;
    let (a, b) = multiproc::pipe::Pipe::new()?;
    a.send(&5u64)?;
    sum += b.recv::<u64>()?;
    let client = BaseManager::connect(address, AUTHKEY)?;
    let dict: DictProxy<u64, u64> = client.get("table")?;
    dict.insert(&sum, &sum)?;
    Ok(sum)
}

/// One fresh process: first uses on five threads, forks on this one.
fn one(address: &str) -> multiproc::Result<(usize, usize)> {
    let start = Barrier::new(6);
    let mut stuck = 0;
    std::thread::scope(|s| -> multiproc::Result<()> {
        let start = &start;
        s.spawn(move || {
            start.wait();
            let lock = Lock::new().expect("lock");
            drop(lock.acquire());
        });
        s.spawn(move || {
            start.wait();
            let q = Queue::<u64>::unbounded().expect("queue");
            q.put(1).expect("put");
            q.get().expect("get");
        });
        s.spawn(move || {
            start.wait();
            let (a, b) = multiproc::pipe::Pipe::new().expect("pipe");
            a.send(&1u64).expect("send");
            b.recv::<u64>().expect("recv");
        });
        s.spawn(move || {
            start.wait();
            let client = BaseManager::connect(address, AUTHKEY).expect("connect");
            let dict: DictProxy<u64, u64> = client.get("table").expect("table");
            dict.insert(&1, &1).expect("insert");
        });
        s.spawn(move || {
            start.wait();
            let pool = Pool::new(1).expect("pool");
            pool.map(square, 0..4u64).expect("map");
        });
        start.wait();
        let mut children = Vec::new();
        for _ in 0..FORKS_PER_PROCESS {
            let address = address.to_string();
            children.push(
                Process::builder()
                    .start_method(StartMethod::Fork)
                    .fork(move || use_everything(&address).is_ok())?,
            );
        }
        let deadline = Instant::now() + CHILD_DEADLINE;
        for mut child in children {
            match child.join_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(true) => {}
                Ok(false) => return Err(usage("a child's use of the library failed")),
                Err(multiproc::Error::Timeout(_)) => {
                    eprintln!("stuck child: pid {}", child.pid());
                    let _ = child.kill();
                    stuck += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })?;
    Ok((FORKS_PER_PROCESS, stuck))
}

/// Runs fresh processes until `forks` children were forked.
fn drive(forks: usize) -> multiproc::Result<usize> {
    let server = BaseManager::builder()
        .address("127.0.0.1:0")
        .authkey(AUTHKEY)
        .register_shared("table", Object::dict())
        .start()?;
    let address = server.address().to_string();
    let exe = std::env::current_exe().map_err(|e| usage(e.to_string()))?;
    let (mut done, mut stuck) = (0, 0);
    let started = Instant::now();
    while done < forks {
        // A group of its own, so that whatever it leaves behind (a stuck
        // child whose parent hung too) can be killed with it.
        let mut one = Command::new(&exe)
            .args(["one", &address])
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| usage(format!("starting a fresh process: {e}")))?;
        let deadline = Instant::now() + CHILD_DEADLINE + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = one.try_wait().map_err(|e| usage(e.to_string()))? {
                break Some(status);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        // Nothing of the group may outlive it (and hold its stdout open).
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(-(one.id() as i32), libc::SIGKILL) };
        let _ = one.wait();
        let mut out = String::new();
        if let Some(mut pipe) = one.stdout.take() {
            use std::io::Read;
            let _ = pipe.read_to_string(&mut out);
        }
        match (status, parse(&out)) {
            (Some(s), Some((n, k))) if s.success() => {
                done += n;
                stuck += k;
            }
            (None, _) => {
                eprintln!("a fresh process hung (pid {}): counted as stuck", one.id());
                done += FORKS_PER_PROCESS;
                stuck += 1;
            }
            (Some(s), _) => {
                return Err(usage(format!("a fresh process failed ({s}): {out}")));
            }
        }
        if done % 1000 < FORKS_PER_PROCESS {
            eprintln!("{done} forks, {stuck} stuck, {:.0?}", started.elapsed());
        }
    }
    server.shutdown();
    println!("forks={done} stuck={stuck}");
    Ok(stuck)
}

fn parse(out: &str) -> Option<(usize, usize)> {
    let line = out.lines().last()?;
    let (forks, stuck) = line.split_once(' ')?;
    Some((
        forks.strip_prefix("forks=")?.parse().ok()?,
        stuck.strip_prefix("stuck=")?.parse().ok()?,
    ))
}

fn main() -> multiproc::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, address] if mode == "one" => {
            let (forks, stuck) = one(address)?;
            println!("forks={forks} stuck={stuck}");
        }
        [forks] => {
            let forks = forks
                .parse()
                .map_err(|_| usage(format!("not a count of forks: {forks}")))?;
            if drive(forks)? > 0 {
                std::process::exit(1);
            }
        }
        _ => return Err(usage("usage: fork-storm <forks> | fork-storm one <address>")),
    }
    Ok(())
}

fn usage(what: impl Into<String>) -> multiproc::Error {
    multiproc::Error::Usage(what.into().into())
}
