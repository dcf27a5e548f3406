//! What a `put` takes ([`PutItem`]) and what a failed one gives back
//! ([`PutError`]).

use std::fmt;

use crate::error::Error;

/// What a process queue's `put` takes: an item (`q.put(x)`, as on the
/// thread twin) or a reference to one (`q.put(&x)`, which keeps it for the
/// caller). Either way the item is only encoded. Sealed: the two impls are
/// all there is, so `q.put(x)` alone tells the compiler the queue's type.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let q = multiproc::queue::Queue::unbounded()?; // `Queue<u32>`, from the put
/// q.put(5u32)?;
/// q.put(&6)?;
/// assert_eq!((q.get()?, q.get()?), (5, 6));
/// # Ok(())
/// # }
/// ```
pub trait PutItem<T>: sealed::Sealed<T> {
    /// The item.
    fn as_item(&self) -> &T;
}

impl<T> PutItem<T> for T {
    fn as_item(&self) -> &T {
        self
    }
}

impl<T> PutItem<T> for &T {
    fn as_item(&self) -> &T {
        self
    }
}

mod sealed {
    pub trait Sealed<T> {}
    impl<T> Sealed<T> for T {}
    impl<T> Sealed<T> for &T {}
}

/// Why a `try_put` or `put_timeout` did not put its item — with the item,
/// given back (as crossbeam's `TrySendError` does), for the process queues
/// and their [thread twins](crate::thread::Queue) alike. `?` turns it into
/// [`Error::Full`], [`Error::QueueClosed`] or the failure, dropping the
/// item.
///
/// A thread queue takes the item and gives it back here; a process queue
/// takes whatever it was given — the item, or a reference to it, since it
/// only encodes it — and gives that back.
///
/// # Examples
///
/// ```
/// use multiproc::queue::PutError;
///
/// # fn main() -> multiproc::Result<()> {
/// let q = multiproc::thread::Queue::bounded(1)?;
/// q.put(String::from("first"))?;
/// match q.try_put(String::from("second")) {
///     Err(PutError::Full(back)) => assert_eq!(back, "second"), // not lost
///     other => panic!("{other:?}"),
/// }
/// // The same on a process queue, whether given the item or a reference.
/// let p = multiproc::queue::Queue::bounded(1)?;
/// p.put(String::from("first"))?;
/// assert!(matches!(p.try_put(String::from("second")), Err(PutError::Full(back)) if back == "second"));
/// // Where only the error matters, `?` makes it a `multiproc::Error`.
/// fn put_now(q: &multiproc::thread::Queue<u8>) -> multiproc::Result<()> {
///     q.try_put(7)?;
///     Ok(())
/// }
/// let small = multiproc::thread::Queue::bounded(1)?;
/// put_now(&small)?;
/// assert!(matches!(put_now(&small), Err(multiproc::Error::Full)));
/// # Ok(())
/// # }
/// ```
pub enum PutError<T> {
    /// No room now, or none came in time: Python's `queue.Full`
    /// ([`Error::Full`]).
    Full(T),
    /// This handle was closed ([`Error::QueueClosed`]).
    Closed(T),
    /// The item could not be sent: it did not encode ([`Error::Codec`]), or
    /// the queue's channel failed ([`Error::Io`]). Process queues only.
    Failed(T, Error),
}

impl<T> PutError<T> {
    /// `item` was not put because of `e`.
    pub(crate) fn new(item: T, e: Error) -> Self {
        match e {
            Error::Full => PutError::Full(item),
            Error::QueueClosed => PutError::Closed(item),
            e => PutError::Failed(item, e),
        }
    }

    /// The item that was not put.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::bounded(1)?;
    /// q.put(vec![1])?;
    /// let back = q.try_put(vec![2]).unwrap_err().into_inner();
    /// assert_eq!(back, [2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(item) | PutError::Closed(item) | PutError::Failed(item, _) => item,
        }
    }

    /// Whether the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::bounded(1)?;
    /// q.put(1)?;
    /// assert!(q.try_put(2).unwrap_err().is_full());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether the handle was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::unbounded()?;
    /// q.close();
    /// assert!(q.try_put(1).unwrap_err().is_closed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, PutError::Closed(_))
    }

    /// The [`Error`] this is, without the item.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.put(1)?;
    /// assert!(matches!(q.try_put(2).unwrap_err().into_error(), multiproc::Error::Full));
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_error(self) -> Error {
        match self {
            PutError::Full(_) => Error::Full,
            PutError::Closed(_) => Error::QueueClosed,
            PutError::Failed(_, e) => e,
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::Closed(_) => f.write_str("Closed(..)"),
            PutError::Failed(_, e) => f.debug_tuple("Failed").field(&format_args!("..")).field(e).finish(),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => fmt::Display::fmt(&Error::Full, f),
            PutError::Closed(_) => fmt::Display::fmt(&Error::QueueClosed, f),
            PutError::Failed(_, e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<T> std::error::Error for PutError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PutError::Failed(_, e) => Some(e),
            _ => None,
        }
    }
}

/// So that `q.try_put(x)?` works in a function that returns
/// [`multiproc::Result`](crate::Result): the item is dropped.
///
/// # Examples
///
/// ```
/// let q = multiproc::thread::Queue::<u8>::bounded(1).unwrap();
/// q.put(1).unwrap();
/// let e: multiproc::Error = q.try_put(2).unwrap_err().into();
/// assert!(matches!(e, multiproc::Error::Full));
/// ```
impl<T> From<PutError<T>> for Error {
    fn from(e: PutError<T>) -> Error {
        e.into_error()
    }
}
