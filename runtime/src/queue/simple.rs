//! [`SimpleQueue`]: an unbounded [`Queue`] with only `put`, `get`,
//! `empty` and `close`.

use std::fmt;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Result;

use super::*;

/// The guide's `SimpleQueue`: an unbounded [`Queue`] with only `put`,
/// `get` (and `get_timeout`), `is_empty` and `close`.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let q = multiproc::queue::SimpleQueue::<String>::new()?;
/// q.put("hi".to_string())?;
/// assert!(!q.is_empty());
/// assert_eq!(q.get()?, "hi");
/// # Ok(())
/// # }
/// ```
pub struct SimpleQueue<T>(Queue<T>);

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> Self {
        SimpleQueue(self.0.clone())
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleQueue").field(&self.0).finish()
    }
}

impl<T: Serialize + DeserializeOwned> SimpleQueue<T> {
    /// A new, empty queue.
    ///
    /// # Errors
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::SimpleQueue::<u8>::new()?;
    /// assert!(q.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Result<Self> {
        Ok(SimpleQueue(Queue::unbounded()?))
    }

    /// Puts an item. See [`Queue::put`].
    ///
    /// # Errors
    /// As [`Queue::put`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// multiproc::queue::SimpleQueue::new()?.put(1u8)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: impl PutItem<T>) -> Result<()> {
        self.0.put(item)
    }

    /// Takes an item. See [`Queue::get`].
    ///
    /// # Errors
    /// As [`Queue::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::SimpleQueue::new()?;
    /// q.put(2u8)?;
    /// assert_eq!(q.get()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self) -> Result<T> {
        self.0.get()
    }

    /// Takes an item, waiting at most `timeout` (the `get(timeout=…)` of
    /// Python's `queue.SimpleQueue`). See [`Queue::get_timeout`].
    ///
    /// # Errors
    /// [`Error::Empty`] once the time is up; else as [`Queue::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::SimpleQueue::<u8>::new()?;
    /// let r = q.get_timeout(Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Empty)));
    /// q.put(3)?;
    /// assert_eq!(q.get_timeout(Duration::from_secs(60))?, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.0.get_timeout(timeout)
    }

    /// Whether the queue is empty (approximate).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(multiproc::queue::SimpleQueue::<u8>::new()?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This process puts no more. See [`Queue::close`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::SimpleQueue::<u8>::new()?;
    /// q.close();
    /// assert!(q.put(1).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.0.close()
    }
}

impl<T> Serialize for SimpleQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for SimpleQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Queue::deserialize(deserializer).map(SimpleQueue)
    }
}
