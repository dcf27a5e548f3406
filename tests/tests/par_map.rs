//! `par_map!`: every start method with a `#[process_fn]` and with a lifted
//! closure, thread mode, and each option, run for real.

use std::time::{Duration, Instant};

use multiproc::prelude::*;
use multiproc_tests::{lib_double, PATIENCE};

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

#[process_fn]
fn pid_of(_x: u64) -> i32 {
    std::process::id() as i32
}

#[process_fn]
fn fail_on_13(x: u64) -> u64 {
    assert!(x != 13, "item {x} is bad");
    x
}

#[process_fn]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// The first item is slow, so that later ones finish first.
#[process_fn]
fn slow_first(x: u64) -> u64 {
    if x == 0 {
        std::thread::sleep(Duration::from_millis(500));
    }
    x
}

fn squares(n: u64) -> Vec<u64> {
    (0..n).map(|x| x * x).collect()
}

#[test]
fn every_start_method_with_a_path() -> multiproc::Result<()> {
    assert_eq!(par_map!(square, 0..50u64, procs = 2, start = fork)?, squares(50));
    assert_eq!(par_map!(square, 0..50u64, procs = 2, start = forkserver)?, squares(50));
    assert_eq!(par_map!(square, 0..50u64, procs = 2, start = spawn)?, squares(50));
    // An entry of a library crate, by path, with the default start method.
    let doubled: Vec<u64> = (0..50).map(|x| x * 2).collect();
    assert_eq!(par_map!(multiproc_tests::lib_double, 0..50u64, procs = 2)?, doubled);
    assert_eq!(
        par_map!(lib_double, (0..50u64).collect::<Vec<_>>(), procs = 2)?,
        doubled
    );
    Ok(())
}

#[test]
fn every_start_method_with_a_lifted_closure() -> multiproc::Result<()> {
    assert_eq!(
        par_map!(|x: u64| x * x, 0..50u64, procs = 2, start = fork)?,
        squares(50)
    );
    assert_eq!(
        par_map!(|x: u64| x * x, 0..50u64, procs = 2, start = forkserver)?,
        squares(50)
    );
    assert_eq!(
        par_map!(|x: u64| x * x, 0..50u64, procs = 2, start = spawn)?,
        squares(50)
    );
    // The worker, not this process, ran it.
    let pids = par_map!(|_x: u64| std::process::id(), 0..4u64, procs = 2, start = spawn)?;
    assert!(!pids.contains(&std::process::id()));
    // Owned, structured items and results.
    let words = vec!["a".to_string(), "bb".to_string(), "ccc".to_string()];
    let lens = par_map!(|w: String| (w.len(), w.to_uppercase()), words, procs = 2, start = fork)?;
    assert_eq!(lens, [(1, "A".into()), (2, "BB".into()), (3, "CCC".into())]);
    Ok(())
}

