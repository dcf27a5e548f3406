//! The pool's I/O thread: one thread owns every worker channel, hands out
//! work as workers ask for it, routes results to their sinks, and replaces
//! workers that die.
//!
//! Dispatch is demand-driven: a worker holds at most [`DEPTH`] unanswered
//! batches, and a batch takes a share of the pending chunks that shrinks
//! as the queue drains (guided scheduling), so a worker that finishes early
//! claims more and an uneven workload balances.
//!
//! Dispatch is also work-conserving: every worker gets a first batch before
//! any gets a second, and when the queue is empty while a worker idles, the
//! tasks queued behind a worker whose current task has run for
//! [`STEAL_AFTER`] are taken back (see the claim word in `worker.rs`) and
//! run by the idle one. So no task waits behind a long, stuck or stopped
//! task while a worker is free, and the prefetch that makes tiny items fast
//! stays.
//!
//! When a worker dies, its progress slot (see `worker.rs`) splits its
//! unanswered chunks three ways: the one it was running fails with the cause
//! of death (the signal, the exit code, the timeout); the ones it finished
//! but had not reported fail with `ResultLost`; the ones it never started go
//! back to the front of the queue and run elsewhere, exactly once.

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::result::{Outcome, Sink};
use super::wire::{Reply, Task};
use super::worker::{pool_worker, InitWire, WorkerConfig, CLAIM, DONE, REVOKED, SLOT_BYTES};
use crate::codec::{self, FrameReader};
use crate::error::{Error, Result};
use crate::handoff::{TrackedFd, TravelFd};
use crate::process::{Process, StartMethod};
use crate::sys;

/// How long `terminate` with SIGTERM waits for a worker before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(5);
/// Unanswered batches a worker may hold.
const DEPTH: usize = 2;
/// How long a worker's current task runs before the tasks queued behind it
/// may be taken back for an idle worker: far above a tiny item's time (so
/// fast maps never pay for it), far below a person's notice.
const STEAL_AFTER: Duration = Duration::from_millis(2);
/// How often a stop asked for a claimed task that has not started yet is
/// looked at again.
const STOP_RECHECK: Duration = Duration::from_millis(2);
/// Kernel buffer asked for each way of a worker channel.
const CHANNEL_BUFFER: i32 = 4 << 20;
/// Most chunks in one batch.
const MAX_BATCH: usize = 256;
/// Workers dying in a row before they are ready that break the pool.
const STARTUP_DEATHS: u32 = 3;
/// Batches stop growing past this many bytes of chunks.
const MAX_BATCH_BYTES: usize = 8 << 20;

pub(crate) const RUNNING: u8 = 0;
pub(crate) const CLOSED: u8 = 1;
pub(crate) const TERMINATING: u8 = 2;

/// One chunk of work waiting for, or held by, a worker.
pub(crate) struct Job {
    pub(crate) entry: &'static str,
    pub(crate) chunk: Vec<u8>,
    /// What the entry captured, when it is a closure that captures.
    pub(crate) captures: Option<Arc<crate::entry::Captures>>,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) index: usize,
    /// Items in the chunk (for the time per item).
    pub(crate) items: usize,
}

impl Job {
    fn fail(self, pid: i32, error: Error) {
        self.sink.complete(self.index, (pid, Err(error)));
    }
}

/// What the pool handle and the I/O thread share.
pub(crate) struct Shared {
    pub(crate) wake: sys::EventFd,
    pub(crate) sleeping: AtomicBool,
    pub(crate) state: AtomicU8,
    /// Whether `broken` holds an error: read on every submission and every
    /// turn of the I/O loop, without taking the lock.
    is_broken: AtomicBool,
    broken: Mutex<Option<Error>>,
    pub(crate) pids: Mutex<Vec<i32>>,
    /// The signal `terminate` stops the workers with (SIGKILL unless
    /// asked otherwise).
    pub(crate) stop_signal: std::sync::atomic::AtomicI32,
    /// Nanoseconds per item of each entry, as its slow tasks measured them
    /// (a moving average): sizes the default chunks of later maps. 0 means
    /// "measured, and faster than the timing threshold".
    pub(crate) per_item: Mutex<std::collections::HashMap<&'static str, f64>>,
    /// How many stops of running tasks were asked for (`cancel_running`):
    /// the I/O thread looks for them only when this moved.
    pub(crate) stops_asked: std::sync::atomic::AtomicU64,
}

