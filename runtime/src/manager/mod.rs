//! The guide's managers: objects that live in a server process, used
//! from any process through typed proxies — [`Manager`] for the built-in
//! types on this machine, [`BaseManager`] to serve named objects over TCP,
//! and [`#[managed]`](crate::managed) for a user's own types.
//!
//! - `mod.rs` — [`Manager`], [`BaseManager`], [`ManagerClient`], the
//!   [`Managed`] and [`Proxy`] traits, [`Handle`];
//! - `proxy.rs` — the built-in proxies ([`ListProxy`], [`DictProxy`], …);
//! - `objects.rs` — what the server holds behind them;
//! - `server.rs` — the server: a thread per authenticated connection;
//! - `gate.rs` — its gate: accepting and every handshake in one thread,
//!   with a cap, a total deadline, and a plan for running out of
//!   descriptors;
//! - `conn/` — addresses and streams (`mod.rs`), the HMAC handshake and
//!   frame protection (`auth.rs`), the shared page (`slot.rs`), the client
//!   and its requests and replies (`client.rs`);
//! - `local.rs` — a `BaseManager`'s local twin, and the `SO_PEERCRED`
//!   checks on every local socket.
//!
//! Every connection proves, both ways, that it knows the authkey before a
//! single request is read. Objects live as long as their server.
//!
//! ```
//! use multiproc::manager::Manager;
//!
//! # fn main() -> multiproc::Result<()> {
//! let manager = Manager::start()?;
//! let scores = manager.dict::<String, u32>()?;
//! scores.insert(&"ada".to_string(), &36)?;
//! assert_eq!(scores.get(&"ada".to_string())?, Some(36));
//! # Ok(())
//! # }
//! ```

pub(crate) mod conn;
pub(crate) mod gate;
pub(crate) mod local;
mod objects;
mod proxy;
pub(crate) mod server;
mod shown;

use std::collections::HashMap;
use std::fmt;
use std::net::TcpListener;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use self::conn::Address;
use self::conn::{Client, Request};
use self::objects::names;
pub use self::proxy::{
    ArrayProxy, BarrierProxy, ConditionGuard, ConditionProxy, DictProxy, EventProxy, JoinableQueueProxy, ListProxy,
    LockGuard, LockProxy, NamespaceProxy, QueueProxy, SemaphoreProxy, ValueProxy,
};
use self::server::{Listener, Named, Server};
use crate::codec;
use crate::error::{Error, Result};
use crate::handoff::TravelFd;
use crate::process::{Process, StartMethod};

/// A type whose values a manager's server can own, called through its
/// [`Proxy`]. Implemented by [`#[managed]`](crate::managed) on an `impl`
/// block, never by hand.
pub trait Managed: Send + 'static {
    /// The stable name of the type (module path and type name).
    const TYPE_NAME: &'static str;
    /// The proxy type the macro generated.
    type Proxy: Proxy;
    /// Runs `method` with its encoded arguments on this value.
    #[doc(hidden)]
    fn dispatch(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>>;
    /// Runs constructor `name` with its encoded arguments.
    #[doc(hidden)]
    fn construct(name: &str, args: &[u8]) -> Result<Self>
    where
        Self: Sized;
}

/// A typed handle to an object on a manager's server: a built-in proxy or
/// one that [`#[managed]`](crate::managed) generated.
///
/// Proxies are cheap to clone, and can be passed as arguments to a
/// `#[process_fn]` of any start method (or to a pool's initializer): there
/// they connect to the same server and reach the same object.
pub trait Proxy: Sized {
    /// The server-side type's name, checked when a proxy is made.
    const TYPE_NAME: &'static str;
    /// Whether an object of `type_name` can stand behind this proxy.
    #[doc(hidden)]
    fn accepts(type_name: &str) -> bool {
        type_name == Self::TYPE_NAME
    }
    #[doc(hidden)]
    fn from_handle(handle: Handle) -> Self;
    #[doc(hidden)]
    fn handle(&self) -> &Handle;
}

/// The untyped part of every proxy: which server, which object.
#[derive(Clone)]
pub struct Handle {
    client: Arc<Client>,
    id: u64,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("address", &self.client.address)
            .field("id", &self.id)
            .finish()
    }
}

