//! The objects a manager's server owns: the built-in ones (list, dict,
//! namespace, value, array, queues, locks, semaphores, event, condition,
//! barrier) and user types made [`Managed`](super::Managed).
//!
//! The server never knows an item's type: the built-ins keep each item as
//! the bytes its proxy encoded, and hand them back as they came. A method
//! that waits (a queue `get`, a lock `acquire`) blocks the server thread of
//! the connection that called it, and no other.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_bytes::ByteBuf;

use super::conn::Caller;
use crate::bell::Bell;
use crate::codec;
use crate::error::{Error, Result};

/// One object on the server.
pub(crate) trait Object: Send + Sync {
    /// Its type's name, which a proxy checks.
    fn type_name(&self) -> &str;
    /// Runs `method` with encoded `args`; the encoded result.
    fn call(&self, method: &str, args: &[u8], caller: Caller) -> Result<Vec<u8>>;
    /// Every connection of `client` closed: release what it held.
    fn client_gone(&self, _client: u64) {}
}

fn decode<T: DeserializeOwned>(args: &[u8]) -> Result<T> {
    codec::decode(args)
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    codec::encode(value)
}

fn unknown(type_name: &str, method: &str) -> Error {
    Error::Manager(format!("`{type_name}` has no method `{method}`"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits on `cv` until `ready` holds or `timeout` (from now) passes;
/// whether it holds.
fn wait_for<'a, T>(
    cv: &Bell,
    mut guard: MutexGuard<'a, T>,
    timeout: Option<Duration>,
    mut ready: impl FnMut(&mut T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    while !ready(&mut guard) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return (guard, false);
        }
        guard = cv.wait(guard, deadline);
    }
    (guard, true)
}

fn out_of_range(what: &str, index: u64, len: usize) -> Error {
    Error::Usage(format!("{what} index {index} out of range (length {len})").into())
}

fn slot<'a, T>(items: &'a mut [T], index: u64, what: &str) -> Result<&'a mut T> {
    let len = items.len();
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get_mut(i))
        .ok_or_else(|| out_of_range(what, index, len))
}

/// The type names of the built-ins (what their proxies expect).
pub(crate) mod names {
    pub(crate) const LIST: &str = "multiproc::list";
    pub(crate) const DICT: &str = "multiproc::dict";
    pub(crate) const NAMESPACE: &str = "multiproc::namespace";
    pub(crate) const VALUE: &str = "multiproc::value";
    pub(crate) const ARRAY: &str = "multiproc::array";
    pub(crate) const QUEUE: &str = "multiproc::queue";
    pub(crate) const JOINABLE_QUEUE: &str = "multiproc::joinable_queue";
    pub(crate) const LOCK: &str = "multiproc::lock";
    pub(crate) const RLOCK: &str = "multiproc::rlock";
    pub(crate) const SEMAPHORE: &str = "multiproc::semaphore";
    pub(crate) const BOUNDED_SEMAPHORE: &str = "multiproc::bounded_semaphore";
    pub(crate) const EVENT: &str = "multiproc::event";
    pub(crate) const CONDITION: &str = "multiproc::condition";
    pub(crate) const BARRIER: &str = "multiproc::barrier";
}

