//! Compile-error tests of `#[process_fn]`, `par_map!` and `#[managed]`: every misuse in `ui/fail/` must
//! fail with the pinned diagnostic next to it, and every case in `ui/pass/`
//! must compile and run.
//!
//! Regenerate the `.stderr` files after an intended change to a message:
//! `TRYBUILD=overwrite cargo test -p multiproc-ui-tests`, then read them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
