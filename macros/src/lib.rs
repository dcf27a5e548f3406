//! Procedural macros of `multiproc`. Use them through the `multiproc` crate,
//! which re-exports them and which the generated code names by absolute path.

#![warn(missing_docs)]

mod errors;
mod lift;
mod managed;
mod par_map;
mod par_reduce;
mod process_fn;

/// Marks a free function as an entry point that a child process can run.
///
/// The function stays callable as before (`square(7)`), and becomes a
/// typed handle that `Process::builder().start(square, (7,))` accepts. It is
/// registered under a stable name — its module path and name — that is the
/// same in every copy of the program, so a child started by any start method
/// finds it. Arguments and the result must be serde types.
///
/// Options: `#[process_fn(name = "custom::name")]` overrides the stable name.
///
/// See the `multiproc` crate for examples.
#[proc_macro_attribute]
pub fn process_fn(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    process_fn::run(attr.into(), item.into()).into()
}

/// Maps a function over data in parallel — in worker processes, or on
/// threads — and returns `multiproc::Result<Vec<R>>` in input order.
///
/// `par_map!(f, data, option = value, …)`:
/// - `f` is a path to a `#[process_fn]` (`square`, `crate::m::square`) or a
///   closure; in process mode a closure takes one parameter with its type
///   written out (`|x: u64| x * x`) and captures nothing: it is lifted into
///   a registered entry that each worker finds by name;
/// - `data` is anything `IntoIterator`: a `Vec`, a range, an iterator (and,
///   on threads, a slice or `&Vec`);
/// - options, in any order: `procs = n` or `threads = n` (neither: one
///   worker process per CPU); `progress = true` (a bar on stderr while it
///   runs, when stderr is a terminal, and a one-line summary at the end);
///   for processes also `chunksize = n`, `ordered = false`,
///   `start = fork | forkserver | spawn`, `pool = &pool` (reuse a pool)
///   and `timeout = duration`.
///
/// ```ignore
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let squares = par_map!(square, 0..10u64, procs = 2)?;
/// let cubes = par_map!(|x: u64| x * x * x, 0..10u64, start = spawn)?;
/// let offset = 3;
/// let shifted = par_map!(|x: &u64| x + offset, &squares, threads = 4)?;
/// ```
///
/// Misuse — an unknown or repeated option, options that exclude each other,
/// a process-mode closure that captures a local — is a compile error at the
/// offending tokens. See the `multiproc` crate for runnable examples.
#[proc_macro]
pub fn par_map(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    par_map::run(input.into()).into()
}

/// Lifts a closure into a value that implements `ProcessFn`, so that
/// every API that takes a `#[process_fn]` takes it too: `Pool::map`,
/// `apply_async`, `imap_unordered`, `ProcessPoolExecutor::submit`,
/// `Process::builder().start`, the MPI pool.
///
/// `lift!(move |x: T| …)`: one parameter, its type written out. What the
/// closure captures must be owned serde types; they are encoded once,
/// when `lift!` runs, and sent to each worker with its first task (not
/// with every task). The rules and errors are those of a `par_map!`
/// closure in process mode.
///
/// ```ignore
/// let factor = 3u64;
/// let triple = multiproc::lift!(move |x: u64| x * factor);
/// assert_eq!(pool.map(triple.clone(), 0..4u64)?, [0, 3, 6, 9]);
/// ```
///
/// See the `multiproc` crate for runnable examples.
#[proc_macro]
pub fn lift(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    lift::run(input.into()).into()
}

/// Reduces data in parallel — `op(…op(op(identity, f(x0)), f(x1))…)` — in
/// worker processes or on threads, and returns `multiproc::Result<M>`.
///
/// `par_reduce!(f, data, identity, op, option = value, …)`: `f` maps an
/// item to a partial result (a closure or a `#[process_fn]` path), `op`
/// combines two partial results and must be associative, `identity`
/// leaves a partial result unchanged under `op`. In worker processes each
/// worker folds whole chunks and sends back one value per chunk. Options
/// as `par_map!`'s, without `ordered`; `chunksize` is the items folded at
/// a time.
///
/// ```ignore
/// let sum = par_reduce!(|x: u64| x, 0..1_000u64, 0u64, |a, b| a + b, procs = 2)?;
/// ```
///
/// See the `multiproc` crate for runnable examples.
#[proc_macro]
pub fn par_reduce(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    par_reduce::run(input.into()).into()
}

/// Makes a type's values ownable by a manager's server: on an inherent
/// `impl` block, it generates `TypeProxy`, whose methods run the type's
/// visible (`pub`, `pub(crate)`, …) methods (`&self` or `&mut self`) on the
/// server's value, and whose associated functions run its visible
/// constructors (`pub fn …(…) -> Self`) there; private ones stay local. Arguments and results must be serde types; generic, `async` or
/// `self`-by-value methods are compile errors.
///
/// See `multiproc::manager` for examples.
#[proc_macro_attribute]
pub fn managed(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    managed::run(attr.into(), item.into()).into()
}
