//! Cases `pipe` and `queue`: the communication layer, beside Python's
//! `Pipe` and `Queue` and a raw `pipe(2)` ping-pong written here.
//!
//! - `pipe`: 64-byte round trip between two processes (median of 20 000,
//!   after 1 000 warm-up), our `Connection` and a raw pipe pair; 1 MiB
//!   messages one way, acknowledged at the end (MB/s).
//! - `queue`: a child puts 100 000 small integers, the parent gets them.
//!   As in the Python peer, the child is started first and waits for a
//!   `go` event; the clock runs from `go.set()` to the last `get`.

use std::time::Instant;

use multiproc::pipe::{Connection, Pipe};
use multiproc::prelude::*;
use multiproc::queue::Queue;
use multiproc::sync::Event;

use super::{err, Better, Case, CaseOutput, Figure, Options, PeerQuery, Stats, Target};

/// The `pipe` case's registry entry.
pub(crate) const PIPE: Case = Case {
    name: "pipe",
    about: "Pipe: 64 B round trip vs a raw pipe(2) ping-pong and Python; 1 MiB messages",
    peer_group: Some("pipe"),
    run: run_pipe,
};

/// The `queue` case's registry entry.
pub(crate) const QUEUE: Case = Case {
    name: "queue",
    about: "Queue: small items from a child to the parent, vs Python's mp.Queue",
    peer_group: Some("queue"),
    run: run_queue,
};

#[process_fn]
fn echo(conn: Connection) {
    while let Ok(msg) = conn.recv_bytes() {
        if msg.is_empty() || conn.send_bytes(&msg).is_err() {
            return;
        }
    }
}

#[process_fn]
fn sink(conn: Connection, n: u64) {
    let mut total = 0u64;
    for _ in 0..n {
        total += conn.recv_bytes().map(|m| m.len() as u64).unwrap_or(0);
    }
    let _ = conn.send(&total);
}

#[process_fn]
fn put_ints(q: Queue<u64>, go: Event, n: u64) {
    assert!(go.wait_timeout(std::time::Duration::from_secs(60)), "no go");
    for i in 0..n {
        q.put(i).unwrap();
    }
}

/// A raw ping-pong: two pipes, a forked child echoing 64 bytes.
fn raw_pingpong(n: usize, warm: usize) -> Result<Stats, String> {
    let mut a = [0i32; 2];
    let mut b = [0i32; 2];
    // SAFETY: each array has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(a.as_mut_ptr()) } != 0 || unsafe { libc::pipe(b.as_mut_ptr()) } != 0 {
        return Err("pipe".into());
    }
    let total = n + warm;
    // SAFETY: the child only reads, writes and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut buf = [0u8; 64];
        for _ in 0..total {
            // SAFETY: valid buffers and descriptors.
            unsafe {
                libc::read(a[0], buf.as_mut_ptr() as *mut libc::c_void, 64);
                libc::write(b[1], buf.as_ptr() as *const libc::c_void, 64);
            }
        }
        // SAFETY: ends the child.
        unsafe { libc::_exit(0) };
    }
    let msg = [7u8; 64];
    let mut buf = [0u8; 64];
    let mut us = Vec::with_capacity(n);
    for i in 0..total {
        let t = Instant::now();
        // SAFETY: valid buffers and descriptors.
        unsafe {
            libc::write(a[1], msg.as_ptr() as *const libc::c_void, 64);
            libc::read(b[0], buf.as_mut_ptr() as *mut libc::c_void, 64);
        }
        if i >= warm {
            us.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    // SAFETY: reaps the child and closes our descriptors.
    unsafe {
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        for fd in a.into_iter().chain(b) {
            libc::close(fd);
        }
    }
    Ok(Stats::of(&us))
}

fn run_pipe(options: &Options) -> Result<CaseOutput, String> {
    let (n, warm) = if options.quick { (2000, 200) } else { (20_000, 1000) };
    let mut figures = Vec::new();
    let raw = raw_pingpong(n, warm)?;

    let (ours, theirs) = Pipe::new().map_err(err("Pipe"))?;
    let mut child = Process::builder()
        .start_method(StartMethod::Fork)
        .start(echo, (theirs,))
        .map_err(err("start"))?;
    let msg = [7u8; 64];
    let mut us = Vec::with_capacity(n);
    for i in 0..n + warm {
        let t = Instant::now();
        ours.send_bytes(&msg).map_err(err("send"))?;
        ours.recv_bytes().map_err(err("recv"))?;
        if i >= warm {
            us.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    ours.send_bytes(&[]).map_err(err("send"))?;
    child.join().map_err(err("join"))?;
    let stats = Stats::of(&us);
    figures.push(
        Figure::new(
            "pipe",
            "raw pipe(2) ping-pong 64 B, median",
            raw.median,
            "us",
            Better::Lower,
        )
        .with("n", n),
    );
    figures.push(
        Figure::new(
            "pipe",
            "Pipe round trip 64 B, median",
            stats.median,
            "us",
            Better::Lower,
        )
        .peer(PeerQuery::new("pipe_pingpong_64B"))
        .target(Target::PeerFactorAtLeast(3.0))
        .with("n", n),
    );
    figures.push(
        Figure::new(
            "pipe",
            "Pipe round trip / raw ping-pong",
            stats.median / raw.median,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(1.5)),
    );

    // 1 MiB messages one way.
    let n_big: u64 = if options.quick { 64 } else { 512 };
    let (ours, theirs) = Pipe::new().map_err(err("Pipe"))?;
    let mut child = Process::builder()
        .start_method(StartMethod::Fork)
        .start(sink, (theirs, n_big))
        .map_err(err("start"))?;
    let big = vec![9u8; 1 << 20];
    let t = Instant::now();
    for _ in 0..n_big {
        ours.send_bytes(&big).map_err(err("send"))?;
    }
    let total: u64 = ours.recv().map_err(err("recv"))?;
    let secs = t.elapsed().as_secs_f64();
    child.join().map_err(err("join"))?;
    if total != n_big << 20 {
        return Err("the sink lost bytes".into());
    }
    figures.push(
        Figure::new(
            "pipe",
            "Pipe throughput, 1 MiB messages",
            total as f64 / 1e6 / secs,
            "MB/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("pipe_throughput_1MiB").filter("duplex", "true"))
        .target(Target::PeerFactorAtLeast(1.0))
        .with("n_msgs", n_big),
    );
    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}

fn run_queue(options: &Options) -> Result<CaseOutput, String> {
    let n: u64 = if options.quick { 10_000 } else { 100_000 };
    let q = Queue::<u64>::unbounded().map_err(err("Queue"))?;
    let go = Event::new().map_err(err("Event"))?;
    let mut child = Process::builder()
        .start_method(StartMethod::Fork)
        .start(put_ints, (q.clone(), go.clone(), n))
        .map_err(err("start"))?;
    std::thread::sleep(std::time::Duration::from_millis(50));
    let t = Instant::now();
    go.set();
    let mut sum = 0u64;
    for _ in 0..n {
        sum += q.get().map_err(err("get"))?;
    }
    let secs = t.elapsed().as_secs_f64();
    child.join().map_err(err("join"))?;
    if sum != n * (n - 1) / 2 {
        return Err("the queue lost items".into());
    }
    Ok(CaseOutput {
        figures: vec![Figure::new(
            "queue",
            "Queue small items, child puts, parent gets",
            n as f64 / secs,
            "items/s",
            Better::Higher,
        )
        .peer(PeerQuery::new("mp_queue_put_get_small"))
        .target(Target::PeerFactorAtLeast(20.0))
        .with("n", n)],
        sections: Vec::new(),
    })
}
