//! Closures that capture, run in worker processes: what `lift!` and a
//! capturing `par_map!` closure become.
//!
//! The macro rewrites `move |x: u64| x * factor` into two things: the
//! captured values, borrowed as a tuple `(&factor,)`, and a *constructor*
//! that captures nothing, `|(factor,)| move |x: u64| x * factor`, which
//! rebuilds the closure from owned values. The parent encodes the tuple
//! once per call ([`Captured::new`]); a worker decodes it once, calls the
//! constructor, and keeps the rebuilt closure for every chunk of the call.
//!
//! The worker reaches the code that decodes and rebuilds through its
//! offset in the executable (`sys::code_offset`): that code is generic in
//! the captured types, which no `static` — and so no registry entry — can
//! name. The registry entry of the closure still exists (by name, as for
//! every lifted closure) and says that its tasks need captures; the worker
//! checks that the parent runs the same executable (its fingerprint) before
//! it uses an offset.
//!
//! Delivery: a task of a capturing closure names its captures by number,
//! and carries their bytes only when its worker may not hold them
//! ([`SentCaptures`] on the parent's side, [`WorkerCaptures`] on the
//! worker's, which follow the same rule, so that each knows what the other
//! holds without a message).

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::entry::{self, Captures, EntryDesc, ProcessFnCore};
use crate::error::{Error, Result};

/// How many sets of captures a worker keeps: two calls of capturing
/// closures that take turns on one pool each send theirs once.
const KEPT: usize = 2;

/// Numbers the sets of captures this process makes; 0 is "none".
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Sets of captures sent to workers, and their bytes (see [`sent`]).
static SENT_COUNT: AtomicU64 = AtomicU64::new(0);
static SENT_BYTES: AtomicU64 = AtomicU64::new(0);

/// Requires a captured value to travel to worker processes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be captured by a closure that runs in worker processes",
    label = "captured here: its value is sent to each worker as bytes",
    note = "a closure that runs in worker processes gets a copy of each value it captures, rebuilt in the worker: the value must be an owned serde type (`Serialize + DeserializeOwned`, `Send + Sync`, no borrowed data)",
    note = "derive `serde::Serialize` and `serde::Deserialize` for it; for a reference, capture an owned value instead (`let table = table.clone();` before the closure); for a value that cannot be sent (a file, a lock, a shared object), open or pass it in a pool initializer, or use `threads = n`; if it is a function or a static rather than a local, write it as a path (`self::name`)"
)]
pub trait Capturable: Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Capturable for T {}

/// Compile-time check that a captured value can travel; the macro spans
/// the call at the captured variable.
pub fn check_capture<T: Capturable>(_: &T) {}

/// Requires a value captured on threads to be shared between them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be captured by a closure that runs on several threads",
    label = "captured here: every thread of `threads = n` uses it at once",
    note = "the value must be `Sync` (and `Send` when the closure is `move`): use `Arc<T>` in place of `Rc<T>`, `Mutex<T>` or an atomic in place of `Cell<T>`/`RefCell<T>`, or run the map with `procs = n`"
)]
pub trait ThreadCapturable: Sync {}
impl<T: Sync + ?Sized> ThreadCapturable for T {}

/// Requires a value moved into a closure that runs on threads to be sent
/// between them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be moved into a closure that runs on several threads",
    label = "captured here: the closure, and this value with it, goes to other threads",
    note = "the value must be `Send + Sync`: use `Arc<T>` in place of `Rc<T>`, `Mutex<T>` or an atomic in place of `Cell<T>`/`RefCell<T>`, or run the map with `procs = n`"
)]
pub trait ThreadMovable: Send + Sync {}
impl<T: Send + Sync + ?Sized> ThreadMovable for T {}

/// Compile-time check of a value that a thread-mode closure borrows.
pub fn check_thread_capture<T: ThreadCapturable + ?Sized>(_: &T) {}

/// Compile-time check of a value that a thread-mode `move` closure owns.
pub fn check_thread_move<T: ThreadMovable + ?Sized>(_: &T) {}

/// A tuple of references to the captured values, and the tuple of owned
/// values it decodes into (`(&u64, &Vec<u8>)` → `(u64, Vec<u8>)`).
pub trait CaptureRefs {
    /// The owned tuple.
    type Owned;
}

