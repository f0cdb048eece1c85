//! OneJSON: the exact bytes the device sends, and what it makes of the documented
//! downlinks (examples from OneNET's thing-model pages, ids adjusted to ours).

use std::format;
use std::string::String;

use iotcloud_core::data::{RawJson, Request};
use iotcloud_core::provider::Provider;

use super::*;

const PID: &str = "Ck2AF9QD2K";
const DN: &str = "test";
const KEY: &str = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
const THING: &str = "$sys/Ck2AF9QD2K/test/thing/";

fn onenet() -> OneNet<'static> {
    OneNet::with_secret(PID, DN, KEY).unwrap()
}

fn write_with(o: &OneNet<'_>, up: &Up<'_>) -> Result<(String, String, QoS), DataError> {
    let mut buf = [0u8; 1024];
    let ctx = DataContext {
        message_id: 17,
        unix_time_ms: Some(1_524_448_722_123),
    };
    let p = o.write(up, &ctx, &mut Scratch::new(&mut buf))?;
    let payload = String::from_utf8(p.payload.to_vec()).unwrap();
    Ok((p.topic.into(), payload, p.qos))
}

fn write(up: &Up<'_>) -> Result<(String, String, QoS), DataError> {
    write_with(&onenet(), up)
}

/// The expected publication: `$sys/{pid}/{dn}/thing/{tail}`, `payload`, QoS 1.
fn sent(tail: &str, payload: &str) -> Result<(String, String, QoS), DataError> {
    Ok((format!("{THING}{tail}"), payload.into(), QoS::AtLeastOnce))
}

fn json(text: &str) -> Value<'_> {
    Value::parse(text.as_bytes()).unwrap()
}

