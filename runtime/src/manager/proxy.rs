//! The built-in proxies: typed handles to the server's list, dict,
//! namespace, value, array, queues, locks, semaphores, event, condition
//! and barrier. Items are encoded here and decoded here; the server keeps
//! their bytes. Every waiting call has a `_timeout` form.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_bytes::ByteBuf;

use super::objects::names;
use super::{Handle, Proxy};
use crate::codec;
use crate::error::{Error, Result};
use crate::queue::{PutError, PutItem};

fn bytes<T: Serialize + ?Sized>(value: &T) -> Result<ByteBuf> {
    codec::encode(value).map(ByteBuf::from)
}

fn decoded<T: DeserializeOwned>(bytes: &ByteBuf) -> Result<T> {
    codec::decode(bytes)
}

/// Asks the server's lock, semaphore or condition behind `handle` to be
/// acquired within `timeout`; a refusal at the deadline is a timeout.
fn acquire(handle: &Handle, timeout: Option<Duration>) -> Result<()> {
    if handle.call::<_, bool>("acquire", &timeout)? {
        Ok(())
    } else {
        Err(Error::Timeout(timeout.unwrap_or_default()))
    }
}

/// Declares a proxy type: the struct, `Clone`, `Debug` (showing the
/// handle), serde (as its handle) and [`Proxy`]. With `own_debug`, no
/// `Debug`: the type writes its own, showing its contents.
macro_rules! proxy {
    ($(#[$doc:meta])* $name:ident <$($t:ident),*>, $type_name:expr) => {
        proxy!($(#[$doc])* $name<$($t),*>, $type_name, own_debug);

        impl<$($t),*> fmt::Debug for $name<$($t),*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.handle).finish()
            }
        }
    };
    ($(#[$doc:meta])* $name:ident <$($t:ident),*>, $type_name:expr, own_debug) => {
        $(#[$doc])*
        pub struct $name<$($t),*> {
            handle: Handle,
            _items: PhantomData<fn() -> ($($t,)*)>,
        }

        impl<$($t),*> Clone for $name<$($t),*> {
            fn clone(&self) -> Self {
                $name { handle: self.handle.clone(), _items: PhantomData }
            }
        }

        impl<$($t),*> Serialize for $name<$($t),*> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                self.handle.serialize(s)
            }
        }

        impl<'de, $($t),*> Deserialize<'de> for $name<$($t),*> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                Ok($name { handle: Handle::deserialize(d)?, _items: PhantomData })
            }
        }

        impl<$($t),*> Proxy for $name<$($t),*> {
            const TYPE_NAME: &'static str = $type_name;

            fn from_handle(handle: Handle) -> Self {
                $name { handle, _items: PhantomData }
            }

            fn handle(&self) -> &Handle {
                &self.handle
            }
        }
    };
}

proxy!(
    /// A list on a manager's server (the guide's `manager.list()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let l = manager.list::<String>().unwrap();
    /// l.push(&"a".into()).unwrap();
    /// l.extend(&["b".to_string(), "c".to_string()]).unwrap();
    /// l.set(0, &"z".into()).unwrap();
    /// assert_eq!(l.get(0).unwrap(), "z");
    /// assert_eq!(l.pop().unwrap(), Some("c".to_string()));
    /// assert_eq!(l.len().unwrap(), 2);
    /// assert_eq!(format!("{l:?}"), r#"ListProxy(["z", "b"])"#);
    /// ```
    ///
    /// Its `Debug` fetches the items from the server; if that fails, it
    /// shows the handle and the error instead.
    ListProxy<T>,
    names::LIST,
    own_debug
);

/// What a proxy's `Debug` shows when fetching its contents failed: the
/// handle and the error.
fn debug_unfetched(f: &mut fmt::Formatter<'_>, proxy: &str, handle: &Handle, error: &Error) -> fmt::Result {
    f.debug_struct(proxy)
        .field("handle", handle)
        .field("error", &format_args!("{error}"))
        .finish()
}

impl<T: DeserializeOwned + fmt::Debug> fmt::Debug for ListProxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fetch_all() {
            Ok(items) => f.debug_tuple("ListProxy").field(&items).finish(),
            Err(e) => debug_unfetched(f, "ListProxy", &self.handle, &e),
        }
    }
}