impl Shared {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(Shared {
            wake: sys::EventFd::new().map_err(Error::io("eventfd"))?,
            sleeping: AtomicBool::new(false),
            state: AtomicU8::new(RUNNING),
            is_broken: AtomicBool::new(false),
            broken: Mutex::new(None),
            pids: Mutex::new(Vec::new()),
            stop_signal: std::sync::atomic::AtomicI32::new(sys::SIGKILL),
            per_item: Mutex::new(std::collections::HashMap::new()),
            stops_asked: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// Wakes the I/O thread if it sleeps (one syscall only then).
    pub(crate) fn nudge(&self) {
        if self.sleeping.swap(false, Ordering::AcqRel) {
            self.wake.notify();
        }
    }

    pub(crate) fn broken(&self) -> Option<Error> {
        if !self.is_broken.load(Ordering::Acquire) {
            return None;
        }
        self.broken.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records why the pool broke; the first reason stays.
    pub(crate) fn set_broken(&self, error: Error) {
        let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        if broken.is_none() {
            *broken = Some(error);
            self.is_broken.store(true, Ordering::Release);
        }
    }
}

/// A worker initializer: the entry, its encoded arguments, and the
/// descriptors those arguments hold (sent along to every worker).
#[derive(Debug, Clone)]
pub(crate) struct Initializer {
    pub(crate) entry: String,
    pub(crate) args: Vec<u8>,
    pub(crate) fds: Arc<Vec<std::os::fd::OwnedFd>>,
}

/// How the pool was configured.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) processes: usize,
    pub(crate) start_method: StartMethod,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) max_tasks_per_child: Option<u64>,
    pub(crate) pin_workers: bool,
    pub(crate) task_timeout: Option<Duration>,
}

struct Worker {
    process: Process<()>,
    pid: i32,
    channel: TrackedFd,
    slot: usize,
    reader: FrameReader,
    out: Vec<u8>,
    out_pos: usize,
    inflight: VecDeque<(u64, Job)>,
    /// Last sequence number of each unanswered batch.
    batches: VecDeque<u64>,
    ready: bool,
    tasks_sent: u64,
    timed_out: bool,
    retiring: bool,
    /// The task it was killed to stop (`cancel_running`).
    stopped: Option<u64>,
    /// The last task it answered: number, entry, items (for its `Took`).
    last_ran: Option<(u64, &'static str, usize)>,
    /// A task that panicked under `panic = "abort"` (its number, message,
    /// location), reported just before the worker aborted.
    panicked: Option<(u64, String, Option<String>)>,
    /// Its queued tasks were taken back: the last sequence number it had
    /// been sent then. It gets no work until it has skipped up to there.
    revoked: Option<u64>,
    /// The captures it holds (see `captures.rs`).
    captures: crate::captures::SentCaptures,
}

impl Worker {
    /// Ready for a batch: started, not leaving, not skipping taken-back
    /// tasks, and its last batch written out.
    fn takes_work(&self) -> bool {
        self.ready && !self.retiring && self.revoked.is_none() && self.out.is_empty()
    }
}

pub(crate) struct Manager {
    shared: Arc<Shared>,
    rx: Receiver<Job>,
    config: Config,
    region: sys::SharedRegion,
    workers: Vec<Option<Worker>>,
    pending: VecDeque<Job>,
    next_seq: u64,
    started: u64,
    startup: Option<Sender<Result<()>>>,
    /// Workers in a row that died before they were ready.
    startup_deaths: u32,
    /// When to look again for tasks to take back from a busy worker.
    steal_check: Option<Instant>,
    /// A stop was asked for a task that a worker holds but has not started:
    /// look again soon, since starting it wakes nobody.
    stop_pending: bool,
    /// `Shared::stops_asked` when the I/O thread last looked.
    stops_seen: u64,
}

impl Manager {
    pub(crate) fn new(
        shared: Arc<Shared>,
        rx: Receiver<Job>,
        config: Config,
        startup: Sender<Result<()>>,
    ) -> Result<Self> {
        let region = sys::SharedRegion::new("multiproc-pool", config.processes.max(1) * SLOT_BYTES)
            .map_err(Error::io("creating the pool's progress region"))?;
        Ok(Manager {
            shared,
            rx,
            workers: (0..config.processes).map(|_| None).collect(),
            config,
            region,
            pending: VecDeque::new(),
            next_seq: 1,
            started: 0,
            startup: Some(startup),
            startup_deaths: 0,
            steal_check: None,
            stop_pending: false,
            stops_seen: 0,
        })
    }

