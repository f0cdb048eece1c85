//! Aliyun OTA delivered over MQTT, end to end through the cloud emulator: a notice with
//! `"dProtocol":"mqtt"` becomes a job, the image comes in blocks over the device's own
//! connection (a lost reply asked for again, a connection closed mid-way resumed from the
//! checkpoint after reconnecting), is verified and reported in Aliyun's steps; and a
//! firmware storage that cannot write is reported as step -4.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hal_host::{FileSink, FileStore, HostPlatform};
use iotcloud_aliyun::Aliyun;
use iotcloud_core::ota::{DownloadSettings, Firmware, FirmwareSink, OtaError, OtaJob};
use iotcloud_core::{Connected, Device, Event, Memory, Registered};
use iotcloud_emulator::{
    Accounts, AliyunDevice, AliyunProduct, BlockFault, Cloud, CloudEmulator, OtaReport, image,
};
use iotcloud_testkit::local;

const PK: &str = "a1MqttOta";
const DN: &str = "pump-9";
const DS: &str = "mqtt-ota-device-secret";
/// The receive memory: a block of up to 4096 - 9 - 303 - 293 bytes fits it with its reply's
/// framing and header and room for a request.
const RX: usize = 4096;

type Dev<St> = Device<'static, Aliyun<'static>, HostPlatform<FileStore>, St>;

fn emulator() -> CloudEmulator {
    let accounts = Accounts {
        aliyun: vec![AliyunProduct::new(PK, "unused").with_device(AliyunDevice::new(DN, DS))],
        ..Accounts::default()
    };
    CloudEmulator::start(accounts, &[Cloud::Aliyun]).unwrap()
}

async fn device(emu: &CloudEmulator, dir: &std::path::Path) -> Dev<Registered> {
    device_with_rx(emu, dir, RX).await
}

async fn device_with_rx(emu: &CloudEmulator, dir: &std::path::Path, rx: usize) -> Dev<Registered> {
    let aliyun = Aliyun::with_secret(PK, DN, DS)
        .unwrap()
        .with_overrides(local(emu.mqtt_port(Cloud::Aliyun).unwrap()));
    let memory = Memory {
        rx: vec![0u8; rx].leak(),
        tx: vec![0u8; 2048].leak(),
        session: vec![0u8; 4096].leak(),
        credentials: &mut [],
        ota_job: vec![0u8; 512].leak(),
    };
    let platform = HostPlatform::new().with_store(FileStore::open(dir).unwrap());
    let device = Device::new(aliyun, platform, memory).with_ota(Firmware::new("1.0.0"));
    device.register().await.unwrap()
}

/// Connects and waits for the SUBACK of the OTA subscriptions (the notice and the job
/// reply, and the file download's reply with them in the same SUBSCRIBE), after which the
/// cloud can deliver.
async fn connect(dev: Dev<Registered>) -> Dev<Connected> {
    let mut dev = dev.connect().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut acknowledged = 0;
        while acknowledged < 2 {
            if let Event::Subscribed { codes, .. } = dev.next_event().await.unwrap() {
                acknowledged += codes.iter().count();
            }
        }
    })
    .await
    .expect("the SUBACKs");
    dev
}

async fn next_job(dev: &mut Dev<Connected>) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match dev.next_event().await.unwrap() {
                Event::Ota(job) => {
                    assert!(job.stream().is_some(), "{job:?}");
                    break;
                }
                Event::OtaRejected(e) => panic!("the notice was refused: {e:?}"),
                _ => {}
            }
        }
    })
    .await
    .expect("the upgrade notice");
}

fn settings() -> DownloadSettings<'static> {
    DownloadSettings {
        timeout_ms: 500,
        retry_delay_ms: 10,
        progress_interval_ms: 0,
        ..DownloadSettings::default()
    }
}

