//! Thread mode on rayon: its own parallel iterator for data that has one,
//! the data collected first for any other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::iter::{IntoParallelIterator, ParallelIterator};

use super::{finish_threads, ThreadData, ViaIter};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::sys::ForkLocal;

/// A rayon pool with `n` threads, made once per size.
fn rayon_pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    // Fork-local: a forked child has none of its parent's threads, so it
    // makes pools of its own (and never waits on the parent's lock).
    static POOLS: ForkLocal<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = ForkLocal::new(Default::default);
    let mut pools = POOLS.get().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = pools.get(&n) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("multiproc-par-map-{i}"))
        .build()
        .map_err(|e| Error::Io {
            context: "starting par_map! threads",
            source: std::io::Error::other(e.to_string()),
        })?;
    let pool = Arc::new(pool);
    pools.insert(n, pool.clone());
    Ok(pool)
}

/// Runs `job` on `n` threads, turning a panic into [`Error::Panicked`].
fn on_threads<R: Send>(n: usize, job: impl FnOnce() -> R + Send) -> Result<R> {
    let pool = rayon_pool(n.max(1))?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.install(job))).map_err(|payload| Error::Panicked {
        pid: std::process::id() as i32,
        message: crate::unwind::panic_message(&*payload),
        location: None,
    })
}

/// Maps `data` with `f` on `n` threads, counting items on a progress bar
/// when asked; the summary comes once every item is in.
fn map_on_threads<P, R, F>(n: usize, progress: bool, data: P, f: F) -> Result<Vec<R>>
where
    P: ParallelIterator,
    R: Send,
    F: Fn(P::Item) -> R + Sync + Send,
{
    let Some(bar) = progress.then(|| Progress::stderr(data.opt_len())) else {
        return on_threads(n, move || data.map(f).collect());
    };
    let out = on_threads(n, || {
        data.map(|item| {
            let r = f(item);
            bar.inc(1);
            r
        })
        .collect()
    });
    finish_threads(&bar, &out);
    out
}

/// Reduces `data` on `n` threads: `f` on each item, `op` to combine, each
/// thread folding from a clone of `identity`.
fn reduce_on_threads<P, M, F, O>(n: usize, progress: bool, data: P, f: F, identity: M, op: O) -> Result<M>
where
    P: ParallelIterator,
    M: Clone + Send + Sync,
    F: Fn(P::Item) -> M + Sync + Send,
    O: Fn(M, M) -> M + Sync + Send,
{
    let Some(bar) = progress.then(|| Progress::stderr(data.opt_len())) else {
        return on_threads(n, move || data.map(f).reduce(|| identity.clone(), op));
    };
    let out = on_threads(n, || {
        data.map(|item| {
            let r = f(item);
            bar.inc(1);
            r
        })
        .reduce(|| identity.clone(), op)
    });
    finish_threads(&bar, &out);
    out
}

/// Thread mode for data that rayon can split directly (ranges, `Vec`s,
/// slices, `&Vec`, …): no copy of the input.
pub trait ViaRayon<D: IntoParallelIterator> {
    /// Maps on `n` threads, with a progress bar when `progress`.
    fn par_map_threads<R, F>(&self, n: usize, progress: bool, f: F) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(D::Item) -> R + Sync + Send;

    /// Reduces on `n` threads (`par_reduce!`), with a progress bar when
    /// `progress`.
    fn par_reduce_threads<M, F, O>(&self, n: usize, progress: bool, f: F, identity: M, op: O) -> Result<M>
    where
        M: Clone + Send + Sync,
        F: Fn(D::Item) -> M + Sync + Send,
        O: Fn(M, M) -> M + Sync + Send;
}

impl<D: IntoParallelIterator + Send> ViaRayon<D> for &ThreadData<D> {
    fn par_map_threads<R, F>(&self, n: usize, progress: bool, f: F) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(D::Item) -> R + Sync + Send,
    {
        map_on_threads(n, progress, self.take()?.into_par_iter(), f)
    }

    fn par_reduce_threads<M, F, O>(&self, n: usize, progress: bool, f: F, identity: M, op: O) -> Result<M>
    where
        M: Clone + Send + Sync,
        F: Fn(D::Item) -> M + Sync + Send,
        O: Fn(M, M) -> M + Sync + Send,
    {
        reduce_on_threads(n, progress, self.take()?.into_par_iter(), f, identity, op)
    }
}

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
        map_on_threads(n, progress, items.into_par_iter(), f)
    }

    fn par_reduce_threads<M, F, O>(&self, n: usize, progress: bool, f: F, identity: M, op: O) -> Result<M>
    where
        M: Clone + Send + Sync,
        F: Fn(D::Item) -> M + Sync + Send,
        O: Fn(M, M) -> M + Sync + Send,
    {
        let items: Vec<D::Item> = self.take()?.into_iter().collect();
        reduce_on_threads(n, progress, items.into_par_iter(), f, identity, op)
    }
}
