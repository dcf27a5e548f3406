//! Nothing leaks: after many create / use / drop cycles of each kind of
//! object, for every start method, this process's open descriptors, child
//! processes, threads and `/dev/shm` are back where they started.
//!
//! One test (not several) so that no other test of this binary runs at the
//! same time and moves the counts.

use std::collections::BTreeSet;
use std::time::Duration;

use multiproc::executor::{ProcessPoolExecutor, ThreadPoolExecutor};
use multiproc::manager::Manager;
use multiproc::prelude::*;
use multiproc::queue::{JoinableQueue, Queue};
use multiproc::shared::{Array, SharedMemory, Value};
use multiproc::sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore};
use multiproc_tests::{eventually, METHODS};

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

/// What a leak would change.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Footprint {
    fds: BTreeSet<String>,
    children: BTreeSet<String>,
    threads: usize,
    shm: BTreeSet<String>,
}

fn names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn footprint() -> Footprint {
    let mut children = BTreeSet::new();
    for task in names("/proc/self/task") {
        if let Ok(list) = std::fs::read_to_string(format!("/proc/self/task/{task}/children")) {
            children.extend(list.split_whitespace().map(str::to_string));
        }
    }
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Threads:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    Footprint {
        fds: names("/proc/self/fd"),
        children,
        threads,
        shm: names("/dev/shm"),
    }
}

impl Footprint {
    /// Whether nothing is here that was not in `before`.
    fn within(&self, before: &Footprint) -> bool {
        self.fds.is_subset(&before.fds)
            && self.children.is_subset(&before.children)
            && self.threads <= before.threads
            && self.shm.is_subset(&before.shm)
    }
}

/// Runs `cycle` `n` times and checks that nothing is left that was not
/// there before (child processes and threads may take a moment to be
/// reaped and joined).
fn no_leak(what: &str, n: usize, mut cycle: impl FnMut(usize)) {
    // One cycle first: lazily created process-wide state (the forkserver,
    // a manager client's registry) is not a leak.
    cycle(0);
    let before = footprint();
    let started = std::time::Instant::now();
    for i in 1..=n {
        cycle(i);
    }
    let settled = eventually(|| footprint().within(&before));
    let after = footprint();
    assert!(
        settled,
        "{what}: {n} cycles leaked\nbefore: {before:?}\nafter:  {after:?}"
    );
    eprintln!("{what}: {n} cycles in {:?}, nothing left behind", started.elapsed());
}

#[test]
fn create_use_drop_cycles_leave_nothing_behind() {
    for method in METHODS {
        let n = 1000;
        no_leak(&format!("Pool({method:?})"), n, |i| {
            let pool = Pool::builder().processes(1).start_method(method).build().unwrap();
            assert_eq!(pool.apply(square, (i as u64,)).unwrap(), (i * i) as u64);
        });
        no_leak(&format!("ProcessPoolExecutor({method:?})"), n, |i| {
            let ex = ProcessPoolExecutor::builder()
                .max_workers(1)
                .start_method(method)
                .build()
                .unwrap();
            assert_eq!(
                ex.submit(square, (i as u64,)).unwrap().result().unwrap(),
                (i * i) as u64
            );
        });
        no_leak(&format!("Process({method:?})"), n, |i| {
            let mut p = Process::builder()
                .start_method(method)
                .start(square, (i as u64,))
                .unwrap();
            assert_eq!(p.join().unwrap(), (i * i) as u64);
        });
    }
    no_leak("a dropped, still-running Process", 1000, |_| {
        let p = Process::builder()
            .fork(|| std::thread::sleep(Duration::from_secs(60)))
            .unwrap();
        let _ = p.kill();
    });
    no_leak("ThreadPoolExecutor", 1000, |i| {
        let ex = ThreadPoolExecutor::new(2).unwrap();
        assert_eq!(ex.submit(move || i + 1).unwrap().result().unwrap(), i + 1);
    });
    no_leak("thread::Pool", 1000, |i| {
        let pool = multiproc::thread::Pool::new(2).unwrap();
        assert_eq!(pool.apply(move || i, ()).unwrap(), i);
        pool.close();
        pool.join().unwrap();
    });
    no_leak("Queue, JoinableQueue, Pipe", 1000, |i| {
        let q = Queue::<u64>::bounded(4).unwrap();
        q.put(i as u64).unwrap();
        assert_eq!(q.get().unwrap(), i as u64);
        let j = JoinableQueue::<Vec<u8>>::unbounded().unwrap();
        j.put(vec![0u8; 100_000]).unwrap(); // a large item: the memfd path
        j.get().unwrap();
        j.task_done().unwrap();
        let (a, b) = multiproc::pipe::Pipe::new().unwrap();
        a.send(&i).unwrap();
        assert_eq!(b.recv::<usize>().unwrap(), i);
    });
    no_leak("sync primitives and shared memory", 1000, |i| {
        drop(Lock::new().unwrap().acquire().unwrap());
        drop(RLock::new().unwrap().acquire().unwrap());
        drop(Semaphore::new(1).unwrap().acquire());
        BoundedSemaphore::new(1).unwrap().try_acquire();
        Event::new().unwrap().set();
        drop(Condition::new().unwrap());
        Barrier::new(1).unwrap().wait().unwrap();
        Value::new(i as u64).unwrap().set(1).unwrap();
        Array::<u8>::new(16).unwrap();
        SharedMemory::new(4096).unwrap();
    });
    no_leak("Manager", 1000, |i| {
        let manager = Manager::start().unwrap();
        let list = manager.list::<usize>().unwrap();
        list.push(&i).unwrap();
        assert_eq!(list.len().unwrap(), 1);
    });
}
