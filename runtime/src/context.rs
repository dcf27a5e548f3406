//! Python's `multiprocessing.get_context(method)`: builders bound to one
//! start method. Above `process`, `pool`, `executor` and `manager`, which
//! it builds, so that none of them reaches back up for it.

use crate::process::{Process, ProcessBuilder, StartMethod};

/// Builders bound to one start method — Python's
/// `multiprocessing.get_context(method)`, whose `Process`, `Pool` and
/// `Manager` all use that method, whatever the process-wide default.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn double(x: u32) -> u32 {
///     2 * x
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let ctx = multiproc::get_context(StartMethod::Spawn);
/// let mut p = ctx.process().start(double, (21,))?;
/// assert_eq!(p.join()?, 42);
/// let pool = ctx.pool().processes(2).build()?;
/// assert_eq!(pool.map(double, [1, 2])?, [2, 4]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    method: StartMethod,
}

/// A [`Context`] for `method` — Python's `multiprocessing.get_context`.
///
/// # Examples
///
/// ```
/// let ctx = multiproc::get_context(multiproc::StartMethod::Fork);
/// assert_eq!(ctx.start_method(), multiproc::StartMethod::Fork);
/// ```
pub fn get_context(method: StartMethod) -> Context {
    Context { method }
}

impl Context {
    /// Its start method.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = multiproc::get_context(multiproc::StartMethod::Spawn);
    /// assert_eq!(ctx.start_method().to_string(), "spawn");
    /// ```
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// A [`ProcessBuilder`] with this start method.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::get_context(multiproc::StartMethod::Fork).process().name("worker");
    /// # drop(b);
    /// ```
    pub fn process(&self) -> ProcessBuilder {
        Process::builder().start_method(self.method)
    }

    /// A [`PoolBuilder`](crate::PoolBuilder) with this start method.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let pool = multiproc::get_context(multiproc::StartMethod::Fork).pool().processes(1).build()?;
    /// # drop(pool);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pool(&self) -> crate::PoolBuilder {
        crate::Pool::builder().start_method(self.method)
    }

    /// A [`ProcessPoolBuilder`](crate::executor::ProcessPoolBuilder) with
    /// this start method.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let ctx = multiproc::get_context(multiproc::StartMethod::Spawn);
    /// let ex = ctx.process_pool_executor().max_workers(1).build()?;
    /// # drop(ex);
    /// # Ok(())
    /// # }
    /// ```
    pub fn process_pool_executor(&self) -> crate::executor::ProcessPoolBuilder {
        crate::executor::ProcessPoolExecutor::builder().start_method(self.method)
    }

    #[cfg(feature = "manager")]
    #[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
    /// Starts a [`Manager`](crate::manager::Manager) whose server uses this
    /// start method.
    ///
    /// # Errors
    /// As [`Manager::start`](crate::manager::Manager::start).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let manager = multiproc::get_context(multiproc::StartMethod::Spawn).manager()?;
    /// # drop(manager);
    /// # Ok(())
    /// # }
    /// ```
    pub fn manager(&self) -> crate::Result<crate::manager::Manager> {
        crate::manager::Manager::start_with(self.method)
    }
}
