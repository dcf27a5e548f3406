//! [`Process`]: the handle of a started child, and how it joins, times
//! out, is killed and reports its failure; [`CapturedOutput`].

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use self::child::Outcome;
use crate::codec::{self, FrameReader};

use crate::error::{Error, Result};
use crate::sys::{self, WaitStatus};

use super::*;

/// What the handle has learnt about its child so far.
#[derive(Debug)]
struct State {
    reader: FrameReader,
    result_open: bool,
    outcome: Option<Outcome>,
    bad_frame: Option<Error>,
    /// The child has exited (its pidfd is readable).
    ended: bool,
    /// How it exited, once known.
    exit: Option<WaitStatus>,
    taken: bool,
}

/// A running or finished child process, and the typed result it will give.
///
/// Start one with [`Process::builder`]. [`join`](Process::join) waits and
/// returns what the child's function returned, or an error that says how
/// the child failed: its panic message and location, the signal that killed
/// it, or its exit code.
///
/// Dropping a handle never blocks and never leaves a zombie: a child still
/// running is reaped in the background when it exits. A daemon child is
/// killed when the parent exits; any other child runs on.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use std::time::Duration;
///
/// #[process_fn]
/// fn nap(ms: u64) {
///     std::thread::sleep(Duration::from_millis(ms));
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let mut p = Process::builder().start(nap, (60_000,))?;
/// assert!(p.is_alive());
/// assert!(matches!(p.join_timeout(Duration::from_millis(10)), Err(Error::Timeout(_))));
/// p.terminate()?;
/// let err = p.join().unwrap_err();
/// assert!(err.to_string().contains("SIGTERM"));
/// assert_eq!(p.exitcode(), Some(-15));
/// # Ok(())
/// # }
/// ```
pub struct Process<R> {
    shared: Arc<Shared>,
    result: OwnedFd,
    status: Option<OwnedFd>,
    /// The child's output: its stderr's last words go into the error of its
    /// death; a captured stream is read whole by [`Process::output`].
    output: output::Captured,
    capture_output: bool,
    daemon: bool,
    start_method: StartMethod,
    state: Mutex<State>,
    _result: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.shared.pid)
            .field("name", &self.shared.name)
            .field("daemon", &self.daemon)
            .field("start_method", &self.start_method)
            .finish_non_exhaustive()
    }
}

impl Process<()> {
    /// Starts building a process; see [`ProcessBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| std::process::id())?;
    /// let child_pid = p.pid();
    /// assert_eq!(p.join()? as i32, child_pid);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ProcessBuilder {
        ProcessBuilder::new()
    }
}

impl<R> Process<R> {
    pub(super) fn new(launched: Launched, name: String, daemon: bool, start_method: StartMethod) -> Self {
        let shared = Arc::new(Shared {
            pid: launched.pid,
            name,
            pidfd: launched.pidfd,
            start_method,
            daemon,
        });
        if let Ok(mut children) = CHILDREN.get().lock() {
            children.retain(|w| w.strong_count() > 0);
            children.push(Arc::downgrade(&shared));
        }
        Process {
            shared,
            result: launched.result,
            status: launched.status,
            capture_output: launched.output.stdout.is_some(),
            output: launched.output,
            daemon,
            start_method,
            state: Mutex::new(State {
                reader: FrameReader::new(codec::MAX_FRAME_LEN),
                result_open: true,
                outcome: None,
                bad_frame: None,
                ended: false,
                exit: None,
                taken: false,
            }),
            _result: PhantomData,
        }
    }

