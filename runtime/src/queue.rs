//! The guide's `Queue`, `SimpleQueue` and `JoinableQueue`, across processes
//! and threads.
//!
//! Transport: one `SOCK_SEQPACKET` socket pair. A `put` is one message and
//! a `get` takes exactly one, atomically in the kernel, so any number of
//! producers and consumers share it with no lock in user space — and a
//! process killed mid-`put` or mid-`get` cannot leave a lock held or half a
//! message behind. An item too large for one message travels in a `memfd`
//! whose descriptor rides along (SCM_RIGHTS); the receiver maps it, so the
//! bytes are copied once, not once per hop.
//!
//! Counters live in a small shared `memfd` region: the item count (for
//! `maxsize`, `qsize`, `empty`, `full`; a futex wakes a blocked `put`) and,
//! for a `JoinableQueue`, the count of unfinished tasks.
//!
//! `close()` drops this handle's sending end. When every sending end is
//! gone — closed, or its process dead — a `get` on the empty queue fails at
//! once with [`Error::Disconnected`] instead of waiting forever.

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec;
use crate::error::{Error, Result};
use crate::handoff::{TrackedFd, TravelFd};
use crate::sys;

/// Items up to this size go inline in one message; larger ones in a memfd.
const INLINE_MAX: usize = 64 * 1024;
/// Kernel buffer asked for each way of the socket pair.
const SOCKET_BUFFER: i32 = 4 << 20;
const TAG_INLINE: u8 = 0;
const TAG_MEMFD: u8 = 1;
/// Shared counters: items in the queue, unfinished tasks.
const COUNT: usize = 0;
const UNFINISHED: usize = 4;
const REGION_BYTES: usize = 64;

struct Inner {
    /// This process's sending end; `None` after `close()`.
    tx: Mutex<Option<TrackedFd>>,
    rx: TrackedFd,
    region: sys::SharedRegion,
    region_fd: TrackedFd,
    maxsize: u32,
}

impl Inner {
    fn counter(&self, offset: usize) -> &AtomicU32 {
        self.region.atomic_u32(offset).expect("the region holds both counters")
    }

    fn new(maxsize: u32) -> Result<Self> {
        let (tx, rx) = sys::seqpacket_pair().map_err(Error::io("creating a queue"))?;
        for end in [&tx, &rx] {
            sys::set_socket_buffers(end.as_fd(), SOCKET_BUFFER);
            sys::set_nonblocking(end.as_fd(), true).map_err(Error::io("fcntl"))?;
        }
        let region = sys::SharedRegion::new("multiproc-queue", REGION_BYTES).map_err(Error::io("memfd"))?;
        let region_fd = TrackedFd::new(region.fd().try_clone_to_owned().map_err(Error::io("dup"))?);
        Ok(Inner {
            tx: Mutex::new(Some(TrackedFd::new(tx))),
            rx: TrackedFd::new(rx),
            region,
            region_fd,
            maxsize,
        })
    }

    fn put(&self, item: &[u8], deadline: Option<Instant>, joinable: bool) -> Result<()> {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let tx = tx.as_ref().ok_or(Error::QueueClosed)?;
        self.reserve(deadline)?;
        if joinable {
            self.counter(UNFINISHED).fetch_add(1, Ordering::AcqRel);
        }
        let sent = self.send(tx.as_fd(), item, deadline);
        if sent.is_err() {
            self.release();
            if joinable {
                self.counter(UNFINISHED).fetch_sub(1, Ordering::AcqRel);
            }
        }
        sent
    }

