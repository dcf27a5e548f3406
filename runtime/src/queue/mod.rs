//! The guide's `Queue`, `SimpleQueue` and `JoinableQueue`, across processes
//! and threads.
//!
//! Transport: a ring of variable-length records in a shared `memfd`
//! region. A record is an 8-byte header (a tag, a kind and the payload's
//! length) and the encoded item, padded to 8 bytes. Producers append at the
//! committed tail under one process-shared lock (the *put lock*),
//! consumers pop at the head under another (the *get lock*). A `put` or a
//! `get` of a small item makes no system call while the other side is
//! awake: a `u64` costs a lock, a 16-byte copy and an unlock on each side.
//!
//! Two locks, not one: with a single lock the producer and the consumer
//! take turns on the same cache line, and every turn is a cross-CPU
//! transfer (measured here, a child putting `u64`s to its parent: 5.2 M
//! items/s with one lock, 8–11 M with two). A producer writes only free
//! bytes and a consumer reads only committed ones, so the two sides never
//! touch the same record at once; they meet only in the committed tail and
//! head words (release/acquire). Each side also keeps its last look at the
//! other's word on its own line, and reads the other's only when that look
//! says "full" or "empty". Every access to the ring is an atomic word
//! access, so even a corrupt or hostile peer cannot cause a data race.
//!
//! Crash safety: the tail moves — in one store, with the count of items
//! put packed beside it — only after the whole record is written, and the
//! head only after the item is copied out *and decoded*: that store is the
//! last step of a `get` before it returns. A producer killed mid-`put`
//! leaves a record that was never committed; a consumer killed mid-`get`
//! before that store, small item or large, leaves the item in place (after
//! it, the item was taken). The next locker finds the holder's thread gone
//! (the lock word names it; see `sys/lock.rs`), takes the lock over, and
//! goes on: there is nothing to repair.
//!
//! Waiting: a `get` on an empty ring keeps looking for 50 µs (waking a
//! sleeper on the other CPU costs 40–80 µs here), once a microsecond (see
//! `pause`); then it sets a *want* flag and `poll`s a semaphore `eventfd`
//! (the *bell*). A producer rings the bell only when the flag is set, and
//! clears it: one system call per sleep, not one per put until the sleeper
//! is up. A woken consumer that leaves others asleep sets the flag again,
//! and a consumer that takes an item and sees more, with the flag set,
//! rings for them. Sleepers wake every 100 ms to look anyway, so even a
//! consumer killed between taking the ring and passing it on cannot leave
//! the others asleep for good; and since the flags are set by each sleeper
//! and cleared by its waker, a process killed asleep leaves at most one
//! needless ring behind, no cost per item. A `put` waiting for room (a
//! bounded queue at `maxsize`, or a full ring) spins the same way, then
//! sets its own flag and sleeps on a futex that the next consumer bumps,
//! waking every waiting producer. A lock still held at the deadline (its
//! holder stopped, say) is [`Error::Full`] for a `put`, [`Error::Empty`]
//! for a `get`.
//!
//! Liveness: one `SOCK_SEQPACKET` socket pair remains. Every handle that can
//! put holds the sending end; when every sending end is gone — `close()`d,
//! or its process dead, since the kernel closes a dead process's
//! descriptors — the receiving end reports `POLLHUP`, which the sleeping
//! `get` polls beside the bell. So a `get` on the empty queue whose every
//! writer has closed or died fails at once with [`Error::Disconnected`]
//! instead of waiting forever. `close()` waits for this process's puts in
//! flight, so none commits after it.
//!
//! Large items (over 64 KiB) travel in a `memfd` whose descriptor goes over
//! that socket (SCM_RIGHTS): the receiver maps it, so the bytes are copied
//! once. The producer seals it against writes and resizing before it
//! sends it, and the consumer maps only a memfd so sealed
//! (`sys::SealedBytes`): a hostile producer cannot change an item under
//! its reader, nor cut it short under the mapping. FIFO order with the ring holds because the ring carries a *marker*
//! record in the item's place: under the put lock the producer numbers the
//! item, sends `(number, length, memfd)` on the socket, and only then
//! commits the marker; the consumer that pops the marker receives from the
//! socket under the get lock, so consumers take the socket's messages in
//! marker order. The consumer *peeks* at the message (`MSG_PEEK`: a copy of
//! the memfd, the message left in place), decodes the item, commits, and
//! only then takes the message off the socket. A message whose number is
//! below the marker's was orphaned by a process killed between send and
//! commit (or between commit and taking it) and is dropped then — until
//! then it holds its memfd.
//!
//! Sizes: the ring holds 4 MiB (1 MiB and 256 KiB measured no faster;
//! 4 MiB holds 256 K small items, or 64 items of the 64 KiB inline limit).
//! An unbounded queue's `put` never fails for want of room, but it does
//! wait while the ring is full, until consumers drain it (`try_put` then
//! reports [`Error::Full`]). A large item takes only its 24-byte marker in
//! the ring.
//!
//! Bad bytes: a record whose header is not one the ring writes (wrong tag
//! or kind, a length out of range) is reported as [`Error::Codec`], and the
//! consumer drops everything committed up to then, so the queue works again
//! afterwards; an item whose bytes do not decode is an [`Error::Codec`] for
//! that item only.
//!
//! The region also holds the count of unfinished tasks of a
//! `JoinableQueue`.

