//! IoTDA's product-model services through a local mosquitto carrying IoTDA's exact topics
//! and payloads: the shadow's desired values and the time (`$time_sync`) fetched on
//! connect, a property set and a command answered, and a property report — for a device
//! with a clock and one without.
//!
//! IoTDA does not reply to property reports (`report_reply: None`), and has no custom
//! device events: the device refuses to post one, by name, and sends nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use iotcloud_core::data::{DataError, PropertyOrigin};
use iotcloud_huawei::{DeviceId, EVENTS_UNSUPPORTED, Huawei};
use iotcloud_testkit::data::{DataCloud, DataEv, DataRound, data_round, number_in, on};
use iotcloud_testkit::{Broker, local};

const ID: &str = "6203cc94c7fb24029b110408_lamp-1";
const SYS: &str = "$oc/devices/6203cc94c7fb24029b110408_lamp-1/sys";

/// IoTDA's request ids (a command's is its `command_id`).
const SET_ID: &str = "8b2f7a0e-5001-4c4e-9a51-3f0d5c6e7a01";
const COMMAND_ID: &str = "8b2f7a0e-5002-4c4e-9a51-3f0d5c6e7a02";

/// The cloud's time: its receive and send times, ms.
const RECEIVED: u64 = 1_700_000_000_100;
const SENT: u64 = 1_700_000_000_105;

fn s(tail: &str) -> String {
    format!("{SYS}/{tail}")
}

fn cloud() -> DataCloud {
    DataCloud {
        watch: vec![format!("{SYS}/#")],
        set: Some((
            s(&format!("properties/set/request_id={SET_ID}")),
            format!(
                r#"{{"object_device_id":"{ID}","services":[{{"service_id":"Meter","properties":{{"switch":1}}}}]}}"#
            ),
        )),
        command: Some((
            s(&format!("commands/request_id={COMMAND_ID}")),
            format!(
                r#"{{"object_device_id":"{ID}","command_name":"blink","service_id":"Meter","paras":{{"times":3}}}}"#
            ),
        )),
        // IoTDA does not reply to property reports, and has no device events.
        report_reply: None,
        event_reply: None,
        // The request id the device chose, echoed in the topic; the shadow's desired and
        // reported sides, of which only the desired values are for the device.
        desired: Some(Box::new(|topic, _| {
            let Some(rid) = topic.strip_prefix(&s("shadow/get/request_id=")) else {
                return (String::new(), String::new());
            };
            (
                s(&format!("shadow/get/response/request_id={rid}")),
                format!(
                    r#"{{"object_device_id":"{ID}","shadow":[{{"service_id":"Meter","desired":{{"properties":{{"switch":0}},"event_time":"20231114T221320Z"}},"reported":{{"properties":{{"switch":1}},"event_time":"20231114T221320Z"}},"version":3}}]}}"#
                ),
            )
        })),
        time: Some(on(&s("events/up"), &s("events/down"), |p| {
            let sent = number_in(p, "device_send_time").unwrap();
            format!(
                r#"{{"object_device_id":"{ID}","services":[{{"service_id":"$time_sync","event_type":"time_sync_response","event_time":"20231114T221320Z","paras":{{"device_send_time":{sent},"server_recv_time":{RECEIVED},"server_send_time":{SENT}}}}}]}}"#
            )
        })),
    }
}

async fn round(clockless: bool) -> (DataRound, String) {
    let broker = Broker::start();
    let huawei = Huawei::with_secret(DeviceId::new(ID).unwrap(), "123456789")
        .unwrap()
        .with_service_id("Meter")
        .unwrap()
        .with_overrides(local(broker.port));
    let round = data_round(&broker, huawei, cloud(), clockless).await;
    let refused = round.event_refused.clone().expect("the event post refused");
    (round, refused)
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

/// The time request, with the device's send time `sent`.
fn time_request(sent: u64) -> String {
    format!(
        r#"{{"services":[{{"service_id":"$time_sync","event_type":"time_sync_request","paras":{{"device_send_time":{sent}}}}}]}}"#
    )
}

/// Everything the device published, byte for byte, the time request's send time being
/// `sent`. Reports carry no `event_time`.
fn published(sent: u64) -> Vec<(String, String)> {
    vec![
        (
            s("shadow/get/request_id=1"),
            r#"{"service_id":"Meter"}"#.into(),
        ),
        (s("events/up"), time_request(sent)),
        (
            s(&format!("properties/set/response/request_id={SET_ID}")),
            r#"{"result_code":0,"result_desc":"success"}"#.into(),
        ),
        (
            s(&format!("commands/response/request_id={COMMAND_ID}")),
            r#"{"result_code":0,"paras":{"result":"done"}}"#.into(),
        ),
        (
            s("properties/report"),
            r#"{"services":[{"service_id":"Meter","properties":{"temp":21.5,"on":true}}]}"#.into(),
        ),
    ]
}

fn events(offset_known: bool) -> Vec<DataEv> {
    vec![
        // The system subscription `$oc/devices/{id}/sys/#` covers the device's own
        // messages too, which mosquitto sends back (IoTDA does not).
        DataEv::Plain(s("shadow/get/request_id=1")),
        DataEv::Plain(s("events/up")),
        DataEv::Properties(
            PropertyOrigin::Desired,
            "1".into(),
            vec![("\"switch\"".into(), "0".into())],
        ),
        DataEv::TimeSynced { offset_known },
        DataEv::Properties(
            PropertyOrigin::Set,
            SET_ID.into(),
            vec![("\"switch\"".into(), "1".into())],
        ),
        DataEv::Command(
            COMMAND_ID.into(),
            "blink".into(),
            Some("Meter".into()),
            r#"{"times":3}"#.into(),
        ),
        DataEv::Plain(s(&format!("properties/set/response/request_id={SET_ID}"))),
        DataEv::Plain(s(&format!("commands/response/request_id={COMMAND_ID}"))),
        DataEv::Plain(s("properties/report")),
    ]
}

fn refusal() -> String {
    format!("{:?}", DataError::Unsupported(EVENTS_UNSUPPORTED))
}

#[tokio::test]
async fn the_iotda_services_round_trip_in_iotdas_format() {
    let start = unix_ms();
    let (round, refused) = round(false).await;
    let end = unix_ms();
    // The time request carries the host's time.
    let sent = number_in(&round.published[1].1, "device_send_time").unwrap();
    assert!((start..=end).contains(&sent), "{}", round.published[1].1);
    assert_eq!(round.published, published(sent));
    assert_eq!(round.events, events(true));
    assert_eq!(refused, refusal());
}

#[tokio::test]
async fn a_device_without_a_clock_learns_the_time_from_time_sync() {
    let (round, refused) = round(true).await;
    // The time request carries the device's monotonic clock, which the answer echoes so
    // the device can match it; nothing else it sends carries a time.
    let sent = number_in(&round.published[1].1, "device_send_time").unwrap();
    assert!(sent < 1_000_000_000, "{}", round.published[1].1);
    assert_eq!(round.published, published(sent));
    assert_eq!(round.events, events(false));
    assert_eq!(refused, refusal());
}
