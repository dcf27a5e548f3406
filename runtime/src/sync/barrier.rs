//! [`Barrier`]: parties, arrivals tagged with their round, and a ring of
//! the last breaks.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::word;
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::sys::{self};

/// Barrier words: parties, arrived, generation, broken; then, for a
/// waiter that slept through more events than the generation word's
/// history holds, the event counts of the last [`BREAKS`] breaks (a ring)
/// and the number of breaks so far.
const PARTIES: usize = 0;
const ARRIVED: usize = 4;
const GENERATION: usize = 8;
const BROKEN: usize = 12;
const BREAK_RING: usize = 16;
const BREAKS: usize = 4;
const BREAK_COUNT: usize = BREAK_RING + 4 * BREAKS;

/// Bits of a barrier's generation word that remember how its last events
/// ended; the bits above count the events (a pass, an abort, a reset).
const HISTORY: u32 = 8;

/// The generation word after one more event: the count goes up, and the
/// event's kind (`broke`: an abort or a reset) enters the history at bit 0.
/// The arrival word holds the round's tag (the low 16 bits of its event
/// count) above the count of parties that arrived in it: an arrival is one
/// compare-and-swap that fails if the round ended meanwhile, so no party
/// counts itself into a round it does not wait in.
const TAG_SHIFT: u32 = 16;
const COUNT_MASK: u32 = (1 << TAG_SHIFT) - 1;

/// The tag of the round that generation word `generation` names.
fn round_tag(generation: u32) -> u32 {
    (generation >> HISTORY) & COUNT_MASK
}

fn next_generation(current: u32, broke: bool) -> u32 {
    let count = (current >> HISTORY).wrapping_add(1);
    let history = (current << 1) & ((1 << HISTORY) - 1);
    (count << HISTORY) | history | u32::from(broke)
}

/// Whether the first event after generation word `seen` was a break, read
/// from the later word `now`, or — for a waiter that slept through more
/// events than the history holds — from `breaks`, the event counts of the
/// latest breaks. When every one of those is later than that first event,
/// the ring has lost it: told the barrier broke (it cannot tell).
fn first_event_broke(seen: u32, now: u32, breaks: [u32; BREAKS]) -> bool {
    let counts = u32::MAX >> HISTORY;
    let events = (now >> HISTORY).wrapping_sub(seen >> HISTORY) & counts;
    if events == 0 {
        return true;
    }
    if events <= HISTORY {
        return (now >> (events - 1)) & 1 == 1;
    }
    // Each break's place after `seen`: 1 is the first event.
    let place = |b: u32| b.wrapping_sub(seen >> HISTORY) & counts;
    breaks.contains(&(((seen >> HISTORY) + 1) & counts)) || breaks.iter().all(|&b| (2..=events).contains(&place(b)))
}

/// A meeting point for a fixed number of parties — the guide's `Barrier`.
/// Each `wait` returns once all parties have called it, with an index
/// unique among them (0 for the last to arrive).
///
/// A party whose wait times out breaks the barrier, and every waiter gets
/// [`Error::BrokenBarrier`]; so does a party that dies before it arrives,
/// once the others' timeouts run out.
///
/// Python's `Barrier(parties, action, timeout)` is
/// [`Barrier::builder`]: an action run by one party when the barrier
/// trips, and a default timeout for every [`wait`](Barrier::wait).
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::sync::Barrier;
///
/// #[process_fn]
/// fn meet(b: Barrier) -> u32 {
///     b.wait_timeout(std::time::Duration::from_secs(60)).unwrap()
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let b = Barrier::new(2)?;
/// let mut p = Process::builder().start(meet, (b.clone(),))?;
/// let mine = b.wait()?;
/// let theirs = p.join()?;
/// assert_eq!(mine + theirs, 1); // indices 0 and 1
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Barrier {
    seg: Arc<Segment>,
    /// Run by the party that trips the barrier.
    action: Option<Action>,
    /// How long a plain [`wait`](Barrier::wait) waits.
    timeout: Option<Duration>,
}

/// A barrier's action.
#[derive(Clone)]
enum Action {
    /// A `#[process_fn]` with no arguments, by name: it travels with the
    /// barrier, and every process finds it in its own registry.
    Entry(String),
    /// A closure: for this process's handles only (threads, and `fork`
    /// closures, which copy the handle in memory).
    Closure(Arc<dyn Fn() + Send + Sync>),
}

