//! `Queue`, `JoinableQueue`, `SimpleQueue` between processes, for every
//! start method: delivery exactly once, bounds, timeouts, closed and dead
//! producers, large items.

use std::time::{Duration, Instant};

use multiproc::prelude::*;
use multiproc::queue::{JoinableQueue, Queue, SimpleQueue};
use multiproc_tests::{METHODS, PATIENCE};

#[process_fn]
fn produce(q: Queue<u64>, from: u64, count: u64) {
    for i in from..from + count {
        q.put(&i).unwrap();
    }
}

#[process_fn]
fn consume_sum(q: Queue<u64>, stop: u64) -> u64 {
    let mut sum = 0;
    loop {
        let v = q.get_timeout(PATIENCE).unwrap();
        if v == stop {
            return sum;
        }
        sum += v;
    }
}

#[process_fn]
fn echo_big(q: Queue<Vec<u8>>, back: Queue<Vec<u8>>) {
    let item = q.get_timeout(PATIENCE).unwrap();
    back.put(&item).unwrap();
}

#[process_fn]
fn put_forever(q: Queue<u64>) {
    let mut i = 0;
    loop {
        let _ = q.put(&i);
        i += 1;
    }
}

#[process_fn]
fn work_off(q: JoinableQueue<u64>, results: SimpleQueue<u64>) {
    while let Ok(v) = q.get_timeout(PATIENCE) {
        results.put(&(v * 10)).unwrap();
        q.task_done().unwrap();
    }
}

#[test]
fn producers_and_consumers_deliver_each_item_once() {
    for method in METHODS {
        let q = Queue::<u64>::unbounded().unwrap();
        let stop = u64::MAX;
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                Process::builder()
                    .start_method(method)
                    .start(consume_sum, (q.clone(), stop))
                    .unwrap()
            })
            .collect();
        let mut producers: Vec<_> = (0..2)
            .map(|k| {
                Process::builder()
                    .start_method(method)
                    .start(produce, (q.clone(), k * 1000, 1000))
                    .unwrap()
            })
            .collect();
        for p in &mut producers {
            p.join_timeout(PATIENCE).unwrap();
        }
        q.put(&stop).unwrap();
        q.put(&stop).unwrap();
        let total: u64 = consumers
            .into_iter()
            .map(|mut c| c.join_timeout(PATIENCE).unwrap())
            .sum();
        assert_eq!(total, (0..2000).sum::<u64>(), "{method}");
        assert!(q.is_empty());
    }
}

#[test]
fn a_get_fails_once_every_producer_is_gone() {
    for method in METHODS {
        let q = Queue::<u64>::unbounded().unwrap();
        let mut p = Process::builder()
            .start_method(method)
            .start(produce, (q.clone(), 0, 5))
            .unwrap();
        p.join_timeout(PATIENCE).unwrap();
        q.close(); // ours was the last sending end still open
        let got: Vec<u64> = (0..5).map(|_| q.get_timeout(PATIENCE).unwrap()).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        let t = Instant::now();
        assert!(matches!(q.get(), Err(Error::Disconnected { .. })), "{method}");
        assert!(t.elapsed() < PATIENCE);
        assert!(matches!(q.put(&1), Err(Error::QueueClosed)));
    }
}

#[test]
fn a_bounded_queue_blocks_then_times_out_with_full() {
    let q = Queue::<u64>::bounded(2).unwrap();
    q.put(&1).unwrap();
    q.put(&2).unwrap();
    assert!(q.is_full());
    let t = Instant::now();
    assert!(matches!(q.put_timeout(&3, Duration::from_millis(50)), Err(Error::Full)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    // A consumer in another process frees a place: the blocked put proceeds.
    let stop = 0;
    let mut consumer = Process::builder().start(consume_sum, (q.clone(), stop)).unwrap();
    q.put_timeout(&3, PATIENCE).unwrap();
    q.put_timeout(&stop, PATIENCE).unwrap();
    assert_eq!(consumer.join_timeout(PATIENCE).unwrap(), 6);
    assert!(matches!(q.get_timeout(Duration::from_millis(10)), Err(Error::Empty)));
    assert!(matches!(Queue::<u8>::bounded(0), Err(Error::Usage(_))));
}

#[test]
fn large_items_cross_in_shared_memory() {
    for method in METHODS {
        let (q, back) = (
            Queue::<Vec<u8>>::unbounded().unwrap(),
            Queue::<Vec<u8>>::unbounded().unwrap(),
        );
        let mut p = Process::builder()
            .start_method(method)
            .start(echo_big, (q.clone(), back.clone()))
            .unwrap();
        let big: Vec<u8> = (0..(8 << 20)).map(|i| (i % 251) as u8).collect();
        q.put(&big).unwrap();
        assert_eq!(back.get_timeout(PATIENCE).unwrap(), big, "{method}");
        p.join_timeout(PATIENCE).unwrap();
    }
}

#[test]
fn a_producer_killed_mid_put_does_not_wedge_the_queue() {
    for method in METHODS {
        let q = Queue::<u64>::bounded(64).unwrap();
        let p = Process::builder()
            .start_method(method)
            .start(put_forever, (q.clone(),))
            .unwrap();
        // Wait until it is blocked on a full queue, or busy putting.
        let _ = q.get_timeout(PATIENCE).unwrap();
        p.kill().unwrap();
        let mut p = p;
        assert!(p.join_timeout(PATIENCE).is_err());
        // Drain what it managed to put; the queue still works both ways.
        while q.try_get().is_ok() {}
        q.put(&42).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), 42, "{method}");
    }
}

