//! `Queue`, `JoinableQueue`, `SimpleQueue` between processes, for every
//! start method: delivery exactly once, bounds, timeouts, closed and dead
//! producers and consumers (killed holding the ring's locks too), large
//! items in order among small ones, sleepers woken, bad bytes refused.

use std::time::{Duration, Instant};

use multiproc::prelude::*;
use multiproc::queue::{JoinableQueue, PutError, Queue, SimpleQueue};
use multiproc::sync::Event;
use multiproc_tests::{METHODS, PATIENCE};

#[process_fn]
fn produce(q: Queue<u64>, from: u64, count: u64) {
    for i in from..from + count {
        q.put(i).unwrap();
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
        let _ = q.put(i);
        i += 1;
    }
}

#[process_fn]
fn work_off(q: JoinableQueue<u64>, results: SimpleQueue<u64>) {
    while let Ok(v) = q.get_timeout(PATIENCE) {
        results.put(v * 10).unwrap();
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
        q.put(stop).unwrap();
        q.put(stop).unwrap();
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
        assert!(matches!(q.put(1), Err(Error::QueueClosed)));
    }
}

#[test]
fn a_bounded_queue_blocks_then_times_out_with_full() {
    let q = Queue::<u64>::bounded(2).unwrap();
    q.put(1).unwrap();
    q.put(2).unwrap();
    assert!(q.is_full());
    let t = Instant::now();
    assert!(matches!(
        q.put_timeout(&3, Duration::from_millis(50)),
        Err(PutError::Full(&3))
    ));
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
        q.put(42).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), 42, "{method}");
    }
}

#[process_fn]
fn simple_echo(input: SimpleQueue<u64>, output: SimpleQueue<u64>) {
    let v = input.get_timeout(PATIENCE).unwrap();
    output.put(v + 1).unwrap();
}

#[test]
fn simple_queue_get_timeout_waits_then_gives_up() {
    for method in METHODS {
        let input = SimpleQueue::<u64>::new().unwrap();
        let output = SimpleQueue::<u64>::new().unwrap();
        let mut p = Process::builder()
            .start_method(method)
            .start(simple_echo, (input.clone(), output.clone()))
            .unwrap();
        // The child answers only once it is given something: nothing yet.
        let t = Instant::now();
        let short = Duration::from_millis(20);
        assert!(matches!(output.get_timeout(short), Err(Error::Empty)), "{method}");
        assert!(t.elapsed() >= short, "{method}");
        input.put(41).unwrap();
        assert_eq!(output.get_timeout(PATIENCE).unwrap(), 42, "{method}");
        p.join_timeout(PATIENCE).unwrap();
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
            q.put(i).unwrap();
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
    q.put(1).unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    assert!(matches!(q.task_done(), Err(Error::Usage(_))));
    q.put(2).unwrap();
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
            std::thread::spawn(move || (0..500u32).for_each(|i| q.put(t * 1000 + i).unwrap()))
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
    q.put(std::process::id()).unwrap();
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
            q.put(i).unwrap();
        }
        consumer.kill().unwrap();
        let mut consumer = consumer;
        assert!(consumer.join_timeout(PATIENCE).is_err());
        while q.try_get().is_ok() {}
        q.put(7).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), 7, "{method}");
    }
}

/// Puts `from`, `from + 1`, … until killed.
#[process_fn]
fn put_forever_from(q: Queue<u64>, from: u64) {
    let mut i = from;
    loop {
        let _ = q.put(i);
        i += 1;
    }
}

/// Checks the items of each producer (told apart by `item / SPAN`) arrive
/// in the order put; returns them grouped by producer.
fn by_producer(items: &[u64]) -> std::collections::BTreeMap<u64, Vec<u64>> {
    let mut groups = std::collections::BTreeMap::<u64, Vec<u64>>::new();
    for &v in items {
        groups.entry(v / SPAN).or_default().push(v);
    }
    for (k, g) in &groups {
        assert!(
            g.windows(2).all(|w| w[0] < w[1]),
            "producer {k}: out of order or repeated"
        );
    }
    groups
}

const SPAN: u64 = 1 << 40;

