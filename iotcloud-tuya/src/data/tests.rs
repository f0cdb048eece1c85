//! TuyaLink's thing model, byte for byte against the examples of Tuya's documentation
//! (data-facts §5), with our decimal message ids.

use std::string::String;
use std::vec::Vec;

use iotcloud_core::data::{Field, MAX_ID_LEN, Request};

use iotcloud_testkit::data::{invalid, pairs};

use super::*;

const ID: &str = "6c95875d0f5ba69607nzfl";
const NOW: u64 = 1_626_197_189_638;
const CTX: DataContext = DataContext {
    message_id: 45,
    unix_time_ms: Some(NOW),
};
const CLOCKLESS: DataContext = DataContext {
    message_id: 45,
    unix_time_ms: None,
};
/// The cloud's example id.
const THEIRS: &str = "45lkj3551234***";

fn tuya() -> Tuya<'static> {
    Tuya::with_secret(ID, "fb803786602df760").unwrap()
}

fn topic(suffix: &str) -> String {
    std::format!("tylink/{ID}/{suffix}")
}

/// Topic, payload and QoS of `up`, or why it was refused.
fn write_at(up: Up<'_>, ctx: DataContext) -> Result<(String, String, QoS), DataError> {
    let mut buf = [0u8; 512];
    let p = tuya().write(&up, &ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        p.topic.into(),
        String::from_utf8(p.payload.to_vec()).unwrap(),
        p.qos,
    ))
}

fn write(up: Up<'_>) -> (String, String, QoS) {
    write_at(up, CTX).unwrap()
}

fn read<'a>(suffix: &str, payload: &'a str) -> Down<'a> {
    // The topic is only compared, so a temporary does.
    tuya().read(String::leak(topic(suffix)), payload.as_bytes())
}

fn reply(down: Down<'_>) -> (u32, i64, bool) {
    match down {
        Down::Reply(r) => (r.id, r.code, r.success),
        other => panic!("not a reply: {other:?}"),
    }
}