    fn set_broken(&mut self, error: Error) {
        self.shared.set_broken(error.clone());
        if let Some(tx) = self.startup.take() {
            let _ = tx.send(Err(error));
        }
    }

    fn start_worker(&mut self, slot: usize) -> Result<Worker> {
        let base = slot * SLOT_BYTES;
        for offset in [base, base + 8, base + CLAIM] {
            if let Some(a) = self.region.atomic_u64(offset) {
                a.store(0, Ordering::Release);
            }
        }
        let (ours, theirs) = sys::socketpair().map_err(Error::io("creating a worker channel"))?;
        for end in [&ours, &theirs] {
            sys::set_socket_buffers(end.as_fd(), CHANNEL_BUFFER);
        }
        let progress = self.region.fd().try_clone_to_owned().map_err(Error::io("dup"))?;
        let config = WorkerConfig {
            channel: TravelFd(theirs),
            progress: TravelFd(progress),
            slot,
            initializer: match &self.config.initializer {
                None => None,
                Some(init) => Some(InitWire {
                    entry: init.entry.clone(),
                    args: init.args.clone(),
                    fds: init
                        .fds
                        .iter()
                        .map(|fd| fd.try_clone().map(TravelFd))
                        .collect::<std::io::Result<_>>()
                        .map_err(Error::io("dup"))?,
                }),
            },
            pin_cpu: self.config.pin_workers.then(|| slot % crate::cpu_count()),
        };
        self.started += 1;
        let process = Process::builder()
            .name(format!("PoolWorker-{}", self.started))
            .daemon(true)
            .start_method(self.config.start_method)
            .start(pool_worker, (config,))?;
        sys::set_nonblocking(ours.as_fd(), true).map_err(Error::io("fcntl"))?;
        Ok(Worker {
            pid: process.pid(),
            process,
            channel: TrackedFd::new(ours),
            slot,
            reader: FrameReader::new(codec::MAX_FRAME_LEN),
            out: Vec::new(),
            out_pos: 0,
            inflight: VecDeque::new(),
            batches: VecDeque::new(),
            ready: false,
            tasks_sent: 0,
            timed_out: false,
            retiring: false,
            revoked: None,
            captures: Default::default(),
            panicked: None,
            last_ran: None,
            stopped: None,
        })
    }

    fn publish_pids(&self) {
        let pids = self.workers.iter().flatten().map(|w| w.pid).collect();
        *self.shared.pids.lock().unwrap_or_else(|p| p.into_inner()) = pids;
    }

    /// The thread's body.
    pub(crate) fn run(mut self) {
        for slot in 0..self.workers.len() {
            match self.start_worker(slot) {
                Ok(w) => self.workers[slot] = Some(w),
                Err(e) => {
                    self.set_broken(e);
                    break;
                }
            }
        }
        self.publish_pids();
        loop {
            if self.shared.state.load(Ordering::Acquire) == TERMINATING {
                self.terminate();
                return;
            }
            self.take_submissions();
            if let Some(error) = self.shared.broken() {
                for job in self.pending.drain(..) {
                    job.fail(0, error.clone());
                }
            }
            self.dispatch();
            if self.shared.state.load(Ordering::Acquire) == CLOSED && self.idle() {
                self.shut_down();
                return;
            }
            if let Err(e) = self.wait_for_events() {
                self.set_broken(e);
                self.terminate();
                return;
            }
        }
    }

