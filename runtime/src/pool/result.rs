//! Where results land: [`Sink`]s that the pool's I/O thread fills, and the
//! [`AsyncResult`] handle that waits on one.
//!
//! Results stay encoded until the caller asks for them, so the I/O thread
//! only routes bytes; decoding happens in the thread that calls `get`
//! (callbacks are the exception: they need the value, so they decode on the
//! I/O thread, before the result is marked ready, as in Python).

use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::bell::Bell;
use crate::chunk::{decode_item, decode_until_failure};
use crate::error::{Error, Result};

/// A chunk's result as the I/O thread delivers it: the worker's pid and
/// the chunk's encoded outcome, or why the whole chunk failed.
pub(crate) type ChunkResult = (i32, Result<Outcome>);

/// A chunk's encoded outcome: the tail of the buffer it arrived in (the
/// reply frame, kept whole rather than copied) or a buffer of its own.
#[derive(Debug)]
pub(crate) struct Outcome {
    buf: Vec<u8>,
    start: usize,
}

impl Outcome {
    /// The last `len` bytes of `buf` (all of it if shorter).
    pub(crate) fn tail(buf: Vec<u8>, len: usize) -> Self {
        Outcome {
            start: buf.len().saturating_sub(len),
            buf,
        }
    }
}

impl std::ops::Deref for Outcome {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Receives the results of one job's chunks.
pub(crate) trait Sink: Send + Sync {
    /// Chunk `index` is about to go to a worker: `false` drops it unsent
    /// (its task was cancelled). A chunk requeued after its worker died
    /// is claimed again.
    fn claim(&self, _index: usize) -> bool {
        true
    }

    /// Chunk `index` finished (or failed).
    fn complete(&self, index: usize, result: ChunkResult);

    /// Whether chunk `index` should be stopped while it runs (its worker
    /// killed): an executor future's `cancel_running`.
    fn stop_requested(&self, _index: usize) -> bool {
        false
    }
}

pub(crate) type Callback = Box<dyn FnOnce(&Collector) + Send>;

/// Collects every chunk of one job; ready when the last one arrives.
pub(crate) struct Collector {
    state: Mutex<CollectorState>,
    ready: Bell,
}

/// Where a job's items sit among its chunks: the first `head` chunks hold
/// one item each (a map's probe), the others `chunksize` (the last one
/// maybe fewer).
#[derive(Debug, Clone, Copy)]
struct Layout {
    head: usize,
    chunksize: usize,
}

impl Layout {
    /// The index of chunk `i`'s first item.
    fn start(&self, i: usize) -> usize {
        match i.checked_sub(self.head) {
            None => i,
            Some(k) => self.head + k * self.chunksize,
        }
    }