/// A producer killed with SIGKILL while puts are in flight — from time to
/// time while it holds the put lock — costs nothing to the others: each of
/// their items arrives exactly once, in order, and the queue goes on.
#[test]
fn a_producer_killed_among_others_loses_nobody_elses_items() {
    for method in METHODS {
        let q = Queue::<u64>::unbounded().unwrap();
        let n = 5_000;
        let doomed = Process::builder()
            .start_method(method)
            .start(put_forever_from, (q.clone(), 2 * SPAN))
            .unwrap();
        let mut good: Vec<_> = (0..2)
            .map(|k| {
                Process::builder()
                    .start_method(method)
                    .start(produce, (q.clone(), k * SPAN, n))
                    .unwrap()
            })
            .collect();
        let mut got = Vec::new();
        // Kill it once it is surely putting (one of its items is in).
        loop {
            got.push(q.get_timeout(PATIENCE).unwrap());
            if got.last().is_some_and(|v| v / SPAN == 2) {
                break;
            }
        }
        doomed.kill().unwrap();
        let mut doomed = doomed;
        assert!(doomed.join_timeout(PATIENCE).is_err());
        // Take until every good item is in (the good producers may be
        // waiting for room in a ring the doomed one filled), then the rest.
        let mut good_seen = got.iter().filter(|v| *v / SPAN < 2).count() as u64;
        while good_seen < 2 * n {
            let v = q.get_timeout(PATIENCE).unwrap();
            good_seen += u64::from(v / SPAN < 2);
            got.push(v);
        }
        for p in &mut good {
            p.join_timeout(PATIENCE).unwrap();
        }
        while let Ok(v) = q.try_get() {
            got.push(v);
        }
        let groups = by_producer(&got);
        for k in 0..2 {
            assert_eq!(groups[&k], (k * SPAN..k * SPAN + n).collect::<Vec<_>>(), "{method}");
        }
        assert!(q.is_empty());
        q.put(42).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), 42, "{method}");
    }
}

/// An item: its number, and bytes made from it — large (a memfd) every
/// third one.
fn numbered(i: u64) -> (u64, Vec<u8>) {
    let len = match i % 3 {
        0 => 100 << 10,
        _ => (i % 50) as usize,
    };
    (i, (0..len).map(|j| (i as usize * 7 + j) as u8).collect())
}

fn check_numbered(item: &(u64, Vec<u8>)) {
    assert_eq!(item, &numbered(item.0), "item {} came with another's bytes", item.0);
}

/// Takes numbered items until `u64::MAX`; returns the numbers seen, after
/// checking each item's bytes and that the numbers only grow.
#[process_fn]
fn take_numbered(q: Queue<(u64, Vec<u8>)>) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        let item = q.get_timeout(PATIENCE).unwrap();
        if item.0 == u64::MAX {
            return seen;
        }
        check_numbered(&item);
        assert!(seen.last().is_none_or(|&l| l < item.0), "out of order");
        seen.push(item.0);
    }
}

/// Large items (a memfd over the socket) keep their place among small ones
/// (in the ring), whoever takes them: each consumer sees increasing numbers,
/// each item with its own bytes, and together they see each item once.
#[test]
fn fifo_holds_across_inline_and_memfd_items_with_several_consumers() {
    // One consumer, in this process: the exact order.
    let q = Queue::<(u64, Vec<u8>)>::unbounded().unwrap();
    for i in 0..30 {
        q.put(numbered(i)).unwrap();
    }
    for i in 0..30 {
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), numbered(i));
    }
    for method in METHODS {
        let q = Queue::<(u64, Vec<u8>)>::unbounded().unwrap();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                Process::builder()
                    .start_method(method)
                    .start(take_numbered, (q.clone(),))
                    .unwrap()
            })
            .collect();
        let n = 300;
        for i in 0..n {
            q.put(numbered(i)).unwrap();
        }
        for _ in 0..3 {
            q.put(&(u64::MAX, Vec::new())).unwrap();
        }
        let mut all: Vec<u64> = consumers
            .into_iter()
            .flat_map(|mut c| c.join_timeout(PATIENCE).unwrap())
            .collect();
        all.sort();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "{method}");
    }
}

