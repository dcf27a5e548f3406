#![no_main]
//! The frame reader, fed arbitrary bytes in uneven pieces.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = multiproc::fuzz::run("frame_reader", data);
});