    /// The most items chunk `i` holds.
    fn max_items(&self, i: usize) -> usize {
        if i < self.head {
            1
        } else {
            self.chunksize
        }
    }
}

struct CollectorState {
    chunks: Vec<Option<Arc<ChunkResult>>>,
    layout: Layout,
    missing: usize,
    /// Whether every chunk is known (a probing map adds its later chunks
    /// once it has timed the first).
    sealed: bool,
    done: bool,
    callback: Option<Callback>,
    /// Tasks that `.await` the result.
    wakers: Vec<Waker>,
}

impl Collector {
    pub(crate) fn new(chunks: usize, chunksize: usize, callback: Option<Callback>) -> Arc<Self> {
        // A job of no chunks is complete at once: its callback runs here
        // (nobody holds its result yet), as the thread pool's does.
        let (callback, now) = if chunks == 0 {
            (None, callback)
        } else {
            (callback, None)
        };
        let collector = Collector::with(chunks, Layout { head: 0, chunksize }, true, callback);
        if let Some(callback) = now {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| callback(&collector)));
        }
        collector
    }

    /// A map's collector that starts with `head` one-item chunks, its
    /// probe; the rest follow with [`seal`](Collector::seal). `head` must
    /// not be 0.
    pub(crate) fn probing(head: usize, callback: Option<Callback>) -> Arc<Self> {
        Collector::with(head, Layout { head, chunksize: 1 }, false, callback)
    }

    /// A collector waiting for `chunks` chunks laid out as `layout`; done
    /// at once when it is `sealed` (every chunk known) and there are none.
    fn with(chunks: usize, layout: Layout, sealed: bool, callback: Option<Callback>) -> Arc<Self> {
        Arc::new(Collector {
            state: Mutex::new(CollectorState {
                chunks: (0..chunks).map(|_| None).collect(),
                layout,
                missing: chunks,
                sealed,
                done: sealed && chunks == 0,
                callback,
                wakers: Vec::new(),
            }),
            ready: Bell::default(),
        })
    }

    /// Waits until a chunk of the probe arrived (or every one did).
    pub(crate) fn wait_first(&self) {
        let mut state = self.lock();
        while state.missing == state.chunks.len() && !state.done {
            state = self.ready.wait(state, None);
        }
    }

    /// The probe is over: `chunks` more follow, of `chunksize` items each
    /// (the last maybe fewer). Completes the job if nothing is missing.
    pub(crate) fn seal(&self, chunksize: usize, chunks: usize) {
        let state = {
            let mut state = self.lock();
            state.layout.chunksize = chunksize.max(1);
            state.chunks.extend((0..chunks).map(|_| None));
            state.missing += chunks;
            state.sealed = true;
            state
        };
        self.settle(state);
    }

    /// The number of chunks of each size: `(one-item probe chunks, the
    /// others, their size)`.
    #[cfg(test)]
    pub(crate) fn shape(&self) -> (usize, usize, usize) {
        let state = self.lock();
        let layout = state.layout;
        (layout.head, state.chunks.len() - layout.head, layout.chunksize)
    }

    fn lock(&self) -> MutexGuard<'_, CollectorState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until every chunk arrived; `false` on timeout.
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.lock();
        while !state.done {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            state = self.ready.wait(state, deadline);
        }
        true
    }

    /// Whether every chunk arrived; if not, `cx`'s task is woken when
    /// they have.
    fn poll_done(&self, cx: &Context<'_>) -> bool {
        let mut state = self.lock();
        if !state.done {
            state.wakers.push(cx.waker().clone());
        }
        state.done
    }

    /// Waits for chunk `i` (which must exist).
    fn chunk(&self, i: usize) -> Option<Arc<ChunkResult>> {
        let mut state = self.lock();
        loop {
            match state.chunks.get(i) {
                None => return None,
                Some(Some(chunk)) => return Some(chunk.clone()),
                Some(None) => state = self.ready.wait(state, None),
            }
        }
    }

    /// Decodes every item, in input order, each chunk as soon as it has
    /// arrived (so decoding overlaps the work still running); the first
    /// failure (by index) is the error, as `ItemFailed`.
    pub(crate) fn values<T: DeserializeOwned + 'static>(&self) -> Result<Vec<T>> {
        // A probing map's later chunks are known once it is sealed: wait
        // for that (its probe is timed in the caller's own thread, so this
        // is a short wait) before counting them.
        let (chunks, layout) = {
            let mut state = self.lock();
            while !state.sealed {
                state = self.ready.wait(state, None);
            }
            (state.chunks.len(), state.layout)
        };
        let mut out = Vec::with_capacity(layout.start(chunks));
        for i in 0..chunks {
            let chunk = self.chunk(i).ok_or(Error::Usage("a chunk vanished".into()))?;
            let (pid, result) = &*chunk;
            let start = layout.start(i);
            let item_failed = |k: usize, e: Error| Error::ItemFailed {
                index: start + k,
                source: Box::new(e),
            };
            let bytes = result.as_ref().map_err(|e| item_failed(0, e.clone()))?;
            if let Some((k, e)) = decode_until_failure(bytes, layout.max_items(i), &mut out, *pid)? {
                return Err(item_failed(k, e));
            }
        }
        Ok(out)
    }
}

