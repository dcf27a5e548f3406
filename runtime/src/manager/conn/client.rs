//! [`Client`]: a process's connections to one server, and the calls
//! ([`Request`], [`Reply`]) that travel on them.

#[cfg(feature = "fuzzing")]
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::super::local;
use crate::codec::{self};
use crate::error::{Error, Result};
use crate::sys;

use super::*;

/// Who makes a call: the client (one per process and server) and its
/// thread — what a managed `RLock` counts as its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Caller {
    pub(crate) client: u64,
    pub(crate) thread: u64,
}

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    /// The first request on a connection: who we are.
    Hello { client: u64 },
    /// Make an object of a registered type with one of its constructors.
    Create {
        type_name: String,
        constructor: String,
        args: Vec<u8>,
    },
    /// A proxy to the object registered under `name`.
    Lookup { name: String },
    /// Call `method` of object `id`.
    Call {
        id: u64,
        method: String,
        thread: u64,
        args: Vec<u8>,
    },
    /// Stop the server.
    Shutdown,
}

/// What the server answers.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// An object: its id and type.
    Object { id: u64, type_name: String },
    /// A method's encoded result.
    Value(Vec<u8>),
    /// The request failed.
    Failed(Error),
}

/// One process's connections to one server. Each call borrows an idle
/// connection (or opens one), so a call that blocks on the server — a lock,
/// a queue — holds up no other thread.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) address: Address,
    pub(crate) authkey: Arc<[u8]>,
    /// The verified local twin of a TCP server on this machine, which
    /// every connection of this client then goes through.
    twin: Option<PathBuf>,
    id: u64,
    /// [`sys::fork_generation`] when made: another value means this is a
    /// forked child's copy of a parent's client.
    generation: u32,
    idle: Mutex<Vec<Stream>>,
    /// How long each new connection may take to connect and authenticate.
    timeout: Duration,
    /// In a forked child: its own client, which lives as long as this one
    /// (the server counts a client's locks as its own until it is gone).
    /// Fork-local, so a grandchild never waits on a lock its parent held.
    forked: sys::ForkLocal<Mutex<Option<Arc<Client>>>>,
}

impl Client {
    /// A client of the server at `address`; connects (and authenticates)
    /// once now, so a wrong key or a missing server is an error here.
    pub(crate) fn connect(address: Address, authkey: Arc<[u8]>) -> Result<Arc<Client>> {
        let by = Deadline::after(CLIENT_HANDSHAKE_TIMEOUT);
        Client::make(address, authkey, None, by)
    }

    /// Like [`connect`](Client::connect), through the server's local twin
    /// when `address` is a loopback TCP address and the twin is there
    /// (see [`local`]): an error when a twin is there but is not the
    /// server's, never a silent fall back.
    ///
    /// Finding the twin, connecting and the handshake all happen within
    /// `timeout`, and so does each connection the client opens later.
    pub(crate) fn connect_local(address: Address, authkey: Arc<[u8]>, timeout: Duration) -> Result<Arc<Client>> {
        let by = Deadline::after(timeout);
        let twin = match &address {
            Address::Tcp(a) if a.ip().is_loopback() => local::find_twin(a.port(), by)?,
            _ => None,
        };
        Client::make(address, authkey, twin, by)
    }

    fn make(
        address: Address,
        authkey: Arc<[u8]>,
        twin: Option<(PathBuf, UnixStream)>,
        by: Deadline,
    ) -> Result<Arc<Client>> {
        let mut id = [0u8; 8];
        random_bytes(&mut id)?;
        let (twin, first) = match twin {
            Some((path, stream)) => (Some(path), Some(Stream::from(stream))),
            None => (None, None),
        };
        let client = Arc::new(Client {
            address,
            authkey,
            twin,
            id: u64::from_le_bytes(id),
            generation: sys::fork_generation(),
            idle: Mutex::new(Vec::new()),
            timeout: by.limit,
            forked: sys::ForkLocal::new(Default::default),
        });
        let first = match first.map(|stream| client.setup(stream, by)) {
            Some(Err(Error::ManagerBusy(_))) | None => client.open_by(by)?,
            Some(done) => done?,
        };
        client.idle.lock().unwrap_or_else(|p| p.into_inner()).push(first);
        Ok(client)
    }

    /// The client of this process for `address`: shared by every proxy
    /// that this process decodes, never inherited across a fork.
    /// (Weak references: a client whose last proxy is gone closes its
    /// connections.)
    pub(crate) fn shared(address: &Address, authkey: &Arc<[u8]>) -> Result<Arc<Client>> {
        // Fork-local: a child never waits on a lock that its parent held at
        // the fork (this one is held across a connect).
        static CLIENTS: sys::ForkLocal<Mutex<Vec<std::sync::Weak<Client>>>> = sys::ForkLocal::new(Default::default);
        let mut clients = CLIENTS.get().lock().unwrap_or_else(|p| p.into_inner());
        let generation = sys::fork_generation();
        clients.retain(|c| c.upgrade().is_some_and(|c| c.generation == generation));
        let found = clients
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .find(|c| &c.address == address && *c.authkey == **authkey);
        if let Some(c) = found {
            return Ok(c);
        }
        let client = Client::connect_local(address.clone(), authkey.clone(), CLIENT_HANDSHAKE_TIMEOUT)?;
        clients.push(Arc::downgrade(&client));
        Ok(client)
    }

