//! Managers: proxies in children of every start method, many clients at
//! once with exact results, `#[managed]` types, authentication, and what
//! happens when a server or a client dies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use multiproc::manager::{BaseManager, DictProxy, ListProxy, LockProxy, Manager, Object, QueueProxy, ValueProxy};
use multiproc::prelude::*;
use multiproc_tests::{eventually, is_gone, send_signal, METHODS, PATIENCE};

/// A user type the server owns.
#[derive(Debug, Default)]
pub struct Tally {
    total: u64,
    names: Vec<String>,
}

#[multiproc::managed]
impl Tally {
    /// A tally that starts at `total`.
    pub fn starting_at(total: u64) -> Self {
        Tally {
            total,
            names: Vec::new(),
        }
    }

    /// Adds `n` for `who`; the new total.
    pub fn add(&mut self, who: String, n: u64) -> u64 {
        self.total += n;
        self.names.push(who);
        self.total
    }

    /// The total.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Fails on purpose.
    pub fn refuse(&self) -> multiproc::Result<u8> {
        Err(Error::Usage("refused".into()))
    }

    /// Panics on purpose.
    pub fn explode(&self) {
        panic!("tally exploded");
    }

    fn private_helper(&self) -> usize {
        self.names.len()
    }
}

#[process_fn]
fn child_work(list: ListProxy<String>, tally: TallyProxy, tag: String) -> u64 {
    list.push(&tag).unwrap();
    tally.add(tag, 10).unwrap()
}

#[test]
fn proxies_work_in_children_of_every_start_method() {
    let manager = Manager::start().unwrap();
    let list = manager.list::<String>().unwrap();
    let tally = TallyProxy::starting_at(&manager, 5).unwrap();
    for method in METHODS {
        let mut child = Process::builder()
            .start_method(method)
            .start(child_work, (list.clone(), tally.clone(), format!("{method:?}")))
            .unwrap();
        child.join_timeout(PATIENCE).unwrap();
    }
    assert_eq!(list.len().unwrap(), 3);
    assert_eq!(tally.total().unwrap(), 35);
    assert!(matches!(tally.refuse().unwrap(), Err(Error::Usage(m)) if m == "refused"));
    let _ = Tally::default().private_helper();
}

/// 10 000 increments of a counter under a managed lock, and of a dict
/// entry per client.
#[process_fn]
fn hammer(lock: LockProxy, counter: ValueProxy<u64>, dict: DictProxy<u32, u64>, me: u32, ops: u64) {
    for i in 0..ops {
        let guard = lock.acquire().unwrap();
        let v = counter.get().unwrap();
        counter.set(&(v + 1)).unwrap();
        drop(guard);
        dict.insert(&me, &(i + 1)).unwrap();
    }
}

#[test]
fn eight_clients_ten_thousand_operations_each_exact() {
    const CLIENTS: u32 = 8;
    const OPS: u64 = 10_000;
    let manager = Manager::start().unwrap();
    let lock = manager.lock().unwrap();
    let counter = manager.value(&0u64).unwrap();
    let dict = manager.dict::<u32, u64>().unwrap();
    let started = Instant::now();
    let mut children: Vec<_> = (0..CLIENTS)
        .map(|me| {
            Process::builder()
                .start_method(StartMethod::Fork)
                .start(hammer, (lock.clone(), counter.clone(), dict.clone(), me, OPS))
                .unwrap()
        })
        .collect();
    for child in &mut children {
        child.join_timeout(Duration::from_secs(300)).unwrap();
    }
    assert_eq!(counter.get().unwrap(), u64::from(CLIENTS) * OPS);
    assert_eq!(dict.len().unwrap(), CLIENTS as usize);
    assert!(dict.items().unwrap().iter().all(|(_, v)| *v == OPS));
    eprintln!(
        "{} locked increments and {} dict sets in {:?}",
        u64::from(CLIENTS) * OPS,
        u64::from(CLIENTS) * OPS,
        started.elapsed()
    );
}

#[test]
fn a_panicking_method_is_an_error_and_the_server_goes_on() {
    let manager = Manager::start().unwrap();
    let tally = TallyProxy::starting_at(&manager, 0).unwrap();
    match tally.explode() {
        Err(Error::Panicked { message, .. }) => assert_eq!(message, "tally exploded"),
        other => panic!("{other:?}"),
    }
    assert_eq!(tally.add("after".into(), 1).unwrap(), 1);
}

