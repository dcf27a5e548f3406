//! [`Callbacks`]: the guide's optional `callback` and `error_callback` of
//! `apply_async`, `map_async` and `starmap_async`, for both pools.

use std::fmt;

use crate::error::{Error, Result};

type OnSuccess<T> = Box<dyn FnOnce(&T) + Send>;
type OnError = Box<dyn FnOnce(&Error) + Send>;

/// The guide's `callback` and `error_callback`, each optional: what an
/// asynchronous pool call (`apply_async_with`, `map_async_with`,
/// `starmap_async_with`) runs when it completes.
///
/// Exactly one of them runs — [`on_success`](Callbacks::on_success) with the
/// value (for a map, the whole vector of results, as in Python), or
/// [`on_error`](Callbacks::on_error) with the error (for a map, the first
/// failed item) — on the pool's own thread, before the result turns
/// [`ready`](crate::AsyncResult::ready). A callback that panics is
/// contained; it should return quickly, as Python's should. If the call
/// itself is refused (the pool is closed, …), neither runs.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::Callbacks;
/// use std::sync::mpsc;
///
/// #[process_fn]
/// fn halve(x: u32) -> u32 {
///     assert!(x % 2 == 0, "{x} is odd");
///     x / 2
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let pool = Pool::new(2)?;
/// let (tx, rx) = mpsc::channel();
/// let r = pool.map_async_with(halve, [2, 4, 6], Callbacks::new().on_success(move |v: &Vec<u32>| tx.send(v.clone()).unwrap()))?;
/// assert_eq!(r.get()?, [1, 2, 3]);
/// assert_eq!(rx.recv().unwrap(), [1, 2, 3]);
///
/// // Only an error callback: a success runs nothing.
/// let (tx, rx) = mpsc::channel();
/// let r = pool.map_async_with(halve, [2, 3], Callbacks::new().on_error(move |e| tx.send(e.to_string()).unwrap()))?;
/// assert!(r.get().is_err());
/// assert!(rx.recv().unwrap().contains("3 is odd"));
/// # Ok(())
/// # }
/// ```
#[must_use = "callbacks do nothing until given to an `…_async_with` call"]
pub struct Callbacks<T> {
    success: Option<OnSuccess<T>>,
    error: Option<OnError>,
}

impl<T> Callbacks<T> {
    /// No callbacks yet: add them with [`on_success`](Callbacks::on_success)
    /// and [`on_error`](Callbacks::on_error).
    ///
    /// # Examples
    ///
    /// ```
    /// let none = multiproc::Callbacks::<u32>::new();
    /// # drop(none);
    /// ```
    pub fn new() -> Self {
        Callbacks {
            success: None,
            error: None,
        }
    }

    /// Runs `f` with the value when the call succeeds — the guide's
    /// `callback`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let on = multiproc::Callbacks::new().on_success(move |v: &u64| tx.send(*v).unwrap());
    /// pool.apply_async_with(|x: u64| x + 1, (41,), on)?.wait();
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_success(mut self, f: impl FnOnce(&T) + Send + 'static) -> Self {
        self.success = Some(Box::new(f));
        self
    }

    /// Runs `f` with the error when the call fails — the guide's
    /// `error_callback`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::thread::Pool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let on = multiproc::Callbacks::new().on_error(move |e| tx.send(e.to_string()).unwrap());
    /// pool.apply_async_with(|| -> u8 { panic!("boom") }, (), on)?.wait();
    /// assert!(rx.recv().unwrap().contains("boom"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_error(mut self, f: impl FnOnce(&Error) + Send + 'static) -> Self {
        self.error = Some(Box::new(f));
        self
    }

    /// Whether there is nothing to run (then a result need not be looked at
    /// before it turns ready).
    pub(crate) fn is_empty(&self) -> bool {
        self.success.is_none() && self.error.is_none()
    }

    /// Runs the callback that `result` calls for, if it was given.
    pub(crate) fn run(self, result: &Result<T>) {
        match result {
            Ok(v) => {
                if let Some(f) = self.success {
                    f(v)
                }
            }
            Err(e) => {
                if let Some(f) = self.error {
                    f(e)
                }
            }
        }
    }
}

impl<T> Default for Callbacks<T> {
    fn default() -> Self {
        Callbacks::new()
    }
}

impl<T> fmt::Debug for Callbacks<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("on_success", &self.success.is_some())
            .field("on_error", &self.error.is_some())
            .finish()
    }
}
