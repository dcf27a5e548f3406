//! [`Listener`] and [`Client`]: connections between unrelated processes
//! that share an authkey, over the managers' handshake and framing (see
//! the [parent module](super)). Needs the `manager` feature.

use std::collections::VecDeque;
use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::manager::conn::{self, Deadline, Stream};
use crate::manager::gate::{Gate, Verdict};
use crate::manager::local::check_peer;
use crate::manager::server;
use crate::pipe::Connection;
use crate::sys;

/// Where a [`Listener`] listens and a [`Client`] connects — Python's
/// address families `AF_INET` (a `(host, port)`) and `AF_UNIX` (a path, or
/// an abstract name).
///
/// Parsed from text: `@name` is an abstract name, anything with a `/` a
/// path (write `./name` for one in the current directory), anything else
/// `host:port`.
///
/// # Examples
///
/// ```
/// use multiproc::connection::Address;
/// # fn main() -> multiproc::Result<()> {
/// assert!(matches!("127.0.0.1:0".parse::<Address>()?, Address::Tcp(_)));
/// assert!(matches!("/tmp/app.sock".parse::<Address>()?, Address::Unix(_)));
/// assert_eq!("@app".parse::<Address>()?, Address::Abstract("app".into()));
/// assert_eq!("@app".parse::<Address>()?.to_string(), "@app");
/// assert!("no port".parse::<Address>().is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket in the file system; a [`Listener`] removes its file
    /// when dropped.
    Unix(PathBuf),
    /// A Unix socket in Linux's abstract namespace: nothing in the file
    /// system, gone with its listener.
    Abstract(String),
}

impl std::str::FromStr for Address {
    type Err = Error;

    fn from_str(text: &str) -> Result<Address> {
        if let Some(name) = text.strip_prefix('@') {
            if name.is_empty() {
                return Err(Error::Usage("`@` names no abstract socket".into()));
            }
            return Ok(Address::Abstract(name.to_string()));
        }
        if text.contains('/') {
            return Ok(Address::Unix(PathBuf::from(text)));
        }
        match conn::Address::tcp(text)? {
            conn::Address::Tcp(a) => Ok(Address::Tcp(a)),
            conn::Address::Unix(_) => Err(Error::Usage(format!("`{text}` is not a TCP address").into())),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "{a}"),
            Address::Unix(path) => write!(f, "{}", path.display()),
            Address::Abstract(name) => write!(f, "@{name}"),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(a: SocketAddr) -> Address {
        Address::Tcp(a)
    }
}

impl From<PathBuf> for Address {
    fn from(path: PathBuf) -> Address {
        Address::Unix(path)
    }
}

/// An empty authkey proves nothing.
fn check_key(authkey: &[u8]) -> Result<()> {
    if authkey.is_empty() {
        return Err(Error::Usage("an authkey must not be empty".into()));
    }
    Ok(())
}

/// Python's `multiprocessing.connection.Listener(address, authkey=…)`:
/// a bound socket whose [`accept`](Listener::accept) gives an
/// authenticated [`Connection`] per client (see the [module
/// docs](crate::connection) for the handshake and what a stranger can cost).
///
/// Safe to share between threads: accepts take turns of at most 50 ms
/// (so with several threads accepting, a timeout may be overrun by that
/// much).
///
/// # Examples
///
/// ```
/// use multiproc::connection::{Client, Listener};
///
/// # fn main() -> multiproc::Result<()> {
/// let listener = Listener::bind(&"127.0.0.1:0".parse()?, b"secret")?;
/// let address = listener.address().clone(); // with the port the kernel chose
/// let client = std::thread::spawn(move || -> multiproc::Result<String> {
///     let conn = Client::connect(&address, b"secret")?;
///     conn.send("ping")?;
///     conn.recv::<String>()
/// });
/// let conn = listener.accept()?;
/// assert_eq!(conn.recv::<String>()?, "ping");
/// conn.send("pong")?;
/// assert_eq!(client.join().unwrap()?, "pong");
/// # Ok(())
/// # }
/// ```
pub struct Listener {
    socket: server::Listener,
    address: Address,
    authkey: Box<[u8]>,
    waiting: Mutex<Waiting>,
    /// The socket file this listener made, and its device and inode: it is
    /// removed on drop only if it is still that file.
    file: Option<(PathBuf, u64, u64)>,
}

/// The longest one `accept` holds the listener before letting another
/// thread's `accept` take a turn.
const ACCEPT_TURN: Duration = Duration::from_millis(50);

/// The handshakes under way, and verdicts not yet handed out.
struct Waiting {
    gate: Gate,
    verdicts: VecDeque<Verdict>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Binds `address` and listens, for clients that know `authkey`.
    /// Port 0 takes a free port: [`address`](Listener::address) says which.
    ///
    /// # Errors
    /// [`Error::Usage`] for an empty authkey; [`Error::Io`] when the
    /// address cannot be bound (in use, a path that exists, no
    /// permission).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::connection::{Address, Listener};
    /// # fn main() -> multiproc::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("multiproc-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("listener.sock");
    /// let listener = Listener::bind(&Address::Unix(path.clone()), b"secret")?;
    /// assert!(path.exists());
    /// drop(listener);
    /// assert!(!path.exists()); // the file goes with the listener
    /// # std::fs::remove_dir(&dir).unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(address: &Address, authkey: &[u8]) -> Result<Listener> {
        check_key(authkey)?;
        let (socket, address, file) = match address {
            Address::Tcp(a) => {
                let l = TcpListener::bind(a).map_err(Error::io("binding a listener's TCP address"))?;
                let bound = l.local_addr().map_err(Error::io("getsockname"))?;
                (server::Listener::Tcp(l), Address::Tcp(bound), None)
            }
            Address::Unix(path) => {
                let l = UnixListener::bind(path).map_err(Error::io("binding a listener's socket path"))?;
                let meta = std::fs::symlink_metadata(path).map_err(Error::io("inspecting a listener's socket"))?;
                let file = (path.clone(), meta.dev(), meta.ino());
                (server::Listener::Unix(l), address.clone(), Some(file))
            }
            Address::Abstract(name) => {
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                    .map_err(Error::io("naming a listener's abstract socket"))?;
                let l = UnixListener::bind_addr(&addr).map_err(Error::io("binding a listener's abstract socket"))?;
                (server::Listener::Unix(l), address.clone(), None)
            }
        };
        let gate = Gate::new(std::slice::from_ref(&socket))?;
        Ok(Listener {
            socket,
            address,
            authkey: authkey.into(),
            waiting: Mutex::new(Waiting {
                gate,
                verdicts: VecDeque::new(),
            }),
            file,
        })
    }

