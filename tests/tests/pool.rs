//! `Pool`: every method, and every way a task can fail, for every start
//! method. Failures stay with their task; the pool goes on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use multiproc::prelude::*;
use multiproc::Callbacks;
use multiproc_tests::{eventually, is_gone, send_signal, METHODS, PATIENCE};

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

#[process_fn]
fn pid_of(_x: u64) -> i32 {
    std::process::id() as i32
}

#[process_fn]
fn add3(a: u64, b: u64, c: u64) -> u64 {
    a + b + c
}

#[process_fn]
fn fail_on(x: u64, bad: u64) -> u64 {
    assert!(x != bad, "item {x} is bad");
    x
}

#[process_fn]
fn not_three(x: u64) -> u64 {
    assert!(x != 3, "item {x} is bad");
    x
}

/// Writes this worker's pid to `marker`, then sleeps until killed.
#[process_fn]
fn block(marker: String) -> u64 {
    std::fs::write(&marker, std::process::id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(600));
    0
}

#[process_fn]
fn crash(how: String) -> u64 {
    match how.as_str() {
        "abort" => std::process::abort(),
        "exit" => std::process::exit(7),
        // SAFETY: deliberately crashes the worker with a real SIGSEGV.
        "segv" => unsafe {
            std::ptr::null_mut::<u8>().write_volatile(1);
            0
        },
        _ => 1,
    }
}

#[process_fn]
fn slow_first(x: u64) -> (u64, i32) {
    if x == 0 {
        std::thread::sleep(Duration::from_secs(1));
    }
    (x, std::process::id() as i32)
}

#[process_fn]
fn init_fails(message: String) {
    panic!("{message}")
}

#[process_fn]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn pool(method: StartMethod, n: usize) -> Pool {
    Pool::builder().processes(n).start_method(method).build().unwrap()
}

