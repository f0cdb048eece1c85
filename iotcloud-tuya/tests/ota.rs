//! TuyaLink OTA through a local mosquitto: the `INIT` firmware report and the pending-job
//! request on connect, an `ota/issue` notice in Tuya's envelope turned into a job, and
//! `ota/progress/report` messages in Tuya's format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::sign::TimestampPolicy;
use iotcloud_testkit::{Broker, local, ota_round};
use iotcloud_tuya::Tuya;

const ID: &str = "6c95875d0f5ba69607otaa";

#[tokio::test]
async fn a_tuya_upgrade_notice_is_downloaded_and_reported_in_tuyas_format() {
    let broker = Broker::start();
    let tuya = Tuya::with_secret(ID, "fb803786602df760")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        // TuyaLink's auto-subscribe channel routes downlinks in the cloud, which mosquitto
        // does not: subscribe to the OTA downlinks themselves.
        .with_auto_subscribe(false)
        .with_overrides(local(broker.port));
    let prefix = format!("tylink/{ID}/");
    let round = ota_round(&broker, tuya, "1.0.0", &format!("{prefix}#"), |img| {
        (
            format!("{prefix}ota/issue"),
            format!(
                r#"{{"msgId":"88","time":1763884800000,"data":{{"channel":0,"version":"2.0.0","url":"{}","size":"{}","md5":"{}"}}}}"#,
                img.url, img.size, img.md5
            ),
        )
    })
    .await;
    round.assert_took_version_2("md5");
    assert!(round.job.contains("module: None"), "{}", round.job);

    let mine: Vec<(&str, &str)> = round
        .published
        .iter()
        .map(|(t, p)| (t.strip_prefix(&prefix).unwrap(), p.as_str()))
        .filter(|(t, _)| *t != "ota/issue")
        .collect();
    // On connect: the firmware report, then the request for a pending upgrade.
    assert_eq!(mine[0].0, "ota/firmware/report");
    assert!(
        mine[0].1.ends_with(
            r#""data":{"bizType":"INIT","otaChannel":[{"channel":0,"version":"1.0.0"}]}}"#
        ),
        "{}",
        mine[0].1
    );
    assert_eq!(mine[1].0, "ota/get");
    let progress: Vec<&str> = mine
        .iter()
        .filter(|(t, _)| *t == "ota/progress/report")
        .map(|(_, p)| *p)
        .collect();
    assert!(progress.len() >= 3, "{progress:?}");
    let percents: Vec<u32> = progress
        .iter()
        .map(|p| {
            let at = p.find(r#""progress":"#).unwrap() + 11;
            p[at..].trim_end_matches('}').parse().unwrap()
        })
        .collect();
    assert!(percents.windows(2).all(|w| w[1] >= w[0]), "{progress:?}");
    assert_eq!(*percents.last().unwrap(), 100, "{progress:?}");
    assert!(
        progress
            .iter()
            .all(|p| p.starts_with(r#"{"msgId":""#)
                && p.contains(r#","data":{"channel":0,"progress":"#)),
        "{progress:?}"
    );
}
