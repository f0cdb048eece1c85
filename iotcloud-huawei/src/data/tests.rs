//! IoTDA's services: the exact bytes the device sends, and what it makes of the documented
//! downlinks (examples from IoTDA's device API pages).

use std::format;
use std::string::String;

use iotcloud_core::data::Request;
use iotcloud_core::provider::Provider;

use super::*;
use crate::DeviceId;

const ID: &str = "6203cc94c7fb24029b110408_88888888";
const SYS: &str = "$oc/devices/6203cc94c7fb24029b110408_88888888/sys/";

fn huawei() -> Huawei<'static> {
    Huawei::with_secret(DeviceId::new(ID).unwrap(), "123456789").unwrap()
}

fn with_service(id: &'static str) -> Huawei<'static> {
    huawei().with_service_id(id).unwrap()
}

fn write_with(h: &Huawei<'_>, up: &Up<'_>) -> Result<(String, String, QoS), DataError> {
    let mut buf = [0u8; 1024];
    let ctx = DataContext {
        message_id: 17,
        unix_time_ms: Some(1_582_685_678_789),
    };
    let p = h.write(up, &ctx, &mut Scratch::new(&mut buf))?;
    let payload = String::from_utf8(p.payload.to_vec()).unwrap();
    Ok((p.topic.into(), payload, p.qos))
}

/// The expected publication: `$oc/devices/{id}/sys/{tail}`, `payload`, at `qos`.
fn sent(tail: &str, payload: &str, qos: QoS) -> Result<(String, String, QoS), DataError> {
    Ok((format!("{SYS}{tail}"), payload.into(), qos))
}

fn json(text: &str) -> Value<'_> {
    Value::parse(text.as_bytes()).unwrap()
}

/// What `h` makes of `payload` on `$oc/devices/{id}/sys/{tail}`, handed to `check`.
fn read_with(h: &Huawei<'_>, tail: &str, payload: &str, check: impl FnOnce(Down<'_>)) {
    let topic = format!("{SYS}{tail}");
    check(h.read(&topic, payload.as_bytes()));
}

fn invalid(tail: &str, payload: &str) -> DataError {
    let mut error = None;
    read_with(&huawei(), tail, payload, |d| match d {
        Down::Invalid(e) => error = Some(e),
        other => panic!("{other:?}"),
    });
    error.unwrap()
}

const SET: &str = r#"{"object_device_id":"{object_device_id} ","services":[{"service_id":"Temperature","properties":{"value":57,"value2":60}},{"service_id":"Battery","properties":{"level":80,"level2":90}}]}"#;

const COMMAND: &str = r#"{"object_device_id":"{object_device_id}","command_name":"ON_OFF","service_id":"WaterMeter","paras":{"value":"ON"}}"#;

const SHADOW: &str = r#"{"object_device_id":"6203cc94c7fb24029b110408_88888888","shadow":[{"service_id":"Temperature","desired":{"properties":{"value":57},"event_time":"20151212T121212Z"},"reported":{"properties":{"value":55},"event_time":"20151212T121212Z"},"version":3},{"service_id":"Battery","desired":{"properties":{"level":80}},"version":1}]}"#;

const TIME: &str = r#"{"object_device_id":"6203cc94c7fb24029b110408_88888888","services":[{"service_id":"$time_sync","event_type":"time_sync_response","event_time":"20200226T030118Z","paras":{"device_send_time":1582685678789,"server_recv_time":1582685678790,"server_send_time":1582685678795}}]}"#;

#[test]
fn parts_have_no_events_and_no_report_reply() {
    assert_eq!(
        huawei().data().map(|d| d.parts()),
        Ok(DataParts {
            report: true,
            report_reply: false,
            property_set: true,
            desired: true,
            commands: true,
            events: false,
            time: true,
        })
    );
}

#[test]
fn no_subscription_of_its_own() {
    let mut buf = [0u8; 128];
    for h in [huawei(), huawei().with_sys_subscription(false)] {
        assert_eq!(h.subscription(0, &mut Scratch::new(&mut buf)), Ok(None));
    }
}

