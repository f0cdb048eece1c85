//! OneNET OTA against the documented exchanges (doc 1204 and its pages; the examples are
//! those of the documentation centre, product `XHm5ltr9qA`, device `d0`).

use std::vec::Vec;

use iotcloud_core::QoS;
use iotcloud_core::http::Method;
use iotcloud_core::ota::{
    Notice, OtaContext, OtaFailure, OtaFormat, OtaJob, OtaNoticeError, OtaStatus, OtaSupport,
};

use iotcloud_testkit::ota_subscriptions;

use super::*;

const DOC_PID: &str = "XHm5ltr9qA";
const DOC_DN: &str = "d0";
const CHECK_ANSWER: &str = r#"{"code":0,"msg":"succ","data":{"target":"v3.0","tid":1317438,"size":8260,"md5":"b54809186a2dd720e80265402e8cb168","status":1,"type":1},"request_id":"8b9b21aff5f84af7ad9595c368613e16"}"#;

fn device() -> OneNet<'static> {
    OneNet::with_secret(DOC_PID, DOC_DN, KEY).unwrap()
}

fn token(o: &OneNet<'_>) -> String {
    sign(o, at(Some(1_700_000_000))).unwrap().2
}

/// Method, host, path, header fields and body of `call`'s request.
fn request(
    o: &OneNet<'_>,
    call: OtaCall<'_>,
) -> (Method, String, String, Vec<(String, String)>, String) {
    let mut buf = [0u8; 1024];
    let r = o
        .ota_request(call, &at(Some(1_700_000_000)), &mut Scratch::new(&mut buf))
        .unwrap();
    (
        r.method,
        r.url.host.to_string(),
        r.url.path.to_string(),
        r.headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        String::from_utf8(r.body.to_vec()).unwrap(),
    )
}

#[test]
fn ota_is_supported_through_the_announcement_topic() {
    let o = device();
    assert_eq!(o.ota_support(), OtaSupport::Supported);
    assert_eq!(
        ota_subscriptions(&o),
        [("$sys/XHm5ltr9qA/d0/ota/inform".to_string(), QoS::AtMostOnce)]
    );
    let mut job = [0u8; 64];
    let inform = br#"{"id":"9","version":"1.0","params":{}}"#;
    assert_eq!(
        o.notice("$sys/XHm5ltr9qA/d0/ota/inform", inform, &mut job),
        Notice::Other
    );
    for other in [
        "$sys/XHm5ltr9qA/d1/ota/inform",
        "$sys/XHm5ltr9qA/d0/ota/inform_reply",
        "$sys/XHm5ltr9qA/d0/thing/property/set",
    ] {
        assert_eq!(o.notice(other, inform, &mut job), Notice::NotOta, "{other}");
    }
    // Versions and status go over HTTP: nothing over MQTT.
    let ctx = OtaContext {
        firmware: iotcloud_core::ota::Firmware::new("1.0"),
        message_id: 1,
        unix_time_ms: None,
    };
    let mut buf = [0u8; 256];
    assert_eq!(
        o.version_report(&ctx, &mut Scratch::new(&mut buf)),
        Ok(None)
    );
    assert_eq!(
        o.report(None, OtaStatus::Done, &ctx, &mut Scratch::new(&mut buf)),
        Ok(None)
    );
}

