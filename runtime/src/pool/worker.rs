//! The worker process: an internal `#[process_fn]` that runs the
//! initializer, then serves batches of tasks until its channel closes.
//!
//! Before each task it stores the task's sequence number and start time in
//! its slot of the pool's shared progress region; after it, the number with
//! [`DONE`] set. When a worker dies, the parent reads the slot to tell the
//! task that killed it from the ones it finished and the ones it never
//! started (those run elsewhere, exactly once).
//!
//! A third word is the worker's *claim*: the last task it took, which it
//! advances by compare-and-swap before each task. The pool takes back the
//! tasks queued behind a busy worker by setting [`REVOKED`] in that word:
//! from then on the worker skips every task it has been sent (and says so
//! with one `Skipped` reply per batch) while an idle worker runs them. One
//! word, so a task is either claimed by its worker or taken back, never both.

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::wire::{install_quiet_panic_hook, Replies, Task};
use crate::codec;
use crate::handoff::TravelFd;
use crate::sys;

/// Set in a progress slot once the task it names has finished.
pub(crate) const DONE: u64 = 1 << 63;
/// Set in a claim word: the tasks after the claimed one were taken back.
pub(crate) const REVOKED: u64 = 1 << 63;
/// Bytes per worker in the progress region: sequence number, start time,
/// claim.
pub(crate) const SLOT_BYTES: usize = 24;
/// Offset of the claim word in a slot.
pub(crate) const CLAIM: usize = 16;

/// Results are sent at the end of each batch, or sooner when this much
/// time has passed since the last send: a slow task's result is never held
/// back by the tasks after it, and a crash loses at most this much work.
const FLUSH_AFTER: Duration = Duration::from_micros(200);

/// Tasks that run at least this long (in nanoseconds) report their time,
/// by which the pool sizes the default chunks of later maps of the entry;
/// shorter ones say nothing, and cost nothing.
pub(crate) const TIMED_FROM: u64 = 1_000_000;

/// A worker initializer as it travels: entry, encoded arguments, and the
/// descriptors those arguments refer to.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InitWire {
    pub(crate) entry: String,
    #[serde(with = "serde_bytes")]
    pub(crate) args: Vec<u8>,
    pub(crate) fds: Vec<TravelFd>,
}

/// What a worker is started with.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerConfig {
    pub(crate) channel: TravelFd,
    pub(crate) progress: TravelFd,
    pub(crate) slot: usize,
    pub(crate) initializer: Option<InitWire>,
    pub(crate) pin_cpu: Option<usize>,
}

/// The worker's channel, for its panic hook under `panic = "abort"`.
static CHANNEL: crate::unwind::LastWords = crate::unwind::LastWords::new();
/// The task this worker runs, for the same hook.
static CURRENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Under `panic = "abort"`: tells the pool that the running task panicked,
/// and where, before the worker aborts (its death then fails that task with
/// `Error::Panicked`, not a bare SIGABRT).
pub(crate) fn report_panic_before_abort(message: &str, location: Option<&str>) {
    let mut replies = Replies::default();
    replies.panicked(CURRENT.load(Ordering::Relaxed), message, location);
    CHANNEL.say(replies.bytes());
}

pub(crate) use self::entry::pool_worker;

// A `#[process_fn]` in this crate expands linkme's link-section static
// through a macro of this crate, which `deny(unsafe_code)` looks into.
#[allow(unsafe_code)]
mod entry {
    use super::{serve, WorkerConfig};
    use crate::process_fn;

    #[process_fn(name = "multiproc::pool::worker")]
    pub(crate) fn pool_worker(config: WorkerConfig) {
        serve(config);
    }
}

/// Writes the replies out and forgets them; `false` when the parent is gone.
fn send(channel: std::os::fd::BorrowedFd<'_>, replies: &mut Replies) -> bool {
    let sent = sys::write_all(channel, replies.bytes()).is_ok();
    replies.clear();
    sent
}