    /// Takes a place in a bounded queue, waiting until `deadline`.
    fn reserve(&self, deadline: Option<Instant>) -> Result<()> {
        let count = self.counter(COUNT);
        loop {
            let c = count.load(Ordering::Acquire);
            if self.maxsize == 0 || c < self.maxsize {
                if count
                    .compare_exchange(c, c + 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return Ok(());
                }
                continue;
            }
            if !sys::futex_wait(count, c, deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Full);
            }
        }
    }

    /// Gives a place back and wakes a waiting producer.
    fn release(&self) {
        let count = self.counter(COUNT);
        count.fetch_sub(1, Ordering::AcqRel);
        if self.maxsize > 0 {
            sys::futex_wake(count, 1);
        }
    }

    fn send(&self, tx: BorrowedFd<'_>, item: &[u8], deadline: Option<Instant>) -> Result<()> {
        let memfd;
        let (message, fds): (Vec<u8>, Vec<BorrowedFd<'_>>) = if item.len() <= INLINE_MAX {
            let mut m = Vec::with_capacity(item.len() + 1);
            m.push(TAG_INLINE);
            m.extend_from_slice(item);
            (m, Vec::new())
        } else {
            memfd = sys::SharedRegion::from_bytes("multiproc-queue-item", item).map_err(Error::io("memfd"))?;
            let mut m = vec![TAG_MEMFD];
            m.extend_from_slice(&(item.len() as u64).to_le_bytes());
            (m, vec![memfd.as_fd()])
        };
        loop {
            match sys::send_message(tx, &message, &fds) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let ready = sys::poll(&[(tx, libc::POLLOUT)], deadline).map_err(Error::io("poll"))?;
                    if ready[0] == 0 {
                        return Err(Error::Full);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Err(Error::Disconnected { partial: false })
                }
                Err(e) => return Err(Error::io("putting on a queue")(e)),
            }
        }
    }

    /// Takes one message, waiting until `deadline`; returns the item's bytes.
    fn get(&self, deadline: Option<Instant>) -> Result<Vec<u8>> {
        // As `Connection` does: catch an item on its way awake rather than
        // pay a cross-CPU wake-up.
        const SPIN: Duration = Duration::from_micros(50);
        let spin_until = Instant::now() + SPIN;
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; INLINE_MAX + 1]);
        }
        loop {
            let received = SCRATCH.with(|scratch| {
                let mut buf = scratch.borrow_mut();
                sys::recv_with_fds(self.rx.as_fd(), &mut buf).map(|(n, mut fds)| {
                    let message = match (n, buf.first(), fds.pop()) {
                        (0, _, _) => None,
                        (_, Some(&TAG_INLINE), None) => Some(Ok(buf[1..n].to_vec())),
                        (9, Some(&TAG_MEMFD), Some(fd)) => Some(read_memfd(fd, &buf[1..9])),
                        _ => Some(Err(Error::Codec("a queue message of unknown form".into()))),
                    };
                    message
                })
            });
            match received {
                Ok(None) => return Err(Error::Disconnected { partial: false }),
                Ok(Some(item)) => {
                    self.release();
                    return item;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !sys::wait_readable(self.rx.as_fd(), spin_until, deadline).map_err(Error::io("poll"))? {
                        return Err(Error::Empty);
                    }
                }
                Err(e) => return Err(Error::io("getting from a queue")(e)),
            }
        }
    }
}

fn read_memfd(fd: OwnedFd, len: &[u8]) -> Result<Vec<u8>> {
    let len = u64::from_le_bytes(len.try_into().map_err(|_| Error::Codec("bad length".into()))?) as usize;
    let region = sys::SharedRegion::map(fd).map_err(Error::io("mapping a queue item"))?;
    let bytes = region.bytes();
    bytes.get(..len).map(<[u8]>::to_vec).ok_or_else(|| {
        Error::Codec(format!(
            "a queue item claims {len} bytes, its memfd holds {}",
            bytes.len()
        ))
    })
}

/// A multi-producer, multi-consumer queue of `T` between processes and
/// threads — the guide's `multiprocessing.Queue`.
///
/// Cloning gives another handle to the same queue in this process; passing
/// it as an argument of a `#[process_fn]` gives one to a child.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::queue::Queue;
///
/// #[process_fn]
/// fn producer(q: Queue<String>) {
///     for word in ["A", "B", "C"] {
///         q.put(&word.to_string()).unwrap();
///     }
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let q = Queue::<String>::unbounded()?;
/// let mut p = Process::builder().start(producer, (q.clone(),))?;
/// let got: Vec<String> = (0..3).map(|_| q.get()).collect::<Result<_, _>>()?;
/// assert_eq!(got, ["A", "B", "C"]);
/// p.join()?;
/// # Ok(())
/// # }
/// ```
pub struct Queue<T> {
    inner: Arc<Inner>,
    joinable: bool,
    _items: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            inner: self.inner.clone(),
            joinable: self.joinable,
            _items: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("maxsize", &self.inner.maxsize)
            .field("qsize", &self.inner.counter(COUNT).load(Ordering::Acquire))
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    fn with_max(maxsize: u32, joinable: bool) -> Result<Self> {
        Ok(Queue {
            inner: Arc::new(Inner::new(maxsize)?),
            joinable,
            _items: PhantomData,
        })
    }

