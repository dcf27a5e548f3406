//! Two `#[process_fn]` items that resolve to the same stable name (possible
//! only for functions nested in different function bodies of one module) are
//! reported clearly when the program starts a process, never run by mistake.

use multiproc::prelude::*;

fn first() -> Process<u32> {
    #[process_fn]
    fn helper() -> u32 {
        1
    }
    Process::builder()
        .start_method(StartMethod::Spawn)
        .start(helper, ())
        .unwrap()
}

fn second() -> multiproc::Result<Process<u32>> {
    #[process_fn]
    fn helper() -> u32 {
        2
    }
    Process::builder().start(helper, ())
}

#[test]
fn duplicate_names_are_an_error_naming_both_places() {
    let err = second().unwrap_err();
    match &err {
        Error::DuplicateEntry { name, first, second } => {
            assert_eq!(name, "duplicate_entry::helper");
            assert!(first.starts_with("tests/tests/duplicate_entry.rs:"), "{first}");
            assert!(second.starts_with("tests/tests/duplicate_entry.rs:"), "{second}");
            assert_ne!(first, second);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("name = "));
    // Every start method refuses, the fork one included.
    assert!(std::panic::catch_unwind(first).is_err());
    assert!(Process::builder().fork(|| 1u8).is_ok());
}
