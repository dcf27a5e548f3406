//! [`ProcessInfo`] and the module-level functions: [`current_process`],
//! [`parent_process`], [`active_children`], [`cpu_count`].

use std::os::fd::AsFd;

use std::sync::{Arc, Weak};
use std::time::Instant;

use crate::sys::{self};

use super::*;

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
