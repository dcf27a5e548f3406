//! Case `process`: start + join latency of a trivial entry, per start method.
//!
//! Each sample times `Process::builder().start_method(m).start(noop, ())`
//! followed by `join()`, as Python's `Process(target=noop)`, `start()`,
//! `join()`. One warm-up start per method is excluded (for `forkserver` it
//! launches the server). A raw baseline, written here with libc, times
//! `fork()` + `_exit(0)` in the child + `waitpid`: the floor any fork-based
//! start pays. Its samples are interleaved with those of our fork start, so
//! the ratio of the two compares like with like; forkserver and spawn are
//! measured after, one method at a time.

use std::time::{Duration, Instant};

use multiproc::prelude::*;

use super::{Better, Case, CaseOutput, Figure, Options, PeerQuery, Stats, Target};

/// The case's registry entry.
pub(crate) const CASE: Case = Case {
    name: "process",
    about: "start+join latency of a no-op #[process_fn] per start method, vs raw fork and Python",
    peer_group: Some("process"),
    run,
};

const NAME: &str = "process";

/// Goal for our fork start + join over the raw fork loop.
const FORK_OVER_RAW_MAX: f64 = 1.5;
/// Goal for our forkserver start + join over the raw fork loop.
const FORKSERVER_OVER_RAW_MAX: f64 = 3.0;
/// Goal for our spawn against Python's spawn: this many times faster.
const SPAWN_VS_PYTHON_MIN: f64 = 20.0;

/// The entry every sample starts: does nothing, returns nothing.
#[process_fn]
fn noop() {}

/// How many timed samples a method gets (Python takes 50 for each).
fn samples(method: Option<StartMethod>, quick: bool) -> usize {
    match (method, quick) {
        (None | Some(StartMethod::Fork), false) => 200,
        (_, false) => 50,
        (None | Some(StartMethod::Fork), true) => 40,
        (_, true) => 10,
    }
}

/// One start + join of `noop`.
fn start_join(method: StartMethod) -> Result<Duration, String> {
    let t = Instant::now();
    let mut p = Process::builder()
        .start_method(method)
        .start(noop, ())
        .map_err(|e| format!("starting noop with {method}: {e}"))?;
    p.join()
        .map_err(|e| format!("joining noop started with {method}: {e}"))?;
    let elapsed = t.elapsed();
    if p.exitcode() != Some(0) {
        return Err(format!("noop started with {method} exited with {:?}", p.exitcode()));
    }
    Ok(elapsed)
}

/// One raw `fork()` + child `_exit(0)` + `waitpid`.
fn raw_fork() -> Result<Duration, String> {
    let t = Instant::now();
    // SAFETY: this program is single-threaded here, and the child calls only
    // `_exit`, which is async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: `_exit` ends the child at once, without running the
        // parent's atexit handlers or flushing its stdio buffers.
        unsafe { libc::_exit(0) };
    }
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a valid, writable c_int for the call.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waitpid: {e}"));
        }
    }
    let elapsed = t.elapsed();
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("raw fork child ended with status {status:#x}"));
    }
    Ok(elapsed)
}

/// One warm-up (excluded), then `n` timed samples, in milliseconds.
fn measure(n: usize, mut once: impl FnMut() -> Result<Duration, String>) -> Result<Stats, String> {
    once()?;
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        ms.push(once()?.as_secs_f64() * 1e3);
    }
    Ok(Stats::of(&ms))
}

