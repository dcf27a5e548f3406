//! Compile-error tests of `#[process_fn]`, `par_map!` and `#[managed]`: every misuse in `ui/fail/` must
//! fail with the pinned diagnostic next to it, and every case in `ui/pass/`
//! must compile and run.
//!
//! Regenerate the `.stderr` files after an intended change to a message:
//! `TRYBUILD=overwrite cargo test -p multiproc-ui-tests`, then read them.
//! `UI_ONLY="ui/fail/start_*.rs"` limits the failing cases to a glob.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    let failing = std::env::var("UI_ONLY").unwrap_or_else(|_| "ui/fail/*.rs".into());
    t.compile_fail(failing);
    t.pass("ui/pass/*.rs");
}
