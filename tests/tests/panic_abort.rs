//! Under `panic = "abort"` a task's panic still comes back as
//! `Error::Panicked` with its message and location, for a `Process` (each
//! start method), a `Pool` and a `ProcessPoolExecutor` — not as a bare
//! "killed by SIGABRT". The program in `tests/abort/` is built with that
//! profile (its own workspace, into `target/abort`) and run here.

use std::path::Path;
use std::process::Command;

#[test]
fn a_panic_under_panic_abort_is_reported_as_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(root.join("tests/abort/Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target/abort"))
        .status()
        .expect("running cargo");
    assert!(built.success(), "building tests/abort failed");
    let out = Command::new(root.join("target/abort/debug/multiproc-abort-check"))
        .output()
        .expect("running the panic = \"abort\" program");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}: {stdout}", out.status);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 10, "{stdout}");
    for line in lines {
        if line.starts_with("pool after") {
            assert!(line.ends_with("Ok(4)"), "{line}");
        } else {
            assert!(
                line.contains("Panicked {")
                    && line.contains("message: \"item 3 exploded\"")
                    && line.contains("location: Some(\"src/main.rs:10:9\")"),
                "{line}"
            );
        }
    }
}