/// Takes one item through the hook that stalls while holding the get lock;
/// says so, and sleeps until killed.
#[process_fn]
fn stall_in_get(q: Queue<(u64, Vec<u8>)>, after_commit: bool, held: Event) {
    let _ = q.test_get_stalling(after_commit, || {
        held.set();
        std::thread::sleep(Duration::from_secs(600));
    });
}

/// Puts `item` through the hook that stalls while holding the put lock,
/// the record written but not committed; says so, and sleeps until killed.
#[process_fn]
fn stall_in_put(q: Queue<(u64, Vec<u8>)>, item: u64, held: Event) {
    let _ = q.test_put_stalling(&numbered(item), || {
        held.set();
        std::thread::sleep(Duration::from_secs(600));
    });
}

/// Starts `f` with `args`, waits until it says it holds the lock, kills it.
fn kill_when_held<F: ProcessFn<Output = ()>>(method: StartMethod, f: F, args: F::Args, held: &Event) {
    let p = Process::builder().start_method(method).start(f, args).unwrap();
    assert!(held.wait_timeout(PATIENCE), "{method}: never held the lock");
    p.kill().unwrap();
    let mut p = p;
    assert!(p.join_timeout(PATIENCE).is_err());
}

/// A process killed while it holds the put lock or the get lock: the next
/// locker recovers the robust mutex, and the ring is as if the dead one's
/// operation never happened (a put: its item never appears; a get before
/// it took the item: the item is still there) — or, killed after taking a
/// large item but before receiving its memfd, only that item is lost.
#[test]
fn a_dead_lock_holder_is_recovered() {
    for method in METHODS {
        let q = Queue::<(u64, Vec<u8>)>::unbounded().unwrap();
        let held = Event::new().unwrap();
        q.put(numbered(1)).unwrap();
        // Killed mid-put, a small item then a large one (its memfd already
        // sent: an orphan on the socket).
        for item in [100, 99] {
            held.clear();
            kill_when_held(method, stall_in_put, (q.clone(), item, held.clone()), &held);
        }
        q.put_timeout(&numbered(2), PATIENCE).unwrap();
        q.put_timeout(&numbered(3), PATIENCE).unwrap();
        assert_eq!(q.qsize(), 3, "{method}");
        // Killed mid-get, before taking item 1: it is still there.
        held.clear();
        kill_when_held(method, stall_in_get, (q.clone(), false, held.clone()), &held);
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), numbered(1), "{method}");
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), numbered(2), "{method}");
        // The large item 3 follows the dead producer's orphan memfd.
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), numbered(3), "{method}");
        // Killed after taking large item 6, before receiving its memfd:
        // item 6 is lost, large item 9 comes with its own bytes.
        q.put(numbered(6)).unwrap();
        q.put(numbered(9)).unwrap();
        held.clear();
        kill_when_held(method, stall_in_get, (q.clone(), true, held.clone()), &held);
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), numbered(9), "{method}");
        assert!(q.is_empty());
        q.put(numbered(10)).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), numbered(10), "{method}");
    }
}

/// Consumers killed while they take items — small and large, some killed
/// with the get lock held — leave the queue working: what remains comes
/// out in order, each item with its own bytes.
#[test]
fn consumers_killed_mid_get_leave_the_rest_in_order() {
    for method in METHODS {
        let q = Queue::<(u64, Vec<u8>)>::unbounded().unwrap();
        let n = 600;
        for i in 0..n {
            q.put(numbered(i)).unwrap();
        }
        for _ in 0..2 {
            let before = q.qsize();
            let c = Process::builder()
                .start_method(method)
                .start(take_numbered, (q.clone(),))
                .unwrap();
            assert!(multiproc_tests::eventually(|| q.qsize() < before), "{method}");
            c.kill().unwrap();
            let mut c = c;
            assert!(c.join_timeout(PATIENCE).is_err());
        }
        let mut rest = Vec::new();
        while let Ok(item) = q.try_get() {
            check_numbered(&item);
            rest.push(item.0);
        }
        assert!(rest.windows(2).all(|w| w[0] < w[1]), "{method}: {rest:?}");
        assert!(rest.last().is_none_or(|&l| l == n - 1), "{method}");
        q.put(numbered(n)).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), numbered(n), "{method}");
    }
}

