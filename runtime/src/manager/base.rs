//! [`BaseManager`] and its builder: serve named objects to clients that
//! know the authkey, or connect to such a server.

use std::collections::HashMap;
use std::fmt;
use std::net::TcpListener;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::conn::Client;

use super::server::{Listener, Named, Server};

use crate::error::{Error, Result};

use super::*;

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

/// A `BaseManager`'s TCP listener, and its local twin when it has one.
type Listeners = (Listener, Option<Listener>);
