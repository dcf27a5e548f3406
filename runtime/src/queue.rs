//! The guide's `Queue`, `SimpleQueue` and `JoinableQueue`, across processes
//! and threads.
//!
//! Transport: a ring of variable-length records in a shared `memfd`
//! region. A record is an 8-byte header (a tag, a kind and the payload's
//! length) and the encoded item, padded to 8 bytes. Producers append at the
//! committed tail under one process-shared lock (the *put lock*),
//! consumers pop at the head under another (the *get lock*). A `put` or a
//! `get` of a small item makes no system call while the other side is
//! awake: a `u64` costs a lock, a 16-byte copy and an unlock on each side.
//!
//! Two locks, not one: with a single lock the producer and the consumer
//! take turns on the same cache line, and every turn is a cross-CPU
//! transfer (measured here, a child putting `u64`s to its parent: 5.2 M
//! items/s with one lock, 8–11 M with two). A producer writes only free
//! bytes and a consumer reads only committed ones, so the two sides never
//! touch the same record at once; they meet only in the committed tail and
//! head words (release/acquire). Each side also keeps its last look at the
//! other's word on its own line, and reads the other's only when that look
//! says "full" or "empty". Every access to the ring is an atomic word
//! access, so even a corrupt or hostile peer cannot cause a data race.
//!
//! Crash safety: the tail moves — in one store, with the count of items
//! put packed beside it — only after the whole record is written, and the
//! head only after the item is copied out *and decoded*: that store is the
//! last step of a `get` before it returns. A producer killed mid-`put`
//! leaves a record that was never committed; a consumer killed mid-`get`
//! before that store, small item or large, leaves the item in place (after
//! it, the item was taken). The next locker finds the holder's thread gone
//! (the lock word names it; see `sys/lock.rs`), takes the lock over, and
//! goes on: there is nothing to repair.
//!
//! Waiting: a `get` on an empty ring keeps looking for 50 µs (waking a
//! sleeper on the other CPU costs 40–80 µs here), once a microsecond (see
//! `pause`); then it sets a *want* flag and `poll`s a semaphore `eventfd`
//! (the *bell*). A producer rings the bell only when the flag is set, and
//! clears it: one system call per sleep, not one per put until the sleeper
//! is up. A woken consumer that leaves others asleep sets the flag again,
//! and a consumer that takes an item and sees more, with the flag set,
//! rings for them. Sleepers wake every 100 ms to look anyway, so even a
//! consumer killed between taking the ring and passing it on cannot leave
//! the others asleep for good; and since the flags are set by each sleeper
//! and cleared by its waker, a process killed asleep leaves at most one
//! needless ring behind, no cost per item. A `put` waiting for room (a
//! bounded queue at `maxsize`, or a full ring) spins the same way, then
//! sets its own flag and sleeps on a futex that the next consumer bumps,
//! waking every waiting producer. A lock still held at the deadline (its
//! holder stopped, say) is [`Error::Full`] for a `put`, [`Error::Empty`]
//! for a `get`.
//!
//! Liveness: one `SOCK_SEQPACKET` socket pair remains. Every handle that can
//! put holds the sending end; when every sending end is gone — `close()`d,
//! or its process dead, since the kernel closes a dead process's
//! descriptors — the receiving end reports `POLLHUP`, which the sleeping
//! `get` polls beside the bell. So a `get` on the empty queue whose every
//! writer has closed or died fails at once with [`Error::Disconnected`]
//! instead of waiting forever. `close()` waits for this process's puts in
//! flight, so none commits after it.
//!
//! Large items (over 64 KiB) travel in a `memfd` whose descriptor goes over
//! that socket (SCM_RIGHTS): the receiver maps it, so the bytes are copied
//! once. The producer seals it against writes and resizing before it
//! sends it, and the consumer maps only a memfd so sealed
//! (`sys::SealedBytes`): a hostile producer cannot change an item under
//! its reader, nor cut it short under the mapping. FIFO order with the ring holds because the ring carries a *marker*
//! record in the item's place: under the put lock the producer numbers the
//! item, sends `(number, length, memfd)` on the socket, and only then
//! commits the marker; the consumer that pops the marker receives from the
//! socket under the get lock, so consumers take the socket's messages in
//! marker order. The consumer *peeks* at the message (`MSG_PEEK`: a copy of
//! the memfd, the message left in place), decodes the item, commits, and
//! only then takes the message off the socket. A message whose number is
//! below the marker's was orphaned by a process killed between send and
//! commit (or between commit and taking it) and is dropped then — until
//! then it holds its memfd.
//!
//! Sizes: the ring holds 4 MiB (1 MiB and 256 KiB measured no faster;
//! 4 MiB holds 256 K small items, or 64 items of the 64 KiB inline limit).
//! An unbounded queue's `put` never fails for want of room, but it does
//! wait while the ring is full, until consumers drain it (`try_put` then
//! reports [`Error::Full`]). A large item takes only its 24-byte marker in
//! the ring.
//!
//! Bad bytes: a record whose header is not one the ring writes (wrong tag
//! or kind, a length out of range) is reported as [`Error::Codec`], and the
//! consumer drops everything committed up to then, so the queue works again
//! afterwards; an item whose bytes do not decode is an [`Error::Codec`] for
//! that item only.
//!
//! The region also holds the count of unfinished tasks of a
//! `JoinableQueue`.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec;
use crate::error::{Error, Result};
use crate::handoff::{TrackedFd, TravelFd};
use crate::sys;

/// Items up to this size go inline in the ring; larger ones in a memfd.
const INLINE_MAX: usize = 64 * 1024;
/// Bytes of ring: a power of two.
const RING_BYTES: usize = 4 << 20;
/// Kernel buffer asked for each way of the socket pair (large items).
const SOCKET_BUFFER: i32 = 4 << 20;
/// How long a `get` on an empty queue, or a `put` on a full one, keeps
/// looking before it sleeps.
const SPIN: Duration = Duration::from_micros(50);