    /// The child's process id.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| ())?;
    /// assert!(p.pid() > 0);
    /// p.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn pid(&self) -> i32 {
        self.shared.pid
    }

    /// The child's name (`Process-N` unless the builder named it).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().name("w").fork(|| ())?;
    /// assert_eq!(p.name(), "w");
    /// p.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// What the child wrote to its standard output and error, when it was
    /// started with [`ProcessBuilder::capture_output`]; `None` without it,
    /// and until the child has ended (after [`join`](Process::join), say).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn hello() {
    ///     println!("hello");
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = Process::builder().capture_output(true).start(hello, ())?;
    /// p.join()?;
    /// assert_eq!(p.output().unwrap().stdout, b"hello\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn output(&self) -> Option<CapturedOutput> {
        if !self.capture_output || !self.lock().ended {
            return None;
        }
        Some(CapturedOutput {
            stdout: self.output.stdout.as_ref().map(output::Tail::all).unwrap_or_default(),
            stderr: self.output.stderr.as_ref().map(output::Tail::all).unwrap_or_default(),
        })
    }

    /// Whether the child was started as a daemon.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().daemon(true).fork(|| ())?;
    /// assert!(p.daemon());
    /// p.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// How the child was started.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| ())?;
    /// assert_eq!(p.start_method(), multiproc::StartMethod::Fork);
    /// p.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_method(&self) -> StartMethod {
        self.start_method
    }

    /// Whether the child is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| ())?;
    /// p.join()?;
    /// assert!(!p.is_alive());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_alive(&self) -> bool {
        let mut state = self.lock();
        // An error here means we cannot tell; the child is then not ours to
        // call alive.
        matches!(self.pump(&mut state, Some(Instant::now())), Ok(false))
    }

    /// Python's `exitcode`: `None` while the child runs, then its exit code,
    /// or minus the number of the signal that killed it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| -> () { std::process::exit(3) })?;
    /// assert!(p.join().is_err());
    /// assert_eq!(p.exitcode(), Some(3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        let mut state = self.lock();
        if matches!(self.pump(&mut state, Some(Instant::now())), Ok(true)) {
            let _ = self.remote_status(&mut state);
        }
        state.exit.map(WaitStatus::exitcode)
    }

    /// Sends `SIGTERM` to the child (a no-op once it has exited).
    ///
    /// # Errors
    /// [`Error::Io`] when the signal cannot be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| std::thread::sleep(std::time::Duration::from_secs(60)))?;
    /// p.terminate()?;
    /// assert!(p.join().is_err());
    /// assert_eq!(p.exitcode(), Some(-15));
    /// # Ok(())
    /// # }
    /// ```
    pub fn terminate(&self) -> Result<()> {
        self.signal(sys::SIGTERM)
    }

    /// Sends `SIGINT` to the child, as Ctrl-C would — Python 3.14's
    /// `interrupt()` (a no-op once the child has exited). Unless the child
    /// handles the signal itself, it ends, killed by `SIGINT`; a child that
    /// inherited `SIGINT` ignored (from a parent started in the background
    /// by a non-interactive shell, say) goes on, as in Python.
    ///
    /// # Errors
    /// [`Error::Io`] when the signal cannot be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| std::thread::sleep(std::time::Duration::from_secs(60)))?;
    /// p.interrupt()?;
    /// assert!(matches!(p.join(), Err(multiproc::Error::Signaled { name: "SIGINT", .. })));
    /// assert_eq!(p.exitcode(), Some(-2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn interrupt(&self) -> Result<()> {
        self.signal(sys::SIGINT)
    }

    /// Sends `SIGKILL` to the child (a no-op once it has exited).
    ///
    /// # Errors
    /// [`Error::Io`] when the signal cannot be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| std::thread::sleep(std::time::Duration::from_secs(60)))?;
    /// p.kill()?;
    /// assert!(matches!(p.join(), Err(multiproc::Error::Signaled { signal: 9, .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn kill(&self) -> Result<()> {
        self.signal(sys::SIGKILL)
    }

    fn signal(&self, signal: i32) -> Result<()> {
        if self.lock().ended {
            return Ok(());
        }
        sys::pidfd_send_signal(self.shared.pidfd.as_fd(), signal).map_err(Error::io("pidfd_send_signal"))
    }

    /// The child's pidfd, readable once the child has exited — Python's
    /// `Process.sentinel`. Give the handle itself to
    /// [`connection::wait`](crate::connection::wait) to wait for it among
    /// pipes; or poll this descriptor in an event loop of your own. It
    /// stays readable after the child has been joined, and stays valid as
    /// long as the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use multiproc::connection::wait;
    /// # fn main() -> multiproc::Result<()> {
    /// let p = multiproc::Process::builder().fork(|| ())?;
    /// // The pidfd of the child, as a descriptor anyone can poll.
    /// let sentinel = p.sentinel();
    /// assert_eq!(wait(&[&sentinel], Some(Duration::from_secs(60)))?, [0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn sentinel(&self) -> std::os::fd::BorrowedFd<'_> {
        self.shared.pidfd.as_fd()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads what the child sent and learns whether it ended, waiting until
    /// `deadline` (`None`: as long as it takes). Returns whether it ended.
    ///
    /// For the first 200 µs it polls without sleeping: a short child has
    /// usually answered and exited by then, and waking a sleeper on the
    /// other CPU costs 40–80 µs here, as much as a whole `fork`. Between
    /// polls it yields, so a child that shares this CPU runs at once.
    fn pump(&self, state: &mut State, deadline: Option<Instant>) -> Result<bool> {
        const SPIN: Duration = Duration::from_micros(200);
        let mut spin_until = None;
        loop {
            if state.ended {
                self.read_available(state)?;
                return Ok(true);
            }
            if spin_until.is_none() {
                spin_until = Some(Instant::now() + SPIN);
            }
            let now = Instant::now();
            let spinning = spin_until.is_some_and(|s| now < s) && deadline.is_none_or(|d| now < d);
            let mut fds = vec![(self.shared.pidfd.as_fd(), sys::POLLIN)];
            if state.result_open {
                fds.push((self.result.as_fd(), sys::POLLIN));
            }
            let revents = sys::poll(&fds, if spinning { Some(now) } else { deadline }).map_err(Error::io("poll"))?;
            if revents.iter().all(|r| *r == 0) {
                if spinning {
                    std::thread::yield_now();
                    continue;
                }
                return Ok(false);
            }
            if revents.get(1).is_some_and(|r| *r != 0) {
                self.read_available(state)?;
            }
            if revents[0] != 0 {
                self.learn_end(state)?;
            }
        }
    }

    /// The pidfd is readable: the child has ended. A local child is reaped
    /// now; a forkserver child's status comes later from the server, and is
    /// read only when needed ([`Process::remote_status`]).
    fn learn_end(&self, state: &mut State) -> Result<()> {
        if self.status.is_none() {
            state.exit = sys::waitid_pidfd(self.shared.pidfd.as_fd(), false).map_err(Error::io("waitid"))?;
            state.ended = state.exit.is_some();
        } else {
            state.ended = true;
        }
        Ok(())
    }

    /// Reads a forkserver child's exit status (the server sends it right
    /// after reaping the child).
    fn remote_status(&self, state: &mut State) -> Result<()> {
        let Some(status) = &self.status else { return Ok(()) };
        if state.exit.is_some() {
            return Ok(());
        }
        let body = codec::read_frame(status.as_fd(), 64).map_err(|e| match e {
            Error::Disconnected { .. } => {
                Error::ForkServer("the server died before it reported the child's exit".into())
            }
            other => other,
        })?;
        state.exit = Some(codec::decode::<WaitStatus>(&body)?);
        Ok(())
    }

    /// Drains the result socket without blocking.
    fn read_available(&self, state: &mut State) -> Result<()> {
        while state.result_open {
            match state.reader.read_from(self.result.as_fd()) {
                // A child that died with our request unread resets the socket.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => state.result_open = false,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(Error::io("reading the child's result")(e)),
                Ok(0) => state.result_open = false,
                Ok(_) => match state.reader.next_frame() {
                    Ok(Some(body)) if state.outcome.is_none() && state.bad_frame.is_none() => {
                        match codec::decode::<Outcome>(&body) {
                            Ok(outcome) => state.outcome = Some(outcome),
                            Err(e) => state.bad_frame = Some(e),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        state.bad_frame = Some(e);
                        state.result_open = false;
                    }
                },
            }
        }
        Ok(())
    }

    /// Waits for the child to exit and returns what its function returned.
    ///
    /// # Errors
    /// - [`Error::Panicked`] with the child's panic message and location;
    /// - [`Error::Signaled`] when a signal killed it before it reported;
    /// - [`Error::Exited`] when it exited before it reported;
    /// - [`Error::AlreadyJoined`] when an earlier `join` took the result;
    /// - [`Error::Codec`] when its bytes do not decode as `R`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| -> u8 { panic!("boom") })?;
    /// match p.join() {
    ///     Err(multiproc::Error::Panicked { message, location, .. }) => {
    ///         assert_eq!(message, "boom");
    ///         assert!(location.is_some());
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&mut self) -> Result<R>
    where
        R: DeserializeOwned,
    {
        let mut state = self.lock();
        self.pump(&mut state, None)?;
        self.take_result(&mut state)
    }

    /// Like [`join`](Process::join), but gives up after `timeout` with
    /// [`Error::Timeout`]; the child keeps running and can be joined again.
    ///
    /// # Errors
    /// [`Error::Timeout`], or any error of [`join`](Process::join).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = multiproc::Process::builder().fork(|| 7)?;
    /// assert_eq!(p.join_timeout(Duration::from_secs(60))?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<R>
    where
        R: DeserializeOwned,
    {
        let mut state = self.lock();
        if !self.pump(&mut state, crate::deadline::after(timeout))? {
            return Err(Error::Timeout(timeout));
        }
        self.take_result(&mut state)
    }

    fn take_result(&self, state: &mut State) -> Result<R>
    where
        R: DeserializeOwned,
    {
        let pid = self.shared.pid;
        if state.taken {
            return Err(Error::AlreadyJoined { pid });
        }
        state.taken = true;
        match state.outcome.take() {
            Some(Outcome::Returned(bytes)) => codec::decode(&bytes),
            Some(Outcome::Panicked { message, location }) => Err(Error::Panicked { pid, message, location }),
            Some(Outcome::SetupFailed(message)) => Err(Error::ChildSetup { pid, message }),
            Some(Outcome::Unencodable(message)) => Err(Error::Codec(format!("process {pid}: {message}"))),
            None => {
                if let Some(e) = state.bad_frame.take() {
                    return Err(e);
                }
                self.remote_status(state)?;
                let exit = state
                    .exit
                    .ok_or(Error::Usage("exit status read before the child ended".into()))?;
                let (stderr, alloc_failure) = self
                    .output
                    .stderr
                    .as_ref()
                    .map(output::Tail::read_out)
                    .unwrap_or_default();
                Err(match exit {
                    _ if alloc_failure.is_some() => Error::OutOfMemory {
                        pid,
                        size: alloc_failure.as_deref().and_then(allocation_size),
                        stderr,
                    },
                    WaitStatus::Exited(code) => Error::Exited { pid, code, stderr },
                    WaitStatus::Signaled(signal, core_dumped) => Error::Signaled {
                        pid,
                        signal,
                        name: sys::signal_name(signal),
                        core_dumped,
                        stderr,
                    },
                })
            }
        }
    }
}

/// The [`sentinel`](Process::sentinel): the child's pidfd.
impl<R> AsFd for Process<R> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sentinel()
    }
}

impl<R> Drop for Process<R> {
    fn drop(&mut self) {
        let ended = self.lock().ended;
        if !ended && self.status.is_none() {
            if let Ok(pidfd) = self.shared.pidfd.try_clone() {
                reap_in_background(pidfd);
            }
        }
    }
}

/// The size in the standard library's "memory allocation of N bytes
/// failed", the line it prints before it aborts.
fn allocation_size(line: &str) -> Option<u64> {
    let (_, rest) = line.split_once("memory allocation of ")?;
    let (size, _) = rest.split_once(" bytes failed")?;
    size.trim().parse().ok()
}

/// What a child started with [`ProcessBuilder::capture_output`] wrote; see
/// [`Process::output`].
///
/// # Examples
///
/// ```
/// let out = multiproc::process::CapturedOutput::default();
/// assert!(out.stdout.is_empty() && out.stderr.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapturedOutput {
    /// Everything the child wrote to its standard output.
    pub stdout: Vec<u8>,
    /// Everything the child wrote to its standard error.
    pub stderr: Vec<u8>,
}
