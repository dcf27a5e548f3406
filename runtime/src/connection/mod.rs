//! The guide's `multiprocessing.connection`: [`wait`] on several pipe ends
//! and processes at once, and [`Listener`] / [`Client`], which connect
//! unrelated processes that share an authkey.
//!
//! # `wait`
//!
//! [`wait`] takes anything [`Waitable`]: a [`Connection`] (ready when a
//! message can be received without blocking, or its peer is gone), a
//! [`Process`] (ready once the child has exited: its
//! [`sentinel`](Process::sentinel)), or any descriptor as a
//! [`BorrowedFd`] (ready when it polls readable). It returns the indices
//! of the ready ones.
//!
//! Queues are not waitable. A [`Queue`](crate::queue::Queue) wakes its
//! sleepers through a bell that producers ring only for a registered
//! sleeper and that a `get` consumes, not through a descriptor that stays
//! readable while items are there; Python's `wait` does not take a queue
//! either. Wait with `get_timeout` on a thread of its own, or send through
//! a [`Pipe`](crate::pipe::Pipe) instead.
//!
//! # `Listener` and `Client`
//!
//! A [`Listener`] listens on an [`Address`] — TCP `host:port`, a Unix
//! socket path, or an abstract Unix name — and [`accept`](Listener::accept)
//! gives a [`Connection`] for each client that proves it knows the
//! authkey; [`Client::connect`] is the other side. The connection is a
//! plain [`Connection`], with every method of a pipe end, and works with
//! [`wait`]; it cannot travel to another process.
//!
//! The handshake and the framing are the managers' own: before anything
//! else, each side proves it knows the key with an HMAC-SHA256 over a
//! fresh nonce of the other's, so a client without the key learns nothing
//! and is closed. Then every message carries a 16-byte tag under keys
//! bound to that handshake, and over TCP is encrypted (AES-256-GCM): a
//! relay without the key can neither read, change, replay nor inject a
//! message. A Unix socket serves and reaches only processes of the same
//! user (or root), as the kernel says (`SO_PEERCRED`); use TCP between
//! users.
//!
//! What a stranger can make a listener spend before it authenticates is
//! bounded, as for a manager's server: `accept` runs every handshake under
//! way in one `poll` loop, so a client that connects and says nothing
//! holds up no one else, and it is closed when its handshake has not
//! finished 5 s after it connected (the whole handshake, however the
//! bytes trickle in); at most a quarter of the descriptor limit (8 to 256)
//! of such connections is kept, the oldest pushed out beyond that.
//! Handshakes progress while `accept` runs; a client that connects while
//! no one accepts waits in the kernel's queue.

//!
//! `wait` is here (`mod.rs`); `Listener`, `Client` and their [`Address`]
//! are in `listener.rs`, with the `manager` feature, whose handshake and
//! framing they share.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::pipe::Connection;
use crate::process::Process;
use crate::sys;

#[cfg(feature = "manager")]
mod listener;
#[cfg(feature = "manager")]
#[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
pub use listener::{Address, Client, Listener};

mod sealed {
    use std::os::fd::BorrowedFd;

    /// What [`wait`](super::wait) needs of an object; sealed, so that the
    /// readiness rules stay the crate's.
    #[allow(unreachable_pub)] // reachable as the supertrait of `Waitable`
    pub trait Sealed {
        /// The descriptor that polls readable when the object may be ready.
        fn wait_fd(&self) -> BorrowedFd<'_>;

        /// Ready before any poll (data already buffered in user space).
        fn ready_now(&self) -> bool {
            false
        }

        /// The descriptor polled readable: whether the object is ready.
        fn settle(&self) -> bool {
            true
        }
    }
}