fn marker(name: &str) -> String {
    let path = std::env::temp_dir().join(format!("multiproc-pool-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path.to_string_lossy().into_owned()
}

fn wait_for_pid(marker: &str) -> i32 {
    assert!(eventually(
        || std::fs::read_to_string(marker).is_ok_and(|s| !s.is_empty())
    ));
    let pid = std::fs::read_to_string(marker).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(marker);
    pid
}

#[test]
fn every_method_gives_results_in_order() {
    for method in METHODS {
        let p = pool(method, 2);
        assert_eq!(
            p.map(square, 0..100).unwrap(),
            (0..100).map(|x| x * x).collect::<Vec<_>>()
        );
        assert_eq!(p.map_chunked(square, 0..10, 3).unwrap()[9], 81);
        assert_eq!(p.apply(add3, (1, 2, 3)).unwrap(), 6);
        assert_eq!(p.starmap(add3, vec![(1, 1, 1), (2, 2, 2)]).unwrap(), vec![3, 6]);
        assert_eq!(p.starmap_async(add3, vec![(0, 0, 1)]).unwrap().get().unwrap(), vec![1]);
        assert_eq!(
            p.map_async(square, vec![3]).unwrap().get_timeout(PATIENCE).unwrap(),
            vec![9]
        );
        let ordered: Vec<u64> = p.imap(square, 0..50).map(Result::unwrap).collect();
        assert_eq!(ordered, (0..50).map(|x| x * x).collect::<Vec<_>>());
        let mut unordered: Vec<u64> = p.imap_unordered_chunked(square, 0..50, 7).map(Result::unwrap).collect();
        unordered.sort();
        assert_eq!(unordered, ordered);
        assert!(p.map(square, Vec::<u64>::new()).unwrap().is_empty());
        p.close();
        p.join_timeout(PATIENCE).unwrap();
    }
}

#[test]
fn a_panicking_item_fails_alone_with_its_index() {
    for method in METHODS {
        let p = pool(method, 2);
        match p.starmap(fail_on, (0..20).map(|x| (x, 13))) {
            Err(Error::ItemFailed { index: 13, source }) => {
                assert!(matches!(*source, Error::Panicked { ref message, .. } if message == "item 13 is bad"));
            }
            other => panic!("{method}: {other:?}"),
        }
        let results: Vec<_> = p.imap_unordered(square, 0..5).collect();
        assert!(results.iter().all(Result::is_ok));
        let err = p.apply(fail_on, (1, 1)).unwrap_err();
        assert!(matches!(err, Error::Panicked { location: Some(ref l), .. } if l.contains("tests/tests/pool.rs")));
        // The pool stays usable, with the same workers.
        assert_eq!(p.apply(square, (4,)).unwrap(), 16);
    }
}

#[test]
fn a_sigkilled_worker_fails_only_its_task_and_is_replaced() {
    for method in METHODS {
        let p = pool(method, 2);
        let before = p.worker_pids();
        let m = marker(&format!("kill-{method}"));
        let blocked = p.apply_async(block, (m.clone(),)).unwrap();
        let others: Vec<_> = (0..40).map(|i| p.apply_async(square, (i,)).unwrap()).collect();
        let victim = wait_for_pid(&m);
        assert!(before.contains(&victim));
        send_signal(victim, libc::SIGKILL);
        match blocked.get_timeout(PATIENCE) {
            Err(Error::Signaled {
                name: "SIGKILL", pid, ..
            }) => assert_eq!(pid, victim),
            other => panic!("{method}: {other:?}"),
        }
        for (i, r) in others.iter().enumerate() {
            assert_eq!(r.get_timeout(PATIENCE).unwrap(), (i * i) as u64, "{method}");
        }
        assert!(eventually(
            || !p.worker_pids().contains(&victim) && p.worker_pids().len() == 2
        ));
        assert_eq!(p.map(square, 0..10).unwrap()[3], 9);
        assert!(eventually(|| is_gone(victim)));
    }
}

#[test]
fn abort_segfault_and_exit_are_named() {
    for method in METHODS {
        let p = pool(method, 2);
        let cases = [("abort", "SIGABRT"), ("segv", "SIGSEGV")];
        for (how, signal) in cases {
            let err = p.apply(crash, (how.to_string(),)).unwrap_err();
            assert!(
                matches!(err, Error::Signaled { name, .. } if name == signal),
                "{method} {how}: {err:?}"
            );
        }
        let err = p.apply(crash, ("exit".to_string(),)).unwrap_err();
        assert!(matches!(err, Error::Exited { code: 7, .. }), "{method}: {err:?}");
        // map reports the crashed item's index; the rest completed.
        match p.map_chunked(crash, ["ok", "ok", "exit", "ok"].map(String::from), 1) {
            Err(Error::ItemFailed { index: 2, source }) => assert!(matches!(*source, Error::Exited { code: 7, .. })),
            other => panic!("{method}: {other:?}"),
        }
        let items: Vec<multiproc::Result<u64>> = p.imap(crash, ["ok", "abort", "ok"].map(String::from)).collect();
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[2].is_ok(), "{method}: {items:?}");
        assert!(matches!(&items[1], Err(Error::ItemFailed { index: 1, .. })));
    }
}

#[test]
fn a_task_timeout_kills_and_replaces_the_worker() {
    for method in METHODS {
        let p = Pool::builder()
            .processes(2)
            .start_method(method)
            .task_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let slow = p.apply_async(sleep_ms, (600_000,)).unwrap();
        let quick = p.apply_async(sleep_ms, (1,)).unwrap();
        match slow.get_timeout(PATIENCE) {
            Err(Error::TaskTimeout(d)) => assert_eq!(d, Duration::from_millis(300)),
            other => panic!("{method}: {other:?}"),
        }
        assert_eq!(quick.get_timeout(PATIENCE).unwrap(), 1);
        assert_eq!(p.apply(square, (5,)).unwrap(), 25);
    }
}

#[test]
fn a_failing_initializer_is_a_clear_error() {
    for method in METHODS {
        let err = Pool::builder()
            .processes(2)
            .start_method(method)
            .initializer(init_fails, ("no database".to_string(),))
            .build()
            .unwrap_err();
        match err {
            Error::InitializerFailed(message) => assert!(message.contains("no database"), "{message}"),
            other => panic!("{method}: {other:?}"),
        }
    }
}

#[test]
fn maxtasksperchild_replaces_workers() {
    for method in METHODS {
        let p = Pool::builder()
            .processes(2)
            .start_method(method)
            .maxtasksperchild(1)
            .build()
            .unwrap();
        let pids = p.map_chunked(pid_of, 0..6, 1).unwrap();
        let mut distinct = pids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "{method}: {pids:?}");
    }
}

