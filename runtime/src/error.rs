//! The crate's one error type.

use std::time::Duration;

/// What went wrong, and where.
///
/// Every fallible call of the crate returns [`Result<T>`](crate::Result).
/// The variants a caller is expected to match on are the ways a child can
/// fail: [`Panicked`](Error::Panicked), [`Signaled`](Error::Signaled),
/// [`Exited`](Error::Exited), and [`Timeout`](Error::Timeout).
///
/// # Examples
///
/// ```
/// use multiproc::Error;
///
/// let e = Error::Signaled { pid: 42, signal: 9, name: "SIGKILL", core_dumped: false, stderr: String::new() };
/// assert_eq!(e.to_string(), "process 42 was killed by signal 9 (SIGKILL)");
/// assert!(e.is_child_failure());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The child's code panicked; `message` and `location` come from the child.
    #[error("process {pid} panicked at {}: {message}", location.as_deref().unwrap_or("<unknown location>"))]
    Panicked {
        /// The child's pid.
        pid: i32,
        /// The panic payload, when it was a string.
        message: String,
        /// `file:line:column` of the panic, when the child could record it.
        location: Option<String>,
    },
    /// The child was killed by a signal before it reported a result.
    #[error("process {pid} was killed by signal {signal} ({name}){}{}", if *core_dumped { ", core dumped" } else { "" }, last_words(stderr))]
    Signaled {
        /// The child's pid.
        pid: i32,
        /// The signal number.
        signal: i32,
        /// The signal's name, e.g. `"SIGKILL"`.
        name: &'static str,
        /// Whether the kernel dumped core.
        core_dumped: bool,
        /// The last lines the child wrote to its stderr (up to 4 KiB;
        /// empty if none, or if it was not captured).
        stderr: String,
    },
    /// The child exited (for example with `std::process::exit`) before it
    /// reported a result.
    #[error(
        "process {pid} exited with code {code} before it reported a result{}",
        last_words(stderr)
    )]
    Exited {
        /// The child's pid.
        pid: i32,
        /// The exit code.
        code: i32,
        /// The last lines the child wrote to its stderr (up to 4 KiB;
        /// empty if none, or if it was not captured).
        stderr: String,
    },
    /// The child ran out of memory: an allocation failed and the child
    /// aborted (the standard library's "memory allocation of N bytes
    /// failed", read from its stderr).
    #[error("process {pid} ran out of memory{}{}", size.map(|s| format!(": an allocation of {s} bytes failed")).unwrap_or_default(), last_words(stderr))]
    OutOfMemory {
        /// The child's pid.
        pid: i32,
        /// The size of the allocation that failed, when the child said.
        size: Option<u64>,
        /// The last lines the child wrote to its stderr.
        stderr: String,
    },
    /// A blocking call ran out of time; the operation may be retried.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// `join` was called after the result had been taken.
    #[error("the result of process {pid} was already taken by an earlier join")]
    AlreadyJoined {
        /// The child's pid.
        pid: i32,
    },
    /// No `#[process_fn]` with this name is linked into the program.
    #[error("no #[process_fn] named `{0}` is registered in this executable")]
    UnknownEntry(String),
    /// Two `#[process_fn]` items resolve to the same stable name.
    #[error("two #[process_fn] items share the name `{name}` ({first} and {second}); rename one or give it `#[process_fn(name = \"…\")]`")]
    DuplicateEntry {
        /// The shared stable name.
        name: String,
        /// Where the first one is defined (`file:line`).
        first: String,
        /// Where the second one is defined (`file:line`).
        second: String,
    },
    /// The child could not run the entry (it is missing there, or its
    /// arguments did not decode); the message comes from the child.
    #[error("process {pid} could not run its task: {message}")]
    ChildSetup {
        /// The child's pid.
        pid: i32,
        /// What the child reported.
        message: String,
    },
    /// Bytes that did not decode as the expected type, or a value that could
    /// not be encoded (a task's result: the message names its entry).
    #[error("codec: {0}")]
    Codec(String),
    /// A frame longer than the limit was announced.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The limit in force.
        max: u64,
    },
    /// The peer closed the channel in the middle of a frame, or before one.
    #[error("the other end closed the channel{}", if *partial { " in the middle of a frame" } else { "" })]
    Disconnected {
        /// Whether part of a frame had arrived.
        partial: bool,
    },
    /// The forkserver process is gone or answered nonsense.
    #[error("forkserver: {0}")]
    ForkServer(String),
    /// One item of a `map`-like call failed; `index` is its position in the
    /// input.
    #[error("item {index} failed: {source}")]
    ItemFailed {
        /// The item's position in the input.
        index: usize,
        /// Why it failed.
        source: Box<Error>,
    },
    /// The task had run, but its worker died before it sent the result.
    /// Only tasks finished in the worker's last moments are lost this way.
    #[error("the task ran, but its worker (pid {pid}) died before sending the result: {cause}")]
    ResultLost {
        /// The worker's pid.
        pid: i32,
        /// How the worker died.
        cause: String,
    },
    /// The task ran longer than the pool's task timeout; its worker was
    /// killed and replaced.
    #[error("the task ran longer than the task timeout of {0:?}; its worker was killed and replaced")]
    TaskTimeout(Duration),
    /// The pool was closed: it accepts no more work.
    #[error("the pool is closed and accepts no more work")]
    PoolClosed,
    /// The pool was terminated before the task finished.
    #[error("the pool was terminated before the task finished")]
    PoolTerminated,
    /// A worker's initializer failed; the pool cannot run tasks.
    #[error("a worker's initializer failed, so the pool cannot run tasks: {0}")]
    InitializerFailed(String),
    /// `put` on a full queue ran out of time (Python's `queue.Full`).
    #[error("the queue is full")]
    Full,
    /// `get` on an empty queue ran out of time (Python's `queue.Empty`).
    #[error("the queue is empty")]
    Empty,
    /// `put` on a queue handle after its `close()`.
    #[error("this queue handle was closed; it puts no more")]
    QueueClosed,
    /// The barrier is broken: aborted, reset while parties waited, or a
    /// party's wait timed out (Python's `BrokenBarrierError`).
    #[error("the barrier is broken")]
    BrokenBarrier,
    /// The task was cancelled before it ran.
    #[error("the task was cancelled before it ran")]
    Cancelled,
    /// The executor was shut down: it accepts no more work.
    #[error("the executor is shut down")]
    ExecutorShutdown,
    /// `as_completed` ran out of time with futures still pending.
    #[error("timed out with {pending} (of {total}) futures unfinished")]
    Pending {
        /// How many had not completed.
        pending: usize,
        /// How many were waited on.
        total: usize,
    },
    /// A call that needs another one first (for example `Pool::join`
    /// before `close` or `terminate`).
    #[error("{0}")]
    Usage(std::borrow::Cow<'static, str>),
    /// A manager's server or a [`Listener`](crate::connection::Listener)
    /// refused the authkey, or could not prove that it knows it; or (on
    /// the listener's side) a client answered with another key; or a
    /// frame failed its check after the handshake. The message says which.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(String),
    /// A manager call failed on the way: the server is gone, the object or
    /// the name is unknown, or its type is not the one asked for.
    #[error("manager: {0}")]
    Manager(String),
    /// A manager's server (or a [`Listener`](crate::connection::Listener))
    /// could not take the connection: it is out of descriptors, or made
    /// room for newer connections that had not authenticated yet — and
    /// still was after a few quick retries (75 ms in all). Retrying later
    /// may work.
    #[error("the manager is busy: {0}")]
    ManagerBusy(String),
    /// Connecting to a manager's server or a
    /// [`Listener`](crate::connection::Listener) and the handshake with it
    /// did not finish within this total time (however the bytes trickled
    /// in): 10 s, or the timeout given to
    /// [`BaseManager::connect_timeout`](crate::manager::BaseManager::connect_timeout)
    /// or [`Client::connect_timeout`](crate::connection::Client::connect_timeout).
    #[error("the handshake did not finish within {0:?}")]
    HandshakeTimeout(Duration),
    /// A lock was acquired from a holder that died while holding it (what
    /// it guarded may be half-updated), and given up again: what `?` makes
    /// of [`LockError::OwnerDied`](crate::sync::LockError::OwnerDied). Match
    /// the `LockError` instead to keep the guard.
    #[error("a lock's previous holder died while holding it; what it guarded may be half-updated")]
    OwnerDied,
    /// A lock was not acquired in the time given (or at once, for a `try_`):
    /// what `?` makes of [`LockError::Timeout`](crate::sync::LockError::Timeout).
    #[error("the lock was not acquired in time")]
    NotAcquired,
    /// [`SharedMemory::create`](crate::shared::SharedMemory::create) found
    /// the name taken (Python's `FileExistsError`): an existing block is
    /// never reused, whoever made it.
    #[error("shared memory `{0}` already exists")]
    SharedMemoryExists(String),
    /// No shared memory block has this name (Python's `FileNotFoundError`).
    #[error("no shared memory is named `{0}`")]
    SharedMemoryNotFound(String),
    /// A shared memory block was found under the name, but not one to
    /// trust: it belongs to another user, gives access to group or others,
    /// or is not a plain block (`reason` says which).
    #[error("refusing shared memory `{name}`: {reason}")]
    SharedMemoryRefused {
        /// The name asked for.
        name: String,
        /// What is wrong with what was found.
        reason: String,
    },
    /// An index past the end of a fixed-length sequence, such as a
    /// [`ShareableList`](crate::shared::ShareableList) (Python's
    /// `IndexError`).
    #[error("index {index} is out of range for length {len}")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The length of the sequence.
        len: usize,
    },
    /// An operating-system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What the library was doing.
        context: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Clone for Error {
    /// A copy; an I/O error is copied as its kind and message (the OS error
    /// itself cannot be cloned).
    fn clone(&self) -> Self {
        match self {
            Error::Panicked { pid, message, location } => Error::Panicked {
                pid: *pid,
                message: message.clone(),
                location: location.clone(),
            },
            Error::Signaled {
                pid,
                signal,
                name,
                core_dumped,
                stderr,
            } => Error::Signaled {
                pid: *pid,
                signal: *signal,
                name,
                core_dumped: *core_dumped,
                stderr: stderr.clone(),
            },
            Error::Exited { pid, code, stderr } => Error::Exited {
                pid: *pid,
                code: *code,
                stderr: stderr.clone(),
            },
            Error::OutOfMemory { pid, size, stderr } => Error::OutOfMemory {
                pid: *pid,
                size: *size,
                stderr: stderr.clone(),
            },
            Error::Timeout(d) => Error::Timeout(*d),
            Error::AlreadyJoined { pid } => Error::AlreadyJoined { pid: *pid },
            Error::UnknownEntry(name) => Error::UnknownEntry(name.clone()),
            Error::DuplicateEntry { name, first, second } => Error::DuplicateEntry {
                name: name.clone(),
                first: first.clone(),
                second: second.clone(),
            },
            Error::ChildSetup { pid, message } => Error::ChildSetup {
                pid: *pid,
                message: message.clone(),
            },
            Error::Codec(m) => Error::Codec(m.clone()),
            Error::FrameTooLarge { len, max } => Error::FrameTooLarge { len: *len, max: *max },
            Error::Disconnected { partial } => Error::Disconnected { partial: *partial },
            Error::ForkServer(m) => Error::ForkServer(m.clone()),
            Error::ItemFailed { index, source } => Error::ItemFailed {
                index: *index,
                source: source.clone(),
            },
            Error::ResultLost { pid, cause } => Error::ResultLost {
                pid: *pid,
                cause: cause.clone(),
            },
            Error::TaskTimeout(d) => Error::TaskTimeout(*d),
            Error::PoolClosed => Error::PoolClosed,
            Error::PoolTerminated => Error::PoolTerminated,
            Error::Full => Error::Full,
            Error::Empty => Error::Empty,
            Error::QueueClosed => Error::QueueClosed,
            Error::BrokenBarrier => Error::BrokenBarrier,
            Error::Cancelled => Error::Cancelled,
            Error::ExecutorShutdown => Error::ExecutorShutdown,
            Error::Pending { pending, total } => Error::Pending {
                pending: *pending,
                total: *total,
            },
            Error::InitializerFailed(m) => Error::InitializerFailed(m.clone()),
            Error::Usage(m) => Error::Usage(m.clone()),
            Error::AuthenticationFailed(m) => Error::AuthenticationFailed(m.clone()),
            Error::Manager(m) => Error::Manager(m.clone()),
            Error::ManagerBusy(m) => Error::ManagerBusy(m.clone()),
            Error::HandshakeTimeout(d) => Error::HandshakeTimeout(*d),
            Error::OwnerDied => Error::OwnerDied,
            Error::NotAcquired => Error::NotAcquired,
            Error::SharedMemoryExists(n) => Error::SharedMemoryExists(n.clone()),
            Error::SharedMemoryNotFound(n) => Error::SharedMemoryNotFound(n.clone()),
            Error::SharedMemoryRefused { name, reason } => Error::SharedMemoryRefused {
                name: name.clone(),
                reason: reason.clone(),
            },
            Error::IndexOutOfRange { index, len } => Error::IndexOutOfRange {
                index: *index,
                len: *len,
            },
            Error::Io { context, source } => Error::Io {
                context,
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
        }
    }
}

impl Error {
    /// Whether this error reports a child that failed (panicked, was killed,
    /// or exited early) rather than a problem on the caller's side.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::Error;
    /// assert!(!Error::Timeout(std::time::Duration::from_secs(1)).is_child_failure());
    /// ```
    pub fn is_child_failure(&self) -> bool {
        match self {
            Error::ItemFailed { source, .. } => source.is_child_failure(),
            other => matches!(
                other,
                Error::Panicked { .. }
                    | Error::Signaled { .. }
                    | Error::Exited { .. }
                    | Error::OutOfMemory { .. }
                    | Error::ChildSetup { .. }
                    | Error::ResultLost { .. }
                    | Error::TaskTimeout(_)
            ),
        }
    }

    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io { context, source }
    }
}

