//! The guide's `JoinableQueue` example (a daemon consumer, a producer that
//! waits until every product is consumed), ported.
//!
//! Python:
//! ```python
//! def consumer(q):
//!     while True:
//!         res = q.get()
//!         print('消费者拿到了 %s' % res)
//!         q.task_done()
//!
//! def producer(seq, q):
//!     for item in seq:
//!         time.sleep(random.randrange(1,2))
//!         q.put(item)
//!         print('生产者做好了 %s' % item)
//!     q.join()
//!
//! q = JoinableQueue()
//! p = Process(target=consumer, args=(q,)); p.daemon = True; p.start()
//! producer(('产品%s' % i for i in range(5)), q)
//! print('主线程')
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example joinable_queue`.

use std::time::Duration;

use multiproc::prelude::*;
use multiproc::queue::JoinableQueue;

#[process_fn]
fn consumer(q: JoinableQueue<String>) -> multiproc::Result<()> {
    loop {
        let res = q.get()?;
        println!("消费者拿到了 {res}");
        q.task_done()?;
    }
}

fn producer(seq: impl Iterator<Item = String>, q: &JoinableQueue<String>) -> multiproc::Result<()> {
    for item in seq {
        std::thread::sleep(Duration::from_millis(100));
        q.put(&item)?;
        println!("生产者做好了 {item}");
    }
    q.join()
}

fn main() -> multiproc::Result<()> {
    let q = JoinableQueue::<String>::unbounded()?;
    // A daemon: it dies with this process, so its endless loop is no leak.
    let _p = Process::builder().daemon(true).start(consumer, (q.clone(),))?;
    producer((0..5).map(|i| format!("产品{i}")), &q)?;
    println!("主线程");
    Ok(())
}
