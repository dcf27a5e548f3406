//! Deadlines from the timeouts callers give: `Instant + Duration` panics
//! when the sum overflows, and `Duration::MAX` is a natural "for ever".

use std::time::{Duration, Instant};

/// About a century: the deadline of a timeout too long for an `Instant`.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + timeout`; `None` (no deadline) when that is past what an
/// `Instant` can hold.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// `now + timeout`, or about a century from now when that is past what an
/// `Instant` can hold (for code that needs an `Instant`).
pub(crate) fn after_or_far(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or(now + FAR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_timeouts_do_not_overflow() {
        assert!(after(Duration::MAX).is_none());
        assert!(after_or_far(Duration::MAX) > Instant::now() + Duration::from_secs(3600));
        assert!(after(Duration::from_secs(1)).is_some());
    }
}