// The shared region, by byte offset. Each side's words sit on cache lines
// of their own (128 bytes apart, past the adjacent-line prefetcher).
/// Producers' lock.
const PUT_LOCK: usize = 0;
/// Committed tail: items put (24 bits) above the byte position (40 bits).
const TAIL: usize = 128;
/// Number of the next large item (under the put lock).
const NEXT_SEQ: usize = 136;
/// The producers' last look at `HEAD` (under the put lock).
const SEEN_HEAD: usize = 144;
/// Consumers' lock.
const GET_LOCK: usize = 256;
/// Head: items taken (24 bits) above the byte position (40 bits).
const HEAD: usize = 384;
/// The consumers' last look at `TAIL` (under the get lock).
const SEEN_TAIL: usize = 392;
/// `u32`: consumers sleeping on the bell (a count that a consumer killed
/// asleep leaves too high: it only ever costs a needless ring).
const GET_SLEEPERS: usize = 512;
/// `u32`: 1 when a consumer going to sleep wants the next put to ring the
/// bell; the producer that rings it clears it.
const GET_WANT: usize = 516;
/// `u32`: 1 when a producer going to sleep wants the next get to bump
/// `SPACE`; the consumer that bumps it clears it.
const PUT_WANT: usize = 520;
/// `u32` futex: bumped when room appears and a producer wants to know.
const SPACE: usize = 524;
/// `u32`: unfinished tasks of a `JoinableQueue`.
const UNFINISHED: usize = 640;
/// `u64`: the ring's size in bytes, written once at creation.
const CAPACITY: usize = 768;
/// The ring itself.
const RING: usize = 4096;

const POS_BITS: u32 = 40;
const POS_MASK: u64 = (1 << POS_BITS) - 1;
const COUNT_MASK: u64 = (1 << (64 - POS_BITS)) - 1;

/// A record header: `TAG` in the top 16 bits, the kind, the payload length.
const TAG: u64 = 0x5155 << 48;
const KIND_INLINE: u64 = 0;
const KIND_MEMFD: u64 = 1 << 32;
/// The payload of a marker, and the socket message of a large item: its
/// number and its length, little-endian `u64`s.
const MARKER_LEN: usize = 16;

fn pos(word: u64) -> u64 {
    word & POS_MASK
}

fn count(word: u64) -> u64 {
    word >> POS_BITS
}

fn pack(count: u64, pos: u64) -> u64 {
    ((count & COUNT_MASK) << POS_BITS) | (pos & POS_MASK)
}

/// Bytes a record of `len` payload bytes takes in the ring.
fn record_bytes(len: usize) -> u64 {
    8 + (len as u64).div_ceil(8) * 8
}

/// Bytes committed between a head and a tail word.
fn used(tail: u64, head: u64) -> u64 {
    pos(tail).wrapping_sub(pos(head)) & POS_MASK
}

/// Busy-waits `GAP` from `now`; returns the time then.
///
/// A waiting consumer looks at the producers' `TAIL` line only once per
/// gap (a waiting producer at the consumers' `HEAD` likewise): each look
/// pulls the line to this CPU, and the other side's next store must fetch
/// it back. Letting a few items pile up between looks makes that one
/// cross-CPU transfer per batch, not per item — measured here, 5–6 M
/// items/s when looking back to back, 8–11 M with a 1 µs gap. The price
/// is up to 1 µs more latency for an item that finds a consumer spinning.
fn pause(now: Instant) -> Instant {
    const GAP: Duration = Duration::from_micros(1);
    let until = now + GAP;
    loop {
        std::hint::spin_loop();
        let now = Instant::now();
        if now >= until {
            return now;
        }
    }
}

/// Encodes an item, starting with room for a small one (growing the buffer
/// step by step costs more than the encoding of a number).
fn encode<T: Serialize>(item: &T) -> Result<Vec<u8>> {
    codec::encode_with_hint(item, std::mem::size_of::<T>().clamp(16, 256))
}

/// What one look at the ring found.
enum Popped<R> {
    /// An item, taken: what decoding it gave.
    Item(Result<R>),
    /// Nothing committed.
    Empty,
    /// The get lock stayed held past the deadline.
    Busy,
}

/// Maps a large item's memfd and decodes its first `len` bytes.
fn decode_memfd<R>(fd: OwnedFd, len: usize, decode: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    let bytes = sys::SealedBytes::map(fd).map_err(Error::io("mapping a queue item"))?;
    match bytes.get(..len) {
        Some(bytes) => decode(bytes),
        None => Err(Error::Codec(format!(
            "a queue item claims {len} bytes, its memfd holds {}",
            bytes.len()
        ))),
    }
}