/// Puts `n` items, says so, then waits (holding its sending end) until
/// killed.
#[process_fn]
fn put_then_linger(q: Queue<u64>, n: u64, done: Event) {
    for i in 0..n {
        q.put(i).unwrap();
    }
    done.set();
    std::thread::sleep(Duration::from_secs(600));
}

/// A `get` already blocked on the empty queue fails with `Disconnected`
/// soon after the last writer is killed — no timeout to wait out.
#[test]
fn a_blocked_get_learns_promptly_that_every_writer_died() {
    for method in METHODS {
        let q = Queue::<u64>::unbounded().unwrap();
        let done = Event::new().unwrap();
        let writers: Vec<_> = (0..2)
            .map(|_| {
                Process::builder()
                    .start_method(method)
                    .start(put_then_linger, (q.clone(), 3, done.clone()))
                    .unwrap()
            })
            .collect();
        q.close(); // only the children can put now
        for _ in 0..6 {
            q.get_timeout(PATIENCE).unwrap();
        }
        let getter = {
            let q = q.clone();
            std::thread::spawn(move || q.get())
        };
        // Let it block (it would return at once with a writer gone).
        assert!(matches!(q.get_timeout(Duration::from_millis(100)), Err(Error::Empty)));
        let killed = Instant::now();
        for w in writers {
            w.kill().unwrap();
            let mut w = w;
            assert!(w.join_timeout(PATIENCE).is_err());
        }
        assert!(
            matches!(getter.join().unwrap(), Err(Error::Disconnected { .. })),
            "{method}"
        );
        assert!(killed.elapsed() < PATIENCE / 4, "{method}: {:?}", killed.elapsed());
        assert!(matches!(q.try_get(), Err(Error::Disconnected { .. })));
    }
}

/// Bad bytes in the ring — a record that does not decode, a header that
/// claims too much — are `Codec` errors, never a hang or a panic, and the
/// queue works afterwards.
#[test]
fn bad_bytes_in_the_ring_are_a_codec_error() {
    let q = Queue::<String>::unbounded().unwrap();
    q.put("a".to_string()).unwrap();
    q.test_put_raw_record(3, &[2, 0xff, 0xfe]).unwrap(); // not UTF-8
    q.put("b".to_string()).unwrap();
    assert_eq!(q.get_timeout(PATIENCE).unwrap(), "a");
    assert!(matches!(q.get_timeout(PATIENCE), Err(Error::Codec(_))));
    assert_eq!(q.get_timeout(PATIENCE).unwrap(), "b");
    for claimed in [u32::MAX, 1 << 20, 1000] {
        q.put("c".to_string()).unwrap();
        q.test_put_raw_record(claimed, &[1, b'x']).unwrap();
        q.put("d".to_string()).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), "c");
        // The bad header: what follows it cannot be trusted and is dropped.
        assert!(matches!(q.get_timeout(PATIENCE), Err(Error::Codec(_))), "{claimed}");
        assert!(q.is_empty());
        q.put("e".to_string()).unwrap();
        assert_eq!(q.get_timeout(PATIENCE).unwrap(), "e");
    }
}

/// An unbounded queue's ring is finite: a `try_put` on a full ring reports
/// `Full` (a `put` would wait for a consumer), and one `get` makes room.
#[test]
fn a_full_ring_makes_an_unbounded_put_wait() {
    let q = Queue::<Vec<u8>>::unbounded().unwrap();
    let item = vec![7u8; 60 << 10];
    let mut n = 0;
    while q.try_put(&item).is_ok() {
        n += 1;
        assert!(n < 10_000, "the ring never filled");
    }
    assert!(n >= 16, "only {n} items of 60 KiB fit");
    assert!(matches!(
        q.put_timeout(&item, Duration::from_millis(20)),
        Err(PutError::Full(_))
    ));
    // A consumer thread drains one: the waiting put goes on.
    let getter = {
        let q = q.clone();
        std::thread::spawn(move || q.get_timeout(PATIENCE).map(|v| v.len()))
    };
    q.put_timeout(&item, PATIENCE).unwrap();
    assert_eq!(getter.join().unwrap().unwrap(), 60 << 10);
    assert_eq!(q.qsize(), n);
}

