//! The data template, byte for byte against the examples of Tencent's documentation and
//! SDK logs (data-facts §2), with our decimal client tokens.

use std::string::String;
use std::vec::Vec;

use iotcloud_core::data::{Field, MAX_ID_LEN, Object, Request};

use iotcloud_testkit::data::{invalid, pairs};

use super::*;

const PID: &str = "LD8S5J1L07";
const DN: &str = "test";
const CTX: DataContext = DataContext {
    message_id: 123,
    unix_time_ms: Some(1_700_000_000_000),
};

fn tencent() -> Tencent<'static> {
    Tencent::with_secret(PID, DN, "acyv3QDJrRa0fW5UE58KnQ==").unwrap()
}

/// Topic, payload and QoS of `up`, or why it was refused.
fn write(up: Up<'_>) -> Result<(String, String, QoS), DataError> {
    let mut buf = [0u8; 512];
    let p = tencent().write(&up, &CTX, &mut Scratch::new(&mut buf))?;
    Ok((
        p.topic.into(),
        String::from_utf8(p.payload.to_vec()).unwrap(),
        p.qos,
    ))
}

fn read<'a>(topic: &'a str, payload: &'a str) -> Down<'a> {
    tencent().read(topic, payload.as_bytes())
}

const PROP_UP: &str = "$thing/up/property/LD8S5J1L07/test";
const PROP_DOWN: &str = "$thing/down/property/LD8S5J1L07/test";
const ACTION_DOWN: &str = "$thing/down/action/LD8S5J1L07/test";
const EVENT_DOWN: &str = "$thing/down/event/LD8S5J1L07/test";
const TIME_DOWN: &str = "$sys/operation/result/LD8S5J1L07/test";

