//! Shared values and sync primitives across processes, for every start
//! method: exact counts, owner death reported (never a deadlock), timeouts.

use std::time::{Duration, Instant};

use multiproc::prelude::*;
use multiproc::shared::{Array, Pod, Value, ValueLock, Zeroable};
use multiproc::sync::{BoundedSemaphore, Event, Lock, LockError, RLock, Semaphore};
use multiproc_tests::{eventually, METHODS, PATIENCE};

#[process_fn]
fn add(counter: Value<u64>, n: u64) {
    for _ in 0..n {
        *counter.lock().unwrap() += 1;
    }
}

/// Takes the lock, says so, and sleeps holding it until killed.
#[process_fn]
fn hold_forever(lock: Lock, held: Event) {
    let _guard = lock.acquire().unwrap();
    held.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[process_fn]
fn hold_value_forever(v: Value<u64>, held: Event) {
    let mut g = v.lock().unwrap();
    *g = 12345; // a "half-done" update
    held.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[process_fn]
fn fill(a: Array<u32>, base: u32) {
    for (i, x) in a.lock().unwrap().iter_mut().enumerate() {
        *x = base + i as u32;
    }
}

#[process_fn]
fn wait_then_set(go: Event, done: Event) {
    assert!(go.wait_timeout(PATIENCE));
    done.set();
}

#[process_fn]
fn use_slot(slots: Semaphore, inside: Value<u32>, most: Value<u32>) {
    let _permit = slots.acquire();
    let now = {
        let mut g = inside.lock().unwrap();
        *g += 1;
        *g
    };
    {
        let mut m = most.lock().unwrap();
        *m = (*m).max(now);
    }
    std::thread::sleep(Duration::from_millis(20));
    *inside.lock().unwrap() -= 1;
}

#[test]
fn two_processes_count_exactly_under_the_value_lock() {
    for method in METHODS {
        let counter = Value::new(0u64).unwrap();
        let mut kids: Vec<_> = (0..2)
            .map(|_| {
                Process::builder()
                    .start_method(method)
                    .start(add, (counter.clone(), 20_000))
                    .unwrap()
            })
            .collect();
        for k in &mut kids {
            k.join_timeout(PATIENCE).unwrap();
        }
        assert_eq!(counter.get().unwrap(), 40_000, "{method}");
    }
}

#[test]
fn arrays_are_shared() {
    for method in METHODS {
        let a = Array::<u32>::new(100).unwrap();
        Process::builder()
            .start_method(method)
            .start(fill, (a.clone(), 7))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap();
        assert_eq!(a.to_vec().unwrap(), (7..107).collect::<Vec<u32>>(), "{method}");
    }
}

#[test]
fn a_dead_holder_is_reported_to_the_next_acquirer() {
    for method in METHODS {
        let lock = Lock::new().unwrap();
        let held = Event::new().unwrap();
        let holder = Process::builder()
            .start_method(method)
            .start(hold_forever, (lock.clone(), held.clone()))
            .unwrap();
        assert!(held.wait_timeout(PATIENCE));
        assert!(matches!(lock.try_acquire(), Err(LockError::Timeout)));
        // A waiter already blocked when the holder dies wakes with the news.
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || match lock.acquire_timeout(PATIENCE) {
                Err(LockError::OwnerDied(guard)) => {
                    drop(guard);
                    "owner died"
                }
                Ok(_) => "acquired plainly",
                Err(_) => "failed",
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        holder.kill().unwrap();
        assert_eq!(waiter.join().unwrap(), "owner died", "{method}");
        // Released once: healthy again.
        assert!(lock.acquire_timeout(PATIENCE).is_ok());
    }
}

#[test]
fn a_value_whose_holder_died_can_be_repaired() {
    let v = Value::new(0u64).unwrap();
    let held = Event::new().unwrap();
    let holder = Process::builder()
        .start(hold_value_forever, (v.clone(), held.clone()))
        .unwrap();
    assert!(held.wait_timeout(PATIENCE));
    holder.kill().unwrap();
    let mut holder = holder;
    let _ = holder.join_timeout(PATIENCE);
    match v.lock_timeout(PATIENCE) {
        Err(LockError::OwnerDied(mut g)) => {
            assert_eq!(*g, 12345); // what the dead holder left
            *g = 0; // repaired
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(v.get().unwrap(), 0);
}

/// Moves one unit from `from` to `to`, `n` times, each move atomic under
/// the re-entrant lock the two values share.
#[process_fn]
fn transfer(from: Value<i64>, to: Value<i64>, n: u32) {
    for _ in 0..n {
        let lock = from.get_lock();
        let _both = lock.acquire().unwrap();
        from.set(from.get().unwrap() - 1).unwrap();
        to.set(to.get().unwrap() + 1).unwrap();
    }
}

#[test]
fn values_sharing_an_rlock_update_together_across_processes() {
    for method in METHODS {
        let lock = RLock::new().unwrap();
        let a = Value::with_lock(10_000i64, lock.clone()).unwrap();
        let b = Value::with_lock(0i64, lock.clone()).unwrap();
        let mut kids: Vec<_> = (0..2)
            .map(|_| {
                Process::builder()
                    .start_method(method)
                    .start(transfer, (a.clone(), b.clone(), 2_000))
                    .unwrap()
            })
            .collect();
        // Under the shared lock, no move is ever seen half done.
        while kids.iter().any(|k| k.is_alive()) {
            let _both = lock.acquire().unwrap();
            assert_eq!(a.get().unwrap() + b.get().unwrap(), 10_000, "{method}");
            drop(_both);
            // Pacing only (not synchronisation): leave the lock to the children.
            std::thread::sleep(Duration::from_millis(1));
        }
        for k in &mut kids {
            k.join_timeout(PATIENCE).unwrap();
        }
        assert_eq!((a.get().unwrap(), b.get().unwrap()), (6_000, 4_000), "{method}");
        assert!(matches!(b.get_lock(), ValueLock::RLock(_)));
    }
}

#[test]
fn a_shared_lock_excludes_every_value_it_guards() {
    let lock = Lock::new().unwrap();
    let a = Value::with_lock(1u8, lock.clone()).unwrap();
    let b = Value::with_lock(2u16, lock.clone()).unwrap();
    {
        let _a = a.lock().unwrap();
        assert!(matches!(b.try_lock(), Err(LockError::Timeout)));
        assert!(matches!(lock.try_acquire(), Err(LockError::Timeout)));
        assert!(matches!(b.get_lock().try_acquire(), Err(LockError::Timeout)));
    }
    {
        let _held = lock.acquire().unwrap();
        assert!(matches!(a.try_lock(), Err(LockError::Timeout)));
        assert!(a.lock_timeout(Duration::from_millis(10)).is_err());
    }
    *b.try_lock().unwrap() += 1;
    assert_eq!((a.get().unwrap(), b.get().unwrap()), (1, 3));
    assert!(matches!(a.get_lock(), ValueLock::Lock(_)));
    // A value's own lock is what `get_lock` gives when none was given.
    let own = Value::new(0u32).unwrap();
    let own_lock = own.get_lock();
    let held = own_lock.acquire().unwrap();
    assert!(matches!(own.try_lock(), Err(LockError::Timeout)));
    drop(held);
    assert!(own.try_lock().is_ok());
}

#[test]
fn a_dead_holder_of_a_shared_lock_is_reported_by_the_value() {
    for method in METHODS {
        let lock = Lock::new().unwrap();
        let v = Value::with_lock(7u64, lock.clone()).unwrap();
        let held = Event::new().unwrap();
        let mut holder = Process::builder()
            .start_method(method)
            .start(hold_forever, (lock.clone(), held.clone()))
            .unwrap();
        assert!(held.wait_timeout(PATIENCE));
        assert!(matches!(v.try_lock(), Err(LockError::Timeout)), "{method}");
        holder.kill().unwrap();
        let _ = holder.join_timeout(PATIENCE);
        match v.lock_timeout(PATIENCE) {
            Err(LockError::OwnerDied(g)) => assert_eq!(*g, 7, "{method}"),
            other => panic!("{method}: {other:?}"),
        }
        assert_eq!(v.get().unwrap(), 7);
    }
}

/// A struct of the test's own, derived through the re-exports: this crate
/// has no `bytemuck` dependency.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[bytemuck(crate = "multiproc::shared::bytemuck")]
#[repr(C)]
struct Point {
    x: f64,
    y: f64,
}

#[process_fn]
fn move_point(p: Value<Point>) {
    p.lock().unwrap().x += 1.0;
}

#[test]
fn a_derived_pod_struct_needs_no_bytemuck_of_its_own() {
    let p = Value::new(Point { x: 1.0, y: 2.0 }).unwrap();
    Process::builder()
        .start(move_point, (p.clone(),))
        .unwrap()
        .join_timeout(PATIENCE)
        .unwrap();
    assert_eq!(p.get().unwrap(), Point { x: 2.0, y: 2.0 });
}

#[test]
fn rlock_is_reentrant_and_excludes_others() {
    let lock = RLock::new().unwrap();
    let outer = lock.acquire().unwrap();
    let inner = lock.acquire().unwrap();
    let other = {
        let lock = lock.clone();
        std::thread::spawn(move || lock.try_acquire().is_ok())
    };
    assert!(!other.join().unwrap());
    drop((inner, outer));
    let lock2 = lock.clone();
    assert!(std::thread::spawn(move || lock2.try_acquire().is_ok()).join().unwrap());
}

#[test]
fn events_cross_processes() {
    for method in METHODS {
        let (go, done) = (Event::new().unwrap(), Event::new().unwrap());
        let mut p = Process::builder()
            .start_method(method)
            .start(wait_then_set, (go.clone(), done.clone()))
            .unwrap();
        assert!(!done.wait_timeout(Duration::from_millis(10)));
        go.set();
        assert!(done.wait_timeout(PATIENCE), "{method}");
        p.join_timeout(PATIENCE).unwrap();
        done.clear();
        assert!(!done.is_set());
    }
}

/// The guide's example: 5 users, 2 slots.
#[test]
fn a_semaphore_admits_at_most_its_permits() {
    let slots = Semaphore::new(2).unwrap();
    let inside = Value::new(0u32).unwrap();
    let most = Value::new(0u32).unwrap();
    let mut users: Vec<_> = (0..5)
        .map(|_| {
            Process::builder()
                .start(use_slot, (slots.clone(), inside.clone(), most.clone()))
                .unwrap()
        })
        .collect();
    for u in &mut users {
        u.join_timeout(PATIENCE).unwrap();
    }
    assert!(most.get().unwrap() <= 2);
    assert_eq!(inside.get().unwrap(), 0);
    assert_eq!(slots.value(), 2);
    let t = Instant::now();
    let (_a, _b) = (slots.acquire(), slots.acquire());
    assert!(slots.acquire_timeout(Duration::from_millis(30)).is_none());
    assert!(t.elapsed() >= Duration::from_millis(30));
}

#[test]
fn a_bounded_semaphore_refuses_extra_releases() {
    let s = BoundedSemaphore::new(1).unwrap();
    assert!(matches!(s.add_permit(), Err(Error::Usage(_))));
    let permit = s.acquire();
    drop(permit);
    assert_eq!(s.value(), 1);
    assert!(eventually(|| s.value() == 1));
}

#[process_fn]
fn stage_waiter(cond: multiproc::sync::Condition, stage: Value<u32>, want: u32) -> u32 {
    let guard = cond.acquire().unwrap();
    let guard = cond.wait_while(guard, || stage.get().unwrap() < want).unwrap();
    drop(guard);
    stage.get().unwrap()
}

/// Waits at most `ms` for `stage` to reach `want`; whether it timed out.
#[process_fn]
fn stage_waiter_timed(cond: multiproc::sync::Condition, stage: Value<u32>, want: u32, ms: u64) -> bool {
    let guard = cond.acquire().unwrap();
    let (_guard, result) = cond
        .wait_timeout_while(guard, Duration::from_millis(ms), || stage.get().unwrap() < want)
        .unwrap();
    result.timed_out()
}

/// `wait_timeout_while` (Python's `wait_for(pred, timeout)`) across
/// processes: met in time, or not met at all.
#[test]
fn a_condition_wait_with_a_deadline_says_whether_it_timed_out() {
    for method in METHODS {
        let cond = multiproc::sync::Condition::new().unwrap();
        let stage = Value::new(0u32).unwrap();
        let start = |want: u32, ms: u64| {
            Process::builder()
                .start_method(method)
                .start(stage_waiter_timed, (cond.clone(), stage.clone(), want, ms))
                .unwrap()
        };
        let patient = PATIENCE.as_millis() as u64;
        let mut met = start(1, patient);
        let mut never = start(2, 20);
        {
            let _held = cond.acquire().unwrap();
            stage.set(1).unwrap();
            cond.notify_all();
        }
        assert!(!met.join_timeout(PATIENCE).unwrap(), "{method}: stage 1 was reached");
        assert!(never.join_timeout(PATIENCE).unwrap(), "{method}: stage 2 never comes");
    }
}

/// `wait_timeout` says whether a notify came (Python's `wait(timeout)`),
/// between threads too: the thread twin is the same type.
#[test]
fn a_condition_wait_timeout_tells_notified_from_timed_out() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    let cond = multiproc::sync::Condition::new().unwrap();
    // Nobody notifies: it times out, no sooner than asked, the lock held again.
    let short = Duration::from_millis(20);
    let t = Instant::now();
    let guard = cond.acquire().unwrap();
    let (guard, result) = cond.wait_timeout(guard, short).unwrap();
    assert!(result.timed_out());
    assert!(t.elapsed() >= short);
    assert!(cond.wait_timeout_while(guard, short, || true).unwrap().1.timed_out());

    // A notify wakes a waiter that counted itself in under the lock.
    let waiting = Arc::new(AtomicU32::new(0));
    let waiter = {
        let (cond, waiting) = (cond.clone(), waiting.clone());
        std::thread::spawn(move || {
            let guard = cond.acquire().unwrap();
            waiting.store(1, Ordering::SeqCst);
            let (_guard, result) = cond.wait_timeout(guard, PATIENCE).unwrap();
            result.timed_out()
        })
    };
    assert!(eventually(|| waiting.load(Ordering::SeqCst) == 1));
    {
        // Taking the lock means the waiter has let it go: it is waiting.
        let _held = cond.acquire().unwrap();
        cond.notify(1);
    }
    assert!(!waiter.join().unwrap(), "the notify woke it");
}

/// The guide's two-stage Condition example, across processes.
#[test]
fn a_condition_wakes_waiters_in_other_processes() {
    for method in METHODS {
        let cond = multiproc::sync::Condition::new().unwrap();
        let stage = Value::new(0u32).unwrap();
        let mut waiters: Vec<_> = (1..=2)
            .map(|want| {
                Process::builder()
                    .start_method(method)
                    .start(stage_waiter, (cond.clone(), stage.clone(), want))
                    .unwrap()
            })
            .collect();
        for s in 1..=2 {
            std::thread::sleep(Duration::from_millis(10));
            let _held = cond.acquire().unwrap();
            stage.set(s).unwrap();
            cond.notify_all();
        }
        for w in &mut waiters {
            assert!(w.join_timeout(PATIENCE).unwrap() >= 1, "{method}");
        }
    }
}

#[process_fn]
fn meet(b: multiproc::sync::Barrier) -> Option<u32> {
    b.wait_timeout(PATIENCE).ok()
}

#[process_fn]
fn die_before_meeting() {
    std::process::abort()
}

#[test]
fn a_barrier_releases_its_parties_with_distinct_indices() {
    for method in METHODS {
        let b = multiproc::sync::Barrier::new(3).unwrap();
        let mut kids: Vec<_> = (0..2)
            .map(|_| {
                Process::builder()
                    .start_method(method)
                    .start(meet, (b.clone(),))
                    .unwrap()
            })
            .collect();
        let mine = b.wait_timeout(PATIENCE).unwrap();
        let mut all = vec![mine];
        for k in &mut kids {
            all.push(k.join_timeout(PATIENCE).unwrap().unwrap());
        }
        all.sort();
        assert_eq!(all, vec![0, 1, 2], "{method}");
    }
}

/// A party that dies before arriving: the others break the barrier when
/// their timeout runs out, and are not stuck past it.
#[test]
fn a_dead_party_breaks_the_barrier_after_the_timeout() {
    let b = multiproc::sync::Barrier::new(2).unwrap();
    let mut dead = Process::builder().start(die_before_meeting, ()).unwrap();
    assert!(dead.join_timeout(PATIENCE).is_err());
    let t = Instant::now();
    assert!(matches!(
        b.wait_timeout(Duration::from_millis(100)),
        Err(Error::BrokenBarrier)
    ));
    assert!(t.elapsed() < PATIENCE);
    assert!(b.broken());
    b.reset();
    assert!(!b.broken());
}

/// Where [`count_trip`] counts, in whichever process runs it: an action
/// takes no arguments, as Python's does.
static TRIPS: std::sync::Mutex<Option<Value<u32>>> = std::sync::Mutex::new(None);

/// A barrier action: one more trip.
#[process_fn]
fn count_trip() {
    let trips = TRIPS.lock().unwrap().clone().expect("the party set TRIPS");
    *trips.lock().unwrap() += 1;
}

/// Meets at `b` `rounds` times; after each, what `trips` says.
#[process_fn]
fn meet_rounds(b: multiproc::sync::Barrier, trips: Value<u32>, rounds: u32) -> Vec<u32> {
    *TRIPS.lock().unwrap() = Some(trips.clone());
    (0..rounds)
        .map(|_| {
            b.wait().unwrap();
            trips.get().unwrap()
        })
        .collect()
}

/// A `#[process_fn]` action travels with the barrier: each round, one
/// party runs it, before any party is released.
#[test]
fn a_barrier_action_runs_once_per_round_across_processes() {
    for method in METHODS {
        let trips = Value::new(0u32).unwrap();
        *TRIPS.lock().unwrap() = Some(trips.clone());
        let b = multiproc::sync::Barrier::builder(3)
            .action(count_trip)
            .timeout(PATIENCE)
            .build()
            .unwrap();
        let rounds = 4;
        let mut kids: Vec<_> = (0..2)
            .map(|_| {
                Process::builder()
                    .start_method(method)
                    .start(meet_rounds, (b.clone(), trips.clone(), rounds))
                    .unwrap()
            })
            .collect();
        let mine = meet_rounds(b.clone(), trips.clone(), rounds);
        // Released only after the round's action: each party saw it.
        let want: Vec<u32> = (1..=rounds).collect();
        assert_eq!(mine, want, "{method}");
        for k in &mut kids {
            let seen = k.join_timeout(PATIENCE).unwrap();
            assert!(seen.iter().zip(&want).all(|(s, w)| s >= w), "{method}: {seen:?}");
        }
        assert_eq!(trips.get().unwrap(), rounds, "{method}: once per round");
    }
}

#[process_fn]
fn wait_by_default(b: multiproc::sync::Barrier) -> bool {
    matches!(b.wait(), Err(Error::BrokenBarrier))
}

/// The default timeout travels too: a child's plain `wait` gives up.
#[test]
fn a_barrier_default_timeout_breaks_a_lone_wait() {
    for method in METHODS {
        let b = multiproc::sync::Barrier::builder(2)
            .timeout(Duration::from_millis(20))
            .build()
            .unwrap();
        let mut p = Process::builder()
            .start_method(method)
            .start(wait_by_default, (b.clone(),))
            .unwrap();
        assert!(p.join_timeout(PATIENCE).unwrap(), "{method}");
        assert!(b.broken(), "{method}");
    }
    // Here too; `wait_timeout` takes its own time instead.
    let b = multiproc::sync::Barrier::builder(2)
        .timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    let t = Instant::now();
    assert!(matches!(b.wait(), Err(Error::BrokenBarrier)));
    assert!(t.elapsed() >= Duration::from_millis(20));
    b.reset();
    let other = b.clone();
    let waiter = std::thread::spawn(move || other.wait_timeout(PATIENCE));
    assert!(eventually(|| b.n_waiting() == 1));
    // Longer than the default: the waiter's own timeout holds it.
    std::thread::sleep(Duration::from_millis(100));
    let mine = b.wait_timeout(PATIENCE).unwrap();
    assert_eq!(mine + waiter.join().unwrap().unwrap(), 1);
}

/// Threads: a closure action, once per round, before the release.
#[test]
fn a_barrier_closure_action_runs_once_per_round_between_threads() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    let trips = Arc::new(AtomicU32::new(0));
    let t = trips.clone();
    let b = multiproc::thread::Barrier::builder(3)
        .closure_action(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let rounds = 20;
    let parties: Vec<_> = (0..3)
        .map(|_| {
            let (b, trips) = (b.clone(), trips.clone());
            std::thread::spawn(move || {
                (1..=rounds).all(|round| {
                    b.wait_timeout(PATIENCE).unwrap();
                    trips.load(Ordering::SeqCst) >= round
                })
            })
        })
        .collect();
    for p in parties {
        assert!(p.join().unwrap(), "a party was released before the action ran");
    }
    assert_eq!(trips.load(Ordering::SeqCst), rounds);
}

/// More threads than parties: one that arrives while a round's action runs
/// waits for the next round instead of tripping the barrier a second time.
#[test]
fn a_party_arriving_during_the_action_waits_for_the_next_round() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;

    let trips = Arc::new(AtomicU32::new(0));
    let coming = Arc::new(AtomicBool::new(false));
    let (t, c) = (trips.clone(), coming.clone());
    let b = multiproc::thread::Barrier::builder(2)
        .closure_action(move || {
            // The first action holds its round open until a third party
            // is on its way in (it is not counted: a full round counts no
            // one more).
            if t.fetch_add(1, Ordering::SeqCst) == 0 {
                assert!(eventually(|| c.load(Ordering::SeqCst)));
            }
        })
        .build()
        .unwrap();
    let spawn = |b: &multiproc::sync::Barrier, flag: Option<Arc<AtomicBool>>| {
        let b = b.clone();
        std::thread::spawn(move || {
            if let Some(flag) = flag {
                flag.store(true, Ordering::SeqCst);
            }
            b.wait_timeout(PATIENCE)
        })
    };
    let (first, second) = (spawn(&b, None), spawn(&b, None));
    assert!(eventually(|| trips.load(Ordering::SeqCst) == 1));
    // The round is tripping: this one arrives late.
    let late = spawn(&b, Some(coming));
    let mut round_one = [first.join().unwrap().unwrap(), second.join().unwrap().unwrap()];
    round_one.sort();
    assert_eq!(round_one, [0, 1]);
    // It waits in the next round, which this party completes.
    assert!(eventually(|| b.n_waiting() == 1));
    let mine = b.wait_timeout(PATIENCE).unwrap();
    assert_eq!(mine + late.join().unwrap().unwrap(), 1);
    assert_eq!(trips.load(Ordering::SeqCst), 2);
    assert!(!b.broken());
}

/// An action that panics breaks the barrier: the waiting party gets
/// `BrokenBarrier`, the one that ran it the panic.
#[test]
fn a_panicking_barrier_action_breaks_the_barrier() {
    let b = multiproc::sync::Barrier::builder(2)
        .closure_action(|| panic!("no quorum"))
        .build()
        .unwrap();
    let other = b.clone();
    let waiter = std::thread::spawn(move || other.wait_timeout(PATIENCE));
    assert!(eventually(|| b.n_waiting() == 1));
    // This party arrives last, so it runs the action.
    let mine = b.wait_timeout(PATIENCE);
    assert!(
        matches!(mine, Err(Error::Panicked { ref message, .. }) if message == "no quorum"),
        "{mine:?}"
    );
    assert!(matches!(waiter.join().unwrap(), Err(Error::BrokenBarrier)));
    assert!(b.broken());
    assert!(matches!(b.wait(), Err(Error::BrokenBarrier)));
}

/// A closure cannot travel: a barrier with one is refused as an argument.
#[test]
fn a_barrier_with_a_closure_action_does_not_travel() {
    let b = multiproc::sync::Barrier::builder(2)
        .closure_action(|| ())
        .build()
        .unwrap();
    let r = Process::builder().start(meet, (b.clone(),));
    assert!(matches!(r, Err(Error::Codec(_))), "{r:?}");
}

#[process_fn]
fn shm_write(shm: multiproc::shared::SharedMemory, at: u64, text: String) {
    shm.write_at(at as usize, text.as_bytes()).unwrap();
}

#[test]
fn shared_memory_blocks_are_shared_and_bounded() {
    for method in METHODS {
        let shm = multiproc::shared::SharedMemory::new(1 << 20).unwrap();
        Process::builder()
            .start_method(method)
            .start(shm_write, (shm.clone(), 1000, "from the child".to_string()))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap();
        let mut buf = [0u8; 14];
        shm.read_at(1000, &mut buf).unwrap();
        assert_eq!(&buf, b"from the child", "{method}");
        assert!(shm.write_at((1 << 20) - 1, b"xx").is_err());
    }
    assert!(multiproc::shared::SharedMemory::new(0).is_err());
}

/// Shared objects are anonymous memfds: nothing ever appears in /dev/shm.
#[test]
fn nothing_is_left_in_dev_shm() {
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir("/dev/shm")
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let before = listing();
    let objects = (
        multiproc::shared::SharedMemory::new(4096).unwrap(),
        Value::new(1u8).unwrap(),
        Lock::new().unwrap(),
        multiproc::queue::Queue::<u8>::bounded(4).unwrap(),
    );
    assert_eq!(listing(), before);
    drop(objects);
    assert_eq!(listing(), before);
}

#[process_fn]
fn raw_write(v: multiproc::shared::RawValue<u64>, a: multiproc::shared::RawArray<u8>) {
    // SAFETY: the parent does not touch them until this process has exited.
    unsafe {
        v.set(77).unwrap();
        a.set(1, 42).unwrap();
    }
}

#[test]
fn raw_values_and_arrays_are_shared_without_a_lock() {
    for method in METHODS {
        let v = multiproc::shared::RawValue::new(0u64).unwrap();
        let a = multiproc::shared::RawArray::<u8>::new(2).unwrap();
        Process::builder()
            .start_method(method)
            .start(raw_write, (v.clone(), a.clone()))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap();
        // SAFETY: the only other user has exited.
        unsafe {
            assert_eq!(v.get().unwrap(), 77, "{method}");
            assert_eq!(a.get(1).unwrap(), 42);
            assert!(a.get(2).is_err());
        }
    }
}

#[process_fn]
fn take_a_permit_and_hang(s: Semaphore, taken: Event) {
    let _permit = s.acquire();
    taken.set();
    std::thread::sleep(Duration::from_secs(600));
}

/// A semaphore holder killed with SIGKILL takes its permit with it (as
/// documented); a waiter with a timeout is not stuck past it.
#[test]
fn a_dead_semaphore_holder_loses_its_permit_and_nobody_hangs() {
    let s = Semaphore::new(1).unwrap();
    let taken = Event::new().unwrap();
    let holder = Process::builder()
        .start(take_a_permit_and_hang, (s.clone(), taken.clone()))
        .unwrap();
    assert!(taken.wait_timeout(PATIENCE));
    holder.kill().unwrap();
    let mut holder = holder;
    assert!(holder.join_timeout(PATIENCE).is_err());
    let t = Instant::now();
    assert!(s.acquire_timeout(Duration::from_millis(50)).is_none());
    assert!(t.elapsed() < PATIENCE);
    s.add_permit().unwrap(); // an operator can give the permit back
    assert!(s.try_acquire().is_some());
}

/// Counts itself in, then waits for one notify (a minute at most).
#[process_fn]
fn one_notify(cond: multiproc::sync::Condition, ready: Value<u32>) -> bool {
    let guard = cond.acquire().unwrap();
    let seen = {
        let mut r = ready.lock().unwrap();
        *r += 1;
        *r
    };
    let (_guard, result) = cond.wait_timeout(guard, Duration::from_secs(60)).unwrap();
    seen > 0 && !result.timed_out()
}

/// A waiter killed while it waits takes nothing with it: a later
/// `notify(1)` wakes a live waiter, never the dead one.
#[test]
fn a_dead_condition_waiter_does_not_swallow_a_notify() {
    for method in METHODS {
        let cond = multiproc::sync::Condition::new().unwrap();
        let ready = Value::new(0u32).unwrap();
        let start = |m| {
            Process::builder()
                .start_method(m)
                .start(one_notify, (cond.clone(), ready.clone()))
                .unwrap()
        };
        let mut doomed = start(method);
        let mut survivor = start(method);
        // Both have counted themselves in under the lock; taking the lock
        // here means both are now waiting (or about to, with the notify
        // sequence already read).
        assert!(eventually(|| ready.get().unwrap() == 2));
        doomed.kill().unwrap();
        assert!(matches!(doomed.join(), Err(Error::Signaled { .. })));
        let started = std::time::Instant::now();
        {
            let _held = cond.acquire().unwrap();
            cond.notify(1);
        }
        assert!(survivor.join_timeout(PATIENCE).unwrap(), "{method}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{method}: the notify went to the dead waiter"
        );
    }
}

/// A party released by a pass keeps its pass, even when someone aborts the
/// barrier right after (it got `BrokenBarrier` in 197 of 200 rounds).
#[test]
fn a_barrier_pass_is_not_undone_by_a_later_abort() {
    let barrier = multiproc::sync::Barrier::new(2).unwrap();
    for round in 0..200 {
        let other = barrier.clone();
        let waiter = std::thread::spawn(move || other.wait_timeout(multiproc_tests::PATIENCE));
        // This party is the one that completes the pass, then aborts.
        assert!(multiproc_tests::eventually(|| barrier.n_waiting() == 1));
        let mine = barrier.wait_timeout(multiproc_tests::PATIENCE);
        barrier.abort();
        let theirs = waiter.join().unwrap();
        assert!(mine.is_ok() && theirs.is_ok(), "round {round}: {mine:?} {theirs:?}");
        barrier.reset();
    }
}

/// `reset` while a party waits breaks that party's round, as documented
/// and as in Python (it returned `Ok`).
#[test]
fn a_barrier_reset_breaks_the_waiting_parties() {
    let barrier = multiproc::sync::Barrier::new(2).unwrap();
    let other = barrier.clone();
    let waiter = std::thread::spawn(move || other.wait_timeout(multiproc_tests::PATIENCE));
    // Reset once the party is waiting (it has arrived: one of two).
    assert!(multiproc_tests::eventually(|| barrier.n_waiting() == 1));
    barrier.reset();
    assert!(matches!(waiter.join().unwrap(), Err(multiproc::Error::BrokenBarrier)));
    assert!(!barrier.broken());
}

/// `?` on a lock's result in a function returning `multiproc::Result`
/// compiles (it did not: the error named an internal type) and says what
/// happened.
#[test]
fn lock_errors_convert_into_multiproc_errors() {
    fn take(lock: &Lock) -> multiproc::Result<u32> {
        let _held = lock.acquire_timeout(Duration::from_millis(20))?;
        Ok(1)
    }
    let lock = Lock::new().unwrap();
    assert_eq!(take(&lock).unwrap(), 1);
    let _held = lock.acquire().unwrap();
    let other = lock.clone();
    let refused = std::thread::spawn(move || take(&other)).join().unwrap();
    assert!(matches!(refused, Err(Error::NotAcquired)), "{refused:?}");
}

/// A value under an `RLock` hands out one guard at a time. The lock lets
/// its holder acquire again, so a second `lock()` on the same thread used
/// to return a second guard: two `&mut` to one value, in safe code.
#[test]
fn a_value_under_an_rlock_never_hands_out_two_guards() {
    let lock = multiproc::sync::RLock::new().unwrap();
    let v = multiproc::shared::Value::with_lock(1u64, lock.clone()).unwrap();
    let mut first = v.lock().unwrap();
    assert!(matches!(
        v.lock(),
        Err(multiproc::sync::LockError::Failed(multiproc::Error::Usage(_)))
    ));
    assert!(matches!(v.try_lock(), Err(multiproc::sync::LockError::Failed(_))));
    assert!(matches!(v.get(), Err(multiproc::Error::Usage(_))));
    *first += 1;
    drop(first);
    // Through the RLock itself, as the guide shows: get and set, each
    // taking and dropping its own guard.
    let held = lock.acquire().unwrap();
    v.set(v.get().unwrap() * 10).unwrap();
    drop(held);
    assert_eq!(v.get().unwrap(), 20);
    assert_eq!(*v.lock().unwrap(), 20);
}

/// `Duration::MAX` means "for ever" in every timeout form; `now + MAX`
/// used to overflow and panic inside the library.
#[test]
fn the_longest_timeouts_mean_for_ever_and_never_panic() {
    use std::time::Duration;
    let lock = multiproc::sync::Lock::new().unwrap();
    drop(lock.acquire_timeout(Duration::MAX).unwrap());
    let event = multiproc::sync::Event::new().unwrap();
    event.set();
    assert!(event.wait_timeout(Duration::MAX));
    let barrier = multiproc::sync::Barrier::builder(1)
        .timeout(Duration::MAX)
        .build()
        .unwrap();
    assert_eq!(barrier.wait().unwrap(), 0);
    let v = multiproc::shared::Value::new(1u8).unwrap();
    assert_eq!(*v.lock_timeout(Duration::MAX).unwrap(), 1);
    let ex = multiproc::executor::ThreadPoolExecutor::new(1).unwrap();
    assert_eq!(ex.submit(|| 7).unwrap().result_timeout(Duration::MAX).unwrap(), 7);
    let q = multiproc::queue::Queue::<u8>::unbounded().unwrap();
    q.put(3).unwrap();
    assert_eq!(q.get_timeout(Duration::MAX).unwrap(), 3);
}

/// More threads than parties on a `Barrier(2)`: every round releases
/// exactly one party of each index. The arrival count and the round were
/// separate words: an arrival that read the round just before it ended
/// counted itself into the next one without waiting in it (a phantom) or
/// was released with no round, so indices came out unpaired. The threads
/// run until enough rounds passed; then an abort frees whoever waits.
#[test]
fn a_barrier_with_more_threads_than_parties_pairs_every_round() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let barrier = multiproc::sync::Barrier::new(2).unwrap();
    let counts = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
    let target = 5000;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (barrier, counts) = (barrier.clone(), counts.clone());
            std::thread::spawn(move || loop {
                match barrier.wait_timeout(PATIENCE) {
                    Ok(index) => counts[index as usize].fetch_add(1, Ordering::Relaxed),
                    Err(multiproc::Error::BrokenBarrier) => return,
                    Err(e) => panic!("{e}"),
                };
            })
        })
        .collect();
    assert!(
        eventually(|| counts[0].load(Ordering::Relaxed) >= target),
        "the rounds stopped"
    );
    barrier.abort();
    for t in threads {
        t.join().unwrap();
    }
    let (zeros, ones) = (counts[0].load(Ordering::Relaxed), counts[1].load(Ordering::Relaxed));
    assert_eq!(zeros, ones, "indices 0 and 1 unpaired");
}