#[test]
fn the_inform_is_answered_with_its_id() {
    let o = device();
    let mut buf = [0u8; 256];
    let p = o
        .inform_reply(
            br#"{"id":"123","version":"1.0","params":{}}"#,
            &mut Scratch::new(&mut buf),
        )
        .unwrap();
    assert_eq!(p.topic, "$sys/XHm5ltr9qA/d0/ota/inform_reply");
    assert_eq!(p.payload, br#"{"id":"123","code":200,"msg":"success"}"#);
    for bad in [&b"{}"[..], br#"{"id":5}"#, b"not json"] {
        assert!(matches!(
            o.inform_reply(bad, &mut Scratch::new(&mut buf)),
            Err(ProviderError::InvalidValue {
                key: "ota/inform",
                ..
            })
        ));
    }
}

#[test]
fn the_version_report_is_the_documented_post() {
    let o = device();
    let (method, host, path, headers, body) = request(&o, OtaCall::ReportVersion("V1.0"));
    assert_eq!(method, Method::Post);
    assert_eq!(host, "iot-api.heclouds.com");
    assert_eq!(path, "/fuse-ota/XHm5ltr9qA/d0/version");
    assert_eq!(body, r#"{"s_version":"V1.0","f_version":"V1.0"}"#);
    assert_eq!(
        headers,
        [
            ("Authorization".to_string(), token(&o)),
            ("Content-Type".to_string(), "application/json".to_string())
        ]
    );
    // A version is escaped, never breaks the JSON.
    let (.., body) = request(&o, OtaCall::ReportVersion("1\"2"));
    assert_eq!(body, r#"{"s_version":"1\"2","f_version":"1\"2"}"#);
}

#[test]
fn the_check_is_the_documented_get_of_the_chosen_kind() {
    let o = device().with_ota_kind(OtaKind::Software);
    let (method, _, path, headers, body) = request(&o, OtaCall::Check("V1.0"));
    assert_eq!(method, Method::Get);
    assert_eq!(path, "/fuse-ota/XHm5ltr9qA/d0/check?type=2&version=V1.0");
    assert_eq!(headers, [("Authorization".to_string(), token(&o))]);
    assert_eq!(body, "");
    let (.., path, _, _) = request(&device(), OtaCall::Check("1.0 beta&x"));
    assert_eq!(
        path,
        "/fuse-ota/XHm5ltr9qA/d0/check?type=1&version=1.0%20beta%26x"
    );
}

#[test]
fn the_status_report_is_the_documented_post_with_its_step() {
    let o = device();
    let call = OtaCall::Status {
        task_id: "1317439",
        step: step(OtaStatus::Done),
    };
    let (method, _, path, _, body) = request(&o, call);
    assert_eq!(method, Method::Post);
    assert_eq!(path, "/fuse-ota/XHm5ltr9qA/d0/1317439/status");
    assert_eq!(body, r#"{"step":201}"#);
    let steps = [
        (OtaStatus::Downloading { percent: 10 }, 10),
        (OtaStatus::Downloading { percent: 250 }, 100),
        (OtaStatus::Installing, 101),
        (OtaStatus::Done, 201),
        (OtaStatus::Failed(OtaFailure::Storage), 102),
        (OtaStatus::Failed(OtaFailure::Timeout), 104),
        (OtaStatus::Failed(OtaFailure::Download), 107),
        (OtaStatus::Failed(OtaFailure::DigestMismatch), 205),
        (OtaStatus::Failed(OtaFailure::Install), 206),
    ];
    for (status, want) in steps {
        assert_eq!(step(status), want, "{status:?}");
    }
}

#[test]
fn a_check_answer_becomes_a_job_for_the_download_engine() {
    let o = device();
    let mut job = [0u8; 512];
    let n = o
        .read_check(200, CHECK_ANSWER.as_bytes(), "tok&sign=s3cret", &mut job)
        .unwrap()
        .unwrap();
    let job = OtaJob::decode(&job[..n]).unwrap();
    assert_eq!(job.version(), "v3.0");
    assert_eq!(
        job.url(),
        "https://iot-api.heclouds.com/fuse-ota/XHm5ltr9qA/d0/1317438/download"
    );
    assert_eq!(job.size(), Some(8260));
    assert_eq!(job.task_id(), Some("1317438"));
    assert_eq!(
        format!("{}", job.digest()),
        "md5:b54809186a2dd720e80265402e8cb168"
    );
    assert_eq!(job.authorization(), Some("tok&sign=s3cret"));
    assert!(!format!("{job:?}").contains("s3cret"));

    // A local server keeps its scheme and port in the download URL.
    let local = device()
        .with_ota_url("http://127.0.0.1:8080/fuse-ota")
        .unwrap();
    let mut job = [0u8; 512];
    let n = local
        .read_check(200, CHECK_ANSWER.as_bytes(), "t", &mut job)
        .unwrap()
        .unwrap();
    assert_eq!(
        OtaJob::decode(&job[..n]).unwrap().url(),
        "http://127.0.0.1:8080/fuse-ota/XHm5ltr9qA/d0/1317438/download"
    );
}

#[test]
fn no_task_is_none_and_refusals_and_malformed_answers_are_named() {
    let o = device();
    let mut job = [0u8; 512];
    let none = r#"{"code":11,"msg":"not exist","request_id":"r"}"#;
    assert_eq!(o.read_check(200, none.as_bytes(), "t", &mut job), Ok(None));
    let with = |data: &str| format!(r#"{{"code":0,"msg":"succ","data":{data}}}"#);
    let md5 = "b54809186a2dd720e80265402e8cb168";
    let cases = [
        (
            200,
            r#"{"code":20,"msg":"task finish","request_id":"r"}"#.to_string(),
            OtaAnswerError::Refused {
                code: 20,
                reason: OtaRefusal::TaskEnded,
            },
        ),
        (
            200,
            r#"{"code":12,"msg":"token expired"}"#.to_string(),
            OtaAnswerError::Refused {
                code: 12,
                reason: OtaRefusal::TokenExpired,
            },
        ),
        (
            502,
            "<html>bad gateway</html>".to_string(),
            OtaAnswerError::Status(502),
        ),
        (
            200,
            "not json".to_string(),
            OtaAnswerError::Malformed("not OneNET's JSON answer"),
        ),
        (
            200,
            r#"{"msg":"succ"}"#.to_string(),
            OtaAnswerError::Malformed("answer without a numeric `code`"),
        ),
        (
            200,
            r#"{"code":0,"msg":"succ"}"#.to_string(),
            OtaAnswerError::Malformed("success without a `data` object"),
        ),
        (
            200,
            with(&format!(r#"{{"tid":1,"size":3,"md5":"{md5}"}}"#)),
            OtaAnswerError::Job(OtaNoticeError::MissingField("target")),
        ),
        (
            200,
            with(&format!(r#"{{"target":"2","size":3,"md5":"{md5}"}}"#)),
            OtaAnswerError::Job(OtaNoticeError::MissingField("tid")),
        ),
        (
            200,
            with(r#"{"target":"2","tid":1,"size":3}"#),
            OtaAnswerError::Job(OtaNoticeError::MissingField("md5")),
        ),
        (
            200,
            with(r#"{"target":"2","tid":1,"size":3,"md5":"abc"}"#),
            OtaAnswerError::Job(OtaNoticeError::InvalidField("md5")),
        ),
        (
            200,
            with(&format!(
                r#"{{"target":"2","tid":1,"size":-3,"md5":"{md5}"}}"#
            )),
            OtaAnswerError::Job(OtaNoticeError::InvalidField("size")),
        ),
        (
            200,
            with(&format!(
                r#"{{"target":["2"],"tid":1,"size":3,"md5":"{md5}"}}"#
            )),
            OtaAnswerError::Job(OtaNoticeError::InvalidField("target")),
        ),
        (
            200,
            with(&format!(
                r#"{{"target":"2","tid":1.5,"size":3,"md5":"{md5}"}}"#
            )),
            OtaAnswerError::Job(OtaNoticeError::InvalidField("tid")),
        ),
    ];
    for (status, body, want) in cases {
        assert_eq!(
            o.read_check(status, body.as_bytes(), "t", &mut job),
            Err(want),
            "{body}"
        );
    }
    // A job that does not fit says how much it needs.
    assert!(matches!(
        o.read_check(200, CHECK_ANSWER.as_bytes(), "t", &mut [0u8; 32]),
        Err(OtaAnswerError::Job(OtaNoticeError::TooLarge {
            capacity: 32,
            ..
        }))
    ));
}

#[test]
fn acknowledgements_are_read_as_documented() {
    let ok = r#"{"code":0,"msg":"succ","request_id":"399527bd39274e4e8f881e4714911a19"}"#;
    assert!(read_answer(200, ok.as_bytes()).is_ok());
    assert_eq!(
        read_answer(200, br#"{"code":4,"msg":"token not match"}"#).err(),
        Some(OtaAnswerError::Refused {
            code: 4,
            reason: OtaRefusal::TokenMismatch
        })
    );
    assert_eq!(
        read_answer(401, b"").err(),
        Some(OtaAnswerError::Status(401))
    );
}

#[test]
fn an_ota_url_with_a_query_or_another_scheme_is_refused_by_name() {
    for bad in ["ftp://h/fuse-ota", "https://h/fuse-ota?x=1", "not a url"] {
        assert!(
            matches!(
                device().with_ota_url(bad),
                Err(ProviderError::InvalidValue { key: "ota_url", .. })
            ),
            "{bad}"
        );
    }
}