#[test]
fn a_client_that_dies_holding_a_lock_releases_it() {
    let manager = Manager::start().unwrap();
    let lock = manager.lock().unwrap();
    let taken = manager.event().unwrap();
    let (l, t) = (lock.clone(), taken.clone());
    let mut holder = Process::builder()
        .fork(move || {
            let _guard = l.acquire().unwrap();
            t.set().unwrap();
            std::thread::sleep(Duration::from_secs(120));
        })
        .unwrap();
    assert!(taken.wait_timeout(PATIENCE).unwrap());
    assert!(lock.try_acquire().is_err());
    holder.kill().unwrap();
    let _ = holder.join();
    // The server saw its connections close and took the lock back.
    let guard = lock.acquire_timeout(PATIENCE).unwrap();
    drop(guard);
}

#[test]
fn a_dead_server_fails_every_call_at_once() {
    let manager = Manager::start().unwrap();
    let queue = manager.queue::<u8>(0).unwrap();
    queue.put(1).unwrap();
    manager.shutdown().unwrap();
    let t = Instant::now();
    match queue.get() {
        Err(Error::Manager(m)) => assert!(m.contains("gone") || m.contains("connect"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < PATIENCE);
}

#[test]
fn dropping_the_manager_ends_its_server_process() {
    let manager = Manager::start().unwrap();
    let server = manager.server_pid();
    assert!(!is_gone(server));
    drop(manager);
    assert!(eventually(|| is_gone(server)));
}

#[test]
fn a_killed_server_is_reported_not_waited_for() {
    let manager = Manager::start().unwrap();
    let list = manager.list::<u8>().unwrap();
    let server = manager.server_pid();
    send_signal(server, libc::SIGKILL);
    assert!(eventually(|| list.push(&1).is_err()));
}

#[test]
fn base_manager_authenticates_and_serves_named_objects() {
    let server = BaseManager::builder()
        .authkey(b"right key")
        .register_shared("jobs", Object::queue(0))
        .register("scratch", Object::list)
        .register_shared("tally", Object::managed(Tally::starting_at(100)))
        .start()
        .unwrap();
    let address = server.address().to_string();
    assert!(matches!(
        BaseManager::connect(&address, b"wrong key"),
        Err(Error::AuthenticationFailed(_))
    ));
    let client = BaseManager::connect(&address, b"right key").unwrap();
    let jobs: QueueProxy<String> = client.get("jobs").unwrap();
    jobs.put(String::from("a")).unwrap();
    let again: QueueProxy<String> = BaseManager::connect(&address, b"right key")
        .unwrap()
        .get("jobs")
        .unwrap();
    assert_eq!(again.get().unwrap(), "a");
    // A factory makes a new object per request.
    let one: ListProxy<u8> = client.get("scratch").unwrap();
    let two: ListProxy<u8> = client.get("scratch").unwrap();
    one.push(&1).unwrap();
    assert_eq!(two.len().unwrap(), 0);
    let tally: TallyProxy = client.get("tally").unwrap();
    assert_eq!(tally.add("x".into(), 1).unwrap(), 101);
    // Unknown names and wrong types are clear errors.
    assert!(matches!(client.get::<ListProxy<u8>>("nope"), Err(Error::Manager(m)) if m.contains("nope")));
    assert!(matches!(client.get::<ListProxy<u8>>("jobs"), Err(Error::Manager(m)) if m.contains("multiproc::queue")));
    server.shutdown();
}

#[test]
fn garbage_and_stalled_clients_do_not_disturb_honest_ones() {
    let server = BaseManager::builder()
        .authkey(b"k")
        .register_shared("d", Object::dict())
        .start()
        .unwrap();
    let address = server.address().to_string();
    // Stalls before answering the challenge.
    let mut stalled = TcpStream::connect(&address).unwrap();
    let mut challenge = [0u8; 33];
    stalled.read_exact(&mut challenge).unwrap();
    // Sends garbage instead of an answer: refused.
    let mut garbage = TcpStream::connect(&address).unwrap();
    garbage.read_exact(&mut challenge).unwrap();
    garbage.write_all(&[0xAB; 64]).unwrap();
    let mut verdict = [9u8; 1];
    garbage.read_exact(&mut verdict).unwrap();
    assert_eq!(verdict[0], 0, "the server must refuse a wrong answer");
    // An honest client, meanwhile.
    let client = BaseManager::connect(&address, b"k").unwrap();
    let d: DictProxy<String, u32> = client.get("d").unwrap();
    d.insert(&"ok".into(), &1).unwrap();
    assert_eq!(d.get(&"ok".into()).unwrap(), Some(1));
    drop(stalled);
    server.shutdown();
}

#[test]
fn the_sync_proxies_behave_like_their_process_twins() {
    let manager = Manager::start().unwrap();
    let rlock = manager.rlock().unwrap();
    let a = rlock.acquire().unwrap();
    let b = rlock.acquire().unwrap();
    drop(b);
    drop(a);
    let cond = manager.condition().unwrap();
    let flag = manager.value(&false).unwrap();
    let (c, f) = (cond.clone(), flag.clone());
    let waiter = std::thread::spawn(move || {
        let guard = c.acquire().unwrap();
        guard.wait_for(|| f.get(), PATIENCE).unwrap()
    });
    {
        let guard = cond.acquire().unwrap();
        flag.set(&true).unwrap();
        guard.notify_all().unwrap();
    }
    assert!(waiter.join().unwrap());
    let barrier = manager.barrier(3).unwrap();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || b.wait_timeout(PATIENCE).unwrap())
        })
        .collect();
    let mut indices: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2]);
    let sem = manager.bounded_semaphore(1).unwrap();
    sem.acquire().unwrap();
    assert!(sem.try_acquire().is_err());
    sem.release().unwrap();
    assert!(matches!(sem.release(), Err(Error::Usage(_))));
}

