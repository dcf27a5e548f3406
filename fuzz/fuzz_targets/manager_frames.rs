#![no_main]
//! `multiproc::fuzz::run("manager_frames", …)`: see that target's doc in `runtime/src/fuzz.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = multiproc::fuzz::run("manager_frames", data);
});
