//! A manager's server: its gate (`gate.rs`) accepts connections and
//! authenticates each, in one thread, before reading a request; then each
//! authenticated connection is served on its own thread — so a client
//! that stalls, sends garbage or disconnects mid-call affects only its own
//! connection. Requests name objects and methods; nothing received is ever
//! executed as code.

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::conn::{Caller, Reply, Request, Stream};
use super::gate;
use super::local::{check_peer, Twin};
use super::objects::{builtin, Object};
use crate::error::{Error, Result};
use crate::sys;

/// Makes an object for a name a client asks for.
pub(crate) type Factory = Box<dyn Fn() -> Result<Box<dyn Object>> + Send + Sync>;

/// What a registered name gives.
pub(crate) enum Named {
    /// The same object to every client.
    Shared(Arc<dyn Object>),
    /// A new object per request.
    Factory(Factory),
}

/// A registered name, as the server keeps it.
enum Entry {
    Shared(u64),
    Factory(Factory),
}

/// A listening socket of either kind.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// A [`Manager`](super::Manager)'s abstract socket.
    Unix(UnixListener),
    /// A `BaseManager`'s local twin (its file goes with it).
    Twin(Twin),
}

impl Listener {
    /// The next connection; a Unix peer of another user (who could reach
    /// an abstract socket) is closed at once.
    pub(crate) fn accept(&self) -> Result<Stream> {
        let unix = |l: &UnixListener| -> Result<Stream> {
            let (s, _) = l.accept().map_err(Error::io("accept"))?;
            check_peer(s.as_fd(), "a local client")?;
            Ok(Stream::from(s))
        };
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::from(s)).map_err(Error::io("accept")),
            Listener::Unix(l) => unix(l),
            Listener::Twin(t) => unix(&t.listener),
        }
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
            Listener::Twin(t) => t.listener.as_fd(),
        }
    }
}

/// The state every connection thread shares.
pub(crate) struct Server {
    authkey: Arc<[u8]>,
    objects: Mutex<HashMap<u64, Arc<dyn Object>>>,
    names: HashMap<String, Entry>,
    next_id: AtomicU64,
    /// Open connections per client, to notice when a client is gone.
    clients: Mutex<HashMap<u64, usize>>,
    stop: AtomicBool,
    wake: sys::EventFd,
}

impl Server {
    pub(crate) fn new(authkey: Arc<[u8]>, named: HashMap<String, Named>) -> Result<Arc<Server>> {
        let mut objects: HashMap<u64, Arc<dyn Object>> = HashMap::new();
        let mut names = HashMap::new();
        for (name, what) in named {
            let entry = match what {
                Named::Shared(object) => {
                    let id = objects.len() as u64 + 1;
                    objects.insert(id, object);
                    Entry::Shared(id)
                }
                Named::Factory(make) => Entry::Factory(make),
            };
            names.insert(name, entry);
        }
        Ok(Arc::new(Server {
            authkey,
            next_id: AtomicU64::new(objects.len() as u64 + 1),
            objects: Mutex::new(objects),
            names,
            clients: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
            wake: sys::EventFd::new().map_err(Error::io("eventfd"))?,
        }))
    }

    /// Asks [`serve`](Server::serve) to return.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake.notify();
    }

    /// Accepts on `listeners` until stopped: every handshake in one
    /// thread (see [`gate`]), then a thread per authenticated connection.
    pub(crate) fn serve(self: &Arc<Self>, listeners: Vec<Listener>) -> Result<()> {
        let result = gate::run(
            &listeners,
            &self.authkey,
            self.wake.as_fd(),
            || self.stop.load(Ordering::Acquire),
            |stream| {
                let server = Arc::clone(self);
                // No thread for it: the connection closes, the client sees
                // the server hang up.
                let _ = std::thread::Builder::new()
                    .name("multiproc-manager-conn".into())
                    .spawn(move || server.connection(stream));
            },
        );
        drop(listeners);
        result
    }

    fn connection(&self, mut stream: Stream) {
        if stream.framed().is_err() {
            return;
        }
        let client = match stream.recv::<Request>() {
            Ok(Request::Hello { client }) => client,
            _ => return,
        };
        if stream.offer_slot().is_err() {
            return;
        }
        *self
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(client)
            .or_insert(0) += 1;
        loop {
            let request = match stream.next_request() {
                Ok(r) => r,
                Err(Error::Codec(m)) => {
                    // Bad bytes in a whole message: say so, go on.
                    if stream.reply(&Reply::Failed(Error::Codec(m))).is_err() {
                        break;
                    }
                    continue;
                }
                Err(_) => break, // gone, mid-frame or between frames
            };
            let shutdown = matches!(request, Request::Shutdown);
            let reply = match self.handle(request, client) {
                Ok(reply) => reply,
                Err(e) => Reply::Failed(e),
            };
            match stream.reply(&reply) {
                Ok(()) => {}
                // Too large to send: say so instead, and go on.
                Err(e @ Error::FrameTooLarge { .. }) => {
                    if stream.reply(&Reply::Failed(e)).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
            if shutdown {
                self.stop();
                break;
            }
        }
        self.disconnected(client);
    }

    fn disconnected(&self, client: u64) {
        let last = {
            let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            let n = clients.entry(client).or_insert(1);
            *n -= 1;
            if *n == 0 {
                clients.remove(&client);
                true
            } else {
                false
            }
        };
        if last {
            let objects: Vec<Arc<dyn Object>> = self
                .objects
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .cloned()
                .collect();
            for object in objects {
                object.client_gone(client);
            }
        }
    }

    fn add(&self, object: Arc<dyn Object>) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let type_name = object.type_name().to_string();
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, object);
        Reply::Object { id, type_name }
    }

    fn handle(&self, request: Request, client: u64) -> Result<Reply> {
        match request {
            Request::Hello { .. } => Err(Error::Manager("hello twice".into())),
            Request::Create {
                type_name,
                constructor,
                args,
            } => {
                let object = match builtin(&type_name, &args) {
                    Some(made) => made?,
                    None => super::registry::create_by_name(&type_name, &constructor, &args)?,
                };
                Ok(self.add(Arc::from(object)))
            }
            Request::Lookup { name } => match self.names.get(&name) {
                None => Err(Error::Manager(format!("no object is registered as `{name}`"))),
                Some(Entry::Shared(id)) => {
                    let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
                    let object = objects
                        .get(id)
                        .ok_or_else(|| Error::Manager(format!("`{name}` lost its object")))?;
                    Ok(Reply::Object {
                        id: *id,
                        type_name: object.type_name().to_string(),
                    })
                }
                Some(Entry::Factory(make)) => Ok(self.add(Arc::from(make()?))),
            },
            Request::Call {
                id,
                method,
                thread,
                args,
            } => {
                let object = self
                    .objects
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| Error::Manager(format!("no object has id {id}")))?;
                let caller = Caller { client, thread };
                // A panicking method fails its call, not the server.
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| object.call(&method, &args, caller)))
                        .unwrap_or_else(|payload| {
                            Err(Error::Panicked {
                                pid: std::process::id() as i32,
                                message: crate::unwind::panic_message(&*payload),
                                location: None,
                            })
                        });
                Ok(Reply::Value(result?))
            }
            Request::Shutdown => Ok(Reply::Value(crate::codec::encode(&())?)),
        }
    }
}
