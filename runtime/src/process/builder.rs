//! [`ProcessBuilder`]: what a child gets, and how it starts.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::de::DeserializeOwned;
use serde::Serialize;

use self::child::Request;

use crate::entry::{self, ProcessFn};
use crate::error::Result;
use crate::sys::{self};

use super::*;

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