/// Makes a built-in from its constructor's encoded arguments; `None` for
/// a type name that is not a built-in.
pub(crate) fn builtin(type_name: &str, args: &[u8]) -> Option<Result<Box<dyn Object>>> {
    use names::*;
    let made: Result<Box<dyn Object>> = match type_name {
        LIST => decode::<Vec<ByteBuf>>(args).map(|items| {
            Box::new(List(Mutex::new(items.into_iter().map(ByteBuf::into_vec).collect()))) as Box<dyn Object>
        }),
        DICT => Ok(Box::new(Dict::default())),
        NAMESPACE => Ok(Box::new(Namespace::default())),
        VALUE => decode::<ByteBuf>(args).map(|v| Box::new(Value(Mutex::new(v.into_vec()))) as Box<dyn Object>),
        ARRAY => decode::<Vec<ByteBuf>>(args).map(|items| {
            Box::new(Array(Mutex::new(items.into_iter().map(ByteBuf::into_vec).collect()))) as Box<dyn Object>
        }),
        QUEUE => decode::<u64>(args).map(|max| Box::new(Queue::new(max, false)) as Box<dyn Object>),
        JOINABLE_QUEUE => decode::<u64>(args).map(|max| Box::new(Queue::new(max, true)) as Box<dyn Object>),
        LOCK => Ok(Box::new(Lock::new(false))),
        RLOCK => Ok(Box::new(Lock::new(true))),
        SEMAPHORE => decode::<u64>(args).map(|n| Box::new(Semaphore::new(n, false)) as Box<dyn Object>),
        BOUNDED_SEMAPHORE => decode::<u64>(args).map(|n| Box::new(Semaphore::new(n, true)) as Box<dyn Object>),
        EVENT => Ok(Box::new(Event::default())),
        CONDITION => Ok(Box::new(Condition::default())),
        BARRIER => decode::<u64>(args).and_then(|n| {
            if n == 0 {
                return Err(Error::Usage("a barrier needs at least one party".into()));
            }
            Ok(Box::new(Barrier::new(n)) as Box<dyn Object>)
        }),
        _ => return None,
    };
    Some(made)
}

struct List(Mutex<Vec<Vec<u8>>>);

impl Object for List {
    fn type_name(&self) -> &str {
        names::LIST
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let mut items = lock(&self.0);
        match method {
            "push" => {
                items.push(decode::<ByteBuf>(args)?.into_vec());
                encode(&())
            }
            "extend" => {
                items.extend(decode::<Vec<ByteBuf>>(args)?.into_iter().map(ByteBuf::into_vec));
                encode(&())
            }
            "get" => {
                let i: u64 = decode(args)?;
                encode(&ByteBuf::from(slot(&mut items, i, "list")?.clone()))
            }
            "set" => {
                let (i, v): (u64, ByteBuf) = decode(args)?;
                *slot(&mut items, i, "list")? = v.into_vec();
                encode(&())
            }
            "insert" => {
                let (i, v): (u64, ByteBuf) = decode(args)?;
                let at = usize::try_from(i).unwrap_or(usize::MAX).min(items.len());
                items.insert(at, v.into_vec());
                encode(&())
            }
            "remove" => {
                let i: u64 = decode(args)?;
                slot(&mut items, i, "list")?;
                encode(&ByteBuf::from(items.remove(i as usize)))
            }
            "pop" => encode(&items.pop().map(ByteBuf::from)),
            "len" => encode(&(items.len() as u64)),
            "clear" => {
                items.clear();
                encode(&())
            }
            "items" => encode(&items.iter().map(|v| serde_bytes::Bytes::new(v)).collect::<Vec<_>>()),
            _ => Err(unknown(names::LIST, method)),
        }
    }
}

/// Entries by key, each with its insertion number; the next number.
type Ordered<K> = (HashMap<K, (u64, Vec<u8>)>, u64);

/// Keys and values as their encodings; insertion order kept, as in a
/// Python dict.
#[derive(Default)]
struct Dict(Mutex<Ordered<Vec<u8>>>);

impl Object for Dict {
    fn type_name(&self) -> &str {
        names::DICT
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let mut guard = lock(&self.0);
        let (map, next) = &mut *guard;
        match method {
            "insert" => {
                let (k, v): (ByteBuf, ByteBuf) = decode(args)?;
                let old = match map.get_mut(k.as_slice()) {
                    Some((_, slot)) => Some(std::mem::replace(slot, v.into_vec())),
                    None => {
                        *next += 1;
                        map.insert(k.into_vec(), (*next, v.into_vec()));
                        None
                    }
                };
                encode(&old.map(ByteBuf::from))
            }
            "get" => {
                let k: ByteBuf = decode(args)?;
                encode(&map.get(k.as_slice()).map(|(_, v)| serde_bytes::Bytes::new(v)))
            }
            "remove" => {
                let k: ByteBuf = decode(args)?;
                encode(&map.remove(k.as_slice()).map(|(_, v)| ByteBuf::from(v)))
            }
            "contains" => {
                let k: ByteBuf = decode(args)?;
                encode(&map.contains_key(k.as_slice()))
            }
            "len" => encode(&(map.len() as u64)),
            "clear" => {
                map.clear();
                encode(&())
            }
            "items" => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by_key(|(_, (seq, _))| *seq);
                let pairs: Vec<(&serde_bytes::Bytes, &serde_bytes::Bytes)> = entries
                    .into_iter()
                    .map(|(k, (_, v))| (serde_bytes::Bytes::new(k), serde_bytes::Bytes::new(v)))
                    .collect();
                encode(&pairs)
            }
            _ => Err(unknown(names::DICT, method)),
        }
    }
}