#[test]
fn imap_pulls_input_lazily() {
    let p = pool(StartMethod::ForkServer, 2);
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let endless = (0u64..).inspect(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let first: Vec<u64> = p.imap(square, endless).take(10).map(Result::unwrap).collect();
    assert_eq!(first[9], 81);
    // The window is bounded (4096 items at chunk size 1): far from endless.
    assert!(
        pulled.load(Ordering::Relaxed) <= 4096 + 10,
        "{}",
        pulled.load(Ordering::Relaxed)
    );
}

#[test]
fn an_uneven_workload_balances() {
    let p = pool(StartMethod::ForkServer, 2);
    let results = p.map_chunked(slow_first, 0..200, 1).unwrap();
    let slow_pid = results[0].1;
    let by_other = results.iter().filter(|(_, pid)| *pid != slow_pid).count();
    // While one worker sleeps on item 0, the other claims most of the rest.
    assert!(by_other >= 100, "the other worker ran only {by_other} of 199");
}

#[test]
fn callbacks_run_before_ready_and_may_panic() {
    let p = pool(StartMethod::ForkServer, 1);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (ok, err) = (seen.clone(), seen.clone());
    let both = Callbacks::new()
        .on_success(move |v: &u64| ok.lock().unwrap().push(format!("ok {v}")))
        .on_error(move |e| err.lock().unwrap().push(format!("err {e}")));
    let r = p.apply_async_with(square, (3,), both).unwrap();
    r.wait();
    assert_eq!(*seen.lock().unwrap(), vec!["ok 9".to_string()]);
    let e2 = seen.clone();
    let only_error = Callbacks::new().on_error(move |e| e2.lock().unwrap().push(e.to_string()));
    let r = p.apply_async_with(fail_on, (2, 2), only_error).unwrap();
    assert!(r.get().is_err());
    assert!(seen.lock().unwrap()[1].contains("item 2 is bad"));
    // An error callback alone: a success runs nothing.
    let e3 = seen.clone();
    let only_error = Callbacks::new().on_error(move |e| e3.lock().unwrap().push(e.to_string()));
    assert_eq!(p.apply_async_with(square, (5,), only_error).unwrap().get().unwrap(), 25);
    assert_eq!(seen.lock().unwrap().len(), 2);
    // A panicking callback is contained; the pool goes on.
    let r = p
        .apply_async_with(square, (2,), Callbacks::new().on_success(|_| panic!("callback bug")))
        .unwrap();
    assert_eq!(r.get_timeout(PATIENCE).unwrap(), 4);
    assert_eq!(p.apply(square, (9,)).unwrap(), 81);
    // The two-closure form still works.
    #[allow(deprecated)]
    let r = p.apply_async_callback(square, (4,), |_| {}, |_| {}).unwrap();
    assert_eq!(r.get_timeout(PATIENCE).unwrap(), 16);
}

#[test]
fn map_and_starmap_async_run_optional_callbacks() {
    for method in METHODS {
        let p = pool(method, 2);
        // A success callback gets every result, in order, before `ready`.
        let (tx, rx) = std::sync::mpsc::channel();
        let on = Callbacks::new().on_success(move |v: &Vec<u64>| tx.send(v.clone()).unwrap());
        let r = p.map_async_with(square, 0..20, on).unwrap();
        assert!(r.wait_timeout(PATIENCE), "{method}");
        assert_eq!(rx.try_recv().unwrap(), (0..20).map(|x| x * x).collect::<Vec<_>>());
        // An error callback gets the first failed item, by index.
        let (tx, rx) = std::sync::mpsc::channel();
        let on = Callbacks::new()
            .on_success(|_: &Vec<u64>| panic!("no success expected"))
            .on_error(move |e| tx.send(e.clone()).unwrap());
        let r = p.starmap_async_with(fail_on, (0..20).map(|x| (x, 7)), on).unwrap();
        assert!(r.wait_timeout(PATIENCE), "{method}");
        match rx.try_recv().unwrap() {
            Error::ItemFailed { index: 7, .. } => {}
            other => panic!("{method}: {other:?}"),
        }
        assert!(matches!(r.get(), Err(Error::ItemFailed { index: 7, .. })));
        // No callbacks at all: the plain call.
        let r = p.starmap_async_with(add3, [(1, 2, 3)], Callbacks::new()).unwrap();
        assert_eq!(r.get_timeout(PATIENCE).unwrap(), [6]);
        // An empty input completes, and calls back, at once.
        let (tx, rx) = std::sync::mpsc::channel();
        let on = Callbacks::new().on_success(move |v: &Vec<u64>| tx.send(v.len()).unwrap());
        p.map_async_with(square, Vec::<u64>::new(), on).unwrap().wait();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), 0);
        p.close();
        p.join_timeout(PATIENCE).unwrap();
    }
}