macro_rules! capture_refs {
    ($($t:ident),*) => {
        impl<'a, $($t),*> CaptureRefs for ($(&'a $t,)*) {
            type Owned = ($($t,)*);
        }
    };
}
capture_refs!();
capture_refs!(T1);
capture_refs!(T1, T2);
capture_refs!(T1, T2, T3);
capture_refs!(T1, T2, T3, T4);
capture_refs!(T1, T2, T3, T4, T5);
capture_refs!(T1, T2, T3, T4, T5, T6);
capture_refs!(T1, T2, T3, T4, T5, T6, T7);
capture_refs!(T1, T2, T3, T4, T5, T6, T7, T8);
capture_refs!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
capture_refs!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
capture_refs!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
capture_refs!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);

/// What travels: the entry, the executable's fingerprint, the offset of
/// the code that rebuilds the closure, and the encoded captures.
#[derive(Serialize, Deserialize)]
struct Blob<'a> {
    entry: &'a str,
    fingerprint: u64,
    build: u64,
    #[serde(with = "serde_bytes")]
    captures: &'a [u8],
}

/// A closure rebuilt in a worker, ready to run the tasks of its call.
pub(crate) trait Runner {
    /// Runs a chunk (as `entry::EntryDesc::run_chunk`).
    fn run_chunk(&self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()>;
    /// Runs one call on encoded arguments (as `entry::EntryDesc::run`).
    fn run(&self, args: &[u8]) -> Result<Vec<u8>>;
}

/// Decodes the captures and rebuilds the closure: instantiated in the
/// parent for the closure's types, reached in the worker by its offset.
type Build = fn(&str, &[u8]) -> Result<Box<dyn Runner>>;

fn build<O, Ctor, C, A, R>(entry: &str, captures: &[u8]) -> Result<Box<dyn Runner>>
where
    O: DeserializeOwned,
    Ctor: Fn(O) -> C + Copy,
    C: Fn(A) -> R + 'static,
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    let owned: O = codec::decode(captures).map_err(|e| Error::ChildSetup {
        pid: 0,
        message: format!("what `{entry}` captured did not decode: {e}"),
    })?;
    let ctor: Ctor = crate::sys::conjure_zst();
    Ok(Box::new(Rebuilt {
        f: ctor(owned),
        _types: PhantomData::<fn(A) -> R>,
    }))
}

struct Rebuilt<C, A, R> {
    f: C,
    _types: PhantomData<fn(A) -> R>,
}

impl<C, A, R> Runner for Rebuilt<C, A, R>
where
    C: Fn(A) -> R,
    A: DeserializeOwned,
    R: Serialize,
{
    fn run_chunk(&self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        crate::chunk::run_chunk(chunk, |(a,): (A,)| (self.f)(a), out)
    }

    fn run(&self, args: &[u8]) -> Result<Vec<u8>> {
        let (a,): (A,) = codec::decode(args).map_err(|e| Error::ChildSetup {
            pid: 0,
            message: format!("the arguments of a lifted closure did not decode: {e}"),
        })?;
        entry::encode_result("a lifted closure", &(self.f)(a))
    }
}

/// Turns a blob into its runner, after checking that it was made for
/// `entry` by this same executable.
fn rebuild(entry: &str, blob: &[u8]) -> Result<Box<dyn Runner>> {
    let setup = |message: String| Error::ChildSetup { pid: 0, message };
    let blob: Blob<'_> =
        codec::decode_borrowed(blob).map_err(|e| setup(format!("the captures of `{entry}` did not decode: {e}")))?;
    if blob.entry != entry {
        return Err(setup(format!(
            "a task of `{entry}` came with the captures of `{}`",
            blob.entry
        )));
    }
    let desc = entry::lookup(entry)?;
    if !desc.captures {
        return Err(setup(format!("`{entry}` is not a closure that captures")));
    }
    if blob.fingerprint != entry::fingerprint() {
        return Err(setup(format!(
            "`{entry}` captures values, and its worker runs another build of the program than its parent \
             (a closure that captures runs only in copies of the same executable)"
        )));
    }
    // SAFETY: the offset was made by `Captures::new` from a `Build` of the
    // same executable: the fingerprint, which covers the layout of this
    // executable's code and its registry, matches, and the entry the blob
    // names is a registered capturing closure. The blob comes from this
    // process's parent over a channel only the parent holds (an MPI rank,
    // whose tasks come over the network, refuses it before this point).
    #[allow(unsafe_code)]
    let build: Build = unsafe { crate::sys::code_at(blob.build) };
    build(entry, blob.captures)
}

