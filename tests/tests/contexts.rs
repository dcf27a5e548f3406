//! Spawn and ForkServer work from a binary, an example, an integration test
//! (this file), a unit test inside a library crate (`runtime`'s
//! `process::test`) and a doctest (`runtime`'s docs), with nothing but
//! `#[process_fn]`; a re-executed program never runs `main` or the tests.

use std::path::PathBuf;
use std::process::Command;

use multiproc::prelude::*;
use multiproc_tests::{METHODS, PATIENCE};

fn check_output(program: PathBuf, context: &str) {
    let out = Command::new(&program)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{context}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("main ran in").count(),
        1,
        "{context}: main ran more than once:\n{stdout}"
    );
    for method in METHODS {
        assert!(
            stdout.contains(&format!("{context} {method} ok 42")),
            "{context} {method}:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("{context}-local {method} ok 144")),
            "{context} {method}:\n{stdout}"
        );
    }
}

#[test]
fn from_a_binary() {
    check_output(PathBuf::from(env!("CARGO_BIN_EXE_context-bin")), "bin");
}

#[test]
fn from_an_example() {
    // target/debug/deps/contexts-… → target/debug/examples/context-example
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("context-example");
    assert!(
        example.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds the examples",
        example.display()
    );
    check_output(example, "example");
}

#[process_fn]
fn count_runs(marker: String) -> usize {
    std::fs::read_to_string(marker).map_or(0, |s| s.lines().count())
}

/// If a re-executed copy of this test binary ran the harness, it would run
/// this test again and append a second line to the marker file.
#[test]
fn a_reexecuted_test_binary_runs_no_tests() {
    let marker = std::env::temp_dir().join(format!("multiproc-rerun-{}", std::process::id()));
    std::fs::write(&marker, "ran\n").unwrap();
    let marker = marker.to_string_lossy().to_string();
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let runs = Process::builder()
            .start_method(method)
            .start(count_runs, (marker.clone(),))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap();
        assert_eq!(runs, 1, "{method}");
    }
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
    std::fs::remove_file(marker).unwrap();
}
