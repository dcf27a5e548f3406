//! The same entries, pools and executors on the ranks of an MPI job
//! (feature `mpi`): the program is started as `mpirun -n N ./app`, rank 0
//! runs `main`, and the other ranks serve as workers.
//!
//! The one call a program adds is [`init`], first thing in `main`: on
//! worker ranks it never returns (they serve tasks, then exit when rank 0
//! is done); on rank 0 it returns the [`World`], which makes pools and
//! executors over the worker ranks with the same methods and typed results
//! as the local ones.
//!
//! ```no_run
//! use multiproc::prelude::*;
//!
//! #[process_fn]
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn main() -> multiproc::Result<()> {
//!     let world = multiproc::mpi::init()?; // worker ranks stay in here
//!     let pool = world.pool()?;
//!     assert_eq!(pool.map(square, 0..4)?, [0, 1, 4, 9]);
//!     let squares = par_map!(square, 0..100u64, pool = &pool)?;
//!     assert_eq!(squares[99], 9801);
//!     Ok(())
//! }
//! ```
//!
//! Failures: a task's panic or error is that task's error, as locally. A
//! rank that dies (a signal, `abort`) is another matter: OpenMPI's `mpirun`
//! then ends the whole job — rank 0 included — and reports which rank died
//! and how; an MPI program cannot outlive a lost rank. Every wait on rank 0
//! has a timeout form (`get_timeout`, `result_timeout`), so a caller is
//! never stuck on a rank that stalls.

use std::sync::{Arc, Mutex};

use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;

use crate::error::{Error, Result};
use crate::executor::ProcessPoolExecutor;
use crate::pool::Pool;

/// Rank 0's handle on the MPI job. Pools made from it keep MPI alive;
/// when the world and every pool are gone, the worker ranks are told to
/// stop and MPI is finalized.
#[derive(Clone)]
pub struct World {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("size", &self.inner.size).finish()
    }
}

struct Inner {
    universe: Mutex<Option<Universe>>,
    size: usize,
    /// Whether a pool's dispatcher owns the worker ranks now.
    busy: Mutex<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let universe = self.universe.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(universe) = universe {
            crate::pool::mpi::stop_workers(&universe.world());
            drop(universe); // MPI_Finalize
        }
    }
}

/// Initializes MPI. On a worker rank it serves tasks and exits the process
/// when rank 0 is done — it never returns; on rank 0 it returns the
/// [`World`]. Call it first in `main`: code before it runs on every rank.
///
/// # Errors
/// [`Error::Usage`] when MPI was initialized already.
///
/// # Examples
///
/// ```no_run
/// fn main() -> multiproc::Result<()> {
///     let world = multiproc::mpi::init()?; // the first line of main
///     println!("{} worker ranks", world.workers());
///     Ok(())
/// }
/// ```
pub fn init() -> Result<World> {
    let (universe, _threading) = mpi::initialize_with_threading(Threading::Serialized)
        .ok_or(Error::Usage("MPI is initialized already".into()))?;
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    if rank != 0 {
        // A bug outside a task must end the job, not leave rank 0 waiting.
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::pool::mpi::serve(&world)));
        if served.is_err() {
            world.abort(101);
        }
        drop(universe);
        std::process::exit(0);
    }
    Ok(World {
        inner: Arc::new(Inner {
            universe: Mutex::new(Some(universe)),
            size: size as usize,
            busy: Mutex::new(false),
        }),
    })
}

/// Marks the worker ranks free again when its pool is gone.
struct Lease(Arc<Inner>);

impl Drop for Lease {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }
}

impl World {
    /// The number of ranks, rank 0 included.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let world = multiproc::mpi::init().unwrap();
    /// println!("{} ranks", world.size());
    /// ```
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// The number of worker ranks (`size − 1`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let world = multiproc::mpi::init().unwrap();
    /// assert_eq!(world.workers(), world.size() - 1);
    /// ```
    pub fn workers(&self) -> usize {
        self.inner.size.saturating_sub(1)
    }

    /// A [`Pool`] over the worker ranks: `map`, `imap`, `imap_unordered`,
    /// `apply_async`, `starmap`, chunking — and `par_map!(…, pool = &pool)`.
    /// One pool at a time owns the ranks.
    ///
    /// # Errors
    /// [`Error::Usage`] with no worker rank, or while another pool lives.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn double(x: u32) -> u32 {
    ///     2 * x
    /// }
    ///
    /// let world = multiproc::mpi::init().unwrap();
    /// let pool = world.pool().unwrap();
    /// assert_eq!(pool.map(double, [1, 2]).unwrap(), [2, 4]);
    /// ```
    pub fn pool(&self) -> Result<Pool> {
        {
            let mut busy = self.inner.busy.lock().unwrap_or_else(|p| p.into_inner());
            if *busy {
                return Err(Error::Usage(
                    "another MPI pool owns the worker ranks; drop it first".into(),
                ));
            }
            *busy = true;
        }
        let lease = Arc::new(Lease(Arc::clone(&self.inner)));
        crate::pool::mpi::pool(self.workers(), lease)
    }

    /// A [`ProcessPoolExecutor`] over the worker ranks: `submit`, `map`,
    /// futures for `wait` and `as_completed`.
    ///
    /// # Errors
    /// As [`pool`](World::pool).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use multiproc::prelude::*;
    ///
    /// #[process_fn]
    /// fn double(x: u32) -> u32 {
    ///     2 * x
    /// }
    ///
    /// let world = multiproc::mpi::init().unwrap();
    /// let ex = world.executor().unwrap();
    /// assert_eq!(ex.submit(double, (4,)).unwrap().result().unwrap(), 8);
    /// ```
    pub fn executor(&self) -> Result<ProcessPoolExecutor> {
        Ok(ProcessPoolExecutor::over(self.pool()?))
    }

    /// Ends the whole job at once with `code` (`MPI_Abort`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let world = multiproc::mpi::init().unwrap();
    /// world.abort(3);
    /// ```
    pub fn abort(&self, code: i32) -> ! {
        SimpleCommunicator::world().abort(code)
    }
}
