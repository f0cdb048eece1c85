//! [`EmbassyClock`]: monotonic time and sleeping from embassy-time, and the Unix time the
//! application sets in a [`WallClock`].

use core::cell::Cell;

use critical_section::Mutex;
use embassy_time::{Instant, Timer};
use iotcloud_core::Clock;

/// The Unix time, as the application learns it: from SNTP, the modem (NITZ, `AT+CCLK`), an
/// RTC, or the cloud's own time answer. It keeps the offset between embassy-time's
/// monotonic clock and the Unix epoch, so it keeps running between settings.
///
/// Shared between tasks without `unsafe`: put it in a `static` and set it from the task
/// that learns the time, while the device reads it through its [`EmbassyClock`]. It is a
/// `critical_section::Mutex`, so the firmware needs a critical-section implementation, as
/// embassy already does (`cortex-m/critical-section-single-core` on a Cortex-M).
///
/// ```
/// use hal_embassy::WallClock;
/// static WALL: WallClock = WallClock::new();
/// // In the task that asked an SNTP server (seconds since 1970 → milliseconds):
/// # let sntp_seconds = 1_700_000_000u64;
/// WALL.set_unix_time_ms(sntp_seconds * 1000);
/// assert!(WALL.unix_time_ms().is_some());
/// ```
#[derive(Debug)]
pub struct WallClock {
    /// Unix milliseconds at embassy-time's zero; `None` until set.
    epoch_offset_ms: Mutex<Cell<Option<u64>>>,
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl WallClock {
    /// A wall clock that does not know the time yet.
    pub const fn new() -> Self {
        WallClock {
            epoch_offset_ms: Mutex::new(Cell::new(None)),
        }
    }

    /// Sets the Unix time to `unix_time_ms` (milliseconds since 1970-01-01 UTC) as of now.
    /// A time earlier than embassy-time's uptime cannot be right and is ignored.
    pub fn set_unix_time_ms(&self, unix_time_ms: u64) {
        let Some(offset) = unix_time_ms.checked_sub(Instant::now().as_millis()) else {
            return;
        };
        critical_section::with(|cs| self.epoch_offset_ms.borrow(cs).set(Some(offset)));
    }

    /// Forgets the time (e.g. when the source that set it is known to have been wrong).
    pub fn clear(&self) {
        critical_section::with(|cs| self.epoch_offset_ms.borrow(cs).set(None));
    }

    /// Milliseconds since the Unix epoch, or `None` while never set.
    pub fn unix_time_ms(&self) -> Option<u64> {
        let offset = critical_section::with(|cs| self.epoch_offset_ms.borrow(cs).get())?;
        Some(offset.saturating_add(Instant::now().as_millis()))
    }
}

/// The [`Clock`] of a device on embassy: monotonic milliseconds and sleeps from
/// embassy-time (its time driver and tick rate are the firmware's), and the Unix time of a
/// [`WallClock`] the application sets.
///
/// The cloud's own time answer, when the device gets one, also sets the wall clock
/// (through [`Clock::set_unix_time_ms`]), so other tasks see it too.
#[derive(Debug, Clone, Copy)]
pub struct EmbassyClock<'w> {
    wall: &'w WallClock,
}

impl<'w> EmbassyClock<'w> {
    /// A clock whose Unix time is `wall`'s.
    pub const fn new(wall: &'w WallClock) -> Self {
        EmbassyClock { wall }
    }

    /// The wall clock it reads, to set it from elsewhere.
    pub fn wall(&self) -> &'w WallClock {
        self.wall
    }
}

impl Clock for EmbassyClock<'_> {
    fn now_ms(&self) -> u64 {
        Instant::now().as_millis()
    }

    fn unix_time_ms(&self) -> Option<u64> {
        self.wall.unix_time_ms()
    }

    /// Waits with embassy-time's `Timer::at`, so the executor sleeps meanwhile. A deadline
    /// beyond what embassy-time can count (`u64::MAX` from a saturating "now + timeout")
    /// waits for ever rather than overflowing.
    async fn sleep_until(&self, deadline_ms: u64) {
        let at = Instant::try_from_millis(deadline_ms).unwrap_or(Instant::MAX);
        Timer::at(at).await
    }

    fn set_unix_time_ms(&self, unix_time_ms: u64) {
        self.wall.set_unix_time_ms(unix_time_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embassy_futures::select::{Either, select};

    #[test]
    fn wall_time_is_unknown_until_set_and_then_runs_with_the_monotonic_clock() {
        let wall = WallClock::new();
        let clock = EmbassyClock::new(&wall);
        assert_eq!(clock.unix_time_ms(), None);
        let set = 1_700_000_000_000;
        clock.set_unix_time_ms(set);
        let before = clock.now_ms();
        embassy_futures::block_on(clock.sleep_until(before + 20));
        let now = clock.unix_time_ms().unwrap();
        assert!(now >= set + 20, "{now} should be at least {}", set + 20);
        wall.clear();
        assert_eq!(clock.unix_time_ms(), None);
    }

    #[test]
    fn a_deadline_beyond_the_timer_waits_instead_of_overflowing() {
        let wall = WallClock::new();
        let clock = EmbassyClock::new(&wall);
        let near = clock.now_ms() + 20;
        let raced =
            embassy_futures::block_on(select(clock.sleep_until(u64::MAX), clock.sleep_until(near)));
        assert!(matches!(raced, Either::Second(())));
    }
}
