//! `Process`: results, failures, timeouts, signals, identity, for every
//! start method.

use std::time::Duration;

use multiproc::prelude::*;
use multiproc_tests::{eventually, is_gone, is_zombie, lib_double, send_signal, METHODS, PATIENCE};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: f64,
    label: String,
}

#[process_fn]
fn describe(p: Point, times: u32) -> Vec<Point> {
    (0..times)
        .map(|i| Point {
            x: p.x * f64::from(i),
            label: format!("{}-{i}", p.label),
        })
        .collect()
}

#[process_fn]
fn boom(message: String) -> u8 {
    panic!("{message}")
}

#[process_fn]
fn exit_with(code: i32) {
    std::process::exit(code)
}

#[process_fn]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[process_fn]
fn identity() -> (String, i32, Option<(i32, String)>) {
    let me = multiproc::current_process();
    let parent = multiproc::parent_process().map(|p| (p.pid(), p.name().to_string()));
    (me.name().to_string(), me.pid(), parent)
}

#[process_fn]
fn echo_len(data: Vec<u8>) -> Vec<u8> {
    let mut out = data;
    out.reverse();
    out
}

#[process_fn]
fn segfault() {
    // SAFETY: not safe at all — this entry exists to crash with SIGSEGV
    // (a real fault: std's handler re-raises it, unlike a `raise`).
    unsafe {
        std::ptr::null_mut::<u8>().write_volatile(1);
    }
}

#[process_fn]
fn abort_now() {
    std::process::abort()
}

fn start<F: ProcessFn>(method: StartMethod, f: F, args: F::Args) -> Process<F::Output> {
    Process::builder().start_method(method).start(f, args).unwrap()
}

#[test]
fn typed_results_round_trip() {
    for method in METHODS {
        let point = Point {
            x: 1.5,
            label: "p".into(),
        };
        let mut p = start(method, describe, (point.clone(), 3));
        let got = p.join_timeout(PATIENCE).unwrap();
        assert_eq!(got.len(), 3, "{method}");
        assert_eq!(
            got[2],
            Point {
                x: 3.0,
                label: "p-2".into()
            }
        );
        assert_eq!(p.exitcode(), Some(0));
        assert!(!p.is_alive());
    }
}

#[test]
fn entry_from_a_library_crate() {
    for method in METHODS {
        assert_eq!(start(method, lib_double, (21,)).join_timeout(PATIENCE).unwrap(), 42);
    }
}

#[test]
fn panic_message_and_location_come_back() {
    for method in METHODS {
        let mut p = start(method, boom, ("kaboom 42".into(),));
        match p.join_timeout(PATIENCE) {
            Err(Error::Panicked { message, location, pid }) => {
                assert_eq!(message, "kaboom 42");
                let location = location.expect("location");
                assert!(location.starts_with("tests/tests/process.rs:"), "{location}");
                assert_eq!(pid, p.pid());
            }
            other => panic!("{method}: {other:?}"),
        }
        assert_eq!(p.exitcode(), Some(1));
    }
}

#[test]
fn exit_code_is_reported() {
    for method in METHODS {
        let mut p = start(method, exit_with, (3,));
        match p.join_timeout(PATIENCE) {
            Err(Error::Exited { code: 3, .. }) => {}
            other => panic!("{method}: {other:?}"),
        }
        assert_eq!(p.exitcode(), Some(3));
    }
}

#[test]
fn sigkill_is_named() {
    for method in METHODS {
        let mut p = start(method, sleep_ms, (600_000,));
        assert!(p.is_alive());
        assert_eq!(p.exitcode(), None);
        send_signal(p.pid(), libc::SIGKILL);
        let err = p.join_timeout(PATIENCE).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Signaled {
                    signal: 9,
                    name: "SIGKILL",
                    ..
                }
            ),
            "{method}: {err:?}"
        );
        assert!(err.to_string().contains("SIGKILL"));
        assert_eq!(p.exitcode(), Some(-9));
    }
}

#[test]
fn segfault_and_abort_are_named() {
    for method in METHODS {
        let err = start(method, segfault, ()).join_timeout(PATIENCE).unwrap_err();
        assert!(
            matches!(err, Error::Signaled { name: "SIGSEGV", .. }),
            "{method}: {err:?}"
        );
        let err = start(method, abort_now, ()).join_timeout(PATIENCE).unwrap_err();
        assert!(
            matches!(err, Error::Signaled { name: "SIGABRT", .. }),
            "{method}: {err:?}"
        );
    }
}

