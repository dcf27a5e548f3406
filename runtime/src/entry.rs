//! Entry points by stable name: the [`ProcessFn`] trait that `#[process_fn]`
//! implements, and the link-time registry that a child searches by name.
//!
//! `#[process_fn]` places one [`EntryDesc`] per function in a `linkme`
//! distributed slice. Every copy of the executable — a forked child, a
//! re-executed one, a forkserver's child — has the same slice, so the name
//! that the parent sends is all the child needs. No function pointer ever
//! crosses a process boundary.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

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
    note = "a closure has no name a child can find it by: wrap it in `multiproc::lift!(move |x: T| ...)`, which registers it (and sends what it captures to the workers), or let `par_map!(|x: T| ..., data)` do so; `multiproc::thread::Pool` takes closures as they are"
)]
pub trait ProcessFn: Clone + Send + Sync + 'static {
    /// The arguments, as a tuple (`(u64,)` for one argument, `()` for none).
    type Args: crate::__private::Portable;
    /// What the function returns.
    type Output: crate::__private::Portable;
    /// The stable name: module path and function name (or, for a closure
    /// that `par_map!` lifted, its module path and source position).
    fn name(&self) -> &'static str;
    /// Calls the function with its arguments as a tuple.
    fn call(&self, args: Self::Args) -> Self::Output;
    /// What a lifted closure captured, encoded once: sent to each worker
    /// with its first task of the call. `None` for everything else.
    #[doc(hidden)]
    fn __captures(&self) -> Result<Option<Arc<Captures>>> {
        Ok(None)
    }
}

/// What a closure that `lift!` or `par_map!` lifted captured, encoded
/// once for every worker that runs it: a number that no other set of
/// captures made by this process has (workers keep a few sets by this
/// number), and the bytes that travel (see `captures.rs`).
#[doc(hidden)]
#[derive(Debug)]
pub struct Captures {
    pub(crate) id: u64,
    pub(crate) blob: Vec<u8>,
}

/// What the macros implement: [`ProcessFn`] without its bounds, which a
/// blanket impl adds. A type the user wrote that cannot cross a process
/// boundary then fails the macro's own check first, which names it and
/// says what to derive; with the bounds on the generated impl, rustc's
/// well-formedness errors about the argument tuple came first. The
/// blanket impl is not recommended in diagnostics, so a closure's error
/// speaks of `ProcessFn`, never of this trait.
#[doc(hidden)]
pub trait ProcessFnCore: Clone + Send + Sync + 'static {
    /// As [`ProcessFn::Args`].
    type Args;
    /// As [`ProcessFn::Output`].
    type Output;
    /// As [`ProcessFn::name`].
    fn name(&self) -> &'static str;
    /// As [`ProcessFn::call`].
    fn call(&self, args: Self::Args) -> Self::Output;
    /// As [`ProcessFn::__captures`].
    fn captures(&self) -> Result<Option<Arc<Captures>>> {
        Ok(None)
    }
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

    #[inline]
    fn __captures(&self) -> Result<Option<Arc<Captures>>> {
        ProcessFnCore::captures(self)
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
    /// A closure that captured: its tasks come with their captures, and
    /// its runner is found through them (`captures.rs`).
    pub(crate) captures: bool,
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
            captures: false,
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
    /// What tells this executable from another build: every entry's name
    /// and place, and where a function of this module lies from the anchor
    /// of `sys::code_offset`.
    fingerprint: u64,
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
        let mut fingerprint = Fnv::default();
        fingerprint
            .add(&crate::sys::code_offset(run_by_name as fn(&str, &[u8]) -> Result<Vec<u8>> as usize).to_le_bytes());
        for entry in ENTRIES.iter() {
            fingerprint.add(entry.name.as_bytes());
            fingerprint.add(entry.file.as_bytes());
            fingerprint.add(&entry.line.to_le_bytes());
            if let Some(first) = entries.insert(entry.name, entry) {
                duplicates.entry(entry.name).or_insert_with(|| {
                    (
                        format!("{}:{}", first.file, first.line),
                        format!("{}:{}", entry.file, entry.line),
                    )
                });
            }
        }
        Registry {
            entries,
            duplicates,
            fingerprint: fingerprint.0,
        }
    })
}

/// The fingerprint of this executable (see `Registry`): a worker runs a
/// capturing closure only for a parent whose fingerprint is its own.
pub(crate) fn fingerprint() -> u64 {
    registry().fingerprint
}

/// FNV-1a, 64 bits: a fingerprint, not a defence.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 = (self.0 ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
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
