//! The literal port of Python's `sem.acquire(); …; sem.release()`: the
//! guard dropped at once gives the permit back at once, and `release`
//! adds another. Both are loud.
#![deny(unused_must_use, deprecated)]

fn main() {
    let sem = multiproc::sync::Semaphore::new(2).unwrap();
    sem.acquire();
    sem.release().unwrap();
}
