//! IoTDA OTA through a local mosquitto: the `$ota` version report on connect, a
//! `firmware_upgrade` event in IoTDA's envelope turned into a job (its access token kept
//! out of `Debug`), and `upgrade_progress_report` events in IoTDA's format.

#![cfg(feature = "ota")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::sign::TimestampPolicy;
use iotcloud_huawei::{DeviceId, Huawei};
use iotcloud_testkit::{Broker, local, ota_round_subscribed};

const ID: &str = "6203cc94c7fb24029b110408_ota01";

#[tokio::test]
async fn an_iotda_upgrade_event_is_downloaded_and_reported_in_iotdas_format() {
    let broker = Broker::start();
    let huawei = Huawei::with_secret(DeviceId::new(ID).unwrap(), "123456789")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        // Under `sys/#` mosquitto would also echo the device's own `sys/events/up` reports
        // back to it, which IoTDA does not: the round subscribes the downlink alone.
        .with_sys_subscription(false)
        .with_overrides(local(broker.port));
    let up = format!("$oc/devices/{ID}/sys/events/up");
    let down = format!("$oc/devices/{ID}/sys/events/down");
    let round = ota_round_subscribed(&broker, huawei, "1.0.0", &up, Some(&down), |img| {
        (
            down.clone(),
            format!(
                r#"{{"object_device_id":"{ID}","services":[{{"service_id":"$ota","event_type":"firmware_upgrade","event_time":"20261123T080000Z","paras":{{"version":"2.0.0","url":"{}","file_size":{},"access_token":"tok-3f9a","expires":86400,"sign":"{}","task_id":"t-42"}}}}]}}"#,
                img.url, img.size, img.sha256
            ),
        )
    })
    .await;
    round.assert_took_version_2("sha256");
    assert!(
        round.job.contains(r#"module: Some("firmware")"#),
        "{}",
        round.job
    );
    assert!(round.job.contains("<redacted>"), "{}", round.job);
    assert!(!round.job.contains("tok-3f9a"), "{}", round.job);

    assert!(round.published.iter().all(|(t, _)| *t == up));
    let payloads: Vec<&str> = round.published.iter().map(|(_, p)| p.as_str()).collect();
    let envelope = format!(r#"{{"object_device_id":"{ID}","services":[{{"service_id":"$ota","#);
    assert!(
        payloads.iter().all(|p| p.starts_with(&envelope)),
        "{payloads:?}"
    );
    // On connect: the version report, for the software and the firmware module.
    assert!(
        payloads[0].contains(r#""event_type":"version_report""#)
            && payloads[0].ends_with(r#""paras":{"sw_version":"1.0.0","fw_version":"1.0.0"}}]}"#),
        "{}",
        payloads[0]
    );
    let progress: Vec<&str> = payloads
        .iter()
        .copied()
        .filter(|p| p.contains(r#""event_type":"upgrade_progress_report""#))
        .collect();
    assert!(progress.len() >= 3, "{progress:?}");
    let percents: Vec<u32> = progress
        .iter()
        .map(|p| {
            let at = p.find(r#""progress":"#).unwrap() + 11;
            p[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(percents.windows(2).all(|w| w[1] >= w[0]), "{progress:?}");
    assert_eq!(*percents.last().unwrap(), 100, "{progress:?}");
    assert!(
        progress.iter().all(|p| p.contains(r#""result_code":0"#)),
        "{progress:?}"
    );
    let last = progress.last().unwrap();
    assert!(last.contains(r#""description":"installing""#), "{last}");
    assert!(last.contains(r#""version":"1.0.0""#), "{last}");
}
