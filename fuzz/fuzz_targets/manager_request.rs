#![no_main]
//! `multiproc::fuzz::run("manager_request", …)`: arbitrary bytes into that decoder.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = multiproc::fuzz::run("manager_request", data);
});
