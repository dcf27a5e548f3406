//! [`IMap`]: the lazy iterator of `imap` and `imap_unordered`, also
//! awaitable item by item.

use std::collections::{BTreeMap, VecDeque};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::dispatch::Job;
use super::window::Window;
use super::{ChunkResult, Pool, Sink};
use crate::codec;
use crate::entry::ProcessFn;
use crate::error::{Error, Result};

/// Receives imap chunks as they complete, and wakes the task of an
/// async consumer waiting for one.
struct ChannelSink {
    tx: Sender<(usize, ChunkResult)>,
    waker: Mutex<Option<Waker>>,
}

impl Sink for ChannelSink {
    fn complete(&self, index: usize, result: ChunkResult) {
        let _ = self.tx.send((index, result));
        // After the send: a consumer that registers its waker later looks
        // at the channel again after registering, and finds the chunk.
        let waker = self.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The lazy iterator of [`Pool::imap`] and [`Pool::imap_unordered`].
///
/// At most a bounded window of chunks is in flight; more input is pulled
/// only as results are taken.
///
/// From async code, [`next_async`](IMap::next_async) waits without
/// blocking the thread (with the `stream` feature, `IMap` is also a
/// `futures_core::Stream`).
///
/// # Examples
///
/// ```
/// # use multiproc::prelude::*;
/// # #[process_fn] fn square(x: u64) -> u64 { x * x }
/// # fn main() -> multiproc::Result<()> {
/// let pool = Pool::new(2)?;
/// let mut it = pool.imap(square, vec![3, 4]);
/// assert_eq!(it.next().unwrap()?, 9);
/// assert_eq!(it.next().unwrap()?, 16);
/// assert!(it.next().is_none());
/// # Ok(())
/// # }
/// ```
pub struct IMap<'p, F: ProcessFn, I> {
    pool: &'p Pool,
    f: F,
    input: I,
    exhausted: bool,
    chunksize: usize,
    window: Window<ChunkResult>,
    tx: Arc<ChannelSink>,
    rx: Receiver<(usize, ChunkResult)>,
    lengths: BTreeMap<usize, usize>,
    ready: VecDeque<Result<F::Output>>,
    failed: Option<Error>,
    _marker: PhantomData<F>,
}

impl<F: ProcessFn, I> std::fmt::Debug for IMap<'_, F, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMap")
            .field("in_flight", &self.window.in_flight())
            .field("ordered", &self.window.ordered())
            .finish_non_exhaustive()
    }
}

impl<'p, F: ProcessFn, I: Iterator<Item = F::Args>> IMap<'p, F, I> {
    /// With `chunks`, at most that many chunks are sent and not yet handed
    /// out (the executors' `map` with a `buffersize`).
    pub(crate) fn bounded(mut self, chunks: Option<usize>) -> Self {
        if let Some(chunks) = chunks {
            self.window.bound(chunks);
        }
        self
    }

    /// Every chunk sent at once, with no window (`par_map!`'s engine).
    pub(super) fn unbounded(mut self) -> Self {
        self.window.unbounded();
        self
    }

    pub(super) fn new(pool: &'p Pool, f: F, input: I, chunksize: usize, ordered: bool) -> Self {
        // A zero chunksize: the one item is the error saying so.
        let refused = (chunksize == 0).then(crate::error::zero_chunksize);
        let chunksize = chunksize.max(1);
        let (tx, rx) = crossbeam_channel::unbounded();
        IMap {
            pool,
            f,
            input,
            exhausted: refused.is_some(),
            chunksize,
            // Enough in flight to keep every worker busy and batches full,
            // bounded so memory stays flat however long the input.
            window: Window::new((4 * pool.processes).max(4096 / chunksize), ordered),
            tx: Arc::new(ChannelSink {
                tx,
                waker: Mutex::new(None),
            }),
            rx,
            lengths: BTreeMap::new(),
            ready: refused.map(Err).into_iter().collect(),
            failed: None,
            _marker: PhantomData,
        }
    }

    fn top_up(&mut self) {
        let mut submitted = false;
        while !self.exhausted && self.window.has_room() && self.failed.is_none() {
            let chunk: Vec<F::Args> = self.input.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                self.exhausted = true;
                break;
            }
            let chunk_len = chunk.len();
            let job = crate::entry::lookup(self.f.name())
                .and_then(|_| Ok((self.f.__captures()?, codec::encode(&chunk)?)))
                .and_then(|(captures, bytes)| {
                    let tx = self.pool.sender()?;
                    tx.send(Job {
                        entry: self.f.name(),
                        chunk: bytes,
                        captures,
                        sink: self.tx.clone(),
                        index: self.window.next_index(),
                        items: chunk_len,
                    })
                    .map_err(|_| Error::PoolTerminated)
                });
            match job {
                Ok(()) => {
                    self.lengths.insert(self.window.next_index(), chunk_len);
                    self.window.sent();
                    submitted = true;
                }
                Err(e) => self.failed = Some(e),
            }
        }
        if submitted {
            self.pool.shared.nudge();
        }
    }

    fn unpack(&mut self, index: usize, (pid, result): ChunkResult) {
        let len = self.lengths.remove(&index).unwrap_or(self.chunksize);
        let start = index * self.chunksize;
        let item_failed = |k: usize, e: Error| Error::ItemFailed {
            index: start + k,
            source: Box::new(e),
        };
        let decoded = result.and_then(|bytes| crate::chunk::decode_results::<F::Output>(&bytes, len, pid));
        match decoded {
            Ok(results) => {
                for (k, r) in results.enumerate() {
                    self.ready.push_back(r.map_err(|e| item_failed(k, e)));
                }
            }
            Err(e) => {
                // The whole chunk failed: one error per item, in place.
                for k in 0..len {
                    self.ready.push_back(Err(item_failed(k, e.clone())));
                }
            }
        }
    }
}