impl<T: DeserializeOwned> ListProxy<T> {
    fn fetch_all(&self) -> Result<Vec<T>> {
        self.handle
            .call::<_, Vec<ByteBuf>>("items", &())?
            .iter()
            .map(decoded)
            .collect()
    }
}

impl<T: Serialize + DeserializeOwned> ListProxy<T> {
    /// Appends `item`.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone (as every method).
    pub fn push(&self, item: &T) -> Result<()> {
        self.handle.call("push", &bytes(item)?)
    }

    /// Appends every item.
    ///
    /// # Errors
    /// As [`push`](ListProxy::push).
    pub fn extend(&self, items: &[T]) -> Result<()> {
        let items = items.iter().map(|i| bytes(i)).collect::<Result<Vec<_>>>()?;
        self.handle.call("extend", &items)
    }

    /// The item at `index`.
    ///
    /// # Errors
    /// [`Error::Usage`] for an index out of range.
    pub fn get(&self, index: usize) -> Result<T> {
        decoded(&self.handle.call("get", &(index as u64))?)
    }

    /// Replaces the item at `index`.
    ///
    /// # Errors
    /// [`Error::Usage`] for an index out of range.
    pub fn set(&self, index: usize, item: &T) -> Result<()> {
        self.handle.call("set", &(index as u64, bytes(item)?))
    }

    /// Inserts `item` before `index` (at the end if past it).
    ///
    /// # Errors
    /// As [`push`](ListProxy::push).
    pub fn insert(&self, index: usize, item: &T) -> Result<()> {
        self.handle.call("insert", &(index as u64, bytes(item)?))
    }

    /// Removes and returns the item at `index`.
    ///
    /// # Errors
    /// [`Error::Usage`] for an index out of range.
    pub fn remove(&self, index: usize) -> Result<T> {
        decoded(&self.handle.call("remove", &(index as u64))?)
    }

    /// Removes and returns the last item.
    ///
    /// # Errors
    /// As [`push`](ListProxy::push).
    pub fn pop(&self) -> Result<Option<T>> {
        self.handle
            .call::<_, Option<ByteBuf>>("pop", &())?
            .map(|b| decoded(&b))
            .transpose()
    }

    /// The number of items.
    ///
    /// # Errors
    /// As [`push`](ListProxy::push).
    pub fn len(&self) -> Result<usize> {
        self.handle.call::<_, u64>("len", &()).map(|n| n as usize)
    }

    /// Whether it is empty.
    ///
    /// # Errors
    /// As [`push`](ListProxy::push).
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|n| n == 0)
    }

    /// Removes every item.
    ///
    /// # Errors
    /// As [`push`](ListProxy::push).
    pub fn clear(&self) -> Result<()> {
        self.handle.call("clear", &())
    }

    /// A copy of every item.
    ///
    /// # Errors
    /// As [`push`](ListProxy::push).
    pub fn to_vec(&self) -> Result<Vec<T>> {
        self.fetch_all()
    }
}

proxy!(
    /// A dict on a manager's server (the guide's `manager.dict()`), in
    /// insertion order. Keys are compared by their encoding.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let d = manager.dict::<String, u32>().unwrap();
    /// d.insert(&"a".into(), &1).unwrap();
    /// assert_eq!(d.insert(&"a".into(), &2).unwrap(), Some(1));
    /// assert!(d.contains_key(&"a".into()).unwrap());
    /// assert_eq!(d.items().unwrap(), [("a".to_string(), 2)]);
    /// assert_eq!(format!("{d:?}"), r#"DictProxy({"a": 2})"#);
    /// assert_eq!(d.remove(&"a".into()).unwrap(), Some(2));
    /// ```
    ///
    /// Its `Debug` fetches the pairs from the server; if that fails, it
    /// shows the handle and the error instead.
    DictProxy<K, V>,
    names::DICT,
    own_debug
);

/// Pairs written as a map: `{k: v, …}`.
struct Pairs<'a, K, V>(&'a [(K, V)]);

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Pairs<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(k, v)| (k, v))).finish()
    }
}

