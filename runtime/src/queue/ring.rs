//! The ring: the shared region's layout, the two locks, and `Inner`,
//! which puts and gets records (and large items as memfds) for every
//! kind of queue.

use std::cell::Cell;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::codec;
use crate::error::{Error, Result};
use crate::handoff::TrackedFd;
use crate::sys;

/// Items up to this size go inline in the ring; larger ones in a memfd.
pub(super) const INLINE_MAX: usize = 64 * 1024;
/// Bytes of ring: a power of two.
pub(super) const RING_BYTES: usize = 4 << 20;
/// Kernel buffer asked for each way of the socket pair (large items).
pub(super) const SOCKET_BUFFER: i32 = 4 << 20;
/// How long a `get` on an empty queue, or a `put` on a full one, keeps
/// looking before it sleeps.
pub(super) const SPIN: Duration = Duration::from_micros(50);

// The shared region, by byte offset. Each side's words sit on cache lines
// of their own (128 bytes apart, past the adjacent-line prefetcher).
/// Producers' lock.
pub(super) const PUT_LOCK: usize = 0;
/// Committed tail: items put (24 bits) above the byte position (40 bits).
pub(super) const TAIL: usize = 128;
/// Number of the next large item (under the put lock).
pub(super) const NEXT_SEQ: usize = 136;
/// The producers' last look at `HEAD` (under the put lock).
pub(super) const SEEN_HEAD: usize = 144;
/// Consumers' lock.
pub(super) const GET_LOCK: usize = 256;
/// Head: items taken (24 bits) above the byte position (40 bits).
pub(super) const HEAD: usize = 384;
/// The consumers' last look at `TAIL` (under the get lock).
pub(super) const SEEN_TAIL: usize = 392;
/// `u32`: consumers sleeping on the bell (a count that a consumer killed
/// asleep leaves too high: it only ever costs a needless ring).
pub(super) const GET_SLEEPERS: usize = 512;
/// `u32`: 1 when a consumer going to sleep wants the next put to ring the
/// bell; the producer that rings it clears it.
pub(super) const GET_WANT: usize = 516;
/// `u32`: 1 when a producer going to sleep wants the next get to bump
/// `SPACE`; the consumer that bumps it clears it.
pub(super) const PUT_WANT: usize = 520;
/// `u32` futex: bumped when room appears and a producer wants to know.
pub(super) const SPACE: usize = 524;
/// `u32`: unfinished tasks of a `JoinableQueue`.
pub(super) const UNFINISHED: usize = 640;
/// `u64`: the ring's size in bytes, written once at creation.
pub(super) const CAPACITY: usize = 768;
/// The ring itself.
pub(super) const RING: usize = 4096;

pub(super) const POS_BITS: u32 = 40;
pub(super) const POS_MASK: u64 = (1 << POS_BITS) - 1;
pub(super) const COUNT_MASK: u64 = (1 << (64 - POS_BITS)) - 1;

/// A record header: `TAG` in the top 16 bits, the kind, the payload length.
pub(super) const TAG: u64 = 0x5155 << 48;
pub(super) const KIND_INLINE: u64 = 0;
pub(super) const KIND_MEMFD: u64 = 1 << 32;
/// The payload of a marker, and the socket message of a large item: its
/// number and its length, little-endian `u64`s.
pub(super) const MARKER_LEN: usize = 16;

pub(super) fn pos(word: u64) -> u64 {
    word & POS_MASK
}

pub(super) fn count(word: u64) -> u64 {
    word >> POS_BITS
}

pub(super) fn pack(count: u64, pos: u64) -> u64 {
    ((count & COUNT_MASK) << POS_BITS) | (pos & POS_MASK)
}

/// Bytes a record of `len` payload bytes takes in the ring.
pub(super) fn record_bytes(len: usize) -> u64 {
    8 + (len as u64).div_ceil(8) * 8
}