#[test]
fn reports_events_and_requests_are_the_sdk_formats() {
    let report: &[Field<'_>] = &[("power_switch", &1), ("color", &1), ("brightness", &32)];
    assert_eq!(
        write(Up::Report(report)).unwrap(),
        (
            PROP_UP.into(),
            r#"{"method":"report","clientToken":"123","params":{"power_switch":1,"color":1,"brightness":32}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    let alarm: &[Field<'_>] = &[("Voltage", &2.8), ("Percent", &20)];
    assert_eq!(
        write(Up::Event {
            name: "PowerAlarm",
            params: alarm
        })
        .unwrap(),
        (
            "$thing/up/event/LD8S5J1L07/test".into(),
            r#"{"method":"event_post","clientToken":"123","eventId":"PowerAlarm","type":"info","params":{"Voltage":2.8,"Percent":20}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        write(Up::GetDesired).unwrap(),
        (
            PROP_UP.into(),
            r#"{"method":"get_status","clientToken":"123"}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        write(Up::TimeRequest { device_ms: 5 }).unwrap(),
        (
            "$sys/operation/LD8S5J1L07/test".into(),
            r#"{"type":"get","resource":["time"]}"#.into(),
            QoS::AtMostOnce
        )
    );
}

#[test]
fn answers_echo_the_client_token_with_code_status_and_response() {
    let set = Request::new(
        RequestKind::PropertySet,
        "clientToken-21f40729-cd65-425c-aaa8-4e6de6aecbbf",
        "",
    )
    .unwrap();
    let answer = |request, outcome| write(Up::Answer { request, outcome }).unwrap();
    assert_eq!(
        answer(&set, Outcome::success()),
        (
            PROP_UP.into(),
            r#"{"method":"control_reply","clientToken":"clientToken-21f40729-cd65-425c-aaa8-4e6de6aecbbf","code":0,"status":"success"}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        answer(&set, Outcome::failure(5, "no \"color\" here")).1,
        r#"{"method":"control_reply","clientToken":"clientToken-21f40729-cd65-425c-aaa8-4e6de6aecbbf","code":5,"status":"no \"color\" here"}"#
    );
    let open = Request::new(
        RequestKind::Command,
        "20a4ccfd-d308-11e9-86c6-5254008a4f10",
        "openDoor",
    )
    .unwrap();
    let output: &[Field<'_>] = &[("Code", &0)];
    assert_eq!(
        answer(&open, Outcome::with_output(output)),
        (
            "$thing/up/action/LD8S5J1L07/test".into(),
            r#"{"method":"action_reply","clientToken":"20a4ccfd-d308-11e9-86c6-5254008a4f10","code":0,"status":"success","response":{"Code":0}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        answer(&open, Outcome::failure(-1, "jammed")).1,
        r#"{"method":"action_reply","clientToken":"20a4ccfd-d308-11e9-86c6-5254008a4f10","code":-1,"status":"jammed","response":{}}"#
    );
}

#[test]
fn values_nest_and_bad_names_or_numbers_are_refused() {
    let pos: &[Field<'_>] = &[("lat", &31.25), ("on", &true)];
    let fields: &[Field<'_>] = &[("name", &"a\"b"), ("pos", &Object(pos))];
    assert_eq!(
        write(Up::Report(fields)).unwrap().1,
        r#"{"method":"report","clientToken":"123","params":{"name":"a\"b","pos":{"lat":31.25,"on":true}}}"#
    );
    let none: &[Field<'_>] = &[];
    assert_eq!(
        write(Up::Event {
            name: "",
            params: none
        }),
        Err(DataError::InvalidName)
    );
    assert_eq!(write(Up::Report(&[("", &1)])), Err(DataError::InvalidName));
    assert_eq!(
        write(Up::Report(&[("t", &f64::NAN)])),
        Err(DataError::NotFinite)
    );
}

#[test]
fn a_message_larger_than_the_scratch_is_too_large() {
    let mut buf = [0u8; 60];
    let fields: &[Field<'_>] = &[("brightness", &32)];
    let e = tencent()
        .write(&Up::Report(fields), &CTX, &mut Scratch::new(&mut buf))
        .unwrap_err();
    // The topic took its 34 bytes; the payload found the other 26.
    assert_eq!(e, DataError::TooLarge { available: 26 });
}

#[test]
fn subscribes_the_three_thing_downlinks_and_the_operation_results() {
    let t = tencent();
    let mut topics = Vec::new();
    for index in 0.. {
        let mut buf = [0u8; 128];
        match t.subscription(index, &mut Scratch::new(&mut buf)).unwrap() {
            Some(s) => topics.push((String::from(s.filter.as_str()), s.qos)),
            None => break,
        }
    }
    let at_least_once = |t: &str| (String::from(t), QoS::AtLeastOnce);
    assert_eq!(
        topics,
        [
            at_least_once(PROP_DOWN),
            at_least_once(ACTION_DOWN),
            at_least_once(EVENT_DOWN),
            at_least_once(TIME_DOWN),
        ]
    );
    assert!(t.parts().report_reply && t.parts().desired && t.parts().time);
}

#[test]
fn control_and_action_are_a_property_set_and_a_command() {
    let Down::Properties(set) = read(
        PROP_DOWN,
        r#"{"method":"control","clientToken":"123","params":{"power_switch":1,"color":1,"brightness":66}}"#,
    ) else {
        panic!("not a set")
    };
    assert_eq!((set.origin(), set.id()), (PropertyOrigin::Set, "123"));
    assert_eq!(
        pairs(&set),
        [
            ("power_switch".into(), "1".into()),
            ("color".into(), "1".into()),
            ("brightness".into(), "66".into())
        ]
    );
    let Down::Command(cmd) = read(
        ACTION_DOWN,
        r#"{"method":"action","clientToken":"20a4ccfd-d308-11e9-86c6-5254008a4f10","actionId":"openDoor","timestamp":1212121221,"params":{"userid":"323343"}}"#,
    ) else {
        panic!("not a command")
    };
    assert_eq!(
        (cmd.id(), cmd.name(), cmd.service()),
        ("20a4ccfd-d308-11e9-86c6-5254008a4f10", "openDoor", None)
    );
    assert_eq!(cmd.param("userid").unwrap().as_plain_str(), Some("323343"));
    assert_eq!(cmd.request().kind(), RequestKind::Command);
}

#[test]
fn report_and_event_replies_carry_our_id_and_the_clouds_code() {
    let Down::Reply(ok) = read(
        PROP_DOWN,
        r#"{"method":"report_reply","clientToken":"123","code":0,"status":"success"}"#,
    ) else {
        panic!("not a reply")
    };
    assert_eq!((ok.id, ok.code, ok.success), (123, 0, true));
    assert_eq!(ok.message.unwrap().as_plain_str(), Some("success"));
    let Down::Reply(bad) = read(
        EVENT_DOWN,
        r#"{"method":"event_reply","clientToken":"124","version":"1.0","code":405,"status":"some message wher error","data":{}}"#,
    ) else {
        panic!("not a reply")
    };
    assert_eq!((bad.id, bad.code, bad.success), (124, 405, false));
    // Not ours: a token Tencent's SDK would have sent.
    assert_eq!(
        invalid(read(
            PROP_DOWN,
            r#"{"method":"report_reply","clientToken":"0WUKPUCOTC-2","code":0,"status":"success"}"#,
        )),
        DataError::Malformed("clientToken")
    );
}

#[test]
fn get_status_reply_gives_the_pending_control_values_as_desired() {
    let Down::Properties(desired) = read(
        PROP_DOWN,
        r#"{"method":"get_status_reply","clientToken":"123","code":0,"status":"success","data":{"reported":{"power_switch":0,"color":0},"control":{"brightness":80}}}"#,
    ) else {
        panic!("not desired values")
    };
    assert_eq!(
        (desired.origin(), desired.id()),
        (PropertyOrigin::Desired, "123")
    );
    assert_eq!(pairs(&desired), [("brightness".into(), "80".into())]);
    for nothing_pending in [
        r#"{"method":"get_status_reply","clientToken":"123","code":0,"status":"success","data":{"reported":{"power_switch":0,"color":0,"brightness":0,"name":"dev001"}}}"#,
        r#"{"method":"get_status_reply","clientToken":"123","code":0,"status":"success","data":{}}"#,
    ] {
        let Down::Properties(empty) = read(PROP_DOWN, nothing_pending) else {
            panic!("not desired values")
        };
        assert!(empty.is_empty());
    }
    let Down::Reply(failed) = read(
        PROP_DOWN,
        r#"{"method":"get_status_reply","clientToken":"123","code":406,"status":"no template"}"#,
    ) else {
        panic!("not a reply")
    };
    assert_eq!((failed.id, failed.code, failed.success), (123, 406, false));
}

#[test]
fn the_time_answer_gives_ntp_times_or_else_seconds() {
    assert_eq!(
        read(
            TIME_DOWN,
            r#"{"type":"get","time":1621562342,"ntptime1":1621562342773,"ntptime2":1621562342775}"#
        )
        .as_time(),
        Some(TimeAnswer {
            device_sent: None,
            server: ServerTime::Exchange {
                received_ms: 1_621_562_342_773,
                sent_ms: 1_621_562_342_775
            }
        })
    );
    assert_eq!(
        read(TIME_DOWN, r#"{"type":"get","time":1603334906}"#).as_time(),
        Some(TimeAnswer {
            device_sent: None,
            server: ServerTime::Seconds(1_603_334_906)
        })
    );
    assert_eq!(
        invalid(read(TIME_DOWN, r#"{"type":"get","time":"soon"}"#)),
        DataError::Malformed("time")
    );
}

#[test]
fn other_methods_and_topics_are_not_data() {
    for (topic, payload) in [
        (
            PROP_DOWN,
            r#"{"method":"clear_control_reply","clientToken":"9","code":0}"#,
        ),
        (
            PROP_DOWN,
            r#"{"method":"report_info_reply","clientToken":"9","code":0}"#,
        ),
        (TIME_DOWN, r#"{"type":"set","result":0}"#),
        ("LD8S5J1L07/test/control", r#"{"method":"control"}"#),
        ("$thing/down/property/LD8S5J1L07/other", "{}"),
    ] {
        assert!(matches!(read(topic, payload), Down::NotData), "{payload}");
    }
}

#[test]
fn malformed_downlinks_are_named_errors() {
    let long = "x".repeat(MAX_ID_LEN + 1);
    let too_long = std::format!(r#"{{"method":"control","clientToken":"{long}","params":{{}}}}"#);
    for (topic, payload, error) in [
        (PROP_DOWN, "not json", DataError::Malformed("JSON object")),
        (PROP_DOWN, "[1]", DataError::Malformed("JSON object")),
        (
            PROP_DOWN,
            r#"{"clientToken":"1"}"#,
            DataError::Malformed("method"),
        ),
        (
            PROP_DOWN,
            r#"{"method":"control","params":{}}"#,
            DataError::Malformed("clientToken"),
        ),
        (
            PROP_DOWN,
            r#"{"method":"control","clientToken":"1","params":[1]}"#,
            DataError::Malformed("params"),
        ),
        (
            PROP_DOWN,
            r#"{"method":"report_reply","clientToken":"1","code":"ok"}"#,
            DataError::Malformed("code"),
        ),
        (
            PROP_DOWN,
            r#"{"method":"get_status_reply","clientToken":"1","code":0,"data":{"control":7}}"#,
            DataError::Malformed("control"),
        ),
        (
            ACTION_DOWN,
            r#"{"method":"action","clientToken":"1","params":{}}"#,
            DataError::Malformed("actionId"),
        ),
        (
            PROP_DOWN,
            too_long.as_str(),
            DataError::IdTooLong {
                len: MAX_ID_LEN + 1,
            },
        ),
    ] {
        assert_eq!(invalid(read(topic, payload)), error, "{payload}");
    }
}

/// The time answer in a [`Down`], if it is one.
trait AsTime {
    fn as_time(&self) -> Option<TimeAnswer>;
}

impl AsTime for Down<'_> {
    fn as_time(&self) -> Option<TimeAnswer> {
        match self {
            Down::Time(t) => Some(*t),
            _ => None,
        }
    }
}
