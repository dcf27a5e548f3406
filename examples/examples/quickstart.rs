//! The quickstart: one function, three ways to start it in a child process.
//!
//! Run with `cargo run -p multiproc-examples --example quickstart`.

use multiproc::prelude::*;
use std::time::Duration;

/// Squares a number — in whichever process calls it.
#[process_fn]
fn square(x: u64) -> u64 {
    x * x
}

/// Panics on purpose, to show that a failure stays in its child.
#[process_fn]
fn explode(why: String) -> u64 {
    panic!("{why}")
}

fn main() -> multiproc::Result<()> {
    // Still an ordinary function.
    println!("square(3) here = {}", square(3));

    for method in [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn] {
        let mut child = Process::builder().start_method(method).start(square, (7,))?;
        let pid = child.pid();
        let value = child.join_timeout(Duration::from_secs(30))?;
        println!("{method:>10}: square(7) = {value} (computed by pid {pid})");
    }

    let mut child = Process::builder().start(explode, ("on purpose".to_string(),))?;
    match child.join() {
        Err(e) => println!("a failing child reports: {e}"),
        Ok(v) => println!("unexpected value {v}"),
    }
    Ok(())
}