impl<K: DeserializeOwned + fmt::Debug, V: DeserializeOwned + fmt::Debug> fmt::Debug for DictProxy<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fetch_items() {
            Ok(items) => f.debug_tuple("DictProxy").field(&Pairs(&items)).finish(),
            Err(e) => debug_unfetched(f, "DictProxy", &self.handle, &e),
        }
    }
}

impl<K: DeserializeOwned, V: DeserializeOwned> DictProxy<K, V> {
    fn fetch_items(&self) -> Result<Vec<(K, V)>> {
        self.handle
            .call::<_, Vec<(ByteBuf, ByteBuf)>>("items", &())?
            .iter()
            .map(|(k, v)| Ok((decoded(k)?, decoded(v)?)))
            .collect()
    }
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> DictProxy<K, V> {
    /// Sets `key` to `value`; the value it replaced.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone (as every method).
    pub fn insert(&self, key: &K, value: &V) -> Result<Option<V>> {
        self.handle
            .call::<_, Option<ByteBuf>>("insert", &(bytes(key)?, bytes(value)?))?
            .map(|b| decoded(&b))
            .transpose()
    }

    /// The value of `key`.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        self.handle
            .call::<_, Option<ByteBuf>>("get", &bytes(key)?)?
            .map(|b| decoded(&b))
            .transpose()
    }

    /// Removes `key`; its value.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn remove(&self, key: &K) -> Result<Option<V>> {
        self.handle
            .call::<_, Option<ByteBuf>>("remove", &bytes(key)?)?
            .map(|b| decoded(&b))
            .transpose()
    }

    /// Whether `key` is set.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn contains_key(&self, key: &K) -> Result<bool> {
        self.handle.call("contains", &bytes(key)?)
    }

    /// The number of keys.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn len(&self) -> Result<usize> {
        self.handle.call::<_, u64>("len", &()).map(|n| n as usize)
    }

    /// Whether it is empty.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|n| n == 0)
    }

    /// Removes every key.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn clear(&self) -> Result<()> {
        self.handle.call("clear", &())
    }

    /// A copy of every pair, in insertion order.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn items(&self) -> Result<Vec<(K, V)>> {
        self.fetch_items()
    }

    /// A copy of every key, in insertion order.
    ///
    /// # Errors
    /// As [`insert`](DictProxy::insert).
    pub fn keys(&self) -> Result<Vec<K>> {
        self.handle
            .call::<_, Vec<(ByteBuf, ByteBuf)>>("items", &())?
            .iter()
            .map(|(k, _)| decoded(k))
            .collect()
    }
}

proxy!(
    /// Named fields of any serde types on a manager's server (the guide's
    /// `manager.Namespace()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let ns = manager.namespace().unwrap();
    /// ns.set("x", &1).unwrap();
    /// ns.set("y", &"two".to_string()).unwrap();
    /// assert_eq!(ns.get::<String>("y").unwrap(), "two");
    /// assert_eq!(ns.fields().unwrap(), ["x", "y"]);
    /// assert!(ns.get::<i32>("z").is_err());
    /// assert_eq!(format!("{ns:?}"), r#"Namespace { x: 1, y: "two" }"#);
    /// ```
    ///
    /// Its `Debug` shows the fields, fetched from the server (if that
    /// fails: the handle and the error). The server keeps only each
    /// value's bytes, so `set` writes down how the value shows: as serde
    /// describes it, laid out like `#[derive(Debug)]` (`10`, `"two"`,
    /// `Some(3)`, `Point { x: 1, y: 2 }`), at most 1 KiB of it.
    NamespaceProxy<>,
    names::NAMESPACE,
    own_debug
);

impl fmt::Debug for NamespaceProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.handle.call::<_, Vec<(String, String)>>("shown", &()) {
            Ok(fields) => {
                let mut d = f.debug_struct("Namespace");
                for (name, text) in &fields {
                    d.field(name, &super::shown::Shown(text));
                }
                d.finish()
            }
            Err(e) => debug_unfetched(f, "NamespaceProxy", &self.handle, &e),
        }
    }
}