impl Action {
    /// Runs the action; its panic (or an entry that cannot be found) is
    /// the error.
    fn run(&self) -> Result<()> {
        let panicked = |payload: Box<dyn std::any::Any + Send>| Error::Panicked {
            pid: std::process::id() as i32,
            message: crate::unwind::panic_message(&*payload),
            location: None,
        };
        match self {
            Action::Entry(name) => {
                let entry = crate::entry::lookup(name)?;
                let args = crate::codec::encode(&())?;
                std::panic::catch_unwind(|| (entry.run)(&args)).map_err(panicked)??;
                Ok(())
            }
            Action::Closure(f) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f())).map_err(panicked),
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match &self.action {
            None => None,
            Some(Action::Entry(name)) => Some(name.as_str()),
            Some(Action::Closure(_)) => Some("<closure>"),
        };
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("action", &action)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Builds a [`Barrier`] with an action and a default timeout — Python's
/// `Barrier(parties, action=None, timeout=None)`. Made by
/// [`Barrier::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # fn main() -> multiproc::Result<()> {
/// let b = multiproc::sync::Barrier::builder(1)
///     .timeout(Duration::from_secs(60))
///     .closure_action(|| println!("tripped"))
///     .build()?;
/// assert_eq!(b.wait()?, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()`"]
pub struct BarrierBuilder {
    parties: u32,
    action: Option<Action>,
    timeout: Option<Duration>,
}

impl fmt::Debug for BarrierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierBuilder")
            .field("parties", &self.parties)
            .field("action", &self.action.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BarrierBuilder {
    /// Runs `f` — a `#[process_fn]` with no arguments — in the party that
    /// trips the barrier, before any party is released. The barrier
    /// carries the entry's name, so the action works in every child that
    /// the barrier is passed to, whatever its start method. What the entry
    /// returns is dropped.
    ///
    /// If the action panics, the barrier breaks: the waiting parties get
    /// [`Error::BrokenBarrier`], and the party that ran it gets
    /// [`Error::Panicked`] (Python re-raises the action's exception there).
    /// Under `panic = "abort"` the panic ends the process instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::prelude::*;
    /// use multiproc::sync::Barrier;
    ///
    /// #[process_fn]
    /// fn announce() {
    ///     println!("everyone is here");
    /// }
    ///
    /// #[process_fn]
    /// fn meet(b: Barrier) -> u32 {
    ///     b.wait().unwrap()
    /// }
    ///
    /// # fn main() -> multiproc::Result<()> {
    /// let b = Barrier::builder(2).action(announce).build()?;
    /// let mut p = Process::builder().start(meet, (b.clone(),))?;
    /// let mine = b.wait()?; // one of the two parties prints, once
    /// assert_eq!(mine + p.join()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn action<F: crate::ProcessFn<Args = ()>>(mut self, f: F) -> Self {
        self.action = Some(Action::Entry(f.name().to_string()));
        self
    }

    /// Runs the closure `f` in the party that trips the barrier, as
    /// [`action`](BarrierBuilder::action) does — for parties that are
    /// threads of this process (or children started with
    /// [`fork`](crate::process::ProcessBuilder::fork), which copy the
    /// barrier in memory). A closure cannot travel: passing the barrier to
    /// a child as an argument fails with [`Error::Codec`]; use a
    /// `#[process_fn]` [`action`](BarrierBuilder::action) there.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// # fn main() -> multiproc::Result<()> {
    /// let trips = Arc::new(AtomicU32::new(0));
    /// let t = trips.clone();
    /// let b = multiproc::sync::Barrier::builder(2)
    ///     .closure_action(move || {
    ///         t.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// let other = b.clone();
    /// let thread = std::thread::spawn(move || other.wait());
    /// b.wait()?;
    /// thread.join().unwrap()?;
    /// assert_eq!(trips.load(Ordering::SeqCst), 1); // one party ran it
    /// # Ok(())
    /// # }
    /// ```
    pub fn closure_action(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.action = Some(Action::Closure(Arc::new(f)));
        self
    }

    /// How long [`wait`](Barrier::wait) waits before it breaks the
    /// barrier (Python's `timeout`); [`wait_timeout`](Barrier::wait_timeout)
    /// still takes its own. Without one, `wait` waits for ever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let b = multiproc::sync::Barrier::builder(2).timeout(Duration::from_millis(5)).build()?;
    /// assert!(matches!(b.wait(), Err(multiproc::Error::BrokenBarrier)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Makes the barrier.
    ///
    /// # Errors
    /// As [`Barrier::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::builder(3).build().unwrap();
    /// assert_eq!(b.parties(), 3);
    /// ```
    pub fn build(self) -> Result<Barrier> {
        let mut barrier = Barrier::new(self.parties)?;
        barrier.action = self.action;
        barrier.timeout = self.timeout;
        Ok(barrier)
    }
}

impl Barrier {
    /// A barrier for `parties` parties.
    ///
    /// # Errors
    /// [`Error::Usage`] for zero parties; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::sync::Barrier::new(3).unwrap().parties(), 3);
    /// ```
    pub fn new(parties: u32) -> Result<Self> {
        if parties == 0 {
            return Err(Error::Usage("a barrier needs at least one party".into()));
        }
        let seg = Segment::new("multiproc-barrier", 64)?;
        word(&seg, PARTIES).store(parties, Ordering::Release);
        Ok(Barrier {
            seg,
            action: None,
            timeout: None,
        })
    }

