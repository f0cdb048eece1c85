#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Identity, network readiness, the clock and the executor against the fake SDK.

use hal_ec618::fake;
use hal_ec618::fake::SntpReply;
use hal_ec618::fake::codes;
use hal_ec618::identity::{self, IMEI_LEN};
use hal_ec618::{Ec618Clock, ExecutorError, IdentityError, NetworkError, block_on, network, time};
use iotcloud_core::Clock;

#[test]
fn the_imei_is_read_into_a_large_enough_buffer() {
    let _g = fake::lock();
    let mut buf = [0u8; IMEI_LEN];
    assert_eq!(identity::imei(&mut buf), Ok("861234567890123"));
}

#[test]
fn a_short_imei_buffer_is_a_named_error() {
    let _g = fake::lock();
    let mut buf = [0u8; 10];
    assert_eq!(
        identity::imei(&mut buf),
        Err(IdentityError::BufferTooSmall {
            needed: 15,
            capacity: 10
        })
    );
}

#[test]
fn imei_errors_and_garbage_are_named() {
    let _g = fake::lock();
    let mut buf = [0u8; 32];
    fake::with(|s| s.imei_ret = -1);
    assert_eq!(
        identity::imei(&mut buf),
        Err(IdentityError::Unavailable { code: -1 })
    );
    fake::with(|s| {
        s.imei_ret = 0;
        s.imei = Vec::new();
    });
    assert_eq!(identity::imei(&mut buf), Err(IdentityError::Invalid));
    fake::with(|s| s.imei = b"86123\xff".to_vec());
    assert_eq!(identity::imei(&mut buf), Err(IdentityError::Invalid));
}

#[test]
fn the_unique_id_is_the_raw_bytes() {
    let _g = fake::lock();
    assert_eq!(
        identity::unique_id(),
        Ok(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88][..])
    );
    fake::with(|s| s.unique_id = &[]);
    assert_eq!(identity::unique_id(), Err(IdentityError::Invalid));
}

#[test]
fn init_registers_the_handler_and_the_adapter_once() {
    let _g = fake::lock();
    network::init().unwrap();
    network::init().unwrap();
    fake::with(|s| {
        // INIT is process-wide: another test may have run init first, so check no repeats.
        assert!(s.calls.iter().filter(|c| **c == "net_lwip_init").count() <= 1);
    });
}

#[test]
fn waiting_for_the_network_times_out_with_a_named_error() {
    let _g = fake::lock();
    fake::with(|s| s.ready = false);
    let err = block_on(network::wait_ready(60)).unwrap().unwrap_err();
    let NetworkError::NotReady { waited_ms } = err else {
        panic!("{err:?}");
    };
    assert!(waited_ms >= 60);
}

#[test]
fn the_link_on_event_makes_the_adapter_ready_and_wakes_the_wait() {
    let _g = fake::lock();
    fake::with(|s| s.ready = false);
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        hal_ec618::network::on_mobile_event(
            codes::MOBILE_EVENT_NETIF,
            1,
            codes::MOBILE_NETIF_LINK_ON,
        );
    });
    let start = std::time::Instant::now();
    block_on(network::wait_ready(10_000)).unwrap().unwrap();
    // Woken by the event, not by the 500 ms re-check.
    assert!(start.elapsed() < std::time::Duration::from_millis(400));
    fake::with(|s| assert!(s.calls.contains(&"luat_socket_check_ready")));
}

#[test]
fn the_clock_reports_unknown_time_until_a_source_sets_it() {
    // The only test of this binary that sets the wall-clock time (the state is process-wide).
    let _g = fake::lock();
    let clock = Ec618Clock::new();
    assert_eq!(clock.unix_time_ms(), None);
    assert!(clock.start_sntp(c"ntp.aliyun.com", 1));
    fake::with(|s| assert_eq!(s.sntp_server.as_deref(), Some("ntp.aliyun.com")));
    fake::sntp_answer(SntpReply::NoAnswer);
    assert_eq!(
        clock.unix_time_ms(),
        None,
        "a failed SNTP answer set the time"
    );
    // Network time arrives, but the RTC still holds a value from before any sync.
    fake::with(|s| s.utc_ms = 1_000);
    network::on_mobile_event(codes::MOBILE_EVENT_TIME_SYNC, 0, 0);
    assert_eq!(
        clock.unix_time_ms(),
        None,
        "an implausible RTC value was trusted"
    );
    fake::with(|s| s.utc_ms = 1_700_000_000_000);
    assert_eq!(clock.unix_time_ms(), Some(1_700_000_000_000));
    // SNTP takes precedence once it answers (in a new exchange: the SDK runs each once).
    assert!(clock.start_sntp(c"ntp.aliyun.com", 1));
    fake::sntp_answer(SntpReply::Time(1_800_000_000, 500_000));
    let t = clock.unix_time_ms().unwrap();
    assert!((1_800_000_000_500..1_800_000_010_000).contains(&t), "{t}");
    assert!(clock.set_unix_time_ms(1_900_000_000_000));
    let t = clock.unix_time_ms().unwrap();
    assert!((1_900_000_000_000..1_900_000_010_000).contains(&t), "{t}");
}

#[test]
fn monotonic_time_and_sleep_use_the_tick() {
    let _g = fake::lock();
    let clock = Ec618Clock::new();
    let a = clock.now_ms();
    block_on(clock.sleep_until(a + 30)).unwrap();
    assert!(clock.now_ms() >= a + 30);
    // A deadline in the past completes at once.
    block_on(clock.sleep_until(0)).unwrap();
}

#[test]
fn many_concurrent_sleeps_all_complete() {
    let _g = fake::lock();
    let start = time::now_ms();
    block_on(async {
        let sleeps: [_; 12] = core::array::from_fn(|i| time::sleep_ms(5 + i as u64 * 3));
        embassy_futures::join::join_array(sleeps).await;
    })
    .unwrap();
    assert!(time::now_ms() >= start + 38);
}

#[test]
fn block_on_is_not_reentrant() {
    let _g = fake::lock();
    let inner = block_on(async { block_on(async {}) }).unwrap();
    assert_eq!(inner, Err(ExecutorError::Busy));
}