    fn take_submissions(&mut self) {
        self.pending.extend(self.rx.try_iter());
    }

    fn idle(&self) -> bool {
        self.pending.is_empty() && self.rx.is_empty() && self.workers.iter().flatten().all(|w| w.inflight.is_empty())
    }

    fn dispatch(&mut self) {
        let live = self
            .workers
            .iter()
            .flatten()
            .filter(|w| w.ready && !w.retiring)
            .count()
            .max(1);
        // Every worker's first batch before anyone's second.
        for depth in 1..=DEPTH {
            self.dispatch_up_to(depth, live);
        }
        if self.take_back() {
            self.dispatch_up_to(1, live);
        }
    }

    /// Sends batches until every worker that takes work holds `depth`.
    fn dispatch_up_to(&mut self, depth: usize, live: usize) {
        for w in self.workers.iter_mut().flatten() {
            while w.takes_work() && w.batches.len() < depth && !self.pending.is_empty() {
                let mut take = (self.pending.len() / (4 * live)).clamp(1, MAX_BATCH);
                if let Some(max) = self.config.max_tasks_per_child {
                    take = take.min(max.saturating_sub(w.tasks_sent) as usize);
                    if take == 0 {
                        break;
                    }
                }
                let mut bytes = 0;
                let first = w.inflight.len();
                while take > 0 && (bytes == 0 || bytes < MAX_BATCH_BYTES) {
                    let Some(job) = self.pending.pop_front() else { break };
                    if !job.sink.claim(job.index) {
                        continue;
                    }
                    bytes += job.chunk.len();
                    w.inflight.push_back((self.next_seq, job));
                    self.next_seq += 1;
                    take -= 1;
                }
                if w.inflight.len() == first {
                    continue; // every one was cancelled (an empty batch means "exit")
                }
                let batch: Vec<Task<'_>> = w
                    .inflight
                    .range(first..)
                    .map(|(seq, job)| Task {
                        seq: *seq,
                        entry: job.entry,
                        chunk: &job.chunk,
                        captures: w.captures.wire(job.captures.as_ref()),
                    })
                    .collect();
                w.tasks_sent += batch.len() as u64;
                // Into the worker's buffer, whose allocation is reused.
                w.out.clear();
                if let Err(e) = codec::append_frame(&mut w.out, |body| codec::append(&batch, body)) {
                    // Cannot happen for byte chunks; fail them rather than hang.
                    for (_, job) in w.inflight.drain(first..) {
                        job.fail(w.pid, e.clone());
                    }
                    continue;
                }
                w.out_pos = 0;
                w.batches.push_back(self.next_seq - 1);
                flush(w);
            }
            // A worker that has run its quota is told to exit once idle; its
            // exit is seen on its pidfd and a fresh worker takes its place.
            let quota_done = self.config.max_tasks_per_child.is_some_and(|max| w.tasks_sent >= max);
            if quota_done && !w.retiring && w.inflight.is_empty() && w.out.is_empty() {
                w.retiring = true;
                w.out = stop_frame();
                w.out_pos = 0;
                flush(w);
            }
        }
    }