impl Handle {
    /// Calls `method` of the object with `args` (a tuple); decodes the
    /// result. What generated proxies call.
    ///
    /// # Errors
    /// The method's own error, or [`Error::Manager`] when the server is
    /// gone or the object has no such method.
    #[doc(hidden)]
    pub fn call<A: Serialize, R: DeserializeOwned>(&self, method: &str, args: &A) -> Result<R> {
        self.client.call(self.id, method, args)
    }
}

/// How a proxy travels to another process: the server's address, the
/// authkey, the object's id.
#[derive(Serialize, Deserialize)]
struct HandleWire {
    address: Address,
    #[serde(with = "serde_bytes")]
    authkey: Vec<u8>,
    id: u64,
}

impl Serialize for Handle {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        HandleWire {
            address: self.client.address.clone(),
            authkey: self.client.authkey.to_vec(),
            id: self.id,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Handle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let wire = HandleWire::deserialize(d)?;
        let client = Client::shared(&wire.address, &wire.authkey.into()).map_err(serde::de::Error::custom)?;
        Ok(Handle { client, id: wire.id })
    }
}

/// A connection to a manager's server, from which proxies are made: what
/// [`Manager`] derefs to and [`BaseManager::connect`] returns.
#[derive(Clone)]
pub struct ManagerClient {
    client: Arc<Client>,
}

impl fmt::Debug for ManagerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerClient")
            .field("address", &self.client.address)
            .finish()
    }
}

impl ManagerClient {
    #[cfg(feature = "fuzzing")]
    /// A client of the server at `address`.
    pub(crate) fn over(address: Address, authkey: &[u8]) -> Result<ManagerClient> {
        Ok(ManagerClient {
            client: Client::connect(address, authkey.into())?,
        })
    }

    fn typed<P: Proxy>(&self, (id, type_name): (u64, String)) -> Result<P> {
        if !P::accepts(&type_name) {
            return Err(Error::Manager(format!(
                "the object is a `{type_name}`, not the `{}` that was asked for",
                P::TYPE_NAME
            )));
        }
        Ok(P::from_handle(Handle {
            client: self.client.clone(),
            id,
        }))
    }

    /// Makes a new object on the server with constructor `constructor` of
    /// its type and `args` (a tuple). Generated proxies' constructors call
    /// this; the built-in ones have their own methods ([`list`](Self::list), …).
    ///
    /// # Errors
    /// [`Error::Manager`] for a type the server's executable does not know.
    #[doc(hidden)]
    pub fn create<P: Proxy, A: Serialize>(&self, constructor: &str, args: &A) -> Result<P> {
        let request = Request::Create {
            type_name: P::TYPE_NAME.to_string(),
            constructor: constructor.to_string(),
            args: codec::encode(args)?,
        };
        self.typed(self.client.object(&request)?)
    }

