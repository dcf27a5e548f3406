//! Entry points by stable name: the [`ProcessFn`] trait that `#[process_fn]`
//! implements, and the link-time registry that a child searches by name.
//!
//! `#[process_fn]` places one [`EntryDesc`] per function in a `linkme`
//! distributed slice. Every copy of the executable — a forked child, a
//! re-executed one, a forkserver's child — has the same slice, so the name
//! that the parent sends is all the child needs. No function pointer ever
//! crosses a process boundary.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// A function marked `#[process_fn]`: callable here, and runnable in another
/// process by its stable [`name`](ProcessFn::name).
///
/// Implemented only through the macro, on the unit type it generates in
/// place of the function; the type derefs to the original `fn` pointer, so
/// `square(7)` still calls it directly.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// assert_eq!(square(7), 49); // still an ordinary function
/// assert_eq!(square.call((8,)), 64); // arguments as a tuple
/// assert!(square.name().ends_with("::square"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be run by name in a child process",
    label = "not a #[process_fn] whose arguments and result are serde types",
    note = "mark the function `#[multiproc::process_fn]`; if it is marked, one of its argument or result types is not a serde type, and the errors above name it",
    note = "a closure has no name a child can find it by: `par_map!(|x: T| ..., data)` lifts one into an entry for a process pool; `multiproc::thread::Pool` takes closures as they are; `Process::builder().fork(closure)` runs one in a forked child"
)]
pub trait ProcessFn: Copy + Send + Sync + 'static {
    /// The arguments, as a tuple (`(u64,)` for one argument, `()` for none).
    type Args: crate::__private::Portable;
    /// What the function returns.
    type Output: crate::__private::Portable;
    /// The stable name: module path and function name (or, for a closure
    /// that `par_map!` lifted, its module path and source position).
    fn name(&self) -> &'static str;
    /// Calls the function with its arguments as a tuple.
    fn call(&self, args: Self::Args) -> Self::Output;
}

/// What the macros implement: [`ProcessFn`] without its bounds, which a
/// blanket impl adds. A type the user wrote that cannot cross a process
/// boundary then fails the macro's own check first, which names it and
/// says what to derive; with the bounds on the generated impl, rustc's
/// well-formedness errors about the argument tuple came first. The
/// blanket impl is not recommended in diagnostics, so a closure's error
/// speaks of `ProcessFn`, never of this trait.
#[doc(hidden)]
pub trait ProcessFnCore: Copy + Send + Sync + 'static {
    /// As [`ProcessFn::Args`].
    type Args;
    /// As [`ProcessFn::Output`].
    type Output;
    /// As [`ProcessFn::name`].
    fn name(&self) -> &'static str;
    /// As [`ProcessFn::call`].
    fn call(&self, args: Self::Args) -> Self::Output;
}

#[diagnostic::do_not_recommend]
impl<T> ProcessFn for T
where
    T: ProcessFnCore<Args: crate::__private::Portable, Output: crate::__private::Portable>,
{
    type Args = <T as ProcessFnCore>::Args;
    type Output = <T as ProcessFnCore>::Output;

    #[inline]
    fn name(&self) -> &'static str {
        ProcessFnCore::name(self)
    }

    #[inline]
    fn call(&self, args: Self::Args) -> Self::Output {
        ProcessFnCore::call(self, args)
    }
}

/// One registered entry: its name, where it is defined, and a type-erased
/// runner that decodes arguments, calls the function and encodes the result.
#[doc(hidden)]
#[derive(Debug)]
pub struct EntryDesc {
    pub(crate) name: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) run: fn(&[u8]) -> Result<Vec<u8>>,
    pub(crate) run_chunk: fn(&[u8], &mut Vec<u8>) -> Result<()>,
}

impl EntryDesc {
    /// The descriptor of `F`, built at compile time by the macro; `name`
    /// must be what `F::name` returns.
    pub const fn new<F: ProcessFn + Default>(name: &'static str, file: &'static str, line: u32) -> Self {
        EntryDesc {
            name,
            file,
            line,
            run: run_erased::<F>,
            run_chunk: run_chunk_erased::<F>,
        }
    }
}

/// Decodes the arguments, calls `F`, encodes the result. Arguments that do
/// not decode are a set-up failure; a result that cannot be encoded is a
/// codec error that names the entry.
fn run_erased<F: ProcessFn + Default>(args: &[u8]) -> Result<Vec<u8>> {
    let f = F::default();
    let args: F::Args = crate::codec::decode(args).map_err(|e| crate::Error::ChildSetup {
        pid: 0,
        message: format!("the arguments of `{}` did not decode: {e}", f.name()),
    })?;
    encode_result(f.name(), &f.call(args))
}

/// Encodes what entry (or closure) `what` returned; a failure is a codec
/// error that says whose result it was.
pub(crate) fn encode_result<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>> {
    crate::codec::encode(value).map_err(|e| {
        crate::Error::Codec(format!(
            "the result of `{what}` could not be encoded: {}",
            crate::chunk::codec_message(e)
        ))
    })
}

/// Runs `F` over an encoded `Vec<F::Args>` — a pool's chunk — and appends
/// its encoded outcome to `out`: a panic fails its item only.
fn run_chunk_erased<F: ProcessFn + Default>(chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let f = F::default();
    crate::chunk::run_chunk(chunk, |args| f.call(args), out)
}

/// Runs `entry` on encoded arguments, in whatever process this is.
pub(crate) fn run_by_name(entry: &str, args: &[u8]) -> Result<Vec<u8>> {
    (lookup(entry)?.run)(args)
}

/// The distributed slice every `#[process_fn]` adds itself to.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static ENTRIES: [EntryDesc];

/// Every entry by name, and the names that more than one entry claims
/// (with where the first two are defined).
struct Registry {
    entries: HashMap<&'static str, &'static EntryDesc>,
    duplicates: HashMap<&'static str, (String, String)>,
}

/// Builds the registry now, before a fork, so that no child finds it
/// half built by another thread of its parent.
pub(crate) fn prepare_for_fork() {
    registry();
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut entries = HashMap::with_capacity(ENTRIES.len());
        let mut duplicates = HashMap::new();
        for entry in ENTRIES.iter() {
            if let Some(first) = entries.insert(entry.name, entry) {
                duplicates.entry(entry.name).or_insert_with(|| {
                    (
                        format!("{}:{}", first.file, first.line),
                        format!("{}:{}", entry.file, entry.line),
                    )
                });
            }
        }
        Registry { entries, duplicates }
    })
}

/// Runs `entry`'s chunk runner.
pub(crate) fn run_chunk_by_name(entry: &str, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
    (lookup(entry)?.run_chunk)(chunk, out)
}

/// Finds the entry registered under `name`. A name that two entries
/// claim is an error for that name only: the rest of the program works.
pub(crate) fn lookup(name: &str) -> Result<&'static EntryDesc> {
    let registry = registry();
    if let Some((first, second)) = registry.duplicates.get(name) {
        return Err(Error::DuplicateEntry {
            name: name.to_string(),
            first: first.clone(),
            second: second.clone(),
        });
    }
    registry
        .entries
        .get(name)
        .copied()
        .ok_or_else(|| Error::UnknownEntry(name.to_string()))
}

/// The stable names of every `#[process_fn]` linked into this executable.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn hello() -> String {
///     "hi".into()
/// }
///
/// # fn main() {
/// assert!(multiproc::registered_entries().iter().any(|n| n.ends_with("::hello")));
/// # }
/// ```
pub fn registered_entries() -> Vec<&'static str> {
    ENTRIES.iter().map(|e| e.name).collect()
}
