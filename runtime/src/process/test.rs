//! Unit tests: entries defined inside the library crate itself run in
//! children of every start method.

use super::*;
use crate::process_fn;

#[process_fn]
fn triple(x: i64) -> i64 {
    x * 3
}

#[test]
fn unit_test_entries_run_with_every_start_method() {
    for method in [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn] {
        let mut p = Process::builder().start_method(method).start(triple, (14,)).unwrap();
        assert_eq!(p.join_timeout(Duration::from_secs(60)).unwrap(), 42, "{method}");
        assert_eq!(p.exitcode(), Some(0));
    }
}

#[test]
fn start_method_parses_and_prints() {
    for method in [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn] {
        assert_eq!(method.to_string().parse::<StartMethod>().unwrap(), method);
    }
    assert!("thread".parse::<StartMethod>().unwrap_err().contains("unknown start method"));
}
