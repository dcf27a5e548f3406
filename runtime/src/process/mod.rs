//! The guide's `Process`: start a `#[process_fn]` (or, with fork, a closure)
//! in a child process and join its typed result.
//!
//! - `mod.rs` — [`Process`], [`ProcessBuilder`], [`StartMethod`], and the
//!   module-level functions ([`current_process`], [`active_children`], …);
//! - `child.rs` — what every child does: run, report, `_exit`;
//! - `fork.rs`, `spawn.rs`, `forkserver.rs` — one file per start method;
//!   `spawn.rs` also holds the pre-`main` boot that re-executed copies run.
//! - `output.rs` — the relay that reads children's stderr (and captured
//!   stdout) for their last words and [`Process::output`];

mod child;
mod fork;
mod forkserver;
mod output;
mod spawn;

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use self::child::{Outcome, Request};
use crate::codec::{self, FrameReader};
use crate::entry::{self, ProcessFn};
use crate::error::{Error, Result};
use crate::sys::{self, WaitStatus};

/// How a child process is started. The API is the same for all three.
///
/// | method | cost here | runs closures | safe with threads in the parent |
/// |---|---|---|---|
/// | `Fork` | fastest (one `fork`) | yes | no: only the forking thread exists in the child |
/// | `ForkServer` (default) | one message to a server that forks | no | yes |
/// | `Spawn` | `fork` + `exec` of this binary | no | yes |
///
/// # Examples
///
/// ```
/// use multiproc::StartMethod;
/// assert_eq!(StartMethod::default(), StartMethod::ForkServer); // unless set_start_method said otherwise
/// assert_eq!("spawn".parse::<StartMethod>().unwrap(), StartMethod::Spawn);
/// ```
///
/// `StartMethod::default()` is the process-wide default: `ForkServer`,
/// or what [`set_start_method`] chose.
///
/// It travels to a child (`Serialize`, `Deserialize`) under the names
/// that `Display` and `FromStr` use: `"fork"`, `"forkserver"`, `"spawn"`.
///
/// ```
/// use multiproc::StartMethod;
/// # fn main() -> multiproc::Result<()> {
/// let (a, b) = multiproc::pipe::Pipe::new()?;
/// a.send(&StartMethod::Spawn)?;
/// assert_eq!(b.recv::<StartMethod>()?, StartMethod::Spawn);
/// assert_eq!(StartMethod::Spawn.to_string(), "spawn");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartMethod {
    /// `fork()` the calling process; the child runs the task in its copy of
    /// the parent's memory. Like every `fork` from a multi-threaded program,
    /// the child has only the forking thread: a lock that another thread
    /// held at that instant stays locked in the child forever.
    Fork,
    /// A single-threaded server process, started once by re-executing this
    /// binary, forks each child. Safe in a multi-threaded parent.
    ForkServer,
    /// Re-executes this binary; the child runs only the entry, never `main`.
    Spawn,
}

/// The process-wide default start method: 0 until [`set_start_method`],
/// then its [`code`](StartMethod::code). An atomic, so a fork at any
/// moment copies a whole value.
static DEFAULT_METHOD: AtomicU8 = AtomicU8::new(0);

impl StartMethod {
    /// The method as a non-zero byte, for an atomic that keeps 0 for
    /// "none".
    pub(crate) fn code(self) -> u8 {
        match self {
            StartMethod::Fork => 1,
            StartMethod::ForkServer => 2,
            StartMethod::Spawn => 3,
        }
    }

    /// The method of [`code`](StartMethod::code) `code`; `None` for 0 (or
    /// any other byte).
    pub(crate) fn from_code(code: u8) -> Option<StartMethod> {
        match code {
            1 => Some(StartMethod::Fork),
            2 => Some(StartMethod::ForkServer),
            3 => Some(StartMethod::Spawn),
            _ => None,
        }
    }
}

impl Default for StartMethod {
    /// [`get_start_method`]: `ForkServer` unless [`set_start_method`]
    /// chose another.
    fn default() -> Self {
        get_start_method()
    }
}

