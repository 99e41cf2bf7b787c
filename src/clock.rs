//! Span timestamps: wall-clock microseconds read through the monotonic clock.
//!
//! The wall clock is read once per process and paired with a monotonic
//! instant; every later timestamp is that anchor plus the monotonic time
//! elapsed. Durations therefore never go negative when the wall clock is
//! stepped, and one timestamp costs one monotonic clock read.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static ANCHOR: OnceLock<(u64, Instant)> = OnceLock::new();

fn anchor() -> &'static (u64, Instant) {
    ANCHOR.get_or_init(|| (system_time_micros(SystemTime::now()), Instant::now()))
}

/// Microseconds since the Unix epoch, now.
#[inline]
pub(crate) fn now_micros() -> u64 {
    let (wall, mono) = anchor();
    wall + mono.elapsed().as_micros() as u64
}

/// Microseconds since the Unix epoch of `t` (zero before the epoch).
pub(crate) fn system_time_micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_clock_tracks_wall_clock() {
        let a = now_micros();
        let wall = system_time_micros(SystemTime::now());
        let b = now_micros();
        assert!(b >= a);
        // Within a second of the wall clock: the anchor was taken moments ago.
        assert!(wall.abs_diff(b) < 1_000_000, "{wall} vs {b}");
    }
}
