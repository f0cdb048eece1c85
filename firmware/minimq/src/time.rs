//! minimq's time base: an `embassy-time` driver reading the board's SysTick milliseconds.
//!
//! minimq takes its time from `embassy-time`, which calls the one driver linked into the
//! firmware. The tick rate is the board's (`tick-hz-1_000` in the workspace manifest).

use core::cell::Cell;
use core::task::Waker;

use cortex_m::interrupt::{self, Mutex};
use embassy_time_driver::Driver;
use iotcloud_core::Clock;
use mps2_board::SysTickClock;

const _: () = assert!(
    embassy_time_driver::TICK_HZ == 1000,
    "the driver counts the SysTick milliseconds: enable embassy-time-driver's tick-hz-1_000"
);

/// The board's clock as the `embassy-time` driver; time stands at 0 until [`install`].
pub struct SysTickDriver {
    clock: Mutex<Cell<Option<SysTickClock>>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    clock: Mutex::new(Cell::new(None)),
});

/// Makes the started SysTick clock the time of `embassy-time`, and so of minimq.
pub fn install(clock: SysTickClock) {
    interrupt::free(|cs| DRIVER.clock.borrow(cs).set(Some(clock)));
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        interrupt::free(|cs| self.clock.borrow(cs).get()).map_or(0, |clock| clock.now_ms())
    }

    fn schedule_wake(&self, _at: u64, waker: &Waker) {
        // The executor (`embassy_futures::block_on`) polls in a loop and has no timer queue:
        // the waiting future checks its deadline each time it is polled, as the board's
        // `Clock::sleep_until` does.
        waker.wake_by_ref();
    }
}