    /// With nothing pending and a worker idle, takes back the tasks queued
    /// behind busy workers whose current task has run for [`STEAL_AFTER`]
    /// and puts them at the front of the queue; whether it took any.
    /// Remembers when to look again in `steal_check`.
    fn take_back(&mut self) -> bool {
        self.steal_check = None;
        let mut idle = self
            .workers
            .iter()
            .flatten()
            .filter(|w| w.takes_work() && w.inflight.is_empty())
            .count();
        if idle == 0 || !self.pending.is_empty() {
            return false;
        }
        let now = sys::monotonic_ns();
        let mut taken = Vec::new();
        for w in self.workers.iter_mut().flatten() {
            if idle == 0 {
                break;
            }
            let base = w.slot * SLOT_BYTES;
            let (Some(progress), Some(started), Some(claim)) = (
                self.region.atomic_u64(base),
                self.region.atomic_u64(base + 8),
                self.region.atomic_u64(base + CLAIM),
            ) else {
                continue;
            };
            if w.revoked.is_some() || w.inflight.len() < 2 {
                continue; // nothing queued behind the task it runs
            }
            let running = progress.load(Ordering::Acquire);
            let threshold = STEAL_AFTER.as_nanos() as u64;
            // Between tasks (it is about to take the next one, or has not
            // started its first), or not long in this one: look again when
            // it would have run long enough. Nothing else may wake this
            // thread: the victim may now block in a task for good.
            let ran_for = match running {
                0 => 0,
                r if r & DONE != 0 => 0,
                _ => now.saturating_sub(started.load(Ordering::Relaxed)),
            };
            if ran_for < threshold {
                let later = Instant::now() + Duration::from_nanos(threshold - ran_for);
                self.steal_check = Some(self.steal_check.map_or(later, |c| c.min(later)));
                continue;
            }
            // One atomic step: the worker either claimed a task before this
            // (and runs it) or finds the flag and skips it.
            let claimed = match claim.fetch_or(REVOKED, Ordering::AcqRel) {
                c if c & REVOKED != 0 => continue,
                c => c,
            };
            let keep = w.inflight.iter().take_while(|(seq, _)| *seq <= claimed).count();
            let back: Vec<Job> = w.inflight.drain(keep..).map(|(_, job)| job).collect();
            if back.is_empty() {
                // It had claimed everything it was sent: no task to skip,
                // so no one is looking at the word; clear the flag.
                claim.store(claimed, Ordering::Release);
                continue;
            }
            w.revoked = w.batches.back().copied();
            taken.extend(back);
            idle -= 1;
        }
        let any = !taken.is_empty();
        for job in taken.into_iter().rev() {
            self.pending.push_front(job);
        }
        any
    }

    fn wait_for_events(&mut self) -> Result<()> {
        let mut deadline = self
            .config
            .task_timeout
            .map(|t| Instant::now() + (t / 4).min(Duration::from_millis(100)));
        if let Some(check) = self.steal_check {
            deadline = Some(deadline.map_or(check, |d| d.min(check)));
        }
        if self.stop_pending {
            let soon = Instant::now() + STOP_RECHECK;
            deadline = Some(deadline.map_or(soon, |d| d.min(soon)));
        }
        self.shared.sleeping.store(true, Ordering::Release);
        if !self.rx.is_empty() || self.shared.state.load(Ordering::Acquire) != RUNNING {
            deadline = Some(Instant::now());
        }
        let revents = {
            let mut fds = vec![(self.shared.wake.as_fd(), sys::POLLIN)];
            for w in self.workers.iter().flatten() {
                let out = if w.out.is_empty() { 0 } else { libc::POLLOUT };
                fds.push((w.channel.as_fd(), sys::POLLIN | out));
                fds.push((w.process.sentinel(), sys::POLLIN));
            }
            sys::poll(&fds, deadline).map_err(Error::io("poll"))?
        };
        self.shared.sleeping.store(false, Ordering::Release);
        if revents[0] != 0 {
            self.shared.wake.drain();
        }
        let mut k = 1;
        for slot in 0..self.workers.len() {
            if self.workers[slot].is_none() {
                continue;
            }
            let (chan, exit) = (revents[k], revents[k + 1]);
            k += 2;
            if chan & libc::POLLOUT != 0 {
                if let Some(w) = self.workers[slot].as_mut() {
                    flush(w);
                }
            }
            if chan != 0 {
                self.read_replies(slot);
            }
            if exit != 0 {
                self.bury(slot);
            }
        }
        self.check_timeouts();
        self.check_stops();
        self.check_startup();
        Ok(())
    }