/// Takes `n` items; returns them.
#[process_fn]
fn take_n(q: Queue<u64>, n: u64) -> Vec<u64> {
    (0..n).map(|_| q.get_timeout(PATIENCE).unwrap()).collect()
}

/// Consumers asleep on an empty queue — processes and threads, several at
/// once — are all woken as items come, in bursts smaller and larger than
/// their number: every item reaches one of them.
#[test]
fn sleeping_consumers_are_woken_for_every_item() {
    let q = Queue::<u64>::unbounded().unwrap();
    let per = 60;
    let procs: Vec<_> = (0..2)
        .map(|_| Process::builder().start(take_n, (q.clone(), per)).unwrap())
        .collect();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let q = q.clone();
            std::thread::spawn(move || (0..per).map(|_| q.get_timeout(PATIENCE).unwrap()).collect::<Vec<_>>())
        })
        .collect();
    let mut next = 0;
    for burst in (1..=7).cycle() {
        if next == 4 * per {
            break;
        }
        // Give the consumers time to fall asleep (not needed to pass: it
        // makes the bursts find sleepers).
        std::thread::sleep(Duration::from_millis(2));
        for _ in 0..burst {
            if next < 4 * per {
                q.put(next).unwrap();
                next += 1;
            }
        }
    }
    let mut all: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    for mut p in procs {
        all.extend(p.join_timeout(PATIENCE).unwrap());
    }
    all.sort();
    assert_eq!(all, (0..4 * per).collect::<Vec<_>>());
}

/// An item whose decoding, in a consumer that asked for it, says so and
/// then stalls: a way to kill a consumer in the middle of its `get`.
#[derive(Debug, PartialEq, serde::Serialize)]
struct SlowToDecode(u64, Vec<u8>);

/// Set only in the consumer that should stall.
static DECODING: std::sync::OnceLock<Event> = std::sync::OnceLock::new();

impl<'de> serde::Deserialize<'de> for SlowToDecode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (n, bytes) = <(u64, Vec<u8>)>::deserialize(d)?;
        if let Some(decoding) = DECODING.get() {
            decoding.set();
            std::thread::sleep(Duration::from_secs(600));
        }
        Ok(SlowToDecode(n, bytes))
    }
}

#[process_fn]
fn get_stalling_in_decode(q: Queue<SlowToDecode>, decoding: Event) {
    let _ = DECODING.set(decoding);
    let _ = q.get();
}

/// A consumer killed while it decodes the item it takes leaves the item in
/// place, small or large (a large item's memfd was received after the
/// commit, and every item was decoded after it: killed there, it was lost).
#[test]
fn a_consumer_killed_while_decoding_leaves_the_item_in_place() {
    for method in METHODS {
        for size in [8, 200_000] {
            let q = Queue::<SlowToDecode>::unbounded().unwrap();
            let item = SlowToDecode(size as u64, vec![7; size]);
            q.put(&item).unwrap();
            let decoding = Event::new().unwrap();
            kill_when_held(method, get_stalling_in_decode, (q.clone(), decoding.clone()), &decoding);
            assert_eq!(q.get_timeout(PATIENCE).unwrap(), item, "{method}, {size} bytes");
            assert!(q.is_empty());
        }
    }
}

/// Takes numbered items and reports each one's number on `taken` once
/// `get` has returned it.
#[process_fn]
fn take_and_report(q: Queue<(u64, Vec<u8>)>, taken: Queue<u64>) {
    loop {
        let Ok(item) = q.get_timeout(PATIENCE) else { return };
        check_numbered(&item);
        taken.put(item.0).unwrap();
    }
}

