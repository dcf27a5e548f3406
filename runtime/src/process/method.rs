//! [`StartMethod`] and the process-wide default (`set_start_method`,
//! `get_start_method`).

use std::fmt;

use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};

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