impl NamespaceProxy {
    /// The field `name`, decoded as `T`.
    ///
    /// # Errors
    /// [`Error::Usage`] for a field that is not set; [`Error::Codec`] when
    /// it holds another type.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        decoded(&self.handle.call("get", &name)?)
    }

    /// Sets field `name`.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        let shown = super::shown::show(value);
        self.handle.call("set", &(name, bytes(value)?, shown))
    }

    /// Removes field `name`; whether it was set.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn remove(&self, name: &str) -> Result<bool> {
        self.handle.call("remove", &name)
    }

    /// The names of the fields, in the order they were first set.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn fields(&self) -> Result<Vec<String>> {
        self.handle.call("fields", &())
    }
}

proxy!(
    /// A value on a manager's server (the guide's `manager.Value`).
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let v = manager.value(&3u64).unwrap();
    /// v.set(&4).unwrap();
    /// assert_eq!(v.get().unwrap(), 4);
    /// ```
    ValueProxy<T>,
    names::VALUE
);

impl<T: Serialize + DeserializeOwned> ValueProxy<T> {
    /// The value.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn get(&self) -> Result<T> {
        decoded(&self.handle.call("get", &())?)
    }

    /// Replaces the value.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn set(&self, value: &T) -> Result<()> {
        self.handle.call("set", &bytes(value)?)
    }
}

proxy!(
    /// A fixed-length array on a manager's server (the guide's
    /// `manager.Array`).
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let a = manager.array(&[0i64; 3]).unwrap();
    /// a.set(2, &-1).unwrap();
    /// assert_eq!(a.get(2).unwrap(), -1);
    /// assert_eq!(a.len().unwrap(), 3);
    /// assert!(a.set(3, &0).is_err());
    /// ```
    ArrayProxy<T>,
    names::ARRAY
);

impl<T: Serialize + DeserializeOwned> ArrayProxy<T> {
    /// The item at `index`.
    ///
    /// # Errors
    /// [`Error::Usage`] for an index out of range.
    pub fn get(&self, index: usize) -> Result<T> {
        decoded(&self.handle.call("get", &(index as u64))?)
    }

    /// Replaces the item at `index`.
    ///
    /// # Errors
    /// [`Error::Usage`] for an index out of range.
    pub fn set(&self, index: usize, item: &T) -> Result<()> {
        self.handle.call("set", &(index as u64, bytes(item)?))
    }

    /// Its length.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn len(&self) -> Result<usize> {
        self.handle.call::<_, u64>("len", &()).map(|n| n as usize)
    }

    /// Whether its length is 0.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|n| n == 0)
    }

    /// A copy of every item.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        self.handle
            .call::<_, Vec<ByteBuf>>("items", &())?
            .iter()
            .map(decoded)
            .collect()
    }
}