thread_local! {
    /// Where a `get` copies an inline item before decoding it.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

struct Inner {
    /// This process's sending end; `None` after `close()`. A `put` holds it
    /// read-locked, so `close()` waits for the puts in flight.
    tx: RwLock<Option<TrackedFd>>,
    rx: TrackedFd,
    bell: TrackedFd,
    region: sys::SharedRegion,
    region_fd: TrackedFd,
    maxsize: u32,
    /// Ring bytes (a power of two).
    capacity: u64,
}

impl Inner {
    fn new(maxsize: u32) -> Result<Self> {
        let (tx, rx) = sys::seqpacket_pair().map_err(Error::io("creating a queue"))?;
        for end in [&tx, &rx] {
            sys::set_socket_buffers(end.as_fd(), SOCKET_BUFFER);
            sys::set_nonblocking(end.as_fd(), true).map_err(Error::io("fcntl"))?;
        }
        let bell = sys::eventfd_semaphore().map_err(Error::io("eventfd"))?;
        let region = sys::SharedRegion::new("multiproc-queue", RING + RING_BYTES).map_err(Error::io("memfd"))?;
        for lock in [PUT_LOCK, GET_LOCK] {
            region
                .init_mutex(lock, false)
                .map_err(Error::io("initializing a shared lock"))?;
        }
        region
            .atomic_u64(CAPACITY)
            .expect("the header fits the region")
            .store(RING_BYTES as u64, Ordering::Release);
        let region_fd = TrackedFd::new(region.fd().try_clone_to_owned().map_err(Error::io("dup"))?);
        Ok(Inner {
            tx: RwLock::new(Some(TrackedFd::new(tx))),
            rx: TrackedFd::new(rx),
            bell: TrackedFd::new(bell),
            region,
            region_fd,
            maxsize,
            capacity: RING_BYTES as u64,
        })
    }

    /// Checks the layout of a region received from another process;
    /// returns the ring's size.
    fn check_region(region: &sys::SharedRegion) -> std::result::Result<u64, &'static str> {
        let capacity = region
            .atomic_u64(CAPACITY)
            .ok_or("a queue's shared region is too small")?
            .load(Ordering::Acquire);
        if !capacity.is_power_of_two()
            || !(4096..=POS_MASK).contains(&capacity)
            || region.len() as u64 != RING as u64 + capacity
        {
            return Err("a queue's shared region has an unknown layout");
        }
        Ok(capacity)
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        self.region.atomic_u64(offset).expect("the header fits the region")
    }

    fn word32(&self, offset: usize) -> &AtomicU32 {
        self.region.atomic_u32(offset).expect("the header fits the region")
    }

    fn ring(&self) -> &[AtomicU64] {
        self.region
            .atomic_u64_slice(RING, (self.capacity / 8) as usize)
            .expect("the ring fits the region")
    }

    fn unfinished(&self) -> &AtomicU32 {
        self.word32(UNFINISHED)
    }

    /// Items committed and not yet taken.
    fn len(&self) -> u64 {
        let head = self.word(HEAD).load(Ordering::Acquire);
        let tail = self.word(TAIL).load(Ordering::Acquire);
        count(tail).wrapping_sub(count(head)) & COUNT_MASK
    }

    /// Locks the lock at `mutex`. A holder keeps it for a copy of a
    /// few bytes, so a few tries without sleeping come first (sleeping in
    /// the kernel costs a cross-CPU wake-up); then it waits until
    /// `deadline`. `None` when it is still held then. A dead holder needs
    /// no repair: see the module doc.
    fn lock(&self, mutex: usize, deadline: Option<Instant>) -> Result<Option<sys::MutexHeld<'_>>> {
        for round in 0..12 {
            match self
                .region
                .lock_mutex(mutex, None, true)
                .map_err(Error::io("locking a queue"))?
            {
                (_, Some(held)) => return Ok(Some(held)),
                (_, None) => (0..1 << round.min(7)).for_each(|_| std::hint::spin_loop()),
            }
        }
        let (_, held) = self
            .region
            .lock_mutex(mutex, deadline, false)
            .map_err(Error::io("locking a queue"))?;
        Ok(held)
    }

    /// Whether a record of `need` bytes fits between these tail and head
    /// words, within `maxsize`.
    fn fits(&self, tail: u64, head: u64, need: u64) -> bool {
        let used = used(tail, head);
        let items = count(tail).wrapping_sub(count(head)) & COUNT_MASK;
        used <= self.capacity && self.capacity - used >= need && (self.maxsize == 0 || items < u64::from(self.maxsize))
    }

    /// Writes `header` and `body` at ring position `at` (padding the last
    /// word with zeros).
    fn write_record(&self, at: u64, header: u64, body: &[u8]) {
        let ring = self.ring();
        let mask = ring.len() - 1;
        let first = (at / 8) as usize & mask;
        ring[first].store(header, Ordering::Relaxed);
        for (i, chunk) in body.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            ring[(first + 1 + i) & mask].store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
    }

    /// Copies `len` payload bytes of the record at ring position `at` into
    /// `out`.
    fn read_payload(&self, at: u64, len: usize, out: &mut Vec<u8>) {
        let ring = self.ring();
        let mask = ring.len() - 1;
        let first = (at / 8) as usize & mask;
        out.clear();
        out.reserve(len.div_ceil(8) * 8);
        for i in 0..len.div_ceil(8) {
            out.extend_from_slice(&ring[(first + 1 + i) & mask].load(Ordering::Relaxed).to_le_bytes());
        }
        out.truncate(len);
    }

    fn put(
        &self,
        item: &[u8],
        deadline: Option<Instant>,
        joinable: bool,
        stall: Option<&mut dyn FnMut()>,
    ) -> Result<()> {
        let tx = self.tx.read().unwrap_or_else(|p| p.into_inner());
        let tx = tx.as_ref().ok_or(Error::QueueClosed)?;
        let memfd = if item.len() > INLINE_MAX {
            Some(sys::sealed_memfd("multiproc-queue-item", item).map_err(Error::io("memfd"))?)
        } else {
            None
        };
        if joinable {
            self.unfinished().fetch_add(1, Ordering::AcqRel);
        }
        let body = match &memfd {
            None => Body::Inline(item),
            Some(fd) => Body::Memfd(fd.as_fd(), item.len()),
        };
        let put = self.put_record(tx.as_fd(), body, deadline, stall);
        if put.is_err() && joinable && self.unfinished().fetch_sub(1, Ordering::AcqRel) == 1 {
            sys::futex_wake(self.unfinished(), i32::MAX);
        }
        put
    }

    /// Appends a record with this header and bytes (a test hook).
    #[cfg(feature = "fuzzing")]
    fn put_raw(&self, header: u64, bytes: &[u8]) -> Result<()> {
        let tx = self.tx.read().unwrap_or_else(|p| p.into_inner());
        let tx = tx.as_ref().ok_or(Error::QueueClosed)?;
        self.put_record(tx.as_fd(), Body::Raw(header, bytes), None, None)
    }

    /// Appends one record, waiting for room until `deadline`.
    fn put_record(
        &self,
        tx: BorrowedFd<'_>,
        body: Body<'_>,
        deadline: Option<Instant>,
        mut stall: Option<&mut dyn FnMut()>,
    ) -> Result<()> {
        let need = record_bytes(match body {
            Body::Inline(bytes) => bytes.len(),
            #[cfg(feature = "fuzzing")]
            Body::Raw(_, bytes) => bytes.len(),
            Body::Memfd(..) => MARKER_LEN,
        });
        let mut spin_until = None;
        loop {
            let Some(held) = self.lock(PUT_LOCK, deadline)? else {
                return Err(Error::Full);
            };
            let tail = self.word(TAIL).load(Ordering::Relaxed);
            let mut head = self.word(SEEN_HEAD).load(Ordering::Relaxed);
            if !self.fits(tail, head, need) {
                head = self.word(HEAD).load(Ordering::Acquire);
                self.word(SEEN_HEAD).store(head, Ordering::Relaxed);
            }
            if self.fits(tail, head, need) {
                let marker;
                let (header, bytes) = match body {
                    Body::Inline(bytes) => (TAG | KIND_INLINE | bytes.len() as u64, bytes),
                    #[cfg(feature = "fuzzing")]
                    Body::Raw(header, bytes) => (header, bytes),
                    Body::Memfd(fd, len) => {
                        let seq = self.word(NEXT_SEQ).load(Ordering::Relaxed);
                        self.word(NEXT_SEQ).store(seq.wrapping_add(1), Ordering::Relaxed);
                        let mut m = [0u8; MARKER_LEN];
                        m[..8].copy_from_slice(&seq.to_le_bytes());
                        m[8..].copy_from_slice(&(len as u64).to_le_bytes());
                        marker = m;
                        match sys::send_message(tx, &marker, &[fd]) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                // The socket is full of large items: wait
                                // for consumers without holding the lock.
                                drop(held);
                                let ready = sys::poll(&[(tx, libc::POLLOUT)], deadline).map_err(Error::io("poll"))?;
                                if ready[0] == 0 {
                                    return Err(Error::Full);
                                }
                                continue;
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                                return Err(Error::Disconnected { partial: false })
                            }
                            Err(e) => return Err(Error::io("putting on a queue")(e)),
                        }
                        (TAG | KIND_MEMFD | MARKER_LEN as u64, &marker[..])
                    }
                };
                self.write_record(pos(tail), header, bytes);
                if let Some(stall) = stall.as_mut() {
                    stall();
                }
                // The commit: one store, after the whole record.
                self.word(TAIL)
                    .store(pack(count(tail) + 1, pos(tail) + need), Ordering::Release);
                drop(held);
                self.ring_bell();
                return Ok(());
            }
            drop(held);
            self.wait_for_room(need, deadline, &mut spin_until)?;
        }
    }

    /// Waits a while for room for `need` bytes: spins until `spin_until`,
    /// then sleeps (until woken, or `deadline`: then [`Error::Full`]). The
    /// caller looks again under the lock.
    fn wait_for_room(&self, need: u64, deadline: Option<Instant>, spin_until: &mut Option<Instant>) -> Result<()> {
        let room = || {
            let head = self.word(HEAD).load(Ordering::Acquire);
            self.fits(self.word(TAIL).load(Ordering::Acquire), head, need)
        };
        let mut now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(Error::Full);
        }
        let spin_until = *spin_until.get_or_insert(now + SPIN);
        while now < spin_until && deadline.is_none_or(|d| now < d) {
            if room() {
                return Ok(());
            }
            now = pause(now);
        }
        if room() {
            return Ok(());
        }
        // Every waiting producer sets the flag before it looks a last
        // time; the consumer that clears it wakes them all, and those still
        // short of room set it again.
        let space = self.word32(SPACE);
        self.word32(PUT_WANT).store(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let seen = space.load(Ordering::Acquire);
        if !room() {
            sys::futex_wait(space, seen, deadline);
        }
        Ok(())
    }

    /// Takes one item, waiting until `deadline`, and hands its bytes to
    /// `decode`.
    fn get<R>(
        &self,
        deadline: Option<Instant>,
        mut stall: Option<(bool, &mut dyn FnMut())>,
        decode: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<R> {
        let mut spin_until = None;
        let mut scratch = SCRATCH.with(Cell::take);
        let mut decode = Some(decode);
        let result = loop {
            match self.pop(deadline, &mut scratch, &mut stall, &mut decode) {
                Ok(Popped::Empty) => {}
                Ok(Popped::Busy) => break Err(Error::Empty),
                Ok(Popped::Item(item)) => break item,
                Err(e) => break Err(e),
            }
            if let Err(e) = self.wait_for_item(deadline, &mut spin_until) {
                break Err(e);
            }
        };
        if scratch.capacity() <= 2 * INLINE_MAX {
            SCRATCH.with(|s| s.set(scratch));
        }
        result
    }

    /// Whether anything is committed and not taken.
    fn has_items(&self) -> bool {
        pos(self.word(TAIL).load(Ordering::Acquire)) != pos(self.word(HEAD).load(Ordering::Acquire))
    }

    /// Whether every sending end is closed (the receiving end hangs up).
    fn writers_gone(&self) -> Result<bool> {
        let ready = sys::poll(&[(self.rx.as_fd(), 0)], Some(Instant::now())).map_err(Error::io("poll"))?;
        Ok(ready[0] & (libc::POLLHUP | libc::POLLERR) != 0)
    }

    /// Waits a while for an item: spins until `spin_until`, then sleeps on
    /// the bell. Fails with [`Error::Empty`] at `deadline`, and with
    /// [`Error::Disconnected`] when the ring is empty and every writer gone.
    /// The caller looks again under the lock.
    fn wait_for_item(&self, deadline: Option<Instant>, spin_until: &mut Option<Instant>) -> Result<()> {
        let mut now = Instant::now();
        let spin_until = *spin_until.get_or_insert(now + SPIN);
        while now < spin_until && deadline.is_none_or(|d| now < d) {
            if self.has_items() {
                return Ok(());
            }
            now = pause(now);
        }
        if deadline.is_some_and(|d| now >= d) {
            // Look at the writers first: anything they committed before
            // closing is then visible.
            let gone = self.writers_gone()?;
            return if self.has_items() {
                Ok(())
            } else if gone {
                Err(Error::Disconnected { partial: false })
            } else {
                Err(Error::Empty)
            };
        }
        if self.has_items() {
            // (Preempted while spinning, most likely: no need to sleep.)
            return Ok(());
        }
        let sleepers = self.word32(GET_SLEEPERS);
        let want = self.word32(GET_WANT);
        sleepers.fetch_add(1, Ordering::SeqCst);
        want.store(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let mut rung = false;
        let slept = if self.has_items() {
            Ok(())
        } else {
            // In slices: should a consumer die between taking the bell's
            // ring and passing it on, nothing would ring it again.
            const SLICE: Duration = Duration::from_millis(100);
            let slice_end = Instant::now() + SLICE;
            let until = deadline.map_or(slice_end, |d| d.min(slice_end));
            sys::poll(&[(self.bell.as_fd(), sys::POLLIN), (self.rx.as_fd(), 0)], Some(until))
                .map_err(Error::io("poll"))
                .map(|ready| {
                    // Take the ring (another sleeper may have taken it
                    // already: `WouldBlock`, fine).
                    rung = ready[0] != 0 && sys::read(self.bell.as_fd(), &mut [0u8; 8]).is_ok();
                    ready[1] & (libc::POLLHUP | libc::POLLERR) != 0
                })
                .and_then(|hung_up| {
                    if hung_up && !self.has_items() {
                        Err(Error::Disconnected { partial: false })
                    } else {
                        Ok(())
                    }
                })
        };
        if sleepers.fetch_sub(1, Ordering::SeqCst) > 1 && rung {
            // Others sleep on: the next put (or, if one came since the
            // ring, the next get — see `wake_after_pop`) rings for them.
            want.store(1, Ordering::SeqCst);
        }
        slept
    }

    /// Pops the head record, if any, under the get lock, and decodes it
    /// *before* the commit: an inline item from its copy in `scratch`, a
    /// large one from its memfd, peeked off the socket (the message stays
    /// there until after the commit). So a consumer killed anywhere before
    /// the commit — the last step before `get` returns — leaves the item in
    /// place, whatever its size.
    fn pop<R>(
        &self,
        deadline: Option<Instant>,
        scratch: &mut Vec<u8>,
        stall: &mut Option<(bool, &mut dyn FnMut())>,
        decode: &mut Option<impl FnOnce(&[u8]) -> Result<R>>,
    ) -> Result<Popped<R>> {
        // `SEEN_TAIL` first: reading `TAIL`, the producers' line, on every
        // get would pull it away from them on every put.
        let head = pos(self.word(HEAD).load(Ordering::Relaxed));
        if pos(self.word(SEEN_TAIL).load(Ordering::Relaxed)) == head && !self.has_items() {
            return Ok(Popped::Empty);
        }
        let Some(held) = self.lock(GET_LOCK, deadline)? else {
            return Ok(Popped::Busy);
        };
        let head = self.word(HEAD).load(Ordering::Relaxed);
        let mut tail = self.word(SEEN_TAIL).load(Ordering::Relaxed);
        if pos(tail) == pos(head) {
            tail = self.word(TAIL).load(Ordering::Acquire);
            self.word(SEEN_TAIL).store(tail, Ordering::Relaxed);
        }
        let avail = used(tail, head);
        if avail == 0 {
            return Ok(Popped::Empty);
        }
        let at = pos(head);
        let header = self.ring()[(at / 8) as usize & (self.ring().len() - 1)].load(Ordering::Relaxed);
        let len = (header & 0xffff_ffff) as usize;
        let kind = header & !(TAG | 0xffff_ffff);
        let size = record_bytes(len);
        let well_formed = avail <= self.capacity
            && header & (0xffff << 48) == TAG
            && size <= avail
            && match kind {
                KIND_INLINE => len <= INLINE_MAX,
                KIND_MEMFD => len == MARKER_LEN,
                _ => false,
            };
        if !well_formed {
            // Nothing after a bad header can be trusted to be a record:
            // drop what is committed, so that the queue works again.
            let dropped = count(tail).wrapping_sub(count(head)) & COUNT_MASK;
            self.word(HEAD).store(tail, Ordering::Release);
            drop(held);
            self.wake_after_pop();
            return Err(Error::Codec(format!(
                "a corrupt record in a queue's ring (header {header:#018x}); its {dropped} item(s) were dropped"
            )));
        }
        self.read_payload(at, len, scratch);
        let decode = decode.take().expect("one item per get");
        let (item, peeked) = if kind == KIND_MEMFD {
            let seq = u64::from_le_bytes(scratch[..8].try_into().expect("16 bytes"));
            let len = u64::from_le_bytes(scratch[8..].try_into().expect("16 bytes"));
            match self.peek_memfd(seq, len) {
                Ok(fd) => (decode_memfd(fd, len as usize, decode), true),
                Err(e) => (Err(e), false),
            }
        } else {
            (decode(scratch), false)
        };
        if let Some((false, stall)) = stall.as_mut() {
            stall();
        }
        // The commit: one store, after the decoding.
        self.word(HEAD)
            .store(pack(count(head) + 1, at + size), Ordering::Release);
        if let Some((true, stall)) = stall.as_mut() {
            stall();
        }
        if peeked {
            // Its message leaves the socket now; killed before this, the
            // message is an orphan that the next large get drops.
            let _ = sys::recv_with_fds(self.rx.as_fd(), &mut [0u8; MARKER_LEN + 1]);
        }
        drop(held);
        self.wake_after_pop();
        Ok(Popped::Item(item))
    }

    /// Peeks at the socket message of large item number `seq` (under the
    /// get lock) and returns a copy of its memfd, leaving the message in
    /// place; drops the orphans of killed processes before it.
    fn peek_memfd(&self, seq: u64, len: u64) -> Result<OwnedFd> {
        let missing = || Error::Codec(format!("the memfd of large queue item #{seq} is missing"));
        loop {
            let mut buf = [0u8; MARKER_LEN + 1];
            let (n, mut fds) = match sys::peek_with_fds(self.rx.as_fd(), &mut buf) {
                Ok((0, _)) => return Err(missing()),
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Err(missing()),
                Err(e) => return Err(Error::io("getting from a queue")(e)),
            };
            let number = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
            let sent_len = u64::from_le_bytes(buf[8..MARKER_LEN].try_into().expect("8 bytes"));
            match (fds.pop(), fds.is_empty() && n == MARKER_LEN) {
                (Some(fd), true) if number == seq && sent_len == len => return Ok(fd),
                // A later item's: this one's is gone. Leave it for its own.
                (Some(_), true) if number > seq => return Err(missing()),
                // An orphan, or not a message this ring sends: drop it.
                _ => {
                    let _ = sys::recv_with_fds(self.rx.as_fd(), &mut buf);
                }
            }
        }
    }

    /// After a pop: wakes the producers waiting for room, if one asked;
    /// and rings the bell when a consumer wants it and items remain (items
    /// put before it asked rang nothing).
    fn wake_after_pop(&self) {
        fence(Ordering::SeqCst);
        let put_want = self.word32(PUT_WANT);
        if put_want.load(Ordering::Relaxed) == 1 && put_want.swap(0, Ordering::AcqRel) == 1 {
            let space = self.word32(SPACE);
            space.fetch_add(1, Ordering::Release);
            sys::futex_wake(space, i32::MAX);
        }
        if self.word32(GET_WANT).load(Ordering::Relaxed) == 1 && self.has_items() {
            self.ring_bell();
        }
    }

    /// Wakes a sleeping consumer after a commit, if one asked: one ring per
    /// request, so a producer makes one system call per sleep, not one per
    /// put until the sleeper is up.
    fn ring_bell(&self) {
        fence(Ordering::SeqCst);
        let want = self.word32(GET_WANT);
        if want.load(Ordering::Relaxed) == 1 && want.swap(0, Ordering::AcqRel) == 1 {
            sys::eventfd_post(self.bell.as_fd());
        }
    }
}

/// What a `put` appends.
#[derive(Clone, Copy)]
enum Body<'a> {
    /// An item's bytes, inline.
    Inline(&'a [u8]),
    /// A large item in a memfd, and its length.
    Memfd(BorrowedFd<'a>, usize),
    /// A header and bytes as given (a test hook writes bad records).
    #[cfg(feature = "fuzzing")]
    Raw(u64, &'a [u8]),
}

/// What a process queue's `put` takes: an item (`q.put(x)`, as on the
/// thread twin) or a reference to one (`q.put(&x)`, which keeps it for the
/// caller). Either way the item is only encoded. Sealed: the two impls are
/// all there is, so `q.put(x)` alone tells the compiler the queue's type.
///
/// # Examples
///
/// ```
/// # fn main() -> multiproc::Result<()> {
/// let q = multiproc::queue::Queue::unbounded()?; // `Queue<u32>`, from the put
/// q.put(5u32)?;
/// q.put(&6)?;
/// assert_eq!((q.get()?, q.get()?), (5, 6));
/// # Ok(())
/// # }
/// ```
pub trait PutItem<T>: sealed::Sealed<T> {
    /// The item.
    fn as_item(&self) -> &T;
}

impl<T> PutItem<T> for T {
    fn as_item(&self) -> &T {
        self
    }
}

impl<T> PutItem<T> for &T {
    fn as_item(&self) -> &T {
        self
    }
}

mod sealed {
    pub trait Sealed<T> {}
    impl<T> Sealed<T> for T {}
    impl<T> Sealed<T> for &T {}
}

/// Why a `try_put` or `put_timeout` did not put its item — with the item,
/// given back (as crossbeam's `TrySendError` does), for the process queues
/// and their [thread twins](crate::thread::Queue) alike. `?` turns it into
/// [`Error::Full`], [`Error::QueueClosed`] or the failure, dropping the
/// item.
///
/// A thread queue takes the item and gives it back here; a process queue
/// takes whatever it was given — the item, or a reference to it, since it
/// only encodes it — and gives that back.
///
/// # Examples
///
/// ```
/// use multiproc::queue::PutError;
///
/// # fn main() -> multiproc::Result<()> {
/// let q = multiproc::thread::Queue::bounded(1)?;
/// q.put(String::from("first"))?;
/// match q.try_put(String::from("second")) {
///     Err(PutError::Full(back)) => assert_eq!(back, "second"), // not lost
///     other => panic!("{other:?}"),
/// }
/// // The same on a process queue, whether given the item or a reference.
/// let p = multiproc::queue::Queue::bounded(1)?;
/// p.put(String::from("first"))?;
/// assert!(matches!(p.try_put(String::from("second")), Err(PutError::Full(back)) if back == "second"));
/// // Where only the error matters, `?` makes it a `multiproc::Error`.
/// fn put_now(q: &multiproc::thread::Queue<u8>) -> multiproc::Result<()> {
///     q.try_put(7)?;
///     Ok(())
/// }
/// let small = multiproc::thread::Queue::bounded(1)?;
/// put_now(&small)?;
/// assert!(matches!(put_now(&small), Err(multiproc::Error::Full)));
/// # Ok(())
/// # }
/// ```
pub enum PutError<T> {
    /// No room now, or none came in time: Python's `queue.Full`
    /// ([`Error::Full`]).
    Full(T),
    /// This handle was closed ([`Error::QueueClosed`]).
    Closed(T),
    /// The item could not be sent: it did not encode ([`Error::Codec`]), or
    /// the queue's channel failed ([`Error::Io`]). Process queues only.
    Failed(T, Error),
}

impl<T> PutError<T> {
    /// `item` was not put because of `e`.
    pub(crate) fn new(item: T, e: Error) -> Self {
        match e {
            Error::Full => PutError::Full(item),
            Error::QueueClosed => PutError::Closed(item),
            e => PutError::Failed(item, e),
        }
    }

    /// The item that was not put.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::bounded(1)?;
    /// q.put(vec![1])?;
    /// let back = q.try_put(vec![2]).unwrap_err().into_inner();
    /// assert_eq!(back, [2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(item) | PutError::Closed(item) | PutError::Failed(item, _) => item,
        }
    }

    /// Whether the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::bounded(1)?;
    /// q.put(1)?;
    /// assert!(q.try_put(2).unwrap_err().is_full());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether the handle was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::thread::Queue::unbounded()?;
    /// q.close();
    /// assert!(q.try_put(1).unwrap_err().is_closed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, PutError::Closed(_))
    }

    /// The [`Error`] this is, without the item.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.put(1)?;
    /// assert!(matches!(q.try_put(2).unwrap_err().into_error(), multiproc::Error::Full));
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_error(self) -> Error {
        match self {
            PutError::Full(_) => Error::Full,
            PutError::Closed(_) => Error::QueueClosed,
            PutError::Failed(_, e) => e,
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::Closed(_) => f.write_str("Closed(..)"),
            PutError::Failed(_, e) => f.debug_tuple("Failed").field(&format_args!("..")).field(e).finish(),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => fmt::Display::fmt(&Error::Full, f),
            PutError::Closed(_) => fmt::Display::fmt(&Error::QueueClosed, f),
            PutError::Failed(_, e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<T> std::error::Error for PutError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PutError::Failed(_, e) => Some(e),
            _ => None,
        }
    }
}

/// So that `q.try_put(x)?` works in a function that returns
/// [`multiproc::Result`](crate::Result): the item is dropped.
///
/// # Examples
///
/// ```
/// let q = multiproc::thread::Queue::<u8>::bounded(1).unwrap();
/// q.put(1).unwrap();
/// let e: multiproc::Error = q.try_put(2).unwrap_err().into();
/// assert!(matches!(e, multiproc::Error::Full));
/// ```
impl<T> From<PutError<T>> for Error {
    fn from(e: PutError<T>) -> Error {
        e.into_error()
    }
}

/// A multi-producer, multi-consumer queue of `T` between processes and
/// threads — the guide's `multiprocessing.Queue`.
///
/// Cloning gives another handle to the same queue in this process; passing
/// it as an argument of a `#[process_fn]` gives one to a child.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::queue::Queue;
///
/// #[process_fn]
/// fn producer(q: Queue<String>) {
///     for word in ["A", "B", "C"] {
///         q.put(word.to_string()).unwrap();
///     }
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let q = Queue::<String>::unbounded()?;
/// let mut p = Process::builder().start(producer, (q.clone(),))?;
/// let got: Vec<String> = (0..3).map(|_| q.get()).collect::<Result<_, _>>()?;
/// assert_eq!(got, ["A", "B", "C"]);
/// p.join()?;
/// # Ok(())
/// # }
/// ```
pub struct Queue<T> {
    inner: Arc<Inner>,
    joinable: bool,
    _items: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            inner: self.inner.clone(),
            joinable: self.joinable,
            _items: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("maxsize", &self.inner.maxsize)
            .field("qsize", &self.inner.len())
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    fn with_max(maxsize: u32, joinable: bool) -> Result<Self> {
        Ok(Queue {
            inner: Arc::new(Inner::new(maxsize)?),
            joinable,
            _items: PhantomData,
        })
    }

    /// A queue that holds at most `maxsize` items (`Queue(maxsize)`); a
    /// `put` on a full queue waits.
    ///
    /// # Errors
    /// [`Error::Usage`] for `maxsize == 0` (use [`unbounded`](Queue::unbounded));
    /// [`Error::Io`] when the sockets cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::bounded(1)?;
    /// q.put(1)?;
    /// assert!(q.is_full());
    /// assert!(matches!(q.try_put(2), Err(multiproc::queue::PutError::Full(2))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Self> {
        if maxsize == 0 {
            return Err(Error::Usage("a bounded queue needs maxsize ≥ 1".into()));
        }
        Self::with_max(u32::try_from(maxsize).unwrap_or(u32::MAX), false)
    }

    /// A queue without a size limit (`Queue()`).
    ///
    /// # Errors
    /// [`Error::Io`] when the sockets cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<String>::unbounded()?;
    /// q.put("x".to_string())?;
    /// assert_eq!(q.get()?, "x");
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Self::with_max(0, false)
    }

    fn put_deadline<B: PutItem<T>>(&self, item: B, deadline: Option<Instant>) -> std::result::Result<(), PutError<B>> {
        let bytes = match encode(item.as_item()) {
            Ok(bytes) => bytes,
            Err(e) => return Err(PutError::Failed(item, e)),
        };
        self.inner
            .put(&bytes, deadline, self.joinable, None)
            .map_err(|e| PutError::new(item, e))
    }

    /// Puts an item, waiting for room in a bounded queue. It takes the item
    /// or a reference to it (`q.put(x)` or `q.put(&x)`): the item is only
    /// encoded, so a reference keeps it for the caller.
    ///
    /// # Errors
    /// [`Error::QueueClosed`] after [`close`](Queue::close);
    /// [`Error::Codec`]; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::unbounded()?;
    /// q.put(vec![1, 2, 3])?;
    /// let kept = vec![4];
    /// q.put(&kept)?;
    /// assert_eq!(q.get()?, vec![1, 2, 3]);
    /// assert_eq!(q.get()?, kept);
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: impl PutItem<T>) -> Result<()> {
        self.put_deadline(item, None).map_err(Error::from)
    }

    /// Puts an item, waiting at most `timeout` for room. A put that fails
    /// gives back what it was given, as the thread queue's does.
    ///
    /// # Errors
    /// [`PutError::Full`] once the time is up, [`PutError::Closed`] after
    /// [`close`](Queue::close), [`PutError::Failed`] with
    /// [`Error::Codec`] or [`Error::Io`]; `?` makes each an
    /// [`Error`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// use multiproc::queue::PutError;
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.put(1)?;
    /// let r = q.put_timeout(2, std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(PutError::Full(2))));
    /// assert_eq!(q.get()?, 1);
    /// q.put(2)?;
    /// assert_eq!(q.get()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_timeout<B: PutItem<T>>(&self, item: B, timeout: Duration) -> std::result::Result<(), PutError<B>> {
        self.put_deadline(item, crate::deadline::after(timeout))
    }

    /// Puts an item only if there is room now (`put_nowait`), giving it back
    /// otherwise, as [`put_timeout`](Queue::put_timeout).
    ///
    /// # Errors
    /// As [`put_timeout`](Queue::put_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::bounded(1)?;
    /// q.try_put(1)?;
    /// assert_eq!(q.try_put(2).unwrap_err().into_inner(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_put<B: PutItem<T>>(&self, item: B) -> std::result::Result<(), PutError<B>> {
        self.put_deadline(item, Some(Instant::now()))
    }

    fn get_deadline(&self, deadline: Option<Instant>) -> Result<T> {
        self.inner.get(deadline, None, codec::decode)
    }

    /// Takes an item, waiting as long as it takes — unless every sending
    /// end is gone.
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the queue is empty and every handle that
    /// could put has closed or died; [`Error::Codec`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// q.put(7)?;
    /// q.close(); // this handle puts no more, and it was the only one
    /// assert_eq!(q.get()?, 7);
    /// assert!(matches!(q.get(), Err(multiproc::Error::Disconnected { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self) -> Result<T> {
        self.get_deadline(None)
    }

    /// Takes an item, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Empty`] once the time is up; else as [`get`](Queue::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// let r = q.get_timeout(std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Empty)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.get_deadline(crate::deadline::after(timeout))
    }

    /// Takes an item only if one is there now (`get_nowait`).
    ///
    /// # Errors
    /// [`Error::Empty`]; else as [`get`](Queue::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// assert!(matches!(q.try_get(), Err(multiproc::Error::Empty)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_get(&self) -> Result<T> {
        self.get_deadline(Some(Instant::now()))
    }

    /// The number of items in the queue. Approximate, as in Python: other
    /// processes put and get while you look.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::unbounded()?;
    /// q.put(1)?;
    /// q.put(2)?;
    /// assert_eq!(q.qsize(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn qsize(&self) -> usize {
        self.inner.len() as usize
    }

    /// Whether the queue is empty (approximate, like [`qsize`](Queue::qsize)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(multiproc::queue::Queue::<u8>::unbounded()?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether a bounded queue is full (approximate; never for unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// assert!(!multiproc::queue::Queue::<u8>::bounded(2)?.is_full());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        self.inner.maxsize > 0 && self.qsize() >= self.inner.maxsize as usize
    }

    /// Test hook, not API: a [`put`](Queue::put) that calls `stall` while it
    /// holds the put lock, the record written but not yet committed (and
    /// commits it if `stall` returns) — to kill a producer mid-`put`.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn test_put_stalling(&self, item: &T, stall: impl FnOnce()) -> Result<()> {
        let mut stall = Some(stall);
        let mut call = || stall.take().map_or((), |f| f());
        self.inner.put(&encode(item)?, None, self.joinable, Some(&mut call))
    }

    /// Test hook, not API: a [`get`](Queue::get) that calls `stall` while
    /// it holds the get lock, the item copied out but not yet taken (or,
    /// `after_commit`, taken but a large item's memfd not yet received) —
    /// to kill a consumer mid-`get`.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn test_get_stalling(&self, after_commit: bool, stall: impl FnOnce()) -> Result<T> {
        let mut stall = Some(stall);
        let mut call = || stall.take().map_or((), |f| f());
        self.inner.get(None, Some((after_commit, &mut call)), codec::decode)
    }

    /// Test hook, not API: appends a ring record whose header claims
    /// `claimed_len` payload bytes, followed by `bytes` — bad bytes for a
    /// consumer to refuse.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn test_put_raw_record(&self, claimed_len: u32, bytes: &[u8]) -> Result<()> {
        self.inner.put_raw(TAG | KIND_INLINE | u64::from(claimed_len), bytes)
    }
}