/// The client's answer to a server's `greeting` (its first byte, then
/// its nonce) under `key`, as the protocol says: our nonce, then the MAC of
/// both nonces.
fn answer(key: &[u8], greeting: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let ours = [7u8; 32];
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(b"client");
    mac.update(&greeting[1..]);
    mac.update(&ours);
    let mut out = ours.to_vec();
    out.extend_from_slice(&mac.finalize().into_bytes());
    out
}

#[test]
fn a_replayed_answer_oversized_frame_and_mid_frame_stall_are_refused_while_others_are_served() {
    let server = BaseManager::builder()
        .authkey(b"key")
        .register_shared("d", Object::dict())
        .start()
        .unwrap();
    let address = server.address().to_string();
    let honest = BaseManager::connect(&address, b"key").unwrap();
    let d: DictProxy<u8, u8> = honest.get("d").unwrap();

    // A replay: the right answer to one connection's challenge, sent on another.
    let mut first = TcpStream::connect(&address).unwrap();
    let mut challenge = [0u8; 33];
    first.read_exact(&mut challenge).unwrap();
    let recorded = answer(b"key", &challenge);
    let mut second = TcpStream::connect(&address).unwrap();
    second.read_exact(&mut challenge).unwrap();
    second.write_all(&recorded).unwrap();
    let mut verdict = [9u8; 1];
    second.read_exact(&mut verdict).unwrap();
    assert_eq!(verdict[0], 0, "a replayed answer must be refused");
    // The same answer on its own connection is accepted.
    first.write_all(&recorded).unwrap();
    first.read_exact(&mut verdict).unwrap();
    assert_eq!(verdict[0], 1);

    // An oversized frame: the server drops that connection, allocating nothing.
    let mut big = multiproc::fuzz::manager_raw(&address, b"key").unwrap();
    big.write_all(&[0xff, 0xff, 0xff, 0x7f, 1, 2, 3]).unwrap();
    big.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut byte = [0u8; 1];
    assert!(
        matches!(big.read(&mut byte), Ok(0) | Err(_)),
        "the server must close it"
    );

    // A client that stalls mid-frame holds only its own connection.
    let mut stalled = multiproc::fuzz::manager_raw(&address, b"key").unwrap();
    stalled.write_all(&[100, 0, 0, 0, 1, 2, 3]).unwrap();
    for i in 0..100u8 {
        d.insert(&i, &i).unwrap();
    }
    assert_eq!(d.len().unwrap(), 100);
    drop((stalled, first, second));
    server.shutdown();
}

#[test]
fn large_messages_and_the_network_path_carry_the_same_values() {
    let server = BaseManager::builder()
        .authkey(b"k")
        .register_shared("l", Object::list())
        .start()
        .unwrap();
    let address = server.address().to_string();
    // Through the local socket and its shared page; a 100 KB item takes the
    // socket beside the page.
    let local: ListProxy<String> = BaseManager::connect(&address, b"k").unwrap().get("l").unwrap();
    let big = "x".repeat(100_000);
    local.push(&big).unwrap();
    local.push(&"small".to_string()).unwrap();
    // Through TCP, as a client on another machine would.
    let remote: ListProxy<String> = multiproc::fuzz::manager_over_tcp(&address, b"k")
        .unwrap()
        .get("l")
        .unwrap();
    assert_eq!(remote.get(0).unwrap(), big);
    assert_eq!(remote.get(1).unwrap(), "small");
    remote.push(&big.repeat(2)).unwrap();
    assert_eq!(local.get(2).unwrap().len(), 200_000);
    assert_eq!(local.to_vec().unwrap().len(), 3);
    server.shutdown();
}