    fn check_startup(&mut self) {
        if self.startup.is_some() && self.workers.iter().all(|w| w.as_ref().is_some_and(|w| w.ready)) {
            if let Some(tx) = self.startup.take() {
                let _ = tx.send(Ok(()));
            }
        }
    }

    fn read_replies(&mut self, slot: usize) {
        let claim = self.region.atomic_u64(slot * SLOT_BYTES + CLAIM);
        let shared = self.shared.clone();
        if let Some(message) = self.workers[slot]
            .as_mut()
            .and_then(|w| read_replies(w, claim, &shared.per_item))
        {
            self.set_broken(Error::InitializerFailed(message));
        }
    }
    /// A worker exited: settle what it held, start a replacement.
    fn bury(&mut self, slot: usize) {
        self.read_replies(slot);
        let Some(mut w) = self.workers[slot].take() else { return };
        let cause = match w.process.join() {
            Ok(()) => Error::Exited {
                pid: w.pid,
                code: 0,
                stderr: String::new(),
            },
            Err(e) => e,
        };
        let progress = self
            .region
            .atomic_u64(w.slot * SLOT_BYTES)
            .map_or(0, |a| a.load(Ordering::Acquire));
        let running = progress & !DONE;
        let finished = progress & DONE != 0;
        let mut requeue = Vec::new();
        for (seq, job) in w.inflight.drain(..) {
            if seq < running || (seq == running && finished) {
                job.fail(
                    w.pid,
                    Error::ResultLost {
                        pid: w.pid,
                        cause: cause.to_string(),
                    },
                );
            } else if seq == running {
                let error = match (w.timed_out, self.config.task_timeout, w.panicked.take()) {
                    _ if w.stopped == Some(seq) => Error::Cancelled,
                    (true, Some(t), _) => Error::TaskTimeout(t),
                    (_, _, Some((s, message, location))) if s == seq => Error::Panicked {
                        pid: w.pid,
                        message,
                        location,
                    },
                    _ => cause.clone(),
                };
                job.fail(w.pid, error);
            } else {
                requeue.push(job);
            }
        }
        for job in requeue.into_iter().rev() {
            self.pending.push_front(job);
        }
        if w.ready {
            self.startup_deaths = 0;
        } else if self.shared.broken().is_none() {
            // One death while starting may be a kill from outside; the same
            // death again and again is the start-up itself (an initializer
            // that crashes): the pool gives up instead of looping.
            self.startup_deaths += 1;
            if self.startup_deaths >= STARTUP_DEATHS {
                self.set_broken(Error::InitializerFailed(format!(
                    "{STARTUP_DEATHS} workers in a row died while starting; the last: {cause}"
                )));
            }
        }
        if self.shared.broken().is_none() && self.shared.state.load(Ordering::Acquire) != TERMINATING {
            match self.start_worker(slot) {
                Ok(new) => self.workers[slot] = Some(new),
                Err(e) => self.set_broken(e),
            }
        }
        self.publish_pids();
    }

    /// Kills the workers whose running task was asked to stop; the task
    /// then fails with [`Error::Cancelled`] (see `bury`). A task counts as
    /// running once a worker claimed it, before the worker starts it: such
    /// a stop is kept pending and looked at again every [`STOP_RECHECK`]
    /// (before, the one wake-up of `cancel_running` found nothing to kill,
    /// and the caller waited for ever).
    fn check_stops(&mut self) {
        // Asking a sink is a lock per task held: only when a stop was
        // asked since the last look, or one is still pending.
        let asked = self.shared.stops_asked.load(Ordering::Acquire);
        if asked == self.stops_seen && !self.stop_pending {
            return;
        }
        self.stops_seen = asked;
        self.stop_pending = self.workers.iter().flatten().any(|w| {
            w.inflight
                .iter()
                .any(|(s, job)| w.stopped != Some(*s) && job.sink.stop_requested(job.index))
        });
        for w in self.workers.iter_mut().flatten() {
            let Some(progress) = self.region.atomic_u64(w.slot * SLOT_BYTES) else {
                continue;
            };
            let seq = progress.load(Ordering::Acquire);
            if seq == 0 || seq & DONE != 0 || w.stopped == Some(seq) {
                continue;
            }
            let asked = w
                .inflight
                .iter()
                .find(|(s, _)| *s == seq)
                .is_some_and(|(_, job)| job.sink.stop_requested(job.index));
            if asked {
                w.stopped = Some(seq);
                let _ = w.process.kill();
            }
        }
    }

