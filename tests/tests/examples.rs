//! Every example of `examples/examples/` runs to success: the guide's
//! programs, ported, stay true. (`cargo test --workspace` builds them.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where `cargo test` put the example binaries.
fn examples_dir() -> PathBuf {
    // target/debug/deps/examples-… → target/debug/examples
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples")
}

fn example_names() -> Vec<String> {
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/examples");
    let mut names: Vec<String> = std::fs::read_dir(&sources)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "rs").then_some(stem)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_runs_to_success() {
    let names = example_names();
    assert!(names.len() >= 15, "found only {names:?}");
    let dir = examples_dir();
    let mut failures = Vec::new();
    // `mpi_*` examples need the `mpi` feature and `mpirun`: `tests/mpi.rs` runs them.
    for name in names.iter().filter(|n| !n.starts_with("mpi_")) {
        let exe = dir.join(name);
        assert!(
            exe.exists(),
            "{} is missing: run the tests with `cargo test --workspace`, which builds the examples",
            exe.display()
        );
        let mut child = Command::new(&exe)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drained on a thread, so a chatty example never blocks on a full pipe.
        let mut err = child.stderr.take().unwrap();
        let drain = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            text
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = drain.join().unwrap_or_default();
        match status {
            Some(s) if s.success() => {}
            Some(s) => failures.push(format!("{name}: {s}\n{stderr}")),
            None => failures.push(format!("{name}: still running after 120 s\n{stderr}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