#[test]
fn terminate_and_kill() {
    for method in METHODS {
        let mut p = start(method, sleep_ms, (600_000,));
        p.terminate().unwrap();
        assert!(matches!(
            p.join_timeout(PATIENCE),
            Err(Error::Signaled { signal: 15, .. })
        ));
        assert_eq!(p.exitcode(), Some(-15));
        // Signalling a finished child is a no-op.
        p.kill().unwrap();
        p.terminate().unwrap();

        let mut p = start(method, sleep_ms, (600_000,));
        p.kill().unwrap();
        assert!(matches!(
            p.join_timeout(PATIENCE),
            Err(Error::Signaled { signal: 9, .. })
        ));
    }
}

/// Makes sure `SIGINT` ends this process (a background job of a
/// non-interactive shell inherits it ignored), says so, and sleeps.
#[process_fn]
fn interruptible_sleep(ready: multiproc::sync::Event) {
    // SAFETY: restoring the default action of a signal is async-signal-safe
    // and touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    ready.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn interrupt_sends_sigint() {
    for method in METHODS {
        let ready = multiproc::sync::Event::new().unwrap();
        let mut p = start(method, interruptible_sleep, (ready.clone(),));
        assert!(ready.wait_timeout(PATIENCE), "{method}: the child never got ready");
        p.interrupt().unwrap();
        match p.join_timeout(PATIENCE) {
            Err(Error::Signaled { signal, name, .. }) => {
                assert_eq!((signal, name), (libc::SIGINT, "SIGINT"), "{method}");
            }
            other => panic!("{method}: {other:?}"),
        }
        assert_eq!(p.exitcode(), Some(-libc::SIGINT));
        // Interrupting a finished child is a no-op.
        p.interrupt().unwrap();
    }
}

#[test]
fn join_timeout_times_out_then_join_succeeds() {
    for method in METHODS {
        let mut p = start(method, sleep_ms, (300,));
        match p.join_timeout(Duration::from_millis(1)) {
            Err(Error::Timeout(d)) => assert_eq!(d, Duration::from_millis(1)),
            other => panic!("{method}: {other:?}"),
        }
        assert_eq!(p.join_timeout(PATIENCE).unwrap(), 300);
        assert!(matches!(p.join(), Err(Error::AlreadyJoined { .. })));
    }
}

#[test]
fn identity_in_the_child() {
    for method in METHODS {
        let mut p = Process::builder()
            .name(format!("worker-{method}"))
            .start_method(method)
            .start(identity, ())
            .unwrap();
        let (name, pid, parent) = p.join_timeout(PATIENCE).unwrap();
        assert_eq!(name, format!("worker-{method}"));
        assert_eq!(pid, p.pid());
        assert_eq!(parent, Some((std::process::id() as i32, "MainProcess".to_string())));
    }
    let me = multiproc::current_process();
    assert_eq!(me.name(), "MainProcess");
    assert!(multiproc::parent_process().is_none());
}

/// How the child says it was started, and the method its parent sent it
/// (a `StartMethod` travels as an argument and as a result).
#[process_fn]
fn how_started(sent: StartMethod) -> (Option<StartMethod>, bool, StartMethod) {
    let me = multiproc::current_process();
    (me.start_method(), me.daemon(), sent)
}

#[test]
fn a_child_knows_its_start_method_and_daemon_flag() {
    for method in METHODS {
        for daemon in [false, true] {
            let mut p = Process::builder()
                .start_method(method)
                .daemon(daemon)
                .start(how_started, (method,))
                .unwrap();
            let listed = multiproc::active_children().into_iter().find(|c| c.pid() == p.pid());
            if let Some(c) = listed {
                assert_eq!((c.start_method(), c.daemon()), (Some(method), daemon), "{method}");
            }
            let got = p.join_timeout(PATIENCE).unwrap();
            assert_eq!(got, (Some(method), daemon, method), "{method}, daemon {daemon}");
        }
    }
    let mut p = Process::builder()
        .daemon(true)
        .fork(|| {
            let me = multiproc::current_process();
            let parent = multiproc::parent_process().unwrap();
            (me.start_method(), me.daemon(), parent.start_method(), parent.daemon())
        })
        .unwrap();
    assert_eq!(
        p.join_timeout(PATIENCE).unwrap(),
        (Some(StartMethod::Fork), true, None, false)
    );
    let me = multiproc::current_process();
    assert_eq!((me.start_method(), me.daemon()), (None, false));
}

#[test]
fn default_names_count_up() {
    let mut a = Process::builder().fork(|| ()).unwrap();
    let mut b = Process::builder().fork(|| ()).unwrap();
    assert!(a.name().starts_with("Process-"));
    assert_ne!(a.name(), b.name());
    a.join().unwrap();
    b.join().unwrap();
}

