#![no_main]
//! `multiproc::fuzz::run("error", …)`: arbitrary bytes into that decoder.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = multiproc::fuzz::run("error", data);
});