/// Fields by name: each with its insertion number, its value's encoding,
/// and its value's text for the proxy's `Debug` (see `shown.rs`); the next
/// number.
type Fields = (HashMap<String, (u64, Vec<u8>, String)>, u64);

#[derive(Default)]
struct Namespace(Mutex<Fields>);

impl Namespace {
    /// The fields in the order they were first set.
    fn ordered(fields: &HashMap<String, (u64, Vec<u8>, String)>) -> Vec<(&String, &String)> {
        let mut entries: Vec<(&u64, &String, &String)> =
            fields.iter().map(|(k, (seq, _, text))| (seq, k, text)).collect();
        entries.sort_unstable();
        entries.into_iter().map(|(_, k, text)| (k, text)).collect()
    }
}

impl Object for Namespace {
    fn type_name(&self) -> &str {
        names::NAMESPACE
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let mut guard = lock(&self.0);
        let (fields, next) = &mut *guard;
        match method {
            "get" => {
                let name: String = decode(args)?;
                match fields.get(&name) {
                    Some((_, v, _)) => encode(&serde_bytes::Bytes::new(v)),
                    None => Err(Error::Usage(format!("the namespace has no field `{name}`").into())),
                }
            }
            "set" => {
                let (name, v, text): (String, ByteBuf, String) = decode(args)?;
                // A client's text is kept no longer than a proxy writes it.
                let text = if text.len() > super::shown::MAX_SHOWN + '…'.len_utf8() {
                    super::shown::clipped(text)
                } else {
                    text
                };
                *next += 1;
                let seq = fields.get(&name).map_or(*next, |(seq, _, _)| *seq);
                fields.insert(name, (seq, v.into_vec(), text));
                encode(&())
            }
            "remove" => {
                let name: String = decode(args)?;
                encode(&fields.remove(&name).is_some())
            }
            "fields" => encode(&Self::ordered(fields).into_iter().map(|(k, _)| k).collect::<Vec<_>>()),
            "shown" => encode(&Self::ordered(fields)),
            _ => Err(unknown(names::NAMESPACE, method)),
        }
    }
}

struct Value(Mutex<Vec<u8>>);

impl Object for Value {
    fn type_name(&self) -> &str {
        names::VALUE
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let mut value = lock(&self.0);
        match method {
            "get" => encode(&serde_bytes::Bytes::new(&value)),
            "set" => {
                *value = decode::<ByteBuf>(args)?.into_vec();
                encode(&())
            }
            _ => Err(unknown(names::VALUE, method)),
        }
    }
}

struct Array(Mutex<Vec<Vec<u8>>>);

impl Object for Array {
    fn type_name(&self) -> &str {
        names::ARRAY
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let mut items = lock(&self.0);
        match method {
            "get" => {
                let i: u64 = decode(args)?;
                encode(&serde_bytes::Bytes::new(slot(&mut items, i, "array")?))
            }
            "set" => {
                let (i, v): (u64, ByteBuf) = decode(args)?;
                *slot(&mut items, i, "array")? = v.into_vec();
                encode(&())
            }
            "len" => encode(&(items.len() as u64)),
            "items" => encode(&items.iter().map(|v| serde_bytes::Bytes::new(v)).collect::<Vec<_>>()),
            _ => Err(unknown(names::ARRAY, method)),
        }
    }
}

struct QueueState {
    items: VecDeque<Vec<u8>>,
    unfinished: u64,
}

struct Queue {
    state: Mutex<QueueState>,
    changed: Bell,
    maxsize: u64,
    joinable: bool,
}