impl<T> Queue<T> {
    /// This process will put no more items through this queue (every
    /// handle of it in this process): `put` then fails with
    /// [`Error::QueueClosed`]; `get` keeps working.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::Queue::<u8>::unbounded()?;
    /// q.close();
    /// assert!(matches!(q.put(1), Err(multiproc::Error::QueueClosed)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.inner.tx.write().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// A [`Queue`] that also counts unfinished tasks — the guide's
/// `JoinableQueue`: each `put` adds a task, each [`task_done`] finishes
/// one, and [`join`] waits until all are done.
///
/// [`task_done`]: JoinableQueue::task_done
/// [`join`]: JoinableQueue::join
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::queue::JoinableQueue;
///
/// #[process_fn]
/// fn consumer(q: JoinableQueue<u32>) {
///     while let Ok(item) = q.get() {
///         let _ = item * 2;
///         q.task_done().unwrap();
///     }
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let q = JoinableQueue::unbounded()?;
/// let worker = Process::builder().daemon(true).start(consumer, (q.clone(),))?;
/// for i in 0..10 {
///     q.put(i)?;
/// }
/// q.join_timeout(std::time::Duration::from_secs(60))?; // every item done
/// worker.kill()?;
/// # Ok(())
/// # }
/// ```
pub struct JoinableQueue<T>(Queue<T>);

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue(self.0.clone())
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableQueue").field(&self.0).finish()
    }
}