    /// Where this listener listens (a TCP address with its actual port).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::connection::{Address, Listener};
    /// # fn main() -> multiproc::Result<()> {
    /// let listener = Listener::bind(&"127.0.0.1:0".parse()?, b"k")?;
    /// assert!(matches!(listener.address(), Address::Tcp(a) if a.port() != 0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The next client that proves it knows the authkey, waiting as long
    /// as it takes (Python's `accept()`). Meanwhile it greets every new
    /// connection and reads every answer, so a slow or silent client never
    /// holds up another (it is closed 5 s after it connected).
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] when a client answered with another
    /// key (it is told so and closed; call `accept` again for the next);
    /// [`Error::Io`] when `poll` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::connection::{Client, Listener};
    /// # fn main() -> multiproc::Result<()> {
    /// let listener = Listener::bind(&"@multiproc-doc-accept".parse()?, b"k")?;
    /// let address = listener.address().clone();
    /// let client = std::thread::spawn(move || Client::connect(&address, b"k"));
    /// let conn = listener.accept()?;
    /// let theirs = client.join().unwrap()?;
    /// theirs.send_bytes(b"hi")?;
    /// assert_eq!(conn.recv_bytes()?, b"hi");
    /// # Ok(())
    /// # }
    /// ```
    pub fn accept(&self) -> Result<Connection> {
        self.accept_by(None, Duration::MAX)
    }

    /// Like [`accept`](Listener::accept), giving up after `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] when no client authenticated in time; else as
    /// [`accept`](Listener::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::connection::Listener;
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let listener = Listener::bind(&"127.0.0.1:0".parse()?, b"k")?;
    /// let r = listener.accept_timeout(Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Timeout(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Connection> {
        self.accept_by(crate::deadline::after(timeout), timeout)
    }

    fn accept_by(&self, deadline: Option<Instant>, timeout: Duration) -> Result<Connection> {
        let mut turned = false;
        loop {
            // Taken for one turn at a time, so that accepts on other
            // threads take turns too (and keep their deadlines within a
            // turn's length).
            let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            match waiting.verdicts.pop_front() {
                Some(Verdict::Accepted(stream)) => {
                    let (fd, auth) = stream.into_parts()?;
                    return Connection::authenticated(fd, auth);
                }
                Some(Verdict::Refused) => {
                    return Err(Error::AuthenticationFailed(format!(
                        "a client of the listener at {} did not know the authkey: it was refused and closed",
                        self.address
                    )))
                }
                None => {}
            }
            if turned && deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout(timeout));
            }
            let Waiting { gate, verdicts } = &mut *waiting;
            let turn_end = Instant::now() + ACCEPT_TURN;
            let until = deadline.map_or(turn_end, |d| d.min(turn_end));
            let ended = gate.turn(std::slice::from_ref(&self.socket), &self.authkey, None, Some(until))?;
            verdicts.extend(ended.unwrap_or_default());
            turned = true;
        }
    }

    /// Stops listening (Python's `close()`); dropping does the same. A
    /// socket file it made goes too.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::connection::{Client, Listener};
    /// # fn main() -> multiproc::Result<()> {
    /// let listener = Listener::bind(&"127.0.0.1:0".parse()?, b"k")?;
    /// let address = listener.address().clone();
    /// listener.close();
    /// assert!(Client::connect(&address, b"k").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(self) {}
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Only the file this listener made: not one that replaced it.
        if let Some((path, dev, ino)) = &self.file {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.dev() == *dev && m.ino() == *ino) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Python's `multiprocessing.connection.Client(address, authkey=…)`: a