#[test]
fn reports_and_events_carry_the_time_and_ask_for_a_reply() {
    let report: &[Field<'_>] = &[("color", &"red"), ("brightness", &80)];
    assert_eq!(
        write(Up::Report(report)),
        (
            topic("thing/property/report"),
            r#"{"msgId":"45","time":1626197189638,"data":{"color":{"value":"red","time":1626197189638},"brightness":{"value":80,"time":1626197189638}},"sys":{"ack":1}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    let output: &[Field<'_>] = &[("outputParam1", &"value1"), ("outputParam2", &"value2")];
    assert_eq!(
        write(Up::Event {
            name: "testEvent",
            params: output
        }),
        (
            topic("thing/event/trigger"),
            r#"{"msgId":"45","time":1626197189638,"data":{"eventCode":"testEvent","eventTime":1626197189638,"outputParams":{"outputParam1":"value1","outputParam2":"value2"}},"sys":{"ack":1}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        write(Up::GetDesired),
        (
            topic("thing/property/desired/get"),
            r#"{"msgId":"45","time":1626197189638,"data":[],"sys":{"ack":1}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        write(Up::TimeRequest { device_ms: NOW }),
        (
            topic("ext/time/request"),
            r#"{"msgId":"45","time":1626197189638,"data":{"bizType":"NTP","dst":1626197189638}}"#
                .into(),
            QoS::AtMostOnce
        )
    );
}

#[test]
fn without_the_time_it_is_left_out_and_the_time_request_carries_the_clock_in_dst_only() {
    let report: &[Field<'_>] = &[("power", &1234)];
    let payload = |up| write_at(up, CLOCKLESS).unwrap().1;
    assert_eq!(
        payload(Up::Report(report)),
        r#"{"msgId":"45","data":{"power":{"value":1234}},"sys":{"ack":1}}"#
    );
    assert_eq!(
        payload(Up::Event {
            name: "boom",
            params: &[("param1", &100)]
        }),
        r#"{"msgId":"45","data":{"eventCode":"boom","outputParams":{"param1":100}},"sys":{"ack":1}}"#
    );
    assert_eq!(
        payload(Up::TimeRequest { device_ms: 5_000 }),
        r#"{"msgId":"45","data":{"bizType":"NTP","dst":5000}}"#
    );
}

#[test]
fn answers_echo_the_msg_id_with_code_and_action_output() {
    let set = Request::new(RequestKind::PropertySet, THEIRS, "").unwrap();
    let answer = |request, outcome| write(Up::Answer { request, outcome });
    assert_eq!(
        answer(&set, Outcome::success()),
        (
            topic("thing/property/set_response"),
            r#"{"msgId":"45lkj3551234***","time":1626197189638,"code":0}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        answer(&set, Outcome::failure(2003, "no \"color\"")).1,
        r#"{"msgId":"45lkj3551234***","time":1626197189638,"code":2003,"msg":"no \"color\""}"#
    );
    let action = Request::new(RequestKind::Command, THEIRS, "testAction").unwrap();
    let output: &[Field<'_>] = &[("outputParam1", &"value1"), ("outputParam2", &"value2")];
    assert_eq!(
        answer(&action, Outcome::with_output(output)),
        (
            topic("thing/action/execute_response"),
            r#"{"msgId":"45lkj3551234***","time":1626197189638,"code":0,"data":{"actionCode":"testAction","outputParams":{"outputParam1":"value1","outputParam2":"value2"}}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        answer(&action, Outcome::failure(1, "busy")).1,
        r#"{"msgId":"45lkj3551234***","time":1626197189638,"code":1,"msg":"busy","data":{"actionCode":"testAction","outputParams":{}}}"#
    );
}

#[test]
fn bad_names_numbers_and_a_small_scratch_are_refused() {
    let none: &[Field<'_>] = &[];
    let refused = |up| write_at(up, CTX).unwrap_err();
    assert_eq!(
        refused(Up::Event {
            name: "",
            params: none
        }),
        DataError::InvalidName
    );
    assert_eq!(refused(Up::Report(&[("", &1)])), DataError::InvalidName);
    assert_eq!(
        refused(Up::Report(&[("t", &f32::INFINITY)])),
        DataError::NotFinite
    );
    let mut buf = [0u8; 64];
    let e = tuya()
        .write(
            &Up::Report(&[("power", &1)]),
            &CTX,
            &mut Scratch::new(&mut buf),
        )
        .unwrap_err();
    // The topic took its 51 bytes; the payload found the other 13.
    assert_eq!(e, DataError::TooLarge { available: 13 });
}

#[test]
fn subscribes_each_downlink_only_without_the_auto_subscribe_channel() {
    let subscriptions = |t: &Tuya<'_>| {
        let mut topics = Vec::new();
        for index in 0.. {
            let mut buf = [0u8; 128];
            match t.subscription(index, &mut Scratch::new(&mut buf)).unwrap() {
                Some(s) => topics.push((String::from(s.filter.as_str()), s.qos)),
                None => break,
            }
        }
        topics
    };
    assert_eq!(subscriptions(&tuya()), []);
    let each: Vec<_> = [
        "thing/property/set",
        "thing/property/report_response",
        "thing/property/desired/get_response",
        "thing/action/execute",
        "thing/event/trigger_response",
        "ext/time/response",
    ]
    .into_iter()
    .map(|s| (topic(s), QoS::AtLeastOnce))
    .collect();
    assert_eq!(subscriptions(&tuya().with_auto_subscribe(false)), each);
    assert!(tuya().parts().report_reply && tuya().parts().commands);
}

#[test]
fn set_and_execute_are_a_property_set_and_a_command() {
    let Down::Properties(set) = read(
        "thing/property/set",
        r#"{"msgId":"45lkj3551234***","time":1626197189638,"data":{"color":"green","brightness":50}}"#,
    ) else {
        panic!("not a set")
    };
    assert_eq!((set.origin(), set.id()), (PropertyOrigin::Set, THEIRS));
    assert_eq!(
        pairs(&set),
        [
            ("color".into(), "\"green\"".into()),
            ("brightness".into(), "50".into())
        ]
    );
    let Down::Command(cmd) = read(
        "thing/action/execute",
        r#"{"msgId":"45lkj3551234***","time":1626197189638,"data":{"actionCode":"testAction","inputParams":{"inputParam1":"value1","inputParam2":"value2"}}}"#,
    ) else {
        panic!("not a command")
    };
    assert_eq!((cmd.id(), cmd.name()), (THEIRS, "testAction"));
    assert_eq!(
        cmd.param("inputParam2").unwrap().as_plain_str(),
        Some("value2")
    );
}

#[test]
fn responses_to_reports_and_events_are_replies_with_an_optional_code() {
    assert_eq!(
        reply(read(
            "thing/property/report_response",
            r#"{"msgId":"45","time":1626197189640,"code":0}"#
        )),
        (45, 0, true)
    );
    assert_eq!(
        reply(read(
            "thing/event/trigger_response",
            r#"{"msgId":"46","time":1626197189640}"#
        )),
        (46, 0, true)
    );
    assert_eq!(
        reply(read(
            "thing/event/trigger_response",
            r#"{"msgId":"47","time":1626197189640,"code":2004}"#
        )),
        (47, 2004, false)
    );
}

#[test]
fn desired_values_are_read_wrapped_or_plain() {
    let Down::Properties(desired) = read(
        "thing/property/desired/get_response",
        r#"{"msgId":"45","time":1626197189640,"code":0,"data":{"power":{"value":"on","version":2},"level":3}}"#,
    ) else {
        panic!("not desired values")
    };
    assert_eq!(
        (desired.origin(), desired.id()),
        (PropertyOrigin::Desired, "45")
    );
    assert_eq!(
        pairs(&desired),
        [
            ("power".into(), "\"on\"".into()),
            ("level".into(), "3".into())
        ]
    );
    let Down::Properties(none) = read(
        "thing/property/desired/get_response",
        r#"{"msgId":"45","time":1626197189640}"#,
    ) else {
        panic!("not desired values")
    };
    assert!(none.is_empty());
    assert_eq!(
        reply(read(
            "thing/property/desired/get_response",
            r#"{"msgId":"45","time":1626197189640,"code":1004}"#
        )),
        (45, 1004, false)
    );
}

#[test]
fn the_time_response_echoes_the_device_time() {
    let Down::Time(answer) = read(
        "ext/time/response",
        r#"{"msgId":"45","time":1626197189700,"data":{"bizType":"NTP","dst":1626197189638,"srt":1626197189690,"sst":1626197189695}}"#,
    ) else {
        panic!("not a time answer")
    };
    assert_eq!(
        answer,
        TimeAnswer {
            device_sent: Some(1_626_197_189_638),
            server: ServerTime::Exchange {
                received_ms: 1_626_197_189_690,
                sent_ms: 1_626_197_189_695
            }
        }
    );
}

#[test]
fn other_topics_and_answers_are_not_data() {
    for (topic, payload) in [
        (
            topic("ext/time/response"),
            r#"{"msgId":"1","data":{"bizType":"DST","timezoneId":"Asia/Shanghai"}}"#,
        ),
        (topic("ota/issue"), r#"{"msgId":"1","data":{}}"#),
        (topic("thing/model/get_response"), r#"{"msgId":"1"}"#),
        (
            "tylink/another/thing/property/set".into(),
            r#"{"msgId":"1","data":{}}"#,
        ),
        (topic("thing/property/set/extra"), r#"{"msgId":"1"}"#),
    ] {
        assert!(
            matches!(tuya().read(&topic, payload.as_bytes()), Down::NotData),
            "{topic}"
        );
    }
}

#[test]
fn malformed_downlinks_are_named_errors() {
    let long = "x".repeat(MAX_ID_LEN + 1);
    let too_long = std::format!(r#"{{"msgId":"{long}","time":1,"data":{{}}}}"#);
    for (suffix, payload, error) in [
        (
            "thing/property/set",
            "{",
            DataError::Malformed("JSON object"),
        ),
        (
            "thing/property/set",
            r#"{"time":1,"data":{}}"#,
            DataError::Malformed("msgId"),
        ),
        (
            "thing/property/set",
            r#"{"msgId":"1","data":"on"}"#,
            DataError::Malformed("data"),
        ),
        (
            "thing/property/set",
            too_long.as_str(),
            DataError::IdTooLong {
                len: MAX_ID_LEN + 1,
            },
        ),
        (
            "thing/action/execute",
            r#"{"msgId":"1","time":1}"#,
            DataError::Malformed("data"),
        ),
        (
            "thing/action/execute",
            r#"{"msgId":"1","data":{"inputParams":{}}}"#,
            DataError::Malformed("actionCode"),
        ),
        (
            "thing/action/execute",
            r#"{"msgId":"1","data":{"actionCode":"a","inputParams":[]}}"#,
            DataError::Malformed("inputParams"),
        ),
        (
            "thing/property/report_response",
            r#"{"msgId":"45lkj3551234***","code":0}"#,
            DataError::Malformed("msgId"),
        ),
        (
            "thing/property/report_response",
            r#"{"msgId":"45","code":"ok"}"#,
            DataError::Malformed("code"),
        ),
        (
            "ext/time/response",
            r#"{"msgId":"45","data":{"bizType":"NTP","dst":1,"sst":2}}"#,
            DataError::Malformed("srt"),
        ),
    ] {
        assert_eq!(invalid(read(suffix, payload)), error, "{payload}");
    }
}
