//! Tencent's data template through a local mosquitto carrying Tencent's exact topics and
//! payloads: desired values (`get_status`) and the time (`$sys/operation`) fetched on
//! connect, a `control` and an `action` answered, a `report` and an `event_post` replied
//! to — for a device with a clock and one without.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::data::PropertyOrigin;
use iotcloud_tencent::Tencent;
use iotcloud_testkit::data::{DataCloud, DataEv, data_round, number_in, on};
use iotcloud_testkit::{Broker, local};

const PROPERTY_UP: &str = "$thing/up/property/LD8S5J1L07/lamp-1";
const PROPERTY_DOWN: &str = "$thing/down/property/LD8S5J1L07/lamp-1";
const ACTION_UP: &str = "$thing/up/action/LD8S5J1L07/lamp-1";
const ACTION_DOWN: &str = "$thing/down/action/LD8S5J1L07/lamp-1";
const EVENT_UP: &str = "$thing/up/event/LD8S5J1L07/lamp-1";
const EVENT_DOWN: &str = "$thing/down/event/LD8S5J1L07/lamp-1";
const OPERATION: &str = "$sys/operation/LD8S5J1L07/lamp-1";
const OPERATION_RESULT: &str = "$sys/operation/result/LD8S5J1L07/lamp-1";

/// The `clientToken` of the device's message `p`: Tencent echoes it as a string.
fn token(p: &str) -> u64 {
    number_in(p, "clientToken").unwrap()
}

/// Tencent answers by `method` on a shared topic: `answer` only for messages on `topic`
/// whose `method` is `method`.
fn on_method(
    topic: &'static str,
    method: &'static str,
    reply: &'static str,
    answer: impl Fn(&str) -> String + 'static,
) -> iotcloud_testkit::data::Answer {
    let inner = on(topic, reply, answer);
    Box::new(move |t, p| {
        if p.starts_with(&format!(r#"{{"method":"{method}","#)) {
            inner(t, p)
        } else {
            (String::new(), String::new())
        }
    })
}

fn cloud() -> DataCloud {
    DataCloud {
        watch: vec!["$thing/up/#".into(), OPERATION.into()],
        set: Some((
            PROPERTY_DOWN.into(),
            r#"{"method":"control","clientToken":"clientToken-5001","params":{"power_switch":1}}"#
                .into(),
        )),
        command: Some((
            ACTION_DOWN.into(),
            r#"{"method":"action","clientToken":"clientToken-5002","actionId":"blink","timestamp":1700000000,"params":{"times":3}}"#.into(),
        )),
        report_reply: Some(on_method(PROPERTY_UP, "report", PROPERTY_DOWN, |p| {
            format!(
                r#"{{"method":"report_reply","clientToken":"{}","code":0,"status":"success"}}"#,
                token(p)
            )
        })),
        event_reply: Some(on_method(EVENT_UP, "event_post", EVENT_DOWN, |p| {
            format!(
                r#"{{"method":"event_reply","clientToken":"{}","version":"1.0","code":0,"status":"","data":{{}}}}"#,
                token(p)
            )
        })),
        // The last reported state in `data.reported`, the pending control values in
        // `data.control`: only the latter are desired values.
        desired: Some(on_method(PROPERTY_UP, "get_status", PROPERTY_DOWN, |p| {
            format!(
                r#"{{"method":"get_status_reply","clientToken":"{}","code":0,"status":"success","data":{{"reported":{{"power_switch":1}},"control":{{"power_switch":0}}}}}}"#,
                token(p)
            )
        })),
        // Seconds in `time`, the server's receive and send times in ms in `ntptime1/2`.
        time: Some(on(OPERATION, OPERATION_RESULT, |_| {
            r#"{"type":"get","time":1700000000,"ntptime1":1700000000100,"ntptime2":1700000000105}"#
                .into()
        })),
    }
}

async fn round(clockless: bool) -> iotcloud_testkit::data::DataRound {
    let broker = Broker::start();
    let tencent = Tencent::with_secret("LD8S5J1L07", "lamp-1", "acyv3QDJrRa0fW5UE58KnQ==")
        .unwrap()
        .with_overrides(local(broker.port));
    data_round(&broker, tencent, cloud(), clockless).await
}

/// Everything the device publishes, byte for byte: Tencent's messages carry no time, so a
/// device without a clock publishes the same.
const PUBLISHED: [(&str, &str); 6] = [
    (PROPERTY_UP, r#"{"method":"get_status","clientToken":"1"}"#),
    (OPERATION, r#"{"type":"get","resource":["time"]}"#),
    (
        PROPERTY_UP,
        r#"{"method":"control_reply","clientToken":"clientToken-5001","code":0,"status":"success"}"#,
    ),
    (
        ACTION_UP,
        r#"{"method":"action_reply","clientToken":"clientToken-5002","code":0,"status":"success","response":{"result":"done"}}"#,
    ),
    (
        PROPERTY_UP,
        r#"{"method":"report","clientToken":"5","params":{"temp":21.5,"on":true}}"#,
    ),
    (
        EVENT_UP,
        r#"{"method":"event_post","clientToken":"6","eventId":"alarm","type":"info","params":{"level":2}}"#,
    ),
];

fn events(offset_known: bool) -> Vec<DataEv> {
    vec![
        DataEv::Properties(
            PropertyOrigin::Desired,
            "1".into(),
            vec![("\"power_switch\"".into(), "0".into())],
        ),
        DataEv::TimeSynced { offset_known },
        DataEv::Properties(
            PropertyOrigin::Set,
            "clientToken-5001".into(),
            vec![("\"power_switch\"".into(), "1".into())],
        ),
        DataEv::Command(
            "clientToken-5002".into(),
            "blink".into(),
            None,
            r#"{"times":3}"#.into(),
        ),
        // The device subscribes only `$thing/down/…` and `$sys/operation/result/…`, none
        // of which covers its own messages: nothing comes back to it.
        DataEv::Reply(5, 0, true),
        DataEv::Reply(6, 0, true),
    ]
}

#[tokio::test]
async fn the_tencent_data_template_round_trips_in_tencents_format() {
    let round = round(false).await;
    let published = round.published();
    assert_eq!(published, PUBLISHED);
    assert_eq!(round.events, events(true));
}

#[tokio::test]
async fn a_device_without_a_clock_learns_the_time_from_the_operation_topic() {
    let round = round(true).await;
    let published = round.published();
    // The time request carries no device time, and no message carries a time, so the
    // round is the same byte for byte; only the sync has no offset to tell.
    assert_eq!(published, PUBLISHED);
    assert_eq!(round.events, events(false));
}
