//! OneNET OTA end to end through the cloud emulator: the task announced on `ota/inform`,
//! checked over the HTTP OTA API with the device token, downloaded by the core's engine
//! with the token as `Authorization` (a dropped connection resumed with `Range`, the MD5
//! verified), and the status reported back over the API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hal_host::{FileSink, HostPlatform, SystemClock, TcpTransport};
use iotcloud_core::ota::{DownloadSettings, Firmware, OtaStatus};
use iotcloud_core::provider::SignContext;
use iotcloud_core::{Clock as _, Device, Event, Memory};
use iotcloud_emulator::{
    Accounts, Cloud, CloudEmulator, DownloadFault, OneNetDevice, OneNetProduct, OneNetUser,
    OtaReport, image,
};
use iotcloud_onenet::{OneNet, OtaAnswerError, OtaApiError, OtaRefusal};
use iotcloud_testkit::local;

const PID: &str = "OtaOneNet1";
const DN: &str = "pump-7";
const KEY: &str = "b25lbmV0LW90YS1rZXktcHVtcDctMDAwMDAwMDAwMDA=";

#[tokio::test(flavor = "current_thread")]
async fn a_onenet_task_is_checked_downloaded_resumed_verified_and_reported() {
    let mut accounts = Accounts::default();
    accounts
        .onenet
        .push(OneNetUser::new("4242", "dXNlci1rZXk=").with_product(
            OneNetProduct::new(PID).with_device(OneNetDevice {
                name: DN.into(),
                did: 1,
                sec_key: KEY.into(),
            }),
        ));
    let emulator = CloudEmulator::start(accounts, &[Cloud::OneNet]).unwrap();
    let api = format!("http://{}/fuse-ota", emulator.firmware().addr());
    let onenet = OneNet::with_secret(PID, DN, KEY)
        .unwrap()
        .with_overrides(local(emulator.mqtt_port(Cloud::OneNet).unwrap()))
        .with_ota_url(&api)
        .unwrap();

    let (mut rx, mut tx, mut session, mut job_mem) = (
        vec![0u8; 8192],
        vec![0u8; 2048],
        vec![0u8; 4096],
        vec![0u8; 1024],
    );
    let memory = Memory {
        rx: &mut rx,
        tx: &mut tx,
        session: &mut session,
        credentials: &mut [],
        ota_job: &mut job_mem,
    };
    let device = Device::new(onenet, HostPlatform::new(), memory).with_ota(Firmware::new("1.0"));
    let mut device = device.register().await.unwrap().connect().await.unwrap();
    // The cloud delivers the announcement only once the subscriptions are in: their SUBACKs
    // (the system topic's and the OTA notice's).
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut acknowledged = 0;
        while acknowledged < 2 {
            if let Event::Subscribed { codes, .. } = device.next_event().await.unwrap() {
                acknowledged += codes.iter().count();
            }
        }
    })
    .await
    .expect("the SUBACKs");

    let bytes = image(20_000, "2.0");
    let offer = emulator
        .offer_ota(Cloud::OneNet, DN, "2.0", bytes.clone())
        .unwrap();
    // The announcement reaches the application as an ordinary message.
    let inform = format!("$sys/{PID}/{DN}/ota/inform");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Event::Message(m) = device.next_event().await.unwrap()
                && m.topic == inform
            {
                break;
            }
        }
    })
    .await
    .expect("the announcement");
    assert!(device.ota_job().is_none(), "the announcement is not a job");

    let clock = SystemClock::new();
    let ctx = SignContext {
        unix_time_ms: clock.unix_time_ms(),
        random: 0,
        registered: None,
    };
    let mut http = TcpTransport::new();
    let mut work = vec![0u8; 4096];
    onenet
        .ota_report_version(&mut http, &clock, &ctx, "1.0", &mut work)
        .await
        .unwrap();
    let mut job_buf = vec![0u8; 1024];
    let job = onenet
        .ota_check(&mut http, &clock, &ctx, "1.0", &mut work, &mut job_buf)
        .await
        .unwrap()
        .expect("a task");
    assert_eq!(job.version(), "2.0");
    assert_eq!(job.size(), Some(20_000));
    assert_eq!(job.task_id(), Some(offer.task_id.as_str()));
    assert_eq!(job.url(), offer.url);
    assert!(!format!("{job:?}").contains("sign="));
    device.set_ota_job(&job).unwrap();

    // The first connection drops after 7000 bytes: the rest comes with `Range`.
    emulator
        .firmware()
        .fail_next(DownloadFault::DropAfter(7000));
    let dir = std::env::temp_dir().join(format!("onenet-ota-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fw.bin");
    let mut sink = FileSink::new(&path);
    let mut buf = vec![0u8; 8192];
    let settings = DownloadSettings {
        retry_delay_ms: 10,
        ..DownloadSettings::default()
    };
    let len = device
        .download_ota(&mut http, &mut sink, &mut buf, &settings, |_| {})
        .await
        .unwrap();
    assert_eq!(len, 20_000);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let _ = std::fs::remove_dir_all(&dir);

    let downloads: Vec<_> = emulator
        .firmware()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/download"))
        .collect();
    assert_eq!(downloads.len(), 2, "one drop, one resume");
    let token = downloads[0].header("authorization").unwrap().to_owned();
    assert!(token.starts_with("version=2018-10-31&res=products%2FOtaOneNet1%2Fdevices%2Fpump-7&"));
    assert_eq!(downloads[0].header("range"), None);
    assert_eq!(downloads[1].header("range"), Some("bytes=7000-"));
    assert_eq!(downloads[1].header("authorization"), Some(token.as_str()));

    let job = device.ota_job().unwrap();
    for status in [OtaStatus::Installing, OtaStatus::Done] {
        onenet
            .ota_report(&mut http, &clock, &ctx, &job, status, &mut work)
            .await
            .unwrap();
    }
    // The task has ended: another report is refused by name, and no task is left.
    let again = onenet
        .ota_report(&mut http, &clock, &ctx, &job, OtaStatus::Done, &mut work)
        .await;
    assert!(
        matches!(
            again,
            Err(OtaApiError::Answer(OtaAnswerError::Refused {
                code: 20,
                reason: OtaRefusal::TaskEnded
            }))
        ),
        "{again:?}"
    );
    let none = onenet
        .ota_check(&mut http, &clock, &ctx, "1.0", &mut work, &mut job_buf)
        .await
        .unwrap();
    assert!(none.is_none());

    let reports: Vec<OtaReport> = emulator
        .ota_reports()
        .into_iter()
        .filter(|(who, _)| who.device == DN)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        reports,
        [
            OtaReport::Version("1.0".into()),
            OtaReport::Installing,
            OtaReport::Done
        ]
    );

    // A token of another key is refused by name.
    let impostor = OneNet::with_secret(PID, DN, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy0wMDA=")
        .unwrap()
        .with_ota_url(&api)
        .unwrap();
    let refused = impostor
        .ota_report_version(&mut http, &clock, &ctx, "1.0", &mut work)
        .await;
    assert!(
        matches!(
            refused,
            Err(OtaApiError::Answer(OtaAnswerError::Refused {
                reason: OtaRefusal::TokenMismatch,
                ..
            }))
        ),
        "{refused:?}"
    );
    let _ = device.disconnect().await;
}