    /// A proxy to the object the server registered as `name` (the guide's
    /// `manager.get_queue()` after `register('get_queue', …)`).
    ///
    /// # Errors
    /// [`Error::Manager`] for an unknown name, or an object of another
    /// type than `P`'s.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::manager::{BaseManager, Object, QueueProxy};
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let server = BaseManager::builder()
    ///     .address("127.0.0.1:0")
    ///     .authkey(b"secret")
    ///     .register_shared("jobs", Object::queue(0))
    ///     .start()?;
    /// let client = BaseManager::connect(&server.address().to_string(), b"secret")?;
    /// let jobs: QueueProxy<String> = client.get("jobs")?;
    /// jobs.put("first".to_string())?;
    /// assert!(client.get::<QueueProxy<String>>("nothing").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn get<P: Proxy>(&self, name: &str) -> Result<P> {
        let request = Request::Lookup { name: name.to_string() };
        self.typed(self.client.object(&request)?)
    }

    /// The server's address.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// println!("{}", manager.address());
    /// ```
    pub fn address(&self) -> &Address {
        &self.client.address
    }

    /// Stops the server: every proxy's next call fails with
    /// [`Error::Manager`].
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone already.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let list = manager.list::<u8>().unwrap();
    /// manager.shutdown().unwrap();
    /// assert!(list.len().is_err());
    /// ```
    pub fn shutdown(&self) -> Result<()> {
        self.client.request(&Request::Shutdown).map(drop)
    }

    fn builtin<P: Proxy, A: Serialize>(&self, args: &A) -> Result<P> {
        self.create("new", args)
    }

    /// A new shared list (the guide's `manager.list()`).
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let l = manager.list::<i32>().unwrap();
    /// l.push(&1).unwrap();
    /// assert_eq!(l.to_vec().unwrap(), [1]);
    /// ```
    pub fn list<T: Serialize + DeserializeOwned>(&self) -> Result<ListProxy<T>> {
        self.builtin(&Vec::<serde_bytes::ByteBuf>::new())
    }

    /// A new shared dict (the guide's `manager.dict()`); keys are compared
    /// by their encoding.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let d = manager.dict::<u8, String>().unwrap();
    /// d.insert(&1, &"one".into()).unwrap();
    /// assert_eq!(d.len().unwrap(), 1);
    /// ```
    pub fn dict<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned>(&self) -> Result<DictProxy<K, V>> {
        self.builtin(&())
    }

    /// A new namespace: named fields of any serde type (the guide's
    /// `manager.Namespace()`).
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let ns = manager.namespace().unwrap();
    /// ns.set("x", &10).unwrap();
    /// assert_eq!(ns.get::<i32>("x").unwrap(), 10);
    /// ```
    pub fn namespace(&self) -> Result<NamespaceProxy> {
        self.builtin(&())
    }

    /// A new shared value (the guide's `manager.Value`).
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let v = manager.value(&1.5f64).unwrap();
    /// v.set(&2.5).unwrap();
    /// assert_eq!(v.get().unwrap(), 2.5);
    /// ```
    pub fn value<T: Serialize + DeserializeOwned>(&self, initial: &T) -> Result<ValueProxy<T>> {
        self.builtin(&serde_bytes::ByteBuf::from(codec::encode(initial)?))
    }

    /// A new shared array of fixed length (the guide's `manager.Array`).
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let a = manager.array(&[1u8, 2, 3]).unwrap();
    /// a.set(0, &9).unwrap();
    /// assert_eq!(a.to_vec().unwrap(), [9, 2, 3]);
    /// ```
    pub fn array<T: Serialize + DeserializeOwned>(&self, items: &[T]) -> Result<ArrayProxy<T>> {
        let items = items
            .iter()
            .map(|v| codec::encode(v).map(serde_bytes::ByteBuf::from))
            .collect::<Result<Vec<_>>>()?;
        self.builtin(&items)
    }

    /// A new queue; `maxsize` 0 is unbounded (the guide's `manager.Queue()`).
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let q = manager.queue::<String>(0).unwrap();
    /// q.put(String::from("hi")).unwrap();
    /// assert_eq!(q.get().unwrap(), "hi");
    /// ```
    pub fn queue<T: Serialize + DeserializeOwned>(&self, maxsize: usize) -> Result<QueueProxy<T>> {
        self.builtin(&(maxsize as u64))
    }

    /// A new joinable queue; `maxsize` 0 is unbounded.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let q = manager.joinable_queue::<u8>(0).unwrap();
    /// q.put(1).unwrap();
    /// q.get().unwrap();
    /// q.task_done().unwrap();
    /// q.join().unwrap();
    /// ```
    pub fn joinable_queue<T: Serialize + DeserializeOwned>(&self, maxsize: usize) -> Result<JoinableQueueProxy<T>> {
        self.builtin(&(maxsize as u64))
    }

    /// A new lock.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let lock = manager.lock().unwrap();
    /// let guard = lock.acquire().unwrap();
    /// assert!(lock.try_acquire().is_err());
    /// drop(guard);
    /// ```
    pub fn lock(&self) -> Result<LockProxy> {
        self.create_named(names::LOCK, &())
    }

    /// A new re-entrant lock: its owner (a thread of a process) may take it
    /// again.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let lock = manager.rlock().unwrap();
    /// let a = lock.acquire().unwrap();
    /// let b = lock.acquire().unwrap();
    /// drop((b, a));
    /// ```
    pub fn rlock(&self) -> Result<LockProxy> {
        self.create_named(names::RLOCK, &())
    }

    fn create_named<P: Proxy, A: Serialize>(&self, type_name: &str, args: &A) -> Result<P> {
        let request = Request::Create {
            type_name: type_name.to_string(),
            constructor: "new".into(),
            args: codec::encode(args)?,
        };
        self.typed(self.client.object(&request)?)
    }

    /// A new semaphore with `permits`.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let s = manager.semaphore(2).unwrap();
    /// s.acquire().unwrap();
    /// assert_eq!(s.value().unwrap(), 1);
    /// s.release().unwrap();
    /// ```
    pub fn semaphore(&self, permits: u64) -> Result<SemaphoreProxy> {
        self.create_named(names::SEMAPHORE, &permits)
    }

    /// A new bounded semaphore: releasing past `permits` is an error.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let s = manager.bounded_semaphore(1).unwrap();
    /// assert!(s.release().is_err());
    /// ```
    pub fn bounded_semaphore(&self, permits: u64) -> Result<SemaphoreProxy> {
        self.create_named(names::BOUNDED_SEMAPHORE, &permits)
    }

    /// A new event.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let e = manager.event().unwrap();
    /// e.set().unwrap();
    /// assert!(e.wait().unwrap());
    /// ```
    pub fn event(&self) -> Result<EventProxy> {
        self.builtin(&())
    }

    /// A new condition variable, with its own re-entrant lock.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let c = manager.condition().unwrap();
    /// let guard = c.acquire().unwrap();
    /// guard.notify_all().unwrap();
    /// ```
    pub fn condition(&self) -> Result<ConditionProxy> {
        self.builtin(&())
    }

    /// A new barrier for `parties`.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone; [`Error::Usage`] for 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let b = manager.barrier(1).unwrap();
    /// assert_eq!(b.wait().unwrap(), 0);
    /// ```
    pub fn barrier(&self, parties: u64) -> Result<BarrierProxy> {
        self.builtin(&parties)
    }
}