impl Captures {
    fn new(entry: &'static str, build: Build, captures: &[u8]) -> Result<Self> {
        let blob = codec::encode(&Blob {
            entry,
            fingerprint: entry::fingerprint(),
            build: crate::sys::code_offset(build as usize),
            captures,
        })?;
        Ok(Captures {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            blob,
        })
    }
}

/// How many sets of captures this process has sent to workers, and their
/// bytes in all: what the capture tests and the benchmark measure.
///
/// # Examples
///
/// ```
/// let (sets, bytes) = multiproc::__private::captures_sent();
/// assert!(bytes >= sets);
/// ```
pub fn captures_sent() -> (u64, u64) {
    (SENT_COUNT.load(Ordering::Relaxed), SENT_BYTES.load(Ordering::Relaxed))
}

/// The captures field of a task: their number, and their bytes when the
/// worker may not hold them yet (empty otherwise). Number 0: none.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, Default)]
pub(crate) struct CapturesWire<'a> {
    pub(crate) id: u64,
    #[serde(with = "serde_bytes")]
    pub(crate) blob: &'a [u8],
}

/// Which sets of captures one worker holds, as its parent sees them:
/// updated as tasks are encoded for it, by the rule [`WorkerCaptures`]
/// follows as it reads them. A new worker (one that replaces a dead one
/// included) starts with none.
#[derive(Debug, Default)]
pub(crate) struct SentCaptures {
    held: VecDeque<u64>,
}

impl SentCaptures {
    /// The captures field of the next task sent to this worker.
    pub(crate) fn wire<'a>(&mut self, captures: Option<&'a Arc<Captures>>) -> CapturesWire<'a> {
        let Some(captures) = captures else {
            return CapturesWire::default();
        };
        if self.held.contains(&captures.id) {
            return CapturesWire {
                id: captures.id,
                blob: &[],
            };
        }
        self.held.push_back(captures.id);
        if self.held.len() > KEPT {
            self.held.pop_front();
        }
        SENT_COUNT.fetch_add(1, Ordering::Relaxed);
        SENT_BYTES.fetch_add(captures.blob.len() as u64, Ordering::Relaxed);
        CapturesWire {
            id: captures.id,
            blob: &captures.blob,
        }
    }
}

/// The sets of captures a worker holds, each rebuilt into its closure on
/// first use.
#[derive(Default)]
pub(crate) struct WorkerCaptures {
    held: VecDeque<(u64, Held)>,
    /// Refuses every capturing closure: an MPI rank, whose tasks come over
    /// the network, never jumps to a code address it was sent.
    remote: bool,
}

enum Held {
    Blob(Vec<u8>),
    Built(Box<dyn Runner>),
    Failed(Error),
}

impl WorkerCaptures {
    /// For an MPI rank: tasks come over a network that anyone on it may
    /// write to, so a closure that captures — whose code a task names by
    /// its address — is refused there, never run.
    #[cfg(feature = "mpi")]
    pub(crate) fn remote() -> Self {
        WorkerCaptures {
            held: VecDeque::new(),
            remote: true,
        }
    }

    /// Takes note of a task's captures field, whether or not the task will
    /// run (a task taken back was still read): the same rule as
    /// [`SentCaptures::wire`].
    pub(crate) fn receive(&mut self, wire: &CapturesWire<'_>) {
        if wire.id == 0 || wire.blob.is_empty() {
            return;
        }
        self.held.retain(|(id, _)| *id != wire.id);
        self.held.push_back((wire.id, Held::Blob(wire.blob.to_vec())));
        if self.held.len() > KEPT {
            self.held.pop_front();
        }
    }

    /// Rebuilds a task's closure from its captures now, if it has some
    /// and this is their first task here: called before the task's clock
    /// starts, so that decoding (a large table takes milliseconds) is not
    /// counted as the time of its items, by which the pool sizes chunks.
    /// A failure is kept, and reported when the task runs.
    pub(crate) fn prepare(&mut self, entry: &str, wire: &CapturesWire<'_>) {
        if wire.id != 0 {
            let _ = self.runner(entry, wire.id);
        }
    }

