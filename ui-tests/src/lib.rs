//! Compile-error tests of the macros: see `tests/ui.rs` and `ui/`.
