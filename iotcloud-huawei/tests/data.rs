//! IoTDA's product-model services through a local mosquitto carrying IoTDA's exact topics
//! and payloads: the shadow's desired values and the time (`$time_sync`) fetched on
//! connect, a property set and a command answered, and a property report — for a device
//! with a clock and one without.
//!
//! IoTDA does not reply to property reports (`report_reply: None`), and has no custom
//! device events: the device refuses to post one, and sends nothing. The testkit's
//! `data_round` unwraps its event post, so the round here runs the same steps with the
//! event post checked for that refusal instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hal_host::{HostPlatform, SystemClock};
use iotcloud_core::data::{DataError, Field, Outcome, PropertyOrigin, Request};
use iotcloud_core::device::{DataOptions, TimeSync};
use iotcloud_core::json::Value;
use iotcloud_core::{Connected, Device, Error, Event, Provider, QoS};
use iotcloud_huawei::{DeviceId, EVENTS_UNSUPPORTED, Huawei};
use iotcloud_testkit::data::{DataCloud, DataEv, DataRound, number_in, on};
use iotcloud_testkit::{Broker, Ev, HostDevice, connect, leak, local, memory, next, subscribe};

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

fn text(v: Value<'_>) -> String {
    String::from_utf8_lossy(v.raw()).into_owned()
}

/// Runs the device until it has been quiet for 300 ms, answering sets with success and
/// commands with `{"result":"done"}`.
async fn pump<P: Provider>(dev: &mut HostDevice<P, Connected>, events: &mut Vec<DataEv>) {
    while let Ok(event) = tokio::time::timeout(Duration::from_millis(300), dev.next_event()).await {
        let mut answer: Option<(Request, bool)> = None;
        match event.expect("device event") {
            Event::Properties(p) => {
                let values = p.iter().map(|(n, v)| (text(n), text(v))).collect();
                events.push(DataEv::Properties(p.origin(), p.id().into(), values));
                if p.origin() == PropertyOrigin::Set {
                    answer = Some((p.request(), false));
                }
            }
            Event::Command(c) => {
                events.push(DataEv::Command(
                    c.id().into(),
                    c.name().into(),
                    c.service().map(Into::into),
                    text(c.params()),
                ));
                answer = Some((c.request(), true));
            }
            Event::Reply(r) => events.push(DataEv::Reply(r.id, r.code, r.success)),
            Event::TimeSynced(t) => events.push(DataEv::TimeSynced {
                offset_known: t.offset_ms.is_some(),
            }),
            Event::DataRejected(e) => events.push(DataEv::Rejected(format!("{e:?}"))),
            Event::Message(m) => events.push(DataEv::Plain(m.topic().into())),
            Event::Disconnected(r) => panic!("disconnected: {r}"),
            _ => {}
        }
        if let Some((request, command)) = answer {
            let output: &[Field<'_>] = &[("result", &"done")];
            let outcome = if command {
                Outcome::with_output(output)
            } else {
                Outcome::success()
            };
            dev.answer(&request, outcome).await.unwrap();
        }
    }
}

/// What the cloud receives until 300 ms pass without a message.
async fn receive<P: Provider>(cloud: &mut HostDevice<P, Connected>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(ev) = next(cloud, 300).await {
        if let Ev::Message { topic, payload, .. } = ev {
            out.push((topic, String::from_utf8_lossy(&payload).into_owned()));
        }
    }
    out
}

/// The cloud's answers to `received`, published and remembered in `sent`.
async fn answer<P: Provider>(
    cloud_dev: &mut HostDevice<P, Connected>,
    answers: &[&Option<iotcloud_testkit::data::Answer>],
    received: &[(String, String)],
    sent: &mut Vec<(String, String)>,
) {
    for (topic, payload) in received {
        for answer in answers.iter().copied().flatten() {
            let (t, p) = answer(topic, payload);
            if !t.is_empty() {
                cloud_dev
                    .publish(&t, p.as_bytes(), QoS::AtLeastOnce)
                    .await
                    .unwrap();
                sent.push((t, p));
            }
        }
    }
}

/// The steps of the testkit's `data_round`, with the event post expected to be refused
/// (its error returned) instead of unwrapped.
async fn round_without_events<P: Provider>(
    broker: &Broker,
    provider: P,
    cloud: DataCloud,
    clockless: bool,
) -> (DataRound, String) {
    let cloud_id = leak(format!("data-cloud-{}", broker.port));
    let mut cloud_dev = connect(
        iotcloud_testkit::provider(broker.port, cloud_id),
        memory(4096, 1024, 4096),
    )
    .await;
    for filter in &cloud.watch {
        subscribe(&mut cloud_dev, filter, QoS::AtLeastOnce).await;
    }
    let clock = if clockless {
        SystemClock::without_wall_time()
    } else {
        SystemClock::new()
    };
    let options = DataOptions {
        desired_on_connect: true,
        time_sync: TimeSync::EveryConnect,
    };
    let dev = Device::new(
        provider,
        HostPlatform::new().with_clock(clock),
        memory(4096, 2048, 8192),
    )
    .with_data(options)
    .register()
    .await
    .unwrap();
    let mut dev = dev.connect().await.unwrap();
    let mut round = DataRound::default();
    let mut sent = Vec::new();

    pump(&mut dev, &mut round.events).await;
    let first = receive(&mut cloud_dev).await;
    answer(
        &mut cloud_dev,
        &[&cloud.desired, &cloud.time],
        &first,
        &mut sent,
    )
    .await;
    round.published.extend(first);
    pump(&mut dev, &mut round.events).await;

    for (topic, payload) in [&cloud.set, &cloud.command].into_iter().flatten() {
        cloud_dev
            .publish(topic, payload.as_bytes(), QoS::AtLeastOnce)
            .await
            .unwrap();
        sent.push((topic.clone(), payload.clone()));
    }
    pump(&mut dev, &mut round.events).await;
    round.published.extend(receive(&mut cloud_dev).await);

    dev.report(&[("temp", &21.5), ("on", &true)]).await.unwrap();
    let refused = dev.event("alarm", &[("level", &2u8)]).await.unwrap_err();
    let refused = match refused {
        Error::Data(e) => format!("{e:?}"),
        other => panic!("not a data error: {other:?}"),
    };
    let last = receive(&mut cloud_dev).await;
    answer(
        &mut cloud_dev,
        &[&cloud.report_reply, &cloud.event_reply],
        &last,
        &mut sent,
    )
    .await;
    round.published.extend(last);
    pump(&mut dev, &mut round.events).await;
    round.published.extend(receive(&mut cloud_dev).await);
    round.published.retain(|m| !sent.contains(m));
    (round, refused)
}

async fn round(clockless: bool) -> (DataRound, String) {
    let broker = Broker::start();
    let huawei = Huawei::with_secret(DeviceId::new(ID).unwrap(), "123456789")
        .unwrap()
        .with_service_id("Meter")
        .unwrap()
        .with_overrides(local(broker.port));
    round_without_events(&broker, huawei, cloud(), clockless).await
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