/// Sets the start method of every process, pool, executor and manager
/// that does not name one — Python's `multiprocessing.set_start_method`.
/// As in Python it may be set once: a second call is an error unless
/// `force` is given. Children started by `Spawn` or `ForkServer` begin
/// with the library's default again (they run only their entry, as a
/// Python child does not run `if __name__ == "__main__"`); `Fork` children
/// inherit it.
///
/// # Errors
/// [`Error::Usage`] when it was set before and `force` is false.
///
/// # Examples
///
/// ```
/// use multiproc::{get_start_method, set_start_method, StartMethod};
///
/// # fn main() -> multiproc::Result<()> {
/// set_start_method(StartMethod::Spawn, false)?;
/// assert_eq!(get_start_method(), StartMethod::Spawn);
/// assert!(set_start_method(StartMethod::Fork, false).is_err()); // once, as in Python
/// set_start_method(StartMethod::ForkServer, true)?; // unless forced
/// # Ok(())
/// # }
/// ```
pub fn set_start_method(method: StartMethod, force: bool) -> Result<()> {
    let code = method.code();
    if force {
        DEFAULT_METHOD.store(code, Ordering::Release);
        return Ok(());
    }
    DEFAULT_METHOD
        .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
        .map(drop)
        .map_err(|_| {
            Error::Usage(
                format!(
                    "the start method was already set (to {}); pass force = true to change it",
                    get_start_method()
                )
                .into(),
            )
        })
}

/// The start method used where none is named — Python's
/// `multiprocessing.get_start_method()`: `ForkServer`, or what
/// [`set_start_method`] chose.
///
/// # Examples
///
/// ```
/// assert_eq!(multiproc::get_start_method(), multiproc::StartMethod::ForkServer);
/// ```
pub fn get_start_method() -> StartMethod {
    StartMethod::from_code(DEFAULT_METHOD.load(Ordering::Acquire)).unwrap_or(StartMethod::ForkServer)
}

impl std::str::FromStr for StartMethod {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fork" => Ok(StartMethod::Fork),
            "forkserver" => Ok(StartMethod::ForkServer),
            "spawn" => Ok(StartMethod::Spawn),
            other => Err(format!(
                "unknown start method `{other}` (expected fork, forkserver or spawn)"
            )),
        }
    }
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            StartMethod::Fork => "fork",
            StartMethod::ForkServer => "forkserver",
            StartMethod::Spawn => "spawn",
        })
    }
}

/// A just-started child, whatever started it.
#[derive(Debug)]
pub(crate) struct Launched {
    pid: i32,
    pidfd: OwnedFd,
    /// Our end of the result socket (non-blocking).
    result: OwnedFd,
    /// For a forkserver child: where the server writes its exit status.
    status: Option<OwnedFd>,
    /// The child's output, read by the relay (see `output.rs`).
    output: output::Captured,
}

impl Launched {
    /// A child of this process: we reap it through its pidfd. `result`
    /// must already be non-blocking.
    fn local(pid: i32, result: OwnedFd) -> Result<Self> {
        let pidfd = sys::pidfd_open(pid).map_err(Error::io("pidfd_open"))?;
        Ok(Launched {
            pid,
            pidfd,
            result,
            status: None,
            output: Default::default(),
        })
    }

    /// A child of the forkserver: the server reaps it and reports its status.
    fn remote(pid: i32, pidfd: OwnedFd, result: OwnedFd, status: OwnedFd) -> Result<Self> {
        sys::set_nonblocking(result.as_fd(), true).map_err(Error::io("fcntl"))?;
        Ok(Launched {
            pid,
            pidfd,
            result,
            status: Some(status),
            output: Default::default(),
        })
    }
}

/// Waits for an orphaned local child on a small thread, so it never lingers
/// as a zombie after its handle is dropped.
pub(crate) fn reap_in_background(pidfd: OwnedFd) {
    let _ = std::thread::Builder::new()
        .name("multiproc-reaper".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = sys::waitid_pidfd(pidfd.as_fd(), true);
        });
}

/// What `active_children` lists: one entry per live handle.
#[derive(Debug)]
struct Shared {
    pid: i32,
    name: String,
    pidfd: OwnedFd,
    start_method: StartMethod,
    daemon: bool,
}

/// This process's children. Fork-local: a forked child starts with none
/// (its parent's are not its own), and never waits on the parent's lock.
static CHILDREN: sys::ForkLocal<Mutex<Vec<Weak<Shared>>>> = sys::ForkLocal::new(Default::default);

/// Builds and starts a [`Process`]: the guide's `Process(target=…, name=…)`
/// followed by `start()`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn greet(name: String) -> String {
///     format!("hello, {name}")
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let mut p = Process::builder().name("greeter").start(greet, ("bob".to_string(),))?;
/// assert_eq!(p.name(), "greeter");
/// assert_eq!(p.join()?, "hello, bob");
/// assert_eq!(p.exitcode(), Some(0));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `start` or `fork`"]
pub struct ProcessBuilder {
    name: Option<String>,
    daemon: bool,
    start_method: StartMethod,
    capture_output: bool,
}

static COUNTER: AtomicUsize = AtomicUsize::new(1);

