//! Work-conserving dispatch: no task waits behind a busy worker while
//! another worker is idle (the pool and the process executor share it).
//!
//! Each test blocks tasks on process-shared barriers and events, so a task
//! queued behind the wrong worker shows as a timeout, not as a slow run.

use std::sync::OnceLock;
use std::time::Duration;

use multiproc::executor::ProcessPoolExecutor;
use multiproc::prelude::*;
use multiproc::queue::Queue;
use multiproc::sync::{Barrier, Event};
use multiproc_tests::{METHODS, PATIENCE};

static BARRIER: OnceLock<Barrier> = OnceLock::new();

/// The pool's initializer: keeps the barrier every task meets at.
#[process_fn]
fn keep_barrier(barrier: Barrier) {
    let _ = BARRIER.set(barrier);
}

/// Waits for every other task at the barrier; whether they all came.
#[process_fn]
fn meet(patience_ms: u64) -> bool {
    BARRIER
        .get()
        .is_some_and(|b| b.wait_timeout(Duration::from_millis(patience_ms)).is_ok())
}

/// What the hold tests hand each worker: the long task's gate, the short
/// one's, and where a holder says who it is.
static GATES: OnceLock<Gates> = OnceLock::new();
type Gates = (Event, Event, Queue<(bool, i32)>);

#[process_fn]
fn keep_gates(long: Event, short: Event, whose: Queue<(bool, i32)>) {
    let _ = GATES.set((long, short, whose));
}

/// Says which process holds the long (or short) gate, then waits until it
/// opens; whether it did.
#[process_fn]
fn hold(long: bool) -> bool {
    let Some((long_gate, short_gate, whose)) = GATES.get() else {
        return false;
    };
    whose.put((long, std::process::id() as i32)).unwrap();
    if long { long_gate } else { short_gate }.wait_timeout(PATIENCE)
}

/// A pool's or executor's gates, fresh.
fn gates() -> Gates {
    (
        Event::new().unwrap(),
        Event::new().unwrap(),
        Queue::unbounded().unwrap(),
    )
}

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

#[test]
fn n_long_tasks_on_n_workers_all_run_at_once() {
    for method in METHODS {
        for n in [2u32, 3] {
            let barrier = Barrier::new(n).unwrap();
            let pool = Pool::builder()
                .processes(n as usize)
                .start_method(method)
                .initializer(keep_barrier, (barrier,))
                .build()
                .unwrap();
            // One at a time, as a user submits them, and all at once.
            let results: Vec<_> = (0..n)
                .map(|_| pool.apply_async(meet, (PATIENCE.as_millis() as u64,)).unwrap())
                .collect();
            for r in results {
                assert!(r.get().unwrap(), "{method:?}, Pool({n}): a task never met the others");
            }
            assert!(pool
                .map(meet, vec![PATIENCE.as_millis() as u64; n as usize])
                .unwrap()
                .iter()
                .all(|m| *m));
        }
    }
}

#[test]
fn a_quick_task_is_not_queued_behind_a_long_one() {
    for method in METHODS {
        let (long, short, whose) = gates();
        let pool = Pool::builder()
            .processes(2)
            .start_method(method)
            .initializer(keep_gates, (long.clone(), short.clone(), whose.clone()))
            .build()
            .unwrap();
        let a = pool.apply_async(hold, (true,)).unwrap();
        let b = pool.apply_async(hold, (false,)).unwrap();
        // Both workers are busy: this one is queued behind one of them.
        let quick = pool.apply_async(square, (7,)).unwrap();
        // One worker frees up; the quick task must run there, while the
        // other still holds its task.
        short.set();
        assert!(b.get().unwrap());
        assert_eq!(quick.get_timeout(PATIENCE).unwrap(), 49, "{method:?}");
        assert!(!a.ready());
        long.set();
        assert!(a.get().unwrap());
    }
}

#[test]
fn a_stopped_worker_keeps_no_queued_task() {
    let (long, short, whose) = gates();
    let pool = Pool::builder()
        .processes(2)
        .initializer(keep_gates, (long.clone(), short.clone(), whose.clone()))
        .build()
        .unwrap();
    let a = pool.apply_async(hold, (true,)).unwrap();
    let (_, holder) = whose.get_timeout(PATIENCE).unwrap();
    let b = pool.apply_async(hold, (false,)).unwrap();
    let queued: Vec<_> = (0..4).map(|x| pool.apply_async(square, (x,)).unwrap()).collect();
    // The worker with the long task stops; the other finishes its own and
    // must take over whatever was queued behind the stopped one.
    multiproc_tests::send_signal(holder, libc::SIGSTOP);
    short.set();
    assert!(b.get().unwrap());
    let results: Vec<_> = queued.into_iter().map(|r| r.get_timeout(PATIENCE)).collect();
    multiproc_tests::send_signal(holder, libc::SIGCONT);
    for (x, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap(), (x * x) as u64);
    }
    assert!(!a.ready());
    long.set();
    assert!(a.get().unwrap());
}

#[test]
fn the_process_executor_runs_a_quick_task_on_the_idle_worker() {
    let (long, short, whose) = gates();
    let executor = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(keep_gates, (long.clone(), short.clone(), whose))
        .build()
        .unwrap();
    let a = executor.submit(hold, (true,)).unwrap();
    let b = executor.submit(hold, (false,)).unwrap();
    let quick = executor.submit(square, (9,)).unwrap();
    short.set();
    assert!(b.result().unwrap());
    assert_eq!(quick.result_timeout(PATIENCE).unwrap(), 81);
    assert!(!a.done());
    long.set();
    assert!(a.result().unwrap());
}

/// The thread twins take one chunk at a time from one shared queue: a
/// quick task never waits behind a held one while a thread is free.
#[test]
fn the_thread_twins_run_a_quick_task_on_the_free_thread() {
    let (long, short) = (Event::new().unwrap(), Event::new().unwrap());
    let pool = multiproc::thread::Pool::new(2).unwrap();
    let (l, s) = (long.clone(), short.clone());
    let a = pool.apply_async(move || l.wait_timeout(PATIENCE), ()).unwrap();
    let b = pool.apply_async(move || s.wait_timeout(PATIENCE), ()).unwrap();
    let quick = pool.apply_async(|x: u64| x * x, (7,)).unwrap();
    short.set();
    assert!(b.get().unwrap());
    assert_eq!(quick.get_timeout(PATIENCE).unwrap(), 49);
    assert!(!a.ready());
    long.set();
    assert!(a.get().unwrap());

    let (long, short) = (Event::new().unwrap(), Event::new().unwrap());
    let executor = multiproc::executor::ThreadPoolExecutor::new(2).unwrap();
    let (l, s) = (long.clone(), short.clone());
    let a = executor.submit(move || l.wait_timeout(PATIENCE)).unwrap();
    let b = executor.submit(move || s.wait_timeout(PATIENCE)).unwrap();
    let quick = executor.submit(|| 81).unwrap();
    short.set();
    assert!(b.result().unwrap());
    assert_eq!(quick.result_timeout(PATIENCE).unwrap(), 81);
    assert!(!a.done());
    long.set();
    assert!(a.result().unwrap());
}
