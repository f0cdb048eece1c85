#![allow(clippy::unwrap_used, clippy::expect_used)]
//! SNTP through the fake SDK client, which behaves as the SDK's does: one exchange per
//! `SntpInit`, `autoSync` ignored, the RTC untouched.

use embassy_futures::select::{Either, select};
use hal_ec618::fake::{self, SntpReply};
use hal_ec618::sntp::MAX_SERVER_LEN;
use hal_ec618::{Ec618Clock, SntpError, block_on, time};
use iotcloud_core::Clock;

const T1: u32 = 1_800_000_000;
const T2: u32 = 1_900_000_000;

fn near(clock: &Ec618Clock, sec: u32) -> bool {
    let t = clock.unix_time_ms().unwrap_or(0);
    let want = u64::from(sec) * 1000;
    (want..want + 10_000).contains(&t)
}

#[test]
fn one_sync_is_one_exchange_and_leaves_the_rtc_alone() {
    let _g = fake::lock();
    fake::with(|s| s.sntp_script.push_back(SntpReply::Time(T1, 250_000)));
    let clock = Ec618Clock::new();
    let got = block_on(clock.sync_sntp(c"ntp.aliyun.com", 1)).unwrap();
    assert_eq!(got, Ok(u64::from(T1) * 1000 + 250));
    assert!(near(&clock, T1));
    // Nothing more comes by itself: the SDK ran one exchange and ended.
    block_on(time::sleep_ms(30)).unwrap();
    fake::with(|s| {
        assert_eq!(s.sntp_runs, 1);
        assert!(!s.sntp_running);
        assert_eq!(s.sntp_auto_sync, vec![0]);
        assert_eq!(s.utc_ms, 0, "the RTC was set");
    });
}

#[test]
fn keeping_synced_repeats_the_exchange_after_successes_and_failures() {
    let _g = fake::lock();
    fake::with(|s| {
        s.sntp_script.extend([
            SntpReply::Time(T1, 0),
            SntpReply::NoAnswer,
            SntpReply::Time(T2, 0),
        ]);
    });
    let clock = Ec618Clock::new();
    let ran = block_on(select(
        clock.keep_sntp_synced(c"ntp.aliyun.com", 1, 40),
        time::sleep_ms(400),
    ))
    .unwrap();
    assert!(matches!(ran, Either::Second(())));
    fake::with(|s| assert!(s.sntp_runs >= 4, "only {} exchanges", s.sntp_runs));
    assert!(near(&clock, T2), "{:?}", clock.unix_time_ms());
}

#[test]
fn failures_and_a_running_exchange_are_named() {
    let _g = fake::lock();
    let clock = Ec618Clock::new();
    fake::with(|s| s.sntp_script.push_back(SntpReply::NoAnswer));
    assert_eq!(
        block_on(clock.sync_sntp(c"ntp.aliyun.com", 1)).unwrap(),
        Err(SntpError::NoAnswer)
    );
    // An exchange started elsewhere (no scripted answer: it keeps running).
    assert!(clock.start_sntp(c"ntp.aliyun.com", 1));
    assert_eq!(
        block_on(clock.sync_sntp(c"ntp.aliyun.com", 1)).unwrap(),
        Err(SntpError::Busy)
    );
    fake::sntp_answer(SntpReply::NoAnswer);
    fake::with(|s| assert_eq!(s.sntp_runs, 2));
}

#[test]
fn server_names_are_checked_before_the_sdk() {
    let _g = fake::lock();
    let clock = Ec618Clock::new();
    assert_eq!(
        block_on(clock.sync_sntp(c"", 1)).unwrap(),
        Err(SntpError::InvalidServer)
    );
    // 256 bytes would pass the SDK's own check and overflow its copy of the name.
    let long = std::ffi::CString::new("a".repeat(MAX_SERVER_LEN + 1)).unwrap();
    assert_eq!(
        block_on(clock.sync_sntp(&long, 1)).unwrap(),
        Err(SntpError::InvalidServer)
    );
    fake::with(|s| assert!(!s.calls.contains(&"SntpInit")));
    let longest = std::ffi::CString::new("a".repeat(MAX_SERVER_LEN)).unwrap();
    fake::with(|s| s.sntp_script.push_back(SntpReply::Time(T1, 0)));
    assert!(block_on(clock.sync_sntp(&longest, 1)).unwrap().is_ok());
}