/// An object for a [`BaseManager`]'s server to hold under a name: a
/// built-in, or a value of a [`Managed`] type.
pub struct Object(Box<dyn objects::Object>);

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Object").field(&self.0.type_name()).finish()
    }
}

impl Object {
    fn builtin(type_name: &str, args: impl Serialize) -> Object {
        let made = codec::encode(&args).and_then(|bytes| {
            objects::builtin(type_name, &bytes).unwrap_or_else(|| Err(Error::Manager("no such built-in".into())))
        });
        // Built-ins from their own constructors' arguments always decode.
        Object(made.unwrap_or_else(|e| unreachable!("built-in `{type_name}`: {e}")))
    }

    /// A queue (`maxsize` 0: unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = multiproc::manager::Object::queue(10);
    /// # drop(q);
    /// ```
    pub fn queue(maxsize: usize) -> Object {
        Object::builtin(names::QUEUE, maxsize as u64)
    }

    /// A joinable queue (`maxsize` 0: unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = multiproc::manager::Object::joinable_queue(0);
    /// # drop(q);
    /// ```
    pub fn joinable_queue(maxsize: usize) -> Object {
        Object::builtin(names::JOINABLE_QUEUE, maxsize as u64)
    }

    /// An empty list.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = multiproc::manager::Object::list();
    /// # drop(l);
    /// ```
    pub fn list() -> Object {
        Object::builtin(names::LIST, Vec::<serde_bytes::ByteBuf>::new())
    }

    /// An empty dict.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = multiproc::manager::Object::dict();
    /// # drop(d);
    /// ```
    pub fn dict() -> Object {
        Object::builtin(names::DICT, ())
    }

    /// An empty namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// let n = multiproc::manager::Object::namespace();
    /// # drop(n);
    /// ```
    pub fn namespace() -> Object {
        Object::builtin(names::NAMESPACE, ())
    }

