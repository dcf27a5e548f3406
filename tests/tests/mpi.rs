//! The MPI backend under a real `mpirun` (feature `mpi`).
//!
//! Run by `cargo test`, this binary starts itself under `mpirun -n 3` with
//! a hard deadline and checks what rank 0 printed. Under `mpirun` it is the
//! MPI program: rank 0 runs the checks below, the other ranks serve.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use multiproc::executor::as_completed;
use multiproc::prelude::*;

#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

#[process_fn]
fn fails_on_odd(x: u64) -> u64 {
    assert!(x.is_multiple_of(2), "odd input {x}");
    x
}

#[process_fn]
fn rank_of_worker(_item: u64) -> i32 {
    std::env::var("OMPI_COMM_WORLD_RANK")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(-1)
}

#[process_fn]
fn nap_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[process_fn]
fn die() -> u8 {
    std::process::abort();
}

const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `exe mode` under `mpirun -n 3`; its exit status and output, or
/// `None` when it had to be killed.
fn launch(exe: &std::path::Path, mode: &str) -> Option<(bool, String)> {
    let mut child = Command::new("mpirun")
        .args(["-n", "3"])
        .arg(exe)
        .arg(mode)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .env("MULTIPROC_MPI_CHILD", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("mpirun must be installed for the MPI tests (Debian: openmpi-bin)");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap_or_default();
    status.map(|s| (s.success(), text))
}

fn checks() -> multiproc::Result<()> {
    let world = multiproc::mpi::init()?;
    assert_eq!(world.size(), 3);
    let pool = world.pool()?;
    assert!(world.pool().is_err(), "one pool at a time");
    assert_eq!(pool.map(square, 0..1000u64)?[999], 998_001);
    let total: u64 = pool.imap(square, 0..100u64).map(Result::unwrap).sum();
    assert_eq!(total, 328_350);
    let mut unordered: Vec<u64> = pool.imap_unordered(square, 0..10u64).map(Result::unwrap).collect();
    unordered.sort_unstable();
    assert_eq!(unordered, (0..10u64).map(|x| x * x).collect::<Vec<_>>());
    let r = pool.apply_async(square, (12,))?;
    assert_eq!(r.get_timeout(Duration::from_secs(60))?, 144);
    // A panic on a worker rank is that task's error.
    match pool.map(fails_on_odd, [2u64, 3, 4]) {
        Err(Error::ItemFailed { index: 1, source }) => assert!(source.to_string().contains("odd input 3")),
        other => panic!("{other:?}"),
    }
    // Both worker ranks take work.
    let mut ranks: Vec<i32> = pool.map_chunked(rank_of_worker, 0..200u64, 1)?;
    ranks.sort_unstable();
    ranks.dedup();
    assert_eq!(ranks, [1, 2]);
    let cubes = par_map!(|x: u64| x * x * x, 0..5u64, pool = &pool)?;
    assert_eq!(cubes, [0, 1, 8, 27, 64]);
    // A closure that captures is refused by the ranks, never run: its code
    // would be named by an address sent over the network.
    let factor = 3u64;
    match par_map!(move |x: u64| x * factor, 0..2u64, pool = &pool) {
        Err(Error::ItemFailed { source, .. }) => {
            assert!(matches!(*source, Error::Usage(_)), "{source}");
            assert!(source.to_string().contains("MPI ranks do not run"), "{source}");
        }
        other => panic!("a capturing closure ran on the ranks: {other:?}"),
    }
    // Quick tasks queued with a slow one never wait behind it on its rank
    // while the other rank is free (a batch holds no more work than its
    // measured time allows; a task never timed goes alone).
    let slow = pool.apply_async(nap_ms, (5_000,))?;
    let quick: Vec<_> = (0..10u64)
        .map(|i| pool.apply_async(square, (i,)))
        .collect::<Result<_, _>>()?;
    for (i, q) in (0u64..).zip(&quick) {
        assert_eq!(q.get_timeout(Duration::from_secs(60))?, i * i);
    }
    assert!(!slow.ready(), "a quick task waited for the slow one");
    assert_eq!(slow.get()?, 5_000);
    drop(pool);
    println!("ok pool");
    let ex = world.executor()?;
    let futures: Vec<_> = (0..20u64).map(|i| ex.submit(square, (i,))).collect::<Result<_, _>>()?;
    assert_eq!(as_completed(&futures, Some(Duration::from_secs(60))).count(), 20);
    assert_eq!(futures[19].result()?, 361);
    drop(ex);
    println!("ok executor");
    Ok(())
}

fn dying_rank() -> multiproc::Result<()> {
    let world = multiproc::mpi::init()?;
    let pool = world.pool()?;
    let r = pool.apply_async(die, ())?;
    let _ = r.get_timeout(Duration::from_secs(60));
    println!("rank 0 went on");
    Ok(())
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if std::env::var_os("MULTIPROC_MPI_CHILD").is_some() {
        let result = match mode.as_str() {
            "die" => dying_rank(),
            _ => checks(),
        };
        if let Err(e) = result {
            eprintln!("rank 0 failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    // The launcher: `cargo test` runs this.
    let me = std::env::current_exe().unwrap();
    let (ok, out) = launch(&me, "checks").expect("the MPI job hung past its deadline");
    assert!(ok, "the MPI job failed; it printed:\n{out}");
    assert!(out.contains("ok pool") && out.contains("ok executor"), "{out}");
    println!("test mpi::pool_and_executor_on_three_ranks ... ok");
    // A rank that dies ends the job (OpenMPI's choice); it must not hang.
    match launch(&me, "die") {
        Some((ok, _)) => assert!(!ok, "a dead rank must fail the job"),
        None => println!("note: mpirun had to be killed after a rank died"),
    }
    println!("test mpi::a_dead_rank_ends_the_job ... ok");
    // The example, as the README runs it: built here first, with the
    // cargo that runs this test, so this command needs nothing before it
    // (in a target directory of its own: `cargo test` holds the lock of
    // this one while its tests run).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let target = me.ancestors().nth(3).unwrap().join("mpi-example");
    let built = std::process::Command::new(cargo)
        .args(["build", "--manifest-path", manifest, "-p", "multiproc-examples"])
        .args(["--features", "mpi", "--example", "mpi_pool", "--target-dir"])
        .arg(&target)
        .status()
        .expect("running cargo to build the MPI example");
    assert!(built.success(), "building the MPI example failed");
    let example = target.join("debug").join("examples").join("mpi_pool");
    assert!(example.exists(), "{} is missing after its build", example.display());
    let (ok, out) = launch(&example, "").expect("the MPI example hung past its deadline");
    assert!(
        ok && out.contains("2 worker ranks") && out.contains("par_map! on the ranks"),
        "{out}"
    );
    println!("test mpi::the_example_runs_on_three_ranks ... ok");
    println!("\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
}
