//! `multiproc::thread::{Queue, JoinableQueue, SimpleQueue}` between
//! threads: delivery exactly once, bounds, timeouts, closed and dropped
//! writers, joinable tasks, items that cannot be serialized or cloned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use multiproc::thread::{JoinableQueue, PutError, Queue, SimpleQueue};
use multiproc::Error;
use multiproc_tests::PATIENCE;

/// Takes items until every writer is gone; any other error fails the test.
fn drain_until_disconnected<T>(q: &Queue<T>) -> Vec<T> {
    let mut got = Vec::new();
    loop {
        match q.get_timeout(PATIENCE) {
            Ok(v) => got.push(v),
            Err(Error::Disconnected { .. }) => return got,
            Err(e) => panic!("unexpected error while draining: {e}"),
        }
    }
}

#[test]
fn producers_and_consumers_deliver_each_item_once() {
    const PRODUCERS: u64 = 4;
    const PER_PRODUCER: u64 = 2_000;
    for q in [
        Queue::<u64>::bounded(1).unwrap(),
        Queue::<u64>::bounded(8).unwrap(),
        Queue::<u64>::unbounded().unwrap(),
    ] {
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                q.close(); // a consumer only takes
                thread::spawn(move || drain_until_disconnected(&q))
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|k| {
                let q = q.clone();
                thread::spawn(move || {
                    for i in k * PER_PRODUCER..(k + 1) * PER_PRODUCER {
                        q.put(i).unwrap();
                    }
                    // Dropping the handle closes it.
                })
            })
            .collect();
        drop(q); // the producers are the writers now
        for p in producers {
            p.join().unwrap();
        }
        let mut seen: Vec<u64> = consumers.into_iter().flat_map(|c| c.join().unwrap()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..PRODUCERS * PER_PRODUCER).collect::<Vec<_>>());
    }
}

