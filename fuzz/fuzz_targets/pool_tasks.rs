#![no_main]
//! `multiproc::fuzz::run("pool_tasks", …)`: arbitrary bytes into that decoder.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = multiproc::fuzz::run("pool_tasks", data);
});
