//! The runtime half of `par_map!`: what the macro's expansion calls.
//!
//! - [`procs`] runs a `#[process_fn]` (or a lifted closure, see [`Lifted`])
//!   over the data in a process [`Pool`];
//! - [`ThreadData`] runs thread mode: with the `rayon` feature (the
//!   default), it picks by autoref specialization rayon's own parallel
//!   iterator when the data has one, or collects the data first when not
//!   (`rayon.rs`); without it, it collects the data and runs it on scoped
//!   threads of the standard library (`scoped.rs`).

#[cfg(feature = "rayon")]
mod rayon;
// Always built, so that its unit tests run in every build.
#[cfg_attr(feature = "rayon", allow(dead_code))]
mod scoped;

#[cfg(feature = "rayon")]
pub use self::rayon::ViaRayon;
#[cfg(not(feature = "rayon"))]
pub use self::scoped::ViaRayon;

use std::cell::Cell;
use std::marker::PhantomData;
use std::time::Duration;

use crate::__private::Portable;
use crate::entry::{EntryDesc, ProcessFn, ProcessFnCore};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::process::StartMethod;
use crate::progress::Progress;

/// The options of a process-mode `par_map!`.
#[derive(Debug, Clone, Copy)]
pub struct ProcOptions<'p> {
    /// `procs = n`: workers of a pool made for this call.
    pub procs: Option<usize>,
    /// `chunksize = n`.
    pub chunksize: Option<usize>,
    /// `ordered = false` yields completion order.
    pub ordered: bool,
    /// `start = fork | forkserver | spawn`.
    pub start: Option<StartMethod>,
    /// `pool = &pool`: reuse a pool instead of making one.
    pub pool: Option<&'p Pool>,
    /// `timeout = duration`: for the whole call.
    pub timeout: Option<Duration>,
    /// `progress = true`: a progress bar on stderr, and a summary line.
    pub progress: bool,
}

impl Default for ProcOptions<'_> {
    fn default() -> Self {
        ProcOptions {
            procs: None,
            chunksize: None,
            ordered: true,
            start: None,
            pool: None,
            timeout: None,
            progress: false,
        }
    }
}