#[test]
fn a_refused_call_runs_no_callback() {
    let p = pool(StartMethod::ForkServer, 1);
    p.close();
    let called = Arc::new(AtomicUsize::new(0));
    // Even with nothing to map: an empty map used to call back first.
    for items in [0..4, 0..0] {
        let (a, b) = (called.clone(), called.clone());
        let on = Callbacks::new()
            .on_success(move |_: &Vec<u64>| {
                a.fetch_add(1, Ordering::SeqCst);
            })
            .on_error(move |_| {
                b.fetch_add(1, Ordering::SeqCst);
            });
        assert!(matches!(p.map_async_with(square, items, on), Err(Error::PoolClosed)));
    }
    p.join_timeout(PATIENCE).unwrap();
    assert_eq!(called.load(Ordering::SeqCst), 0);
}

#[test]
fn starmap_chunked_keeps_order_and_refuses_zero() {
    for method in METHODS {
        let p = pool(method, 2);
        let items: Vec<(u64, u64, u64)> = (0..50).map(|x| (x, x, 1)).collect();
        let expected: Vec<u64> = (0..50).map(|x| 2 * x + 1).collect();
        for chunksize in [1, 7, 50, 100] {
            assert_eq!(
                p.starmap_chunked(add3, items.clone(), chunksize).unwrap(),
                expected,
                "{method}"
            );
        }
        match p.starmap_chunked(fail_on, (0..30).map(|x| (x, 22)), 4) {
            Err(Error::ItemFailed { index: 22, .. }) => {}
            other => panic!("{method}: {other:?}"),
        }
        assert!(matches!(
            p.starmap_chunked(add3, items.clone(), 0),
            Err(Error::Usage(_))
        ));
        p.close();
        p.join_timeout(PATIENCE).unwrap();
    }
}

#[test]
fn close_join_terminate_and_drop() {
    let p = pool(StartMethod::ForkServer, 2);
    assert!(matches!(p.join(), Err(Error::Usage(_))));
    p.close();
    assert!(matches!(p.apply_async(square, (1,)), Err(Error::PoolClosed)));
    p.join_timeout(PATIENCE).unwrap();
    assert!(p.worker_pids().is_empty());

    let p = pool(StartMethod::Fork, 2);
    let pids = p.worker_pids();
    let pending: Vec<_> = (0..4).map(|_| p.apply_async(sleep_ms, (600_000,)).unwrap()).collect();
    p.terminate();
    p.join_timeout(PATIENCE).unwrap();
    for r in pending {
        assert!(matches!(r.get_timeout(PATIENCE), Err(Error::PoolTerminated)));
    }
    for pid in pids {
        assert!(eventually(|| is_gone(pid)));
    }

    let p = pool(StartMethod::Spawn, 2);
    let pids = p.worker_pids();
    let r = p.apply_async(sleep_ms, (600_000,)).unwrap();
    drop(p);
    assert!(matches!(r.get_timeout(PATIENCE), Err(Error::PoolTerminated)));
    for pid in pids {
        assert!(eventually(|| is_gone(pid)), "worker {pid} outlived its pool");
    }
}

#[test]
fn zero_processes_is_an_error() {
    assert!(matches!(Pool::new(0), Err(Error::Usage(_))));
}

/// The CPUs this process may run on.
#[process_fn]
fn my_cpus(_x: u64) -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid cpu_set_t of the size passed.
    unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    // SAFETY: CPU_ISSET reads within the set.
    (0..64).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
}

#[test]
fn pinned_workers_run_on_one_cpu_each() {
    let p = Pool::builder().processes(2).pin_workers(true).build().unwrap();
    let sets = p.map_chunked(my_cpus, 0..20, 1).unwrap();
    assert!(sets.iter().all(|s| s.len() == 1), "{sets:?}");
    if multiproc::cpu_count() > 1 {
        let mut cpus: Vec<usize> = sets.iter().map(|s| s[0]).collect();
        cpus.sort();
        cpus.dedup();
        assert_eq!(cpus.len(), 2, "two workers on two CPUs: {sets:?}");
    }
}

