//! `ProcessPoolExecutor`: results and failures per future, a killed worker,
//! cancellation, lazy map with a timeout, shutdown, and futures of both
//! executors mixed in `wait` / `as_completed`.

use std::time::Duration;

use multiproc::executor::{as_completed, wait, AnyFuture, ProcessPoolExecutor, ReturnWhen, ThreadPoolExecutor};
use multiproc::prelude::*;
use multiproc_tests::{eventually, send_signal, METHODS, PATIENCE};

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

#[process_fn]
fn checked_half(x: u64) -> multiproc::Result<u64> {
    if x % 2 == 1 {
        return Err(Error::Usage(format!("{x} is odd").into()));
    }
    Ok(x / 2)
}

#[process_fn]
fn explode(x: u64) -> u64 {
    panic!("exploded on {x}");
}

/// Writes its pid to `path`, then waits until `path` is removed (or a
/// minute has passed).
#[process_fn]
fn parked(path: String) -> u32 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    let t = std::time::Instant::now();
    while std::path::Path::new(&path).exists() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    7
}

/// A `parked` task's flag file.
struct Flag(String);

impl Flag {
    fn new(tag: &str) -> Flag {
        let path = std::env::temp_dir().join(format!("multiproc-ppe-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Flag(path.to_string_lossy().into_owned())
    }

    /// Waits until the task wrote its pid; returns it.
    fn pid(&self) -> i32 {
        assert!(eventually(
            || std::fs::read_to_string(&self.0).is_ok_and(|s| !s.is_empty())
        ));
        std::fs::read_to_string(&self.0).unwrap().parse().unwrap()
    }

    /// Lets the task finish.
    fn release(&self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Drop for Flag {
    fn drop(&mut self) {
        self.release();
    }
}

#[test]
fn results_errors_and_panics_for_every_start_method() {
    for method in METHODS {
        let ex = ProcessPoolExecutor::builder()
            .max_workers(2)
            .start_method(method)
            .build()
            .unwrap();
        let ok = ex.submit(square, (9,)).unwrap();
        let err = ex.submit(checked_half, (3,)).unwrap();
        let boom = ex.submit(explode, (5,)).unwrap();
        assert_eq!(ok.result_timeout(PATIENCE).unwrap(), 81, "{method:?}");
        // The task's own error is its value; the executor's errors are the outer ones.
        assert!(
            matches!(err.result(), Ok(Err(Error::Usage(m))) if m == "3 is odd"),
            "{method:?}"
        );
        match boom.result() {
            Err(Error::Panicked { message, location, .. }) => {
                assert_eq!(message, "exploded on 5");
                assert!(location.unwrap().contains("process_executor.rs"));
            }
            other => panic!("{method:?}: {other:?}"),
        }
        // The workers survive a panicking task.
        assert_eq!(ex.submit(square, (3,)).unwrap().result().unwrap(), 9);
    }
}

#[test]
fn a_killed_worker_fails_only_its_future() {
    let ex = ProcessPoolExecutor::new(2).unwrap();
    let flag = Flag::new("killed");
    let victim = ex.submit(parked, (flag.0.clone(),)).unwrap();
    let others: Vec<_> = (0..50u64).map(|i| ex.submit(square, (i,)).unwrap()).collect();
    let dead = flag.pid();
    send_signal(dead, libc::SIGKILL);
    match victim.result_timeout(PATIENCE) {
        Err(Error::Signaled { name, .. }) => assert_eq!(name, "SIGKILL"),
        other => panic!("{other:?}"),
    }
    for (i, f) in others.iter().enumerate() {
        assert_eq!(f.result_timeout(PATIENCE).unwrap(), (i * i) as u64);
    }
    // Replaced, and still serving.
    assert!(eventually(|| {
        let pids = ex.worker_pids();
        pids.len() == 2 && !pids.contains(&dead)
    }));
    assert_eq!(ex.submit(square, (12,)).unwrap().result().unwrap(), 144);
}

#[test]
fn queued_futures_can_be_cancelled() {
    const TAG: &str = "cancel";
    let ex = ProcessPoolExecutor::new(1).unwrap();
    let flag = Flag::new(TAG);
    let busy = ex.submit(parked, (flag.0.clone(),)).unwrap();
    flag.pid();
    assert!(busy.running() && !busy.cancel());
    // Workers claim a few tasks ahead, never a thousand.
    let queued: Vec<_> = (0..1000u64).map(|i| ex.submit(square, (i,)).unwrap()).collect();
    let last = queued.last().unwrap();
    assert!(last.cancel() && last.cancelled());
    assert!(matches!(last.result(), Err(Error::Cancelled)));
    flag.release();
    assert_eq!(busy.result_timeout(PATIENCE).unwrap(), 7);
    for (i, f) in queued[..999].iter().enumerate() {
        assert_eq!(f.result_timeout(PATIENCE).unwrap(), (i * i) as u64);
    }
}

#[test]
fn shutdown_cancels_what_no_worker_claimed() {
    const TAG: &str = "shutdown";
    let ex = ProcessPoolExecutor::new(1).unwrap();
    let flag = Flag::new(TAG);
    let busy = ex.submit(parked, (flag.0.clone(),)).unwrap();
    flag.pid();
    let queued: Vec<_> = (0..1000u64).map(|i| ex.submit(square, (i,)).unwrap()).collect();
    ex.shutdown(false, true);
    assert!(matches!(ex.submit(square, (1,)), Err(Error::ExecutorShutdown)));
    flag.release();
    assert_eq!(busy.result_timeout(PATIENCE).unwrap(), 7);
    let cancelled = queued.iter().filter(|f| f.cancelled()).count();
    assert!(cancelled > 0, "nothing was cancelled");
    for (i, f) in queued.iter().enumerate() {
        match f.result_timeout(PATIENCE) {
            Ok(v) => assert_eq!(v, (i * i) as u64),
            Err(Error::Cancelled) => {}
            Err(e) => panic!("item {i}: {e}"),
        }
    }
}

#[test]
fn map_is_ordered_lazy_and_times_out() {
    let ex = ProcessPoolExecutor::new(2).unwrap();
    let squares: Vec<u64> = ex.map(square, 0..200u64, None).map(Result::unwrap).collect();
    assert_eq!(squares, (0..200u64).map(|x| x * x).collect::<Vec<_>>());
    let chunked: Vec<u64> = ex
        .map_chunked(square, 0..10_000u64, 500, None)
        .map(Result::unwrap)
        .collect();
    assert_eq!(chunked.len(), 10_000);
    assert_eq!(chunked[9_999], 9_999 * 9_999);
    // A failed item is its own result, in place.
    let boom: Vec<_> = ex.map(explode, [2u64, 3], None).collect();
    assert!(
        matches!(&boom[1], Err(Error::ItemFailed { index: 1, source }) if source.to_string().contains("exploded on 3"))
    );
    // A timeout ends the iteration with one error.
    let flag = Flag::new("map");
    let mut timed = ex.map(parked, [flag.0.clone()], Some(Duration::from_millis(50)));
    assert!(matches!(timed.next(), Some(Err(Error::Timeout(_)))));
    assert!(timed.next().is_none());
    flag.release();
}

#[test]
fn map_buffered_reads_no_further_than_its_buffer() {
    let ex = ProcessPoolExecutor::new(2).unwrap();
    let (endless, pulled) = multiproc_tests::counted_endless();
    let mut squares = ex.map_buffered(square, endless, 3, None);
    for taken in 0..20u64 {
        assert_eq!(squares.next().unwrap().unwrap(), taken * taken);
        let read = pulled.load(std::sync::atomic::Ordering::SeqCst) as u64;
        assert!(read <= taken + 1 + 3, "{read} items read after {} results", taken + 1);
    }
    drop(squares);
    let mut refused = ex.map_buffered(square, 0..3u64, 0, None);
    assert!(matches!(refused.next(), Some(Err(Error::Usage(why))) if why.contains("buffersize")));
    assert!(refused.next().is_none());
}

#[test]
fn a_shared_object_in_a_task_is_a_clear_error() {
    let ex = ProcessPoolExecutor::new(1).unwrap();
    let event = multiproc::sync::Event::new().unwrap();
    match ex.submit(signal, (event,)) {
        Err(Error::Usage(why)) => assert!(why.contains("initializer"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[process_fn]
fn signal(event: multiproc::sync::Event) {
    event.set();
}

#[test]
fn drop_waits_for_submitted_work() {
    let futures: Vec<_> = {
        let ex = ProcessPoolExecutor::new(2).unwrap();
        (0..100u64).map(|i| ex.submit(square, (i,)).unwrap()).collect()
    };
    assert!(futures.iter().all(|f| f.done()));
    assert_eq!(futures[99].result().unwrap(), 99 * 99);
}

#[test]
fn wait_and_as_completed_mix_both_executors() {
    let procs = ProcessPoolExecutor::new(1).unwrap();
    let threads = ThreadPoolExecutor::new(1).unwrap();
    let flag = Flag::new("mixed");
    let slow = procs.submit(parked, (flag.0.clone(),)).unwrap();
    let fast = threads.submit(|| "thread").unwrap();
    let both = [&slow as &dyn AnyFuture, &fast];
    let (done, not_done) = wait(both, Some(PATIENCE), ReturnWhen::FirstCompleted);
    assert_eq!((done.len(), not_done.len()), (1, 1));
    assert!(std::ptr::addr_eq(done[0], &fast) && std::ptr::addr_eq(not_done[0], &slow));
    let path = flag.0.clone();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        let _ = std::fs::remove_file(path);
    });
    let order: Vec<&dyn AnyFuture> = as_completed(both, Some(PATIENCE)).map(Result::unwrap).collect();
    assert!(std::ptr::addr_eq(order[0], &fast) && std::ptr::addr_eq(order[1], &slow));
    setter.join().unwrap();
    assert_eq!(slow.result().unwrap(), 7);
}

#[process_fn]
fn nap_ms(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

/// `task_timeout` on the executor: the stuck task's future fails with
/// `TaskTimeout`, its worker is replaced, the others complete.
#[test]
fn an_executor_task_over_its_timeout_fails_alone() {
    let ex = multiproc::executor::ProcessPoolExecutor::builder()
        .max_workers(2)
        .task_timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let stuck = ex.submit(nap_ms, (600_000,)).unwrap();
    let quick: Vec<_> = (0..6).map(|i| ex.submit(nap_ms, (i,)).unwrap()).collect();
    assert!(matches!(stuck.result(), Err(multiproc::Error::TaskTimeout(_))));
    for (i, f) in quick.iter().enumerate() {
        assert_eq!(f.result().unwrap(), i as u64);
    }
    assert_eq!(ex.submit(nap_ms, (1,)).unwrap().result().unwrap(), 1);
}

/// `terminate_workers` and `kill_workers`: running futures fail, queued
/// ones are cancelled (or fail likewise if already handed to a worker),
/// nothing more is accepted, and it returns promptly.
#[test]
fn terminate_and_kill_workers_stop_everything() {
    for terminate in [true, false] {
        let ex = multiproc::executor::ProcessPoolExecutor::new(1).unwrap();
        let running = ex.submit(nap_ms, (600_000,)).unwrap();
        let queued = ex.submit(nap_ms, (1,)).unwrap();
        assert!(multiproc_tests::eventually(|| running.running()));
        let started = std::time::Instant::now();
        if terminate {
            ex.terminate_workers();
        } else {
            ex.kill_workers();
        }
        assert!(started.elapsed() < multiproc_tests::PATIENCE);
        assert!(matches!(running.result(), Err(multiproc::Error::PoolTerminated)));
        // Cancelled, or (handed to the worker ahead of time) terminated.
        assert!(queued.cancelled() || matches!(queued.result(), Err(multiproc::Error::PoolTerminated)));
        assert!(matches!(
            ex.submit(nap_ms, (1,)),
            Err(multiproc::Error::ExecutorShutdown)
        ));
    }
}

/// `cancel_running` stops a process task that runs: its worker is killed
/// and replaced, its future fails with `Cancelled`, the others complete.
/// A thread task cannot be stopped; `cancel` keeps Python's meaning.
#[test]
fn cancel_running_stops_a_running_process_task() {
    let ex = ProcessPoolExecutor::new(2).unwrap();
    let stuck = ex.submit(nap_ms, (600_000,)).unwrap();
    assert!(eventually(|| stuck.running()));
    assert!(!stuck.cancel(), "cancel cannot stop a running task");
    let others: Vec<_> = (0..4).map(|i| ex.submit(nap_ms, (i,)).unwrap()).collect();
    let started = std::time::Instant::now();
    assert!(stuck.cancel_running());
    assert!(matches!(
        stuck.result_timeout(PATIENCE),
        Err(multiproc::Error::Cancelled)
    ));
    assert!(started.elapsed() < PATIENCE);
    for (i, f) in others.iter().enumerate() {
        assert_eq!(f.result_timeout(PATIENCE).unwrap(), i as u64);
    }
    assert_eq!(ex.submit(nap_ms, (1,)).unwrap().result().unwrap(), 1);

    let threads = ThreadPoolExecutor::new(1).unwrap();
    let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
    let g = gate.clone();
    let running = threads.submit(move || g.wait()).unwrap();
    assert!(eventually(|| running.running()));
    assert!(!running.cancel_running());
    gate.wait();
}

/// `cancel_running` of a task that a worker has claimed but not started
/// (here the worker is stopped when the task reaches it): the stop waits
/// for the task to start, then kills it. Before, the one wake-up of
/// `cancel_running` found nothing running to kill and nothing woke the
/// pool again once the task started, so the future never finished (a
/// doctest hung in CI that way).
#[test]
fn cancel_running_stops_a_claimed_task_once_it_starts() {
    let ex = ProcessPoolExecutor::new(1).unwrap();
    assert_eq!(ex.submit(nap_ms, (0,)).unwrap().result_timeout(PATIENCE).unwrap(), 0);
    let worker = ex.worker_pids()[0];
    send_signal(worker, libc::SIGSTOP);
    let claimed = ex.submit(nap_ms, (600_000,)).unwrap();
    assert!(eventually(|| claimed.running()), "the worker never claimed the task");
    assert!(claimed.cancel_running());
    send_signal(worker, libc::SIGCONT);
    assert!(matches!(
        claimed.result_timeout(PATIENCE),
        Err(multiproc::Error::Cancelled)
    ));
    assert_eq!(ex.submit(nap_ms, (1,)).unwrap().result_timeout(PATIENCE).unwrap(), 1);
}