/// The methods both queue proxies share.
macro_rules! queue_methods {
    () => {
        /// Puts `item` (or a reference to it, as a process queue's `put`
        /// takes), waiting for room in a bounded queue.
        ///
        /// # Errors
        /// [`Error::Manager`] when the server is gone.
        pub fn put(&self, item: impl PutItem<T>) -> Result<()> {
            self.put_within(item, None).map_err(Error::from)
        }

        /// Like `put`, waiting at most `timeout` for room; a failed put
        /// gives back what it was given.
        ///
        /// # Errors
        /// [`PutError::Full`] once the time is up; [`PutError::Failed`]
        /// with [`Error::Manager`] when the server is gone.
        pub fn put_timeout<B: PutItem<T>>(&self, item: B, timeout: Duration) -> std::result::Result<(), PutError<B>> {
            self.put_within(item, Some(timeout))
        }

        /// Puts `item` only if there is room now, as `put_timeout`.
        ///
        /// # Errors
        /// As `put_timeout`.
        pub fn try_put<B: PutItem<T>>(&self, item: B) -> std::result::Result<(), PutError<B>> {
            self.put_within(item, Some(Duration::ZERO))
        }

        fn put_within<B: PutItem<T>>(
            &self,
            item: B,
            timeout: Option<Duration>,
        ) -> std::result::Result<(), PutError<B>> {
            let sent = bytes(item.as_item()).and_then(|b| self.handle.call("put", &(b, timeout)));
            sent.map_err(|e| PutError::new(item, e))
        }

        /// Takes the oldest item, waiting for one.
        ///
        /// # Errors
        /// [`Error::Manager`] when the server is gone.
        pub fn get(&self) -> Result<T> {
            decoded(&self.handle.call("get", &None::<Duration>)?)
        }

        /// Like `get`, waiting at most `timeout`.
        ///
        /// # Errors
        /// [`Error::Empty`] once the time is up.
        pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
            decoded(&self.handle.call("get", &Some(timeout))?)
        }

        /// Takes an item only if there is one now.
        ///
        /// # Errors
        /// [`Error::Empty`].
        pub fn try_get(&self) -> Result<T> {
            self.get_timeout(Duration::ZERO)
        }

        /// The number of items.
        ///
        /// # Errors
        /// [`Error::Manager`] when the server is gone.
        pub fn qsize(&self) -> Result<usize> {
            self.handle.call::<_, u64>("qsize", &()).map(|n| n as usize)
        }

        /// Whether it is empty.
        ///
        /// # Errors
        /// [`Error::Manager`] when the server is gone.
        pub fn is_empty(&self) -> Result<bool> {
            self.qsize().map(|n| n == 0)
        }

        /// Whether a bounded queue is full.
        ///
        /// # Errors
        /// [`Error::Manager`] when the server is gone.
        pub fn is_full(&self) -> Result<bool> {
            self.handle.call("full", &())
        }
    };
}

proxy!(
    /// A queue on a manager's server (the guide's `manager.Queue()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let q = manager.queue::<u32>(1).unwrap();
    /// q.put(1).unwrap();
    /// assert!(matches!(q.try_put(2), Err(multiproc::queue::PutError::Full(2))));
    /// assert_eq!(q.get().unwrap(), 1);
    /// assert!(matches!(q.get_timeout(Duration::from_millis(1)), Err(multiproc::Error::Empty)));
    /// ```
    QueueProxy<T>,
    names::QUEUE
);

impl<T: Serialize + DeserializeOwned> QueueProxy<T> {
    queue_methods!();
}

proxy!(
    /// A joinable queue on a manager's server (the guide's
    /// `manager.JoinableQueue()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let q = manager.joinable_queue::<u32>(0).unwrap();
    /// q.put(1).unwrap();
    /// assert!(!q.join_timeout(Duration::from_millis(1)).unwrap());
    /// q.get().unwrap();
    /// q.task_done().unwrap();
    /// assert!(q.join_timeout(Duration::from_secs(60)).unwrap());
    /// assert!(q.task_done().is_err());
    /// ```
    JoinableQueueProxy<T>,
    names::JOINABLE_QUEUE
);

impl<T: Serialize + DeserializeOwned> JoinableQueueProxy<T> {
    queue_methods!();

    /// Marks one taken item as processed.
    ///
    /// # Errors
    /// [`Error::Usage`] when called more times than items were put.
    pub fn task_done(&self) -> Result<()> {
        self.handle.call("task_done", &())
    }

    /// Waits until every item put has been marked done.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn join(&self) -> Result<()> {
        self.handle.call::<_, bool>("join", &None::<Duration>).map(drop)
    }

    /// Like [`join`](JoinableQueueProxy::join), at most `timeout`; whether
    /// everything was done.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool> {
        self.handle.call("join", &Some(timeout))
    }
}

/// A lock or RLock on a manager's server. A client process that dies holding
/// it releases it: its connections close, and the server takes its locks
/// back.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let manager = multiproc::manager::Manager::start().unwrap();
/// let lock = manager.lock().unwrap();
/// {
///     let _guard = lock.acquire().unwrap();
///     assert!(lock.acquire_timeout(Duration::from_millis(5)).is_err());
/// }
/// assert!(lock.try_acquire().is_ok());
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LockProxy {
    handle: Handle,
}

impl Proxy for LockProxy {
    const TYPE_NAME: &'static str = names::LOCK;

    fn accepts(type_name: &str) -> bool {
        type_name == names::LOCK || type_name == names::RLOCK
    }

    fn from_handle(handle: Handle) -> Self {
        LockProxy { handle }
    }

    fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl LockProxy {
    fn acquire_for(&self, timeout: Option<Duration>) -> Result<LockGuard<'_>> {
        acquire(&self.handle, timeout).map(|()| LockGuard { lock: self })
    }

    /// Takes the lock, waiting as long as it takes.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        self.acquire_for(None)
    }

    /// Takes the lock, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] once the time is up.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>> {
        self.acquire_for(Some(timeout))
    }

    /// Takes the lock only if it is free now.
    ///
    /// # Errors
    /// [`Error::Timeout`] when it is held.
    pub fn try_acquire(&self) -> Result<LockGuard<'_>> {
        self.acquire_for(Some(Duration::ZERO))
    }

    /// Whether anyone holds it.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn locked(&self) -> Result<bool> {
        self.handle.call("locked", &())
    }
}

/// Holds a [`LockProxy`]; releases it when dropped.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a LockProxy,
}

impl LockGuard<'_> {
    /// Releases now, reporting a failure (dropping the guard ignores it).
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn release(self) -> Result<()> {
        let lock = self.lock;
        std::mem::forget(self);
        lock.handle.call("release", &())
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.handle.call::<_, ()>("release", &());
    }
}

/// A semaphore (or bounded semaphore) on a manager's server.
///
/// # Examples
///
/// ```
/// let manager = multiproc::manager::Manager::start().unwrap();
/// let s = manager.semaphore(1).unwrap();
/// s.acquire().unwrap();
/// assert!(s.try_acquire().is_err());
/// s.release().unwrap();
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SemaphoreProxy {
    handle: Handle,
}

impl Proxy for SemaphoreProxy {
    const TYPE_NAME: &'static str = names::SEMAPHORE;

    fn accepts(type_name: &str) -> bool {
        type_name == names::SEMAPHORE || type_name == names::BOUNDED_SEMAPHORE
    }

    fn from_handle(handle: Handle) -> Self {
        SemaphoreProxy { handle }
    }

    fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl SemaphoreProxy {
    fn acquire_for(&self, timeout: Option<Duration>) -> Result<()> {
        acquire(&self.handle, timeout)
    }

    /// Takes a permit, waiting for one.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn acquire(&self) -> Result<()> {
        self.acquire_for(None)
    }

    /// Takes a permit, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] once the time is up.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<()> {
        self.acquire_for(Some(timeout))
    }

    /// Takes a permit only if one is free now.
    ///
    /// # Errors
    /// [`Error::Timeout`] when none is.
    pub fn try_acquire(&self) -> Result<()> {
        self.acquire_for(Some(Duration::ZERO))
    }

    /// Gives a permit back.
    ///
    /// # Errors
    /// [`Error::Usage`] past a bounded semaphore's bound.
    pub fn release(&self) -> Result<()> {
        self.handle.call("release", &())
    }

    /// The free permits now.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn value(&self) -> Result<u64> {
        self.handle.call("value", &())
    }
}

proxy!(
    /// An event on a manager's server.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let e = manager.event().unwrap();
    /// assert!(!e.wait_timeout(Duration::from_millis(1)).unwrap());
    /// e.set().unwrap();
    /// assert!(e.is_set().unwrap());
    /// e.clear().unwrap();
    /// assert!(!e.is_set().unwrap());
    /// ```
    EventProxy<>,
    names::EVENT
);

impl EventProxy {
    /// Sets it, waking every waiter.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone (as every method).
    pub fn set(&self) -> Result<()> {
        self.handle.call("set", &())
    }

    /// Clears it.
    ///
    /// # Errors
    /// As [`set`](EventProxy::set).
    pub fn clear(&self) -> Result<()> {
        self.handle.call("clear", &())
    }

    /// Whether it is set.
    ///
    /// # Errors
    /// As [`set`](EventProxy::set).
    pub fn is_set(&self) -> Result<bool> {
        self.handle.call("is_set", &())
    }

    /// Waits until it is set (`true`).
    ///
    /// # Errors
    /// As [`set`](EventProxy::set).
    pub fn wait(&self) -> Result<bool> {
        self.handle.call("wait", &None::<Duration>)
    }