impl Queue {
    fn new(maxsize: u64, joinable: bool) -> Self {
        Queue {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                unfinished: 0,
            }),
            changed: Bell::default(),
            maxsize,
            joinable,
        }
    }

    fn name(&self) -> &'static str {
        if self.joinable {
            names::JOINABLE_QUEUE
        } else {
            names::QUEUE
        }
    }
}

impl Object for Queue {
    fn type_name(&self) -> &str {
        self.name()
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let state = lock(&self.state);
        let max = self.maxsize;
        match method {
            "put" => {
                let (item, timeout): (ByteBuf, Option<Duration>) = decode(args)?;
                let (mut state, room) = wait_for(&self.changed, state, timeout, |s| {
                    max == 0 || (s.items.len() as u64) < max
                });
                if !room {
                    return Err(Error::Full);
                }
                state.items.push_back(item.into_vec());
                state.unfinished += 1;
                self.changed.wake_all();
                encode(&())
            }
            "get" => {
                let timeout: Option<Duration> = decode(args)?;
                let (mut state, any) = wait_for(&self.changed, state, timeout, |s| !s.items.is_empty());
                match state.items.pop_front() {
                    Some(item) if any => {
                        self.changed.wake_all();
                        encode(&ByteBuf::from(item))
                    }
                    _ => Err(Error::Empty),
                }
            }
            "qsize" => encode(&(state.items.len() as u64)),
            "full" => encode(&(max != 0 && state.items.len() as u64 >= max)),
            "task_done" if self.joinable => {
                let mut state = state;
                if state.unfinished == 0 {
                    return Err(Error::Usage(
                        "task_done() called more times than there were items".into(),
                    ));
                }
                state.unfinished -= 1;
                self.changed.wake_all();
                encode(&())
            }
            "join" if self.joinable => {
                let timeout: Option<Duration> = decode(args)?;
                let (_state, done) = wait_for(&self.changed, state, timeout, |s| s.unfinished == 0);
                encode(&done)
            }
            _ => Err(unknown(self.name(), method)),
        }
    }
}

/// A lock owned by a caller, counted for re-entry: what `Lock`, `RLock`
/// and a `Condition`'s lock share.
#[derive(Default)]
struct LockState {
    owner: Option<Caller>,
    count: u32,
}

/// Server state that holds a [`LockState`].
trait Holds {
    fn held(&mut self) -> &mut LockState;
}

impl Holds for LockState {
    fn held(&mut self) -> &mut LockState {
        self
    }
}

/// Takes the lock in `guard`'s state for `caller` (again, if `reentrant`
/// and `caller` holds it), waiting on `cv` at most `timeout`; whether it
/// was taken.
fn take_lock<'a, T: Holds>(
    cv: &Bell,
    mut guard: MutexGuard<'a, T>,
    caller: Caller,
    reentrant: bool,
    timeout: Option<Duration>,
) -> (MutexGuard<'a, T>, bool) {
    if reentrant && guard.held().owner == Some(caller) {
        guard.held().count += 1;
        return (guard, true);
    }
    let (mut guard, free) = wait_for(cv, guard, timeout, |s| s.held().owner.is_none());
    if free {
        let held = guard.held();
        held.owner = Some(caller);
        held.count = 1;
    }
    (guard, free)
}

impl LockState {
    /// Gives one hold back; the last one frees the lock and wakes `cv`.
    fn give_back(&mut self, cv: &Bell) {
        self.count -= 1;
        if self.count == 0 {
            self.owner = None;
            cv.wake_all();
        }
    }

    /// Frees the lock if `client`, now gone, held it.
    fn forget(&mut self, client: u64, cv: &Bell) {
        if self.owner.is_some_and(|o| o.client == client) {
            self.owner = None;
            self.count = 0;
            cv.wake_all();
        }
    }
}

/// A lock (or, `reentrant`, an RLock) owned by a caller: a client's thread.
struct Lock {
    state: Mutex<LockState>,
    changed: Bell,
    reentrant: bool,
}

impl Lock {
    fn new(reentrant: bool) -> Self {
        Lock {
            state: Mutex::new(LockState::default()),
            changed: Bell::default(),
            reentrant,
        }
    }

