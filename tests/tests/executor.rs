//! `ThreadPoolExecutor`, `Future`, `wait`, `as_completed`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use multiproc::executor::{as_completed, wait, AnyFuture, Future, ReturnWhen, ThreadPoolExecutor};
use multiproc::Error;
use multiproc_tests::{block_on, counted_endless, PATIENCE};

#[test]
fn results_errors_and_panics() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let ok = pool.submit(|| 7).unwrap();
    let bad = pool.submit(|| -> u8 { panic!("boom") }).unwrap();
    assert_eq!(ok.result_timeout(PATIENCE).unwrap(), 7);
    assert!(matches!(bad.result(), Err(Error::Panicked { ref message, .. }) if message == "boom"));
    assert!(bad.error().is_some() && ok.error().is_none());
    // The pool survives a panicking task.
    assert_eq!(pool.submit(|| 8).unwrap().result().unwrap(), 8);
}

#[test]
fn error_timeout_reports_each_outcome() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let busy = pool
        .submit(move || {
            g.wait();
            3
        })
        .unwrap();
    let queued = pool.submit(|| 4).unwrap();
    // Not done in time: the error is the timeout, and the task goes on.
    let short = Duration::from_millis(5);
    assert!(matches!(busy.error_timeout(short), Err(Error::Timeout(d)) if d == short));
    // Cancelled: the call's own error, as Python's `exception()` raises.
    assert!(queued.cancel());
    assert!(matches!(queued.error_timeout(PATIENCE), Err(Error::Cancelled)));
    gate.wait();
    // Succeeded: no error.
    assert!(busy.error_timeout(PATIENCE).unwrap().is_none());
    assert_eq!(busy.result().unwrap(), 3);
    // Failed: its error, as many times as asked.
    let bad = pool.submit(|| -> u8 { panic!("boom") }).unwrap();
    for _ in 0..2 {
        let e = bad.error_timeout(PATIENCE).unwrap();
        assert!(matches!(e, Some(Error::Panicked { ref message, .. }) if message == "boom"));
    }
}

#[test]
fn cancel_only_before_running() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let busy = pool.submit(move || g.wait().is_leader()).unwrap();
    let queued = pool.submit(|| 1).unwrap();
    assert!(queued.cancel());
    assert!(queued.cancelled() && queued.done());
    assert!(matches!(queued.result(), Err(Error::Cancelled)));
    // Running: too late.
    let t = Instant::now();
    while !busy.running() && t.elapsed() < PATIENCE {
        std::thread::yield_now();
    }
    assert!(!busy.cancel());
    gate.wait();
    busy.result().unwrap();
}

#[test]
fn shutdown_can_cancel_queued_work() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let busy = pool
        .submit(move || {
            g.wait();
        })
        .unwrap();
    let queued: Vec<Future<u32>> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
    // Only queued work is cancelled: wait until `busy` runs.
    assert!(multiproc_tests::eventually(|| busy.running()));
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        gate.wait();
    });
    pool.shutdown(true, true);
    releaser.join().unwrap();
    busy.result().unwrap();
    assert!(queued.iter().all(Future::cancelled));
    assert!(matches!(pool.submit(|| 0), Err(Error::ExecutorShutdown)));
}

#[test]
fn map_is_lazy_and_ordered() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (endless, pulled) = counted_endless();
    let first: Vec<u64> = pool.map(|x| x * 2, endless, None).take(5).map(Result::unwrap).collect();
    assert_eq!(first, vec![0, 2, 4, 6, 8]);
    assert!(pulled.load(Ordering::Relaxed) <= 5 + 4);
    let timed: Vec<_> = pool
        .map(
            |ms: u64| std::thread::sleep(Duration::from_millis(ms)),
            [0, 1000],
            Some(Duration::from_millis(200)),
        )
        .collect();
    assert!(timed[0].is_ok());
    assert!(matches!(timed[1], Err(Error::Timeout(_))));
}

#[test]
fn map_buffered_reads_no_further_than_its_buffer() {
    let pool = ThreadPoolExecutor::new(4).unwrap();
    let (endless, pulled) = counted_endless();
    // Each item outlives the caller's wait for the head, so a bound that
    // leaked would show: idle threads would take more.
    let mut slow = pool.map_buffered(
        |x: u64| {
            std::thread::sleep(Duration::from_millis(2));
            x
        },
        endless,
        2,
        None,
    );
    for taken in 0..20u64 {
        assert_eq!(slow.next().unwrap().unwrap(), taken);
        let read = pulled.load(Ordering::SeqCst) as u64;
        assert!(read <= taken + 1 + 2, "{read} items read after {} results", taken + 1);
    }
    drop(slow);
    let mut refused = pool.map_buffered(|x: u64| x, 0..3, 0, None);
    assert!(matches!(refused.next(), Some(Err(Error::Usage(why))) if why.contains("buffersize")));
    assert!(refused.next().is_none());
}