    /// A lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = multiproc::manager::Object::lock();
    /// # drop(l);
    /// ```
    pub fn lock() -> Object {
        Object::builtin(names::LOCK, ())
    }

    /// An event.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::manager::Object::event();
    /// # drop(e);
    /// ```
    pub fn event() -> Object {
        Object::builtin(names::EVENT, ())
    }

    /// A value of a [`Managed`] type.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::manager::Object;
    ///
    /// pub struct Tally(u64);
    ///
    /// #[multiproc::managed]
    /// impl Tally {
    ///     pub fn add(&mut self, n: u64) -> u64 {
    ///         self.0 += n;
    ///         self.0
    ///     }
    /// }
    ///
    /// let o = Object::managed(Tally(0));
    /// # drop(o);
    /// ```
    pub fn managed<T: Managed>(value: T) -> Object {
        Object(Box::new(objects::Exclusive(Mutex::new(value))))
    }
}

use self::server_entry::manager_server;

// A `#[process_fn]` in this crate expands linkme's link-section static
// through a macro of this crate, which `deny(unsafe_code)` looks into.
#[allow(unsafe_code)]
mod server_entry {
    use super::*;

    /// The server process's entry: serves the listener it was handed until
    /// a client asks it to shut down.
    #[crate::process_fn(name = "multiproc::manager::manager_server")]
    pub(super) fn manager_server(listener: TravelFd, authkey: serde_bytes::ByteBuf) -> Result<()> {
        let listener = UnixListener::from(listener.0);
        let server = Server::new(authkey.into_vec().into(), HashMap::new())?;
        server.serve(vec![Listener::Unix(listener)])
    }
}

/// A server process that owns shared objects, with this process's
/// connection to it — the guide's `multiprocessing.Manager()`.
///
/// It listens on an abstract Unix socket (nothing in the file system) and
/// checks a random authkey that only its proxies carry. It is a daemon
/// child: it ends with [`shutdown`](ManagerClient::shutdown), when the
/// `Manager` is dropped, or when this process dies. `Manager` derefs to
/// [`ManagerClient`], which makes the proxies.
///
/// # Examples
///
/// ```
/// use multiproc::manager::Manager;
/// use multiproc::prelude::*;
///
/// #[process_fn]
/// fn record(log: multiproc::manager::ListProxy<String>, who: String) {
///     log.push(&who).unwrap();
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let manager = Manager::start()?;
/// let log = manager.list::<String>()?;
/// let mut child = Process::builder().start(record, (log.clone(), "child".into()))?;
/// child.join()?;
/// assert_eq!(log.to_vec()?, ["child"]);
/// # Ok(())
/// # }
/// ```
pub struct Manager {
    client: ManagerClient,
    server: Mutex<Process<Result<()>>>,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager").field("address", self.address()).finish()
    }
}

impl std::ops::Deref for Manager {
    type Target = ManagerClient;

    fn deref(&self) -> &ManagerClient {
        &self.client
    }
}

impl Manager {
    /// Starts a server process (with the default start method) and
    /// connects to it.
    ///
    /// # Errors
    /// [`Error::Io`] when the socket or the process cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// # drop(manager);
    /// ```
    pub fn start() -> Result<Manager> {
        Manager::start_with(StartMethod::default())
    }

