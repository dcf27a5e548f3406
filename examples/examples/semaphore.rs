//! The guide's `Semaphore` example, ported: 5 users, 2 slots.
//!
//! Python:
//! ```python
//! def go_wc(sem, user):
//!     sem.acquire()
//!     print('%s 占到一个茅坑' % user)
//!     time.sleep(random.randint(0, 3))
//!     sem.release()
//!     print(user, 'OK')
//!
//! sem = Semaphore(2)
//! for i in range(5):
//!     Process(target=go_wc, args=(sem, 'user%s' % i)).start()
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example semaphore`.

use std::time::Duration;

use multiproc::prelude::*;
use multiproc::sync::Semaphore;

#[process_fn]
fn go_wc(sem: Semaphore, user: String, secs: u64) {
    {
        let _slot = sem.acquire();
        println!("{user} 占到一个茅坑");
        std::thread::sleep(Duration::from_millis(200 * secs));
    }
    println!("{user} OK");
}

fn main() -> multiproc::Result<()> {
    let sem = Semaphore::new(2)?;
    let mut users: Vec<_> = (0..5u64)
        .map(|i| Process::builder().start(go_wc, (sem.clone(), format!("user{i}"), i % 3)))
        .collect::<Result<_, _>>()?;
    for u in &mut users {
        u.join()?;
    }
    Ok(())
}