#[process_fn]
fn record_in_worker(log: ListProxy<u32>, x: u32) -> u32 {
    log.push(&x).unwrap();
    x
}

#[test]
fn proxies_travel_in_pool_tasks_for_every_start_method() {
    let manager = Manager::start().unwrap();
    for method in METHODS {
        let log = manager.list::<u32>().unwrap();
        let pool = Pool::builder().processes(2).start_method(method).build().unwrap();
        let out = pool
            .starmap(record_in_worker, (0..20).map(|x| (log.clone(), x)))
            .unwrap();
        assert_eq!(out, (0..20).collect::<Vec<_>>());
        let mut seen = log.to_vec().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (0..20).collect::<Vec<_>>(), "{method:?}");
    }
}

/// A request or a reply over the frame limit is `FrameTooLarge`, told at
/// once and before sending (it was "the manager … is gone: Broken pipe",
/// after the whole body went out), and the connection goes on.
#[test]
fn an_oversized_request_or_reply_is_frame_too_large() {
    let manager = Manager::start().unwrap();
    let list = manager.list::<Vec<u8>>().unwrap();
    let big = vec![7u8; 70 << 20];
    let started = std::time::Instant::now();
    assert!(matches!(list.push(&big), Err(Error::FrameTooLarge { .. })));
    assert!(started.elapsed() < PATIENCE);
    let part = vec![7u8; 20 << 20];
    for _ in 0..4 {
        list.push(&part).unwrap();
    }
    // 80 MiB in one reply: the server says so instead of dropping us.
    assert!(matches!(list.to_vec(), Err(Error::FrameTooLarge { .. })));
    assert_eq!(list.len().unwrap(), 4);
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Point {
    x: i32,
    y: Option<f64>,
}

#[process_fn]
fn set_field(ns: multiproc::manager::NamespaceProxy, name: String, value: u64) -> multiproc::Result<()> {
    ns.set(&name, &value)
}

#[test]
fn proxies_debug_their_contents_and_fall_back_to_the_handle() {
    let manager = Manager::start().unwrap();
    let ns = manager.namespace().unwrap();
    assert_eq!(format!("{ns:?}"), "Namespace");
    ns.set("a", &10).unwrap();
    assert_eq!(format!("{ns:?}"), "Namespace { a: 10 }");
    // A field set by another process shows the same way.
    Process::builder()
        .start(set_field, (ns.clone(), "b".to_string(), 7))
        .unwrap()
        .join_timeout(PATIENCE)
        .unwrap()
        .unwrap();
    ns.set("p", &Point { x: 1, y: Some(2.5) }).unwrap();
    ns.set("s", "hi").unwrap();
    ns.set("a", &11).unwrap(); // keeps its place
    assert_eq!(
        format!("{ns:?}"),
        r#"Namespace { a: 11, b: 7, p: Point { x: 1, y: Some(2.5) }, s: "hi" }"#
    );
    assert!(format!("{ns:#?}").contains("\n    a: 11,\n"), "{ns:#?}");

    let list = manager.list::<u32>().unwrap();
    list.extend(&[1, 2, 3]).unwrap();
    assert_eq!(format!("{list:?}"), "ListProxy([1, 2, 3])");
    let dict = manager.dict::<String, u8>().unwrap();
    dict.insert(&"k".to_string(), &1).unwrap();
    dict.insert(&"j".to_string(), &2).unwrap();
    assert_eq!(format!("{dict:?}"), r#"DictProxy({"k": 1, "j": 2})"#);

    manager.shutdown().unwrap();
    for (shown, name) in [
        (format!("{ns:?}"), "NamespaceProxy"),
        (format!("{list:?}"), "ListProxy"),
        (format!("{dict:?}"), "DictProxy"),
    ] {
        assert!(
            shown.starts_with(&format!("{name} {{ handle: Handle {{ address: ")),
            "{shown}"
        );
        assert!(shown.contains(", error: manager: "), "{shown}");
    }
}