    /// A builder for a barrier with an action or a default timeout —
    /// Python's `Barrier(parties, action=None, timeout=None)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> multiproc::Result<()> {
    /// let b = multiproc::sync::Barrier::builder(2).timeout(Duration::from_secs(60)).build()?;
    /// assert_eq!(b.parties(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(parties: u32) -> BarrierBuilder {
        BarrierBuilder {
            parties,
            action: None,
            timeout: None,
        }
    }

    /// The number of parties.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::sync::Barrier::new(1).unwrap().parties(), 1);
    /// ```
    pub fn parties(&self) -> u32 {
        word(&self.seg, PARTIES).load(Ordering::Acquire)
    }

    /// How many parties wait in the current round (Python's `n_waiting`).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// assert_eq!(b.n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> u32 {
        word(&self.seg, ARRIVED).load(Ordering::Acquire) & COUNT_MASK
    }

    /// Whether the barrier is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// b.abort();
    /// assert!(b.broken());
    /// ```
    pub fn broken(&self) -> bool {
        word(&self.seg, BROKEN).load(Ordering::Acquire) != 0
    }

    /// Breaks the barrier: every waiter, now and later, gets
    /// [`Error::BrokenBarrier`] until [`reset`](Barrier::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// b.abort();
    /// assert!(matches!(b.wait(), Err(multiproc::Error::BrokenBarrier)));
    /// ```
    pub fn abort(&self) {
        word(&self.seg, BROKEN).store(1, Ordering::Release);
        self.end_generation(None, true);
    }

    /// Ends the current generation (or only `expected`, if given) as a
    /// pass or a break, and wakes every waiter; whether it was this call
    /// that ended it.
    fn end_generation(&self, expected: Option<u32>, broke: bool) -> bool {
        let generation = word(&self.seg, GENERATION);
        let arrivals = word(&self.seg, ARRIVED);
        let mut current = generation.load(Ordering::Acquire);
        loop {
            if expected.is_some_and(|e| e != current) {
                return false;
            }
            let next = next_generation(current, broke);
            if broke {
                // Before the generation moves: whoever sees it sees this.
                let n = word(&self.seg, BREAK_COUNT).fetch_add(1, Ordering::AcqRel) as usize;
                word(&self.seg, BREAK_RING + 4 * (n % BREAKS)).store(next >> HISTORY, Ordering::Release);
            }
            // The next round starts with no arrival, tagged before the
            // generation moves (arrivals wait for the two to agree). Only
            // a count of `current`'s round is cleared: one of the next
            // round's, there already, stays.
            let mut seen = arrivals.load(Ordering::Acquire);
            while seen >> TAG_SHIFT == round_tag(current) {
                match arrivals.compare_exchange(seen, round_tag(next) << TAG_SHIFT, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
            match generation.compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        sys::futex_wake(generation, i32::MAX);
        true
    }

    /// Makes a broken barrier usable again (waiters of the current round
    /// get [`Error::BrokenBarrier`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(1).unwrap();
    /// b.abort();
    /// b.reset();
    /// assert_eq!(b.wait().unwrap(), 0);
    /// ```
    pub fn reset(&self) {
        word(&self.seg, BROKEN).store(0, Ordering::Release);
        self.end_generation(None, true);
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<u32> {
        let parties = self.parties();
        let generation = word(&self.seg, GENERATION);
        let arrivals = word(&self.seg, ARRIVED);
        let timed_out = || deadline.is_some_and(|d| Instant::now() >= d);
        let (gen, arrived) = loop {
            if self.broken() {
                return Err(Error::BrokenBarrier);
            }
            let gen = generation.load(Ordering::Acquire);
            let seen = arrivals.load(Ordering::Acquire);
            if seen >> TAG_SHIFT != round_tag(gen) {
                // A round is ending between its two words: a moment.
                if timed_out() {
                    self.abort();
                    return Err(Error::BrokenBarrier);
                }
                std::thread::yield_now();
                continue;
            }
            if seen & COUNT_MASK >= parties {
                // Full: its last party runs the action. Wait for the
                // next round, counted in nowhere meanwhile.
                if !sys::futex_wait(generation, gen, deadline)
                    && timed_out()
                    && generation.load(Ordering::Acquire) == gen
                {
                    self.abort();
                    return Err(Error::BrokenBarrier);
                }
                continue;
            }
            if arrivals
                .compare_exchange(seen, seen + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                break (gen, (seen & COUNT_MASK) + 1);
            }
        };
        if arrived == parties {
            return self.trip(gen);
        }
        loop {
            let now = generation.load(Ordering::Acquire);
            if now != gen {
                // The event that ended *this* round decides, whatever
                // happened after it (an abort right after a pass).
                let breaks = std::array::from_fn(|i| word(&self.seg, BREAK_RING + 4 * i).load(Ordering::Acquire));
                return if first_event_broke(gen, now, breaks) {
                    Err(Error::BrokenBarrier)
                } else {
                    Ok(parties - arrived)
                };
            }
            if !sys::futex_wait(generation, gen, deadline) && timed_out() {
                if generation.load(Ordering::Acquire) != gen {
                    continue;
                }
                self.abort();
                return Err(Error::BrokenBarrier);
            }
        }
    }

    /// The last party of round `gen` arrived: runs the action, then ends
    /// the round as a pass and wakes the others.
    fn trip(&self, gen: u32) -> Result<u32> {
        // Not a round that an abort or a reset has ended already.
        if self.broken() || word(&self.seg, GENERATION).load(Ordering::Acquire) != gen {
            return Err(Error::BrokenBarrier);
        }
        if let Some(action) = &self.action {
            // As in Python, the action runs before any party is released.
            if let Err(e) = action.run() {
                // A failed action breaks the barrier: the others get
                // `BrokenBarrier`, this party the action's own failure.
                self.abort();
                return Err(e);
            }
        }
        // Unless an abort or a reset ended this round first.
        if self.end_generation(Some(gen), false) {
            Ok(0)
        } else {
            Err(Error::BrokenBarrier)
        }
    }

    /// Waits until every party has arrived; returns this party's index.
    /// A barrier built with a [`timeout`](BarrierBuilder::timeout) waits
    /// that long at most, as [`wait_timeout`](Barrier::wait_timeout) does.
    ///
    /// # Errors
    /// [`Error::BrokenBarrier`] when the barrier is or becomes broken (by
    /// the default timeout too); the action's failure, for the party that
    /// ran it (see [`BarrierBuilder::action`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::sync::Barrier::new(1).unwrap().wait().unwrap(), 0);
    /// ```
    pub fn wait(&self) -> Result<u32> {
        self.wait_until(self.timeout.and_then(crate::deadline::after))
    }

    /// Like [`wait`](Barrier::wait), breaking the barrier after `timeout`
    /// (instead of the barrier's default timeout, if it has one).
    ///
    /// # Errors
    /// [`Error::BrokenBarrier`], on timeout too; else as
    /// [`wait`](Barrier::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = multiproc::sync::Barrier::new(2).unwrap();
    /// let r = b.wait_timeout(std::time::Duration::from_millis(5));
    /// assert!(matches!(r, Err(multiproc::Error::BrokenBarrier)));
    /// assert!(b.broken());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32> {
        self.wait_until(crate::deadline::after(timeout))
    }
}

/// A barrier travels as its shared memory, its action's entry name and its
/// default timeout. One whose action is a closure does not travel: that
/// is a codec error, not a barrier that silently lost its action.
impl Serialize for Barrier {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let action = match &self.action {
            None => None,
            Some(Action::Entry(name)) => Some(name.as_str()),
            Some(Action::Closure(_)) => {
                return Err(serde::ser::Error::custom(
                    "a Barrier whose action is a closure cannot be sent to another process; \
                     give it a #[process_fn] action instead",
                ))
            }
        };
        (&*self.seg, action, self.timeout).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Barrier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (seg, action, timeout) = <(Segment, Option<String>, Option<Duration>)>::deserialize(d)?;
        if seg.region.len() < 64 {
            return Err(serde::de::Error::custom("a segment is too small"));
        }
        Ok(Barrier {
            seg: Arc::new(seg),
            action: action.map(Action::Entry),
            timeout,
        })
    }
}
