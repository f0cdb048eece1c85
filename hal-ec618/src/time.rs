//! Timers and the [`Clock`]: the SDK's 64-bit millisecond tick, and UTC once the network (or
//! SNTP) has set it.
//!
//! A pending [`sleep_until`] stores its deadline and waker in one of [`TIMER_SLOTS`] static
//! slots. Whoever runs the futures must fire them: [`crate::executor::block_on`] does, by
//! sleeping on its semaphore only until the earliest deadline and then calling
//! [`wake_expired`]. Another executor must call [`wake_expired`] the same way.

use core::future::poll_fn;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::task::Poll;

use iotcloud_core::Clock;

use crate::sys;
use crate::waker::WakerSlot;

/// How many sleeps may be pending at once. A sleep that finds no free slot still completes,
/// but its task is polled again at once (busy waiting) until a slot frees up.
pub const TIMER_SLOTS: usize = 8;

/// 2020-01-01T00:00:00Z in ms: an RTC reading before this has never been set.
const EARLIEST_PLAUSIBLE_UTC_MS: u64 = 1_577_836_800_000;

struct TimerSlot {
    used: AtomicBool,
    /// Low 32 bits of the deadline in ms; compared with wrapping arithmetic.
    deadline: AtomicU32,
    waker: WakerSlot,
}

impl TimerSlot {
    const fn new() -> Self {
        TimerSlot {
            used: AtomicBool::new(false),
            deadline: AtomicU32::new(0),
            waker: WakerSlot::new(),
        }
    }
}

static TIMERS: [TimerSlot; TIMER_SLOTS] = [const { TimerSlot::new() }; TIMER_SLOTS];

/// Milliseconds since power-on (`luat_mcu_tick64_ms`; keeps counting through sleep).
pub fn now_ms() -> u64 {
    // SAFETY: no arguments, no preconditions; callable from any task.
    unsafe { sys::luat_mcu_tick64_ms() }
}

/// Wakes every pending sleep whose deadline has passed, and returns the milliseconds until the
/// next one (`None` if no sleep is pending).
pub fn wake_expired() -> Option<u64> {
    let now = now_ms() as u32;
    let mut next: Option<u64> = None;
    for slot in &TIMERS {
        if !slot.used.load(Ordering::Acquire) {
            continue;
        }
        let remaining = slot.deadline.load(Ordering::Acquire).wrapping_sub(now) as i32;
        if remaining <= 0 {
            slot.waker.wake();
        } else {
            let remaining = remaining as u64;
            next = Some(next.map_or(remaining, |n| n.min(remaining)));
        }
    }
    next
}

struct Claim(Option<usize>);

impl Claim {
    fn get(&mut self) -> Option<&'static TimerSlot> {
        if self.0.is_none() {
            self.0 = TIMERS.iter().position(|slot| {
                slot.used
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            });
        }
        self.0.map(|i| &TIMERS[i])
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(i) = self.0.take() {
            TIMERS[i].used.store(false, Ordering::Release);
        }
    }
}

