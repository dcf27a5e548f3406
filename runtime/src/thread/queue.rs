//! The guide's `Queue`, `SimpleQueue` and `JoinableQueue` between the
//! threads of one process — the in-process twins of
//! [`crate::queue`], with the same methods, the same errors and the same
//! waiting rules.
//!
//! Items of any type are moved in and out, never encoded: no serde, no
//! `'static`; closures, channels and borrowed data travel as they are. A
//! `Queue<T>` is `Send` and `Sync` when `T` is `Send`. The transport is a
//! `VecDeque` behind one `Mutex`, with a `Bell` each for "not empty",
//! "not full" and "all tasks done" (condition variables that make no
//! system call when nobody waits).
//!
//! Every handle (every clone) that has not been closed counts as a writer.
//! [`close`](Queue::close) says "this handle puts no more", and dropping a
//! handle closes it. Once every writer is gone, a `get` on the empty queue
//! fails at once with [`Error::Disconnected`], as the process queue's does
//! when every sending end is closed. A clone of a closed handle is closed
//! too, so a queue cannot come back to life once its last writer is gone.
//! A `put` that had begun (and waits for room) when its handle was closed
//! still delivers its item.
//!
//! Differences from the process queues: `put` takes the item by value
//! (a `put` that fails with [`Error::QueueClosed`] drops it), while
//! [`try_put`](Queue::try_put) and [`put_timeout`](Queue::put_timeout)
//! give it back in their [`PutError`]; `close` closes one handle, not every
//! handle of the process.
//!
//! # Examples
//!
//! ```
//! use multiproc::thread::Queue;
//!
//! # fn main() -> multiproc::Result<()> {
//! let q = Queue::<Box<dyn FnOnce() -> u32 + Send>>::bounded(4)?;
//! let total = std::thread::scope(|s| {
//!     let consumer = q.clone();
//!     consumer.close(); // it only takes
//!     let worker = s.spawn(move || {
//!         let mut total = 0;
//!         while let Ok(job) = consumer.get() {
//!             total += job();
//!         }
//!         total
//!     });
//!     for i in 1..=10 {
//!         q.put(Box::new(move || i * i))?;
//!     }
//!     q.close(); // the last writer: the worker's `get` fails once drained
//!     Ok::<_, multiproc::Error>(worker.join().expect("the worker does not panic"))
//! })?;
//! assert_eq!(total, 385);
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::bell::Bell;
use crate::error::{Error, Result};
pub use crate::queue::PutError;

struct State<T> {
    items: VecDeque<T>,
    /// Handles that may still put: neither closed nor dropped.
    writers: usize,
    /// Puts that began before their handle was closed and wait for room:
    /// their items are still on the way.
    putting: usize,
    /// Items put through a joinable handle and not yet marked done.
    unfinished: usize,
}

impl<T> State<T> {
    /// No item is there, and none can come any more.
    fn disconnected(&self) -> bool {
        self.items.is_empty() && self.writers == 0 && self.putting == 0
    }
}

struct Shared<T> {
    state: Mutex<State<T>>,
    not_empty: Bell,
    not_full: Bell,
    all_done: Bell,
    /// 0: unbounded.
    maxsize: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn full(&self, state: &State<T>) -> bool {
        self.maxsize > 0 && state.items.len() >= self.maxsize
    }
}

fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// A multi-producer, multi-consumer queue of `T` between threads — the
/// guide's `multiprocessing.Queue` (or `queue.Queue`), for items that stay
/// in this process.
///
/// Cloning gives another handle to the same queue; each handle is a writer
/// until it is [closed](Queue::close) or dropped.
///
/// # Examples
///
/// ```
/// use multiproc::thread::Queue;
///
/// # fn main() -> multiproc::Result<()> {
/// let q = Queue::<String>::unbounded()?;
/// let producer = {
///     let q = q.clone();
///     std::thread::spawn(move || {
///         for word in ["A", "B", "C"] {
///             q.put(word.to_string())?;
///         }
///         Ok::<_, multiproc::Error>(())
///     })
/// };
/// let got: Vec<String> = (0..3).map(|_| q.get()).collect::<Result<_, _>>()?;
/// assert_eq!(got, ["A", "B", "C"]);
/// producer.join().expect("the producer does not panic")?;
/// # Ok(())
/// # }
/// ```
pub struct Queue<T> {
    shared: Arc<Shared<T>>,
    /// This handle may still put (it counts in `writers`).
    open: AtomicBool,
    joinable: bool,
}