#[test]
fn large_arguments_and_results() {
    let data: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    for method in METHODS {
        let mut p = start(method, echo_len, (data.clone(),));
        let back = p.join_timeout(PATIENCE).unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back.iter().rev().eq(data.iter()), "{method}");
    }
}

#[test]
fn fork_runs_capturing_closures() {
    let words = ["a".to_string(), "bb".to_string()];
    let mut p = Process::builder()
        .fork(move || words.iter().map(String::len).sum::<usize>())
        .unwrap();
    assert_eq!(p.join_timeout(PATIENCE).unwrap(), 3);
    assert_eq!(p.start_method(), StartMethod::Fork);
}

#[test]
fn no_zombie_after_join_or_drop() {
    for method in METHODS {
        let mut p = start(method, sleep_ms, (1,));
        let pid = p.pid();
        p.join_timeout(PATIENCE).unwrap();
        assert!(eventually(|| is_gone(pid)), "{method}: {pid} left behind");

        // Dropped while running: reaped in the background once it exits.
        let p = start(method, sleep_ms, (50,));
        let pid = p.pid();
        drop(p);
        assert!(eventually(|| is_gone(pid)), "{method}: dropped child {pid} left behind");
        assert!(!is_zombie(pid));
    }
}

#[test]
fn active_children_lists_running_children() {
    for method in METHODS {
        let mut p = start(method, sleep_ms, (600_000,));
        assert!(multiproc::active_children().iter().any(|c| c.pid() == p.pid()));
        p.kill().unwrap();
        let _ = p.join_timeout(PATIENCE);
        assert!(!multiproc::active_children().iter().any(|c| c.pid() == p.pid()));
    }
}

