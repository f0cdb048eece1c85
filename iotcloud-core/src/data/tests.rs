use std::string::String;

use super::*;
use crate::json::Value;

fn json(fields: &[Field<'_>]) -> Result<String, DataError> {
    let mut out = String::new();
    write_object(&mut out, fields)?;
    Ok(out)
}

#[test]
fn values_are_written_as_json_with_strings_escaped() {
    let position = Object(&[("lat", &31.25), ("lon", &-121.5f32)]);
    let text = json(&[
        ("temp", &21.5),
        ("count", &-7i32),
        ("big", &u64::MAX),
        ("on", &true),
        ("name", &"a \"b\"\n\u{1}é"),
        ("pos", &position),
        ("list", &[1u8, 2, 3]),
        ("none", &None::<u8>),
        ("raw", &RawJson(" {\"k\":[1,2]} ")),
    ])
    .unwrap();
    assert_eq!(
        text,
        "{\"temp\":21.5,\"count\":-7,\"big\":18446744073709551615,\"on\":true,\
         \"name\":\"a \\\"b\\\"\\n\\u0001é\",\"pos\":{\"lat\":31.25,\"lon\":-121.5},\
         \"list\":[1,2,3],\"none\":null,\"raw\":{\"k\":[1,2]}}"
    );
    // What was written reads back as the same values.
    let v = Value::parse(text.as_bytes()).unwrap();
    assert_eq!(v.get("temp").unwrap().as_f64(), Some(21.5));
    assert_eq!(v.path(&["pos", "lon"]).unwrap().as_f64(), Some(-121.5));
    let mut buf = [0u8; 16];
    assert_eq!(
        v.get("name").unwrap().unescaped(&mut buf),
        Some("a \"b\"\n\u{1}é")
    );
    // Shortest round-trip form, not the float's binary expansion.
    assert_eq!(json(&[("x", &0.1f32)]).unwrap(), "{\"x\":0.1}");
    assert_eq!(json(&[("x", &1e-7)]).unwrap(), "{\"x\":0.0000001}");
}

#[test]
fn values_json_cannot_carry_are_named_errors() {
    assert_eq!(json(&[("x", &f64::NAN)]), Err(DataError::NotFinite));
    assert_eq!(json(&[("x", &f32::INFINITY)]), Err(DataError::NotFinite));
    assert_eq!(
        json(&[("x", &RawJson("{\"a\":"))]),
        Err(DataError::InvalidJson)
    );
    assert_eq!(json(&[("x", &RawJson("1 2"))]), Err(DataError::InvalidJson));
    assert_eq!(json(&[("", &1)]), Err(DataError::InvalidName));
}

#[test]
fn building_in_too_little_memory_is_too_large_and_other_errors_stay_themselves() {
    let mut buf = [0u8; 12];
    let mut scratch = Scratch::new(&mut buf);
    assert_eq!(
        build(&mut scratch, |out| out.object(&[("temperature", &1)])),
        Err(DataError::TooLarge { available: 12 })
    );
    assert_eq!(
        build(&mut scratch, |out| out.object(&[("t", &f64::NAN)])),
        Err(DataError::NotFinite)
    );
    // Nothing was used up by the failures.
    assert_eq!(
        build(&mut scratch, |out| out.object(&[("t", &1)])),
        Ok("{\"t\":1}")
    );
}

#[test]
fn topic_names_refuse_what_would_change_a_topic() {
    assert_eq!(check_topic_name("alarm_1"), Ok(()));
    for bad in ["", "a/b", "a+", "#", "a\nb", "a\u{7f}", "a\"b", "a\\b"] {
        assert_eq!(
            check_topic_name(bad),
            Err(DataError::InvalidName),
            "{bad:?}"
        );
    }
}

#[test]
fn requests_keep_ids_up_to_their_capacity_and_refuse_longer() {
    let long = "x".repeat(MAX_ID_LEN);
    let r = Request::new(RequestKind::Command, &long, "reboot").unwrap();
    assert_eq!(
        (r.id(), r.name(), r.kind()),
        (long.as_str(), "reboot", RequestKind::Command)
    );
    let longer = "x".repeat(MAX_ID_LEN + 1);
    assert_eq!(
        Request::new(RequestKind::Command, &longer, "reboot"),
        Err(DataError::IdTooLong {
            len: MAX_ID_LEN + 1
        })
    );
    let params = Value::parse(b"{}").unwrap();
    assert_eq!(
        Command::new("1", &longer, None, params),
        Err(DataError::IdTooLong {
            len: MAX_ID_LEN + 1
        })
    );
    assert_eq!(
        Properties::new(
            PropertyOrigin::Set,
            "1",
            Value::parse(b"[1]").unwrap(),
            false
        ),
        Err(DataError::Malformed("params"))
    );
}

#[test]
fn properties_unwrap_desired_values_and_commands_copy_their_request() {
    let doc = br#"{"temp":{"value":25,"version":3},"mode":{"value":"eco"}}"#;
    let values = Value::parse(doc).unwrap();
    let p = Properties::new(PropertyOrigin::Desired, "9", values, true).unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p.get("temp").unwrap().as_i64(), Some(25));
    assert!(p.get("mode").unwrap().eq_str("eco"));
    assert_eq!(p.get("absent"), None);
    let r = p.request();
    assert_eq!(
        (r.kind(), r.id(), r.name()),
        (RequestKind::PropertySet, "9", "")
    );

    let params = Value::parse(br#"{"delay":5}"#).unwrap();
    let c = Command::new("abc", "reboot", Some("Device"), params).unwrap();
    assert_eq!(c.param("delay").unwrap().as_u64(), Some(5));
    assert_eq!((c.name(), c.service()), ("reboot", Some("Device")));
    let r = c.request();
    assert_eq!(
        (r.kind(), r.id(), r.name()),
        (RequestKind::Command, "abc", "reboot")
    );
}

#[test]
fn time_answers_follow_the_documented_formula() {
    // (serverRecv + serverSend + deviceRecv - deviceSend) / 2, with deviceRecv - deviceSend
    // the round trip.
    let a = TimeAnswer {
        device_sent: Some(1_000),
        server: ServerTime::Exchange {
            received_ms: 1_700_000_000_100,
            sent_ms: 1_700_000_000_110,
        },
    };
    let (device_send, device_recv) = (1_000u64, 1_240u64);
    assert_eq!(
        a.unix_ms_at_arrival(device_recv - device_send),
        (1_700_000_000_100 + 1_700_000_000_110 + device_recv - device_send) / 2
    );
    let s = TimeAnswer {
        device_sent: None,
        server: ServerTime::Seconds(1_700_000_000),
    };
    assert_eq!(s.unix_ms_at_arrival(200), 1_700_000_000_600);
}

#[test]
fn readers_take_ids_as_strings_or_numbers_and_name_what_is_missing() {
    let v =
        Value::parse(br#"{"id":"17","n":18,"code":"200","t":1700000000000,"bad":[1]}"#).unwrap();
    assert_eq!(read::id(&v, "id"), Ok("17"));
    assert_eq!(read::id(&v, "n"), Ok("18"));
    assert_eq!(read::own_id(&v, "n"), Ok(18));
    assert_eq!(read::int(&v, "code"), Ok(200));
    assert_eq!(read::uint(&v, "t"), Ok(1_700_000_000_000));
    assert_eq!(read::id(&v, "bad"), Err(DataError::Malformed("bad")));
    assert_eq!(read::int(&v, "none"), Err(DataError::Malformed("none")));
    assert_eq!(read::params(&v, "none"), Ok(Value::EMPTY_OBJECT));
    assert_eq!(read::params(&v, "bad"), Err(DataError::Malformed("bad")));
    assert_eq!(
        read::object(b"[1]"),
        Err(DataError::Malformed("JSON object"))
    );
}
