//! The guide's managers: objects that live in a server process, used
//! from any process through typed proxies — [`Manager`] for the built-in
//! types on this machine, [`BaseManager`] to serve named objects over TCP,
//! and [`#[managed]`](crate::managed) for a user's own types.
//!
//! - `mod.rs` — the [`Managed`] and [`Proxy`] traits, and the registry of
//!   `#[managed]` types;
//! - `started.rs` — [`Manager`]; `base.rs` — [`BaseManager`] and its
//!   builder; `client.rs` — [`ManagerClient`] and [`Handle`]; `object.rs`
//!   — [`Object`];
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

mod base;
mod client;
pub(crate) mod conn;
pub(crate) mod gate;
pub(crate) mod local;
mod object;
mod objects;
mod proxy;
pub(crate) mod server;
mod shown;
mod started;

pub use self::conn::Address;

pub use self::proxy::{
    ArrayProxy, BarrierProxy, ConditionGuard, ConditionProxy, DictProxy, EventProxy, JoinableQueueProxy, ListProxy,
    LockGuard, LockProxy, NamespaceProxy, QueueProxy, SemaphoreProxy, ValueProxy,
};

use crate::error::Result;

pub use self::base::{BaseManager, BaseManagerBuilder};
pub use self::client::{Handle, ManagerClient};
pub use self::object::Object;
pub use self::started::Manager;

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