impl<T> Clone for Queue<T> {
    /// Another handle to the same queue: a writer if this one still is.
    fn clone(&self) -> Self {
        let mut state = self.shared.lock();
        let open = self.open.load(Ordering::Acquire);
        if open {
            state.writers += 1;
        }
        drop(state);
        Queue {
            shared: self.shared.clone(),
            open: AtomicBool::new(open),
            joinable: self.joinable,
        }
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("maxsize", &self.shared.maxsize)
            .field("qsize", &self.qsize())
            .field("open", &self.open.load(Ordering::Acquire))
            .finish()
    }
}

impl<T> Queue<T> {
    fn with_max(maxsize: usize, joinable: bool) -> Self {
        Queue {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    items: VecDeque::new(),
                    writers: 1,
                    putting: 0,
                    unfinished: 0,
                }),
                not_empty: Bell::default(),
                not_full: Bell::default(),
                all_done: Bell::default(),
                maxsize,
            }),
            open: AtomicBool::new(true),
            joinable,
        }
    }

    /// A queue that holds at most `maxsize` items (`Queue(maxsize)`); a
    /// `put` on a full queue waits.
    ///
    /// # Errors
    /// [`Error::Usage`] for `maxsize == 0` (use [`unbounded`](Queue::unbounded)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::<u8>::bounded(1)?;
    /// q.put(1)?;
    /// assert!(q.is_full());
    /// assert!(matches!(q.try_put(2), Err(multiproc::thread::PutError::Full(2))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Self> {
        if maxsize == 0 {
            return Err(Error::Usage("a bounded queue needs maxsize ≥ 1".into()));
        }
        Ok(Self::with_max(maxsize, false))
    }

    /// A queue without a size limit (`Queue()`).
    ///
    /// # Errors
    /// None today; the `Result` matches [`crate::queue::Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::<String>::unbounded()?;
    /// q.put("x".to_string())?;
    /// assert_eq!(q.get()?, "x");
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Ok(Self::with_max(0, false))
    }

    fn put_deadline(&self, item: T, deadline: Option<Instant>) -> std::result::Result<(), PutError<T>> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if !self.open.load(Ordering::Acquire) {
            drop(state);
            return Err(PutError::Closed(item));
        }
        if shared.full(&state) {
            // From here on the item is on its way, even if this handle is
            // closed while it waits.
            state.putting += 1;
            loop {
                if expired(deadline) {
                    state.putting -= 1;
                    if state.disconnected() {
                        shared.not_empty.ring_all(state);
                    }
                    return Err(PutError::Full(item));
                }
                state = shared.not_full.wait(state, deadline);
                if !shared.full(&state) {
                    break;
                }
            }
            state.putting -= 1;
        }
        state.items.push_back(item);
        if self.joinable {
            state.unfinished += 1;
        }
        shared.not_empty.ring_one(state);
        Ok(())
    }

    /// Puts an item, waiting for room in a bounded queue.
    ///
    /// # Errors
    /// [`Error::QueueClosed`] after [`close`](Queue::close) (the item is
    /// dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::unbounded()?;
    /// q.put(vec![1, 2, 3])?;
    /// assert_eq!(q.get()?, vec![1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: T) -> Result<()> {
        self.put_deadline(item, None).map_err(Error::from)
    }

    /// Puts an item, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`PutError::Full`] once the time is up, [`PutError::Closed`] after
    /// [`close`](Queue::close): both with the item, given back. `?` makes
    /// them [`Error::Full`] and [`Error::QueueClosed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// use multiproc::thread::PutError;
    /// let q = multiproc::thread::Queue::bounded(1)?;
    /// q.put(1)?;
    /// let r = q.put_timeout(2, std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(PutError::Full(2))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> std::result::Result<(), PutError<T>> {
        self.put_deadline(item, crate::deadline::after(timeout))
    }

    /// Puts an item only if there is room now (`put_nowait`).
    ///
    /// # Errors
    /// [`PutError::Full`], [`PutError::Closed`], with the item, as
    /// [`put_timeout`](Queue::put_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::bounded(1)?;
    /// q.try_put(1)?;
    /// let back = q.try_put(2).unwrap_err().into_inner();
    /// assert_eq!(back, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_put(&self, item: T) -> std::result::Result<(), PutError<T>> {
        self.put_deadline(item, Some(Instant::now()))
    }

    fn get_deadline(&self, deadline: Option<Instant>) -> Result<T> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                // The last item of a queue whose writers are gone: the other
                // getters, waiting for items that will not come, must know.
                if shared.maxsize > 0 {
                    shared.not_full.wake_one();
                }
                if state.disconnected() {
                    shared.not_empty.wake_all();
                }
                drop(state);
                return Ok(item);
            }
            if state.disconnected() {
                return Err(Error::Disconnected { partial: false });
            }
            if expired(deadline) {
                return Err(Error::Empty);
            }
            state = shared.not_empty.wait(state, deadline);
        }
    }

    /// Takes an item, waiting as long as it takes — unless every writer
    /// is gone.
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the queue is empty and every handle that
    /// could put has been closed or dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::<u8>::unbounded()?;
    /// q.put(7)?;
    /// q.close(); // this handle puts no more, and it was the only one
    /// assert_eq!(q.get()?, 7);
    /// assert!(matches!(q.get(), Err(multiproc::Error::Disconnected { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self) -> Result<T> {
        self.get_deadline(None)
    }

    /// Takes an item, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Empty`] once the time is up; else as [`get`](Queue::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::<u8>::unbounded()?;
    /// let r = q.get_timeout(std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Empty)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.get_deadline(crate::deadline::after(timeout))
    }

    /// Takes an item only if one is there now (`get_nowait`).
    ///
    /// # Errors
    /// [`Error::Empty`]; else as [`get`](Queue::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::<u8>::unbounded()?;
    /// assert!(matches!(q.try_get(), Err(multiproc::Error::Empty)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_get(&self) -> Result<T> {
        self.get_deadline(Some(Instant::now()))
    }

    /// The number of items in the queue. Approximate, as in Python: other
    /// threads put and get while you look.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::unbounded()?;
    /// q.put(1)?;
    /// q.put(2)?;
    /// assert_eq!(q.qsize(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn qsize(&self) -> usize {
        self.shared.lock().items.len()
    }

    /// Whether the queue is empty (approximate, like [`qsize`](Queue::qsize)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(multiproc::thread::Queue::<u8>::unbounded()?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether a bounded queue is full (approximate; never for unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(!multiproc::thread::Queue::<u8>::bounded(2)?.is_full());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        self.shared.full(&self.shared.lock())
    }

    /// This handle will put no more items: `put` on it then fails with
    /// [`Error::QueueClosed`]; `get` keeps working, and other handles
    /// still put. Once every handle is closed or dropped, a `get` on the
    /// empty queue fails with [`Error::Disconnected`]. Closing twice is
    /// harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::<u8>::unbounded()?;
    /// let other = q.clone();
    /// q.close();
    /// assert!(matches!(q.put(1), Err(multiproc::Error::QueueClosed)));
    /// other.put(2)?; // another handle still puts
    /// assert_eq!(q.get()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        let mut state = self.shared.lock();
        if self.open.swap(false, Ordering::AcqRel) {
            state.writers -= 1;
            if state.disconnected() {
                self.shared.not_empty.ring_all(state);
            }
        }
    }
}