    fn name(&self) -> &'static str {
        if self.reentrant {
            names::RLOCK
        } else {
            names::LOCK
        }
    }
}

impl Object for Lock {
    fn type_name(&self) -> &str {
        self.name()
    }

    fn call(&self, method: &str, args: &[u8], caller: Caller) -> Result<Vec<u8>> {
        let state = lock(&self.state);
        match method {
            "acquire" => {
                let timeout: Option<Duration> = decode(args)?;
                let (_state, taken) = take_lock(&self.changed, state, caller, self.reentrant, timeout);
                encode(&taken)
            }
            "release" => {
                let mut state = state;
                match state.owner {
                    None => return Err(Error::Usage("release of an unlocked lock".into())),
                    Some(owner) if self.reentrant && owner != caller => {
                        return Err(Error::Usage("an RLock can be released only by its owner".into()))
                    }
                    _ => {}
                }
                state.give_back(&self.changed);
                encode(&())
            }
            "locked" => encode(&state.owner.is_some()),
            _ => Err(unknown(self.name(), method)),
        }
    }

    fn client_gone(&self, client: u64) {
        lock(&self.state).forget(client, &self.changed);
    }
}

struct Semaphore {
    value: Mutex<u64>,
    changed: Bell,
    bound: Option<u64>,
}

impl Semaphore {
    fn new(n: u64, bounded: bool) -> Self {
        Semaphore {
            value: Mutex::new(n),
            changed: Bell::default(),
            bound: bounded.then_some(n),
        }
    }

    fn name(&self) -> &'static str {
        if self.bound.is_some() {
            names::BOUNDED_SEMAPHORE
        } else {
            names::SEMAPHORE
        }
    }
}

impl Object for Semaphore {
    fn type_name(&self) -> &str {
        self.name()
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let value = lock(&self.value);
        match method {
            "acquire" => {
                let timeout: Option<Duration> = decode(args)?;
                let (mut value, got) = wait_for(&self.changed, value, timeout, |v| *v > 0);
                if got {
                    *value -= 1;
                }
                encode(&got)
            }
            "release" => {
                let mut value = value;
                if self.bound.is_some_and(|b| *value >= b) {
                    return Err(Error::Usage("a BoundedSemaphore was released too many times".into()));
                }
                *value += 1;
                self.changed.wake_one();
                encode(&())
            }
            "value" => encode(&*value),
            _ => Err(unknown(self.name(), method)),
        }
    }
}

#[derive(Default)]
struct Event {
    set: Mutex<bool>,
    changed: Bell,
}

impl Object for Event {
    fn type_name(&self) -> &str {
        names::EVENT
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let mut set = lock(&self.set);
        match method {
            "set" => {
                *set = true;
                self.changed.wake_all();
                encode(&())
            }
            "clear" => {
                *set = false;
                encode(&())
            }
            "is_set" => encode(&*set),
            "wait" => {
                let timeout: Option<Duration> = decode(args)?;
                let (_set, was) = wait_for(&self.changed, set, timeout, |s| *s);
                encode(&was)
            }
            _ => Err(unknown(names::EVENT, method)),
        }
    }
}

#[derive(Default)]
struct ConditionState {
    held: LockState,
    next_ticket: u64,
    waiting: VecDeque<u64>,
    notified: HashSet<u64>,
}

/// A condition variable with its own re-entrant lock.
#[derive(Default)]
struct Condition {
    state: Mutex<ConditionState>,
    changed: Bell,
}

impl Condition {
    fn must_own(state: &ConditionState, caller: Caller, what: &str) -> Result<()> {
        if state.held.owner == Some(caller) {
            Ok(())
        } else {
            Err(Error::Usage(format!("{what} needs the condition's lock held").into()))
        }
    }
}

impl Holds for ConditionState {
    fn held(&mut self) -> &mut LockState {
        &mut self.held
    }
}

impl Object for Condition {
    fn type_name(&self) -> &str {
        names::CONDITION
    }

