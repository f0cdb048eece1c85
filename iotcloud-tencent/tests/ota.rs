//! Tencent OTA through a local mosquitto: the version report on connect, an
//! `update_firmware` notice in Tencent's format turned into a job, and `report_progress`
//! messages in Tencent's format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::sign::TimestampPolicy;
use iotcloud_tencent::Tencent;
use iotcloud_testkit::{Broker, local, ota_round};

#[tokio::test]
async fn a_tencent_upgrade_notice_is_downloaded_and_reported_in_tencents_format() {
    let broker = Broker::start();
    let tencent = Tencent::with_secret("LD8S5J1L07", "ota-dev", "acyv3QDJrRa0fW5UE58KnQ==")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(local(broker.port));
    // `#` does not match topics that start with `$`: watch the report topic itself.
    let round = ota_round(&broker, tencent, "1.0.0", "$ota/report/LD8S5J1L07/ota-dev", |img| {
        (
            "$ota/update/LD8S5J1L07/ota-dev".into(),
            format!(
                r#"{{"type":"update_firmware","version":"2.0.0","url":"{}","md5sum":"{}","file_size":{},"task_id":"task-9"}}"#,
                img.url, img.md5, img.size
            ),
        )
    })
    .await;
    round.assert_took_version_2("md5");
    assert!(
        round.job.contains(r#"task_id: Some("task-9")"#),
        "{}",
        round.job
    );

    let payloads: Vec<&str> = round.published.iter().map(|(_, p)| p.as_str()).collect();
    assert!(
        round
            .published
            .iter()
            .all(|(t, _)| t == "$ota/report/LD8S5J1L07/ota-dev"),
        "{:?}",
        round.published
    );
    // On connect: the version report, which is also Tencent's request for a pending job.
    assert_eq!(
        payloads[0],
        r#"{"type":"report_version","report":{"version":"1.0.0"}}"#
    );
    let progress: Vec<&str> = payloads
        .iter()
        .copied()
        .filter(|p| p.starts_with(r#"{"type":"report_progress""#))
        .collect();
    assert!(progress.len() >= 3, "{progress:?}");
    let percents: Vec<u32> = progress
        .iter()
        .filter_map(|p| {
            let at = p.find(r#""percent":""#)? + 11;
            p[at..].split('"').next()?.parse().ok()
        })
        .collect();
    assert!(percents.len() >= 2, "{progress:?}");
    assert!(percents.windows(2).all(|w| w[1] >= w[0]), "{progress:?}");
    assert!(
        progress[0].starts_with(
            r#"{"type":"report_progress","report":{"progress":{"state":"downloading","percent":""#
        ),
        "{progress:?}"
    );
    // Verified: the image is being burnt, reported for the target version and task.
    assert_eq!(
        *progress.last().unwrap(),
        r#"{"type":"report_progress","report":{"progress":{"state":"burning","result_code":"0","result_msg":""},"version":"2.0.0","task_id":"task-9"}}"#
    );
}