#[test]
fn joinable_queue_join_waits_for_task_done() {
    for method in METHODS {
        let q = JoinableQueue::<u64>::unbounded().unwrap();
        let results = SimpleQueue::<u64>::new().unwrap();
        let worker = Process::builder()
            .start_method(method)
            .daemon(true)
            .start(work_off, (q.clone(), results.clone()))
            .unwrap();
        for i in 1..=20 {
            q.put(&i).unwrap();
        }
        q.join_timeout(PATIENCE).unwrap();
        let mut sum = 0;
        for _ in 0..20 {
            sum += results.get().unwrap();
        }
        assert_eq!(sum, 10 * (1..=20).sum::<u64>(), "{method}");
        worker.kill().unwrap();
    }
    let q = JoinableQueue::<u8>::unbounded().unwrap();
    q.put(&1).unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    assert!(matches!(q.task_done(), Err(Error::Usage(_))));
    q.put(&2).unwrap();
    assert!(matches!(
        q.join_timeout(Duration::from_millis(10)),
        Err(Error::Timeout(_))
    ));
}

#[test]
fn threads_share_a_queue() {
    let q = Queue::<u32>::bounded(8).unwrap();
    let producers: Vec<_> = (0..4u32)
        .map(|t| {
            let q = q.clone();
            std::thread::spawn(move || (0..500u32).for_each(|i| q.put(&(t * 1000 + i)).unwrap()))
        })
        .collect();
    let mut seen: Vec<u32> = (0..2000).map(|_| q.get_timeout(PATIENCE).unwrap()).collect();
    for p in producers {
        p.join().unwrap();
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2000);
}

#[process_fn]
fn announce(q: Queue<u32>) {
    q.put(&std::process::id()).unwrap();
}

#[process_fn]
fn nothing(_x: u8) {}

/// A queue handed to a pool's initializer reaches every worker.
#[test]
fn a_queue_travels_to_a_pool_initializer() {
    for method in METHODS {
        let q = Queue::<u32>::unbounded().unwrap();
        let pool = Pool::builder()
            .processes(2)
            .start_method(method)
            .initializer(announce, (q.clone(),))
            .build()
            .unwrap();
        let mut pids: Vec<u32> = (0..2).map(|_| q.get_timeout(PATIENCE).unwrap()).collect();
        pids.sort();
        let mut workers: Vec<u32> = pool.worker_pids().into_iter().map(|p| p as u32).collect();
        workers.sort();
        assert_eq!(pids, workers, "{method}");
        pool.map(nothing, [0u8]).unwrap();
    }
}

#[process_fn]
fn get_forever(q: Queue<u64>) {
    while q.get().is_ok() {}
}

/// A consumer killed while it takes items leaves the queue working for the
/// others: nothing is locked in user space.
#[test]
fn a_consumer_killed_mid_get_does_not_wedge_the_queue() {
    for method in METHODS {
        let q = Queue::<u64>::unbounded().unwrap();
        let consumer = Process::builder()
            .start_method(method)
            .start(get_forever, (q.clone(),))
            .unwrap();
        for i in 0..10_000 {
            q.put(&i).unwrap();
        }
        consumer.kill().unwrap();
        let mut consumer = consumer;
        assert!(consumer.join_timeout(PATIENCE).is_err());
        while q.try_get().is_ok() {}
        q.put(&7).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), 7, "{method}");
    }
}
