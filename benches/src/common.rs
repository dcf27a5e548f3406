//! Pieces that several of the benchmark binaries use. Each binary includes
//! this module and uses what it needs, so what one of them leaves unused is
//! not dead code.

#![allow(dead_code)]

use std::hint::black_box;

use multiproc::prelude::*;

/// A deterministic xorshift64* generator: every run draws the same numbers.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// About half a millisecond of arithmetic that the optimizer cannot skip.
#[process_fn]
pub(crate) fn burn(seed: u64) -> u64 {
    let mut acc = seed;
    for i in 0..400_000u64 {
        acc = black_box(acc.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    acc
}

/// A `/proc/self/status` figure in KiB (`VmRSS`, `VmHWM`, …); 0 if absent.
pub(crate) fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
