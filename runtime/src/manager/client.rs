//! [`Handle`] and [`ManagerClient`]: a connection to a server, and the
//! untyped part of every proxy.

use std::fmt;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::conn::{Client, Request};
use super::objects::names;

use crate::codec;
use crate::error::{Error, Result};

use super::*;

/// The untyped part of every proxy: which server, which object.
#[derive(Clone)]
pub struct Handle {
    pub(super) client: Arc<Client>,
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
    pub(super) client: Arc<Client>,
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
