#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The FOTA sink against the fake SDK.

use hal_ec618::fake;
use hal_ec618::fota::FOTA_REGION_SIZE;
use hal_ec618::{FotaError, FotaSink, block_on};
use iotcloud_core::ota::FirmwareSink;

fn run<F: Future>(f: F) -> F::Output {
    block_on(f).unwrap()
}

fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_whole_image_is_written_in_order_and_finished() {
    let _g = fake::lock();
    let img = image(3000);
    let mut sink = FotaSink::new().unwrap();
    run(async {
        // The region cannot keep a partial image: resume always restarts at 0.
        assert_eq!(sink.begin(Some(3000), 1200).await.unwrap(), 0);
        sink.write_at(0, &img[..1000]).await.unwrap();
        sink.write_at(1000, &img[1000..]).await.unwrap();
        sink.finish(3000).await.unwrap();
    });
    assert!(sink.is_ready());
    fake::with(|s| {
        assert_eq!(s.fota, img);
        assert_eq!(s.fota_inits, 1);
        assert!(s.fota_max_chunk <= 512);
        assert!(s.calls.contains(&"luat_fota_done"));
    });
    assert_eq!(sink.reboot_to_apply(), Err(FotaError::Reboot { code: -1 }));
    fake::with(|s| assert!(s.calls.contains(&"luat_pm_reboot")));
}

#[test]
fn repeated_bytes_are_skipped_and_gaps_refused() {
    let _g = fake::lock();
    let img = image(100);
    let mut sink = FotaSink::new().unwrap();
    run(async {
        sink.begin(None, 0).await.unwrap();
        sink.write_at(0, &img[..60]).await.unwrap();
        sink.write_at(20, &img[20..40]).await.unwrap(); // all already written
        sink.write_at(50, &img[50..80]).await.unwrap(); // overlapping: only 60..80 is new
        assert_eq!(
            sink.write_at(90, &img[90..]).await,
            Err(FotaError::Gap {
                offset: 90,
                written: 80
            })
        );
        sink.write_at(80, &img[80..]).await.unwrap();
        sink.finish(100).await.unwrap();
    });
    fake::with(|s| assert_eq!(s.fota, img));
}

#[test]
fn a_failing_write_needs_a_new_begin() {
    let _g = fake::lock();
    fake::with(|s| s.fota_fail_write = Some(2));
    let img = image(2000);
    let mut sink = FotaSink::new().unwrap();
    run(async {
        sink.begin(Some(2000), 0).await.unwrap();
        // 2000 bytes go down in 512-byte pieces: the second piece fails at offset 512.
        assert_eq!(
            sink.write_at(0, &img).await,
            Err(FotaError::Write {
                offset: 512,
                code: -1
            })
        );
        assert_eq!(
            sink.write_at(512, &img[512..]).await,
            Err(FotaError::NotStarted)
        );
        assert_eq!(sink.finish(2000).await, Err(FotaError::NotStarted));
        fake::with(|s| s.fota_fail_write = None);
        assert_eq!(sink.begin(Some(2000), 512).await.unwrap(), 0);
        sink.write_at(0, &img).await.unwrap();
        sink.finish(2000).await.unwrap();
    });
    fake::with(|s| {
        assert_eq!(s.fota, img);
        assert_eq!(s.fota_inits, 2);
    });
}

#[test]
fn a_rejected_package_and_a_wrong_length_are_named() {
    let _g = fake::lock();
    fake::with(|s| s.fota_done_ret = -1);
    let mut sink = FotaSink::new().unwrap();
    run(async {
        sink.begin(None, 0).await.unwrap();
        sink.write_at(0, b"delta").await.unwrap();
        assert_eq!(
            sink.finish(6).await,
            Err(FotaError::LengthMismatch { len: 6, written: 5 })
        );
        assert_eq!(sink.finish(5).await, Err(FotaError::Rejected { code: -1 }));
    });
    assert!(!sink.is_ready());
    assert_eq!(sink.reboot_to_apply(), Err(FotaError::NotStarted));
    fake::with(|s| assert!(!s.calls.contains(&"luat_pm_reboot")));
}

#[test]
fn erase_failure_size_limits_and_order_errors() {
    let _g = fake::lock();
    let mut sink = FotaSink::new().unwrap();
    assert_eq!(FotaSink::new().unwrap_err(), FotaError::Busy);
    run(async {
        assert_eq!(sink.write_at(0, b"x").await, Err(FotaError::NotStarted));
        assert_eq!(
            sink.begin(Some(FOTA_REGION_SIZE + 1), 0).await,
            Err(FotaError::TooLarge {
                size: FOTA_REGION_SIZE + 1,
                capacity: FOTA_REGION_SIZE
            })
        );
        fake::with(|s| s.fota_init_fail = true);
        assert_eq!(sink.begin(None, 0).await, Err(FotaError::Erase));
        assert_eq!(sink.write_at(0, b"x").await, Err(FotaError::NotStarted));
    });
}

#[test]
fn abort_erases_what_was_written() {
    let _g = fake::lock();
    let mut sink = FotaSink::new().unwrap();
    run(async {
        sink.begin(None, 0).await.unwrap();
        sink.write_at(0, b"partial").await.unwrap();
        sink.abort().await;
        assert_eq!(sink.write_at(7, b"more").await, Err(FotaError::NotStarted));
    });
    assert_eq!(sink.written(), 0);
    fake::with(|s| {
        assert_eq!(s.fota_inits, 2, "abort erases the region again");
        assert!(s.fota.is_empty());
    });
}
