//! The guide's `multiprocessing.dummy` note, ported: the same `Pool` API on
//! threads, so switching between processes and threads is one line.
//!
//! Python:
//! ```python
//! from multiprocessing import Pool                 # processes
//! from multiprocessing.dummy import Pool as ThreadPool  # threads
//!
//! with ThreadPool(4) as pool:
//!     print(pool.map(len, ["a", "bb", "ccc"]))
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example thread_pool`.

use multiproc::prelude::*;
use multiproc::thread::Pool as ThreadPool;

#[process_fn]
fn length(word: String) -> usize {
    word.len()
}

fn main() -> multiproc::Result<()> {
    let words = || ["a", "bb", "ccc"].map(String::from);

    // Processes …
    let pool = Pool::new(2)?;
    let in_processes = pool.map(length, words())?;
    // … and threads: the same entry, the same call.
    let pool = ThreadPool::new(4)?;
    let on_threads = pool.map(length, words())?;
    println!("{on_threads:?}");
    assert_eq!(in_processes, on_threads);

    // On threads a closure may also capture, and items need not be serde
    // types (here: a shared counter).
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counter.clone();
    pool.map(
        move |n: usize| c.fetch_add(n, std::sync::atomic::Ordering::Relaxed),
        1..=4,
    )?;
    assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 10);

    // The queue twin: any `Send` item, moved rather than encoded.
    let queue = multiproc::thread::Queue::<Box<dyn FnOnce() -> u8 + Send>>::bounded(2)?;
    queue.put(Box::new(|| 7))?;
    assert_eq!(queue.get()?(), 7);
    pool.close();
    pool.join()
}