impl ProcessBuilder {
    /// A builder with the defaults: name `Process-N`, not a daemon,
    /// [`StartMethod::ForkServer`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::ProcessBuilder::new().daemon(true);
    /// # drop(b);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the child (visible through [`current_process`] inside it).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Process::builder().name("worker-1");
    /// # drop(b);
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A daemon child is killed when its parent exits — however it exits,
    /// `SIGKILL` included.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::Process::builder().daemon(true);
    /// # drop(b);
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = daemon;
        self
    }

    /// Chooses how the child is started; see [`StartMethod`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::{Process, StartMethod};
    /// let b = Process::builder().start_method(StartMethod::Spawn);
    /// # drop(b);
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = method;
        self
    }

    /// Keeps the child's whole standard output and standard error for
    /// [`Process::output`] instead of showing them (procspawn offers this;
    /// Python does not). Without it, the child's stdout is this process's,
    /// and its stderr is shown as it comes, its last 4 KiB kept for the
    /// error that reports its death.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn chatty() -> u32 {
    ///     println!("to stdout");
    ///     eprintln!("to stderr");
    ///     7
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let mut p = Process::builder().capture_output(true).start(chatty, ())?;
    /// assert_eq!(p.join()?, 7);
    /// let output = p.output().expect("captured and ended");
    /// assert_eq!(output.stdout, b"to stdout\n");
    /// assert_eq!(output.stderr, b"to stderr\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn capture_output(mut self, capture: bool) -> Self {
        self.capture_output = capture;
        self
    }

    fn take_name(&mut self) -> String {
        self.name
            .take()
            .unwrap_or_else(|| format!("Process-{}", COUNTER.fetch_add(1, Ordering::Relaxed)))
    }

    /// Starts `f(args…)` in a child process. `args` is a tuple: `(x,)` for
    /// one argument, `()` for none. Wrong argument types, or using the result
    /// as the wrong type, do not compile.
    ///
    /// # Errors
    /// [`Error::DuplicateEntry`] when two entries share `f`'s stable name;
    /// [`Error::Codec`] when the arguments do not encode; [`Error::Io`] or
    /// [`Error::ForkServer`] when the child cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn add(a: i32, b: i32) -> i32 {
    ///     a + b
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// for method in [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn] {
    ///     let mut p = Process::builder().start_method(method).start(add, (2, 3))?;
    ///     assert_eq!(p.join()?, 5);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn start<F: ProcessFn>(mut self, f: F, args: F::Args) -> Result<Process<F::Output>> {
        entry::lookup(f.name())?;
        let name = self.take_name();
        let (captured, pipes) = output::pipes(self.capture_output)?;
        let mut launched = match self.start_method {
            StartMethod::Fork => {
                let keep = if sys::fdreg::any() {
                    crate::handoff::fds_in(&args)?
                } else {
                    Vec::new()
                };
                fork::launch(name.clone(), self.daemon, Some(keep), pipes, move || {
                    entry::encode_result(f.name(), &f.call(args))
                })?
            }
            method => {
                let (args, fds) = crate::handoff::encode_with_fds(&args)?;
                let args = crate::captures::request_args(&f, args)?;
                let mut request = Request {
                    entry: f.name().to_string(),
                    args,
                    name: name.clone(),
                    daemon: self.daemon,
                    parent_pid: sys::getpid(),
                    parent_name: child::own_name().to_string(),
                    context: None,
                    stdout: false,
                    stderr: false,
                };
                if method == StartMethod::Spawn {
                    spawn::launch(&request, &fds, pipes)?
                } else {
                    forkserver::launch(&mut request, &fds, &pipes)?
                }
            }
        };
        launched.output = captured;
        Ok(Process::new(launched, name, self.daemon, self.start_method))
    }

    /// Forks a child that runs the closure `task` — which may capture
    /// anything — whatever start method was chosen: only `fork` can carry a
    /// closure into a child.
    ///
    /// The child has only the calling thread; see [`StartMethod::Fork`].
    /// As with `os.fork`, it inherits every descriptor of the parent —
    /// including the ends of pipes it does not use, which it should drop so
    /// that their readers see end of file. (`start` with
    /// [`StartMethod::Fork`] closes those of multiproc's shared objects that
    /// its arguments do not hold.)
    ///
    /// # Errors
    /// [`Error::Io`] when `fork` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let base = 40;
    /// let mut p = multiproc::Process::builder().fork(move || base + 2)?;
    /// assert_eq!(p.join()?, 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fork<R, C>(mut self, task: C) -> Result<Process<R>>
    where
        R: Serialize + DeserializeOwned,
        C: FnOnce() -> R,
    {
        let name = self.take_name();
        let (captured, pipes) = output::pipes(self.capture_output)?;
        let mut launched = fork::launch(name.clone(), self.daemon, None, pipes, move || {
            entry::encode_result("the forked closure", &task())
        })?;
        launched.output = captured;
        Ok(Process::new(launched, name, self.daemon, StartMethod::Fork))
    }
}

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
    fn new(launched: Launched, name: String, daemon: bool, start_method: StartMethod) -> Self {
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

/// A process's identity, as [`current_process`], [`parent_process`] and
/// [`active_children`] report it.
///
/// # Examples
///
/// ```
/// let me = multiproc::current_process();
/// assert_eq!(me.pid() as u32, std::process::id());
/// assert_eq!(me.name(), "MainProcess");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pid: i32,
    name: String,
    start_method: Option<StartMethod>,
    daemon: bool,
}

