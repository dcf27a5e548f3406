//! [`Manager`]: a server process this process started, with the
//! built-in types registered.

use std::collections::HashMap;
use std::fmt;

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixListener;
use std::sync::Mutex;

use std::time::Duration;

use super::conn::Client;

use super::server::{Listener, Server};

use crate::error::{Error, Result};
use crate::handoff::TravelFd;
use crate::process::{Process, StartMethod};

use super::*;

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
    pub(super) client: ManagerClient,
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
