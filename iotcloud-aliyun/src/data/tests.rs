//! Alink JSON, byte for byte: what the device writes, and the documented downlink examples
//! read back (help.aliyun.com, "设备属性、事件、服务", "期望属性值", "NTP服务").

use std::string::{String, ToString};

use iotcloud_core::data::{DataError, Field, Request};

use super::*;

fn aliyun() -> Aliyun<'static> {
    Aliyun::with_secret("a1pk", "dev1", "secret").unwrap()
}

fn ctx(message_id: u32, unix_time_ms: Option<u64>) -> DataContext {
    DataContext {
        message_id,
        unix_time_ms,
    }
}

fn write(a: &Aliyun<'_>, up: Up<'_>, ctx: DataContext) -> Result<(String, String, QoS), DataError> {
    let mut buf = [0u8; 512];
    let p = a.write(&up, &ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        p.topic.to_string(),
        String::from_utf8(p.payload.to_vec()).unwrap(),
        p.qos,
    ))
}

#[test]
fn reports_events_and_requests_are_written_in_the_documented_envelope() {
    let a = aliyun().with_desired(&["power", "temperature"]);
    let values: &[Field<'_>] = &[("Power", &"on"), ("WF", &23.6)];
    assert_eq!(
        write(&a, Up::Report(values), ctx(123, None)).unwrap(),
        (
            "/sys/a1pk/dev1/thing/event/property/post".into(),
            r#"{"id":"123","version":"1.0","params":{"Power":"on","WF":23.6},"method":"thing.event.property.post"}"#.into(),
            QoS::AtLeastOnce
        )
    );
    let params: &[Field<'_>] = &[("Power", &"on"), ("WF", &"2")];
    assert_eq!(
        write(&a, Up::Event { name: "alarm", params }, ctx(124, Some(1_524_448_722_000))).unwrap(),
        (
            "/sys/a1pk/dev1/thing/event/alarm/post".into(),
            r#"{"id":"124","version":"1.0","params":{"value":{"Power":"on","WF":"2"},"time":1524448722000},"method":"thing.event.alarm.post"}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        write(&a, Up::GetDesired, ctx(125, None)).unwrap(),
        (
            "/sys/a1pk/dev1/thing/property/desired/get".into(),
            r#"{"id":"125","version":"1.0","params":["power","temperature"],"method":"thing.property.desired.get"}"#.into(),
            QoS::AtLeastOnce
        )
    );
    assert_eq!(
        write(
            &a,
            Up::TimeRequest {
                device_ms: 1_571_724_098_000
            },
            ctx(126, None)
        )
        .unwrap(),
        (
            "/ext/ntp/a1pk/dev1/request".into(),
            r#"{"deviceSendTime":"1571724098000"}"#.into(),
            QoS::AtMostOnce
        )
    );
}

#[test]
fn answers_echo_the_request_id_on_the_reply_topic() {
    let a = aliyun();
    let set = Request::new(RequestKind::PropertySet, "123", "").unwrap();
    assert_eq!(
        write(
            &a,
            Up::Answer {
                request: &set,
                outcome: Outcome::success()
            },
            ctx(1, None)
        )
        .unwrap(),
        (
            "/sys/a1pk/dev1/thing/service/property/set_reply".into(),
            r#"{"id":"123","code":200,"data":{}}"#.into(),
            QoS::AtLeastOnce
        )
    );
    let call = Request::new(RequestKind::Command, "124", "SetMode").unwrap();
    let output: &[Field<'_>] = &[("result", &1)];
    assert_eq!(
        write(
            &a,
            Up::Answer {
                request: &call,
                outcome: Outcome::with_output(output)
            },
            ctx(2, None)
        )
        .unwrap()
        .0
        .as_str(),
        "/sys/a1pk/dev1/thing/service/SetMode_reply"
    );
    assert_eq!(
        write(
            &a,
            Up::Answer {
                request: &call,
                outcome: Outcome::with_output(output)
            },
            ctx(2, None)
        )
        .unwrap()
        .1,
        r#"{"id":"124","code":200,"data":{"result":1}}"#
    );
    assert_eq!(
        write(
            &a,
            Up::Answer {
                request: &call,
                outcome: Outcome::failure(9201, "device \"busy\"")
            },
            ctx(3, None)
        )
        .unwrap()
        .1,
        r#"{"id":"124","code":9201,"data":{},"message":"device \"busy\""}"#
    );
}

#[test]
fn names_that_would_change_a_topic_and_small_memory_are_refused() {
    let a = aliyun();
    assert_eq!(
        write(
            &a,
            Up::Event {
                name: "a/b",
                params: &[]
            },
            ctx(1, None)
        ),
        Err(DataError::InvalidName)
    );
    let call = Request::new(RequestKind::Command, "1", "x+").unwrap();
    assert_eq!(
        write(
            &a,
            Up::Answer {
                request: &call,
                outcome: Outcome::success()
            },
            ctx(1, None)
        ),
        Err(DataError::InvalidName)
    );
    let mut buf = [0u8; 60];
    let values: &[Field<'_>] = &[("Power", &"on")];
    assert!(matches!(
        a.write(
            &Up::Report(values),
            &ctx(1, None),
            &mut Scratch::new(&mut buf)
        ),
        Err(DataError::TooLarge { .. })
    ));
}

#[test]
fn the_documented_downlinks_become_events() {
    let a = aliyun();
    let set = br#"{"id":"123","version":"1.0","params":{"temperature":"30.5"},"method":"thing.service.property.set"}"#;
    let Down::Properties(p) = a.read("/sys/a1pk/dev1/thing/service/property/set", set) else {
        panic!()
    };
    assert_eq!((p.origin(), p.id()), (PropertyOrigin::Set, "123"));
    assert!(p.get("temperature").unwrap().eq_str("30.5"));

    let call = br#"{"id":"123","version":"1.0","params":{"Power":"on","WF":"2"},"method":"thing.service.SetMode"}"#;
    let Down::Command(c) = a.read("/sys/a1pk/dev1/thing/service/SetMode", call) else {
        panic!()
    };
    assert_eq!((c.id(), c.name(), c.service()), ("123", "SetMode", None));
    assert!(c.param("WF").unwrap().eq_str("2"));

    let reply = br#"{"code":200,"data":{},"id":"123","message":"success","method":"thing.event.property.post","version":"1.0"}"#;
    let Down::Reply(r) = a.read("/sys/a1pk/dev1/thing/event/property/post_reply", reply) else {
        panic!()
    };
    assert_eq!((r.id, r.code, r.success), (123, 200, true));
    assert!(r.message.unwrap().eq_str("success"));
    let failed =
        br#"{"code":6813,"data":{},"id":"124","message":"The format of result is error!"}"#;
    let Down::Reply(r) = a.read("/sys/a1pk/dev1/thing/event/alarm/post_reply", failed) else {
        panic!()
    };
    assert_eq!((r.id, r.code, r.success), (124, 6813, false));

    let desired = br#"{"id":"123","code":200,"data":{"power":{"value":"on","version":2}}}"#;
    let Down::Properties(p) = a.read("/sys/a1pk/dev1/thing/property/desired/get_reply", desired)
    else {
        panic!()
    };
    assert_eq!(p.origin(), PropertyOrigin::Desired);
    assert!(p.get("power").unwrap().eq_str("on"));

    let ntp = br#"{"deviceSendTime":"1571724098000","serverRecvTime":"1571724098110","serverSendTime":"1571724098115"}"#;
    let Down::Time(t) = a.read("/ext/ntp/a1pk/dev1/response", ntp) else {
        panic!()
    };
    assert_eq!(
        t,
        TimeAnswer {
            device_sent: Some(1_571_724_098_000),
            server: ServerTime::Exchange {
                received_ms: 1_571_724_098_110,
                sent_ms: 1_571_724_098_115
            }
        }
    );
}

#[test]
fn other_devices_other_topics_and_malformed_messages_are_told_apart() {
    let a = aliyun();
    let set = br#"{"id":"1","params":{}}"#;
    for topic in [
        "/sys/a1pk/dev2/thing/service/property/set",
        "/a1pk/dev1/user/get",
        "/sys/a1pk/dev1/thing/service/property/set_reply",
        "/sys/a1pk/dev1/thing/service/SetMode_reply",
    ] {
        assert!(matches!(a.read(topic, set), Down::NotData), "{topic}");
    }
    let cases: [(&str, &[u8], DataError); 5] = [
        (
            "/sys/a1pk/dev1/thing/service/property/set",
            b"not json",
            DataError::Malformed("JSON object"),
        ),
        (
            "/sys/a1pk/dev1/thing/service/property/set",
            br#"{"params":{}}"#,
            DataError::Malformed("id"),
        ),
        (
            "/sys/a1pk/dev1/thing/service/property/set",
            br#"{"id":"1","params":[1]}"#,
            DataError::Malformed("params"),
        ),
        (
            "/sys/a1pk/dev1/thing/event/property/post_reply",
            br#"{"id":"x","code":200}"#,
            DataError::Malformed("id"),
        ),
        (
            "/ext/ntp/a1pk/dev1/response",
            br#"{"deviceSendTime":"1"}"#,
            DataError::Malformed("serverRecvTime"),
        ),
    ];
    for (topic, payload, error) in cases {
        assert!(
            matches!(a.read(topic, payload), Down::Invalid(e) if e == error),
            "{topic} {}",
            String::from_utf8_lossy(payload)
        );
    }
    let long = std::format!(r#"{{"id":"{}","params":{{}}}}"#, "9".repeat(65));
    assert!(matches!(
        a.read("/sys/a1pk/dev1/thing/service/Reboot", long.as_bytes()),
        Down::Invalid(DataError::IdTooLong { len: 65 })
    ));
    // A desired-values failure is a reply with the cloud's code.
    let refused = br#"{"id":"7","code":460,"message":"request parameter error"}"#;
    assert!(matches!(
        a.read("/sys/a1pk/dev1/thing/property/desired/get_reply", refused),
        Down::Reply(Reply {
            id: 7,
            code: 460,
            success: false,
            ..
        })
    ));
}

#[test]
fn the_subscriptions_cover_every_downlink_the_format_reads() {
    let a = aliyun();
    let mut filters = std::vec::Vec::new();
    for i in 0.. {
        let mut buf = [0u8; 128];
        match a.subscription(i, &mut Scratch::new(&mut buf)).unwrap() {
            Some(t) => filters.push(t.filter.as_str().to_string()),
            None => break,
        }
    }
    assert_eq!(
        filters,
        [
            "/sys/a1pk/dev1/thing/service/property/set",
            "/sys/a1pk/dev1/thing/service/+",
            "/sys/a1pk/dev1/thing/event/+/post_reply",
            "/sys/a1pk/dev1/thing/property/desired/get_reply",
            "/ext/ntp/a1pk/dev1/response",
        ]
    );
}