#[test]
fn threads_equal_serial() -> multiproc::Result<()> {
    let data: Vec<u64> = (0..1000).collect();
    let offset = 7; // a capture: fine on threads
    let serial: Vec<u64> = data.iter().map(|x| x * x + offset).collect();
    assert_eq!(par_map!(|x: &u64| x * x + offset, &data, threads = 4)?, serial);
    assert_eq!(par_map!(|x| x * x + offset, 0..1000u64, threads = 2)?, serial);
    assert_eq!(par_map!(square, 0..1000u64, threads = 3)?, squares(1000));
    // Not rayon-splittable: collected first, still in input order.
    let odd = par_map!(|x| x + 1, data.iter().copied().filter(|x| x % 2 == 1), threads = 2)?;
    assert_eq!(
        odd,
        (0..1000u64).filter(|x| x % 2 == 1).map(|x| x + 1).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn unordered_returns_the_same_multiset() -> multiproc::Result<()> {
    let mut got = par_map!(slow_first, 0..40u64, procs = 2, chunksize = 1, ordered = false)?;
    got.sort_unstable();
    assert_eq!(got, (0..40).collect::<Vec<_>>());
    let mut got = par_map!(|x: u64| x * x, 0..40u64, procs = 2, ordered = false)?;
    got.sort_unstable();
    assert_eq!(got, squares(40));
    Ok(())
}

#[test]
fn options_together() -> multiproc::Result<()> {
    let procs = 2;
    let got = par_map!(
        square,
        0..100u64,
        chunksize = 9,
        progress = false,
        timeout = PATIENCE,
        procs = procs,
        start = fork,
    )?;
    assert_eq!(got, squares(100));
    Ok(())
}

#[test]
fn a_panicking_item_fails_the_call_with_its_index() {
    for got in [
        par_map!(fail_on_13, 0..20u64, procs = 2, start = fork),
        par_map!(|x: u64| fail_on_13(x), 0..20u64, procs = 2, chunksize = 4),
    ] {
        match got {
            Err(Error::ItemFailed { index: 13, source }) => match *source {
                Error::Panicked { message, .. } => assert!(message.contains("item 13 is bad"), "{message}"),
                other => panic!("unexpected source {other:?}"),
            },
            other => panic!("expected item 13 to fail, got {other:?}"),
        }
    }
}

#[test]
fn timeout_fails_quickly() {
    let started = Instant::now();
    let got = par_map!(
        sleep_ms,
        [60_000u64, 60_000],
        procs = 2,
        timeout = Duration::from_millis(200)
    );
    assert!(
        matches!(got, Err(Error::Timeout(d)) if d == Duration::from_millis(200)),
        "{got:?}"
    );
    assert!(started.elapsed() < PATIENCE / 2, "took {:?}", started.elapsed());
}

#[test]
fn pool_is_reused() -> multiproc::Result<()> {
    let pool = Pool::builder().processes(2).start_method(StartMethod::Fork).build()?;
    let before = pool.worker_pids();
    let pids = par_map!(pid_of, 0..20u64, pool = &pool, chunksize = 1)?;
    assert!(
        pids.iter().all(|pid| before.contains(pid)),
        "{pids:?} not in {before:?}"
    );
    assert_eq!(par_map!(|x: u64| x * x, 0..20u64, pool = &pool)?, squares(20));
    assert_eq!(
        par_map!(square, 0..20u64, pool = &pool, ordered = false, timeout = PATIENCE)?.len(),
        20
    );
    assert_eq!(pool.worker_pids(), before);
    // Still usable directly afterwards.
    assert_eq!(pool.map(square, 0..3u64)?, [0, 1, 4]);
    Ok(())
}

#[test]
fn empty_data_gives_an_empty_vec() -> multiproc::Result<()> {
    assert!(par_map!(square, Vec::<u64>::new(), procs = 2)?.is_empty());
    assert!(par_map!(|x: u64| x + 1, 0..0u64, procs = 2, start = spawn)?.is_empty());
    assert!(par_map!(|x: &u64| x + 1, &Vec::<u64>::new(), threads = 2)?.is_empty());
    let pool = Pool::new(1)?;
    assert!(par_map!(square, std::iter::empty::<u64>(), pool = &pool)?.is_empty());
    Ok(())
}

/// Lifted closures get distinct names even when one `macro_rules!` call
/// expands `par_map!` several times at the same source position.
#[test]
fn closures_repeated_by_a_macro_rules_get_distinct_names() {
    macro_rules! each {
        ($($m:ident),*) => { vec![$( par_map!(|x: u64| x + 1, 0..3u64, procs = 1, start = $m) ),*] };
    }
    for result in each!(fork, spawn, forkserver) {
        assert_eq!(result.unwrap(), vec![1, 2, 3]);
    }
}

/// Runs both modes of `par_map!` with `progress = true`; what it wrote to
/// stderr is the test's to read.
#[process_fn]
fn map_with_progress() -> usize {
    let procs = par_map!(square, 0..50u64, procs = 2, progress = true).unwrap();
    let threads = par_map!(|x: u64| x + 1, 0..30u64, threads = 2, progress = true).unwrap();
    procs.len() + threads.len()
}

/// `progress = true` leaves one summary line per call, in process and
/// thread mode alike; with no terminal, no bar is drawn.
#[test]
fn progress_leaves_a_summary_line_in_both_modes() {
    let mut p = Process::builder()
        .capture_output(true)
        .start(map_with_progress, ())
        .unwrap();
    assert_eq!(p.join_timeout(PATIENCE).unwrap(), 80);
    let stderr = String::from_utf8(p.output().expect("captured").stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr:?}");
    assert!(lines[0].starts_with("par_map!: 50 items in "), "{stderr:?}");
    assert!(lines[1].starts_with("par_map!: 30 items in "), "{stderr:?}");
    assert!(lines.iter().all(|l| l.ends_with("items/s)")), "{stderr:?}");
    assert!(!stderr.contains('\r'), "a bar was drawn without a terminal: {stderr:?}");
}