    fn call(&self, method: &str, args: &[u8], caller: Caller) -> Result<Vec<u8>> {
        let mut state = lock(&self.state);
        match method {
            "acquire" => {
                let timeout: Option<Duration> = decode(args)?;
                let (_state, taken) = take_lock(&self.changed, state, caller, true, timeout);
                encode(&taken)
            }
            "release" => {
                Condition::must_own(&state, caller, "release")?;
                state.held.give_back(&self.changed);
                encode(&())
            }
            "wait" => {
                let timeout: Option<Duration> = decode(args)?;
                Condition::must_own(&state, caller, "wait")?;
                let saved = state.held.count;
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                state.waiting.push_back(ticket);
                state.held = LockState::default();
                self.changed.wake_all();
                let (mut state, notified) = wait_for(&self.changed, state, timeout, |s| s.notified.contains(&ticket));
                if notified {
                    state.notified.remove(&ticket);
                } else {
                    state.waiting.retain(|t| *t != ticket);
                }
                // Take the lock back, however long that takes.
                let (mut state, _) = wait_for(&self.changed, state, None, |s| s.held.owner.is_none());
                state.held = LockState {
                    owner: Some(caller),
                    count: saved,
                };
                encode(&notified)
            }
            "notify" => {
                let n: u64 = decode(args)?;
                Condition::must_own(&state, caller, "notify")?;
                for _ in 0..n {
                    let Some(ticket) = state.waiting.pop_front() else { break };
                    state.notified.insert(ticket);
                }
                self.changed.wake_all();
                encode(&())
            }
            _ => Err(unknown(names::CONDITION, method)),
        }
    }

    fn client_gone(&self, client: u64) {
        lock(&self.state).held.forget(client, &self.changed);
    }
}

struct BarrierState {
    waiting: u64,
    generation: u64,
    broken: bool,
    /// The generation that `reset` ended while parties waited in it.
    reset: Option<u64>,
}

struct Barrier {
    state: Mutex<BarrierState>,
    changed: Bell,
    parties: u64,
}

impl Barrier {
    fn new(parties: u64) -> Self {
        Barrier {
            state: Mutex::new(BarrierState {
                waiting: 0,
                generation: 0,
                broken: false,
                reset: None,
            }),
            changed: Bell::default(),
            parties,
        }
    }
}

impl Object for Barrier {
    fn type_name(&self) -> &str {
        names::BARRIER
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        let mut state = lock(&self.state);
        match method {
            "wait" => {
                let timeout: Option<Duration> = decode(args)?;
                if state.broken {
                    return Err(Error::BrokenBarrier);
                }
                let index = state.waiting;
                state.waiting += 1;
                if state.waiting == self.parties {
                    state.waiting = 0;
                    state.generation += 1;
                    self.changed.wake_all();
                    return encode(&index);
                }
                let generation = state.generation;
                let (mut state, passed) = wait_for(&self.changed, state, timeout, |s| {
                    s.generation != generation || s.broken
                });
                if state.generation != generation {
                    if state.reset == Some(generation) {
                        return Err(Error::BrokenBarrier);
                    }
                    return encode(&index);
                }
                if !passed {
                    // A timeout breaks the barrier for everyone, as in Python.
                    state.broken = true;
                    state.waiting = 0;
                    self.changed.wake_all();
                }
                Err(Error::BrokenBarrier)
            }
            "abort" => {
                state.broken = true;
                state.waiting = 0;
                self.changed.wake_all();
                encode(&())
            }
            "reset" => {
                if state.waiting > 0 {
                    state.reset = Some(state.generation);
                }
                state.waiting = 0;
                state.generation += 1;
                state.broken = false;
                self.changed.wake_all();
                encode(&())
            }
            "broken" => encode(&state.broken),
            "n_waiting" => encode(&state.waiting),
            "parties" => encode(&self.parties),
            _ => Err(unknown(names::BARRIER, method)),
        }
    }
}

/// A user's [`Managed`](super::Managed) value, one call at a time.
pub(crate) struct Exclusive<T>(pub(crate) Mutex<T>);

impl<T: super::Managed> Object for Exclusive<T> {
    fn type_name(&self) -> &str {
        T::TYPE_NAME
    }

    fn call(&self, method: &str, args: &[u8], _: Caller) -> Result<Vec<u8>> {
        lock(&self.0).dispatch(method, args)
    }
}
