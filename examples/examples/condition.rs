//! The guide's `Condition` example (two stages), ported: two stage-2
//! processes wait on the condition; stage 1 notifies them all.
//!
//! The guide's version sleeps a second per client and hopes they are all
//! waiting by then; this one keeps a shared "stage" value under the
//! condition's lock, so a late waiter does not miss the notification.
//!
//! Run with `cargo run -p multiproc-examples --example condition`.

use multiproc::prelude::*;
use multiproc::shared::Value;
use multiproc::sync::Condition;

#[process_fn]
fn stage_1(cond: Condition, stage: Value<u32>) {
    let name = multiproc::current_process().name().to_string();
    println!("Starting {name}");
    let _held = cond
        .acquire()
        .unwrap_or_else(|e| e.into_inner().expect("the lock works"));
    println!("{name} done and ready for stage 2");
    stage.set(1).expect("the value works");
    cond.notify_all();
}

#[process_fn]
fn stage_2(cond: Condition, stage: Value<u32>) {
    let name = multiproc::current_process().name().to_string();
    println!("Starting {name}");
    let held = cond
        .acquire()
        .unwrap_or_else(|e| e.into_inner().expect("the lock works"));
    let _held = cond
        .wait_while(held, || stage.get().is_ok_and(|s| s < 1))
        .unwrap_or_else(|e| e.into_inner().expect("the lock works"));
    println!("{name} running");
}

fn main() -> multiproc::Result<()> {
    let condition = Condition::new()?;
    let stage = Value::new(0u32)?;
    let mut clients: Vec<_> = (1..3)
        .map(|i| {
            Process::builder()
                .name(format!("stage_2[{i}]"))
                .start(stage_2, (condition.clone(), stage.clone()))
        })
        .collect::<Result<_, _>>()?;
    let mut s1 = Process::builder()
        .name("s1")
        .start(stage_1, (condition.clone(), stage.clone()))?;
    s1.join()?;
    for c in &mut clients {
        c.join()?;
    }
    Ok(())
}