    /// Runs a task's chunk: with its closure's captures when its entry
    /// captures, as a plain entry otherwise.
    pub(crate) fn run_chunk(
        &mut self,
        entry: &str,
        wire: &CapturesWire<'_>,
        chunk: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let desc = entry::lookup(entry)?;
        if !desc.captures {
            return (desc.run_chunk)(chunk, out);
        }
        self.runner(entry, wire.id)?.run_chunk(chunk, out)
    }

    fn runner(&mut self, entry: &str, id: u64) -> Result<&dyn Runner> {
        if self.remote {
            return Err(Error::Usage(
                format!(
                    "`{entry}` is a closure that captures, which MPI ranks do not run: its code is named by an \
                     address, which a rank does not take from the network; pass the values as arguments, or \
                     use a #[process_fn]"
                )
                .into(),
            ));
        }
        let Some((_, held)) = self.held.iter_mut().find(|(held, _)| *held == id) else {
            return Err(Error::ChildSetup {
                pid: 0,
                message: format!("a task of `{entry}` came without its captures (set {id})"),
            });
        };
        if let Held::Blob(blob) = held {
            *held = match rebuild(entry, blob) {
                Ok(runner) => Held::Built(runner),
                Err(e) => Held::Failed(e),
            };
        }
        match held {
            Held::Built(runner) => Ok(&**runner),
            Held::Failed(e) => Err(e.clone()),
            Held::Blob(_) => unreachable!("rebuilt above"),
        }
    }
}

/// The arguments of a single call (a process's start, a pool's
/// initializer) of `f`: with its captures in front when it has some.
pub(crate) fn request_args<F: crate::ProcessFn>(f: &F, args: Vec<u8>) -> Result<Vec<u8>> {
    match f.__captures()? {
        None => Ok(args),
        Some(captures) => codec::encode(&(serde_bytes::Bytes::new(&captures.blob), serde_bytes::Bytes::new(&args))),
    }
}

/// A capturing closure's chunks arrive with their captures, through
/// [`WorkerCaptures::run_chunk`]; this runner is never reached.
fn no_chunk_without_captures(_: &[u8], _: &mut Vec<u8>) -> Result<()> {
    Err(Error::ChildSetup {
        pid: 0,
        message: "a closure that captures was sent a chunk without its captures".into(),
    })
}

impl EntryDesc {
    /// The registry entry of a closure that captures: by name, for the
    /// duplicate check and the pool's timing; its code is reached through
    /// its captures.
    pub const fn capturing(name: &'static str, file: &'static str, line: u32) -> Self {
        EntryDesc {
            name,
            file,
            line,
            run: run_capturing_call,
            run_chunk: no_chunk_without_captures,
            captures: true,
        }
    }
}

/// A single call of a capturing closure (see [`request_args`]): which one
/// the captures say.
fn run_capturing_call(request: &[u8]) -> Result<Vec<u8>> {
    let setup = |message: String| Error::ChildSetup { pid: 0, message };
    let (blob, args): (&[u8], &[u8]) = codec::decode_borrowed(request)
        .map_err(|e| setup(format!("the request of a lifted closure did not decode: {e}")))?;
    let named: Blob<'_> = codec::decode_borrowed(blob)
        .map_err(|e| setup(format!("the captures of a lifted closure did not decode: {e}")))?;
    rebuild(named.entry, blob)?.run(args)
}

/// The types a [`Captured`] stands for, owned by none of its values.
type Types<O, C, A, R> = fn(O, A) -> (C, R);

/// A closure that captures, lifted by `lift!` or `par_map!`: its name, its
/// captures encoded once, and the constructor that rebuilds it from owned
/// captures. Cloning it shares the encoded captures, so a worker that got
/// them for one call does not get them again for the next.
pub struct Captured<O, Ctor, C, A, R> {
    name: &'static str,
    captures: std::result::Result<Arc<Captures>, Error>,
    ctor: Ctor,
    _types: PhantomData<Types<O, C, A, R>>,
}