impl Collector {
    /// Rings whoever waits; when every chunk is in, runs the callback and
    /// marks the job done.
    fn settle(&self, state: MutexGuard<'_, CollectorState>) {
        let callback = {
            let mut state = state;
            if state.missing > 0 || !state.sealed || state.done {
                // Wakes a `get` that decodes chunk by chunk.
                self.ready.ring_all(state);
                return;
            }
            state.callback.take()
        };
        if let Some(callback) = callback {
            // A panicking callback must not take the pool's I/O thread down.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| callback(self)));
        }
        let mut state = self.lock();
        state.done = true;
        let wakers = std::mem::take(&mut state.wakers);
        self.ready.ring_all(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Sink for Collector {
    fn complete(&self, index: usize, result: ChunkResult) {
        let mut state = self.lock();
        if let Some(slot) = state.chunks.get_mut(index) {
            if slot.is_none() {
                *slot = Some(Arc::new(result));
                state.missing -= 1;
            }
        }
        self.settle(state);
    }
}

/// Decodes a one-item job's value, or its error (`apply_async`).
pub(crate) fn decode_one<R: DeserializeOwned + 'static>(c: &Collector) -> Result<R> {
    let chunk = c
        .chunk(0)
        .ok_or(Error::Usage("a single-item job without its chunk".into()))?;
    let (pid, result) = &*chunk;
    decode_item(result.as_ref().map_err(Clone::clone)?, *pid)
}

/// Decodes every item of a job (`map_async`, `starmap_async`).
pub(crate) fn decode_all<T: DeserializeOwned + 'static>(c: &Collector) -> Result<Vec<T>> {
    c.values::<T>()
}

/// The result of an asynchronous pool call, available once every worker
/// involved has answered — the guide's `AsyncResult`.
///
/// `get` can be called any number of times: the result is kept encoded and
/// decoded on each call.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use std::time::Duration;
///
/// #[process_fn]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = Pool::new(2)?;
/// let r = pool.apply_async(square, (7,))?;
/// r.wait();
/// assert!(r.ready());
/// assert_eq!(r.successful(), Some(true));
/// assert_eq!(r.get_timeout(Duration::from_secs(60))?, 49);
/// assert_eq!(r.get()?, 49); // again
/// # Ok(())
/// # }
/// ```
pub struct AsyncResult<R> {
    collector: Arc<Collector>,
    decode: fn(&Collector) -> Result<R>,
}

impl<R> std::fmt::Debug for AsyncResult<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult").field("ready", &self.ready()).finish()
    }
}

impl<R> AsyncResult<R> {
    pub(crate) fn new(collector: Arc<Collector>, decode: fn(&Collector) -> Result<R>) -> Self {
        AsyncResult { collector, decode }
    }

    /// Whether the call has completed (successfully or not).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn one() -> u8 { 1 }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// let r = pool.apply_async(one, ())?;
    /// r.wait();
    /// assert!(r.ready());
    /// # Ok(())
    /// # }
    /// ```
    pub fn ready(&self) -> bool {
        self.collector.lock().done
    }

    /// Waits until the call completes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn one() -> u8 { 1 }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// let r = pool.apply_async(one, ())?;
    /// r.wait();
    /// assert!(r.ready());
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(&self) {
        self.collector.wait_until(None);
    }

    /// Waits at most `timeout`; returns whether the call completed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn one() -> u8 { 1 }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// let r = pool.apply_async(one, ())?;
    /// assert!(r.wait_timeout(std::time::Duration::from_secs(60)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.collector.wait_until(crate::deadline::after(timeout))
    }
}

