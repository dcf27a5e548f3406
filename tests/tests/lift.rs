//! `lift!`: a closure, capturing or not, wherever a `#[process_fn]` goes.

use multiproc::executor::ProcessPoolExecutor;
use multiproc::lift;
use multiproc::prelude::*;
use multiproc_tests::PATIENCE;

#[test]
fn a_lifted_closure_goes_to_every_pool_method() -> multiproc::Result<()> {
    let pool = Pool::builder().processes(2).start_method(StartMethod::Spawn).build()?;
    let factor = 7u64;
    let names = vec!["zero".to_string(), "one".to_string(), "two".to_string()];
    let times = lift!(move |x: u64| x * factor);
    let name = lift!(move |i: usize| names[i].clone());
    assert_eq!(
        pool.map(times.clone(), 0..100u64)?,
        (0..100).map(|x| x * 7).collect::<Vec<_>>()
    );
    assert_eq!(pool.map(name.clone(), [2usize, 0])?, ["two", "zero"]);
    assert_eq!(pool.apply(times.clone(), (6,))?, 42);
    let pending = pool.apply_async(name.clone(), (1,))?;
    assert_eq!(pending.get_timeout(PATIENCE)?, "one");
    let mut got: Vec<u64> = pool.imap_unordered(times.clone(), 0..50u64).collect::<Result<_, _>>()?;
    got.sort_unstable();
    assert_eq!(got, (0..50).map(|x| x * 7).collect::<Vec<_>>());
    let got: Vec<u64> = pool.imap(times.clone(), 0..10u64).collect::<Result<_, _>>()?;
    assert_eq!(got, (0..10).map(|x| x * 7).collect::<Vec<_>>());
    // One that captures nothing is a plain lifted entry.
    let plus_one = lift!(|x: u64| x + 1);
    assert_eq!(pool.map(plus_one, 0..3u64)?, [1, 2, 3]);
    // Called here, it runs here.
    assert_eq!(times.call((3,)), 21);
    Ok(())
}

#[test]
fn a_lifted_closure_starts_a_process_with_every_method() -> multiproc::Result<()> {
    let greeting = String::from("hello");
    let greet = lift!(move |who: String| format!("{greeting}, {who}"));
    for method in [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn] {
        let mut p = Process::builder()
            .start_method(method)
            .start(greet.clone(), ("world".to_string(),))?;
        assert_eq!(p.join_timeout(PATIENCE)?, "hello, world", "{method}");
    }
    Ok(())
}

#[test]
fn a_lifted_closure_goes_to_the_process_executor() -> multiproc::Result<()> {
    let executor = ProcessPoolExecutor::new(2)?;
    let offset = 1_000u64;
    let shift = lift!(move |x: u64| x + offset);
    let futures: Vec<_> = (0..20u64)
        .map(|x| executor.submit(shift.clone(), (x,)))
        .collect::<Result<_, _>>()?;
    for (x, future) in futures.iter().enumerate() {
        assert_eq!(future.result()?, x as u64 + 1_000);
    }
    Ok(())
}

#[test]
fn a_lifted_closure_initializes_a_pool() -> multiproc::Result<()> {
    // An initializer that captures: it runs once in every worker.
    let limit = 3u64;
    let pool = Pool::builder()
        .processes(2)
        .initializer(lift!(move |x: u64| assert!(x < limit, "{x} is over {limit}")), (2,))
        .build()?;
    assert_eq!(pool.map(lift!(|x: u64| x), 0..3u64)?, [0, 1, 2]);
    let failing = Pool::builder()
        .processes(1)
        .initializer(lift!(move |x: u64| assert!(x < limit, "{x} is over {limit}")), (5,))
        .build();
    match failing {
        Err(Error::InitializerFailed(message)) => assert!(message.contains("5 is over 3"), "{message}"),
        other => panic!("expected the initializer to fail, got {other:?}"),
    }
    Ok(())
}