#[test]
fn service_id_is_checked() {
    assert_eq!(huawei().service_id(), None);
    assert_eq!(
        with_service("Temperature").service_id(),
        Some("Temperature")
    );
    assert_eq!(
        huawei().with_service_id("").unwrap_err(),
        ProviderError::MissingKey("service_id")
    );
    assert!(matches!(
        huawei().with_service_id("a/b"),
        Err(ProviderError::InvalidValue {
            key: "service_id",
            ..
        })
    ));
}

#[test]
fn report_goes_to_the_configured_service() {
    let up = Up::Report(&[("value", &57), ("value2", &60)]);
    assert_eq!(
        write_with(&huawei(), &up),
        Err(DataError::MissingKey("service_id"))
    );
    assert_eq!(
        write_with(&with_service("Temperature"), &up),
        sent(
            "properties/report",
            r#"{"services":[{"service_id":"Temperature","properties":{"value":57,"value2":60}}]}"#,
            QoS::AtLeastOnce
        )
    );
}

#[test]
fn events_are_unsupported() {
    let up = Up::Event {
        name: "alarm",
        params: &[],
    };
    assert_eq!(
        write_with(&with_service("Temperature"), &up),
        Err(DataError::Unsupported(EVENTS_UNSUPPORTED))
    );
}