/// Like [`measure`] for two loops at once: one warm-up each, then `n`
/// samples of each, interleaved, the first of each pair alternating. Both
/// then see the same machine state, and neither always takes the same slot
/// of a pair (raw fork times alternate between two modes from one sample to
/// the next on this kind of machine), which keeps their ratio stable.
fn measure_interleaved(
    n: usize,
    mut a: impl FnMut() -> Result<Duration, String>,
    mut b: impl FnMut() -> Result<Duration, String>,
) -> Result<(Stats, Stats), String> {
    a()?;
    b()?;
    let (mut ms_a, mut ms_b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        if i % 2 == 0 {
            ms_a.push(a()?.as_secs_f64() * 1e3);
            ms_b.push(b()?.as_secs_f64() * 1e3);
        } else {
            ms_b.push(b()?.as_secs_f64() * 1e3);
            ms_a.push(a()?.as_secs_f64() * 1e3);
        }
    }
    Ok((Stats::of(&ms_a), Stats::of(&ms_b)))
}

fn run(options: &Options) -> Result<CaseOutput, String> {
    let mut figures = Vec::new();
    let n_raw = samples(None, options.quick);

    // The raw loop alone, as the brief's baseline; then again, interleaved
    // with our fork start (like for like for their ratio); then forkserver
    // and spawn, one method at a time, as Python measures them.
    let raw = measure(n_raw, raw_fork)?;
    let (raw_mixed, fork) = measure_interleaved(n_raw, raw_fork, || start_join(StartMethod::Fork))?;
    for (name, stats, stat, how) in [
        ("raw fork+_exit+waitpid median", raw.median, "median", "own loop"),
        ("raw fork+_exit+waitpid p90", raw.p90, "p90", "own loop"),
        (
            "raw fork, interleaved w/ our fork, median",
            raw_mixed.median,
            "median",
            "interleaved with our fork",
        ),
    ] {
        figures.push(
            Figure::new(NAME, name, stats, "ms", Better::Lower)
                .with("n", n_raw)
                .with("stat", stat)
                .with("sampling", how),
        );
    }

    let mut medians = Vec::new();
    for method in [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn] {
        let n = samples(Some(method), options.quick);
        let (stats, how) = match method {
            StartMethod::Fork => (fork, "interleaved with raw fork"),
            _ => (measure(n, || start_join(method))?, "own loop"),
        };
        medians.push((method, stats.median));
        let peer = PeerQuery::new("process_start_join").filter("start_method", method.to_string());
        let mut median = Figure::new(
            NAME,
            format!("start+join {method} median"),
            stats.median,
            "ms",
            Better::Lower,
        )
        .peer(peer.clone())
        .with("start_method", method.to_string())
        .with("n", n)
        .with("stat", "median")
        .with("sampling", how);
        if method == StartMethod::Spawn {
            median = median.target(Target::PeerFactorAtLeast(SPAWN_VS_PYTHON_MIN));
        }
        figures.push(median);
        figures.push(
            Figure::new(NAME, format!("start+join {method} p90"), stats.p90, "ms", Better::Lower)
                .peer(peer.field("p90_ms"))
                .with("start_method", method.to_string())
                .with("n", n)
                .with("stat", "p90")
                .with("sampling", how),
        );
    }

    let median_of = |method| {
        medians
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, v)| *v)
            .expect("measured above")
    };
    // Each target ratio compares like with like: interleaved with
    // interleaved, own loop with own loop.
    figures.push(
        Figure::new(
            NAME,
            "fork / raw fork (interleaved medians)",
            median_of(StartMethod::Fork) / raw_mixed.median,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(FORK_OVER_RAW_MAX))
        .with("start_method", "fork"),
    );
    figures.push(
        Figure::new(
            NAME,
            "fork / raw fork own loop (info)",
            median_of(StartMethod::Fork) / raw.median,
            "x",
            Better::Lower,
        )
        .with("start_method", "fork"),
    );
    figures.push(
        Figure::new(
            NAME,
            "forkserver / raw fork own loop",
            median_of(StartMethod::ForkServer) / raw.median,
            "x",
            Better::Lower,
        )
        .target(Target::AtMost(FORKSERVER_OVER_RAW_MAX))
        .with("start_method", "forkserver"),
    );

    Ok(CaseOutput {
        figures,
        sections: Vec::new(),
    })
}
