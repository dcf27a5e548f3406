//! Closures that capture, in worker processes: `par_map!` over every start
//! method and a reused pool, workers replaced mid-call, and captures that
//! differ from one call of the same closure to the next.

use multiproc::prelude::*;

fn times(n: u64, factor: u64) -> Vec<u64> {
    (0..n).map(|x| x * factor).collect()
}

#[test]
fn every_start_method_with_a_capturing_closure() -> multiproc::Result<()> {
    let factor = 3u64;
    assert_eq!(
        par_map!(move |x: u64| x * factor, 0..50u64, procs = 2, start = fork)?,
        times(50, 3)
    );
    assert_eq!(
        par_map!(move |x: u64| x * factor, 0..50u64, procs = 2, start = forkserver)?,
        times(50, 3)
    );
    assert_eq!(
        par_map!(move |x: u64| x * factor, 0..50u64, procs = 2, start = spawn)?,
        times(50, 3)
    );
    // Without `move`, the values travel all the same, and stay usable here.
    let table: Vec<u64> = (0..100).map(|i| i * 10).collect();
    let label = String::from("item");
    let got = par_map!(
        |i: usize| format!("{label} {i}: {}", table[i] + factor),
        vec![0usize, 5, 99],
        procs = 2,
        start = spawn
    )?;
    assert_eq!(got, ["item 0: 3", "item 5: 53", "item 99: 993"]);
    assert_eq!(table.len() + label.len(), 104);
    Ok(())
}

#[test]
fn a_large_capture_reaches_every_worker() -> multiproc::Result<()> {
    // 1 MiB of table, far above a single read of the worker's channel.
    let table: Vec<u64> = (0..131_072u64).map(|i| i ^ 0x5555).collect();
    let got = par_map!(
        move |i: u64| table[(i * 977 % 131_072) as usize],
        0..2_000u64,
        procs = 2,
        chunksize = 7,
        start = spawn
    )?;
    let want: Vec<u64> = (0..2_000u64).map(|i| (i * 977 % 131_072) ^ 0x5555).collect();
    assert_eq!(got, want);
    Ok(())
}

#[test]
fn a_reused_pool_gets_each_calls_own_captures() -> multiproc::Result<()> {
    let pool = Pool::builder().processes(2).start_method(StartMethod::Spawn).build()?;
    // The same closure, and so the same entry, with other captures each
    // call: the workers must not run one call with another's values.
    for factor in [2u64, 5, 2, 7, 11, 5] {
        let got = par_map!(move |x: u64| x * factor, 0..300u64, pool = &pool, chunksize = 3)?;
        assert_eq!(got, times(300, factor), "factor {factor}");
    }
    // Two closures taking turns, and one that captures nothing in between.
    let (a, b) = (3u64, String::from("b"));
    for _ in 0..3 {
        assert_eq!(
            par_map!(move |x: u64| x + a, 0..20u64, pool = &pool)?,
            (3..23).collect::<Vec<_>>()
        );
        assert_eq!(par_map!(|x: u64| x + 1, 0..5u64, pool = &pool)?, [1, 2, 3, 4, 5]);
        let got = par_map!(move |x: u64| format!("{b}{x}"), 0..3u64, pool = &pool)?;
        assert_eq!(got, ["b0", "b1", "b2"]);
    }
    // Unordered, and with a progress bar (the streaming path).
    let mut got = par_map!(move |x: u64| x * a, 0..100u64, pool = &pool, ordered = false)?;
    got.sort_unstable();
    assert_eq!(got, times(100, 3));
    let got = par_map!(move |x: u64| x * a, 0..100u64, pool = &pool, progress = true)?;
    assert_eq!(got, times(100, 3));
    Ok(())
}

#[test]
fn workers_replaced_mid_call_get_the_captures_again() -> multiproc::Result<()> {
    // Every worker retires after two tasks: the call is served by many
    // workers in turn, each of which needs the captures.
    let pool = Pool::builder().processes(2).maxtasksperchild(2).build()?;
    let factor = 13u64;
    let got = par_map!(move |x: u64| x * factor, 0..200u64, pool = &pool, chunksize = 10)?;
    assert_eq!(got, times(200, 13));
    Ok(())
}

#[test]
fn a_worker_killed_mid_call_is_replaced_with_the_captures() -> multiproc::Result<()> {
    let pool = Pool::builder().processes(2).start_method(StartMethod::Fork).build()?;
    let doomed = 13u64;
    let got = par_map!(
        move |x: u64| {
            if x == doomed {
                std::process::abort();
            }
            x
        },
        0..40u64,
        pool = &pool,
        chunksize = 1
    );
    // Item 13's death, or a result it took down with it (finished but
    // not sent yet), fails the call.
    match got {
        Err(Error::ItemFailed { index, source }) if index <= 13 => {
            assert!(
                matches!(*source, Error::Signaled { .. } | Error::ResultLost { .. }),
                "{source:?}"
            )
        }
        other => panic!("expected item 13 to fail, got {other:?}"),
    }
    // The replacement works, for this closure and the next.
    let factor = 4u64;
    assert_eq!(
        par_map!(move |x: u64| x * factor, 0..50u64, pool = &pool)?,
        times(50, 4)
    );
    Ok(())
}

#[test]
fn a_capture_that_cannot_be_encoded_is_an_error() {
    struct Refuses;
    impl serde::Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("refused on purpose"))
        }
    }
    impl<'de> serde::Deserialize<'de> for Refuses {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            Ok(Refuses)
        }
    }
    let refuses = Refuses;
    let got = par_map!(
        move |x: u64| {
            let _ = &refuses;
            x
        },
        0..4u64,
        procs = 1
    );
    match got {
        Err(Error::Codec(message)) => assert!(message.contains("refused on purpose"), "{message}"),
        other => panic!("expected a codec error, got {other:?}"),
    }
}
