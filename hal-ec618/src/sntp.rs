//! Wall-clock time from SNTP, through the SDK's optional `thirdparty/sntp` component (feature
//! `sntp`).
//!
//! What the SDK's client does (its `sntp.c` at commit `84dc723e`), whatever its header
//! suggests:
//!
//! - `SntpInit` starts **one** exchange in a task of its own: up to three requests, each
//!   waiting up to 15 s for the answer, then one call of the callback with the result, and the
//!   task ends. Its `autoSync` argument is stored and never read: nothing is repeated.
//! - It does not set the RTC. The time is only what the callback receives.
//! - It returns FALSE while an exchange runs (one at a time for the whole firmware, C code's
//!   included), or for an empty name or one longer than lwIP's `DNS_MAX_NAME_LENGTH`. It
//!   copies the name with `strcpy` into a buffer of that size, so a name of exactly 256 bytes
//!   would overflow it; names are limited to [`MAX_SERVER_LEN`] here.
//!
//! So this crate keeps the time itself (an offset from the tick, see [`Ec618Clock`]) and
//! repeats the exchange from Rust when the application asks for it:
//! [`Ec618Clock::keep_sntp_synced`].

use core::ffi::{CStr, c_void};
use core::future::poll_fn;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;

use embassy_futures::select::{Either, select};

use crate::error::SntpError;
use crate::waker::WakerSlot;
use crate::{Ec618Clock, sys, time};

/// Longest server name, in bytes (`DNS_MAX_NAME_LENGTH` less the NUL).
pub const MAX_SERVER_LEN: usize = sys::DNS_MAX_NAME_LENGTH - 1;

/// How long [`Ec618Clock::sync_sntp`] waits for the exchange's result: the SDK's three
/// requests of up to 15 s each, the pauses between them, and the name lookup.
pub const RESULT_WAIT_MS: u64 = 90_000;

/// The longest pause after a failed exchange in [`Ec618Clock::keep_sntp_synced`].
pub const RETRY_MS: u64 = 60_000;

// The exchange's state: its number in the high bits, its outcome in the low two.
const PENDING: u32 = 0;
const SUCCEEDED: u32 = 1;
const FAILED: u32 = 2;
/// The callback is storing the answer; readers wait for the final outcome.
const WRITING: u32 = 3;
const OUTCOME_MASK: u32 = 0b11;

/// Number and outcome of the latest exchange started from Rust (number 0: none). The number
/// is passed to the SDK as the callback's user parameter, so the result of an older exchange
/// (one whose wait timed out) can never be taken for the latest one's.
static STATE: AtomicU32 = AtomicU32::new(0);
static ANSWER_SEC: AtomicU32 = AtomicU32::new(0);
static ANSWER_US: AtomicU32 = AtomicU32::new(0);
static WAKER: WakerSlot = WakerSlot::new();

fn state_of(number: u32, outcome: u32) -> u32 {
    (number << 2) | outcome
}

