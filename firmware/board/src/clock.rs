//! A millisecond clock driven by SysTick.

use core::future::poll_fn;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use iotcloud_core::Clock;

/// The CPU clock of the MPS2 FPGA images, which SysTick counts.
pub const CPU_HZ: u32 = 25_000_000;

/// Unix time (ms) the board believes it is at boot. The board has no real-time clock and
/// no network time: a fixed start lets time-stamped signatures be produced and checked.
pub const BOOT_UNIX_MS: u64 = 1_700_000_000_000;

static MS_LOW: AtomicU32 = AtomicU32::new(0);
static MS_HIGH: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    let low = MS_LOW.load(Ordering::Relaxed).wrapping_add(1);
    if low == 0 {
        MS_HIGH.fetch_add(1, Ordering::Relaxed);
    }
    MS_LOW.store(low, Ordering::Release);
}

/// Milliseconds since [`SysTickClock::start`], from the SysTick interrupt.
#[derive(Debug, Clone, Copy)]
pub struct SysTickClock {
    _started: (),
}

impl SysTickClock {
    /// Starts SysTick at 1 kHz.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(CPU_HZ / 1000 - 1);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        SysTickClock { _started: () }
    }
}

impl Clock for SysTickClock {
    fn now_ms(&self) -> u64 {
        // The high word changes only when the low one wraps: read until both agree.
        loop {
            let high = MS_HIGH.load(Ordering::Acquire);
            let low = MS_LOW.load(Ordering::Acquire);
            if MS_HIGH.load(Ordering::Acquire) == high {
                return (u64::from(high) << 32) | u64::from(low);
            }
        }
    }

    fn unix_time_ms(&self) -> Option<u64> {
        Some(BOOT_UNIX_MS + self.now_ms())
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        poll_fn(|cx| {
            if self.now_ms() >= deadline_ms {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }
}