/// A [`Queue`] that also counts unfinished tasks — the guide's
/// `JoinableQueue`: each `put` adds a task, each [`task_done`] finishes
/// one, and [`join`] waits until all are done.
///
/// [`task_done`]: JoinableQueue::task_done
/// [`join`]: JoinableQueue::join
///
/// # Examples
///
/// ```
/// use multiproc::thread::JoinableQueue;
///
/// # fn main() -> multiproc::Result<()> {
/// let q = JoinableQueue::<u32>::unbounded()?;
/// let worker = {
///     let q = q.clone();
///     q.close(); // the worker only takes
///     std::thread::spawn(move || {
///         while let Ok(item) = q.get() {
///             let _ = item * 2;
///             q.task_done().expect("one task_done per item taken");
///         }
///     })
/// };
/// for i in 0..10 {
///     q.put(i)?;
/// }
/// q.join_timeout(std::time::Duration::from_secs(60))?; // every item done
/// drop(q); // the last writer: the worker's `get` fails and it returns
/// worker.join().expect("the worker does not panic");
/// # Ok(())
/// # }
/// ```
pub struct JoinableQueue<T>(Queue<T>);

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue(self.0.clone())
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableQueue").field(&self.0).finish()
    }
}

impl<T> std::ops::Deref for JoinableQueue<T> {
    type Target = Queue<T>;

    fn deref(&self) -> &Queue<T> {
        &self.0
    }
}

