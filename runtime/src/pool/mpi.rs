//! A [`Pool`] whose workers are the ranks of an MPI job (feature `mpi`).
//!
//! The pool's callers are unchanged: they queue the same `Job`s on the
//! same channel. Behind it, instead of the I/O thread of `dispatch.rs`, a
//! dispatcher thread — the only one that calls MPI on rank 0 while the pool
//! lives — sends each worker rank a batch of chunks (entry names and
//! encoded arguments, as for local workers) and receives its results. A
//! rank holds one batch at a time, so a send never waits on a busy rank.
//!
//! A batch runs in turn on its rank and answers as a whole, so it holds
//! no more work than about [`BATCH_TARGET_NS`] by the entry's measured
//! time per item: slow tasks go one at a time (a quick task never waits
//! behind a slow one on a rank while another rank idles), microsecond
//! tasks by the batch. An entry not yet timed goes one chunk at a time
//! until its first answer. The ranks time their tasks as local workers do
//! (tasks of 1 ms and more report it), and the times size the pool's
//! chunks as the local workers' do.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};

use super::dispatch::{record_time, record_untimed, Job, Shared, CLOSED, RUNNING, TERMINATING};
use super::result::Outcome;
use super::wire::{install_quiet_panic_hook, Replies, Reply, Task};
use super::worker::TIMED_FROM;
use super::Pool;
use crate::codec;
use crate::error::{Error, Result};
use crate::sys;

/// Rank 0 → worker: a batch of tasks (an empty one: stop).
pub(crate) const TAG_TASKS: i32 = 7101;
/// Worker → rank 0: the batch's results.
pub(crate) const TAG_DONE: i32 = 7102;
/// Most chunks in one batch.
const MAX_BATCH: usize = 64;
/// About how long a batch should run, by measured time: long enough that
/// its round trip costs little, short enough that a rank is free soon. A
/// round trip to a rank costs far more than a local worker's (tens of
/// microseconds, milliseconds when ranks outnumber cores): at 2 ms, as
/// for local workers, a CPU-bound `par_map!` of 0.45 ms items took 1.3-1.6x
/// as long (one 4-item chunk per batch); at 20 ms it is back where it was.
const BATCH_TARGET_NS: f64 = 20_000_000.0;

/// A worker rank's loop: runs batches until told to stop.
pub(crate) fn serve(world: &SimpleCommunicator) {
    install_quiet_panic_hook();
    let root = world.process_at_rank(0);
    let mut replies = Replies::default();
    let mut captures = crate::captures::WorkerCaptures::remote();
    loop {
        let (bytes, _) = next_batch(&root);
        let batch = match codec::decode_borrowed::<Vec<Task<'_>>>(&bytes) {
            Ok(batch) if batch.is_empty() => return,
            Ok(batch) => batch,
            Err(_) => return,
        };
        replies.clear();
        for task in &batch {
            captures.receive(&task.captures);
            captures.prepare(task.entry, &task.captures);
            let start = sys::monotonic_ns();
            replies.run(task, &mut captures);
            let took = sys::monotonic_ns().saturating_sub(start);
            if took >= TIMED_FROM {
                replies.took(task.seq, took);
            }
        }
        root.send_with_tag(replies.bytes(), TAG_DONE);
    }
}