/// What [`wait`] can wait on: a [`Connection`], a [`Process`] (its exit),
/// or a raw descriptor as a [`BorrowedFd`] (readable). Sealed: the crate's
/// types and descriptors only.
///
/// # Examples
///
/// ```
/// use multiproc::connection::{wait, Waitable};
/// use multiproc::pipe::Pipe;
/// use std::time::Duration;
///
/// # fn main() -> multiproc::Result<()> {
/// let (a, b) = Pipe::new()?;
/// let p = multiproc::Process::builder().fork(|| ())?;
/// a.send(&1)?;
/// // Mixed kinds in one list.
/// let objects: [&dyn Waitable; 2] = [&b, &p];
/// let ready = wait(&objects, Some(Duration::from_secs(60)))?;
/// assert!(ready.contains(&0));
/// # Ok(())
/// # }
/// ```
pub trait Waitable: sealed::Sealed {}

impl sealed::Sealed for Connection {
    fn wait_fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }

    fn ready_now(&self) -> bool {
        self.message_buffered()
    }

    fn settle(&self) -> bool {
        Connection::settle(self)
    }
}
impl Waitable for Connection {}

impl<R> sealed::Sealed for Process<R> {
    fn wait_fd(&self) -> BorrowedFd<'_> {
        self.sentinel()
    }
}
impl<R> Waitable for Process<R> {}

impl sealed::Sealed for BorrowedFd<'_> {
    fn wait_fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}
impl Waitable for BorrowedFd<'_> {}

/// Waits until at least one of `objects` is ready, or `timeout` passes
/// (`None`: as long as it takes) — Python's
/// `multiprocessing.connection.wait`. Returns the indices of the ready
/// objects into `objects`, in order; empty when the time ran out.
///
/// Indices rather than the objects themselves: the list may mix kinds,
/// and an index finds the typed object in the caller's own list again.
///
/// Ready means:
/// - a [`Connection`]: a whole message is there (`recv` returns at once),
///   or the other end is closed or its process died (`recv` then fails at
///   once with [`Error::Disconnected`]) — a dead peer wakes the waiter, as
///   in Python. Half a message is not ready yet: the wait goes on;
/// - a [`Process`]: the child has exited (also after `join`);
/// - a [`BorrowedFd`]: it polls readable (or hung up, or failed).
///
/// # Errors
/// [`Error::Usage`] for an empty list without a timeout (it would wait
/// forever); [`Error::Io`] when `poll` fails.
///
/// # Examples
///
/// ```
/// use multiproc::connection::wait;
/// use multiproc::pipe::Pipe;
/// use std::time::Duration;
///
/// # fn main() -> multiproc::Result<()> {
/// let (a1, b1) = Pipe::new()?;
/// let (a2, b2) = Pipe::new()?;
/// // Nothing yet: the time runs out.
/// assert!(wait(&[&b1, &b2], Some(Duration::from_millis(10)))?.is_empty());
/// a2.send("second")?;
/// assert_eq!(wait(&[&b1, &b2], None)?, [1]);
/// assert_eq!(b2.recv::<String>()?, "second");
/// drop(a1); // a closed peer counts as ready
/// assert_eq!(wait(&[&b1, &b2], Some(Duration::from_secs(60)))?, [0]);
/// # Ok(())
/// # }
/// ```
pub fn wait(objects: &[&dyn Waitable], timeout: Option<Duration>) -> Result<Vec<usize>> {
    if objects.is_empty() && timeout.is_none() {
        return Err(Error::Usage(
            "connection::wait on no objects and without a timeout would wait forever".into(),
        ));
    }
    let deadline = timeout.map(crate::deadline::after_or_far);
    loop {
        // Messages already buffered: ready without a poll, which then only
        // looks at the others (without sleeping).
        let buffered: Vec<bool> = objects.iter().map(|o| o.ready_now()).collect();
        let now_only = buffered.contains(&true);
        let fds: Vec<(BorrowedFd<'_>, i16)> = objects.iter().map(|o| (o.wait_fd(), sys::POLLIN)).collect();
        let revents =
            sys::poll(&fds, if now_only { Some(Instant::now()) } else { deadline }).map_err(Error::io("poll"))?;
        // Any event counts: POLLHUP and POLLERR (a dead peer) wake too.
        let ready: Vec<usize> = (0..objects.len())
            .filter(|&i| buffered[i] || (revents[i] != 0 && objects[i].settle()))
            .collect();
        if !ready.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(ready);
        }
    }
}
