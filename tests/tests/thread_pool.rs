//! `multiproc::thread::Pool`: the process pool's methods on threads, with
//! entries and closures, panics kept per item, lazy imap, terminate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use multiproc::prelude::*;
use multiproc::thread::{Callbacks, Pool as ThreadPool};
use multiproc_tests::{eventually, PATIENCE};

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

#[process_fn]
fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[test]
fn entries_and_closures_give_the_process_pools_results() {
    let procs = Pool::new(2).unwrap();
    let threads = ThreadPool::new(2).unwrap();
    let items: Vec<u64> = (0..1000).collect();
    assert_eq!(
        procs.map(square, items.clone()).unwrap(),
        threads.map(square, items.clone()).unwrap()
    );
    assert_eq!(threads.apply(add, (2, 3)).unwrap(), 5);
    assert_eq!(threads.starmap(add, [(1, 1), (2, 2)]).unwrap(), [2, 4]);
    let base = 7;
    assert_eq!(
        threads.map_chunked(move |x: u64| x + base, 0..5, 2).unwrap(),
        [7, 8, 9, 10, 11]
    );
    // Items and results need not be serde types.
    let cells: Vec<Arc<Mutex<u8>>> = (0..4).map(|i| Arc::new(Mutex::new(i))).collect();
    let doubled = threads
        .map(|c: Arc<Mutex<u8>>| Arc::new(*c.lock().unwrap() * 2), cells)
        .unwrap();
    assert_eq!(*doubled[3], 6);
}

#[test]
fn a_panic_fails_its_item_alone() {
    let pool = ThreadPool::new(2).unwrap();
    let r = pool.map(
        |x: u32| {
            assert!(x != 13, "unlucky {x}");
            x
        },
        0..100,
    );
    match r {
        Err(Error::ItemFailed { index, source }) => {
            assert_eq!(index, 13);
            assert!(matches!(*source, Error::Panicked { ref message, .. } if message == "unlucky 13"));
        }
        other => panic!("{other:?}"),
    }
    let single = pool.apply_async(|| -> u8 { panic!("alone") }, ()).unwrap();
    assert!(matches!(single.get(), Err(Error::Panicked { ref message, .. }) if message == "alone"));
    assert_eq!(single.successful(), Some(false));
    // Still serving.
    assert_eq!(pool.apply(|| 1, ()).unwrap(), 1);
}

#[test]
fn callbacks_run_before_the_result_is_ready() {
    let pool = ThreadPool::new(1).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (ok, err) = (seen.clone(), seen.clone());
    let good = pool
        .apply_async_with(
            |x: u64| x + 1,
            (1,),
            Callbacks::new().on_success(move |v: &u64| ok.lock().unwrap().push(format!("ok {v}"))),
        )
        .unwrap();
    let bad = pool
        .apply_async_with(
            || -> u64 { panic!("bad") },
            (),
            Callbacks::new().on_error(move |e| err.lock().unwrap().push(format!("err {e}"))),
        )
        .unwrap();
    good.wait();
    bad.wait();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], "ok 2");
        assert!(seen[1].starts_with("err") && seen[1].contains("bad"), "{}", seen[1]);
    }
    // A panicking callback is contained; the result still arrives.
    let r = pool
        .apply_async_with(|| 3u8, (), Callbacks::new().on_success(|_| panic!("callback bug")))
        .unwrap();
    assert_eq!(r.get_timeout(PATIENCE).unwrap(), 3);
    // The two-closure form still works.
    #[allow(deprecated)]
    let r = pool.apply_async_callback(|| 4u8, (), |_| {}, |_| {}).unwrap();
    assert_eq!(r.get_timeout(PATIENCE).unwrap(), 4);
}

#[test]
fn map_and_starmap_async_run_optional_callbacks() {
    let pool = ThreadPool::new(2).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let ok = seen.clone();
    let r = pool
        .map_async_with(
            |x: u64| x * 2,
            0..10,
            Callbacks::new().on_success(move |v: &Vec<u64>| ok.lock().unwrap().push(v.iter().sum::<u64>())),
        )
        .unwrap();
    assert!(r.wait_timeout(PATIENCE));
    assert_eq!(*seen.lock().unwrap(), [90]);
    // The error callback gets the first failed item, by index.
    let (tx, rx) = std::sync::mpsc::channel();
    let on = Callbacks::new()
        .on_success(|_: &Vec<i32>| panic!("no success expected"))
        .on_error(move |e| tx.send(e.clone()).unwrap());
    let r = pool
        .starmap_async_with(
            |a: i32, b: i32| {
                assert!(b != 5, "five");
                a + b
            },
            (0..10).map(|i| (i, i)),
            on,
        )
        .unwrap();
    assert!(r.wait_timeout(PATIENCE));
    assert!(matches!(rx.try_recv().unwrap(), Error::ItemFailed { index: 5, .. }));
    // No callbacks: the plain call.
    let r = pool.starmap_async_with(add, [(1, 2)], Callbacks::new()).unwrap();
    assert_eq!(r.get_timeout(PATIENCE).unwrap(), [3]);
    // An empty input completes, and calls back, at once.
    let (tx, rx) = std::sync::mpsc::channel();
    let on = Callbacks::new().on_success(move |v: &Vec<u64>| tx.send(v.len()).unwrap());
    pool.map_async_with(square, Vec::<u64>::new(), on).unwrap().wait();
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), 0);
    // A refused call runs no callback, even with nothing to map (an empty
    // map used to call back, and on a closed pool returned `Ok`).
    pool.close();
    let called = Arc::new(AtomicUsize::new(0));
    for items in [0..3, 0..0] {
        let (c, d) = (called.clone(), called.clone());
        let on = Callbacks::new()
            .on_success(move |_: &Vec<u64>| {
                c.fetch_add(1, Ordering::SeqCst);
            })
            .on_error(move |_| {
                d.fetch_add(1, Ordering::SeqCst);
            });
        assert!(matches!(pool.map_async_with(square, items, on), Err(Error::PoolClosed)));
    }
    pool.join_timeout(PATIENCE).unwrap();
    assert_eq!(called.load(Ordering::SeqCst), 0);
}