impl<F: ProcessFn, I: Iterator<Item = F::Args>> IMap<'_, F, I> {
    /// The next item if it can be had without waiting for a worker:
    /// `Some(None)` at the end, `None` when a chunk must come first.
    fn next_ready(&mut self) -> Option<Option<Result<F::Output>>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(Some(item));
            }
            self.top_up();
            if let Some((index, chunk)) = self.window.take_turn() {
                self.unpack(index, chunk);
                continue;
            }
            if self.window.in_flight() == 0 {
                return Some(self.failed.take().map(Err));
            }
            match self.rx.try_recv() {
                Ok((index, chunk)) => self.arrive(index, chunk),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => return Some(Some(Err(Error::PoolTerminated))),
            }
        }
    }

    fn arrive(&mut self, index: usize, chunk: ChunkResult) {
        if let Some((index, chunk)) = self.window.arrive(index, chunk) {
            self.unpack(index, chunk);
        }
    }

    /// The next item, waiting until `deadline` at most: `None` on timeout.
    pub(crate) fn next_before(&mut self, deadline: Option<Instant>) -> Option<Option<Result<F::Output>>> {
        loop {
            if let Some(next) = self.next_ready() {
                return Some(next);
            }
            let received = match deadline {
                None => self.rx.recv().map_err(|_| false),
                Some(d) => self.rx.recv_deadline(d).map_err(|e| e.is_timeout()),
            };
            match received {
                Ok((index, chunk)) => self.arrive(index, chunk),
                Err(true) => return None,
                Err(false) => return Some(Some(Err(Error::PoolTerminated))),
            }
        }
    }

    /// The next item, or `Pending` with `cx`'s waker registered: the pool's
    /// I/O thread wakes it when a chunk comes.
    fn poll_next_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<F::Output>>> {
        if let Some(next) = self.next_ready() {
            return Poll::Ready(next);
        }
        *self.tx.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        // A chunk that came between the look and the registration.
        match self.next_ready() {
            Some(next) => Poll::Ready(next),
            None => Poll::Pending,
        }
    }

    /// The next item, as [`Iterator::next`] gives it, for async code: the
    /// wait for a worker does not block the thread, and needs no
    /// particular runtime. Taking more input from the items iterator is
    /// done in the call, as `next` does it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use multiproc::prelude::*;
    /// # #[process_fn] fn square(x: u64) -> u64 { x * x }
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = Pool::new(2)?;
    /// let sum = async {
    ///     let mut squares = pool.imap(square, 1..=3u64);
    ///     let mut sum = 0;
    ///     while let Some(item) = squares.next_async().await {
    ///         sum += item?;
    ///     }
    ///     Ok::<_, multiproc::Error>(sum)
    /// };
    /// # let sum = multiproc_block_on(sum);
    /// assert_eq!(sum?, 14); // with any runtime, e.g. tokio's `block_on`
    /// # Ok(())
    /// # }
    /// # fn multiproc_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl std::task::Wake for Unpark { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
    /// #     let waker = std::sync::Arc::new(Unpark(std::thread::current())).into();
    /// #     let mut cx = std::task::Context::from_waker(&waker);
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
    /// #         std::thread::park();
    /// #     }
    /// # }
    /// ```
    pub async fn next_async(&mut self) -> Option<Result<F::Output>> {
        std::future::poll_fn(|cx| self.poll_next_item(cx)).await
    }
}

// An `IMap` is never pinned in place: nothing in it is projected from a
// pin, so it may move freely whatever its items and input are.
impl<F: ProcessFn, I> Unpin for IMap<'_, F, I> {}

/// With the `stream` feature: the items as a `futures_core::Stream`, as
/// [`next_async`](IMap::next_async) gives them.
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
impl<F: ProcessFn, I: Iterator<Item = F::Args>> futures_core::Stream for IMap<'_, F, I> {
    type Item = Result<F::Output>;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_item(cx)
    }
}

impl<F: ProcessFn, I: Iterator<Item = F::Args>> Iterator for IMap<'_, F, I> {
    type Item = Result<F::Output>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_before(None).flatten()
    }
}
