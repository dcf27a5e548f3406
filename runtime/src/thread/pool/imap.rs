//! [`IMap`]: the lazy iterator of `imap` and `imap_unordered`.

use std::collections::VecDeque;
use std::fmt;

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::*;
use crate::error::{Error, Result};
use crate::thread::Callable;

use crate::pool::window::Window;

/// The lazy iterator of [`Pool::imap`] and [`Pool::imap_unordered`]:
/// each item's result, a failure as [`Error::ItemFailed`] in its place.
///
/// # Examples
///
/// ```
/// let pool = multiproc::thread::Pool::new(2).unwrap();
/// let v: Vec<_> = pool.imap(|x: u8| 100 / x, [1, 0, 4]).collect();
/// assert_eq!(*v[0].as_ref().unwrap(), 100);
/// assert!(matches!(v[1], Err(multiproc::Error::ItemFailed { index: 1, .. })));
/// ```
pub struct IMap<'p, T, R, I> {
    pool: &'p Pool,
    f: Arc<dyn Fn(T) -> R + Send + Sync>,
    input: I,
    exhausted: bool,
    chunksize: usize,
    window: Window<Chunk<R>>,
    tx: Sender<(usize, Chunk<R>)>,
    rx: Receiver<(usize, Chunk<R>)>,
    ready: VecDeque<Result<R>>,
    failed: Option<Error>,
}

impl<T, R, I> fmt::Debug for IMap<'_, T, R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMap")
            .field("in_flight", &self.window.in_flight())
            .field("ordered", &self.window.ordered())
            .finish_non_exhaustive()
    }
}

impl<'p, T, R, I> IMap<'p, T, R, I>
where
    T: Send + 'static,
    R: Send + 'static,
    I: Iterator<Item = T>,
{
    pub(super) fn new<M, F: Callable<(T,), M, Output = R>>(
        pool: &'p Pool,
        f: F,
        input: I,
        chunksize: usize,
        ordered: bool,
    ) -> Self {
        // A zero chunksize: the one item is the error saying so.
        let refused = (chunksize == 0).then(crate::error::zero_chunksize);
        let chunksize = chunksize.max(1);
        let (tx, rx) = crossbeam_channel::unbounded();
        IMap {
            pool,
            f: Arc::new(move |t| f.call_with((t,))),
            input,
            exhausted: refused.is_some(),
            chunksize,
            // Enough to keep every thread busy, bounded so memory stays flat.
            window: Window::new((4 * pool.processes).max(1024 / chunksize), ordered),
            tx,
            rx,
            ready: refused.map(Err).into_iter().collect(),
            failed: None,
        }
    }

    fn top_up(&mut self) {
        while !self.exhausted && self.window.has_room() && self.failed.is_none() {
            let chunk: Vec<T> = self.input.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                self.exhausted = true;
                break;
            }
            let (index, tx) = (self.window.next_index(), self.tx.clone());
            let sent = self.pool.send_chunk(&self.f, chunk, move |results| {
                let _ = tx.send((index, results));
            });
            match sent {
                Ok(()) => self.window.sent(),
                Err(e) => self.failed = Some(e),
            }
        }
    }
}

impl<T, R, I> Iterator for IMap<'_, T, R, I>
where
    T: Send + 'static,
    R: Send + 'static,
    I: Iterator<Item = T>,
{
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            self.top_up();
            if let Some((index, chunk)) = self.window.take_turn() {
                self.ready.extend(chunk.into_results(index * self.chunksize));
                continue;
            }
            if self.window.in_flight() == 0 {
                return self.failed.take().map(Err);
            }
            // This iterator holds a sender: the channel never disconnects.
            let Ok((index, chunk)) = self.rx.recv() else {
                return Some(Err(Error::PoolTerminated));
            };
            if let Some((index, chunk)) = self.window.arrive(index, chunk) {
                self.ready.extend(chunk.into_results(index * self.chunksize));
            }
        }
    }
}