#[test]
fn set_answers_on_the_request_id() {
    let request = Request::new(RequestKind::PropertySet, "a1b2-c3", "").unwrap();
    let answer = |outcome| {
        write_with(
            &huawei(),
            &Up::Answer {
                request: &request,
                outcome,
            },
        )
    };
    let topic = "properties/set/response/request_id=a1b2-c3";
    assert_eq!(
        answer(Outcome::success()),
        sent(
            topic,
            r#"{"result_code":0,"result_desc":"success"}"#,
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        answer(Outcome::failure(1, "out of \"range\"")),
        sent(
            topic,
            r#"{"result_code":1,"result_desc":"out of \"range\""}"#,
            QoS::AtLeastOnce
        )
    );
}

#[test]
fn command_answers_carry_paras_or_response_name() {
    let request = Request::new(RequestKind::Command, "cmd-7", "ON_OFF").unwrap();
    let answer = |outcome| {
        write_with(
            &huawei(),
            &Up::Answer {
                request: &request,
                outcome,
            },
        )
    };
    let topic = "commands/response/request_id=cmd-7";
    assert_eq!(
        answer(Outcome::with_output(&[("result", &"success")])),
        sent(
            topic,
            r#"{"result_code":0,"paras":{"result":"success"}}"#,
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        answer(Outcome::failure(2, "busy")),
        sent(
            topic,
            r#"{"result_code":2,"response_name":"busy"}"#,
            QoS::AtLeastOnce
        )
    );
    for id in ["a/b", "#", ""] {
        let request = Request::new(RequestKind::Command, id, "x").unwrap();
        let up = Up::Answer {
            request: &request,
            outcome: Outcome::success(),
        };
        assert_eq!(write_with(&huawei(), &up), Err(DataError::InvalidName));
    }
}

#[test]
fn shadow_get_carries_the_message_id() {
    assert_eq!(
        write_with(&huawei(), &Up::GetDesired),
        sent("shadow/get/request_id=17", "{}", QoS::AtLeastOnce)
    );
    assert_eq!(
        write_with(&with_service("Temperature"), &Up::GetDesired),
        sent(
            "shadow/get/request_id=17",
            r#"{"service_id":"Temperature"}"#,
            QoS::AtLeastOnce
        )
    );
}

#[test]
fn time_request_is_a_time_sync_event() {
    assert_eq!(
        write_with(
            &huawei(),
            &Up::TimeRequest {
                device_ms: 1_582_685_678_789
            }
        ),
        sent(
            "events/up",
            r#"{"services":[{"service_id":"$time_sync","event_type":"time_sync_request","paras":{"device_send_time":1582685678789}}]}"#,
            QoS::AtMostOnce
        )
    );
}

#[test]
fn too_large_for_the_scratch() {
    // `…/sys/properties/report` is 67 bytes: the payload gets the 13 left of 80.
    let mut buf = [0u8; 80];
    let ctx = DataContext {
        message_id: 1,
        unix_time_ms: None,
    };
    let up = Up::Report(&[("value", &57)]);
    assert!(matches!(
        with_service("Temperature").write(&up, &ctx, &mut Scratch::new(&mut buf)),
        Err(DataError::TooLarge { available: 13 })
    ));
}

#[test]
fn property_set_reads_the_matching_service() {
    let rid = "properties/set/request_id=4a1b2c";
    read_with(&huawei(), rid, SET, |d| {
        let Down::Properties(p) = d else {
            panic!("{d:?}")
        };
        let expected = Properties::new(
            PropertyOrigin::Set,
            "4a1b2c",
            json(r#"{"value":57,"value2":60}"#),
            false,
        );
        assert_eq!(Ok(p), expected);
        assert_eq!(p.request().id(), "4a1b2c");
    });
    read_with(&with_service("Battery"), rid, SET, |d| {
        let Down::Properties(p) = d else {
            panic!("{d:?}")
        };
        assert_eq!(p.get("level"), Some(json("80")));
        assert_eq!(p.len(), 2);
    });
    read_with(&with_service("Other"), rid, SET, |d| {
        let Down::Properties(p) = d else {
            panic!("{d:?}")
        };
        assert_eq!(p.get("value"), Some(json("57")));
    });
}

#[test]
fn command_names_its_service() {
    read_with(&huawei(), "commands/request_id=cmd-7", COMMAND, |d| {
        let Down::Command(c) = d else { panic!("{d:?}") };
        let expected = Command::new(
            "cmd-7",
            "ON_OFF",
            Some("WaterMeter"),
            json(r#"{"value":"ON"}"#),
        );
        assert_eq!(Ok(c), expected);
    });
    // Every field of a command is optional.
    read_with(&huawei(), "commands/request_id=8", "{}", |d| {
        let Down::Command(c) = d else { panic!("{d:?}") };
        assert_eq!((c.name(), c.service(), c.params()), ("", None, json("{}")));
    });
}

#[test]
fn shadow_response_gives_the_desired_values() {
    let tail = "shadow/get/response/request_id=17";
    read_with(&huawei(), tail, SHADOW, |d| {
        let Down::Properties(p) = d else {
            panic!("{d:?}")
        };
        let expected = Properties::new(
            PropertyOrigin::Desired,
            "17",
            json(r#"{"value":57}"#),
            false,
        );
        assert_eq!(Ok(p), expected);
    });
    read_with(&with_service("Battery"), tail, SHADOW, |d| {
        let Down::Properties(p) = d else {
            panic!("{d:?}")
        };
        assert_eq!(p.get("level"), Some(json("80")));
    });
    for empty in [
        r#"{"shadow":[]}"#,
        r#"{"object_device_id":"x"}"#,
        r#"{"shadow":[{"service_id":"Temperature","reported":{"properties":{"value":55}}}]}"#,
        r#"{"shadow":[{"service_id":"Temperature","desired":{"properties":null}}]}"#,
    ] {
        read_with(&huawei(), tail, empty, |d| {
            let Down::Properties(p) = d else {
                panic!("{d:?}")
            };
            assert_eq!(
                (p.origin(), p.id(), p.len()),
                (PropertyOrigin::Desired, "17", 0)
            );
        });
    }
}

#[test]
fn time_sync_response_is_the_exchange() {
    read_with(&huawei(), "events/down", TIME, |d| {
        let Down::Time(t) = d else { panic!("{d:?}") };
        assert_eq!(
            t,
            TimeAnswer {
                device_sent: Some(1_582_685_678_789),
                server: ServerTime::Exchange {
                    received_ms: 1_582_685_678_790,
                    sent_ms: 1_582_685_678_795,
                },
            }
        );
    });
}

#[test]
fn other_sys_messages_are_not_data() {
    let version_query = r#"{"object_device_id":"x","services":[{"service_id":"$ota","event_type":"version_query","paras":{}}]}"#;
    let time_request = r#"{"services":[{"service_id":"$time_sync","event_type":"time_sync_request","paras":{"device_send_time":1}}]}"#;
    let h = huawei();
    for (topic, payload) in [
        (format!("{SYS}events/down"), version_query),
        (format!("{SYS}events/down"), time_request),
        (format!("{SYS}events/down"), "not json"),
        (format!("{SYS}properties/get/request_id=1"), "{}"),
        (format!("{SYS}commands/response/request_id=1"), "{}"),
        (format!("{SYS}messages/down"), "{}"),
        (format!("{SYS}commands"), "{}"),
        (
            String::from("$oc/devices/other/sys/commands/request_id=1"),
            COMMAND,
        ),
        (
            String::from("$oc/devices/x/user/commands/request_id=1"),
            COMMAND,
        ),
    ] {
        assert!(
            matches!(h.read(&topic, payload.as_bytes()), Down::NotData),
            "{topic}"
        );
    }
}

#[cfg(feature = "ota")]
#[test]
fn ota_and_time_sync_share_events_down() {
    use iotcloud_core::ota::{Notice, OtaFormat};
    let mut job = [0u8; 256];
    let topic = format!("{SYS}events/down");
    assert!(matches!(
        huawei().notice(&topic, TIME.as_bytes(), &mut job),
        Notice::Other
    ));
}

#[test]
fn malformed_downlinks_are_named() {
    let long = "r".repeat(65);
    let cases = [
        ("properties/set/request_id=1", "nope".into(), DataError::Malformed("JSON object")),
        ("properties/set/request_id=1", "{}".into(), DataError::Malformed("services")),
        (
            "properties/set/request_id=1",
            r#"{"services":{}}"#.into(),
            DataError::Malformed("services"),
        ),
        (
            "properties/set/request_id=1",
            r#"{"services":[]}"#.into(),
            DataError::Malformed("services"),
        ),
        (
            "properties/set/request_id=1",
            r#"{"services":[{"service_id":"T","properties":[1]}]}"#.into(),
            DataError::Malformed("properties"),
        ),
        (
            "properties/set/request_id=",
            SET.into(),
            DataError::Malformed("request_id"),
        ),
        (
            &format!("properties/set/request_id={long}"),
            SET.into(),
            DataError::IdTooLong { len: 65 },
        ),
        ("commands/request_id=1", "[]".into(), DataError::Malformed("JSON object")),
        (
            "commands/request_id=1",
            r#"{"command_name":5}"#.into(),
            DataError::Malformed("command_name"),
        ),
        (
            "commands/request_id=1",
            r#"{"service_id":["a"]}"#.into(),
            DataError::Malformed("service_id"),
        ),
        (
            "commands/request_id=1",
            r#"{"paras":"on"}"#.into(),
            DataError::Malformed("paras"),
        ),
        (
            "commands/request_id=1",
            format!(r#"{{"command_name":"{long}"}}"#),
            DataError::IdTooLong { len: 65 },
        ),
        (
            "shadow/get/response/request_id=17",
            r#"{"shadow":"x"}"#.into(),
            DataError::Malformed("shadow"),
        ),
        (
            "shadow/get/response/request_id=17",
            r#"{"shadow":[{"desired":[]}]}"#.into(),
            DataError::Malformed("desired"),
        ),
        (
            "shadow/get/response/request_id=17",
            r#"{"shadow":[{"desired":{"properties":1}}]}"#.into(),
            DataError::Malformed("properties"),
        ),
        (
            "events/down",
            r#"{"services":[{"service_id":"$time_sync","event_type":"time_sync_response"}]}"#
                .into(),
            DataError::Malformed("paras"),
        ),
        (
            "events/down",
            r#"{"services":[{"service_id":"$time_sync","event_type":"time_sync_response","paras":{"device_send_time":1,"server_recv_time":"x","server_send_time":3}}]}"#
                .into(),
            DataError::Malformed("server_recv_time"),
        ),
    ];
    for (tail, payload, error) in cases {
        assert_eq!(invalid(tail, &payload), error, "{tail} {payload}");
    }
}