impl<T> JoinableQueue<T> {
    /// A joinable queue of at most `maxsize` items.
    ///
    /// # Errors
    /// As [`Queue::bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::JoinableQueue::<u8>::bounded(4)?;
    /// # drop(q);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Self> {
        if maxsize == 0 {
            return Err(Error::Usage("a bounded queue needs maxsize ≥ 1".into()));
        }
        Ok(JoinableQueue(Queue::with_max(maxsize, true)))
    }

    /// A joinable queue without a size limit.
    ///
    /// # Errors
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::JoinableQueue::<u8>::unbounded()?;
    /// q.put(1)?;
    /// q.get()?;
    /// q.task_done()?;
    /// q.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Ok(JoinableQueue(Queue::with_max(0, true)))
    }

    /// Marks one task finished (the guide's `task_done()`).
    ///
    /// # Errors
    /// [`Error::Usage`] when called more times than items were put (the
    /// guide's `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::JoinableQueue::<u8>::unbounded()?;
    /// assert!(q.task_done().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn task_done(&self) -> Result<()> {
        let shared = &*self.0.shared;
        let mut state = shared.lock();
        if state.unfinished == 0 {
            return Err(Error::Usage("task_done() called more times than items were put".into()));
        }
        state.unfinished -= 1;
        if state.unfinished == 0 {
            shared.all_done.ring_all(state);
        }
        Ok(())
    }

    fn join_deadline(&self, deadline: Option<Instant>) -> bool {
        let shared = &*self.0.shared;
        let mut state = shared.lock();
        loop {
            if state.unfinished == 0 {
                return true;
            }
            if expired(deadline) {
                return false;
            }
            state = shared.all_done.wait(state, deadline);
        }
    }

    /// Waits until every item put has been marked done (the guide's
    /// `join()`).
    ///
    /// # Errors
    /// None today; the `Result` matches [`crate::queue::JoinableQueue::join`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::JoinableQueue::<u8>::unbounded()?;
    /// q.join()?; // nothing was put
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&self) -> Result<()> {
        self.join_deadline(None);
        Ok(())
    }

    /// Like [`join`](JoinableQueue::join), giving up after `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] when tasks are still unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::JoinableQueue::<u8>::unbounded()?;
    /// q.put(1)?;
    /// let r = q.join_timeout(std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Timeout(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        if self.join_deadline(crate::deadline::after(timeout)) {
            Ok(())
        } else {
            Err(Error::Timeout(timeout))
        }
    }
}

/// The guide's `SimpleQueue`: an unbounded [`Queue`] with only `put`,
/// `get` (and `get_timeout`), `is_empty` and `close`.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let q = multiproc::thread::SimpleQueue::<String>::new()?;
/// q.put("hi".to_string())?;
/// assert!(!q.is_empty());
/// assert_eq!(q.get()?, "hi");
/// # Ok(())
/// # }
/// ```
pub struct SimpleQueue<T>(Queue<T>);

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> Self {
        SimpleQueue(self.0.clone())
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleQueue").field(&self.0).finish()
    }
}

impl<T> SimpleQueue<T> {
    /// A new, empty queue.
    ///
    /// # Errors
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::SimpleQueue::<u8>::new()?;
    /// assert!(q.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Result<Self> {
        Ok(SimpleQueue(Queue::unbounded()?))
    }

    /// Puts an item. See [`Queue::put`].
    ///
    /// # Errors
    /// As [`Queue::put`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// multiproc::thread::SimpleQueue::new()?.put(1u8)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: T) -> Result<()> {
        self.0.put(item)
    }

    /// Takes an item. See [`Queue::get`].
    ///
    /// # Errors
    /// As [`Queue::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::SimpleQueue::new()?;
    /// q.put(2u8)?;
    /// assert_eq!(q.get()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self) -> Result<T> {
        self.0.get()
    }

    /// Takes an item, waiting at most `timeout` (the `get(timeout=…)` of
    /// Python's `queue.SimpleQueue`). See [`Queue::get_timeout`].
    ///
    /// # Errors
    /// [`Error::Empty`] once the time is up; else as [`Queue::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::SimpleQueue::<u8>::new()?;
    /// let r = q.get_timeout(Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Empty)));
    /// q.put(3)?;
    /// assert_eq!(q.get_timeout(Duration::from_secs(60))?, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.0.get_timeout(timeout)
    }

    /// Whether the queue is empty (approximate).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(multiproc::thread::SimpleQueue::<u8>::new()?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This handle puts no more. See [`Queue::close`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::SimpleQueue::<u8>::new()?;
    /// q.close();
    /// assert!(q.put(1).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.0.close()
    }
}