    /// Like [`start`](Manager::start), with the server's start method.
    ///
    /// # Errors
    /// As [`start`](Manager::start).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::{manager::Manager, StartMethod};
    /// let manager = Manager::start_with(StartMethod::Spawn).unwrap();
    /// # drop(manager);
    /// ```
    pub fn start_with(method: StartMethod) -> Result<Manager> {
        let mut tag = [0u8; 12];
        conn::random_bytes(&mut tag)?;
        let name = format!(
            "multiproc-manager-{}-{}",
            std::process::id(),
            tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .map_err(Error::io("naming the manager's socket"))?;
        let listener = UnixListener::bind_addr(&addr).map_err(Error::io("binding the manager's socket"))?;
        let authkey = conn::random_key()?;
        let server = Process::builder()
            .name("SyncManager")
            .daemon(true)
            .start_method(method)
            .start(
                manager_server,
                (TravelFd(listener.into()), serde_bytes::ByteBuf::from(authkey.to_vec())),
            )?;
        let client = Client::connect(Address::Unix(name), authkey)?;
        Ok(Manager {
            client: ManagerClient { client },
            server: Mutex::new(server),
        })
    }
}

impl Manager {
    /// The pid of the server process.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// assert!(manager.server_pid() > 0);
    /// ```
    pub fn server_pid(&self) -> i32 {
        self.server.lock().unwrap_or_else(|p| p.into_inner()).pid()
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.client.shutdown();
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        if server.join_timeout(Duration::from_secs(5)).is_err() {
            let _ = server.kill();
            let _ = server.join();
        }
    }
}

/// A `BaseManager`'s TCP listener, and its local twin when it has one.
type Listeners = (Listener, Option<Listener>);

/// Serves named objects over TCP to clients that know the authkey — the
/// guide's `BaseManager`, with `register` on the server side and
/// [`connect`](BaseManager::connect) from any process, on any machine.
///
/// # Examples
///
/// ```
/// use multiproc::manager::{BaseManager, Object, QueueProxy};
///
/// # fn main() -> multiproc::Result<()> {
/// // The serving side.
/// let server = BaseManager::builder()
///     .address("127.0.0.1:0") // any free port
///     .authkey(b"abracadabra")
///     .register_shared("get_queue", Object::queue(0))
///     .start()?;
///
/// // Any other process that knows the address and the key.
/// let client = BaseManager::connect(&server.address().to_string(), b"abracadabra")?;
/// let queue: QueueProxy<u32> = client.get("get_queue")?;
/// queue.put(7)?;
/// assert_eq!(queue.get()?, 7);
///
/// // The wrong key is refused before any request is read.
/// assert!(matches!(
///     BaseManager::connect(&server.address().to_string(), b"guess"),
///     Err(multiproc::Error::AuthenticationFailed(_))
/// ));
/// server.shutdown();
/// # Ok(())
/// # }
/// ```
pub struct BaseManager {
    address: Address,
    server: Arc<Server>,
    thread: Mutex<Option<JoinHandle<Result<()>>>>,
}

impl fmt::Debug for BaseManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaseManager").field("address", &self.address).finish()
    }
}

/// Configures a [`BaseManager`].
///
/// # Examples
///
/// ```
/// use multiproc::manager::{BaseManager, Object};
/// let b = BaseManager::builder()
///     .address("127.0.0.1:50000")
///     .authkey(b"key")
///     .register("new_list", || Object::list());
/// # drop(b);
/// ```
#[must_use = "a builder does nothing until `start` or `serve`"]
pub struct BaseManagerBuilder {
    address: String,
    authkey: Option<Vec<u8>>,
    names: HashMap<String, Named>,
}

