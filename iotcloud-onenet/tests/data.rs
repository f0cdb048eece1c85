//! OneNET's thing model (OneJSON) through a local mosquitto carrying OneNET's exact topics
//! and payloads: desired values fetched on connect, a property set and a service call
//! answered, a property post and an event post replied to — for a device with a clock and
//! one without.
//!
//! OneNET documents no MQTT time service: the device sends no time request, the cloud has
//! none to answer (`time: None`), and no time is ever learned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::data::PropertyOrigin;
use iotcloud_onenet::OneNet;
use iotcloud_testkit::data::{DataCloud, DataEv, data_round, number_in, on};
use iotcloud_testkit::{Broker, local};

const THING: &str = "$sys/Ck2AF9QD2K/lamp-1/thing";

fn t(tail: &str) -> String {
    format!("{THING}/{tail}")
}

/// OneNET's reply to the device's request `p`: its `id` echoed, code 200.
fn success(p: &str) -> String {
    format!(
        r#"{{"id":"{}","code":200,"msg":"success"}}"#,
        number_in(p, "id").unwrap()
    )
}

fn cloud() -> DataCloud {
    DataCloud {
        watch: vec![format!("{THING}/#")],
        set: Some((
            t("property/set"),
            r#"{"id":"5001","version":"1.0","params":{"power":"off"}}"#.into(),
        )),
        command: Some((
            t("service/blink/invoke"),
            r#"{"id":"5002","version":"1.0","params":{"times":3}}"#.into(),
        )),
        report_reply: Some(on(&t("property/post"), &t("property/post/reply"), success)),
        event_reply: Some(on(&t("event/post"), &t("event/post/reply"), success)),
        desired: Some(on(
            &t("property/desired/get"),
            &t("property/desired/get/reply"),
            |p| {
                format!(
                    r#"{{"id":"{}","code":200,"msg":"success","data":{{"power":{{"value":"on","version":2}}}}}}"#,
                    number_in(p, "id").unwrap()
                )
            },
        )),
        // No time service on OneNET.
        time: None,
    }
}

async fn round(clockless: bool) -> iotcloud_testkit::data::DataRound {
    let broker = Broker::start();
    let onenet = OneNet::with_secret(
        "Ck2AF9QD2K",
        "lamp-1",
        "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
    )
    .unwrap()
    .with_desired_properties(&["power"])
    .with_overrides(local(broker.port));
    data_round(&broker, onenet, cloud(), clockless).await
}

/// Everything the device publishes, byte for byte. No time request (the message ids run
/// on from the desired-values fetch), and no `time` in reports or events: a device
/// without a clock publishes the same.
fn published() -> Vec<(String, String)> {
    [
        (
            "property/desired/get",
            r#"{"id":"1","version":"1.0","params":["power"]}"#,
        ),
        (
            "property/set_reply",
            r#"{"id":"5001","code":200,"msg":"success"}"#,
        ),
        (
            "service/blink/invoke_reply",
            r#"{"id":"5002","code":200,"msg":"success","data":{"result":"done"}}"#,
        ),
        (
            "property/post",
            r#"{"id":"4","version":"1.0","params":{"temp":{"value":21.5},"on":{"value":true}}}"#,
        ),
        (
            "event/post",
            r#"{"id":"5","version":"1.0","params":{"alarm":{"value":{"level":2}}}}"#,
        ),
    ]
    .into_iter()
    .map(|(tail, p)| (t(tail), p.to_string()))
    .collect()
}

fn events() -> Vec<DataEv> {
    vec![
        // The thing subscription `$sys/{pid}/{dn}/thing/#` covers the device's own
        // messages too, which mosquitto sends back (OneNET does not).
        DataEv::Plain(t("property/desired/get")),
        DataEv::Properties(
            PropertyOrigin::Desired,
            "1".into(),
            vec![("\"power\"".into(), "\"on\"".into())],
        ),
        DataEv::Properties(
            PropertyOrigin::Set,
            "5001".into(),
            vec![("\"power\"".into(), "\"off\"".into())],
        ),
        DataEv::Command("5002".into(), "blink".into(), None, r#"{"times":3}"#.into()),
        DataEv::Plain(t("property/set_reply")),
        DataEv::Plain(t("service/blink/invoke_reply")),
        DataEv::Plain(t("property/post")),
        DataEv::Plain(t("event/post")),
        DataEv::Reply(4, 200, true),
        DataEv::Reply(5, 200, true),
    ]
}

#[tokio::test]
async fn the_onenet_thing_model_round_trips_in_onenets_format() {
    let round = round(false).await;
    assert_eq!(round.published, published());
    assert_eq!(round.events, events());
}

#[tokio::test]
async fn a_device_without_a_clock_asks_no_time_and_publishes_the_same() {
    let round = round(true).await;
    // Without a time service there is nothing to sync: no request went out, no
    // `TimeSynced` came, and nothing the device wrote depended on its clock.
    assert_eq!(round.published, published());
    assert_eq!(round.events, events());
}
