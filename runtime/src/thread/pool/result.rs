//! [`AsyncResult`]: the result of an asynchronous thread-pool call, and
//! how a job's chunks gather into it.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use std::sync::Mutex;

use std::time::Duration;

use super::*;

use crate::error::Result;
use crate::executor::Future;

use crate::pool::Callbacks;

/// Completes `future` with `result`, after the callback it calls for (a
/// panicking one contained, as the task's own panic is).
pub(super) fn finish_with<R>(future: &Future<R>, callbacks: Callbacks<R>, result: Result<R>) {
    if !callbacks.is_empty() {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| callbacks.run(&result)));
    }
    future.finish(result);
}

/// What a job's last chunk hands on: the values, or the first failure.
type Finish<R> = Box<dyn FnOnce(Result<Vec<R>>) + Send>;

/// Gathers the chunks of one job; the last one calls `finish`.
pub(super) struct Gather<R> {
    pub(super) slots: Mutex<(Vec<Option<Chunk<R>>>, usize)>,
    pub(super) chunksize: usize,
    pub(super) finish: Mutex<Option<Finish<R>>>,
}

impl<R> Gather<R> {
    pub(super) fn complete(&self, index: usize, chunk: Chunk<R>) {
        let chunks = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let (chunks, missing) = &mut *slots;
            match chunks.get_mut(index) {
                Some(slot @ None) => {
                    *slot = Some(chunk);
                    *missing -= 1;
                }
                _ => return,
            }
            if *missing > 0 {
                return;
            }
            std::mem::take(chunks)
        };
        let mut values = Vec::with_capacity(chunks.len() * self.chunksize);
        for (i, chunk) in chunks.into_iter().flatten().enumerate() {
            if let Some((k, e)) = chunk.failures.into_iter().next() {
                return self.call_finish(Err(item_failed(i * self.chunksize + k, e)));
            }
            values.extend(chunk.values);
        }
        self.call_finish(Ok(values));
    }

    pub(super) fn call_finish(&self, result: Result<Vec<R>>) {
        if let Some(finish) = self.finish.lock().unwrap_or_else(|p| p.into_inner()).take() {
            finish(result);
        }
    }
}

/// The result of an asynchronous thread-pool call — the twin of the
/// process pool's [`AsyncResult`](crate::AsyncResult).
///
/// [`get`](AsyncResult::get) can be called any number of times; it returns
/// a clone of the value.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let pool = multiproc::thread::Pool::new(1)?;
/// let r = pool.apply_async(|| "done".to_string(), ())?;
/// r.wait();
/// assert!(r.ready());
/// assert_eq!(r.successful(), Some(true));
/// assert_eq!(r.get()?, "done");
/// # Ok(())
/// # }
/// ```
pub struct AsyncResult<R> {
    pub(super) future: Future<R>,
}

impl<R> fmt::Debug for AsyncResult<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult").field("ready", &self.ready()).finish()
    }
}

impl<R> AsyncResult<R> {
    /// Whether the result has arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|| 1, ()).unwrap();
    /// r.wait();
    /// assert!(r.ready());
    /// ```
    pub fn ready(&self) -> bool {
        self.future.done()
    }

    /// Waits for the result.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|| 1, ()).unwrap();
    /// r.wait();
    /// assert!(r.ready());
    /// ```
    pub fn wait(&self) {
        self.future.wait_until(None);
    }

    /// Waits for the result at most `timeout`; whether it arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|| 1, ()).unwrap();
    /// assert!(r.wait_timeout(std::time::Duration::from_secs(60)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.future.wait_until(crate::deadline::after(timeout))
    }

    /// `None` until ready; then whether the call succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|| -> u8 { panic!("no") }, ()).unwrap();
    /// r.wait();
    /// assert_eq!(r.successful(), Some(false));
    /// ```
    pub fn successful(&self) -> Option<bool> {
        self.ready().then(|| !self.future.failed())
    }

    /// Waits for the result and returns it, consuming the handle: unlike
    /// [`get`](AsyncResult::get), no `R: Clone` is needed. The process
    /// pool's [`AsyncResult`](crate::pool::AsyncResult) has the same
    /// method, so code written for one twin runs on the other.
    ///
    /// # Errors
    /// As [`get`](AsyncResult::get).
    ///
    /// # Examples
    ///
    /// ```
    /// struct NotClone(u8);
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|| NotClone(5), ()).unwrap();
    /// assert_eq!(r.into_result().unwrap().0, 5);
    /// ```
    pub fn into_result(self) -> Result<R> {
        self.future.wait_until(None);
        self.future.take_result()
    }
}

impl<R: Clone> AsyncResult<R> {
    /// Waits for the result and returns (a clone of) it; as often as asked,
    /// as in Python. For a result that is not `Clone`, use
    /// [`into_result`](AsyncResult::into_result).
    ///
    /// # Errors
    /// The task's panic ([`Error::Panicked`]; for `map_async`,
    /// [`Error::ItemFailed`]), or [`Error::PoolTerminated`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// assert_eq!(pool.apply_async(|| 5, ()).unwrap().get().unwrap(), 5);
    /// ```
    pub fn get(&self) -> Result<R> {
        self.future.result()
    }

    /// Like [`get`](AsyncResult::get), giving up after `timeout` with
    /// [`Error::Timeout`].
    ///
    /// # Errors
    /// [`Error::Timeout`]; else as [`get`](AsyncResult::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = multiproc::thread::Pool::new(1).unwrap();
    /// let r = pool.apply_async(|| 5, ()).unwrap();
    /// assert_eq!(r.get_timeout(std::time::Duration::from_secs(60)).unwrap(), 5);
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<R> {
        self.future.result_timeout(timeout)
    }
}

/// An `AsyncResult` can be `.await`ed, as the process pool's can: the
/// task sleeps until the result is in, then takes it (no `Clone` needed,
/// as with [`into_result`](AsyncResult::into_result)).
///
/// # Examples
///
/// ```
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
/// let pool = multiproc::thread::Pool::new(2).unwrap();
/// let r = pool.apply_async(|| String::from("done"), ()).unwrap();
/// assert_eq!(block_on(async { r.await }).unwrap(), "done");
/// ```
impl<R> std::future::Future for AsyncResult<R> {
    type Output = Result<R>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<R>> {
        if self.future.poll_done(cx) {
            std::task::Poll::Ready(self.future.take_result())
        } else {
            std::task::Poll::Pending
        }
    }
}
