#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The flash key-value store binding against the fake SDK.

use hal_ec618::block_on;
use hal_ec618::fake;
use hal_ec618::fake::codes;
use hal_ec618::kv::{LuatKv, MAX_KEY_LEN};
use iotcloud_core::kv::{KvStore, StoreError};

fn run<F: Future>(f: F) -> F::Output {
    block_on(f).unwrap()
}

#[test]
fn values_round_trip_are_replaced_and_removed() {
    let _g = fake::lock();
    let mut kv = LuatKv::open().unwrap().unwrap();
    let mut buf = [0u8; 16];
    run(async {
        assert_eq!(kv.get("cred", &mut buf).await, Ok(None));
        kv.set("cred", b"first").await.unwrap();
        kv.set("cred", b"second").await.unwrap();
        assert_eq!(kv.get("cred", &mut buf).await, Ok(Some(6)));
        assert_eq!(&buf[..6], b"second");
        kv.remove("cred").await.unwrap();
        kv.remove("cred").await.unwrap(); // absent: not an error
        assert_eq!(kv.get("cred", &mut buf).await, Ok(None));
    });
}

#[test]
fn a_value_larger_than_the_buffer_is_an_error_not_a_truncation() {
    let _g = fake::lock();
    let mut kv = LuatKv::open().unwrap().unwrap();
    let mut small = [0u8; 4];
    run(async {
        kv.set("big", b"0123456789").await.unwrap();
        assert_eq!(
            kv.get("big", &mut small).await,
            Err(StoreError::ValueTooLarge {
                len: 10,
                capacity: 4
            })
        );
        let mut exact = [0u8; 10];
        assert_eq!(kv.get("big", &mut exact).await, Ok(Some(10)));
        assert_eq!(&exact, b"0123456789");
    });
}

#[test]
fn keys_are_checked_before_the_sdk() {
    let _g = fake::lock();
    let mut kv = LuatKv::open().unwrap().unwrap();
    let longest = "k".repeat(MAX_KEY_LEN);
    let too_long = "k".repeat(MAX_KEY_LEN + 1);
    let mut buf = [0u8; 4];
    run(async {
        kv.set(&longest, b"v").await.unwrap();
        assert_eq!(kv.get(&longest, &mut buf).await, Ok(Some(1)));
        assert_eq!(kv.set(&too_long, b"v").await, Err(StoreError::InvalidKey));
        assert_eq!(
            kv.get(&too_long, &mut buf).await,
            Err(StoreError::InvalidKey)
        );
        assert_eq!(kv.remove(&too_long).await, Err(StoreError::InvalidKey));
        assert_eq!(kv.set("", b"v").await, Err(StoreError::InvalidKey));
        assert_eq!(kv.set("a\0b", b"v").await, Err(StoreError::InvalidKey));
    });
    fake::with(|s| {
        assert_eq!(s.calls.iter().filter(|c| **c == "luat_kv_set").count(), 1);
        assert!(!s.calls.contains(&"luat_kv_del"));
    });
}

#[test]
fn sdk_error_codes_are_named() {
    let _g = fake::lock();
    let mut kv = LuatKv::open().unwrap().unwrap();
    run(async {
        fake::with(|s| s.kv_set_ret = Some(codes::FDB_SAVED_FULL));
        assert_eq!(kv.set("k", b"v").await, Err(StoreError::Full));
        fake::with(|s| s.kv_set_ret = Some(-1));
        assert_eq!(kv.set("k", b"v").await, Err(StoreError::Io));
        fake::with(|s| s.kv_set_ret = Some(3)); // FDB_WRITE_ERR
        assert_eq!(kv.set("k", b"v").await, Err(StoreError::Io));
        fake::with(|s| s.kv_del_ret = Some(1)); // FDB_ERASE_ERR
        assert_eq!(kv.remove("k").await, Err(StoreError::Io));
    });
}

#[test]
fn only_one_handle_exists_at_a_time() {
    let _g = fake::lock();
    let kv = LuatKv::open().unwrap().unwrap();
    assert!(LuatKv::open().is_none());
    drop(kv);
    assert!(LuatKv::open().unwrap().is_ok());
    // The SDK's store is initialised once, however often a handle is taken.
    fake::with(|s| assert_eq!(s.kv_init_calls, 1));
}

#[test]
fn a_store_that_failed_to_start_stays_failed_and_never_reads_as_empty() {
    let _g = fake::lock();
    fake::with(|s| {
        s.kv.insert(b"cred".to_vec(), b"secret record".to_vec());
        s.kv_init_ret = codes::FDB_INIT_FAILED;
    });
    assert_eq!(LuatKv::open().unwrap().unwrap_err(), StoreError::Io);
    // The SDK now answers 0 to luat_kv_init, and reads from its broken store find nothing
    // without saying so: a store trusting either would report "no record" and register the
    // device again.
    // SAFETY: the fake's function, called as the SDK's C callers would.
    assert_eq!(unsafe { fake::luat_kv_init() }, 0);
    for _ in 0..3 {
        assert_eq!(LuatKv::open().unwrap().unwrap_err(), StoreError::Io);
    }
    fake::with(|s| {
        assert_eq!(s.kv_init_calls, 2, "the crate asked the SDK again");
        assert_eq!(s.kvdb, fake::KvDb::Broken);
    });
}

#[test]
fn a_store_started_by_c_code_first_is_not_trusted() {
    let _g = fake::lock();
    fake::with(|s| {
        s.kv.insert(b"cred".to_vec(), b"secret record".to_vec());
        s.kv_init_ret = codes::FDB_INIT_FAILED;
    });
    // The firmware's C code initialises the store before the device task, and it fails.
    // SAFETY: the fake's function, called as the SDK's C callers would.
    assert_eq!(unsafe { fake::luat_kv_init() }, codes::FDB_INIT_FAILED);
    // The outcome cannot be learnt any more (the SDK would now say 0): refuse.
    assert_eq!(LuatKv::open().unwrap().unwrap_err(), StoreError::Io);
    fake::with(|s| assert_eq!(s.kv_init_calls, 1));
}

#[test]
fn a_store_that_started_reads_what_flash_holds() {
    let _g = fake::lock();
    fake::with(|s| s.kv.insert(b"cred".to_vec(), b"record".to_vec()));
    let mut kv = LuatKv::open().unwrap().unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(run(kv.get("cred", &mut buf)), Ok(Some(6)));
    assert_eq!(&buf[..6], b"record");
}