/// Completes once [`now_ms`] has reached `deadline_ms`. Dropping it early is harmless.
pub async fn sleep_until(deadline_ms: u64) {
    let mut claim = Claim(None);
    poll_fn(|cx| {
        let now = now_ms();
        if now >= deadline_ms {
            return Poll::Ready(());
        }
        match claim.get() {
            Some(slot) => {
                // Far deadlines are stored as "in 2^30 ms"; the sleep re-arms when woken early.
                let wake_at = deadline_ms.min(now + (1 << 30)) as u32;
                slot.deadline.store(wake_at, Ordering::Release);
                slot.waker.register(cx.waker());
            }
            None => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    })
    .await
}

/// Completes `ms` milliseconds from now.
pub async fn sleep_ms(ms: u64) {
    sleep_until(now_ms().saturating_add(ms)).await
}

// ---------------------------------------------------------------------------------------------
// Wall-clock time
// ---------------------------------------------------------------------------------------------

/// Set once the network's time (NITZ) has reached the RTC.
static NETWORK_TIME: AtomicBool = AtomicBool::new(false);

/// UTC − tick, in ms, from SNTP or [`Ec618Clock::set_unix_time_ms`], kept as two halves behind
/// a sequence number (there is no 64-bit atomic on Cortex-M3). `SEQ` is odd while a writer is
/// in the middle; 0 means never set.
static OFFSET_SEQ: AtomicU32 = AtomicU32::new(0);
static OFFSET_HI: AtomicU32 = AtomicU32::new(0);
static OFFSET_LO: AtomicU32 = AtomicU32::new(0);

fn store_offset(offset: u64) -> bool {
    let seq = OFFSET_SEQ.load(Ordering::Acquire);
    // One writer at a time; a second concurrent writer drops its update rather than spin (a
    // spinning higher-priority task would starve the one it waits for).
    if seq % 2 == 1
        || OFFSET_SEQ
            .compare_exchange(
                seq,
                seq.wrapping_add(1),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
    {
        return false;
    }
    OFFSET_HI.store((offset >> 32) as u32, Ordering::Release);
    OFFSET_LO.store(offset as u32, Ordering::Release);
    // Skip 0 on wrap-around so that "set" never looks like "never set".
    let next = match seq.wrapping_add(2) {
        0 => 2,
        n => n,
    };
    OFFSET_SEQ.store(next, Ordering::Release);
    true
}

fn load_offset() -> Option<u64> {
    for _ in 0..8 {
        let before = OFFSET_SEQ.load(Ordering::Acquire);
        if before == 0 {
            return None;
        }
        if before % 2 == 1 {
            continue;
        }
        let hi = OFFSET_HI.load(Ordering::Acquire);
        let lo = OFFSET_LO.load(Ordering::Acquire);
        if OFFSET_SEQ.load(Ordering::Acquire) == before {
            return Some((u64::from(hi) << 32) | u64::from(lo));
        }
    }
    None
}

/// Records a wall-clock time learnt now (SNTP's answer). `false` if another update was in
/// progress at that instant.
pub(crate) fn set_unix_time_ms(unix_ms: u64) -> bool {
    store_offset(unix_ms.wrapping_sub(now_ms()))
}

/// Records that the network's time reached the RTC (`LUAT_MOBILE_EVENT_TIME_SYNC`, status 0).
pub(crate) fn network_time_synced() {
    NETWORK_TIME.store(true, Ordering::Release);
}

/// The module's clocks.
///
/// `unix_time_ms` is `None` until the time is known: from SNTP (`Ec618Clock::sync_sntp` and
/// `Ec618Clock::keep_sntp_synced`, feature `sntp`), from the network's time (the `TIME_SYNC`
/// mobile event, seen by [`crate::network::on_mobile_event`]), or set by the application. The
/// RTC's value before that is whatever survived in the always-on domain, so it is never
/// trusted on its own.
///
/// SNTP's answer is kept here as an offset from the tick, not written to the RTC (the SDK's
/// SNTP client does not set it either), so C code reading the RTC (`soc_get_utc`, `time()`)
/// sees only the network's time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ec618Clock {
    _private: (),
}

impl Ec618Clock {
    /// The module's clock. All instances share the same state.
    pub const fn new() -> Self {
        Ec618Clock { _private: () }
    }

    /// Sets the wall-clock time, for applications that learn it some other way (GNSS, an HTTP
    /// `Date` header). Returns `false` if another update was in progress at that instant.
    pub fn set_unix_time_ms(&self, unix_ms: u64) -> bool {
        set_unix_time_ms(unix_ms)
    }

    /// Whether the wall-clock time is known.
    pub fn time_known(&self) -> bool {
        self.unix_time_ms().is_some()
    }
}

impl Clock for Ec618Clock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn unix_time_ms(&self) -> Option<u64> {
        let utc = if let Some(offset) = load_offset() {
            now_ms().wrapping_add(offset)
        } else if NETWORK_TIME.load(Ordering::Acquire) {
            // SAFETY: no arguments, no preconditions.
            unsafe { sys::soc_get_utc_ms() }
        } else {
            return None;
        };
        (utc >= EARLIEST_PLAUSIBLE_UTC_MS).then_some(utc)
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        sleep_until(deadline_ms).await
    }
}