#[test]
fn starmap_chunked_keeps_order_and_refuses_zero() {
    let pool = ThreadPool::new(2).unwrap();
    let expected: Vec<i32> = (0..40).map(|i| 2 * i).collect();
    for chunksize in [1, 3, 40, 100] {
        assert_eq!(
            pool.starmap_chunked(add, (0..40).map(|i| (i, i)), chunksize).unwrap(),
            expected
        );
    }
    let r = pool.starmap_chunked(
        |a: i32, b: i32| {
            assert!(a != 17, "seventeen");
            a + b
        },
        (0..40).map(|i| (i, 0)),
        6,
    );
    assert!(matches!(r, Err(Error::ItemFailed { index: 17, .. })));
    assert!(matches!(pool.starmap_chunked(add, [(1, 1)], 0), Err(Error::Usage(_))));
}

#[test]
fn imap_is_lazy_and_bounded() {
    let pool = ThreadPool::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let endless = (0u64..).inspect(move |_| {
        p.fetch_add(1, Ordering::Relaxed);
    });
    let first: Vec<u64> = pool
        .imap(|x: u64| x * 2, endless)
        .take(10)
        .map(Result::unwrap)
        .collect();
    assert_eq!(first, (0..10).map(|x| x * 2).collect::<Vec<_>>());
    assert!(
        pulled.load(Ordering::Relaxed) < 5_000,
        "{} pulled",
        pulled.load(Ordering::Relaxed)
    );
    let mut unordered: Vec<u64> = pool
        .imap_unordered_chunked(square, 0..1000u64, 7)
        .map(Result::unwrap)
        .collect();
    unordered.sort_unstable();
    assert_eq!(unordered, (0..1000u64).map(|x| x * x).collect::<Vec<_>>());
}

#[test]
fn terminate_fails_queued_work_and_join_waits() {
    let pool = ThreadPool::new(1).unwrap();
    let (started, gate) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (s, g) = (started.clone(), gate.clone());
    let busy = pool
        .apply_async(
            move || {
                s.wait();
                g.wait();
                1
            },
            (),
        )
        .unwrap();
    let queued = pool.apply_async(|| 2, ()).unwrap();
    started.wait();
    pool.terminate();
    assert!(matches!(pool.apply(|| 3, ()), Err(Error::PoolTerminated)));
    assert!(matches!(
        pool.join_timeout(Duration::from_millis(20)),
        Err(Error::Timeout(_))
    ));
    gate.wait();
    pool.join_timeout(PATIENCE).unwrap();
    assert_eq!(busy.get().unwrap(), 1);
    assert!(matches!(queued.get(), Err(Error::PoolTerminated)));
}

#[test]
fn close_lets_queued_work_finish() {
    let pool = ThreadPool::new(2).unwrap();
    let r = pool.map_async(square, 0..100u64).unwrap();
    pool.close();
    assert!(matches!(pool.apply(square, (1,)), Err(Error::PoolClosed)));
    pool.join().unwrap();
    assert_eq!(r.get().unwrap()[99], 99 * 99);
}

#[test]
fn the_initializer_runs_once_per_thread() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let pool = ThreadPool::builder()
        .processes(3)
        .initializer(
            move |step: usize| {
                c.fetch_add(step, Ordering::SeqCst);
            },
            (1,),
        )
        .build()
        .unwrap();
    assert!(eventually(|| count.load(Ordering::SeqCst) == 3));
    drop(pool);
}

#[test]
fn dropping_a_pool_with_a_stuck_task_does_not_hang() {
    let pool = ThreadPool::new(1).unwrap();
    let go = multiproc::thread::Event::new().unwrap();
    let wait = go.clone();
    let stuck = pool
        .apply_async(move || wait.wait_timeout(Duration::from_secs(60)), ())
        .unwrap();
    drop(pool);
    go.set(); // lets the detached thread finish
    stuck.wait_timeout(PATIENCE);
}

/// The thread pool's twin of the rule: a panicking initializer fails the
/// work with `InitializerFailed`, carrying the panic.
#[test]
fn a_panicking_initializer_breaks_the_thread_pool() {
    let pool = multiproc::thread::Pool::builder()
        .processes(2)
        .initializer(|| panic!("no database"), ())
        .build()
        .unwrap();
    let outcome = pool.map(|x: u32| x, 0..8u32);
    match outcome {
        Err(multiproc::Error::InitializerFailed(m)) => assert!(m.contains("no database"), "{m}"),
        other => panic!("{other:?}"),
    }
}