    /// Waits at most `timeout`; whether it was set.
    ///
    /// # Errors
    /// As [`set`](EventProxy::set).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        self.handle.call("wait", &Some(timeout))
    }
}

proxy!(
    /// A condition variable on a manager's server, with its own
    /// re-entrant lock: [`acquire`](ConditionProxy::acquire) it, then
    /// `wait` / `notify` through the guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let c = manager.condition().unwrap();
    /// let guard = c.acquire().unwrap();
    /// assert!(!guard.wait_timeout(Duration::from_millis(1)).unwrap()); // nobody notified
    /// guard.notify(1).unwrap();
    /// ```
    ConditionProxy<>,
    names::CONDITION
);

impl ConditionProxy {
    fn acquire_for(&self, timeout: Option<Duration>) -> Result<ConditionGuard<'_>> {
        acquire(&self.handle, timeout).map(|()| ConditionGuard { cond: self })
    }

    /// Takes its lock.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn acquire(&self) -> Result<ConditionGuard<'_>> {
        self.acquire_for(None)
    }

    /// Takes its lock, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] once the time is up.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<ConditionGuard<'_>> {
        self.acquire_for(Some(timeout))
    }
}

/// Holds a [`ConditionProxy`]'s lock; releases it when dropped.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct ConditionGuard<'a> {
    cond: &'a ConditionProxy,
}

impl ConditionGuard<'_> {
    /// Releases the lock, waits for a notification, takes the lock back;
    /// `true` when notified.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn wait(&self) -> Result<bool> {
        self.cond.handle.call("wait", &None::<Duration>)
    }

    /// Like [`wait`](ConditionGuard::wait), at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        self.cond.handle.call("wait", &Some(timeout))
    }

    /// Waits until `predicate` holds (checked with the lock held), at most
    /// `timeout` in all; whether it holds.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn wait_for(&self, mut predicate: impl FnMut() -> Result<bool>, timeout: Duration) -> Result<bool> {
        let deadline = crate::deadline::after_or_far(timeout);
        loop {
            if predicate()? {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.wait_timeout(left)?;
        }
    }

    /// Wakes up to `n` waiters.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn notify(&self, n: u64) -> Result<()> {
        self.cond.handle.call("notify", &n)
    }

    /// Wakes every waiter.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn notify_all(&self) -> Result<()> {
        self.notify(u64::MAX)
    }
}

impl Drop for ConditionGuard<'_> {
    fn drop(&mut self) {
        let _ = self.cond.handle.call::<_, ()>("release", &());
    }
}

proxy!(
    /// A barrier on a manager's server.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let manager = multiproc::manager::Manager::start().unwrap();
    /// let b = manager.barrier(2).unwrap();
    /// // Alone, the wait times out and breaks the barrier, as in Python.
    /// assert!(b.wait_timeout(Duration::from_millis(5)).is_err());
    /// assert!(b.broken().unwrap());
    /// b.reset().unwrap();
    /// assert!(!b.broken().unwrap());
    /// ```
    BarrierProxy<>,
    names::BARRIER
);

impl BarrierProxy {
    /// Waits for every party; this party's index (0 … parties − 1).
    ///
    /// # Errors
    /// [`Error::BrokenBarrier`] when the barrier breaks.
    pub fn wait(&self) -> Result<u64> {
        self.handle.call("wait", &None::<Duration>)
    }

    /// Like [`wait`](BarrierProxy::wait), at most `timeout` (which breaks it).
    ///
    /// # Errors
    /// [`Error::BrokenBarrier`].
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u64> {
        self.handle.call("wait", &Some(timeout))
    }

    /// Breaks it: every waiter fails.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn abort(&self) -> Result<()> {
        self.handle.call("abort", &())
    }

    /// Mends it (waiters of the current round fail).
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn reset(&self) -> Result<()> {
        self.handle.call("reset", &())
    }

    /// Whether it is broken.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn broken(&self) -> Result<bool> {
        self.handle.call("broken", &())
    }

    /// The number of parties.
    ///
    /// # Errors
    /// [`Error::Manager`] when the server is gone.
    pub fn parties(&self) -> Result<u64> {
        self.handle.call("parties", &())
    }
}