/// What `read` makes of `payload` on `$sys/{pid}/{dn}/thing/{tail}`, handed to `check`.
fn read_thing(tail: &str, payload: &str, check: impl FnOnce(Down<'_>)) {
    let topic = format!("{THING}{tail}");
    check(onenet().read(&topic, payload.as_bytes()));
}

fn invalid(tail: &str, payload: &str) -> DataError {
    let mut error = None;
    read_thing(tail, payload, |d| match d {
        Down::Invalid(e) => error = Some(e),
        other => panic!("{other:?}"),
    });
    error.unwrap()
}

#[test]
fn parts_are_all_but_time() {
    assert_eq!(
        onenet().parts(),
        DataParts {
            report: true,
            report_reply: true,
            property_set: true,
            desired: true,
            commands: true,
            events: true,
            time: false,
        }
    );
    assert_eq!(onenet().data().map(|d| d.parts().time), Ok(false));
}

#[test]
fn subscription_only_when_the_thing_filter_is_off() {
    let mut buf = [0u8; 128];
    assert_eq!(
        onenet().subscription(0, &mut Scratch::new(&mut buf)),
        Ok(None)
    );
    let off = onenet().with_thing_subscription(false);
    let sub = off
        .subscription(0, &mut Scratch::new(&mut buf))
        .unwrap()
        .unwrap();
    assert_eq!(sub.filter.as_str(), "$sys/Ck2AF9QD2K/test/thing/#");
    assert_eq!(sub.qos, QoS::AtLeastOnce);
    assert_eq!(off.subscription(1, &mut Scratch::new(&mut buf)), Ok(None));
}

#[test]
fn report_wraps_each_value() {
    assert_eq!(
        write(&Up::Report(&[("Power", &"on"), ("WF", &23.6)])),
        sent(
            "property/post",
            r#"{"id":"17","version":"1.0","params":{"Power":{"value":"on"},"WF":{"value":23.6}}}"#
        )
    );
    assert_eq!(
        write(&Up::Report(&[("a\"b", &RawJson(" [1, 2] "))])),
        sent(
            "property/post",
            r#"{"id":"17","version":"1.0","params":{"a\"b":{"value":[1, 2]}}}"#
        )
    );
    assert_eq!(write(&Up::Report(&[("", &1)])), Err(DataError::InvalidName));
    assert_eq!(
        write(&Up::Report(&[("x", &f64::NAN)])),
        Err(DataError::NotFinite)
    );
}

#[test]
fn event_is_keyed_by_its_identifier() {
    let up = Up::Event {
        name: "switch",
        params: &[("led1", &22), ("led2", &23)],
    };
    assert_eq!(
        write(&up),
        sent(
            "event/post",
            r#"{"id":"17","version":"1.0","params":{"switch":{"value":{"led1":22,"led2":23}}}}"#
        )
    );
    for name in ["", "a/b", "a#"] {
        let up = Up::Event { name, params: &[] };
        assert_eq!(write(&up), Err(DataError::InvalidName), "{name}");
    }
}

#[test]
fn desired_request_names_the_configured_properties() {
    assert_eq!(
        write(&Up::GetDesired),
        sent(
            "property/desired/get",
            r#"{"id":"17","version":"1.0","params":[]}"#
        )
    );
    let o = onenet().with_desired_properties(&["power", "temperature"]);
    assert_eq!(
        write_with(&o, &Up::GetDesired),
        sent(
            "property/desired/get",
            r#"{"id":"17","version":"1.0","params":["power","temperature"]}"#
        )
    );
}

#[test]
fn set_answers_echo_the_id() {
    let request = Request::new(RequestKind::PropertySet, "123", "").unwrap();
    let answer = |outcome| {
        write(&Up::Answer {
            request: &request,
            outcome,
        })
    };
    assert_eq!(
        answer(Outcome::success()),
        sent(
            "property/set_reply",
            r#"{"id":"123","code":200,"msg":"success"}"#
        )
    );
    assert_eq!(
        answer(Outcome::failure(100, "no \"such\" value")),
        sent(
            "property/set_reply",
            r#"{"id":"123","code":100,"msg":"no \"such\" value"}"#
        )
    );
}

#[test]
fn command_answers_carry_the_output() {
    let request = Request::new(RequestKind::Command, "123", "Reboot").unwrap();
    let answer = |outcome| {
        write(&Up::Answer {
            request: &request,
            outcome,
        })
    };
    assert_eq!(
        answer(Outcome::with_output(&[
            ("result1", &"on"),
            ("result2", &"2")
        ])),
        sent(
            "service/Reboot/invoke_reply",
            r#"{"id":"123","code":200,"msg":"success","data":{"result1":"on","result2":"2"}}"#
        )
    );
    assert_eq!(
        answer(Outcome::success()),
        sent(
            "service/Reboot/invoke_reply",
            r#"{"id":"123","code":200,"msg":"success","data":{}}"#
        )
    );
    assert_eq!(
        answer(Outcome::failure(500, "busy")),
        sent(
            "service/Reboot/invoke_reply",
            r#"{"id":"123","code":500,"msg":"busy"}"#
        )
    );
    for name in ["a/b", "+", ""] {
        let request = Request::new(RequestKind::Command, "1", name).unwrap();
        let up = Up::Answer {
            request: &request,
            outcome: Outcome::success(),
        };
        assert_eq!(write(&up), Err(DataError::InvalidName), "{name}");
    }
}

#[test]
fn time_is_unsupported() {
    assert_eq!(
        write(&Up::TimeRequest { device_ms: 5 }),
        Err(DataError::Unsupported(TIME_UNSUPPORTED))
    );
}

#[test]
fn too_large_for_the_scratch() {
    // The topic takes 40 of the 60 bytes; the payload does not fit the 20 left.
    let mut buf = [0u8; 60];
    let ctx = DataContext {
        message_id: 17,
        unix_time_ms: None,
    };
    let up = Up::Report(&[("Power", &"on")]);
    assert!(matches!(
        onenet().write(&up, &ctx, &mut Scratch::new(&mut buf)),
        Err(DataError::TooLarge { available: 20 })
    ));
    let mut tiny = [0u8; 10];
    assert!(matches!(
        onenet().write(&up, &ctx, &mut Scratch::new(&mut tiny)),
        Err(DataError::TooLarge { available: 10 })
    ));
}

#[test]
fn replies_to_reports_and_events() {
    for tail in ["property/post/reply", "event/post/reply"] {
        read_thing(tail, r#"{"id":"17","code":200,"msg":"xxxx"}"#, |d| {
            let Down::Reply(r) = d else { panic!("{d:?}") };
            assert_eq!(
                r,
                Reply {
                    id: 17,
                    code: 200,
                    success: true,
                    message: Some(json(r#""xxxx""#)),
                }
            );
        });
    }
    read_thing(
        "event/post/reply",
        r#"{"id":"18","code":2404,"msg":"event not defined"}"#,
        |d| {
            let Down::Reply(r) = d else { panic!("{d:?}") };
            assert_eq!((r.id, r.code, r.success), (18, 2404, false));
        },
    );
}

#[test]
fn property_set_is_plain_values() {
    let payload = r#"{"id":"123","version":"1.0","params":{"temperature":"30.5"}}"#;
    read_thing("property/set", payload, |d| {
        let Down::Properties(p) = d else {
            panic!("{d:?}")
        };
        let expected = Properties::new(
            PropertyOrigin::Set,
            "123",
            json(r#"{"temperature":"30.5"}"#),
            false,
        );
        assert_eq!(Ok(p), expected);
        assert!(p.get("temperature").unwrap().eq_str("30.5"));
        assert_eq!(p.request().id(), "123");
    });
}

#[test]
fn desired_reply_is_unwrapped() {
    let payload =
        r#"{"id":"17","code":200,"msg":"xxxx","data":{"power":{"value":"on","version":2}}}"#;
    read_thing("property/desired/get/reply", payload, |d| {
        let Down::Properties(p) = d else {
            panic!("{d:?}")
        };
        assert_eq!(p.origin(), PropertyOrigin::Desired);
        assert_eq!(p.id(), "17");
        assert_eq!(p.len(), 1);
        assert_eq!(p.get("power"), Some(json(r#""on""#)));
    });
    read_thing(
        "property/desired/get/reply",
        r#"{"id":"17","code":2001,"msg":"fail"}"#,
        |d| {
            let Down::Reply(r) = d else { panic!("{d:?}") };
            assert_eq!((r.id, r.code, r.success), (17, 2001, false));
        },
    );
}

#[test]
fn service_invoke_is_a_command() {
    let payload = r#"{"id":"123","version":"1.0","params":{"Power1":"on","WF1":"2"}}"#;
    read_thing("service/Reboot/invoke", payload, |d| {
        let Down::Command(c) = d else { panic!("{d:?}") };
        let expected = Command::new("123", "Reboot", None, json(r#"{"Power1":"on","WF1":"2"}"#));
        assert_eq!(Ok(c), expected);
        assert_eq!(c.request().name(), "Reboot");
    });
}

#[test]
fn other_topics_are_not_data() {
    let o = onenet();
    let doc = br#"{"id":"1","version":"1.0","params":["temperature"]}"#;
    for topic in [
        "$sys/Ck2AF9QD2K/test/thing/property/get",
        "$sys/Ck2AF9QD2K/test/thing/property/desired/delete/reply",
        "$sys/Ck2AF9QD2K/test/thing/service/a/b/invoke",
        "$sys/Ck2AF9QD2K/test/thing/service//invoke",
        "$sys/Ck2AF9QD2K/test/ota/inform",
        "$sys/Ck2AF9QD2K/other/thing/property/set",
        "$sys/Other/test/thing/property/set",
        "thing/property/set",
    ] {
        assert!(matches!(o.read(topic, doc), Down::NotData), "{topic}");
    }
}

#[test]
fn malformed_downlinks_are_named() {
    let long = "1".repeat(65);
    let cases = [
        (
            "property/set",
            "not json".into(),
            DataError::Malformed("JSON object"),
        ),
        (
            "property/set",
            "[1]".into(),
            DataError::Malformed("JSON object"),
        ),
        (
            "property/set",
            r#"{"params":{}}"#.into(),
            DataError::Malformed("id"),
        ),
        (
            "property/set",
            r#"{"id":{},"params":{}}"#.into(),
            DataError::Malformed("id"),
        ),
        (
            "property/set",
            r#"{"id":"1","params":[1]}"#.into(),
            DataError::Malformed("params"),
        ),
        (
            "property/set",
            format!(r#"{{"id":"{long}","params":{{}}}}"#),
            DataError::IdTooLong { len: 65 },
        ),
        (
            "property/post/reply",
            r#"{"code":200}"#.into(),
            DataError::Malformed("id"),
        ),
        (
            "property/post/reply",
            r#"{"id":"abc","code":200}"#.into(),
            DataError::Malformed("id"),
        ),
        (
            "property/post/reply",
            r#"{"id":"1","code":"x"}"#.into(),
            DataError::Malformed("code"),
        ),
        (
            "event/post/reply",
            format!(r#"{{"id":"{long}","code":200}}"#),
            DataError::Malformed("id"),
        ),
        (
            "property/desired/get/reply",
            r#"{"id":"1","code":200,"data":"x"}"#.into(),
            DataError::Malformed("data"),
        ),
        (
            "service/Reboot/invoke",
            r#"{"id":true}"#.into(),
            DataError::Malformed("id"),
        ),
        (
            "service/Reboot/invoke",
            r#"{"id":"1","params":"on"}"#.into(),
            DataError::Malformed("params"),
        ),
    ];
    for (tail, payload, error) in cases {
        assert_eq!(invalid(tail, &payload), error, "{tail} {payload}");
    }
    let name = "n".repeat(65);
    assert_eq!(
        invalid(&format!("service/{name}/invoke"), r#"{"id":"1"}"#),
        DataError::IdTooLong { len: 65 }
    );
}