//!
//! Files: `ring.rs` (the ring and `Inner`, shared by every kind),
//! `put.rs` ([`PutItem`], [`PutError`]), `joinable.rs`, `simple.rs`; here,
//! [`Queue`] and how a queue travels to a child.

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd};

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec;
use crate::error::{Error, Result};
use crate::handoff::{TrackedFd, TravelFd};
use crate::sys;

mod joinable;
mod put;
mod ring;
mod simple;

pub use joinable::JoinableQueue;
pub use put::{PutError, PutItem};
use ring::*;
pub use simple::SimpleQueue;

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
///         q.put(word.to_string()).unwrap();
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
            .field("qsize", &self.inner.len())
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
    /// q.put(1)?;
    /// assert!(q.is_full());
    /// assert!(matches!(q.try_put(2), Err(multiproc::queue::PutError::Full(2))));
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
    /// q.put("x".to_string())?;
    /// assert_eq!(q.get()?, "x");
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Self::with_max(0, false)
    }

    fn put_deadline<B: PutItem<T>>(&self, item: B, deadline: Option<Instant>) -> std::result::Result<(), PutError<B>> {
        let bytes = match encode(item.as_item()) {
            Ok(bytes) => bytes,
            Err(e) => return Err(PutError::Failed(item, e)),
        };
        self.inner
            .put(&bytes, deadline, self.joinable, None)
            .map_err(|e| PutError::new(item, e))
    }

    /// Puts an item, waiting for room in a bounded queue. It takes the item
    /// or a reference to it (`q.put(x)` or `q.put(&x)`): the item is only
    /// encoded, so a reference keeps it for the caller.
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
    /// q.put(vec![1, 2, 3])?;
    /// let kept = vec![4];
    /// q.put(&kept)?;
    /// assert_eq!(q.get()?, vec![1, 2, 3]);
    /// assert_eq!(q.get()?, kept);
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: impl PutItem<T>) -> Result<()> {
        self.put_deadline(item, None).map_err(Error::from)
    }

    /// Puts an item, waiting at most `timeout` for room. A put that fails
    /// gives back what it was given, as the thread queue's does.
    ///
    /// # Errors
    /// [`PutError::Full`] once the time is up, [`PutError::Closed`] after
    /// [`close`](Queue::close), [`PutError::Failed`] with
    /// [`Error::Codec`] or [`Error::Io`]; `?` makes each an
    /// [`Error`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// use multiproc::queue::PutError;
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.put(1)?;
    /// let r = q.put_timeout(2, std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(PutError::Full(2))));
    /// assert_eq!(q.get()?, 1);
    /// q.put(2)?;
    /// assert_eq!(q.get()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_timeout<B: PutItem<T>>(&self, item: B, timeout: Duration) -> std::result::Result<(), PutError<B>> {
        self.put_deadline(item, crate::deadline::after(timeout))
    }

    /// Puts an item only if there is room now (`put_nowait`), giving it back
    /// otherwise, as [`put_timeout`](Queue::put_timeout).
    ///
    /// # Errors
    /// As [`put_timeout`](Queue::put_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.try_put(1)?;
    /// assert_eq!(q.try_put(2).unwrap_err().into_inner(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_put<B: PutItem<T>>(&self, item: B) -> std::result::Result<(), PutError<B>> {
        self.put_deadline(item, Some(Instant::now()))
    }

    fn get_deadline(&self, deadline: Option<Instant>) -> Result<T> {
        self.inner.get(deadline, None, codec::decode)
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
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
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
    /// q.put(1)?;
    /// q.put(2)?;
    /// assert_eq!(q.qsize(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn qsize(&self) -> usize {
        self.inner.len() as usize
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

    /// Test hook, not API: a [`put`](Queue::put) that calls `stall` while it
    /// holds the put lock, the record written but not yet committed (and
    /// commits it if `stall` returns) — to kill a producer mid-`put`.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn test_put_stalling(&self, item: &T, stall: impl FnOnce()) -> Result<()> {
        let mut stall = Some(stall);
        let mut call = || stall.take().map_or((), |f| f());
        self.inner.put(&encode(item)?, None, self.joinable, Some(&mut call))
    }

    /// Test hook, not API: a [`get`](Queue::get) that calls `stall` while
    /// it holds the get lock, the item copied out but not yet taken (or,
    /// `after_commit`, taken but a large item's memfd not yet received) —
    /// to kill a consumer mid-`get`.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn test_get_stalling(&self, after_commit: bool, stall: impl FnOnce()) -> Result<T> {
        let mut stall = Some(stall);
        let mut call = || stall.take().map_or((), |f| f());
        self.inner.get(None, Some((after_commit, &mut call)), codec::decode)
    }

    /// Test hook, not API: appends a ring record whose header claims
    /// `claimed_len` payload bytes, followed by `bytes` — bad bytes for a
    /// consumer to refuse.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn test_put_raw_record(&self, claimed_len: u32, bytes: &[u8]) -> Result<()> {
        self.inner.put_raw(TAG | KIND_INLINE | u64::from(claimed_len), bytes)
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
    /// assert!(matches!(q.put(1), Err(multiproc::Error::QueueClosed)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.inner.tx.write().unwrap_or_else(|p| p.into_inner()).take();
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
    bell: BorrowedFd<'a>,
    #[serde(serialize_with = "crate::handoff::serialize_fd")]
    region: BorrowedFd<'a>,
    maxsize: u32,
    joinable: bool,
}

#[derive(Deserialize)]
struct Wire {
    tx: Option<TravelFd>,
    rx: TravelFd,
    bell: TravelFd,
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
        let tx = self.inner.tx.read().unwrap_or_else(|p| p.into_inner());
        WireRef {
            tx: tx.as_ref().map(AsFd::as_fd),
            rx: self.inner.rx.as_fd(),
            bell: self.inner.bell.as_fd(),
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
        let capacity = Inner::check_region(&region).map_err(serde::de::Error::custom)?;
        Ok(Queue {
            inner: Arc::new(Inner {
                tx: RwLock::new(wire.tx.map(|fd| TrackedFd::new(fd.0))),
                rx: TrackedFd::new(wire.rx.0),
                bell: TrackedFd::new(wire.bell.0),
                region,
                region_fd: TrackedFd::new(region_fd),
                maxsize: wire.maxsize,
                capacity,
            }),
            joinable: wire.joinable,
            _items: PhantomData,
        })
    }
}
