//! Forks while other threads make their first use of the library: no child
//! may hang (issue: a child inherited a `Once` caught running and blocked
//! forever on its first lock, about 1 fork in 220).
//!
//! The long run, not in CI: `cargo run --release -p multiproc-tests --bin
//! fork-storm -- 10000`.

use std::process::Command;

#[test]
fn no_child_forked_during_first_uses_hangs() {
    let out = Command::new(env!("CARGO_BIN_EXE_fork-storm"))
        .arg("1500")
        .output()
        .expect("running fork-storm");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("stuck=0"),
        "fork-storm: {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
}
