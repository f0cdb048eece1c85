//! The Aliyun thing model through a local mosquitto carrying Aliyun's exact topics and
//! payloads: desired values and time fetched on connect, a property set and a service call
//! answered, a report and an event replied to — for a device with a clock and one
//! without.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_aliyun::Aliyun;
use iotcloud_core::data::PropertyOrigin;
use iotcloud_testkit::data::{DataCloud, DataEv, data_round, number_in, on};
use iotcloud_testkit::{Broker, local};

const SYS: &str = "/sys/a1Data/lamp-1/thing";

fn cloud() -> DataCloud {
    DataCloud {
        watch: vec![format!("{SYS}/#"), "/ext/ntp/a1Data/lamp-1/request".into()],
        set: Some((
            format!("{SYS}/service/property/set"),
            r#"{"id":"5001","version":"1.0","params":{"LightSwitch":1},"method":"thing.service.property.set"}"#.into(),
        )),
        command: Some((
            format!("{SYS}/service/Blink"),
            r#"{"id":"5002","version":"1.0","params":{"times":3},"method":"thing.service.Blink"}"#.into(),
        )),
        report_reply: Some(on(
            &format!("{SYS}/event/property/post"),
            &format!("{SYS}/event/property/post_reply"),
            |p| format!(r#"{{"code":200,"data":{{}},"id":"{}","message":"success","version":"1.0"}}"#, number_in(p, "id").unwrap()),
        )),
        event_reply: Some(on(
            &format!("{SYS}/event/alarm/post"),
            &format!("{SYS}/event/alarm/post_reply"),
            |p| format!(r#"{{"code":200,"data":{{}},"id":"{}","message":"success"}}"#, number_in(p, "id").unwrap()),
        )),
        desired: Some(on(
            &format!("{SYS}/property/desired/get"),
            &format!("{SYS}/property/desired/get_reply"),
            |p| format!(r#"{{"id":"{}","code":200,"data":{{"LightSwitch":{{"value":0,"version":2}}}}}}"#, number_in(p, "id").unwrap()),
        )),
        time: Some(on("/ext/ntp/a1Data/lamp-1/request", "/ext/ntp/a1Data/lamp-1/response", |p| {
            let sent = number_in(p, "deviceSendTime").unwrap();
            format!(r#"{{"deviceSendTime":"{sent}","serverRecvTime":"1700000000100","serverSendTime":"1700000000105"}}"#)
        })),
    }
}

async fn round(clockless: bool) -> iotcloud_testkit::data::DataRound {
    let broker = Broker::start();
    let aliyun = Aliyun::with_secret("a1Data", "lamp-1", "secret")
        .unwrap()
        .with_desired(&["LightSwitch"])
        .with_overrides(local(broker.port));
    data_round(&broker, aliyun, cloud(), clockless).await
}

#[tokio::test]
async fn the_aliyun_thing_model_round_trips_in_aliyuns_format() {
    let round = round(false).await;
    let published = round.published();
    let desired_get = format!("{SYS}/property/desired/get");
    let set_reply = format!("{SYS}/service/property/set_reply");
    let blink_reply = format!("{SYS}/service/Blink_reply");
    let post = format!("{SYS}/event/property/post");
    let alarm = format!("{SYS}/event/alarm/post");
    assert_eq!(
        published[0],
        (
            desired_get.as_str(),
            r#"{"id":"1","version":"1.0","params":["LightSwitch"],"method":"thing.property.desired.get"}"#
        )
    );
    assert_eq!(published[1].0, "/ext/ntp/a1Data/lamp-1/request");
    assert!(published[1].1.starts_with(r#"{"deviceSendTime":""#));
    assert_eq!(
        published[2],
        (set_reply.as_str(), r#"{"id":"5001","code":200,"data":{}}"#)
    );
    assert_eq!(
        published[3],
        (
            blink_reply.as_str(),
            r#"{"id":"5002","code":200,"data":{"result":"done"}}"#
        )
    );
    assert_eq!(
        published[4],
        (
            post.as_str(),
            r#"{"id":"5","version":"1.0","params":{"temp":21.5,"on":true},"method":"thing.event.property.post"}"#
        )
    );
    assert_eq!(published[5].0, alarm);
    assert!(
        published[5]
            .1
            .starts_with(r#"{"id":"6","version":"1.0","params":{"value":{"level":2},"time":"#),
        "{}",
        published[5].1
    );
    assert_eq!(published.len(), 6, "{published:#?}");

    assert_eq!(
        round.events,
        [
            DataEv::Properties(
                PropertyOrigin::Desired,
                "1".into(),
                vec![("\"LightSwitch\"".into(), "0".into())]
            ),
            DataEv::TimeSynced { offset_known: true },
            DataEv::Properties(
                PropertyOrigin::Set,
                "5001".into(),
                vec![("\"LightSwitch\"".into(), "1".into())]
            ),
            DataEv::Command("5002".into(), "Blink".into(), None, r#"{"times":3}"#.into()),
            // `thing/service/+` covers the service reply too, which mosquitto sends back.
            DataEv::Plain(format!("{SYS}/service/Blink_reply")),
            DataEv::Reply(5, 200, true),
            DataEv::Reply(6, 200, true),
        ]
    );
}

#[tokio::test]
async fn a_device_without_a_clock_learns_the_time_and_posts_events_without_one_until_then() {
    let round = round(true).await;
    assert!(round.events.contains(&DataEv::TimeSynced {
        offset_known: false
    }));
    // The time request carried the device's monotonic clock; the event after the sync
    // carries the learned wall time.
    let alarm = &round
        .published
        .iter()
        .find(|(t, _)| t.ends_with("/event/alarm/post"))
        .unwrap()
        .1;
    let time = number_in(alarm, "time").unwrap();
    assert!(time >= 1_700_000_000_000, "{alarm}");
}

#[test]
fn ota_and_the_data_model_keep_room_for_their_subscriptions_in_either_order() {
    use iotcloud_core::data::DataFormat as _;
    use iotcloud_core::device::DataOptions;
    use iotcloud_core::ota::Firmware;
    use iotcloud_core::scratch::Scratch;
    use iotcloud_core::session::Session;
    use iotcloud_testkit::{device, memory, ota_subscriptions};

    let aliyun = Aliyun::with_secret("a1Data", "lamp-1", "secret").unwrap();
    let mut expected: usize = ota_subscriptions(&aliyun)
        .iter()
        .map(|(filter, _)| Session::subscription_len(filter))
        .sum();
    for i in 0.. {
        let mut buf = [0u8; 256];
        match aliyun.subscription(i, &mut Scratch::new(&mut buf)).unwrap() {
            Some(t) => expected += Session::subscription_len(t.filter.as_str()),
            None => break,
        }
    }
    assert!(expected > 0);
    let data_first = device(aliyun.clone(), memory(1024, 512, 4096))
        .with_data(DataOptions::default())
        .with_ota(Firmware::new("1.0.0"));
    let ota_first = device(aliyun, memory(1024, 512, 4096))
        .with_ota(Firmware::new("1.0.0"))
        .with_data(DataOptions::default());
    assert_eq!(data_first.session().reserve(), expected);
    assert_eq!(ota_first.session().reserve(), expected);
}