/// The error of a zero `chunksize`, refused as every other zero size is.
pub(crate) fn zero_chunksize() -> Error {
    Error::Usage("chunksize must be at least 1 (leave it out for an automatic size)".into())
}

pub(crate) fn zero_buffersize() -> Error {
    Error::Usage("buffersize must be at least 1 (plain `map` picks a bound itself)".into())
}

/// How an [`Error`] travels between processes: owned data only. A
/// `#[process_fn]` may return `multiproc::Result<T>`, and its error arrives
/// in the parent as it was made in the child.
#[derive(serde::Serialize, serde::Deserialize)]
enum Wire {
    Panicked(i32, String, Option<String>),
    Signaled(i32, i32, bool, String),
    Exited(i32, i32, String),
    Timeout(Duration),
    AlreadyJoined(i32),
    UnknownEntry(String),
    DuplicateEntry(String, String, String),
    ChildSetup(i32, String),
    Codec(String),
    FrameTooLarge(u64, u64),
    Disconnected(bool),
    ForkServer(String),
    ItemFailed(usize, Nested),
    ResultLost(i32, String),
    TaskTimeout(Duration),
    PoolClosed,
    PoolTerminated,
    Full,
    Empty,
    QueueClosed,
    BrokenBarrier,
    Cancelled,
    ExecutorShutdown,
    Pending(usize, usize),
    InitializerFailed(String),
    Usage(String),
    AuthenticationFailed(String),
    Manager(String),
    Io(String, String),
    ManagerBusy(String),
    HandshakeTimeout(Duration),
    OutOfMemory(i32, Option<u64>, String),
    OwnerDied,
    NotAcquired,
    SharedMemoryExists(String),
    SharedMemoryNotFound(String),
    SharedMemoryRefused(String, String),
    IndexOutOfRange(u64, u64),
}

