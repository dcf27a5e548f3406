//! multiproc: the toolbox of Python's `multiprocessing`, the Rust way.
//!
//! Mark a function `#[process_fn]` and start it in a child process with any
//! of three start methods; join its typed result, or an error that says how
//! the child failed.
//!
//! ```
//! use multiproc::prelude::*;
//!
//! #[process_fn]
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! # fn main() -> multiproc::Result<()> {
//! let mut p = Process::builder().start(square, (7,))?;
//! assert_eq!(p.join()?, 49);
//! # Ok(())
//! # }
//! ```
//!
//! Module map (one module per concept of the guide):
//! - [`process`] — `Process`, start methods, `current_process`, …;
//! - [`pool`] — `Pool`, `AsyncResult`, lazy `imap`;
//! - [`codec`] — the one wire format of every channel;
//! - [`entry`] — the [`ProcessFn`] trait and the registry of entry points;
//! - [`Error`](enum@Error) — the one error type.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

// Lets the code that `#[process_fn]` generates (`::multiproc::…`) compile
// inside this crate too, for its own unit tests and doctests.
extern crate self as multiproc;

pub mod codec;
pub mod entry;
mod error;
mod handoff;
mod par_map;
pub mod pool;
pub mod process;
mod sys;

pub use entry::{registered_entries, ProcessFn};
pub use error::{Error, Result};
pub use multiproc_macros::process_fn;
pub use pool::{AsyncResult, IMap, Pool, PoolBuilder};
pub use process::{
    active_children, cpu_count, current_process, parent_process, Process, ProcessBuilder, ProcessInfo, StartMethod,
};

/// What most programs need, in one `use multiproc::prelude::*;`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// let _method = StartMethod::Spawn;
/// ```
pub mod prelude {
    pub use crate::{process_fn, AsyncResult, Error, Pool, Process, ProcessFn, StartMethod};
}

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// Paths that generated code names; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::entry::{EntryDesc, ProcessFn, ENTRIES};
    pub use crate::par_map::{procs as par_map_procs, Lifted, ProcOptions, ThreadData, ViaIter, ViaRayon};
    pub use crate::process::StartMethod;
    pub use linkme;
    pub use serde;

    /// Requires `T` to cross a process boundary; the macro spans each call
    /// at the user's argument or return type.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot cross a process boundary",
        label = "this type must implement serde's `Serialize` and `DeserializeOwned`",
        note = "arguments and results of a #[process_fn] are sent between processes; derive `serde::Serialize` and `serde::Deserialize` for it"
    )]
    pub trait Portable: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {}
    impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> Portable for T {}

    /// Compile-time check that `T` is [`Portable`].
    pub const fn assert_portable<T: Portable>() {}
}