impl<T> std::ops::Deref for JoinableQueue<T> {
    type Target = Queue<T>;

    fn deref(&self) -> &Queue<T> {
        &self.0
    }
}

impl<T: Serialize + DeserializeOwned> JoinableQueue<T> {
    /// A joinable queue of at most `maxsize` items.
    ///
    /// # Errors
    /// As [`Queue::bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::bounded(4)?;
    /// # drop(q);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Self> {
        let Queue { inner, .. } = Queue::<T>::bounded(maxsize)?;
        Ok(JoinableQueue(Queue {
            inner,
            joinable: true,
            _items: PhantomData,
        }))
    }

    /// A joinable queue without a size limit.
    ///
    /// # Errors
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.put(1)?;
    /// q.get()?;
    /// q.task_done()?;
    /// q.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Result<Self> {
        Ok(JoinableQueue(Queue::with_max(0, true)?))
    }

    /// Marks one task finished (the guide's `task_done()`).
    ///
    /// # Errors
    /// [`Error::Usage`] when called more times than items were put (the
    /// guide's `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// assert!(q.task_done().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn task_done(&self) -> Result<()> {
        let unfinished = self.0.inner.unfinished();
        let mut u = unfinished.load(Ordering::Acquire);
        loop {
            if u == 0 {
                return Err(Error::Usage("task_done() called more times than items were put".into()));
            }
            match unfinished.compare_exchange(u, u - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => u = now,
            }
        }
        if u == 1 {
            sys::futex_wake(unfinished, i32::MAX);
        }
        Ok(())
    }

    fn join_deadline(&self, deadline: Option<Instant>) -> bool {
        let unfinished = self.0.inner.unfinished();
        loop {
            let u = unfinished.load(Ordering::Acquire);
            if u == 0 {
                return true;
            }
            if !sys::futex_wait(unfinished, u, deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
        }
    }

    /// Waits until every item put has been marked done (the guide's
    /// `join()`).
    ///
    /// # Errors
    /// None today; the `Result` leaves room for a dead-peer report.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.join()?; // nothing was put
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&self) -> Result<()> {
        self.join_deadline(None);
        Ok(())
    }

    /// Like [`join`](JoinableQueue::join), giving up after `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] when tasks are still unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> multiproc::Result<()> {
    /// let q = multiproc::queue::JoinableQueue::<u8>::unbounded()?;
    /// q.put(1)?;
    /// let r = q.join_timeout(std::time::Duration::from_millis(10));
    /// assert!(matches!(r, Err(multiproc::Error::Timeout(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        if self.join_deadline(crate::deadline::after(timeout)) {
            Ok(())
        } else {
            Err(Error::Timeout(timeout))
        }
    }
}

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

