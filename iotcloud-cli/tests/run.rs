//! `iotcloud run` against a local mosquitto and firmware server: it logs events, answers
//! an Aliyun upgrade notice by downloading and verifying the image, reports to the cloud,
//! and exits cleanly on Ctrl-C (SIGINT).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use iotcloud_core::QoS;
use iotcloud_emulator::{DownloadFault, FirmwareServer};
use iotcloud_testkit::{Broker, Ev, connect, memory, next, provider, subscribe};
use md5::{Digest as _, Md5};

fn md5_hex(image: &[u8]) -> String {
    Md5::digest(image)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The cloud's side: a device of the test's own that watches the OTA topics and sends the
/// notice.
async fn cloud_side(
    broker: &Broker,
    id: &'static str,
) -> iotcloud_testkit::HostDevice<iotcloud_core::plain::PlainMqtt<'static>, iotcloud_core::Connected>
{
    let mut cloud = connect(provider(broker.port, id), memory(4096, 1024, 4096)).await;
    subscribe(&mut cloud, "/ota/device/#", QoS::AtLeastOnce).await;
    cloud
}

#[tokio::test]
async fn run_downloads_an_ota_job_reports_it_and_stops_on_ctrl_c() {
    let broker = Broker::start();
    let server = FirmwareServer::start().unwrap();
    let image: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let url = server.add("/fw/2.0.0.bin", image.clone());
    server.fail_next(DownloadFault::DropAfter(40_000));
    let md5 = md5_hex(&image);
    let ota_dir = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let mut cloud = cloud_side(&broker, "cli-cloud-side").await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args([
            "run",
            "aliyun",
            "product_id=a1Cli",
            "device_name=dev-9",
            "device_secret=s3cret",
            "host=127.0.0.1",
            &format!("port={}", broker.port),
            "tls=false",
            "version=1.0.0",
            &format!("ota_dir={}", ota_dir.path().display()),
            &format!("store={}", store.path().display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The version report says the device is up.
    let inform = loop {
        match next(&mut cloud, 10_000).await {
            Some(Ev::Message { topic, payload, .. })
                if topic.starts_with("/ota/device/inform/") =>
            {
                break String::from_utf8(payload).unwrap();
            }
            Some(Ev::Message { .. } | Ev::Published(_) | Ev::Subscribed(..)) => {}
            other => panic!("no version report: {other:?}"),
        }
    };
    assert!(inform.contains(r#""version":"1.0.0""#), "{inform}");

    let notice = format!(
        r#"{{"code":"1000","data":{{"size":{},"md5":"{md5}","version":"2.0.0","url":"{url}"}},"id":7,"message":"success"}}"#,
        image.len()
    );
    cloud
        .publish(
            "/ota/device/upgrade/a1Cli/dev-9",
            notice.as_bytes(),
            QoS::AtLeastOnce,
        )
        .await
        .unwrap();

    let saved = ota_dir.path().join("firmware-2.0.0.bin");
    let mut progress = Vec::new();
    let start = Instant::now();
    while !progress
        .iter()
        .any(|p: &String| p.contains(r#""step":"100""#))
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no final report: {progress:?}"
        );
        if let Some(Ev::Message { topic, payload, .. }) = next(&mut cloud, 1_000).await
            && topic.starts_with("/ota/device/progress/")
        {
            progress.push(String::from_utf8(payload).unwrap());
        }
    }
    assert_eq!(std::fs::read(&saved).unwrap(), image);

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGINT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{status:?}\n{out}");
    assert!(out.contains("connected session_present=false"), "{out}");
    assert!(
        out.contains("ota: job version=2.0.0 size=150000 digest=md5:"),
        "{out}"
    );
    assert!(out.contains("retrying"), "{out}");
    assert!(
        out.contains("ota: 150000 bytes verified and saved to"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("disconnected"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    // stderr is a pipe here, not a terminal: progress is logged at every quarter, with no
    // carriage-return redraws.
    assert!(out.contains("ota: 100% (150000 bytes)"), "{out}");
    assert!(!out.contains('\r') && !err.contains('\r'), "{err}");
}

/// `seconds=` (like Ctrl-C) ends `run` in the middle of a download from a server that
/// trickles the image a byte at a time.
#[tokio::test]
async fn run_stops_on_time_in_the_middle_of_a_slow_download() {
    let broker = Broker::start();
    let server = FirmwareServer::start().unwrap();
    let image: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let url = server.add("/fw/2.0.0.bin", image.clone());
    for _ in 0..10 {
        server.fail_next(DownloadFault::Trickle(50));
    }
    let md5 = md5_hex(&image);
    let ota_dir = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let mut cloud = cloud_side(&broker, "cli-cloud-side-2").await;

    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args([
            "run",
            "aliyun",
            "product_id=a1Cli",
            "device_name=dev-10",
            "device_secret=s3cret",
            "host=127.0.0.1",
            &format!("port={}", broker.port),
            "tls=false",
            "version=1.0.0",
            "seconds=3",
            &format!("ota_dir={}", ota_dir.path().display()),
            &format!("store={}", store.path().display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        match next(&mut cloud, 10_000).await {
            Some(Ev::Message { topic, .. }) if topic.starts_with("/ota/device/inform/") => break,
            Some(Ev::Message { .. } | Ev::Published(_) | Ev::Subscribed(..)) => {}
            other => panic!("no version report: {other:?}"),
        }
    }
    let notice = format!(
        r#"{{"code":"1000","data":{{"size":{},"md5":"{md5}","version":"2.0.0","url":"{url}"}},"id":8,"message":"success"}}"#,
        image.len()
    );
    cloud
        .publish(
            "/ota/device/upgrade/a1Cli/dev-10",
            notice.as_bytes(),
            QoS::AtLeastOnce,
        )
        .await
        .unwrap();

    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}\n{stdout}",
        started.elapsed()
    );
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("ota: download stopped"), "{stdout}");
    assert!(stdout.trim_end().ends_with("disconnected"), "{stdout}");
}
