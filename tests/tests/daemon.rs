//! Daemon children die with their parent, even when the parent is killed
//! with SIGKILL; ordinary children run on.

use std::time::Duration;

use multiproc::prelude::*;
use multiproc_tests::{eventually, is_gone, METHODS, PATIENCE};

#[process_fn]
fn sleeper() {
    std::thread::sleep(Duration::from_secs(600));
}

/// A middle process: starts a sleeping grandchild, reports its pid through
/// a file, then sleeps until it is killed.
#[process_fn]
fn middle(method: String, daemon: bool, report: String) {
    let method: StartMethod = method.parse().unwrap();
    let child = Process::builder()
        .daemon(daemon)
        .start_method(method)
        .start(sleeper, ())
        .unwrap();
    std::fs::write(&report, child.pid().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(600));
}

fn grandchild_after_middle_is_killed(method: StartMethod, daemon: bool) -> i32 {
    let dir = std::env::temp_dir().join(format!("multiproc-daemon-{}-{method}-{daemon}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let report = dir.to_string_lossy().to_string();
    let mut mid = Process::builder()
        .start_method(StartMethod::Spawn)
        .start(middle, (method.to_string(), daemon, report.clone()))
        .unwrap();
    assert!(
        eventually(|| std::fs::read_to_string(&report).is_ok_and(|s| !s.is_empty())),
        "no report"
    );
    let pid: i32 = std::fs::read_to_string(&report).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(&report);
    mid.kill().unwrap();
    assert!(matches!(
        mid.join_timeout(PATIENCE),
        Err(Error::Signaled { signal: 9, .. })
    ));
    pid
}

#[test]
fn daemon_children_die_with_a_sigkilled_parent() {
    for method in METHODS {
        let pid = grandchild_after_middle_is_killed(method, true);
        assert!(
            eventually(|| is_gone(pid)),
            "{method}: daemon {pid} outlived its parent"
        );
    }
}

#[test]
fn ordinary_children_outlive_a_sigkilled_parent() {
    for method in METHODS {
        let pid = grandchild_after_middle_is_killed(method, false);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!is_gone(pid), "{method}: non-daemon {pid} died with its parent");
        multiproc_tests::send_signal(pid, libc::SIGKILL);
        assert!(eventually(|| is_gone(pid)));
    }
}
