//! TuyaLink's thing model through a local mosquitto carrying Tuya's exact topics and
//! payloads: desired values and the time (`ext/time`) fetched on connect, a property set
//! and an action answered, a property report and an event trigger replied to — for a
//! device with a clock and one without.
//!
//! Tuya routes every downlink to a device subscribed to its `auto_subscribe` channel;
//! mosquitto routes nothing that way, so the device here subscribes each data downlink
//! itself (`with_auto_subscribe(false)`), as Tuya's SDK does without that channel.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use iotcloud_core::data::PropertyOrigin;
use iotcloud_testkit::data::{DataCloud, DataEv, data_round, number_in, on};
use iotcloud_testkit::{Broker, local};
use iotcloud_tuya::Tuya;

const ID: &str = "6c95875d0f5ba69607nzfl";

fn t(tail: &str) -> String {
    format!("tylink/{ID}/{tail}")
}

/// The cloud's time: its receive (`srt`) and send (`sst`) times, ms.
const SRT: u64 = 1_700_000_000_100;
const SST: u64 = 1_700_000_000_105;

/// Tuya's reply to the device's message `p`: its `msgId` echoed, code 0.
fn success(p: &str) -> String {
    format!(
        r#"{{"msgId":"{}","time":1700000000500,"code":0}}"#,
        number_in(p, "msgId").unwrap()
    )
}

fn cloud() -> DataCloud {
    DataCloud {
        watch: vec![format!("tylink/{ID}/thing/#"), t("ext/time/request")],
        set: Some((
            t("thing/property/set"),
            r#"{"msgId":"5001","time":1700000000200,"data":{"power":"off"},"sys":{"ack":1}}"#
                .into(),
        )),
        command: Some((
            t("thing/action/execute"),
            r#"{"msgId":"5002","time":1700000000300,"data":{"actionCode":"blink","inputParams":{"times":3}}}"#.into(),
        )),
        // The report and the event ask for a reply (`"sys":{"ack":1}`), so Tuya sends one.
        report_reply: Some(on(
            &t("thing/property/report"),
            &t("thing/property/report_response"),
            success,
        )),
        event_reply: Some(on(
            &t("thing/event/trigger"),
            &t("thing/event/trigger_response"),
            success,
        )),
        desired: Some(on(
            &t("thing/property/desired/get"),
            &t("thing/property/desired/get_response"),
            |p| {
                format!(
                    r#"{{"msgId":"{}","time":1700000000010,"code":0,"data":{{"power":{{"value":"on","version":2}}}}}}"#,
                    number_in(p, "msgId").unwrap()
                )
            },
        )),
        // `dst`, the device's send time, echoed.
        time: Some(on(&t("ext/time/request"), &t("ext/time/response"), |p| {
            let dst = number_in(p, "dst").unwrap();
            format!(
                r#"{{"msgId":"{}","time":{SST},"data":{{"bizType":"NTP","dst":{dst},"srt":{SRT},"sst":{SST}}}}}"#,
                number_in(p, "msgId").unwrap()
            )
        })),
    }
}

async fn round(clockless: bool) -> iotcloud_testkit::data::DataRound {
    let broker = Broker::start();
    let tuya = Tuya::with_secret(ID, "fb803786602df760")
        .unwrap()
        .with_auto_subscribe(false)
        .with_overrides(local(broker.port));
    data_round(&broker, tuya, cloud(), clockless).await
}

fn unix_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// What the device published after the time request, `{T}` standing for the time each
/// message carries (its top-level `time`; values and events carry the same).
const AFTER_SYNC: [(&str, &str); 4] = [
    (
        "thing/property/set_response",
        r#"{"msgId":"5001","time":{T},"code":0}"#,
    ),
    (
        "thing/action/execute_response",
        r#"{"msgId":"5002","time":{T},"code":0,"data":{"actionCode":"blink","outputParams":{"result":"done"}}}"#,
    ),
    (
        "thing/property/report",
        r#"{"msgId":"5","time":{T},"data":{"temp":{"value":21.5,"time":{T}},"on":{"value":true,"time":{T}}},"sys":{"ack":1}}"#,
    ),
    (
        "thing/event/trigger",
        r#"{"msgId":"6","time":{T},"data":{"eventCode":"alarm","eventTime":{T},"outputParams":{"level":2}},"sys":{"ack":1}}"#,
    ),
];