    fn check_timeouts(&mut self) {
        let Some(limit) = self.config.task_timeout else { return };
        let now = sys::monotonic_ns();
        for w in self.workers.iter_mut().flatten() {
            let base = w.slot * SLOT_BYTES;
            let (Some(seq), Some(started)) = (self.region.atomic_u64(base), self.region.atomic_u64(base + 8)) else {
                continue;
            };
            let seq = seq.load(Ordering::Acquire);
            let running = seq != 0 && seq & DONE == 0 && w.inflight.iter().any(|(s, _)| *s == seq);
            if running && !w.timed_out && now.saturating_sub(started.load(Ordering::Relaxed)) > limit.as_nanos() as u64
            {
                w.timed_out = true;
                let _ = w.process.kill();
            }
        }
    }

    /// Closed and idle: ask every worker to exit, and wait for them.
    fn shut_down(&mut self) {
        let stop = stop_frame();
        for w in self.workers.iter_mut().flatten() {
            let _ = sys::set_nonblocking(w.channel.as_fd(), false);
            let _ = sys::write_all(w.channel.as_fd(), &stop);
        }
        for mut w in self.workers.drain(..).flatten() {
            if w.process.join_timeout(Duration::from_secs(10)).is_err() {
                let _ = w.process.kill();
                let _ = w.process.join();
            }
        }
        self.publish_pids();
        self.finish_startup();
    }

    /// Kill every worker; fail everything not done.
    fn terminate(&mut self) {
        let signal = self.shared.stop_signal.load(Ordering::Acquire);
        for w in self.workers.iter().flatten() {
            let _ = match signal {
                sys::SIGTERM => w.process.terminate(),
                _ => w.process.kill(),
            };
        }
        for mut w in self.workers.drain(..).flatten() {
            // A worker that outlives SIGTERM for this long is killed.
            if let Err(Error::Timeout(_)) = w.process.join_timeout(TERM_GRACE) {
                let _ = w.process.kill();
                let _ = w.process.join();
            }
            for (_, job) in w.inflight.drain(..) {
                job.fail(w.pid, Error::PoolTerminated);
            }
        }
        self.take_submissions();
        for job in self.pending.drain(..) {
            job.fail(0, Error::PoolTerminated);
        }
        self.publish_pids();
        self.finish_startup();
    }

