//! Aliyun OTA through a local mosquitto: the version report and job request on connect, a
//! notice in Aliyun's format turned into a job, and progress in Aliyun's format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_aliyun::Aliyun;
use iotcloud_testkit::{Broker, local, ota_round};

#[tokio::test]
async fn an_aliyun_upgrade_notice_is_downloaded_and_reported_in_aliyuns_format() {
    let broker = Broker::start();
    let aliyun = Aliyun::with_secret("a1OtaPk", "pump-7", "secret")
        .unwrap()
        .with_overrides(local(broker.port));
    let round = ota_round(&broker, aliyun, "1.0.0", "#", |img| {
        (
            "/ota/device/upgrade/a1OtaPk/pump-7".into(),
            format!(
                r#"{{"code":"1000","data":{{"size":{},"sign":"{}","signMethod":"SHA256","version":"2.0.0","url":"{}","md5":"{}"}},"id":1,"message":"success"}}"#,
                img.size, img.sha256, img.url, img.md5
            ),
        )
    })
    .await;
    round.assert_took_version_2("sha256");
    let mine: Vec<_> = round
        .published
        .iter()
        .filter(|(t, _)| !t.starts_with("/ota/device/upgrade/"))
        .collect();
    let (topic, inform) = &mine[0];
    assert_eq!(topic, "/ota/device/inform/a1OtaPk/pump-7");
    assert!(
        inform.ends_with(r#","params":{"version":"1.0.0"}}"#),
        "{inform}"
    );
    assert_eq!(mine[1].0, "/sys/a1OtaPk/pump-7/thing/ota/firmware/get");
    let progress: Vec<&str> = mine
        .iter()
        .filter(|(t, _)| t == "/ota/device/progress/a1OtaPk/pump-7")
        .map(|(_, p)| p.as_str())
        .collect();
    assert!(progress.len() >= 3, "{progress:?}");
    // Percent steps while downloading, at least 25 apart, then 100 once verified.
    let steps: Vec<i32> = progress
        .iter()
        .map(|p| {
            let at = p.find(r#""step":""#).unwrap() + 8;
            p[at..].split('"').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(steps.windows(2).all(|w| w[1] >= w[0]), "{progress:?}");
    assert!(
        steps[..steps.len() - 1]
            .iter()
            .all(|s| (1..100).contains(s)),
        "{progress:?}"
    );
    assert!(
        progress[0].contains(r#""desc":"downloading""#),
        "{progress:?}"
    );
    let last = progress.last().unwrap();
    assert!(
        last.contains(r#""step":"100","desc":"downloaded and verified""#),
        "{last}"
    );
}