impl<O, Ctor: Copy, C, A, R> Clone for Captured<O, Ctor, C, A, R> {
    fn clone(&self) -> Self {
        Captured {
            name: self.name,
            captures: self.captures.clone(),
            ctor: self.ctor,
            _types: PhantomData,
        }
    }
}

impl<O, Ctor, C, A, R> std::fmt::Debug for Captured<O, Ctor, C, A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.captures.as_ref().map(|c| c.blob.len()).ok();
        f.debug_struct("Captured")
            .field("name", &self.name)
            .field("bytes", &bytes)
            .finish()
    }
}

impl<O, Ctor, C, A, R> Captured<O, Ctor, C, A, R>
where
    O: Capturable,
    Ctor: Fn(O) -> C + Copy + Send + Sync + 'static,
    C: Fn(A) -> R + 'static,
    A: crate::__private::Portable,
    R: crate::__private::Portable,
{
    /// The handle of the closure registered as `name` (an
    /// [`EntryDesc::capturing`]), whose captures are `refs` and which
    /// `ctor` rebuilds. The captures are encoded here, once.
    pub fn new<K>(name: &'static str, refs: K, ctor: Ctor) -> Self
    where
        K: CaptureRefs<Owned = O> + Serialize,
    {
        let captures = codec::encode(&refs)
            .map_err(|e| {
                Error::Codec(format!(
                    "what `{name}` captured could not be encoded: {}",
                    crate::chunk::codec_message(e)
                ))
            })
            .and_then(|bytes| Captures::new(name, build::<O, Ctor, C, A, R>, &bytes))
            .map(Arc::new);
        Captured {
            name,
            captures,
            ctor,
            _types: PhantomData,
        }
    }
}

impl<O: DeserializeOwned, Ctor: Fn(O) -> C, C, A, R> Captured<O, Ctor, C, A, R> {
    /// The closure rebuilt here from its encoded captures.
    fn rebuilt(&self) -> Result<C> {
        let captures = self.captures.as_ref().map_err(Clone::clone)?;
        let blob: Blob<'_> = codec::decode_borrowed(&captures.blob)?;
        Ok((self.ctor)(codec::decode(blob.captures)?))
    }
}

impl<O, Ctor, C, A, R> ProcessFnCore for Captured<O, Ctor, C, A, R>
where
    O: Capturable,
    Ctor: Fn(O) -> C + Copy + Send + Sync + 'static,
    C: Fn(A) -> R + 'static,
    A: 'static,
    R: 'static,
{
    type Args = (A,);
    type Output = R;

    fn name(&self) -> &'static str {
        self.name
    }

    /// Rebuilds the closure from its encoded captures and calls it: each
    /// call decodes them again (workers decode them once per call of a
    /// pool; calling a lifted closure directly is for tests and one-offs).
    ///
    /// # Panics
    /// When the captures could not be encoded (a `Serialize` impl that
    /// failed): the pool and `par_map!` report that as an error instead.
    fn call(&self, (a,): (A,)) -> R {
        match self.rebuilt() {
            Ok(f) => f(a),
            Err(e) => panic!("`{}`: {e}", self.name),
        }
    }

    fn captures(&self) -> Result<Option<Arc<Captures>>> {
        self.captures.clone().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captures(id: u64, blob: &[u8]) -> Arc<Captures> {
        Arc::new(Captures {
            id,
            blob: blob.to_vec(),
        })
    }

    #[test]
    fn parent_and_worker_agree_on_what_the_worker_holds() {
        let (a, b, c) = (captures(1, b"a"), captures(2, b"b"), captures(3, b"c"));
        let mut sent = SentCaptures::default();
        let mut worker = WorkerCaptures::default();
        let mut order = Vec::new();
        for next in [&a, &a, &b, &a, &c, &a, &b, &b] {
            let wire = sent.wire(Some(next));
            order.push(!wire.blob.is_empty());
            worker.receive(&wire);
            assert!(
                worker.held.iter().any(|(id, _)| *id == next.id),
                "set {} missing",
                next.id
            );
        }
        // Sent the first time, and again once two newer sets have pushed
        // it out (c pushes a out, a then b, b then c).
        assert_eq!(order, [true, false, true, false, true, true, true, false]);
        assert!(sent.wire(None).id == 0);
    }
}