#[test]
fn one_producer_keeps_its_order() {
    let q = Queue::<u32>::bounded(3).unwrap();
    let reader = q.clone();
    reader.close();
    let consumer = thread::spawn(move || drain_until_disconnected(&reader));
    for i in 0..1_000 {
        q.put(i).unwrap();
    }
    q.close();
    assert_eq!(consumer.join().unwrap(), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn a_bounded_put_waits_until_a_get_frees_room() {
    let q = Queue::<u32>::bounded(2).unwrap();
    q.put(1).unwrap();
    q.put(2).unwrap();
    assert!(q.is_full());
    assert_eq!(q.qsize(), 2);
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let putter = {
        let (q, done) = (q.clone(), done.clone());
        thread::spawn(move || {
            started_tx.send(()).unwrap();
            let r = q.put(3);
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    started_rx.recv_timeout(PATIENCE).unwrap();
    // Still full: another put times out, and gives the putter time to block.
    assert!(matches!(
        q.put_timeout(4, Duration::from_millis(100)),
        Err(PutError::Full(4))
    ));
    assert!(!done.load(Ordering::SeqCst), "a put on a full queue returned");
    assert_eq!(q.qsize(), 2);
    assert_eq!(q.get_timeout(PATIENCE).unwrap(), 1);
    putter.join().unwrap().unwrap();
    assert!(done.load(Ordering::SeqCst));
    assert_eq!(q.qsize(), 2);
    assert_eq!(q.try_get().unwrap(), 2);
    assert_eq!(q.try_get().unwrap(), 3);
    assert!(q.is_empty());
}

#[test]
fn every_blocked_putter_gets_through_as_room_frees() {
    let q = Queue::<u32>::bounded(1).unwrap();
    q.put(0).unwrap();
    let putters: Vec<_> = (1..=8)
        .map(|i| {
            let q = q.clone();
            thread::spawn(move || q.put(i))
        })
        .collect();
    let mut got: Vec<u32> = (0..9).map(|_| q.get_timeout(PATIENCE).unwrap()).collect();
    for p in putters {
        p.join().unwrap().unwrap();
    }
    got.sort_unstable();
    assert_eq!(got, (0..=8).collect::<Vec<_>>());
    assert!(q.is_empty());
}

#[test]
fn try_put_and_try_get_do_not_wait() {
    let q = Queue::<u8>::bounded(1).unwrap();
    assert!(matches!(q.try_get(), Err(Error::Empty)));
    q.try_put(1).unwrap();
    assert!(q.is_full());
    assert!(matches!(q.try_put(2), Err(PutError::Full(2))));
    assert_eq!(q.try_get().unwrap(), 1);
    assert!(matches!(q.try_get(), Err(Error::Empty)));
    assert!(!q.is_full());

    let u = Queue::<u8>::unbounded().unwrap();
    for i in 0..100 {
        u.try_put(i).unwrap();
    }
    assert!(!u.is_full());
    assert_eq!(u.qsize(), 100);

    assert!(matches!(Queue::<u8>::bounded(0), Err(Error::Usage(_))));
    assert!(matches!(JoinableQueue::<u8>::bounded(0), Err(Error::Usage(_))));
}

#[test]
fn timeouts_give_full_and_empty() {
    let q = Queue::<u8>::bounded(1).unwrap();
    let t = Instant::now();
    assert!(matches!(q.get_timeout(Duration::from_millis(50)), Err(Error::Empty)));
    assert!(t.elapsed() >= Duration::from_millis(50));

    q.put(1).unwrap();
    let t = Instant::now();
    assert!(matches!(
        q.put_timeout(2, Duration::from_millis(50)),
        Err(PutError::Full(2))
    ));
    assert!(t.elapsed() >= Duration::from_millis(50));

    // A timeout too large for an `Instant` waits without a deadline.
    assert_eq!(q.get_timeout(Duration::MAX).unwrap(), 1);
    q.put_timeout(3, Duration::MAX).unwrap();
    assert_eq!(q.get().unwrap(), 3);

    // A get with time to spare takes an item put later by another thread.
    let putter = {
        let q = q.clone();
        thread::spawn(move || q.put(9))
    };
    assert_eq!(q.get_timeout(PATIENCE).unwrap(), 9);
    putter.join().unwrap().unwrap();
}

#[test]
fn a_get_fails_once_every_writer_is_closed_or_dropped() {
    let q = Queue::<u32>::unbounded().unwrap();
    let other = q.clone();
    q.close();
    q.close(); // twice is harmless
    assert!(matches!(q.put(1), Err(Error::QueueClosed)));
    other.put(2).unwrap(); // the other handle still puts
    assert_eq!(q.get_timeout(PATIENCE).unwrap(), 2);
    // `other` is still open: an empty queue waits, then times out.
    assert!(matches!(q.get_timeout(Duration::from_millis(20)), Err(Error::Empty)));

    other.put(3).unwrap();
    drop(other); // dropping closes the last writer
    assert_eq!(q.get_timeout(PATIENCE).unwrap(), 3); // items put before stay
    let t = Instant::now();
    assert!(matches!(q.get_timeout(PATIENCE), Err(Error::Disconnected { .. })));
    assert!(matches!(q.get(), Err(Error::Disconnected { .. })));
    assert!(matches!(q.try_get(), Err(Error::Disconnected { .. })));
    assert!(t.elapsed() < PATIENCE / 2, "the get waited");
    // A clone of a closed handle is closed: the queue stays disconnected.
    let late = q.clone();
    assert!(matches!(late.put(4), Err(Error::QueueClosed)));
    assert!(matches!(late.get(), Err(Error::Disconnected { .. })));
}

#[test]
fn a_blocked_get_wakes_when_the_last_writer_goes() {
    for by_drop in [false, true] {
        let q = Queue::<u32>::unbounded().unwrap();
        let reader = q.clone();
        reader.close();
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let getter = thread::spawn(move || {
            waiting_tx.send(()).unwrap();
            let t = Instant::now();
            (reader.get_timeout(PATIENCE), t.elapsed())
        });
        waiting_rx.recv_timeout(PATIENCE).unwrap();
        // Gives the getter time to block (either way the result is the same).
        assert!(matches!(q.get_timeout(Duration::from_millis(50)), Err(Error::Empty)));
        if by_drop {
            drop(q);
        } else {
            q.close();
        }
        let (got, waited) = getter.join().unwrap();
        assert!(matches!(got, Err(Error::Disconnected { .. })), "{got:?}");
        assert!(waited < PATIENCE / 2, "the get waited {waited:?}");
    }
}

#[test]
fn a_put_under_way_when_its_handle_closes_is_not_lost() {
    for round in 0..20 {
        let q = Queue::<u32>::bounded(1).unwrap();
        let reader = q.clone();
        reader.close();
        q.put(1).unwrap();
        let (outcome, got) = thread::scope(|s| {
            let putter = s.spawn(|| q.put(2));
            if round % 2 == 0 {
                // Gives the putter time to block on the full queue; on odd
                // rounds the close races the put's start.
                assert!(matches!(
                    q.put_timeout(0, Duration::from_millis(20)),
                    Err(PutError::Full(0))
                ));
            }
            q.close();
            let got = drain_until_disconnected(&reader);
            (putter.join().unwrap(), got)
        });
        match outcome {
            Ok(()) => assert_eq!(got, [1, 2]),
            Err(Error::QueueClosed) => assert_eq!(got, [1]),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
}

/// Getters waiting on an empty queue when the last writer closes with
/// items still in it: the one that takes the last item wakes the others.
#[test]
fn waiting_getters_all_wake_when_the_last_item_of_a_closed_queue_goes() {
    for _ in 0..20 {
        let q = Queue::<u32>::unbounded().unwrap();
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let getters: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                q.close();
                let waiting = waiting_tx.clone();
                thread::spawn(move || {
                    waiting.send(()).unwrap();
                    drain_until_disconnected(&q)
                })
            })
            .collect();
        for _ in 0..3 {
            waiting_rx.recv_timeout(PATIENCE).unwrap();
        }
        // Gives the getters time to block.
        assert!(matches!(q.get_timeout(Duration::from_millis(20)), Err(Error::Empty)));
        q.put(7).unwrap();
        q.close();
        let t = Instant::now();
        let got: Vec<u32> = getters.into_iter().flat_map(|g| g.join().unwrap()).collect();
        assert_eq!(got, [7]);
        assert!(t.elapsed() < PATIENCE / 2, "a getter waited");
    }
}

#[test]
fn a_put_that_times_out_after_the_last_close_disconnects_getters() {
    let q = Queue::<u32>::bounded(1).unwrap();
    let reader = q.clone();
    reader.close();
    q.put(1).unwrap();
    thread::scope(|s| {
        // Blocked on the full queue until its time is up; its handle gets
        // closed meanwhile, so it was the last way an item could come.
        let putter = s.spawn(|| q.put_timeout(2, Duration::from_millis(200)));
        q.close();
        assert!(matches!(
            putter.join().unwrap(),
            Err(PutError::Full(2) | PutError::Closed(2))
        ));
    });
    assert_eq!(reader.get_timeout(PATIENCE).unwrap(), 1);
    let t = Instant::now();
    assert!(matches!(reader.get_timeout(PATIENCE), Err(Error::Disconnected { .. })));
    assert!(t.elapsed() < PATIENCE / 2);
}

#[test]
fn joinable_queue_join_waits_for_task_done() {
    let q = JoinableQueue::<u64>::bounded(4).unwrap();
    let (results_tx, results_rx) = mpsc::channel();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            q.close();
            let results = results_tx.clone();
            thread::spawn(move || {
                while let Ok(v) = q.get_timeout(PATIENCE) {
                    results.send(v * 10).unwrap();
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    drop(results_tx);
    for i in 1..=50 {
        q.put(i).unwrap();
    }
    q.join_timeout(PATIENCE).unwrap();
    q.join().unwrap();
    // Every task was marked done after its result was sent.
    let sum: u64 = results_rx.try_iter().sum();
    assert_eq!(sum, 10 * (1..=50).sum::<u64>());
    drop(q);
    for w in workers {
        w.join().unwrap();
    }
}

#[test]
fn join_returns_only_after_the_last_task_done() {
    let q = JoinableQueue::<u8>::unbounded().unwrap();
    q.put(1).unwrap();
    q.put(2).unwrap();
    q.get().unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    let t = Instant::now();
    assert!(matches!(
        q.join_timeout(Duration::from_millis(50)),
        Err(Error::Timeout(d)) if d == Duration::from_millis(50)
    ));
    assert!(t.elapsed() >= Duration::from_millis(50));
    let joined = Arc::new(AtomicBool::new(false));
    let joiner = {
        let (q, joined) = (q.clone(), joined.clone());
        thread::spawn(move || {
            let r = q.join();
            joined.store(true, Ordering::SeqCst);
            r
        })
    };
    // One task is still unfinished, so the joiner cannot have returned.
    assert!(matches!(
        q.join_timeout(Duration::from_millis(50)),
        Err(Error::Timeout(_))
    ));
    assert!(!joined.load(Ordering::SeqCst));
    q.task_done().unwrap();
    joiner.join().unwrap().unwrap();
    q.join_timeout(Duration::ZERO).unwrap();
    q.join_timeout(Duration::MAX).unwrap();
}

#[test]
fn too_many_task_done_is_an_error() {
    let q = JoinableQueue::<u8>::unbounded().unwrap();
    assert!(matches!(q.task_done(), Err(Error::Usage(_))));
    q.put(1).unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    assert!(matches!(q.task_done(), Err(Error::Usage(_))));
    q.join().unwrap();
    // A put through the queue a `JoinableQueue` derefs to counts as a task.
    let plain: Queue<u8> = (*q).clone();
    plain.put(2).unwrap();
    assert!(matches!(
        q.join_timeout(Duration::from_millis(10)),
        Err(Error::Timeout(_))
    ));
    q.task_done().unwrap();
    q.join().unwrap();
}

/// Neither `Clone` nor serializable: a closure and a channel end.
struct Job {
    work: Box<dyn FnOnce() -> u64 + Send>,
    reply: mpsc::Sender<u64>,
}

#[test]
fn items_that_cannot_be_serialized_or_cloned_are_moved() {
    let q = Queue::<Job>::bounded(2).unwrap();
    let (reply, replies) = mpsc::channel();
    let worker = {
        let q = q.clone();
        q.close();
        thread::spawn(move || {
            for job in drain_until_disconnected(&q) {
                job.reply.send((job.work)()).unwrap();
            }
        })
    };
    let worker2 = {
        let q = q.clone();
        q.close();
        thread::spawn(move || {
            while let Ok(job) = q.get() {
                job.reply.send((job.work)()).unwrap();
            }
        })
    };
    for i in 0..20u64 {
        q.put(Job {
            work: Box::new(move || i * i),
            reply: reply.clone(),
        })
        .unwrap();
    }
    drop(reply);
    q.close();
    worker.join().unwrap();
    worker2.join().unwrap();
    let mut got: Vec<u64> = replies.iter().collect();
    got.sort_unstable();
    assert_eq!(got, (0..20u64).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn borrowed_items_travel_between_scoped_threads() {
    let words = vec![String::from("alpha"), String::from("beta"), String::from("gamma")];
    let q = SimpleQueue::<&str>::new().unwrap();
    let total = thread::scope(|s| {
        let reader = q.clone();
        reader.close();
        let counter = s.spawn(move || {
            let mut total = 0;
            while let Ok(w) = reader.get() {
                total += w.len();
            }
            total
        });
        for w in &words {
            q.put(w.as_str()).unwrap();
        }
        q.close();
        counter.join().unwrap()
    });
    assert_eq!(total, 5 + 4 + 5);
    assert!(matches!(q.put("late"), Err(Error::QueueClosed)));
}

#[test]
fn simple_queue_puts_gets_and_disconnects() {
    let q = SimpleQueue::<Vec<u8>>::new().unwrap();
    assert!(q.is_empty());
    let other = q.clone();
    other.put(vec![1, 2]).unwrap();
    assert!(!q.is_empty());
    assert_eq!(q.get().unwrap(), vec![1, 2]);
    q.close();
    assert!(matches!(q.put(vec![3]), Err(Error::QueueClosed)));
    other.put(vec![4]).unwrap();
    other.close();
    assert_eq!(q.get().unwrap(), vec![4]);
    assert!(matches!(q.get(), Err(Error::Disconnected { .. })));
}

#[test]
fn simple_queue_get_timeout_waits_then_gives_up() {
    let q = SimpleQueue::<u32>::new().unwrap();
    let short = Duration::from_millis(20);
    let t = Instant::now();
    assert!(matches!(q.get_timeout(short), Err(Error::Empty)));
    assert!(t.elapsed() >= short);
    // A getter that waits is woken by a later put.
    let getter = {
        let q = q.clone();
        thread::spawn(move || q.get_timeout(PATIENCE))
    };
    q.put(7).unwrap();
    assert_eq!(getter.join().unwrap().unwrap(), 7);
    // Every writer gone: it fails at once, as `get` does.
    q.close();
    assert!(matches!(q.get_timeout(PATIENCE), Err(Error::Disconnected { .. })));
}

#[test]
fn items_left_in_a_dropped_queue_are_dropped() {
    let token = Arc::new(());
    let q = Queue::<Arc<()>>::unbounded().unwrap();
    for _ in 0..5 {
        q.put(token.clone()).unwrap();
    }
    let other = q.clone();
    drop(q);
    assert_eq!(Arc::strong_count(&token), 6);
    drop(other);
    assert_eq!(Arc::strong_count(&token), 1);
    // A failed try_put gives its item back; dropping the error drops it.
    let b = Queue::<Arc<()>>::bounded(1).unwrap();
    b.put(token.clone()).unwrap();
    let failed = b.try_put(token.clone()).unwrap_err();
    assert_eq!(Arc::strong_count(&token), 3);
    drop(failed);
    assert_eq!(Arc::strong_count(&token), 2);
}

#[test]
fn handles_are_send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Queue<Box<dyn FnOnce() + Send>>>();
    assert_send_sync::<JoinableQueue<mpsc::Sender<u8>>>();
    assert_send_sync::<SimpleQueue<Job>>();

    struct NotDebug;
    let q = Queue::<NotDebug>::bounded(3).unwrap();
    q.put(NotDebug).unwrap();
    let s = format!("{q:?}");
    assert!(s.contains("maxsize: 3") && s.contains("qsize: 1"), "{s}");
    assert!(format!("{:?}", JoinableQueue::<NotDebug>::unbounded().unwrap()).starts_with("JoinableQueue"));
    assert!(format!("{:?}", SimpleQueue::<NotDebug>::new().unwrap()).starts_with("SimpleQueue"));
}

/// A `try_put` or `put_timeout` that fails gives the item back — one that
/// is not `Clone` and could not be made again — and `?` still makes a
/// `multiproc::Error` of it.
#[test]
fn a_failed_put_gives_the_item_back() {
    /// Neither `Clone` nor `Copy`: the only one there is.
    #[derive(Debug, PartialEq)]
    struct Unique(u32);

    let q = Queue::<Unique>::bounded(1).unwrap();
    q.put(Unique(1)).unwrap();
    let back = match q.try_put(Unique(2)) {
        Err(e @ PutError::Full(_)) => {
            assert!(e.is_full() && !e.is_closed());
            assert_eq!(e.to_string(), Error::Full.to_string());
            e.into_inner()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(back, Unique(2));
    let started = Instant::now();
    let back = q.put_timeout(back, Duration::from_millis(50)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert!(back.is_full());
    // Room again: the same item goes in.
    assert_eq!(q.get().unwrap(), Unique(1));
    q.try_put(back.into_inner()).unwrap();
    assert_eq!(q.get_timeout(PATIENCE).unwrap(), Unique(2));

    // A closed handle gives it back too.
    let closed = q.clone();
    closed.close();
    match closed.put_timeout(Unique(3), PATIENCE) {
        Err(PutError::Closed(item)) => assert_eq!(item, Unique(3)),
        other => panic!("{other:?}"),
    }
    assert!(closed.try_put(Unique(4)).unwrap_err().is_closed());

    // `?` converts it, dropping the item.
    fn fill(q: &Queue<Unique>, n: u32) -> multiproc::Result<()> {
        for i in 0..n {
            q.try_put(Unique(i))?;
        }
        Ok(())
    }
    assert!(matches!(fill(&q, 2), Err(Error::Full)));
    assert!(matches!(fill(&closed, 1), Err(Error::QueueClosed)));
    let as_error: Error = PutError::Full(Unique(9)).into();
    assert!(matches!(as_error, Error::Full));
}