fn reports(emu: &CloudEmulator) -> Vec<OtaReport> {
    emu.ota_reports().into_iter().map(|(_, r)| r).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn an_image_delivered_over_mqtt_is_downloaded_in_blocks_resumed_after_a_drop_and_verified() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let mut dev = connect(device(&emu, dir.path()).await).await;
    let bytes = image(20_000, "2.0.0");
    let offer = emu
        .offer_ota_over_mqtt(Cloud::Aliyun, DN, "2.0.0", bytes.clone())
        .unwrap();
    next_job(&mut dev).await;
    let job: OtaJob<'_> = dev.ota_job().unwrap();
    assert_eq!(job.size(), Some(20_000));
    let (stream, file) = offer.stream.unwrap();
    assert_eq!(job.stream(), Some(format!("{stream}/{file}").as_str()));

    // The second request goes unanswered (asked again after the reply timeout), and the
    // connection closes instead of answering the fourth.
    emu.fail_block_request(1, BlockFault::NoReply);
    emu.fail_block_request(3, BlockFault::Close);
    let path = dir.path().join("fw.bin");
    let mut sink = FileSink::new(&path);
    let mut unused_http = hal_host::TcpTransport::new();
    let mut buf = vec![0u8; 512];
    let first = dev
        .download_ota(&mut unused_http, &mut sink, &mut buf, &settings(), |_| {})
        .await;
    assert!(matches!(first, Err(OtaError::LinkLost)), "{first:?}");
    let asked = emu.block_requests();
    assert_eq!(asked.len(), 4, "{asked:?}");
    let block = asked[0].size;
    assert!(block > 3000 && block <= 4096 - 9 - 303 - 293, "{block}");
    let offsets: Vec<u64> = asked.iter().map(|r| r.offset).collect();
    assert_eq!(
        offsets,
        [0, block, block, 2 * block],
        "the lost reply asked again"
    );
    assert!(
        asked
            .iter()
            .all(|r| r.refused.is_none() && r.stream_id == stream)
    );
    let ids: Vec<&str> = asked.iter().map(|r| r.id.as_str()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] != w[1]),
        "a fresh id per request: {ids:?}"
    );
    assert!(
        !reports(&emu)
            .iter()
            .any(|r| matches!(r, OtaReport::Failed(_))),
        "a lost connection is not reported as a failure"
    );

    // The device reconnects; the job is still there, and the download resumes.
    let dev = dev.disconnect().await;
    let mut dev = connect(dev).await;
    let done = dev
        .download_ota(&mut unused_http, &mut sink, &mut buf, &settings(), |_| {})
        .await
        .unwrap();
    assert_eq!(done, 20_000);
    let asked = emu.block_requests();
    assert_eq!(
        asked[4].offset,
        2 * block,
        "the first request after the reconnect starts at the checkpoint"
    );
    let last = asked.last().unwrap();
    assert_eq!(
        last.offset + last.size,
        20_000,
        "the last block is what is left"
    );
    assert!(
        asked[4..]
            .windows(2)
            .all(|w| w[1].offset == w[0].offset + w[0].size)
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // The reports are published before the download returns; give the broker a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reports = reports(&emu);
    assert_eq!(reports[0], OtaReport::Version("1.0.0".into()));
    assert_eq!(
        reports.last(),
        Some(&OtaReport::Progress(100)),
        "{reports:?}"
    );
    assert!(
        reports
            .iter()
            .any(|r| matches!(r, OtaReport::Progress(p) if (1..100).contains(p))),
        "{reports:?}"
    );
    assert!(!reports.iter().any(|r| matches!(r, OtaReport::Failed(_))));
    dev.disconnect().await;
}

/// Firmware storage that takes nothing.
struct BrokenFlash;

impl FirmwareSink for BrokenFlash {
    type Error = &'static str;

    async fn begin(&mut self, _: Option<u64>, _: u64) -> Result<u64, Self::Error> {
        Ok(0)
    }

    async fn write_at(&mut self, _: u64, _: &[u8]) -> Result<(), Self::Error> {
        Err("flash write failed")
    }

    async fn finish(&mut self, _: u64) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn abort(&mut self) {}
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_block_is_asked_again_and_a_flash_that_cannot_write_is_reported_as_step_minus_4() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let mut dev = connect(device(&emu, dir.path()).await).await;
    emu.offer_ota_over_mqtt(Cloud::Aliyun, DN, "2.0.0", image(5_000, "2.0.0"))
        .unwrap();
    next_job(&mut dev).await;
    emu.fail_block_request(0, BlockFault::BadCrc);
    emu.fail_block_request(1, BlockFault::WrongOffset);
    let mut unused_http = hal_host::TcpTransport::new();
    let result = dev
        .download_ota(
            &mut unused_http,
            &mut BrokenFlash,
            &mut vec![0u8; 512],
            &settings(),
            |_| {},
        )
        .await;
    assert!(
        matches!(result, Err(OtaError::Sink("flash write failed"))),
        "{result:?}"
    );
    // A bad CRC, then a reply for another offset (passed over until the timeout), then the
    // block, which the flash refused.
    let offsets: Vec<u64> = emu.block_requests().iter().map(|r| r.offset).collect();
    assert_eq!(offsets, [0, 0, 0]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let failed: Vec<OtaReport> = reports(&emu)
        .into_iter()
        .filter(|r| matches!(r, OtaReport::Failed(_)))
        .collect();
    assert_eq!(
        failed,
        [OtaReport::Failed("step -4: firmware storage failed".into())]
    );
    dev.disconnect().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_receive_memory_too_small_for_a_block_reply_is_refused_by_name_before_a_request() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    // Enough for the notice, not for a 256-byte block with its reply and a request.
    let mut dev = connect(device_with_rx(&emu, dir.path(), 700).await).await;
    emu.offer_ota_over_mqtt(Cloud::Aliyun, DN, "2.0.0", image(5_000, "2.0.0"))
        .unwrap();
    next_job(&mut dev).await;
    let mut unused_http = hal_host::TcpTransport::new();
    let result = dev
        .download_ota(
            &mut unused_http,
            &mut FileSink::new(dir.path().join("fw.bin")),
            &mut vec![0u8; 512],
            &settings(),
            |_| {},
        )
        .await;
    let reply_topic = format!("/sys/{PK}/{DN}/thing/file/download_reply").len();
    let request_topic = format!("/sys/{PK}/{DN}/thing/file/download").len();
    let needed = 9 + reply_topic + 256 + 4 + request_topic + 256 + 256;
    assert!(
        matches!(
            result,
            Err(OtaError::ReceiveMemoryTooSmall { capacity: 700, needed: n }) if n == needed
        ),
        "{result:?}"
    );
    assert!(emu.block_requests().is_empty());
    dev.disconnect().await;
}