/// Waits for rank 0's next batch: probing briefly, then sleeping between
/// probes. A blocking MPI receive would busy-poll, taking CPU from the
/// ranks that compute when there are more ranks than cores (measured: a
/// CPU-bound map 1.5x slower than a local pool on 3 ranks and 2 cores).
fn next_batch(root: &mpi::topology::Process<'_>) -> (Vec<u8>, mpi::point_to_point::Status) {
    let spin_until = Instant::now() + Duration::from_micros(50);
    loop {
        if let Some(message) = root.immediate_matched_probe_with_tag(TAG_TASKS) {
            return message.matched_receive_vec();
        }
        if Instant::now() < spin_until {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

/// Tells every worker rank to stop (from rank 0, once no pool is left).
pub(crate) fn stop_workers(world: &SimpleCommunicator) {
    let stop = codec::encode(&Vec::<Task<'_>>::new()).unwrap_or_default();
    for rank in 1..world.size() {
        world.process_at_rank(rank).send_with_tag(&stop[..], TAG_TASKS);
    }
}

/// What one worker rank holds.
#[derive(Default)]
struct Rank {
    held: VecDeque<(u64, Job)>,
    /// The captures it holds (see `captures.rs`).
    captures: crate::captures::SentCaptures,
}

struct Dispatcher {
    shared: Arc<Shared>,
    rx: Receiver<Job>,
    ranks: Vec<Rank>,
    pending: VecDeque<Job>,
    next_seq: u64,
}

impl Dispatcher {
    fn run(mut self) {
        let world = SimpleCommunicator::world();
        loop {
            if self.shared.state.load(Ordering::Acquire) == TERMINATING {
                self.terminate(&world);
                return;
            }
            self.pending.extend(self.rx.try_iter());
            let mut progressed = self.dispatch(&world);
            progressed |= self.collect(&world);
            if self.shared.state.load(Ordering::Acquire) == CLOSED
                && self.pending.is_empty()
                && self.rx.is_empty()
                && self.ranks.iter().all(|r| r.held.is_empty())
            {
                return;
            }
            if !progressed {
                self.wait();
            }
        }
    }

    fn dispatch(&mut self, world: &SimpleCommunicator) -> bool {
        let live = self.ranks.len().max(1);
        let mut sent = false;
        for i in 0..self.ranks.len() {
            if !self.ranks[i].held.is_empty() {
                continue;
            }
            if self.pending.is_empty() {
                break;
            }
            // A fair share of what waits, and no more than about
            // BATCH_TARGET_NS of work by the measured times: a chunk of an
            // entry not yet timed goes alone.
            let share = (self.pending.len() / (2 * live)).clamp(1, MAX_BATCH);
            let table = self.shared.per_item.lock().unwrap_or_else(|p| p.into_inner());
            let mut budget = BATCH_TARGET_NS;
            let rank = &mut self.ranks[i];
            let mut taken = 0;
            while taken < share {
                let Some(job) = self.pending.front() else { break };
                let cost = table
                    .get(job.entry)
                    .map_or(f64::INFINITY, |ns| ns * job.items.max(1) as f64);
                if taken > 0 && cost > budget {
                    break;
                }
                budget -= cost;
                taken += 1;
                let Some(job) = self.pending.pop_front() else { break };
                if job.sink.claim(job.index) {
                    rank.held.push_back((self.next_seq, job));
                    self.next_seq += 1;
                }
            }
            drop(table);
            if rank.held.is_empty() {
                continue;
            }
            let batch: Vec<Task<'_>> = rank
                .held
                .iter()
                .map(|(seq, job)| Task {
                    seq: *seq,
                    entry: job.entry,
                    chunk: &job.chunk,
                    captures: rank.captures.wire(job.captures.as_ref()),
                })
                .collect();
            match codec::encode(&batch) {
                Ok(bytes) => {
                    world.process_at_rank(i as i32 + 1).send_with_tag(&bytes[..], TAG_TASKS);
                    sent = true;
                }
                Err(e) => {
                    for (_, job) in rank.held.drain(..) {
                        job.sink.complete(job.index, (0, Err(e.clone())));
                    }
                }
            }
        }
        sent
    }

    /// Receives every result that has arrived.
    fn collect(&mut self, world: &SimpleCommunicator) -> bool {
        let mut got = false;
        while let Some(message) = world.any_process().immediate_matched_probe_with_tag(TAG_DONE) {
            let (bytes, status): (Vec<u8>, _) = message.matched_receive_vec();
            got = true;
            let from = status.source_rank();
            let Some(rank) = usize::try_from(from - 1).ok().and_then(|i| self.ranks.get_mut(i)) else {
                continue;
            };
            // The tasks' times (as the rank measured them, 1 ms and more),
            // before any result is handed over: whoever waits on one (a
            // map sizing its chunks) finds them recorded. An entry that
            // answered with no time is faster than that.
            {
                let mut table = self.shared.per_item.lock().unwrap_or_else(|p| p.into_inner());
                for body in codec::frames(&bytes).flatten() {
                    if let Ok(Reply::Took { seq, nanos }) = Reply::parse(body) {
                        if let Some((_, job)) = rank.held.iter().find(|(s, _)| *s == seq) {
                            record_time(&mut table, job.entry, nanos as f64 / job.items.max(1) as f64);
                        }
                    }
                }
                for (_, job) in &rank.held {
                    record_untimed(&mut table, job.entry);
                }
            }
            // The message is the batch's reply frames, one per task (and
            // one per timed task).
            for body in codec::frames(&bytes) {
                let Ok(body) = body else { continue };
                let Some((seq, result)) = Reply::parse(body).ok().and_then(|r| r.task_result(from)) else {
                    continue;
                };
                let result = result.map(|len| Outcome::tail(body[body.len() - len..].to_vec(), len));
                let Some(at) = rank.held.iter().position(|(s, _)| *s == seq) else {
                    continue;
                };
                let Some((_, job)) = rank.held.remove(at) else { continue };
                job.sink.complete(job.index, (from, result));
            }
            // Whatever a reply did not answer will never be answered.
            for (_, job) in rank.held.drain(..) {
                let e = Error::ResultLost {
                    pid: from,
                    cause: format!("rank {from} answered without this task"),
                };
                job.sink.complete(job.index, (from, Err(e)));
            }
        }
        got
    }

    /// Waits a little for results while ranks hold work (MPI cannot wake a
    /// `poll`, whose timeout has millisecond steps: 50 µs of `nanosleep`
    /// instead), or, while idle, until a submission wakes it.
    fn wait(&self) {
        if self.ranks.iter().any(|r| !r.held.is_empty()) {
            std::thread::sleep(Duration::from_micros(50));
            return;
        }
        self.shared.sleeping.store(true, Ordering::Release);
        if self.rx.is_empty() && self.shared.state.load(Ordering::Acquire) == RUNNING {
            let _ = sys::poll(&[(self.shared.wake.as_fd(), sys::POLLIN)], None);
        }
        self.shared.sleeping.store(false, Ordering::Release);
        self.shared.wake.drain();
    }

    /// Fails everything not done. Ranks that hold work finish it first: an
    /// MPI rank cannot be interrupted, and its answer must be received.
    fn terminate(&mut self, world: &SimpleCommunicator) {
        self.pending.extend(self.rx.try_iter());
        for job in self.pending.drain(..) {
            job.sink.complete(job.index, (0, Err(Error::PoolTerminated)));
        }
        for rank in &mut self.ranks {
            for (_, job) in rank.held.iter() {
                job.sink.complete(job.index, (0, Err(Error::PoolTerminated)));
            }
        }
        while self.ranks.iter().any(|r| !r.held.is_empty()) {
            if !self.collect(world) {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

/// A pool over ranks `1..size` of the MPI job; `keepalive` is dropped
/// after the dispatcher has stopped (it finalizes MPI when it is the last).
pub(crate) fn pool(workers: usize, keepalive: Arc<dyn std::any::Any + Send + Sync>) -> Result<Pool> {
    if workers == 0 {
        return Err(Error::Usage(
            "an MPI pool needs at least one worker rank: run with `mpirun -n 2` or more".into(),
        ));
    }
    let shared = Shared::new()?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let (finished_tx, finished) = crossbeam_channel::bounded(0);
    let dispatcher = Dispatcher {
        shared: Arc::clone(&shared),
        rx,
        ranks: (0..workers).map(|_| Rank::default()).collect(),
        pending: VecDeque::new(),
        next_seq: 1,
    };
    let thread = std::thread::Builder::new()
        .name("multiproc-mpi".into())
        .spawn(move || {
            dispatcher.run();
            drop(finished_tx);
        })
        .map_err(Error::io("starting the MPI dispatcher"))?;
    Ok(Pool {
        shared,
        tx: Some(tx),
        thread: Some(thread),
        finished,
        processes: workers,
        keepalive: Some(keepalive),
    })
}