/// The source of an `ItemFailed`, decoded with a depth limit: bytes from
/// another process could nest errors a million deep, and a recursive
/// decoder would overflow the stack (found by fuzzing).
struct Nested(Box<Wire>);

/// Deepest `ItemFailed` nesting decoded (the library nests one level).
const MAX_NESTING: u32 = 8;

impl serde::Serialize for Nested {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Nested {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use std::cell::Cell;
        thread_local! {
            static DEPTH: Cell<u32> = const { Cell::new(0) };
        }
        /// Counts one level for as long as it lives.
        struct Level;
        impl Drop for Level {
            fn drop(&mut self) {
                DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
            }
        }
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let _level = Level;
        if depth > MAX_NESTING {
            return Err(serde::de::Error::custom("errors nested too deeply"));
        }
        Ok(Nested(Box::new(Wire::deserialize(d)?)))
    }
}

impl From<&Error> for Wire {
    fn from(e: &Error) -> Wire {
        match e.clone() {
            Error::Panicked { pid, message, location } => Wire::Panicked(pid, message, location),
            Error::Signaled {
                pid,
                signal,
                core_dumped,
                stderr,
                ..
            } => Wire::Signaled(pid, signal, core_dumped, stderr),
            Error::Exited { pid, code, stderr } => Wire::Exited(pid, code, stderr),
            Error::OutOfMemory { pid, size, stderr } => Wire::OutOfMemory(pid, size, stderr),
            Error::Timeout(d) => Wire::Timeout(d),
            Error::AlreadyJoined { pid } => Wire::AlreadyJoined(pid),
            Error::UnknownEntry(n) => Wire::UnknownEntry(n),
            Error::DuplicateEntry { name, first, second } => Wire::DuplicateEntry(name, first, second),
            Error::ChildSetup { pid, message } => Wire::ChildSetup(pid, message),
            Error::Codec(m) => Wire::Codec(m),
            Error::FrameTooLarge { len, max } => Wire::FrameTooLarge(len, max),
            Error::Disconnected { partial } => Wire::Disconnected(partial),
            Error::ForkServer(m) => Wire::ForkServer(m),
            Error::ItemFailed { index, source } => Wire::ItemFailed(index, Nested(Box::new(Wire::from(&*source)))),
            Error::ResultLost { pid, cause } => Wire::ResultLost(pid, cause),
            Error::TaskTimeout(d) => Wire::TaskTimeout(d),
            Error::PoolClosed => Wire::PoolClosed,
            Error::PoolTerminated => Wire::PoolTerminated,
            Error::Full => Wire::Full,
            Error::Empty => Wire::Empty,
            Error::QueueClosed => Wire::QueueClosed,
            Error::BrokenBarrier => Wire::BrokenBarrier,
            Error::Cancelled => Wire::Cancelled,
            Error::ExecutorShutdown => Wire::ExecutorShutdown,
            Error::Pending { pending, total } => Wire::Pending(pending, total),
            Error::InitializerFailed(m) => Wire::InitializerFailed(m),
            Error::Usage(m) => Wire::Usage(m.into_owned()),
            Error::AuthenticationFailed(m) => Wire::AuthenticationFailed(m),
            Error::Manager(m) => Wire::Manager(m),
            Error::ManagerBusy(m) => Wire::ManagerBusy(m),
            Error::HandshakeTimeout(d) => Wire::HandshakeTimeout(d),
            Error::OwnerDied => Wire::OwnerDied,
            Error::NotAcquired => Wire::NotAcquired,
            Error::SharedMemoryExists(n) => Wire::SharedMemoryExists(n),
            Error::SharedMemoryNotFound(n) => Wire::SharedMemoryNotFound(n),
            Error::SharedMemoryRefused { name, reason } => Wire::SharedMemoryRefused(name, reason),
            Error::IndexOutOfRange { index, len } => Wire::IndexOutOfRange(index as u64, len as u64),
            Error::Io { context, source } => Wire::Io(context.to_string(), source.to_string()),
        }
    }
}