/// Consumers SIGKILLed at seeded random moments while they take small and
/// large (memfd) items: each item is taken once or is still in the queue,
/// except at most one per kill (taken, then killed before it could say
/// so); what remains comes out in order, with its own bytes.
#[test]
fn consumers_killed_at_random_lose_at_most_the_item_in_their_hands() {
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    println!("seed {seed} (set KILL_SEED to replay)");
    let mut state = seed;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n = 600u64;
    let q = Queue::<(u64, Vec<u8>)>::unbounded().unwrap();
    let taken = Queue::<u64>::unbounded().unwrap();
    for i in 0..n {
        q.put(numbered(i)).unwrap();
    }
    let mut kills = 0;
    for round in 0..6 {
        let method = METHODS[round % METHODS.len()];
        let c = Process::builder()
            .start_method(method)
            .start(take_and_report, (q.clone(), taken.clone()))
            .unwrap();
        let before = q.qsize();
        assert!(multiproc_tests::eventually(|| q.qsize() < before || q.is_empty()));
        std::thread::sleep(Duration::from_micros(next() % 3_000));
        c.kill().unwrap();
        let mut c = c;
        let _ = c.join_timeout(PATIENCE);
        kills += 1;
    }
    let mut seen: Vec<u64> = std::iter::from_fn(|| taken.try_get().ok()).collect();
    let mut last = None;
    while let Ok(item) = q.try_get() {
        check_numbered(&item);
        assert!(last.is_none_or(|l| l < item.0), "seed {seed}: out of order");
        last = Some(item.0);
        seen.push(item.0);
    }
    seen.sort_unstable();
    let before_dedup = seen.len();
    seen.dedup();
    assert_eq!(before_dedup, seen.len(), "seed {seed}: an item was taken twice");
    let lost = n as usize - seen.len();
    assert!(lost <= kills, "seed {seed}: {lost} items lost in {kills} kills");
}

/// An item whose encoding fails.
struct Unencodable;

impl serde::Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this item refuses to be encoded"))
    }
}

impl<'de> serde::Deserialize<'de> for Unencodable {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Ok(Unencodable)
    }
}

#[test]
fn a_process_queue_takes_items_as_its_thread_twin_does() {
    // The same lines run on both twins: items by value, given back when
    // a put fails.
    let q = Queue::bounded(1).unwrap();
    let t = multiproc::thread::Queue::bounded(1).unwrap();
    q.put(String::from("a")).unwrap();
    t.put(String::from("a")).unwrap();
    assert!(matches!(q.try_put(String::from("b")), Err(PutError::Full(back)) if back == "b"));
    assert!(matches!(t.try_put(String::from("b")), Err(PutError::Full(back)) if back == "b"));
    let d = Duration::from_millis(10);
    assert_eq!(q.put_timeout(String::from("c"), d).unwrap_err().into_inner(), "c");
    assert_eq!(t.put_timeout(String::from("c"), d).unwrap_err().into_inner(), "c");
    assert_eq!(q.get().unwrap(), "a");
    assert_eq!(t.get().unwrap(), "a");
    // A reference still works on the process queue, which only encodes.
    let kept = String::from("d");
    q.put(&kept).unwrap();
    assert_eq!(q.get().unwrap(), kept);
    q.close();
    assert!(matches!(q.try_put(String::from("e")), Err(PutError::Closed(back)) if back == "e"));
    // A failure to encode gives the item back with the codec's error.
    let bad = Queue::<Unencodable>::unbounded().unwrap();
    match bad.try_put(Unencodable) {
        Err(PutError::Failed(Unencodable, Error::Codec(why))) => assert!(why.contains("refuses"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn async_results_of_both_pools_give_their_value_once_without_clone() {
    #[derive(Debug, PartialEq)]
    struct NotClone(u8);
    let threads = multiproc::thread::Pool::new(1).unwrap();
    assert_eq!(
        threads.apply_async(|| NotClone(3), ()).unwrap().into_result().unwrap(),
        NotClone(3)
    );
    let pool = Pool::new(1).unwrap();
    assert_eq!(pool.apply_async(seven, ()).unwrap().into_result().unwrap(), 7);
}

#[process_fn]
fn seven() -> u8 {
    7
}