/// Called by the SDK's SNTP task with a `sntp_result_t*` and the exchange's number, once per
/// exchange. Records and wakes; runs no future.
unsafe extern "C" fn on_sntp_result(data: *mut c_void, param: *mut c_void) -> i32 {
    if data.is_null() {
        return 0;
    }
    // SAFETY: the SNTP task passes a pointer to a valid `sntp_result_t` for the duration of
    // the call; it is only read.
    let result = unsafe { *(data as *const sys::sntp_result_t) };
    if result.succ != 0 {
        let utc_ms = u64::from(result.sec) * 1000 + u64::from(result.us / 1000);
        time::set_unix_time_ms(utc_ms);
    }
    let number = param as usize as u32;
    let claimed = STATE.compare_exchange(
        state_of(number, PENDING),
        state_of(number, WRITING),
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    if claimed.is_ok() {
        ANSWER_SEC.store(result.sec, Ordering::Release);
        ANSWER_US.store(result.us, Ordering::Release);
        let outcome = if result.succ != 0 { SUCCEEDED } else { FAILED };
        STATE.store(state_of(number, outcome), Ordering::Release);
        WAKER.wake();
    }
    0
}

/// Starts one exchange; its number, or why it could not start.
fn start(server: &CStr, cid: u8) -> Result<u32, SntpError> {
    let len = server.to_bytes().len();
    if len == 0 || len > MAX_SERVER_LEN {
        return Err(SntpError::InvalidServer);
    }
    // Numbers take the 30 high bits and skip 0.
    let mut number = ((STATE.load(Ordering::Acquire) >> 2) + 1) & (u32::MAX >> 2);
    if number == 0 {
        number = 1;
    }
    STATE.store(state_of(number, PENDING), Ordering::Release);
    // SAFETY: `server` is NUL-terminated and at most MAX_SERVER_LEN bytes, which the SDK
    // copies (strcpy) into its own buffer during the call and never writes through; the
    // callback only stores atomics and wakes; the user parameter is a number, not a pointer.
    // `autoSync` is 0: the SDK ignores it, and this crate repeats exchanges itself.
    let started = unsafe {
        sys::SntpInit(
            server.as_ptr().cast_mut(),
            sys::SNTP_DEFAULT_PORT,
            0,
            cid,
            Some(on_sntp_result),
            number as usize as *mut c_void,
        )
    };
    if started == 0 {
        return Err(SntpError::Busy);
    }
    Ok(number)
}

impl Ec618Clock {
    /// Starts one SNTP exchange with `server` on PDP context `cid` (1 is the default data
    /// connection) and returns at once: the time counts as known from its answer. `false`
    /// if it could not start (see [`Ec618Clock::sync_sntp`] for why).
    ///
    /// One exchange only: the SDK does not repeat it, and does not set the RTC. Use
    /// [`Ec618Clock::keep_sntp_synced`] to stay synchronised.
    pub fn start_sntp(&self, server: &CStr, cid: u8) -> bool {
        start(server, cid).is_ok()
    }

    /// Runs one SNTP exchange with `server` on PDP context `cid` and waits for it (at most
    /// [`RESULT_WAIT_MS`]); on success the clock has the new time, which is also returned
    /// (Unix ms).
    ///
    /// [`SntpError::InvalidServer`] for an empty name or one longer than [`MAX_SERVER_LEN`];
    /// [`SntpError::Busy`] if an exchange is already running (the SDK runs one at a time,
    /// C code's included); [`SntpError::NoAnswer`] if the exchange ended without a time (no
    /// data connection, the name did not resolve, or three requests went unanswered);
    /// [`SntpError::Timeout`] if no result came in time.
    pub async fn sync_sntp(&self, server: &CStr, cid: u8) -> Result<u64, SntpError> {
        let number = start(server, cid)?;
        let outcome = poll_fn(|cx| {
            WAKER.register(cx.waker());
            let state = STATE.load(Ordering::Acquire);
            if state >> 2 != number {
                // A later exchange replaced this one (another caller); its result is not ours.
                return Poll::Ready(FAILED);
            }
            match state & OUTCOME_MASK {
                PENDING | WRITING => Poll::Pending,
                done => Poll::Ready(done),
            }
        });
        let deadline = time::now_ms().saturating_add(RESULT_WAIT_MS);
        match select(outcome, time::sleep_until(deadline)).await {
            Either::First(SUCCEEDED) => {
                let sec = ANSWER_SEC.load(Ordering::Acquire);
                let us = ANSWER_US.load(Ordering::Acquire);
                Ok(u64::from(sec) * 1000 + u64::from(us / 1000))
            }
            Either::First(_) => Err(SntpError::NoAnswer),
            Either::Second(()) => Err(SntpError::Timeout),
        }
    }

    /// Keeps the clock synchronised with `server`: an exchange now, then one every
    /// `every_ms` after a success, and after a failure one after `every_ms` or [`RETRY_MS`],
    /// whichever is shorter. Never returns: run it beside the device (`join` or `select`
    /// inside [`crate::block_on`]).
    ///
    /// This is the re-synchronisation the SDK's `autoSync` flag suggests but does not do.
    pub async fn keep_sntp_synced(&self, server: &CStr, cid: u8, every_ms: u64) -> ! {
        loop {
            let pause = match self.sync_sntp(server, cid).await {
                Ok(_) => every_ms,
                Err(_) => every_ms.min(RETRY_MS),
            };
            time::sleep_ms(pause).await;
        }
    }
}