impl From<Wire> for Error {
    fn from(w: Wire) -> Error {
        match w {
            Wire::Panicked(pid, message, location) => Error::Panicked { pid, message, location },
            Wire::Signaled(pid, signal, core_dumped, stderr) => Error::Signaled {
                pid,
                signal,
                name: crate::sys::signal_name(signal),
                core_dumped,
                stderr,
            },
            Wire::Exited(pid, code, stderr) => Error::Exited { pid, code, stderr },
            Wire::OutOfMemory(pid, size, stderr) => Error::OutOfMemory { pid, size, stderr },
            Wire::Timeout(d) => Error::Timeout(d),
            Wire::AlreadyJoined(pid) => Error::AlreadyJoined { pid },
            Wire::UnknownEntry(n) => Error::UnknownEntry(n),
            Wire::DuplicateEntry(name, first, second) => Error::DuplicateEntry { name, first, second },
            Wire::ChildSetup(pid, message) => Error::ChildSetup { pid, message },
            Wire::Codec(m) => Error::Codec(m),
            Wire::FrameTooLarge(len, max) => Error::FrameTooLarge { len, max },
            Wire::Disconnected(partial) => Error::Disconnected { partial },
            Wire::ForkServer(m) => Error::ForkServer(m),
            Wire::ItemFailed(index, source) => Error::ItemFailed {
                index,
                source: Box::new(Error::from(*source.0)),
            },
            Wire::ResultLost(pid, cause) => Error::ResultLost { pid, cause },
            Wire::TaskTimeout(d) => Error::TaskTimeout(d),
            Wire::PoolClosed => Error::PoolClosed,
            Wire::PoolTerminated => Error::PoolTerminated,
            Wire::Full => Error::Full,
            Wire::Empty => Error::Empty,
            Wire::QueueClosed => Error::QueueClosed,
            Wire::BrokenBarrier => Error::BrokenBarrier,
            Wire::Cancelled => Error::Cancelled,
            Wire::ExecutorShutdown => Error::ExecutorShutdown,
            Wire::Pending(pending, total) => Error::Pending { pending, total },
            Wire::InitializerFailed(m) => Error::InitializerFailed(m),
            Wire::Usage(m) => Error::Usage(m.into()),
            Wire::AuthenticationFailed(m) => Error::AuthenticationFailed(m),
            Wire::Manager(m) => Error::Manager(m),
            Wire::ManagerBusy(m) => Error::ManagerBusy(m),
            Wire::HandshakeTimeout(d) => Error::HandshakeTimeout(d),
            Wire::OwnerDied => Error::OwnerDied,
            Wire::NotAcquired => Error::NotAcquired,
            Wire::SharedMemoryExists(n) => Error::SharedMemoryExists(n),
            Wire::SharedMemoryNotFound(n) => Error::SharedMemoryNotFound(n),
            Wire::SharedMemoryRefused(name, reason) => Error::SharedMemoryRefused { name, reason },
            Wire::IndexOutOfRange(index, len) => Error::IndexOutOfRange {
                index: usize::try_from(index).unwrap_or(usize::MAX),
                len: usize::try_from(len).unwrap_or(usize::MAX),
            },
            // The context was a static string in the other process; its text
            // stays, in the message.
            Wire::Io(context, message) => Error::Io {
                context: "in another process",
                source: std::io::Error::other(format!("{context}: {message}")),
            },
        }
    }
}

/// Errors are serde types, so a `#[process_fn]` can return
/// `multiproc::Result<T>`.
///
/// # Examples
///
/// ```
/// use multiproc::Error;
/// # fn main() -> multiproc::Result<()> {
/// let e = Error::Exited { pid: 7, code: 3, stderr: "bye".into() };
/// let (a, b) = multiproc::pipe::Pipe::new()?;
/// a.send(&e)?; // to another process, say
/// let back: Error = b.recv()?;
/// assert_eq!(back.to_string(), e.to_string());
/// # Ok(())
/// # }
/// ```
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        Wire::from(self).serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Error {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Wire::deserialize(deserializer).map(Error::from)
    }
}

/// `Result` with [`Error`](enum@Error) as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The tail of an error's message that quotes a child's last words.
fn last_words(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended with:\n{stderr}")
    }
}