/// What travels to a child: the descriptors (the sending end only if this
/// handle still has it) and the settings.
#[derive(Serialize)]
struct WireRef<'a> {
    #[serde(serialize_with = "serialize_opt_fd")]
    tx: Option<BorrowedFd<'a>>,
    #[serde(serialize_with = "crate::handoff::serialize_fd")]
    rx: BorrowedFd<'a>,
    #[serde(serialize_with = "crate::handoff::serialize_fd")]
    bell: BorrowedFd<'a>,
    #[serde(serialize_with = "crate::handoff::serialize_fd")]
    region: BorrowedFd<'a>,
    maxsize: u32,
    joinable: bool,
}

#[derive(Deserialize)]
struct Wire {
    tx: Option<TravelFd>,
    rx: TravelFd,
    bell: TravelFd,
    region: TravelFd,
    maxsize: u32,
    joinable: bool,
}

fn serialize_opt_fd<S: Serializer>(fd: &Option<BorrowedFd<'_>>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match fd {
        None => s.serialize_none(),
        Some(fd) => s.serialize_some(&FdRef(*fd)),
    }
}

struct FdRef<'a>(BorrowedFd<'a>);

impl Serialize for FdRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        crate::handoff::serialize_fd(&self.0, s)
    }
}

impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let tx = self.inner.tx.read().unwrap_or_else(|p| p.into_inner());
        WireRef {
            tx: tx.as_ref().map(AsFd::as_fd),
            rx: self.inner.rx.as_fd(),
            bell: self.inner.bell.as_fd(),
            region: self.inner.region_fd.as_fd(),
            maxsize: self.inner.maxsize,
            joinable: self.joinable,
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let region_fd = wire.region.0;
        let region = sys::SharedRegion::map(region_fd.try_clone().map_err(serde::de::Error::custom)?)
            .map_err(serde::de::Error::custom)?;
        let capacity = Inner::check_region(&region).map_err(serde::de::Error::custom)?;
        Ok(Queue {
            inner: Arc::new(Inner {
                tx: RwLock::new(wire.tx.map(|fd| TrackedFd::new(fd.0))),
                rx: TrackedFd::new(wire.rx.0),
                bell: TrackedFd::new(wire.bell.0),
                region,
                region_fd: TrackedFd::new(region_fd),
                maxsize: wire.maxsize,
                capacity,
            }),
            joinable: wire.joinable,
            _items: PhantomData,
        })
    }
}

impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Queue::deserialize(deserializer).map(JoinableQueue)
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