impl<R> AsyncResult<R> {
    /// Waits for the result and returns it.
    ///
    /// # Errors
    /// The task's own failure: [`Error::Panicked`], [`Error::Signaled`] when
    /// its worker was killed, [`Error::TaskTimeout`], [`Error::ResultLost`],
    /// [`Error::PoolTerminated`]; for `map_async`, the first failed item as
    /// [`Error::ItemFailed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// #[process_fn]
    /// fn fail(x: u8) -> u8 {
    ///     panic!("no {x}")
    /// }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// let err = pool.apply_async(fail, (3,))?.get().unwrap_err();
    /// assert!(matches!(err, Error::Panicked { ref message, .. } if message == "no 3"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self) -> Result<R> {
        let value = (self.decode)(&self.collector);
        // Decoding returns at a failure; the result is ready (callbacks
        // run, every item finished) only once everything has arrived.
        self.collector.wait_until(None);
        value
    }

    /// Like [`get`](AsyncResult::get), but gives up after `timeout` with
    /// [`Error::Timeout`]; the task keeps running.
    ///
    /// # Errors
    /// [`Error::Timeout`], or any error of [`get`](AsyncResult::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn nap() { std::thread::sleep(std::time::Duration::from_secs(60)) }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// let r = pool.apply_async(nap, ())?;
    /// let d = std::time::Duration::from_millis(10);
    /// assert!(matches!(r.get_timeout(d), Err(Error::Timeout(_))));
    /// pool.terminate();
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<R> {
        if !self.collector.wait_until(crate::deadline::after(timeout)) {
            return Err(Error::Timeout(timeout));
        }
        (self.decode)(&self.collector)
    }

    /// Waits for the result and returns it, consuming the handle — the
    /// same as [`get`](AsyncResult::get) here; it exists so that code
    /// written for the [thread twin](crate::thread::AsyncResult), whose
    /// `get` needs `R: Clone`, runs on both.
    ///
    /// # Errors
    /// As [`get`](AsyncResult::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn one() -> u8 { 1 }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// assert_eq!(pool.apply_async(one, ())?.into_result()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_result(self) -> Result<R> {
        self.get()
    }

    /// `Some(true)` when the call completed without error, `Some(false)`
    /// when it failed, `None` while it runs (Python raises there).
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn one() -> u8 { 1 }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(1)?;
    /// let r = pool.apply_async(one, ())?;
    /// r.wait();
    /// assert_eq!(r.successful(), Some(true));
    /// # Ok(())
    /// # }
    /// ```
    pub fn successful(&self) -> Option<bool> {
        self.ready().then(|| (self.decode)(&self.collector).is_ok())
    }
}

/// An `AsyncResult` can be `.await`ed: the task sleeps (no thread waits)
/// until every worker involved has answered, then gets what
/// [`get`](AsyncResult::get) gives. Any executor runs it.
///
/// # Examples
///
/// ```
/// # use multiproc::prelude::*;
/// # #[process_fn] fn square(x: u64) -> u64 { x * x }
/// # fn block_on<F: std::future::Future>(fut: F) -> F::Output {
/// #     struct Unpark(std::thread::Thread);
/// #     impl std::task::Wake for Unpark {
/// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
/// #     }
/// #     let waker = std::sync::Arc::new(Unpark(std::thread::current())).into();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut fut = std::pin::pin!(fut);
/// #     loop {
/// #         match fut.as_mut().poll(&mut cx) {
/// #             std::task::Poll::Ready(v) => return v,
/// #             std::task::Poll::Pending => std::thread::park(),
/// #         }
/// #     }
/// # }
/// # fn main() -> multiproc::Result<()> {
/// let pool = Pool::new(2)?;
/// let squares = pool.map_async(square, 0..4u64)?;
/// assert_eq!(block_on(async { squares.await })?, vec![0, 1, 4, 9]);
/// # Ok(())
/// # }
/// ```
impl<R> std::future::Future for AsyncResult<R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        if self.collector.poll_done(cx) {
            Poll::Ready((self.decode)(&self.collector))
        } else {
            Poll::Pending
        }
    }
}
