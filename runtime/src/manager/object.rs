//! [`Object`]: what a [`BaseManager`](super::BaseManager)'s server holds
//! under a name.

use std::fmt;

use std::sync::Mutex;

use serde::Serialize;

use super::objects::names;

use crate::codec;
use crate::error::Error;

use super::*;

/// An object for a [`BaseManager`]'s server to hold under a name: a
/// built-in, or a value of a [`Managed`] type.
pub struct Object(pub(super) Box<dyn objects::Object>);

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