    /// A queue that holds at most `maxsize` items (`Queue(maxsize)`); a
    /// `put` on a full queue waits.
    ///
    /// # Errors
    /// [`Error::Usage`] for `maxsize == 0` (use [`unbounded`](Queue::unbounded));
    /// [`Error::Io`] when the sockets cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::bounded(1)?;
    /// q.put(&1)?;
    /// assert!(q.is_full());
    /// assert!(matches!(q.try_put(&2), Err(multiproc::Error::Full)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Self> {
        if maxsize == 0 {
            return Err(Error::Usage("a bounded queue needs maxsize ≥ 1".into()));
        }
        Self::with_max(u32::try_from(maxsize).unwrap_or(u32::MAX), false)
    }

    /// A queue without a size limit (`Queue()`).
    ///
    /// # Errors
    /// [`Error::Io`] when the sockets cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<String>::unbounded()?;
    /// q.put(&"x".to_string())?;
    /// assert_eq!(q.get()?, "x");
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Self::with_max(0, false)
    }

    fn put_deadline(&self, item: &T, deadline: Option<Instant>) -> Result<()> {
        self.inner.put(&codec::encode(item)?, deadline, self.joinable)
    }

    /// Puts an item, waiting for room in a bounded queue.
    ///
    /// # Errors
    /// [`Error::QueueClosed`] after [`close`](Queue::close);
    /// [`Error::Codec`]; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::unbounded()?;
    /// q.put(&vec![1, 2, 3])?;
    /// assert_eq!(q.get()?, vec![1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: &T) -> Result<()> {
        self.put_deadline(item, None)
    }

    /// Puts an item, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`Error::Full`] once the time is up; else as [`put`](Queue::put).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.put(&1)?;
    /// let r = q.put_timeout(&2, std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Full)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_timeout(&self, item: &T, timeout: Duration) -> Result<()> {
        self.put_deadline(item, Some(Instant::now() + timeout))
    }

    /// Puts an item only if there is room now (`put_nowait`).
    ///
    /// # Errors
    /// [`Error::Full`]; else as [`put`](Queue::put).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.try_put(&1)?;
    /// assert!(q.try_put(&2).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_put(&self, item: &T) -> Result<()> {
        self.put_deadline(item, Some(Instant::now()))
    }

    fn get_deadline(&self, deadline: Option<Instant>) -> Result<T> {
        codec::decode(&self.inner.get(deadline)?)
    }

    /// Takes an item, waiting as long as it takes — unless every sending
    /// end is gone.
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the queue is empty and every handle that
    /// could put has closed or died; [`Error::Codec`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// q.put(&7)?;
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
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// let r = q.get_timeout(std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Empty)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.get_deadline(Some(Instant::now() + timeout))
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
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// assert!(matches!(q.try_get(), Err(multiproc::Error::Empty)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_get(&self) -> Result<T> {
        self.get_deadline(Some(Instant::now()))
    }

    /// The number of items in the queue. Approximate, as in Python: other
    /// processes put and get while you look.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::unbounded()?;
    /// q.put(&1)?;
    /// q.put(&2)?;
    /// assert_eq!(q.qsize(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn qsize(&self) -> usize {
        self.inner.counter(COUNT).load(Ordering::Acquire) as usize
    }

    /// Whether the queue is empty (approximate, like [`qsize`](Queue::qsize)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(multiproc::queue::Queue::<u8>::unbounded()?.is_empty());
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
    /// assert!(!multiproc::queue::Queue::<u8>::bounded(2)?.is_full());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        self.inner.maxsize > 0 && self.qsize() >= self.inner.maxsize as usize
    }
}

impl<T> Queue<T> {
    /// This process will put no more items through this queue (every
    /// handle of it in this process): `put` then fails with
    /// [`Error::QueueClosed`]; `get` keeps working.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// q.close();
    /// assert!(matches!(q.put(&1), Err(multiproc::Error::QueueClosed)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.inner.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
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
/// use multiproc::prelude::*;
/// use multiproc::queue::JoinableQueue;
///
/// #[process_fn]
/// fn consumer(q: JoinableQueue<u32>) {
///     while let Ok(item) = q.get() {
///         let _ = item * 2;
///         q.task_done().unwrap();
///     }
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let q = JoinableQueue::unbounded()?;
/// let worker = Process::builder().daemon(true).start(consumer, (q.clone(),))?;
/// for i in 0..10 {
///     q.put(&i)?;
/// }
/// q.join_timeout(std::time::Duration::from_secs(60))?; // every item done
/// worker.kill()?;
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

impl<T: Serialize + DeserializeOwned> JoinableQueue<T> {
    /// A joinable queue of at most `maxsize` items.
    ///
    /// # Errors
    /// As [`Queue::bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::bounded(4)?;
    /// # drop(q);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Self> {
        let Queue { inner, .. } = Queue::<T>::bounded(maxsize)?;
        Ok(JoinableQueue(Queue {
            inner,
            joinable: true,
            _items: PhantomData,
        }))
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
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.put(&1)?;
    /// q.get()?;
    /// q.task_done()?;
    /// q.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Ok(JoinableQueue(Queue::with_max(0, true)?))
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
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// assert!(q.task_done().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn task_done(&self) -> Result<()> {
        let unfinished = self.0.inner.counter(UNFINISHED);
        let mut u = unfinished.load(Ordering::Acquire);
        loop {
            if u == 0 {
                return Err(Error::Usage("task_done() called more times than items were put".into()));
            }
            match unfinished.compare_exchange(u, u - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => u = now,
            }
        }
        if u == 1 {
            sys::futex_wake(unfinished, i32::MAX);
        }
        Ok(())
    }