/// Bytes committed between a head and a tail word.
pub(super) fn used(tail: u64, head: u64) -> u64 {
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
pub(super) fn pause(now: Instant) -> Instant {
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
pub(super) fn encode<T: Serialize>(item: &T) -> Result<Vec<u8>> {
    codec::encode_with_hint(item, std::mem::size_of::<T>().clamp(16, 256))
}

/// What one look at the ring found.
pub(super) enum Popped<R> {
    /// An item, taken: what decoding it gave.
    Item(Result<R>),
    /// Nothing committed.
    Empty,
    /// The get lock stayed held past the deadline.
    Busy,
}

/// Maps a large item's memfd and decodes its first `len` bytes.
pub(super) fn decode_memfd<R>(fd: OwnedFd, len: usize, decode: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
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

pub(super) struct Inner {
    /// This process's sending end; `None` after `close()`. A `put` holds it
    /// read-locked, so `close()` waits for the puts in flight.
    pub(super) tx: RwLock<Option<TrackedFd>>,
    pub(super) rx: TrackedFd,
    pub(super) bell: TrackedFd,
    pub(super) region: sys::SharedRegion,
    pub(super) region_fd: TrackedFd,
    pub(super) maxsize: u32,
    /// Ring bytes (a power of two).
    pub(super) capacity: u64,
}

impl Inner {
    pub(super) fn new(maxsize: u32) -> Result<Self> {
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
    pub(super) fn check_region(region: &sys::SharedRegion) -> std::result::Result<u64, &'static str> {
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

    pub(super) fn word(&self, offset: usize) -> &AtomicU64 {
        self.region.atomic_u64(offset).expect("the header fits the region")
    }

    pub(super) fn word32(&self, offset: usize) -> &AtomicU32 {
        self.region.atomic_u32(offset).expect("the header fits the region")
    }

    pub(super) fn ring(&self) -> &[AtomicU64] {
        self.region
            .atomic_u64_slice(RING, (self.capacity / 8) as usize)
            .expect("the ring fits the region")
    }

    pub(super) fn unfinished(&self) -> &AtomicU32 {
        self.word32(UNFINISHED)
    }

    /// Items committed and not yet taken.
    pub(super) fn len(&self) -> u64 {
        let head = self.word(HEAD).load(Ordering::Acquire);
        let tail = self.word(TAIL).load(Ordering::Acquire);
        count(tail).wrapping_sub(count(head)) & COUNT_MASK
    }

    /// Locks the lock at `mutex`. A holder keeps it for a copy of a
    /// few bytes, so a few tries without sleeping come first (sleeping in
    /// the kernel costs a cross-CPU wake-up); then it waits until
    /// `deadline`. `None` when it is still held then. A dead holder needs
    /// no repair: see the module doc.
    pub(super) fn lock(&self, mutex: usize, deadline: Option<Instant>) -> Result<Option<sys::MutexHeld<'_>>> {
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
    pub(super) fn fits(&self, tail: u64, head: u64, need: u64) -> bool {
        let used = used(tail, head);
        let items = count(tail).wrapping_sub(count(head)) & COUNT_MASK;
        used <= self.capacity && self.capacity - used >= need && (self.maxsize == 0 || items < u64::from(self.maxsize))
    }

    /// Writes `header` and `body` at ring position `at` (padding the last
    /// word with zeros).
    pub(super) fn write_record(&self, at: u64, header: u64, body: &[u8]) {
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
    pub(super) fn read_payload(&self, at: u64, len: usize, out: &mut Vec<u8>) {
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

    pub(super) fn put(
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
    pub(super) fn put_raw(&self, header: u64, bytes: &[u8]) -> Result<()> {
        let tx = self.tx.read().unwrap_or_else(|p| p.into_inner());
        let tx = tx.as_ref().ok_or(Error::QueueClosed)?;
        self.put_record(tx.as_fd(), Body::Raw(header, bytes), None, None)
    }

    /// Appends one record, waiting for room until `deadline`.
    pub(super) fn put_record(
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
    pub(super) fn wait_for_room(
        &self,
        need: u64,
        deadline: Option<Instant>,
        spin_until: &mut Option<Instant>,
    ) -> Result<()> {
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
    pub(super) fn get<R>(
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
    pub(super) fn has_items(&self) -> bool {
        pos(self.word(TAIL).load(Ordering::Acquire)) != pos(self.word(HEAD).load(Ordering::Acquire))
    }

    /// Whether every sending end is closed (the receiving end hangs up).
    pub(super) fn writers_gone(&self) -> Result<bool> {
        let ready = sys::poll(&[(self.rx.as_fd(), 0)], Some(Instant::now())).map_err(Error::io("poll"))?;
        Ok(ready[0] & (libc::POLLHUP | libc::POLLERR) != 0)
    }

    /// Waits a while for an item: spins until `spin_until`, then sleeps on
    /// the bell. Fails with [`Error::Empty`] at `deadline`, and with
    /// [`Error::Disconnected`] when the ring is empty and every writer gone.
    /// The caller looks again under the lock.
    pub(super) fn wait_for_item(&self, deadline: Option<Instant>, spin_until: &mut Option<Instant>) -> Result<()> {
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
    pub(super) fn pop<R>(
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
    pub(super) fn peek_memfd(&self, seq: u64, len: u64) -> Result<OwnedFd> {
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
    pub(super) fn wake_after_pop(&self) {
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
    pub(super) fn ring_bell(&self) {
        fence(Ordering::SeqCst);
        let want = self.word32(GET_WANT);
        if want.load(Ordering::Relaxed) == 1 && want.swap(0, Ordering::AcqRel) == 1 {
            sys::eventfd_post(self.bell.as_fd());
        }
    }
}

/// What a `put` appends.
#[derive(Clone, Copy)]
pub(super) enum Body<'a> {
    /// An item's bytes, inline.
    Inline(&'a [u8]),
    /// A large item in a memfd, and its length.
    Memfd(BorrowedFd<'a>, usize),
    /// A header and bytes as given (a test hook writes bad records).
    #[cfg(feature = "fuzzing")]
    Raw(u64, &'a [u8]),
}
