//! Integration tests of multiproc live in `tests/`, a file per concept.
//! This library holds what they share: entries defined in a library crate
//! (a context of its own for the registry) and polling helpers that wait on
//! conditions with generous deadlines instead of fixed sleeps.

use std::time::{Duration, Instant};

use multiproc::prelude::*;

/// The three start methods, for tests that cover each.
pub const METHODS: [StartMethod; 3] = [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn];

/// A generous deadline for anything that involves starting a process on a
/// loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// An entry defined in a library crate rather than in the test itself.
#[process_fn]
pub fn lib_double(x: u64) -> u64 {
    x * 2
}

/// Polls `cond` until it holds or `PATIENCE` runs out; returns whether it held.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// Whether `pid` no longer exists (or is a zombie nobody reaped yet: see
/// [`is_zombie`]).
pub fn is_gone(pid: i32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether `pid` is a zombie: exited, not reaped.
pub fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// Sends `signal` to `pid`.
pub fn send_signal(pid: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// What the context binaries (`context-bin`, `context-example`) do in
/// their `main`: start `lib_double` and their own `local` entry with every
/// start method and print one line each, then say that `main` ran.
pub fn context_main<F: ProcessFn<Args = (u64,), Output = u64>>(context: &str, local: F) {
    println!("main ran in {}", std::process::id());
    report_every_method(context);
    for method in METHODS {
        let got = Process::builder()
            .start_method(method)
            .start(local.clone(), (12,))
            .and_then(|mut p| p.join_timeout(PATIENCE));
        match got {
            Ok(v) => println!("{context}-local {method} ok {v}"),
            Err(e) => println!("{context}-local {method} error {e}"),
        }
    }
}

/// Runs `lib_double` with every start method and prints one line per
/// method.
pub fn report_every_method(context: &str) {
    for method in METHODS {
        let got = Process::builder()
            .start_method(method)
            .start(lib_double, (21,))
            .and_then(|mut p| p.join_timeout(PATIENCE));
        match got {
            Ok(v) => println!("{context} {method} ok {v}"),
            Err(e) => println!("{context} {method} error {e}"),
        }
    }
}

// The READMEs of the repository are compiled and run as doctests here, in
// this unpublished crate: the published `multiproc` package does not hold
// them, and its own doctests must build from the `.crate` alone. (The
// guide is inside the package, as the `multiproc::guide` module, and its
// examples are that crate's doctests.)

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The Chinese README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.zh-CN.md")]
pub struct ReadmeZhCnDoctests;

/// A minimal `block_on`: a future of this crate must work with any async
/// runtime, so the tests bring none. It sleeps until woken; a future that
/// never wakes its task fails the test after [`PATIENCE`] rather than
/// passing by polling again.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        let parked = std::time::Instant::now();
        std::thread::park_timeout(PATIENCE);
        assert!(parked.elapsed() < PATIENCE, "a pending future never woke its task");
    }
}

/// An endless input, `0, 1, 2, …`, and how many items were read from it:
/// for checking that a lazy map reads no further ahead than it may.
pub fn counted_endless() -> (
    impl Iterator<Item = u64>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = read.clone();
    let items = (0u64..).inspect(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    (items, read)
}