/// connection to a [`Listener`] that knows the same authkey.
///
/// # Examples
///
/// ```
/// use multiproc::connection::{Client, Listener};
/// # fn main() -> multiproc::Result<()> {
/// let listener = Listener::bind(&"127.0.0.1:0".parse()?, b"secret")?;
/// let address = listener.address().clone();
/// let server = std::thread::spawn(move || -> multiproc::Result<()> {
///     let conn = listener.accept()?;
///     let n: u64 = conn.recv()?;
///     conn.send(&(n * 2))
/// });
/// let conn = Client::connect(&address, b"secret")?;
/// conn.send(&21u64)?;
/// assert_eq!(conn.recv::<u64>()?, 42);
/// server.join().unwrap()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Connects to the listener at `address` and authenticates with
    /// `authkey`, all within 10 s (as a manager's client does; see
    /// [`connect_timeout`](Client::connect_timeout) to choose).
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] when the listener refuses the key,
    /// cannot prove it knows it, or (on a Unix socket) runs as another
    /// user; [`Error::HandshakeTimeout`] when the connect and the handshake
    /// do not finish in time (a listener that does not `accept` meanwhile,
    /// say); [`Error::ManagerBusy`] when the listener has no room for
    /// another connection still after three quick retries;
    /// [`Error::Usage`] for an empty authkey; [`Error::Io`] when nothing
    /// listens there, or the connection breaks before the handshake ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::connection::{Client, Listener};
    /// # fn main() -> multiproc::Result<()> {
    /// let listener = Listener::bind(&"127.0.0.1:0".parse()?, b"right")?;
    /// let address = listener.address().clone();
    /// let server = std::thread::spawn(move || listener.accept());
    /// let err = Client::connect(&address, b"wrong").unwrap_err();
    /// assert!(matches!(err, multiproc::Error::AuthenticationFailed(_)));
    /// assert!(matches!(server.join().unwrap(), Err(multiproc::Error::AuthenticationFailed(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect(address: &Address, authkey: &[u8]) -> Result<Connection> {
        Client::connect_timeout(address, authkey, conn::CLIENT_HANDSHAKE_TIMEOUT)
    }

    /// Like [`connect`](Client::connect), within `timeout`: the connect
    /// and the whole handshake together.
    ///
    /// # Errors
    /// [`Error::HandshakeTimeout`] carrying `timeout`; [`Error::Usage`] for
    /// a zero `timeout`; else as [`connect`](Client::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::connection::{Address, Client};
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// // A socket that never answers: the handshake gives up in time.
    /// let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let address = Address::Tcp(silent.local_addr().unwrap());
    /// let err = Client::connect_timeout(&address, b"k", Duration::from_millis(50)).unwrap_err();
    /// assert!(matches!(err, multiproc::Error::HandshakeTimeout(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_timeout(address: &Address, authkey: &[u8], timeout: Duration) -> Result<Connection> {
        check_key(authkey)?;
        if timeout.is_zero() {
            return Err(Error::Usage("a connect timeout must be more than zero".into()));
        }
        let by = Deadline::after(timeout);
        let stream = conn::retry_busy(by, || {
            let mut stream = open(address, by)?;
            conn::client_handshake(&mut stream, authkey, by)?;
            Ok(stream)
        })?;
        let (fd, auth) = stream.into_parts()?;
        Connection::authenticated(fd, auth)
    }
}

/// Connects to `address` before `by`; a Unix peer must be of our user.
fn open(address: &Address, by: Deadline) -> Result<Stream> {
    let failed = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::TimedOut => by.expired(),
        _ => Error::io("connecting to a listener")(e),
    };
    let unix = |name: &[u8], abstract_name: bool| -> Result<Stream> {
        let stream = sys::unix_connect(name, abstract_name, Some(by.at())).map_err(failed)?;
        // Anyone can bind a name that is free: talk only to our own user.
        check_peer(stream.as_fd(), &format!("the listener at {address}"))?;
        Ok(Stream::from(stream))
    };
    match address {
        Address::Tcp(a) => Ok(Stream::from(TcpStream::connect_timeout(a, by.left()?).map_err(failed)?)),
        Address::Unix(path) => unix(path.as_os_str().as_bytes(), false),
        Address::Abstract(name) => unix(name.as_bytes(), true),
    }
}