    /// This process's own client in place of a parent's copy.
    fn in_child(&self) -> Result<Arc<Client>> {
        let mut forked = self.forked.get().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = forked.as_ref() {
            return Ok(c.clone());
        }
        let c = match self.twin {
            Some(_) => Client::connect_local(self.address.clone(), self.authkey.clone(), self.timeout)?,
            None => Client::make(
                self.address.clone(),
                self.authkey.clone(),
                None,
                Deadline::after(self.timeout),
            )?,
        };
        *forked = Some(c.clone());
        Ok(c)
    }

    /// A new authenticated connection, within the client's timeout.
    fn open(&self) -> Result<Stream> {
        self.open_by(Deadline::after(self.timeout))
    }

    /// A new authenticated connection before `by`. A server that says it
    /// is busy is asked again a few times within [`BUSY_RETRIES`] (while
    /// time is left): under a flood of connects it makes room by dropping
    /// the oldest connections not yet authenticated, and an honest client
    /// can be one of them.
    fn open_by(&self, by: Deadline) -> Result<Stream> {
        retry_busy(by, || self.open_once(by))
    }

    fn open_once(&self, by: Deadline) -> Result<Stream> {
        let stream = match &self.twin {
            Some(path) => {
                let fail = |e| by.connect_failed(path.display(), e);
                let stream = sys::unix_connect(path.as_os_str().as_bytes(), false, Some(by.at())).map_err(fail)?;
                local::check_peer(stream.as_fd(), &format!("the manager socket {}", path.display()))?;
                Stream::from(stream)
            }
            None => self.address.connect(by)?,
        };
        self.setup(stream, by)
    }

    /// Authenticates a new connection and says who we are, before `by`.
    fn setup(&self, mut stream: Stream, by: Deadline) -> Result<Stream> {
        client_handshake(&mut stream, &self.authkey, by)?;
        stream.send(&Request::Hello { client: self.id })?;
        stream.take_slot(by)?;
        Ok(stream)
    }

    #[cfg(feature = "fuzzing")]
    /// An authenticated, blocking TCP connection to the server, for the
    /// fuzzing command to write raw bytes on.
    pub(crate) fn raw_stream(&self) -> Result<TcpStream> {
        match self.open()?.sock {
            Sock::Tcp(s) => {
                s.set_nonblocking(false).map_err(Error::io("fcntl"))?;
                Ok(s)
            }
            Sock::Unix(_) => Err(Error::Usage("raw streams are TCP only".into())),
        }
    }

    /// Sends `request` and waits for the reply.
    pub(crate) fn request(&self, request: &Request) -> Result<Reply> {
        if sys::fork_generation() != self.generation {
            // A forked child must not share its parent's connections.
            return self.in_child()?.request(request);
        }
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut stream = match idle {
            Some(s) => s,
            None => self.open()?,
        };
        // A tampered frame stays an authentication error: the connection
        // is not to be trusted, whether or not the server is there.
        let gone = |e: Error| match e {
            Error::AuthenticationFailed(_) | Error::FrameTooLarge { .. } => e,
            e => Error::Manager(format!("the manager at {} is gone: {e}", self.address)),
        };
        let reply = stream.exchange(request).map_err(gone)?;
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(stream);
        Ok(reply)
    }

    /// Calls `method` of object `id` with `args`; decodes its result.
    pub(crate) fn call<A: Serialize, R: DeserializeOwned>(&self, id: u64, method: &str, args: &A) -> Result<R> {
        let request = Request::Call {
            id,
            method: method.to_string(),
            thread: thread_token(),
            args: codec::encode(args)?,
        };
        match self.request(&request)? {
            Reply::Value(bytes) => codec::decode(&bytes),
            Reply::Failed(e) => Err(e),
            Reply::Object { .. } => Err(Error::Manager("the server answered a call with an object".into())),
        }
    }

    /// Asks for an object (made or looked up); returns its id and type.
    pub(crate) fn object(&self, request: &Request) -> Result<(u64, String)> {
        match self.request(request)? {
            Reply::Object { id, type_name } => Ok((id, type_name)),
            Reply::Failed(e) => Err(e),
            Reply::Value(_) => Err(Error::Manager("the server answered with a value, not an object".into())),
        }
    }
}

/// A number for the calling thread, unique in this process.
pub(super) fn thread_token() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|t| *t)
}
