//! The process-wide default start method (Python's `set_start_method`,
//! `get_start_method`, `get_context`). In a file of its own: it changes a
//! global that the other tests of a binary would see.

use multiproc::prelude::*;
use multiproc::{get_context, get_start_method, set_start_method};
use multiproc_tests::PATIENCE;

/// How the child was started, as it sees it.
#[process_fn]
fn my_method() -> Option<StartMethod> {
    multiproc::current_process().start_method()
}

/// Before, every builder started children with ForkServer unless told
/// otherwise, and there was no way to say it once for the program.
#[test]
fn the_default_start_method_is_set_once_and_contexts_override_it() {
    assert_eq!(get_start_method(), StartMethod::ForkServer);
    let mut p = Process::builder().start(my_method, ()).unwrap();
    assert_eq!(p.join_timeout(PATIENCE).unwrap(), Some(StartMethod::ForkServer));

    set_start_method(StartMethod::Spawn, false).unwrap();
    assert_eq!(get_start_method(), StartMethod::Spawn);
    assert_eq!(StartMethod::default(), StartMethod::Spawn);
    let mut p = Process::builder().start(my_method, ()).unwrap();
    assert_eq!(p.join_timeout(PATIENCE).unwrap(), Some(StartMethod::Spawn));
    let pool = Pool::new(1).unwrap();
    assert_eq!(pool.apply(my_method, ()).unwrap(), Some(StartMethod::Spawn));
    drop(pool);

    // Once, as in Python; `force` changes it.
    let again = set_start_method(StartMethod::Fork, false).unwrap_err();
    assert!(again.to_string().contains("already set"), "{again}");
    assert_eq!(get_start_method(), StartMethod::Spawn);

    // A context names its own method, whatever the default.
    let ctx = get_context(StartMethod::Fork);
    let mut p = ctx.process().start(my_method, ()).unwrap();
    assert_eq!(p.join_timeout(PATIENCE).unwrap(), Some(StartMethod::Fork));
    let pool = ctx.pool().processes(1).build().unwrap();
    assert_eq!(pool.apply(my_method, ()).unwrap(), Some(StartMethod::Fork));

    set_start_method(StartMethod::ForkServer, true).unwrap();
    assert_eq!(get_start_method(), StartMethod::ForkServer);
}