/// Checks `published[2..]` against [`AFTER_SYNC`] byte for byte, each time within
/// `range`.
fn assert_after_sync(published: &[(String, String)], range: std::ops::RangeInclusive<u64>) {
    assert_eq!(published.len(), 6, "{published:#?}");
    for ((topic, payload), (tail, form)) in published[2..].iter().zip(AFTER_SYNC) {
        let time = number_in(payload, "time").unwrap();
        assert!(range.contains(&time), "{time} not in {range:?}: {payload}");
        assert_eq!(
            (topic.as_str(), payload.as_str()),
            (
                t(tail).as_str(),
                form.replace("{T}", &time.to_string()).as_str()
            )
        );
    }
}

fn events(offset_known: bool) -> Vec<DataEv> {
    vec![
        DataEv::Properties(
            PropertyOrigin::Desired,
            "1".into(),
            vec![("\"power\"".into(), "\"on\"".into())],
        ),
        DataEv::TimeSynced { offset_known },
        DataEv::Properties(
            PropertyOrigin::Set,
            "5001".into(),
            vec![("\"power\"".into(), "\"off\"".into())],
        ),
        DataEv::Command("5002".into(), "blink".into(), None, r#"{"times":3}"#.into()),
        // The device subscribes only the downlinks: none of its own messages come back.
        DataEv::Reply(5, 0, true),
        DataEv::Reply(6, 0, true),
    ]
}

#[tokio::test]
async fn the_tuyalink_thing_model_round_trips_in_tuyas_format() {
    let start = unix_ms();
    let round = round(false).await;
    let end = unix_ms();
    let published = &round.published;
    assert_eq!(published[0].0, t("thing/property/desired/get"));
    let time = number_in(&published[0].1, "time").unwrap();
    assert!((start..=end).contains(&time), "{}", published[0].1);
    assert_eq!(
        published[0].1,
        format!(r#"{{"msgId":"1","time":{time},"data":[],"sys":{{"ack":1}}}}"#)
    );
    // The time request carries the host's time as both `time` and `dst`.
    assert_eq!(published[1].0, t("ext/time/request"));
    let dst = number_in(&published[1].1, "dst").unwrap();
    assert!((start..=end).contains(&dst), "{}", published[1].1);
    assert_eq!(
        published[1].1,
        format!(r#"{{"msgId":"2","time":{dst},"data":{{"bizType":"NTP","dst":{dst}}}}}"#)
    );
    // The host's clock keeps its own time: the cloud's is only told.
    assert_after_sync(published, start..=end);
    assert_eq!(round.events, events(true));
}

#[tokio::test]
async fn a_device_without_a_clock_sends_no_time_until_it_learns_tuyas() {
    let round = round(true).await;
    let published = &round.published;
    // Before the sync the device knows no time and leaves `time` out.
    assert_eq!(
        published[0],
        (
            t("thing/property/desired/get"),
            r#"{"msgId":"1","data":[],"sys":{"ack":1}}"#.into()
        )
    );
    // The time request carries its monotonic clock reading in `dst` only, not as a wall
    // time.
    let dst = number_in(&published[1].1, "dst").unwrap();
    assert!(dst < 1_000_000_000, "{}", published[1].1);
    assert_eq!(
        published[1],
        (
            t("ext/time/request"),
            format!(r#"{{"msgId":"2","data":{{"bizType":"NTP","dst":{dst}}}}}"#)
        )
    );
    // After it, every message carries the time learned from Tuya (a few seconds past
    // `sst` at most), not the host's.
    assert_after_sync(published, SST..=SST + 10_000);
    assert_eq!(round.events, events(false));
}