#[test]
fn handles_move_between_threads() {
    let p = start(StartMethod::ForkServer, sleep_ms, (5,));
    let got = std::thread::spawn(move || {
        let mut p = p;
        p.join_timeout(PATIENCE).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(got, 5);
}

#[test]
fn many_concurrent_starts_from_threads() {
    let threads: Vec<_> = METHODS
        .iter()
        .flat_map(|&m| std::iter::repeat_n(m, 4))
        .enumerate()
        .map(|(i, method)| {
            std::thread::spawn(move || {
                let mut p = Process::builder()
                    .start_method(method)
                    .start(lib_double, (i as u64,))
                    .unwrap();
                p.join_timeout(PATIENCE).unwrap()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), 2 * i as u64);
    }
}

#[process_fn]
fn fallible(fail: bool) -> multiproc::Result<u32> {
    if fail {
        Err(Error::Exited {
            pid: 1,
            code: 99,
            stderr: "the last words".into(),
        })
    } else {
        Ok(7)
    }
}

#[test]
fn an_entry_can_return_a_multiproc_result() {
    for method in METHODS {
        assert_eq!(
            start(method, fallible, (false,))
                .join_timeout(PATIENCE)
                .unwrap()
                .unwrap(),
            7
        );
        match start(method, fallible, (true,)).join_timeout(PATIENCE).unwrap() {
            Err(Error::Exited {
                pid: 1,
                code: 99,
                stderr,
            }) if stderr == "the last words" => {}
            other => panic!("{method}: {other:?}"),
        }
    }
}

#[process_fn]
fn env_and_cwd(key: String) -> (Option<String>, String) {
    (
        std::env::var(key).ok(),
        std::env::current_dir().unwrap().to_string_lossy().into_owned(),
    )
}

/// Children see the parent's environment and working directory as they
/// are at the start — for a forkserver child too, although its server was
/// started earlier.
#[test]
fn children_inherit_environment_and_working_directory() {
    // Start the forkserver first, so it predates the change below.
    start(StartMethod::ForkServer, lib_double, (1,))
        .join_timeout(PATIENCE)
        .unwrap();
    let key = format!("MULTIPROC_TEST_{}", std::process::id());
    // SAFETY (edition 2024 would require `unsafe`): other tests do not read
    // or write this variable.
    std::env::set_var(&key, "here");
    let cwd = std::env::current_dir().unwrap().to_string_lossy().into_owned();
    for method in METHODS {
        let (value, child_cwd) = start(method, env_and_cwd, (key.clone(),))
            .join_timeout(PATIENCE)
            .unwrap();
        assert_eq!(value.as_deref(), Some("here"), "{method}");
        assert_eq!(child_cwd, cwd, "{method}");
    }
    std::env::remove_var(&key);
}

/// Says something on stderr, then leaves without a result.
#[process_fn]
fn last_words_then(how: u8) -> u32 {
    // Not `eprintln!`: in a forked child of a test, libtest's output
    // capture would take it.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "the child says: goodbye, cruel world");
    match how {
        0 => std::process::exit(3),
        _ => std::process::abort(),
    }
}

/// A child that dies without a result: the error quotes the last lines it
/// wrote to stderr (still shown on the parent's stderr as they came).
#[test]
fn a_dead_childs_error_carries_its_last_words() {
    for method in METHODS {
        match start(method, last_words_then, (0,)).join_timeout(PATIENCE) {
            Err(Error::Exited { code: 3, stderr, .. }) => {
                assert!(stderr.ends_with("goodbye, cruel world"), "{method}: {stderr:?}")
            }
            other => panic!("{method}: {other:?}"),
        }
        match start(method, last_words_then, (1,)).join_timeout(PATIENCE) {
            Err(e @ Error::Signaled { name: "SIGABRT", .. }) => {
                assert!(e.to_string().contains("goodbye, cruel world"), "{method}: {e}")
            }
            other => panic!("{method}: {other:?}"),
        }
    }
}

/// Asks for far more memory than there is.
#[process_fn]
fn allocate_too_much() -> usize {
    let huge: Vec<u8> = vec![1; 1 << 46];
    huge.len()
}

/// An allocation failure is reported as what it is, with its size (the
/// standard library aborts: it was a bare SIGABRT).
#[test]
fn a_failed_allocation_is_reported_as_out_of_memory() {
    for method in METHODS {
        match start(method, allocate_too_much, ()).join_timeout(PATIENCE) {
            Err(Error::OutOfMemory { size, .. }) => assert_eq!(size, Some(1 << 46), "{method}"),
            other => panic!("{method}: {other:?}"),
        }
    }
    let pool = Pool::new(1).unwrap();
    match pool.apply(allocate_too_much, ()) {
        Err(Error::OutOfMemory { size, .. }) => assert_eq!(size, Some(1 << 46)),
        other => panic!("pool: {other:?}"),
    }
}

/// Writes `n` bytes to stdout and a line to stderr (straight to the
/// streams: libtest's capture would take `print!` in a forked child).
#[process_fn]
fn write_streams(n: usize) -> usize {
    use std::io::Write;
    std::io::stdout().write_all(&vec![b'x'; n]).unwrap();
    std::io::stderr().write_all(b"done writing\n").unwrap();
    n
}

/// `capture_output(true)`: the whole of both streams, after `join`, even
/// far beyond a pipe's buffer; `None` without it.
#[test]
fn captured_output_is_readable_after_join() {
    for method in METHODS {
        let mut p = Process::builder()
            .start_method(method)
            .capture_output(true)
            .start(write_streams, (300_000,))
            .unwrap();
        assert_eq!(p.join_timeout(PATIENCE).unwrap(), 300_000);
        let out = p.output().expect("captured");
        assert_eq!(out.stdout.len(), 300_000, "{method}");
        assert!(out.stdout.iter().all(|&b| b == b'x'), "{method}");
        assert_eq!(out.stderr, b"done writing\n", "{method}");
        let mut plain = start(method, write_streams, (0,));
        plain.join_timeout(PATIENCE).unwrap();
        assert!(plain.output().is_none(), "{method}");
    }
}

/// A result whose `Serialize` refuses.
#[derive(Debug, Clone, serde::Deserialize)]
struct Refuses;

impl serde::Serialize for Refuses {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value refuses to be encoded"))
    }
}

#[process_fn]
fn give_refuses() -> Refuses {
    Refuses
}

/// A result that cannot be encoded is a codec error naming the entry — in
/// a `Process`, a pool and an executor (it was `ChildSetup`, "the entry
/// is missing or its arguments did not decode").
#[test]
fn an_unencodable_result_is_a_codec_error_naming_its_entry() {
    let says =
        |e: &Error| matches!(e, Error::Codec(m) if m.contains("give_refuses") && m.contains("refuses to be encoded"));
    for method in METHODS {
        let e = start(method, give_refuses, ()).join_timeout(PATIENCE).unwrap_err();
        assert!(says(&e), "{method}: {e:?}");
    }
    let pool = Pool::new(1).unwrap();
    let e = pool.apply(give_refuses, ()).unwrap_err();
    assert!(says(&e), "pool: {e:?}");
    let executor = multiproc::executor::ProcessPoolExecutor::new(1).unwrap();
    let e = executor.submit(give_refuses, ()).unwrap().result().unwrap_err();
    assert!(says(&e), "executor: {e:?}");
}
