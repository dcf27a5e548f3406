//! The guide's `Event` example, ported: one waiter blocks until the event
//! is set, the other gives up after 2 seconds.
//!
//! Run with `cargo run -p multiproc-examples --example event`.

use std::time::Duration;

use multiproc::prelude::*;
use multiproc::sync::Event;

#[process_fn]
fn wait_for_event(e: Event) {
    println!("wait_for_event: starting");
    e.wait();
    println!("wait_for_event: e.is_set()-> {}", e.is_set());
}

#[process_fn]
fn wait_for_event_timeout(e: Event, secs: u64) {
    println!("wait_for_event_timeout: starting");
    e.wait_timeout(Duration::from_secs(secs));
    println!("wait_for_event_timeout: e.is_set()-> {}", e.is_set());
}

fn main() -> multiproc::Result<()> {
    let e = Event::new()?;
    let mut w1 = Process::builder().name("block").start(wait_for_event, (e.clone(),))?;
    let mut w2 = Process::builder()
        .name("nonblock")
        .start(wait_for_event_timeout, (e.clone(), 2))?;
    println!("main: waiting before calling Event.set()");
    std::thread::sleep(Duration::from_secs(3));
    e.set();
    println!("main: event is set");
    w1.join()?;
    w2.join()?;
    Ok(())
}