    fn finish_startup(&mut self) {
        if let Some(tx) = self.startup.take() {
            let _ = tx.send(Err(Error::PoolTerminated));
        }
    }
}

/// Folds a measured time per item of `entry` into the pool's table: a
/// moving average. A 0 in the table says "under the timing threshold" (a
/// map's probe saw no time): a measurement replaces it.
pub(crate) fn record_time(table: &mut std::collections::HashMap<&'static str, f64>, entry: &'static str, sample: f64) {
    let average = table.entry(entry).or_insert(sample);
    *average = if *average > 0.0 {
        0.5 * *average + 0.5 * sample
    } else {
        sample
    };
}

/// Notes that `entry` answered without a time (its items run under the
/// timing threshold): the 0 that [`record_time`] replaces once a time
/// comes. An entry already timed keeps its time.
pub(crate) fn record_untimed(table: &mut std::collections::HashMap<&'static str, f64>, entry: &'static str) {
    table.entry(entry).or_insert(0.0);
}

/// Reads every reply the worker has sent and routes its results; returns
/// an initializer's failure message. `claim` is the worker's claim word.
fn read_replies(
    w: &mut Worker,
    claim: Option<&std::sync::atomic::AtomicU64>,
    per_item: &Mutex<std::collections::HashMap<&'static str, f64>>,
) -> Option<String> {
    let mut frames = Vec::new();
    loop {
        match w.reader.read_from(w.channel.as_fd()) {
            Ok(0) => break,
            Ok(_) => loop {
                match w.reader.next_frame() {
                    Ok(Some(frame)) => frames.push(Ok(frame)),
                    Ok(None) => break,
                    Err(e) => {
                        frames.push(Err(e));
                        break;
                    }
                }
            },
            Err(_) => break,
        }
    }
    // Results are handed over after the whole read is routed: a task's
    // time comes in the frame after its result, and whoever waits on the
    // result (a map sizing its chunks) must find the time recorded.
    let mut delivered = Vec::new();
    let mut init_failed = None;
    for frame in frames {
        let task = match frame.as_deref().map_err(Clone::clone).and_then(Reply::parse) {
            Ok(Reply::Ready) => {
                w.ready = true;
                None
            }
            Ok(Reply::InitFailed(message)) => {
                init_failed = Some(message.to_string());
                break;
            }
            Ok(Reply::Panicked { seq, message, location }) => {
                w.panicked = Some((seq, message.to_string(), location.map(str::to_string)));
                None
            }
            Ok(Reply::Took { seq, nanos }) => {
                if let Some((_, entry, items)) = w.last_ran.filter(|(s, ..)| *s == seq) {
                    let sample = nanos as f64 / items.max(1) as f64;
                    record_time(&mut per_item.lock().unwrap_or_else(|p| p.into_inner()), entry, sample);
                }
                None
            }
            Ok(Reply::Skipped { last }) => {
                while w.batches.front().is_some_and(|l| *l <= last) {
                    w.batches.pop_front();
                }
                if w.revoked.is_some_and(|hi| last >= hi) {
                    // It skipped all it had been sent and waits for the next
                    // batch: nobody else touches the word now.
                    w.revoked = None;
                    if let Some(claim) = claim {
                        claim.store(last, Ordering::Release);
                    }
                }
                None
            }
            Ok(reply) => reply.task_result(w.pid),
            Err(_) => {
                // Garbage from a worker: kill it; its death fails what it held.
                let _ = w.process.kill();
                None
            }
        };
        let Some((seq, result)) = task else { continue };
        if w.inflight.front().is_none_or(|(front, _)| *front != seq) {
            // A worker that answers out of order is broken.
            let _ = w.process.kill();
            continue;
        }
        // The outcome is the frame's tail: the frame is kept, not copied.
        let result = result.and_then(|len| frame.map(|f| Outcome::tail(f.into_vec(), len)));
        if let Some((_, job)) = w.inflight.pop_front() {
            w.last_ran = Some((seq, job.entry, job.items));
            delivered.push((job.sink, job.index, (w.pid, result)));
        }
        while w.batches.front().is_some_and(|last| *last <= seq) {
            w.batches.pop_front();
        }
    }
    for (sink, index, result) in delivered {
        sink.complete(index, result);
    }
    init_failed
}

/// An empty batch: asks a worker to exit.
fn stop_frame() -> Vec<u8> {
    codec::encode_frame(&Vec::<Task<'_>>::new()).unwrap_or_default()
}

/// Writes as much of the worker's pending batch as the socket takes.
fn flush(w: &mut Worker) {
    while w.out_pos < w.out.len() {
        match sys::write_nonblocking(w.channel.as_fd(), &w.out[w.out_pos..]) {
            Ok(n) => w.out_pos += n,
            // Full: poll says when there is room. Broken: its exit will
            // be seen on the pidfd.
            Err(_) => return,
        }
    }
    w.out.clear();
    w.out_pos = 0;
}
