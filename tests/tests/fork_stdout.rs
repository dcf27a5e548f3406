//! Buffered stdout is neither lost nor printed twice across a fork.
//!
//! Runs without the test harness (its output capture would hide the real
//! file descriptor): the test re-runs this binary with stdout on a pipe.

use std::io::Write;
use std::process::Command;

use multiproc::prelude::*;

#[process_fn]
fn say(word: String) {
    println!("{word}");
}

fn child_mode() {
    // No newline: this sits in Rust's line buffer when the fork happens.
    print!("partial-");
    for method in multiproc_tests::METHODS {
        Process::builder()
            .start_method(method)
            .start(say, (format!("child-{method}"),))
            .unwrap()
            .join()
            .unwrap();
    }
    let mut p = Process::builder().fork(|| print!("unterminated")).unwrap();
    p.join().unwrap();
    println!("end");
    std::io::stdout().flush().unwrap();
}

fn main() {
    if std::env::var_os("FORK_STDOUT_CHILD").is_some() {
        child_mode();
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .env("FORK_STDOUT_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        if !ok {
            failed += 1;
            eprintln!("fork_stdout: {what}\n--- stdout ---\n{stdout}");
        }
    };
    check(
        stdout.matches("partial-").count() == 1,
        "the parent's buffered output was printed twice or lost",
    );
    for method in multiproc_tests::METHODS {
        check(
            stdout.contains(&format!("child-{method}\n")),
            "a child's line is missing",
        );
    }
    check(stdout.contains("unterminated"), "a child's unterminated line was lost");
    check(stdout.trim_end().ends_with("end"), "the parent's last line is missing");
    println!(
        "test result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        1 - failed.min(1)
    );
    std::process::exit(i32::from(failed > 0));
}
