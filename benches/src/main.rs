//! The multiproc benchmark harness: our figures next to CPython's, in one run.
//!
//! # Running it
//!
//! ```text
//! cargo run --release -p multiproc-benches -- [CASE…] [--no-python] [--quick] [--json PATH]
//! ```
//!
//! - `CASE…` — the cases to run (all when none is named); `--list` names them;
//! - `--no-python` — skip the Python peer (its columns stay empty); the peer
//!   is also skipped, with a note, when `python3` cannot be run;
//! - `--quick` — fewer samples and shorter timing windows: a smoke test of
//!   the harness, not figures to quote;
//! - `--json PATH` — write the JSON lines to `PATH` instead of after the
//!   table on stdout.
//!
//! Progress goes to stderr; stdout has the table(s), then (without `--json`)
//! a `# JSON lines` marker and one JSON object per figure: `case`, `figure`,
//! `value`, `unit`, `better` (`"lower"` or `"higher"`), `peer_value`,
//! `peer_source`, `ratio` (ours / peer, `null` without a peer), `target`,
//! `target_met`, and the case's own extra fields.
//!
//! For each case with a peer group, the harness runs our measurement first,
//! then `python3 benches/peers/py_baseline.py GROUP` (CPython's
//! `multiprocessing`), never both at once, so they do not share the CPUs.
//!
//! # Cases
//!
//! - `process` — start + join latency of a trivial `#[process_fn]` (`noop`)
//!   with each start method (`fork`, `forkserver`, `spawn`): median and p90
//!   over 200 samples for fork and 50 for the others (as Python), after one
//!   excluded warm-up (which, for `forkserver`, starts the server). Also a raw
//!   baseline written here with libc — `fork()`, `_exit(0)` in the child,
//!   `waitpid`, its samples interleaved with our fork's — and the ratios our fork / raw fork (target ≤ 1.5×), our
//!   forkserver / raw fork (target ≤ 3×), and our spawn against Python's
//!   spawn (target: ours ≥ 20× faster). Peer group: `process`
//!   (`process_start_join`).
//! - `codec` — serde codecs on the shapes a process library carries: 10 000
//!   `u64` (small and full-range), 1 000 small structs (`String`, `f64`,
//!   `Option<u32>`), 1 MiB of bytes (as a plain `Vec<u8>`, a serde sequence,
//!   and as `serde_bytes::ByteBuf`, serde bytes) and a one-`u64` tuple.
//!   Encoded size, encode and decode time per value and throughput, for
//!   postcard (the current codec, through `multiproc::codec`), bitcode
//!   (serde mode) and bincode 2 (serde, standard config). No Python peer.
//! - `uneven` — tasks of uneven length on 2 workers, which spin on the
//!   monotonic clock: two 1.5 s tasks on `Pool(2)` (wall time), a quick task
//!   beside a worker busy for 3 s (latency, target < 10 ms), and 400 seeded
//!   heavy-tailed durations through the pools' and executors' `map`s
//!   (makespan over `max(sum / 2, longest)`, target ≤ 1.05×). Peer group:
//!   `uneven` (the same durations, from the same generator and seed).
//!
//! - `closures` — a closure capturing a 1 MiB table against the table in a
//!   pool initializer (bytes of captures sent per call, time ratio), and
//!   `par_reduce!` summing 10 M `u64` against rayon and against `par_map!`
//!   followed by a local sum. No Python peer.
//!
//! Adding a case: a file in `src/cases/` that exports a `cases::Case`, and
//! one line in the registry, `cases::CASES`.

mod cases;
mod common;
mod peers;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use cases::{Case, Options};
use report::Row;

const USAGE: &str = "usage: multiproc-benches [CASE…] [--no-python] [--quick] [--json PATH] [--list]";

/// What the command line asked for.
#[derive(Debug)]
struct Args {
    cases: Vec<&'static Case>,
    no_python: bool,
    quick: bool,
    json: Option<PathBuf>,
}

/// Parses the command line; `Err` carries the message to print (and
/// `Ok(None)` means a help or list request was answered).
fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        cases: Vec::new(),
        no_python: false,
        quick: false,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--no-python" => args.no_python = true,
            "--quick" => args.quick = true,
            "--json" => {
                let path = it.next().ok_or("--json needs a path")?;
                args.json = Some(PathBuf::from(path));
            }
            "--list" => {
                for case in cases::CASES {
                    println!("{:<10} {}", case.name, case.about);
                }
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                println!("cases: {}", case_names());
                return Ok(None);
            }
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option `{flag}`\n{USAGE}"));
            }
            name => {
                let case =
                    cases::find(name).ok_or_else(|| format!("unknown case `{name}`; cases: {}", case_names()))?;
                if !args.cases.iter().any(|c| c.name == case.name) {
                    args.cases.push(case);
                }
            }
        }
    }
    if args.cases.is_empty() {
        args.cases = cases::CASES.iter().collect();
    }
    Ok(Some(args))
}

fn case_names() -> String {
    cases::CASES.iter().map(|c| c.name).collect::<Vec<_>>().join(" ")
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let options = Options { quick: args.quick };

    let python = if args.no_python {
        None
    } else {
        match peers::python_version() {
            Ok(version) => Some(version),
            Err(why) => {
                eprintln!("note: no Python peer ({why}); peer columns stay empty");
                None
            }
        }
    };

    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut sections: Vec<String> = Vec::new();
    let mut failed = false;
    for case in &args.cases {
        eprintln!("[{}] measuring ours…", case.name);
        let t = Instant::now();
        let output = match (case.run)(&options) {
            Ok(output) => output,
            Err(why) => {
                eprintln!("[{}] FAILED: {why}", case.name);
                failed = true;
                continue;
            }
        };
        eprintln!("[{}] ours done in {:.2} s", case.name, t.elapsed().as_secs_f64());

        let peer = match (case.peer_group, &python) {
            (Some(group), Some(_)) => {
                eprintln!("[{}] running Python peer group `{group}`…", case.name);
                let t = Instant::now();
                match peers::run_group(group) {
                    Ok(run) => {
                        eprintln!("[{}] Python done in {:.1} s", case.name, t.elapsed().as_secs_f64());
                        Some(run)
                    }
                    Err(why) => {
                        eprintln!("[{}] Python peer failed: {why}", case.name);
                        None
                    }
                }
            }
            _ => None,
        };
        for figure in output.figures {
            let peer_value = match (&figure.peer, &peer) {
                (Some(query), Some(run)) => run.lookup(query),
                _ => None,
            };
            rows.push(Row { figure, peer_value });
        }
        sections.extend(output.sections);
    }

    let mode = if args.quick {
        "quick (smoke test: do not quote)"
    } else {
        "full"
    };
    let peer = match &python {
        Some(version) => format!("CPython {version} (benches/peers/py_baseline.py)"),
        None => "none".to_string(),
    };
    println!(
        "multiproc benchmarks — mode: {mode}; peer: {peer}; cpus: {}; total {:.1} s",
        multiproc::cpu_count(),
        started.elapsed().as_secs_f64()
    );
    println!();
    print!("{}", report::table(&rows));
    for section in &sections {
        println!();
        print!("{section}");
    }

    let lines = report::json_lines(&rows);
    match &args.json {
        Some(path) => {
            let mut text = lines.join("\n");
            text.push('\n');
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {} JSON lines to {}", lines.len(), path.display());
        }
        None => {
            println!();
            println!("# JSON lines (one object per figure)");
            for line in &lines {
                println!("{line}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