impl fmt::Debug for BaseManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaseManagerBuilder")
            .field("address", &self.address)
            .field("names", &self.names.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BaseManagerBuilder {
    /// Where to listen, `host:port` (default `127.0.0.1:0`: loopback, any
    /// free port). Listening beyond loopback must be asked for by address.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::manager::BaseManager::builder().address("127.0.0.1:0");
    /// # drop(b);
    /// ```
    pub fn address(mut self, address: &str) -> Self {
        self.address = address.to_string();
        self
    }

    /// The key every client must prove it knows (required).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::manager::BaseManager::builder().authkey(b"secret");
    /// # drop(b);
    /// ```
    pub fn authkey(mut self, key: &[u8]) -> Self {
        self.authkey = Some(key.to_vec());
        self
    }

    /// Registers `name`: each client that asks for it gets a new object
    /// that `make` returns (the guide's `register(typeid, callable)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::manager::{BaseManager, Object};
    /// let b = BaseManager::builder().register("scratch", Object::dict);
    /// # drop(b);
    /// ```
    pub fn register(mut self, name: &str, make: impl Fn() -> Object + Send + Sync + 'static) -> Self {
        self.names
            .insert(name.to_string(), Named::Factory(Box::new(move || Ok(make().0))));
        self
    }

    /// Registers `name` for one object that every client shares (the
    /// guide's `register('get_queue', callable=lambda: queue)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::manager::{BaseManager, Object};
    /// let b = BaseManager::builder().register_shared("jobs", Object::queue(0));
    /// # drop(b);
    /// ```
    pub fn register_shared(mut self, name: &str, object: Object) -> Self {
        self.names.insert(name.to_string(), Named::Shared(Arc::from(object.0)));
        self
    }

    /// Binds the TCP address, and beside it the Unix socket that clients
    /// on this machine use instead (see [`local`]).
    fn bind(self) -> Result<(Arc<Server>, Listeners, Address)> {
        let key = self
            .authkey
            .ok_or(Error::Usage("a BaseManager needs an authkey".into()))?;
        let Address::Tcp(addr) = Address::tcp(&self.address)? else {
            return Err(Error::Usage("a BaseManager listens on TCP".into()));
        };
        let listener = TcpListener::bind(addr).map_err(Error::io("binding the manager's address"))?;
        let bound = listener.local_addr().map_err(Error::io("getsockname"))?;
        let twin = local::bind_twin(bound.port())?.map(Listener::Twin);
        let server = Server::new(key.into(), self.names)?;
        Ok((server, (Listener::Tcp(listener), twin), Address::Tcp(bound)))
    }

    /// Serves both listeners (in one gate).
    fn serve_both(server: Arc<Server>, (tcp, twin): Listeners) -> Result<()> {
        let result = server.serve(std::iter::once(tcp).chain(twin).collect());
        server.stop();
        result
    }

    /// Serves on a thread of this process and returns at once (stop it
    /// with [`BaseManager::shutdown`], or from a client).
    ///
    /// # Errors
    /// [`Error::Usage`] without an authkey or with a bad address;
    /// [`Error::Io`] when the address cannot be bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::manager::BaseManager;
    /// let server = BaseManager::builder().authkey(b"k").start().unwrap();
    /// server.shutdown();
    /// ```
    pub fn start(self) -> Result<BaseManager> {
        let (server, listeners, address) = self.bind()?;
        let serving = server.clone();
        let thread = std::thread::Builder::new()
            .name("multiproc-manager".into())
            .spawn(move || BaseManagerBuilder::serve_both(serving, listeners))
            .map_err(Error::io("starting the manager's thread"))?;
        Ok(BaseManager {
            address,
            server,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Serves on this thread until a client asks the server to shut down
    /// (the guide's `serve_forever`).
    ///
    /// # Errors
    /// As [`start`](BaseManagerBuilder::start).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use multiproc::manager::{BaseManager, Object};
    /// BaseManager::builder()
    ///     .address("127.0.0.1:50000")
    ///     .authkey(b"abracadabra")
    ///     .register_shared("get_queue", Object::queue(0))
    ///     .serve()
    ///     .unwrap();
    /// ```
    pub fn serve(self) -> Result<()> {
        let (server, listeners, _) = self.bind()?;
        BaseManagerBuilder::serve_both(server, listeners)
    }
}

impl BaseManager {
    /// A [`BaseManagerBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::manager::BaseManager::builder();
    /// # drop(b);
    /// ```
    pub fn builder() -> BaseManagerBuilder {
        BaseManagerBuilder {
            address: "127.0.0.1:0".into(),
            authkey: None,
            names: HashMap::new(),
        }
    }

    /// Connects to the server at `address` (`host:port`) with `authkey`.
    /// A loopback address is reached through the server's local twin when
    /// it has one (checked: its directory, and its owner through
    /// `SO_PEERCRED`), else over TCP.
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] for a wrong key, or a local twin
    /// that is not the server's (never a silent fall back to TCP);
    /// [`Error::ManagerBusy`] when the server has no room for the
    /// connection, or hung up between its greeting and its verdict, still
    /// after three quick retries; [`Error::HandshakeTimeout`] when the
    /// handshake does not finish within 10 s; [`Error::Manager`] when
    /// nothing listens there; [`Error::Io`] when the connection breaks
    /// before the server's greeting (not a manager, or one that stopped).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::manager::BaseManager;
    /// let server = BaseManager::builder().authkey(b"k").start().unwrap();
    /// let client = BaseManager::connect(&server.address().to_string(), b"k").unwrap();
    /// # drop(client);
    /// ```
    pub fn connect(address: &str, authkey: &[u8]) -> Result<ManagerClient> {
        BaseManager::connect_timeout(address, authkey, conn::CLIENT_HANDSHAKE_TIMEOUT)
    }

    /// Like [`connect`](BaseManager::connect), within `timeout` instead of
    /// 10 s: connecting (a TCP connect to an unreachable host included) and
    /// the handshake together. Every connection the client opens later —
    /// a call made while others are in flight needs one — has as long.
    /// Resolving a host name is not bounded: give an IP address when that
    /// matters.
    ///
    /// # Errors
    /// [`Error::HandshakeTimeout`] carrying `timeout` when the server does
    /// not accept and authenticate the connection in time;
    /// [`Error::Usage`] for a zero `timeout`; else as
    /// [`connect`](BaseManager::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::manager::BaseManager;
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let server = BaseManager::builder().authkey(b"k").start()?;
    /// let client = BaseManager::connect_timeout(&server.address().to_string(), b"k", Duration::from_secs(60))?;
    /// # drop(client);
    /// // A listener that never answers: the handshake gives up in time.
    /// let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let address = silent.local_addr().unwrap().to_string();
    /// let err = BaseManager::connect_timeout(&address, b"k", Duration::from_millis(100)).unwrap_err();
    /// assert!(matches!(err, multiproc::Error::HandshakeTimeout(d) if d == Duration::from_millis(100)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_timeout(address: &str, authkey: &[u8], timeout: Duration) -> Result<ManagerClient> {
        if timeout.is_zero() {
            return Err(Error::Usage("a connect timeout must be more than zero".into()));
        }
        // A server on this machine is reached through its verified local
        // twin, where calls go through a shared page instead of the
        // network stack (see `local`).
        Ok(ManagerClient {
            client: Client::connect_local(Address::tcp(address)?, authkey.into(), timeout)?,
        })
    }

    /// Where the server listens (with the port the kernel chose).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = multiproc::manager::BaseManager::builder().authkey(b"k").start().unwrap();
    /// assert!(server.address().to_string().starts_with("127.0.0.1:"));
    /// ```
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Stops serving and waits for the accepting thread (connections in a
    /// call finish it).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = multiproc::manager::BaseManager::builder().authkey(b"k").start().unwrap();
    /// server.shutdown();
    /// ```
    pub fn shutdown(&self) {
        self.server.stop();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BaseManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Making values of [`Managed`] types on a server, by name: every copy of
/// the executable has the same table, as for `#[process_fn]` entries.
#[doc(hidden)]
pub mod registry {
    use super::{objects, Managed};
    use crate::error::{Error, Result};

    /// Makes a value with a named constructor and encoded arguments.
    type Create = fn(&str, &[u8]) -> Result<Box<dyn objects::Object>>;

    /// One `#[managed]` type: its name and how to construct it.
    #[derive(Debug)]
    pub struct ManagedDesc {
        name: &'static str,
        create: Create,
    }

    impl ManagedDesc {
        /// The descriptor of `T` (what the macro places in [`MANAGED`]).
        pub const fn new<T: Managed>() -> Self {
            ManagedDesc {
                name: T::TYPE_NAME,
                create: create::<T>,
            }
        }
    }

    fn create<T: Managed>(constructor: &str, args: &[u8]) -> Result<Box<dyn objects::Object>> {
        let value = T::construct(constructor, args)?;
        Ok(Box::new(objects::Exclusive(std::sync::Mutex::new(value))))
    }

    /// Every `#[managed]` type of the executable.
    #[linkme::distributed_slice]
    pub static MANAGED: [ManagedDesc];

    pub(crate) fn create_by_name(type_name: &str, constructor: &str, args: &[u8]) -> Result<Box<dyn objects::Object>> {
        let desc = MANAGED
            .iter()
            .find(|d| d.name == type_name)
            .ok_or_else(|| Error::Manager(format!("the server knows no managed type `{type_name}`")))?;
        (desc.create)(constructor, args)
    }
}
