//! The fuzzing command: mutates valid inputs of every decoder that reads
//! bytes from another process or the network, for a fixed time budget per
//! target, and reports executions and findings (a panic, or a call that
//! takes longer than a second). It also throws mutated bytes at a live
//! `BaseManager` — before and after authentication — and checks after each
//! session that an honest client is still served.
//!
//! ```sh
//! cargo run --release -p multiproc-benches --bin fuzz -- [--seconds N] [--seed S]
//! ```
//!
//! A plain mutation fuzzer — bit flips, byte changes, truncation,
//! duplication and splicing over a seed corpus of valid encodings — beside
//! the coverage-guided libFuzzer targets in `fuzz/` (`fuzz/run.sh`): it
//! needs no extra tool, and it also drives a live server over the network.
//! A finding is written to `target/fuzz-findings/<target>-<n>.bin` and the
//! command exits non-zero.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use multiproc::fuzz;
use multiproc::manager::{BaseManager, DictProxy, Object};

mod common;
use common::Rng;

/// One mutation of `input` (with `other` for splicing).
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = [0, 1, 0x7f, 0x80, 0xff][rng.below(5)];
            }
            2 if !out.is_empty() => out.truncate(rng.below(out.len())),
            3 => {
                let i = rng.below(out.len() + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                out.splice(i..i, bytes);
            }
            4 if !out.is_empty() => {
                let i = rng.below(out.len());
                let j = i + rng.below(out.len() - i);
                let piece = out[i..=j.min(out.len() - 1)].to_vec();
                out.extend(piece);
            }
            5 if !other.is_empty() => {
                let cut = rng.below(out.len() + 1);
                let from = rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            _ => {
                // A length-like varint turned huge.
                let i = rng.below(out.len() + 1);
                out.splice(i..i, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
        }
    }
    out
}

fn save(target: &str, n: usize, input: &[u8]) {
    let dir = std::path::Path::new("target/fuzz-findings");
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(format!("{target}-{n}.bin")), input);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let budget = Duration::from_secs(flag("--seconds").unwrap_or(10));
    let seed = flag("--seed").unwrap_or(0x9E37_79B9_7F4A_7C15) | 1;
    println!("fuzzing: {budget:?} per target, seed {seed}");
    // A caught panic is a finding, counted below; keep the output short.
    panic::set_hook(Box::new(|_| {}));
    let mut findings = 0;
    let mut rng = Rng(seed);
    println!(
        "{:<18} {:>12} {:>10} {:>9}",
        "target", "executions", "decoded", "findings"
    );
    for target in fuzz::TARGETS {
        let corpus = fuzz::seeds(target);
        let (mut execs, mut decoded, mut found) = (0u64, 0u64, 0usize);
        let started = Instant::now();
        while started.elapsed() < budget {
            let base = &corpus[rng.below(corpus.len())];
            let other = &corpus[rng.below(corpus.len())];
            let input = mutate(&mut rng, base, other);
            let t = Instant::now();
            match panic::catch_unwind(AssertUnwindSafe(|| fuzz::run(target, &input))) {
                Ok(Ok(ok)) => decoded += u64::from(ok),
                Ok(Err(_)) | Err(_) => {
                    found += 1;
                    save(target, found, &input);
                }
            }
            if t.elapsed() > Duration::from_secs(1) {
                found += 1;
                save(&format!("{target}-slow"), found, &input);
            }
            execs += 1;
        }
        println!("{target:<18} {execs:>12} {decoded:>10} {found:>9}");
        findings += found;
    }

    // The network: a live server, mutated bytes before and after the handshake.
    let server = BaseManager::builder()
        .authkey(b"fuzz")
        .register_shared("d", Object::dict())
        .start()
        .expect("starting a BaseManager");
    let address = server.address().to_string();
    let honest = BaseManager::connect(&address, b"fuzz").expect("connecting");
    let dict: DictProxy<u32, u32> = honest.get("d").expect("lookup");
    let corpus = fuzz::seeds("manager_request");
    let (mut sessions, mut lost) = (0u64, 0usize);
    let started = Instant::now();
    while started.elapsed() < budget {
        let authenticated = rng.below(2) == 1;
        let base = &corpus[rng.below(corpus.len())];
        let mut frame = (base.len() as u32).to_le_bytes().to_vec();
        frame.extend_from_slice(base);
        let input = mutate(&mut rng, &frame, base);
        let _ = fuzz::manager_session(&address, b"fuzz", authenticated, &input);
        sessions += 1;
        if sessions % 16 == 0 && dict.insert(&1, &(sessions as u32)).is_err() {
            lost += 1;
            save("manager_session", lost, &input);
        }
    }
    let still = dict.get(&1).is_ok();
    println!(
        "{:<18} {:>12} {:>10} {:>9}",
        "manager_session",
        sessions,
        if still { "served" } else { "LOST" },
        lost
    );
    findings += lost + usize::from(!still);
    server.shutdown();
    if findings > 0 {
        println!("{findings} findings: inputs in target/fuzz-findings/");
        std::process::exit(1);
    }
    println!("no findings");
}
