//! Internal time: signed nanoseconds on the caller's clock.
//!
//! Signed, because Linux starts a new member's "last received" time one interval (and a bit)
//! in the past, which may lie before the caller's origin.

use core::time::Duration;

/// A point in time, in nanoseconds since the caller's origin (may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Instant(i128);

impl Instant {
    /// Long before anything: what Linux's zero-initialised jiffies fields mean in practice.
    pub(crate) const NEVER: Self = Self(i128::MIN / 4);

    pub(crate) fn from_duration(d: Duration) -> Self {
        Self(d.as_nanos() as i128)
    }

    /// The time as a `Duration` (0 if before the origin).
    pub(crate) fn to_duration(self) -> Duration {
        if self.0 <= 0 {
            return Duration::ZERO;
        }
        let secs = (self.0 / 1_000_000_000) as u64;
        let nanos = (self.0 % 1_000_000_000) as u32;
        Duration::new(secs, nanos)
    }

    pub(crate) const fn nanos(self) -> i128 {
        self.0
    }

    pub(crate) const fn plus_nanos(self, ns: i128) -> Self {
        Self(self.0 + ns)
    }
}

/// Milliseconds to nanoseconds.
pub(crate) const fn ms(ms: u32) -> i128 {
    ms as i128 * 1_000_000
}