fn serve(config: WorkerConfig) {
    let channel = config.channel.0;
    let mut replies = Replies::default();
    let Ok(region) = sys::SharedRegion::map(config.progress.0) else {
        replies.init_failed("cannot map the progress region");
        let _ = send(channel.as_fd(), &mut replies);
        return;
    };
    let base = config.slot * SLOT_BYTES;
    let (Some(slot), Some(started), Some(claim_word)) = (
        region.atomic_u64(base),
        region.atomic_u64(base + 8),
        region.atomic_u64(base + CLAIM),
    ) else {
        replies.init_failed("progress slot out of range");
        let _ = send(channel.as_fd(), &mut replies);
        return;
    };
    if let Some(cpu) = config.pin_cpu {
        // Pinning is advice: a CPU outside the affinity mask is not fatal.
        let _ = sys::pin_to_cpu(cpu);
    }
    if let Some(init) = config.initializer {
        let fds = init.fds.into_iter().map(|fd| fd.0).collect();
        let ran = std::panic::catch_unwind(|| {
            crate::handoff::with_incoming(fds, || crate::entry::run_by_name(&init.entry, &init.args))
        });
        let failure = match ran {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(payload) => Some(format!("panicked: {}", crate::unwind::panic_message(&*payload))),
        };
        if let Some(message) = failure {
            replies.init_failed(&message);
            let _ = send(channel.as_fd(), &mut replies);
            return;
        }
    }
    install_quiet_panic_hook();
    if cfg!(panic = "abort") {
        CHANNEL.arm(channel.as_fd());
    }
    replies.ready();
    if !send(channel.as_fd(), &mut replies) {
        return;
    }
    // Both buffers keep their allocation from one batch to the next: a
    // fresh worker pays its page faults once, not per chunk.
    let mut frame = Vec::new();
    let mut captures = crate::captures::WorkerCaptures::default();
    loop {
        if codec::read_frame_into(channel.as_fd(), codec::MAX_FRAME_LEN, &mut frame).is_err() {
            return;
        }
        let batch = match codec::decode_borrowed::<Vec<Task<'_>>>(&frame) {
            // An empty batch asks the worker to exit (not end of file: a
            // worker forked later may hold a copy of the parent's end).
            Ok(batch) if batch.is_empty() => return,
            Ok(batch) => batch,
            Err(_) => return,
        };
        let mut last_send = Instant::now();
        let mut skipped = false;
        for task in &batch {
            // Read even from a task taken back: the pool counts it sent.
            captures.receive(&task.captures);
            if !claim(claim_word, task.seq) {
                skipped = true;
                continue;
            }
            captures.prepare(task.entry, &task.captures);
            let start = sys::monotonic_ns();
            started.store(start, Ordering::Relaxed);
            CURRENT.store(task.seq, Ordering::Relaxed);
            slot.store(task.seq, Ordering::Release);
            replies.run(task, &mut captures);
            slot.store(task.seq | DONE, Ordering::Release);
            let took = sys::monotonic_ns().saturating_sub(start);
            if took >= TIMED_FROM {
                replies.took(task.seq, took);
            }
            if last_send.elapsed() >= FLUSH_AFTER {
                if !send(channel.as_fd(), &mut replies) {
                    return;
                }
                last_send = Instant::now();
            }
        }
        if let (true, Some(last)) = (skipped, batch.last()) {
            replies.skipped(last.seq);
        }
        if !replies.bytes().is_empty() && !send(channel.as_fd(), &mut replies) {
            return;
        }
    }
}

/// Claims task `seq` for this worker; `false` when the pool took it back.
fn claim(word: &std::sync::atomic::AtomicU64, seq: u64) -> bool {
    let mut current = word.load(Ordering::Acquire);
    loop {
        if current & REVOKED != 0 {
            return false;
        }
        match word.compare_exchange_weak(current, seq, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(now) => current = now,
        }
    }
}
