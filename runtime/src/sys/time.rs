//! The monotonic clock, the same in every process (nix).

use nix::time::{clock_gettime, ClockId};

/// `CLOCK_MONOTONIC` in nanoseconds: the same clock in every process.
pub(crate) fn monotonic_ns() -> u64 {
    // The monotonic clock exists on every Linux this crate supports (5.4+),
    // so the call cannot fail; 0 would only say "no time passed".
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
}
