//! [`Clock`] from the operating system: tokio's monotonic timer and the system time.

use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use iotcloud_core::Clock;
use tokio::time::Instant;

/// The host's clocks. Must be used inside a tokio runtime (for `sleep_until`).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
    wall_time: bool,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemClock {
    /// Monotonic time from now on, and the system's wall-clock time.
    pub fn new() -> Self {
        SystemClock {
            start: Instant::now(),
            wall_time: true,
        }
    }

    /// A clock that reports the wall-clock time as unknown, as a module without network
    /// time does; for trying timestamp policies.
    pub fn without_wall_time() -> Self {
        SystemClock {
            wall_time: false,
            ..Self::new()
        }
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn unix_time_ms(&self) -> Option<u64> {
        if !self.wall_time {
            return None;
        }
        let since = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
        u64::try_from(since.as_millis()).ok()
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        tokio::time::sleep_until(self.start + Duration::from_millis(deadline_ms)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleeps_until_a_near_deadline_and_waits_on_a_far_one() {
        let clock = SystemClock::new();
        let near = clock.now_ms() + 20;
        clock.sleep_until(near).await;
        assert!(clock.now_ms() >= near);
        // `u64::MAX` is what a saturating "now + timeout" gives for a huge timeout: it must
        // wait, not panic on an overflowing instant.
        let far = tokio::time::timeout(Duration::from_millis(20), clock.sleep_until(u64::MAX));
        assert!(far.await.is_err());
    }
}
