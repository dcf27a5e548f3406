//! Unit tests: entries defined inside the library crate itself run in
//! children of every start method.

use std::time::Duration;

use super::child::Outcome;
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
    assert!("thread"
        .parse::<StartMethod>()
        .unwrap_err()
        .contains("unknown start method"));
}

/// Forks a child that writes `bytes` raw on its result socket and exits 0,
/// then joins it as if it were a real child.
fn join_raw_child(bytes: &'static [u8]) -> Result<u64> {
    let (parent_end, child_end) = sys::socketpair().unwrap();
    // SAFETY: the child only writes on its socket and exits.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::fork() };
    match forked.unwrap() {
        sys::Forked::Child => {
            let _ = sys::write_all(child_end.as_fd(), bytes);
            sys::exit_now(0)
        }
        sys::Forked::Parent(pid) => {
            drop(child_end);
            sys::set_nonblocking(parent_end.as_fd(), true).unwrap();
            let launched = Launched::local(pid, parent_end).unwrap();
            let mut p: Process<u64> = Process::new(launched, "raw".into(), false, StartMethod::Fork);
            p.join_timeout(Duration::from_secs(60))
        }
    }
}

#[test]
fn garbage_from_a_child_is_a_codec_error() {
    // A complete frame whose body is not an `Outcome`.
    let err = join_raw_child(&[3, 0, 0, 0, 0xff, 0xff, 0xff]).unwrap_err();
    assert!(matches!(err, Error::Codec(_)), "{err:?}");
}

#[test]
fn an_oversized_frame_from_a_child_is_refused() {
    let err = join_raw_child(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]).unwrap_err();
    assert!(matches!(err, Error::FrameTooLarge { .. }), "{err:?}");
}

#[test]
fn a_truncated_frame_from_a_child_reports_the_exit() {
    // Announces 100 bytes, sends 3, exits: no outcome, so the exit status.
    let err = join_raw_child(&[100, 0, 0, 0, 1, 2, 3]).unwrap_err();
    assert!(matches!(err, Error::Exited { code: 0, .. }), "{err:?}");
}

#[test]
fn a_valid_outcome_with_a_wrong_type_is_a_codec_error() {
    // Outcome::Returned(vec![]) decodes, but an empty body is no u64.
    let frame = crate::codec::encode_frame(&Outcome::Returned(Vec::new())).unwrap();
    let frame: &'static [u8] = Box::leak(frame.into_boxed_slice());
    let err = join_raw_child(frame).unwrap_err();
    assert!(matches!(err, Error::Codec(_)), "{err:?}");
}
