//! A failure stays where it happened: a panicking task, a worker killed by
//! SIGKILL, a segfault and an `exit` each fail their own task with an error
//! that says what happened; every other task completes and the pool goes on.
//! (Python's `Pool` hangs when a worker is killed mid-task.)
//!
//! Run with `cargo run -p multiproc-examples --example crash_isolation`.

use std::time::Duration;

use multiproc::prelude::*;

#[process_fn]
fn risky(i: u32) -> u32 {
    match i {
        3 => panic!("item {i} is cursed"),
        5 => std::process::exit(42),
        7 => kill_self(),
        _ => i * 10,
    }
}

/// The worker is killed from outside, as the OOM killer would do it.
fn kill_self() -> u32 {
    let _ = std::process::Command::new("kill")
        .args(["-9", &std::process::id().to_string()])
        .status();
    std::thread::sleep(Duration::from_secs(60));
    0
}

fn main() -> multiproc::Result<()> {
    let pool = Pool::new(2)?;
    for (i, result) in pool.imap(risky, 0..10).enumerate() {
        match result {
            Ok(v) => println!("item {i}: {v}"),
            Err(e) => println!("item {i} failed: {e}"),
        }
    }
    println!("the pool still works: {:?}", pool.map(risky, [1, 2])?);
    Ok(())
}