    fn join_deadline(&self, deadline: Option<Instant>) -> bool {
        let unfinished = self.0.inner.counter(UNFINISHED);
        loop {
            let u = unfinished.load(Ordering::Acquire);
            if u == 0 {
                return true;
            }
            if !sys::futex_wait(unfinished, u, deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
        }
    }

    /// Waits until every item put has been marked done (the guide's
    /// `join()`).
    ///
    /// # Errors
    /// None today; the `Result` leaves room for a dead-peer report.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
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
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.put(&1)?;
    /// let r = q.join_timeout(std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Timeout(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        if self.join_deadline(Some(Instant::now() + timeout)) {
            Ok(())
        } else {
            Err(Error::Timeout(timeout))
        }
    }
}

/// The guide's `SimpleQueue`: an unbounded [`Queue`] with only `put`,
/// `get`, `is_empty` and `close`.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let q = multiproc::queue::SimpleQueue::<String>::new()?;
/// q.put(&"hi".to_string())?;
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

impl<T: Serialize + DeserializeOwned> SimpleQueue<T> {
    /// A new, empty queue.
    ///
    /// # Errors
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::SimpleQueue::<u8>::new()?;
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
    /// multiproc::queue::SimpleQueue::new()?.put(&1u8)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: &T) -> Result<()> {
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
    /// let q = multiproc::queue::SimpleQueue::new()?;
    /// q.put(&2u8)?;
    /// assert_eq!(q.get()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self) -> Result<T> {
        self.0.get()
    }

    /// Whether the queue is empty (approximate).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(multiproc::queue::SimpleQueue::<u8>::new()?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This process puts no more. See [`Queue::close`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::SimpleQueue::<u8>::new()?;
    /// q.close();
    /// assert!(q.put(&1).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.0.close()
    }
}

/// What travels to a child: the descriptors (the sending end only if this
/// handle still has it) and the settings.
#[derive(Serialize)]
struct WireRef<'a> {
    #[serde(serialize_with = "serialize_opt_fd")]
    tx: Option<BorrowedFd<'a>>,
    #[serde(serialize_with = "crate::handoff::serialize_fd")]
    rx: BorrowedFd<'a>,
    #[serde(serialize_with = "crate::handoff::serialize_fd")]
    region: BorrowedFd<'a>,
    maxsize: u32,
    joinable: bool,
}

#[derive(Deserialize)]
struct Wire {
    tx: Option<TravelFd>,
    rx: TravelFd,
    region: TravelFd,
    maxsize: u32,
    joinable: bool,
}

fn serialize_opt_fd<S: Serializer>(fd: &Option<BorrowedFd<'_>>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match fd {
        None => s.serialize_none(),
        Some(fd) => s.serialize_some(&FdRef(*fd)),
    }
}

struct FdRef<'a>(BorrowedFd<'a>);

impl Serialize for FdRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        crate::handoff::serialize_fd(&self.0, s)
    }
}

impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let tx = self.inner.tx.lock().unwrap_or_else(|p| p.into_inner());
        WireRef {
            tx: tx.as_ref().map(AsFd::as_fd),
            rx: self.inner.rx.as_fd(),
            region: self.inner.region_fd.as_fd(),
            maxsize: self.inner.maxsize,
            joinable: self.joinable,
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let region_fd = wire.region.0;
        let region = sys::SharedRegion::map(region_fd.try_clone().map_err(serde::de::Error::custom)?)
            .map_err(serde::de::Error::custom)?;
        if region.atomic_u32(UNFINISHED).is_none() {
            return Err(serde::de::Error::custom("a queue's shared region is too small"));
        }
        Ok(Queue {
            inner: Arc::new(Inner {
                tx: Mutex::new(wire.tx.map(|fd| TrackedFd::new(fd.0))),
                rx: TrackedFd::new(wire.rx.0),
                region,
                region_fd: TrackedFd::new(region_fd),
                maxsize: wire.maxsize,
            }),
            joinable: wire.joinable,
            _items: PhantomData,
        })
    }
}

impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Queue::deserialize(deserializer).map(JoinableQueue)
    }
}

impl<T> Serialize for SimpleQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for SimpleQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Queue::deserialize(deserializer).map(SimpleQueue)
    }
}
