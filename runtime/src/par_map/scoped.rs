//! Thread mode without rayon (`default-features = false`, or without the
//! `rayon` feature): the data is collected, cut into chunks (about four per
//! thread, so that a slow chunk does not leave the others idle), and `n`
//! scoped threads of the standard library take chunks from a shared queue
//! until none is left. Results come back in input order; a reduction folds
//! each chunk, then combines the chunks' results in input order, so `op`
//! need only be associative, as with rayon.

use std::collections::VecDeque;
use std::sync::Mutex;

#[cfg(not(feature = "rayon"))]
use super::{finish_threads, ThreadData, ViaIter};
use crate::error::{Error, Result};
#[cfg(not(feature = "rayon"))]
use crate::progress::Progress;

/// Without rayon no data is split in place: every kind goes through
/// [`ViaIter`]. The trait exists so that the macro's expansion names the
/// same two traits with or without the feature.
#[cfg(not(feature = "rayon"))]
pub trait ViaRayon {}

/// Cuts `items` into about four chunks per thread, numbered in order.
fn chunks<T>(items: Vec<T>, n: usize) -> VecDeque<(usize, Vec<T>)> {
    let size = items.len().div_ceil(4 * n).max(1);
    let mut items = items.into_iter();
    let mut out = VecDeque::new();
    loop {
        let chunk: Vec<T> = items.by_ref().take(size).collect();
        if chunk.is_empty() {
            return out;
        }
        out.push_back((out.len(), chunk));
    }
}

/// Runs `work` on each chunk of `items` on `n` threads, and gives the
/// chunks' results in input order. A panic in `work` is
/// [`Error::Panicked`], once every thread has stopped.
fn run<T: Send, C: Send>(n: usize, items: Vec<T>, work: impl Fn(Vec<T>) -> C + Sync) -> Result<Vec<C>> {
    let queue = Mutex::new(chunks(items, n.max(1)));
    let done = Mutex::new(Vec::new());
    let panicked = Mutex::new(None);
    let take = || queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
    std::thread::scope(|scope| {
        for _ in 0..n.max(1) {
            scope.spawn(|| {
                while let Some((index, chunk)) = take() {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(chunk))) {
                        Ok(out) => done.lock().unwrap_or_else(|p| p.into_inner()).push((index, out)),
                        Err(payload) => {
                            // The first panic is the error; the others stop
                            // at their next look at an emptied queue.
                            queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
                            let message = crate::unwind::panic_message(&*payload);
                            panicked
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(message);
                        }
                    }
                }
            });
        }
    });
    if let Some(message) = panicked.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(Error::Panicked {
            pid: std::process::id() as i32,
            message,
            location: None,
        });
    }
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_unstable_by_key(|(index, _)| *index);
    Ok(done.into_iter().map(|(_, out)| out).collect())
}

/// [`run`], counting each chunk's items on a progress bar when asked.
#[cfg(not(feature = "rayon"))]
fn run_counted<T: Send, C: Send>(
    n: usize,
    progress: bool,
    items: Vec<T>,
    work: impl Fn(Vec<T>) -> C + Sync,
) -> Result<Vec<C>> {
    let Some(bar) = progress.then(|| Progress::stderr(Some(items.len()))) else {
        return run(n, items, work);
    };
    let out = run(n, items, |chunk| {
        let len = chunk.len();
        let done = work(chunk);
        bar.inc(len);
        done
    });
    finish_threads(&bar, &out);
    out
}

#[cfg(not(feature = "rayon"))]
impl<D: IntoIterator> ViaIter<D> for ThreadData<D>
where
    D::Item: Send,
{
    fn par_map_threads<R, F>(&self, n: usize, progress: bool, f: F) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(D::Item) -> R + Sync + Send,
    {
        let items: Vec<D::Item> = self.take()?.into_iter().collect();
        let chunks = run_counted(n, progress, items, |chunk| {
            chunk.into_iter().map(&f).collect::<Vec<R>>()
        })?;
        Ok(chunks.into_iter().flatten().collect())
    }

    fn par_reduce_threads<M, F, O>(&self, n: usize, progress: bool, f: F, identity: M, op: O) -> Result<M>
    where
        M: Clone + Send + Sync,
        F: Fn(D::Item) -> M + Sync + Send,
        O: Fn(M, M) -> M + Sync + Send,
    {
        let items: Vec<D::Item> = self.take()?.into_iter().collect();
        let partials = run_counted(n, progress, items, |chunk| {
            chunk.into_iter().fold(identity.clone(), |acc, item| op(acc, f(item)))
        })?;
        Ok(partials.into_iter().fold(identity.clone(), &op))
    }
}

#[cfg(test)]
mod tests {
    use super::run;
    use crate::error::Error;

    /// Chunks come back in input order whatever order the threads finish
    /// them in, and a panic on one thread is an error, not an unwind.
    #[test]
    fn chunks_keep_their_order_and_a_panic_is_an_error() {
        let items: Vec<u64> = (0..1_000).collect();
        let out = run(4, items, |chunk| {
            // Earlier chunks take longer, so they finish last.
            std::thread::sleep(std::time::Duration::from_micros(1_000 - chunk[0]));
            chunk.into_iter().map(|x| x * 2).collect::<Vec<_>>()
        })
        .unwrap();
        let flat: Vec<u64> = out.into_iter().flatten().collect();
        assert_eq!(flat, (0..1_000).map(|x| x * 2).collect::<Vec<_>>());

        let sums = run(3, vec!["a", "b", "c", "d", "e"], |chunk| chunk.concat()).unwrap();
        assert_eq!(sums.concat(), "abcde", "a non-commutative fold keeps its order");

        let failed = run(2, vec![1, 2, 3], |chunk| {
            assert!(!chunk.contains(&2), "two is bad");
            chunk
        });
        assert!(matches!(failed, Err(Error::Panicked { ref message, .. }) if message.contains("two is bad")));
        assert!(run(2, Vec::<u8>::new(), |c| c).unwrap().is_empty());
    }
}
