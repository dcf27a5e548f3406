//! [`Event`]: a futex word, set or clear.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::word;
use crate::error::Result;
use crate::segment::Segment;
use crate::sys::{self};

/// A flag that processes wait on — the guide's `Event`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::sync::Event;
///
/// #[process_fn]
/// fn waiter(e: Event) -> bool {
///     e.wait_timeout(std::time::Duration::from_secs(60))
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let e = Event::new()?;
/// let mut p = Process::builder().start(waiter, (e.clone(),))?;
/// e.set();
/// assert!(p.join()?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Event {
    seg: Arc<Segment>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}

impl Event {
    /// A new event, not set.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when the shared memory cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!multiproc::sync::Event::new().unwrap().is_set());
    /// ```
    pub fn new() -> Result<Self> {
        Ok(Event {
            seg: Segment::new("multiproc-event", 64)?,
        })
    }

    /// Sets the flag and wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn set(&self) {
        let w = word(&self.seg, 0);
        w.store(1, Ordering::Release);
        sys::futex_wake(w, i32::MAX);
    }

    /// Clears the flag.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        word(&self.seg, 0).store(0, Ordering::Release);
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!multiproc::sync::Event::new().unwrap().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        word(&self.seg, 0).load(Ordering::Acquire) != 0
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let w = word(&self.seg, 0);
        loop {
            if w.load(Ordering::Acquire) != 0 {
                return true;
            }
            if !sys::futex_wait(w, 0, deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                return w.load(Ordering::Acquire) != 0;
            }
        }
    }

    /// Waits until the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// e.set();
    /// e.wait();
    /// ```
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`; returns whether the flag was set.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = multiproc::sync::Event::new().unwrap();
    /// assert!(!e.wait_timeout(std::time::Duration::from_millis(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(crate::deadline::after(timeout))
    }
}

travels!(Event);