/// Runs `f` over `data` in worker processes; results in input order (or
/// completion order with `ordered = false`). The first failure — by index
/// when ordered — is the error, returned once every item has finished.
pub fn procs<F, A, I>(f: F, data: I, opts: ProcOptions<'_>) -> Result<Vec<F::Output>>
where
    F: ProcessFn<Args = (A,)>,
    I: IntoIterator<Item = A>,
{
    procs_of_tuples(f, Items::new(data.into_iter().map(|a| (a,))), opts)
}

fn procs_of_tuples<F, I>(f: F, items: Items<I>, opts: ProcOptions<'_>) -> Result<Vec<F::Output>>
where
    F: ProcessFn,
    I: Iterator<Item = F::Args>,
{
    let len = items.len;
    let owned;
    let pool = match opts.pool {
        Some(pool) => pool,
        None => {
            let procs = opts.procs.unwrap_or_else(crate::cpu_count).max(1);
            if len == 0 {
                return Ok(Vec::new());
            }
            owned = Pool::builder()
                .processes(procs.min(len))
                .start_method(opts.start.unwrap_or_default())
                .build()?;
            &owned
        }
    };
    let give_up = |e: Error| {
        if opts.pool.is_none() && matches!(e, Error::Timeout(_)) {
            pool.terminate();
        }
        e
    };
    // In input order without a progress bar: the pool's own map, which
    // decodes whole chunks (no per-item hand-off), sized as `map` is.
    if opts.ordered && !opts.progress {
        let pending = match opts.chunksize {
            Some(chunksize) => pool.map_async_chunked(f, items, chunksize)?,
            None => pool.map_async_probed(f, items)?,
        };
        return match opts.timeout {
            None => pending.get(),
            Some(t) => pending.get_timeout(t).map_err(give_up),
        };
    }
    let chunksize = opts
        .chunksize
        .unwrap_or_else(|| pool.default_chunksize_for(f.name(), len));
    let deadline = opts.timeout.and_then(crate::deadline::after);
    let bar = opts.progress.then(|| Progress::stderr(Some(len)));
    let mut results = pool.map_stream(f, items, chunksize, opts.ordered);
    let mut out = Vec::with_capacity(len);
    let mut first_error: Option<Error> = None;
    loop {
        let Some(next) = results.next_before(deadline) else {
            if let Some(bar) = &bar {
                bar.finish(Some("timed out"));
            }
            drop(results);
            return Err(give_up(Error::Timeout(opts.timeout.unwrap_or_default())));
        };
        let Some(item) = next else { break };
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        match item {
            Ok(v) => out.push(v),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish(None);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Folds one chunk in a worker: `identity`, then `op(partial, f(item))`
/// for every item. What a `par_reduce!` worker runs for each chunk.
///
/// # Examples
///
/// ```
/// let sum = multiproc::__private::fold_chunk(vec![1u64, 2, 3], &0, |x| x * 10, |a, b| a + b);
/// assert_eq!(sum, 60);
/// ```
pub fn fold_chunk<A, M, F, O>(chunk: Vec<A>, identity: &M, f: F, op: O) -> M
where
    M: Clone,
    F: Fn(A) -> M,
    O: Fn(M, M) -> M,
{
    chunk
        .into_iter()
        .fold(identity.clone(), |partial, item| op(partial, f(item)))
}

/// Runs a `par_reduce!` in worker processes: the data is cut into chunks
/// (`opts.chunksize` items, or about four per worker), `f` — an entry that
/// folds a whole chunk — runs on each in a worker, and only the partial
/// results come back, to be combined here with `op` in chunk order.
pub fn reduce_procs<F, A, M, O, I>(f: F, data: I, identity: M, op: O, opts: ProcOptions<'_>) -> Result<M>
where
    F: ProcessFn<Args = (Vec<A>,), Output = M>,
    I: IntoIterator<Item = A>,
    O: Fn(M, M) -> M,
{
    let items = Items::new(data.into_iter());
    let len = items.len;
    if len == 0 {
        return Ok(identity);
    }
    let workers = opts
        .pool
        .map(Pool::processes)
        .or(opts.procs)
        .unwrap_or_else(crate::cpu_count)
        .max(1);
    let size = opts.chunksize.unwrap_or_else(|| len.div_ceil(4 * workers)).max(1);
    let chunks = Chunked { items, size, left: len };
    let partials = procs_of_tuples(
        f,
        Items::new(chunks),
        ProcOptions {
            chunksize: Some(1),
            ordered: true,
            ..opts
        },
    )?;
    Ok(partials.into_iter().reduce(op).unwrap_or(identity))
}

/// The items cut into `Vec`s of `size` (the last one shorter), of known
/// count.
struct Chunked<I: Iterator> {
    items: Items<I>,
    size: usize,
    left: usize,
}

impl<I: Iterator> Iterator for Chunked<I> {
    type Item = (Vec<I::Item>,);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let take = self.size.min(self.left);
        self.left -= take;
        let chunk: Vec<I::Item> = self.items.by_ref().take(take).collect();
        Some((chunk,))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.left.div_ceil(self.size);
        (n, Some(n))
    }
}

/// The data as an iterator of known length: streamed when the iterator
/// knows its length exactly, collected first when not.
struct Items<I: Iterator> {
    inner: ItemsInner<I>,
    len: usize,
}

enum ItemsInner<I: Iterator> {
    Streamed(I),
    Collected(std::vec::IntoIter<I::Item>),
}

impl<I: Iterator> Items<I> {
    fn new(iter: I) -> Self {
        match iter.size_hint() {
            (low, Some(high)) if low == high => Items {
                inner: ItemsInner::Streamed(iter),
                len: low,
            },
            _ => {
                let all: Vec<I::Item> = iter.collect();
                Items {
                    len: all.len(),
                    inner: ItemsInner::Collected(all.into_iter()),
                }
            }
        }
    }
}

impl<I: Iterator> Iterator for Items<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        match &mut self.inner {
            ItemsInner::Streamed(it) => it.next(),
            ItemsInner::Collected(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

/// A non-capturing closure lifted into an entry by `par_map!`: the handle
/// the parent uses. The registry entry is built from the same closure by
/// [`EntryDesc::lifted`], so a child of any start method can run it.
pub struct Lifted<C, A, R> {
    name: &'static str,
    f: C,
    _types: PhantomData<fn(A) -> R>,
}

impl<C: Copy, A, R> Clone for Lifted<C, A, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Copy, A, R> Copy for Lifted<C, A, R> {}

impl<C, A, R> std::fmt::Debug for Lifted<C, A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Lifted").field(&self.name).finish()
    }
}

impl<C, A, R> Lifted<C, A, R>
where
    C: Fn(A) -> R + Copy + Send + Sync + 'static,
    A: Portable,
    R: Portable,
{
    /// The handle for closure `f` registered as `name`.
    pub const fn new(name: &'static str, f: C) -> Self {
        Lifted {
            name,
            f,
            _types: PhantomData,
        }
    }
}

/// The child's side only needs to call: the name is never asked for there.
impl<C: Copy, A, R> Default for Lifted<C, A, R> {
    fn default() -> Self {
        Lifted {
            name: "",
            f: crate::sys::conjure_zst::<C>(),
            _types: PhantomData,
        }
    }
}

impl<C, A, R> ProcessFnCore for Lifted<C, A, R>
where
    C: Fn(A) -> R + Copy + Send + Sync + 'static,
    A: 'static,
    R: 'static,
{
    type Args = (A,);
    type Output = R;

    fn name(&self) -> &'static str {
        self.name
    }

    fn call(&self, (a,): (A,)) -> R {
        (self.f)(a)
    }
}

impl EntryDesc {
    /// The registry entry of a closure that `par_map!` lifted.
    pub const fn lifted<C, A, R>(name: &'static str, file: &'static str, line: u32, f: C) -> Self
    where
        C: Fn(A) -> R + Copy + Send + Sync + 'static,
        A: Portable,
        R: Portable,
    {
        let _ = f;
        EntryDesc::new::<Lifted<C, A, R>>(name, file, line)
    }
}

/// The data of a thread-mode `par_map!`, taken once by whichever of
/// [`ViaRayon`] or [`ViaIter`] method resolution picks.
pub struct ThreadData<D>(Cell<Option<D>>);

impl<D> std::fmt::Debug for ThreadData<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadData")
    }
}

impl<D> ThreadData<D> {
    /// Wraps the data.
    pub fn new(data: D) -> Self {
        ThreadData(Cell::new(Some(data)))
    }

    fn take(&self) -> Result<D> {
        self.0.take().ok_or(Error::Usage("par_map! data taken twice".into()))
    }
}

/// Thread mode for any other `IntoIterator`: collected first, then split.
pub trait ViaIter<D: IntoIterator> {
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

/// Ends a thread-mode progress bar: a run that failed was stopped by a
/// panic (thread mode's only failure once the data is taken).
fn finish_threads<R>(bar: &Progress, out: &Result<R>) {
    bar.finish(out.as_ref().err().map(|_| "a task panicked"));
}
