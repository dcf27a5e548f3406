//! `par_reduce!`: every start method, a reused pool, threads, captures,
//! empty data, and a failing item.

use multiproc::prelude::*;
use multiproc_tests::PATIENCE;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

fn sum_of_squares(n: u64) -> u64 {
    (0..n).map(|x| x * x).sum()
}

#[test]
fn every_start_method_and_threads_agree() -> multiproc::Result<()> {
    let want = sum_of_squares(1_000);
    assert_eq!(
        par_reduce!(square, 0..1_000u64, 0u64, |a, b| a + b, procs = 2, start = fork)?,
        want
    );
    assert_eq!(
        par_reduce!(
            |x: u64| x * x,
            0..1_000u64,
            0u64,
            |a, b| a + b,
            procs = 2,
            start = forkserver
        )?,
        want
    );
    assert_eq!(
        par_reduce!(
            |x: u64| x * x,
            0..1_000u64,
            0u64,
            |a, b| a + b,
            procs = 2,
            start = spawn
        )?,
        want
    );
    assert_eq!(
        par_reduce!(|x: u64| x * x, 0..1_000u64, 0u64, |a, b| a + b, threads = 3)?,
        want
    );
    assert_eq!(par_reduce!(square, 0..1_000u64, 0u64, |a, b| a + b, threads = 2)?, want);
    Ok(())
}

#[test]
fn partial_results_are_combined_in_data_order() -> multiproc::Result<()> {
    // String concatenation is associative but not commutative.
    let joined = par_reduce!(
        |x: u64| x.to_string(),
        0..200u64,
        String::new(),
        |a, b| a + &b,
        procs = 2,
        chunksize = 7
    )?;
    let want: String = (0..200u64).map(|x| x.to_string()).collect();
    assert_eq!(joined, want);
    Ok(())
}

#[test]
fn captures_identity_options_and_a_reused_pool() -> multiproc::Result<()> {
    let pool = Pool::builder().processes(2).start_method(StartMethod::Spawn).build()?;
    for weight in [1u64, 3, 10] {
        let bonus = 5u64;
        let got = par_reduce!(
            move |x: u64| x * weight,
            0..500u64,
            0u64,
            move |a, b| a + b + bonus - bonus,
            pool = &pool,
            timeout = PATIENCE,
            progress = true
        )?;
        assert_eq!(got, (0..500u64).sum::<u64>() * weight);
    }
    // A non-trivial identity: the min and max seen.
    let (lo, hi) = par_reduce!(
        |x: i64| (x, x),
        vec![5i64, -3, 12, 7],
        (i64::MAX, i64::MIN),
        |a: (i64, i64), b: (i64, i64)| (a.0.min(b.0), a.1.max(b.1)),
        pool = &pool
    )?;
    assert_eq!((lo, hi), (-3, 12));
    // Nothing to reduce: the identity.
    let empty: Vec<u64> = Vec::new();
    assert_eq!(par_reduce!(|x: u64| x, empty, 42u64, |a, b| a + b, pool = &pool)?, 42);
    Ok(())
}

#[test]
fn a_failing_item_fails_the_call() {
    let got = par_reduce!(
        |x: u64| {
            assert!(x != 77, "item {x} is bad");
            x
        },
        0..100u64,
        0u64,
        |a, b| a + b,
        procs = 2,
        chunksize = 10
    );
    match got {
        // The index of the chunk that held the item.
        Err(Error::ItemFailed { index: 7, source }) => match *source {
            Error::Panicked { message, .. } => assert!(message.contains("item 77 is bad"), "{message}"),
            other => panic!("unexpected source {other:?}"),
        },
        other => panic!("expected chunk 7 to fail, got {other:?}"),
    }
}