#[test]
fn wait_and_as_completed_over_mixed_futures() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let other = ThreadPoolExecutor::new(1).unwrap();
    let slow = pool.submit(|| std::thread::sleep(Duration::from_millis(300))).unwrap();
    let fast = other.submit(|| "fast").unwrap();
    let mixed = [&slow as &dyn AnyFuture, &fast];
    let (done, not_done) = wait(mixed, Some(PATIENCE), ReturnWhen::FirstCompleted);
    assert_eq!((done.len(), not_done.len()), (1, 1));
    assert!(done[0].is_done() && !not_done[0].is_done());
    let failing = pool.submit(|| -> u8 { panic!("x") }).unwrap();
    let (done, _) = wait(
        [&slow as &dyn AnyFuture, &failing],
        Some(PATIENCE),
        ReturnWhen::FirstException,
    );
    assert!(done.iter().any(|f| f.is_failed()));
    let (done, not_done) = wait(mixed, Some(PATIENCE), ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (2, 0));

    let long = pool.submit(|| std::thread::sleep(Duration::from_secs(2))).unwrap();
    let quick = pool.submit(|| ()).unwrap();
    let got: Vec<_> = as_completed([&long, &quick], Some(Duration::from_millis(200))).collect();
    assert!(matches!(&got[0], Ok(f) if **f == quick));
    assert!(matches!(got[1], Err(Error::Pending { pending: 1, total: 2 })));
    assert_eq!(got.len(), 2);
}

/// A future passed twice is reported once, as Python's sets do (it came
/// back twice), and both take a plain `&Vec` of futures.
#[test]
fn wait_and_as_completed_report_each_future_once() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let a = pool.submit(|| 1).unwrap();
    let b = pool.submit(|| 2).unwrap();
    let futures = vec![a.clone(), b.clone(), a.clone()];
    let (done, not_done) = wait(&futures, Some(PATIENCE), ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (2, 0));
    let mut values: Vec<i32> = as_completed(&futures, Some(PATIENCE))
        .map(|f| f.unwrap().result().unwrap())
        .collect();
    values.sort();
    assert_eq!(values, [1, 2]);
}

#[test]
fn done_callbacks_run_once_and_may_panic() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let f = pool.submit(|| 1).unwrap();
    let c = count.clone();
    f.add_done_callback(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    f.add_done_callback(|_| panic!("callback bug"));
    f.result().unwrap();
    let c = count.clone();
    f.add_done_callback(move |f| {
        assert!(f.done());
        c.fetch_add(1, Ordering::SeqCst);
    });
    assert!(multiproc_tests::eventually(|| count.load(Ordering::SeqCst) == 2));
    assert_eq!(pool.submit(|| 2).unwrap().result().unwrap(), 2);
}

#[test]
fn futures_can_be_awaited() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let a = pool.submit(|| 20).unwrap();
    let b = pool.submit(|| 22).unwrap();
    let sum = block_on(async { a.await.unwrap() + b.await.unwrap() });
    assert_eq!(sum, 42);
}

/// A panicking initializer breaks the executor, as in Python: pending
/// futures fail with `InitializerFailed` carrying the panic (they hung),
/// and so does every later `submit` (it said `ExecutorShutdown`).
#[test]
fn a_panicking_initializer_breaks_the_thread_executor() {
    let ex = multiproc::executor::ThreadPoolExecutor::builder()
        .max_workers(2)
        .initializer(|| panic!("no database"))
        .build()
        .unwrap();
    let futures: Vec<_> = (0..4).filter_map(|i| ex.submit(move || i).ok()).collect();
    for f in &futures {
        match f.result_timeout(multiproc_tests::PATIENCE) {
            Err(multiproc::Error::InitializerFailed(m)) => assert!(m.contains("no database"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(multiproc_tests::eventually(|| matches!(
        ex.submit(|| 0),
        Err(multiproc::Error::InitializerFailed(_))
    )));
}

/// `map` keeps the threads busy while the caller waits on a long first
/// item: the later items are submitted as others finish. Before, it waited
/// for the first before submitting past twice the workers, so the first
/// item, which needs the last one to have run, never finished; and then,
/// about once in 130 rounds, the items that finished between the top-up
/// and the wait left it waiting on the head alone. Hence the rounds.
#[test]
fn executor_map_keeps_submitting_while_the_first_item_runs() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let items = 12u32;
    for round in 0..400 {
        let last_ran = Arc::new(multiproc::sync::Event::new().unwrap());
        let seen = last_ran.clone();
        let results: Vec<u32> = pool
            .map(
                move |i: u32| {
                    if i == 0 {
                        assert!(seen.wait_timeout(Duration::from_secs(10)), "the last item never ran");
                    } else if i == items - 1 {
                        seen.set();
                    }
                    i
                },
                0..items,
                Some(PATIENCE),
            )
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(results, (0..items).collect::<Vec<_>>());
    }
}