/// A zero chunksize is refused, as every other zero size is (it was taken
/// as 1); so is `maxtasksperchild(0)`, as in Python (it meant "no limit").
#[test]
fn zero_chunksizes_and_task_limits_are_refused() {
    let usage = |r: multiproc::Result<()>| matches!(r, Err(multiproc::Error::Usage(m)) if m.contains("at least 1"));
    let pool = Pool::new(1).unwrap();
    assert!(usage(pool.map_chunked(square, 0..4u64, 0).map(drop)));
    assert!(usage(pool.imap_chunked(square, 0..4u64, 0).next().unwrap().map(drop)));
    let threads = multiproc::thread::Pool::new(1).unwrap();
    assert!(usage(threads.map_chunked(|x: u64| x, 0..4u64, 0).map(drop)));
    assert!(usage(
        threads.imap_chunked(|x: u64| x, 0..4u64, 0).next().unwrap().map(drop)
    ));
    let executor = multiproc::executor::ProcessPoolExecutor::new(1).unwrap();
    assert!(usage(
        executor.map_chunked(square, 0..4u64, 0, None).next().unwrap().map(drop)
    ));
    assert!(usage(
        Pool::builder().processes(1).maxtasksperchild(0).build().map(drop)
    ));
    assert!(usage(
        multiproc::executor::ProcessPoolExecutor::builder()
            .max_tasks_per_child(0)
            .build()
            .map(drop)
    ));
}

/// An `imap` can be consumed from async code: `next_async` sleeps until a
/// worker answers and is woken then (the `block_on` here fails a future
/// that never wakes its task), in order or not, with a failed item in its
/// place; with the `stream` feature the same items come as a `Stream`.
#[test]
fn imap_items_can_be_awaited_and_streamed() {
    use multiproc_tests::block_on;
    let pool = Pool::new(2).unwrap();
    let ordered = block_on(async {
        let mut it = pool.imap(sleep_ms, [300, 20, 20, 20]);
        let mut got = Vec::new();
        while let Some(item) = it.next_async().await {
            got.push(item.unwrap());
        }
        got
    });
    assert_eq!(ordered, [300, 20, 20, 20]);

    let mut unordered: Vec<Result<u64, Error>> = block_on(async {
        let mut it = pool.imap_unordered(square, [1, 2, 3]);
        let mut got = Vec::new();
        while let Some(item) = it.next_async().await {
            got.push(item);
        }
        got
    });
    unordered.sort_by_key(|r| r.as_ref().map_or(0, |v| *v));
    assert_eq!(unordered.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [1, 4, 9]);

    let failed = block_on(async { pool.imap(not_three, [1u64, 3]).next_async().await });
    assert_eq!(failed.unwrap().unwrap(), 1);
    let mut it = pool.imap(not_three, [1u64, 3]);
    block_on(it.next_async()).unwrap().unwrap();
    assert!(matches!(
        block_on(it.next_async()),
        Some(Err(Error::ItemFailed { index: 1, .. }))
    ));
    assert!(block_on(it.next_async()).is_none());

    use futures_core::Stream;
    let mut stream = pool.imap(sleep_ms, [100, 1]);
    let streamed = block_on(async {
        let mut got = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await {
            got.push(item.unwrap());
        }
        got
    });
    assert_eq!(streamed, [100, 1]);
}

/// Both pools' `AsyncResult`s can be awaited: the task sleeps until the
/// last worker answers and is woken then (the `block_on` here fails a
/// future that never wakes it); a failure arrives as `get` gives it.
#[test]
fn async_results_can_be_awaited() {
    use multiproc_tests::block_on;
    let pool = Pool::new(2).unwrap();
    let slow = pool.apply_async(sleep_ms, (200,)).unwrap();
    let squares = pool.map_async(square, 0..100u64).unwrap();
    let failing = pool.starmap_async(fail_on, [(1, 3), (3, 3)]).unwrap();
    let (ms, squares, failed) = block_on(async { (slow.await, squares.await, failing.await) });
    assert_eq!(ms.unwrap(), 200);
    assert_eq!(squares.unwrap()[99], 99 * 99);
    assert!(matches!(failed, Err(Error::ItemFailed { index: 1, .. })));
    // An empty map is ready at once.
    let empty = pool.map_async(square, Vec::<u64>::new()).unwrap();
    assert!(block_on(empty).unwrap().is_empty());

    let threads = multiproc::thread::Pool::new(2).unwrap();
    #[derive(Debug, PartialEq)]
    struct NotClone(u32);
    let r = threads
        .apply_async(
            || {
                std::thread::sleep(Duration::from_millis(100));
                NotClone(5)
            },
            (),
        )
        .unwrap();
    assert_eq!(block_on(r).unwrap(), NotClone(5));
}