impl ProcessInfo {
    /// The process id.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(multiproc::current_process().pid() > 0);
    /// ```
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The process name: `"MainProcess"` for a program's first process.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::current_process().name(), "MainProcess");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How multiproc started the process: `None` for a process it did not
    /// start (a program's first process), and for
    /// [`parent_process`], which a child knows only by pid and name.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::StartMethod;
    /// # fn main() -> multiproc::Result<()> {
    /// assert_eq!(multiproc::current_process().start_method(), None);
    /// let mut p = multiproc::Process::builder().fork(|| multiproc::current_process().start_method())?;
    /// assert_eq!(p.join()?, Some(StartMethod::Fork));
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_method(&self) -> Option<StartMethod> {
        self.start_method
    }

    /// Whether the process is a daemon, started with
    /// [`ProcessBuilder::daemon`] (Python's `current_process().daemon`):
    /// `false` for a program's first process, and for
    /// [`parent_process`], which a child knows only by pid and name.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(!multiproc::current_process().daemon());
    /// let mut p = multiproc::Process::builder().daemon(true).fork(|| multiproc::current_process().daemon())?;
    /// assert!(p.join()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }
}

/// This process: its pid, and its name as its parent gave it.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let mut p = multiproc::Process::builder()
///     .name("kid")
///     .fork(|| multiproc::current_process().name().to_string())?;
/// assert_eq!(p.join()?, "kid");
/// # Ok(())
/// # }
/// ```
pub fn current_process() -> ProcessInfo {
    ProcessInfo {
        pid: sys::getpid(),
        name: child::own_name().to_string(),
        start_method: child::own_start_method(),
        daemon: child::own_daemon(),
    }
}

/// The process that started this one through multiproc, or `None` in a
/// program's first process.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// assert!(multiproc::parent_process().is_none());
/// let mut p = multiproc::Process::builder().fork(|| multiproc::parent_process().map(|p| p.pid()))?;
/// assert_eq!(p.join()?, Some(std::process::id() as i32));
/// # Ok(())
/// # }
/// ```
pub fn parent_process() -> Option<ProcessInfo> {
    child::parent().map(|(pid, name)| ProcessInfo {
        pid,
        name: name.to_string(),
        start_method: None,
        daemon: false,
    })
}

/// The children of this process that are still running and whose
/// [`Process`] handle is alive.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let p = multiproc::Process::builder().fork(|| std::thread::sleep(std::time::Duration::from_secs(60)))?;
/// assert!(multiproc::active_children().iter().any(|c| c.pid() == p.pid()));
/// p.kill()?;
/// # Ok(())
/// # }
/// ```
pub fn active_children() -> Vec<ProcessInfo> {
    let children: Vec<Arc<Shared>> = match CHILDREN.get().lock() {
        Ok(mut children) => {
            children.retain(|w| w.strong_count() > 0);
            children.iter().filter_map(Weak::upgrade).collect()
        }
        Err(_) => return Vec::new(),
    };
    children
        .iter()
        .filter(|c| matches!(sys::poll(&[(c.pidfd.as_fd(), sys::POLLIN)], Some(Instant::now())), Ok(r) if r[0] == 0))
        .map(|c| ProcessInfo {
            pid: c.pid,
            name: c.name.clone(),
            start_method: Some(c.start_method),
            daemon: c.daemon,
        })
        .collect()
}

/// The number of CPUs this process may run on (its affinity mask), at
/// least 1.
///
/// # Examples
///
/// ```
/// assert!(multiproc::cpu_count() >= 1);
/// ```
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
// The test entries, linkme statics: as for `pool::worker`'s entry.
#[allow(unsafe_code)]
mod test;

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
