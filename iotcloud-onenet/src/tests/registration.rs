//! Dynamic registration: the token, the request, the answer, and signing with the record.

use std::format;
use std::string::{String, ToString};

use iotcloud_core::register::{
    AnswerError, Fields, RegisterAnswer, RegisterContext, RegisterError, RegisterRequest,
    Registration, RegistrationId, Rejection,
};
use iotcloud_core::transport::ServerAuth;

use super::*;

const USER_ID: &str = "226691";
/// The user key published in the LuatOS OneNET demo.
const USER_KEY: &str =
    "pk1M3FKXBvvmjF8If/xDfSFFmr96NZCEg00sxlLBMjjh9vOD5hpIs42rmAYnMh5b3m9B1+0rmYdqzUyoQVrxow==";

fn token(resource: register::ApiResource<'_>, key: &str, et: u64, method: &str) -> String {
    let mut key_buf = [0u8; MAX_KEY_LEN];
    let n = decode_key("user_key", key, &mut key_buf).unwrap();
    let mut buf = [0u8; 512];
    register::api_token(
        &resource,
        &key_buf[..n],
        et,
        SignMethod::from_name(method).unwrap(),
        &mut Scratch::new(&mut buf),
    )
    .unwrap()
    .to_string()
}

#[test]
fn luatos_registration_token_vector() {
    // luatos-iotcloud.md §6, "OneNET registration token": method written `SHA256`, the
    // fixed et 2051193600.
    assert_eq!(
        token(
            register::ApiResource::User(USER_ID),
            USER_KEY,
            LUATOS_REGISTER_EXPIRY,
            "SHA256"
        ),
        "version=2022-05-01&res=userid%2F226691&et=2051193600&method=SHA256\
         &sign=B9kBGKNvGydawltWLW8wfF9PNKdU2Ygzxt6foq7AI9Q%3D"
    );
}

#[test]
fn the_registration_token_by_default_is_lower_case_and_expires_with_the_clock() {
    let lower = token(
        register::ApiResource::User(USER_ID),
        USER_KEY,
        1_700_003_600,
        "sha256",
    );
    assert!(
        lower.starts_with(
            "version=2022-05-01&res=userid%2F226691&et=1700003600&method=sha256&sign="
        ),
        "{lower}"
    );
    // The method's spelling is signed: the two spellings give different signs.
    let upper = token(
        register::ApiResource::User(USER_ID),
        USER_KEY,
        1_700_003_600,
        "SHA256",
    );
    assert_ne!(
        lower.rsplit_once("sign=").unwrap().1,
        upper.rsplit_once("sign=").unwrap().1
    );
    // The product-level token names the product.
    let product = token(
        register::ApiResource::Product(PID),
        KEY,
        1_700_003_600,
        "sha256",
    );
    assert!(product.starts_with("version=2022-05-01&res=products%2FCk2AF9QD2K&et=1700003600&"));
    let o = OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    assert_eq!(o.register_method, SignMethod::SHA256);
    assert_eq!(o.register_expiry, TimestampPolicy::Now);
    assert_eq!(
        iotcloud_core::http::Url::parse(REGISTER_URL).unwrap(),
        o.register_url
    );
    assert_eq!(o.register_url.host, "iot-api.heclouds.com");
    assert_eq!(o.register_url.path, "/device/create");
    assert_eq!(o.register_server, ServerAuth::DefaultRoots);
}

#[test]
fn registering_configurations_name_product_and_device_and_their_key() {
    let user = OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    let product = OneNet::registering(PID, DN, KEY).unwrap();
    for o in [user, product] {
        assert_eq!(
            o.registration().map(Registration::id),
            Some(RegistrationId {
                product: PID,
                device: DN
            })
        );
        assert_eq!(o.key_mode(), KeyMode::Device);
    }
    assert_eq!(user.register_key(), Some(RegisterKey::User));
    assert_eq!(product.register_key(), Some(RegisterKey::Product));
    let plain = OneNet::with_secret(PID, DN, KEY).unwrap();
    assert!(plain.registration().is_none());
    assert!(
        OneNet::with_product_secret(PID, DN, KEY)
            .unwrap()
            .registration()
            .is_none()
    );
    assert_eq!(plain.register_key(), None);
}

#[test]
fn bad_registration_settings_are_named_errors() {
    assert_eq!(
        OneNet::registering_with_user(PID, DN, USER_ID, "not base64!").unwrap_err(),
        ProviderError::InvalidBase64("user_key")
    );
    assert_eq!(
        OneNet::registering_with_user(PID, DN, USER_ID, "").unwrap_err(),
        ProviderError::MissingKey("user_key")
    );
    assert_eq!(
        OneNet::registering_with_user(PID, DN, "", USER_KEY).unwrap_err(),
        ProviderError::MissingKey("user_id")
    );
    assert_eq!(
        OneNet::registering(PID, DN, "abc").unwrap_err(),
        ProviderError::InvalidBase64("product_secret")
    );
    assert!(matches!(
        OneNet::registering_with_user(PID, "a/b", USER_ID, USER_KEY),
        Err(ProviderError::InvalidValue {
            key: "device_name",
            ..
        })
    ));
    let o = OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    for bad in [
        "ftp://x/y",
        "iot-api.heclouds.com/device/create",
        "http://",
        "http://a b/",
    ] {
        assert!(
            matches!(
                o.with_register_url(bad),
                Err(ProviderError::InvalidValue {
                    key: "register_url",
                    ..
                })
            ),
            "{bad}"
        );
    }
    let local = o
        .with_register_url("http://127.0.0.1:8080/device/create")
        .unwrap();
    assert_eq!(local.register_url.port, 8080);
}

#[test]
fn a_registered_device_signs_exactly_as_a_device_key_with_the_obtained_key() {
    let o = OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    let mut record = [0u8; 64];
    let n = Fields::write(&mut record, &[b"sec_key", KEY.as_bytes()]).unwrap();
    let ctx = SignContext {
        registered: Some(&record[..n]),
        ..at(Some(1_700_000_000))
    };
    let same = OneNet::with_secret(PID, DN, KEY).unwrap();
    assert_eq!(
        sign(&o, ctx).unwrap(),
        sign(&same, at(Some(1_700_000_000))).unwrap()
    );
    // The MQTT token settings still apply.
    let luatos = o
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_sign_method(SignMethod::MD5);
    assert_eq!(
        sign(&luatos, ctx).unwrap().2,
        "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200\
         &method=md5&sign=htDD26UhXtXayMFAWRmNiA%3D%3D"
    );
    // No record, or a damaged one: said, not guessed.
    assert_eq!(
        sign(&o, at(Some(1))).unwrap_err(),
        ProviderError::MissingKey("sec_key")
    );
    let empty = SignContext {
        registered: Some(&[]),
        ..at(Some(1))
    };
    assert!(matches!(
        sign(&o, empty),
        Err(ProviderError::InvalidValue { key: "sec_key", .. })
    ));
    let mut bad = [0u8; 16];
    let n = Fields::write(&mut bad, &[b"sec_key", b"%%%"]).unwrap();
    let bad_ctx = SignContext {
        registered: Some(&bad[..n]),
        ..at(Some(1))
    };
    assert_eq!(
        sign(&o, bad_ctx).unwrap_err(),
        ProviderError::InvalidBase64("sec_key")
    );
}

fn answer(status: u16, body: &str) -> Result<String, AnswerError> {
    let mut record = [0u8; 256];
    let n = register::read_answer(status, body.as_bytes(), &mut record)?;
    let mut fields = Fields::read(&record[..n]);
    assert_eq!(fields.next_str(), Some("sec_key"));
    let key = fields.next_str().unwrap().to_string();
    assert_eq!(fields.next(), None, "one field only");
    Ok(key)
}

fn rejected(reason: Rejection, code: &str) -> AnswerError {
    RegisterError::rejected(reason, code)
}

fn same(a: &AnswerError, b: &AnswerError) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[test]
fn a_success_answer_yields_its_sec_key() {
    let body = r#"{"code":0,"msg":"succ","request_id":"e0","data":{"did":2000000001,"pid":"Ck2AF9QD2K","name":"test","desc":"","status":0,"sec_key":"KuF3NT\/jUBJ62LNBB\/A8XZA9CqS3Cu79B\/ABmfA1UCw="}}"#;
    assert_eq!(answer(200, body).unwrap(), KEY);
    // Fields in another order, whitespace, nested values: still read.
    let body = r#" { "data" : { "tags" : [ {"a":[1,2]} ], "sec_key" : "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=" }, "code" : 0 } "#;
    assert_eq!(answer(200, body).unwrap(), KEY);
}

#[test]
fn error_codes_become_named_refusals() {
    for (body, reason, code) in [
        (
            r#"{"code":10401,"msg":"auth failed"}"#,
            Rejection::BadCredentials,
            "10401",
        ),
        (
            r#"{"code":10402,"msg":"token expired"}"#,
            Rejection::ClockSkew,
            "10402",
        ),
        (
            r#"{"code":10404,"msg":"product not exist"}"#,
            Rejection::NotFound,
            "10404",
        ),
        (
            r#"{"code":10406,"msg":"device exist"}"#,
            Rejection::AlreadyExists,
            "10406",
        ),
        (
            r#"{"code":10001,"msg":"invalid parameter"}"#,
            Rejection::Other,
            "10001",
        ),
        (
            r#"{"code":12,"msg":"Sign check failed"}"#,
            Rejection::BadCredentials,
            "12",
        ),
        (
            r#"{"code":13,"msg":"device already exist"}"#,
            Rejection::AlreadyExists,
            "13",
        ),
        (
            r#"{"code":14,"msg":"device not exist"}"#,
            Rejection::NotFound,
            "14",
        ),
        (
            r#"{"code":-1,"msg":"\u7cfb\u7edf\u9519\u8bef"}"#,
            Rejection::Other,
            "-1",
        ),
    ] {
        let e = answer(200, body).unwrap_err();
        assert!(same(&e, &rejected(reason, code)), "{body}: {e:?}");
    }
    // An error body under an error status is still read.
    let e = answer(403, r#"{"code":10401,"msg":"auth failed"}"#).unwrap_err();
    assert!(
        same(&e, &rejected(Rejection::BadCredentials, "10401")),
        "{e:?}"
    );
}

#[test]
fn malformed_answers_are_bad_responses_and_odd_statuses_are_statuses() {
    for body in [
        "<html>502</html>",
        "",
        r#"{"code":0,"data":{"d"#,
        r#"{"code":0,"msg":"succ"}"#,
        r#"{"code":0,"data":{"sec_key":""}}"#,
        r#"{"code":0,"data":{"sec_key":"%%% not base64"}}"#,
        r#"{"msg":"no code"}"#,
    ] {
        assert!(
            matches!(answer(200, body), Err(RegisterError::BadResponse(_))),
            "{body}"
        );
    }
    let long = format!(r#"{{"code":0,"data":{{"sec_key":"{}"}}}}"#, "A".repeat(400));
    assert!(matches!(
        answer(200, &long),
        Err(RegisterError::BadResponse(_))
    ));
    assert!(matches!(
        answer(502, "<html>bad gateway</html>"),
        Err(RegisterError::Status(502))
    ));
    assert!(matches!(
        answer(
            500,
            r#"{"code":0,"data":{"sec_key":"KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="}}"#
        ),
        Err(RegisterError::Status(500))
    ));
}

#[test]
fn the_user_key_never_appears_in_debug() {
    for o in [
        OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY).unwrap(),
        OneNet::registering(PID, DN, KEY).unwrap(),
    ] {
        let shown = format!("{o:?}");
        assert!(!shown.contains(USER_KEY) && !shown.contains(KEY), "{shown}");
        assert!(shown.contains("Registering("), "{shown}");
    }
}

#[test]
fn the_request_body_escapes_its_values() {
    let body = register::CreateBody {
        product_id: PID,
        device_name: "a\"b\\c\u{1}d\u{e9}",
    };
    assert_eq!(
        body.to_string(),
        r#"{"product_id":"Ck2AF9QD2K","device_name":"a\"b\\c\u0001dé"}"#
    );
}

#[test]
fn the_request_is_a_post_of_the_body_with_the_token() {
    let ctx = RegisterContext {
        unix_time_ms: Some(1_700_000_000_789),
        random: 3,
    };
    for (o, expected) in [
        (
            OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY).unwrap(),
            token(
                register::ApiResource::User(USER_ID),
                USER_KEY,
                1_700_003_600,
                "sha256",
            ),
        ),
        (
            OneNet::registering(PID, DN, KEY).unwrap(),
            token(
                register::ApiResource::Product(PID),
                KEY,
                1_700_003_600,
                "sha256",
            ),
        ),
    ] {
        let mut buf = [0u8; 1024];
        let RegisterRequest::Http(r) = o
            .request(0, &[], &ctx, &mut Scratch::new(&mut buf))
            .unwrap()
        else {
            panic!("OneNET registers over HTTP");
        };
        assert_eq!(r.method, iotcloud_core::http::Method::Post);
        assert_eq!(
            (r.url.scheme, r.url.host, r.url.port, r.url.path),
            (
                iotcloud_core::http::Scheme::Https,
                "iot-api.heclouds.com",
                443,
                "/device/create"
            )
        );
        assert_eq!(r.server, ServerAuth::DefaultRoots);
        assert_eq!(
            r.body,
            br#"{"product_id":"Ck2AF9QD2K","device_name":"test"}"#
        );
        assert_eq!(
            r.headers.as_slice(),
            [
                ("Content-Type", "application/json"),
                ("authorization", expected.as_str())
            ]
        );
    }
}

#[test]
fn the_request_follows_the_settings_and_names_what_stops_it() {
    let o = OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY)
        .unwrap()
        .with_register_url("http://127.0.0.1:8080/device/create")
        .unwrap()
        .with_register_server(ServerAuth::NoVerification)
        .with_register_method(SignMethod::from_name("SHA256").unwrap())
        .with_register_expiry(TimestampPolicy::LuatosDefault);
    // The LuatOS token needs no clock.
    let no_time = RegisterContext::default();
    let mut buf = [0u8; 1024];
    let RegisterRequest::Http(r) = o
        .request(0, &[], &no_time, &mut Scratch::new(&mut buf))
        .unwrap()
    else {
        panic!("OneNET registers over HTTP");
    };
    assert_eq!((r.url.host, r.url.port), ("127.0.0.1", 8080));
    assert_eq!(r.server, ServerAuth::NoVerification);
    assert_eq!(
        r.headers[1].1,
        "version=2022-05-01&res=userid%2F226691&et=2051193600&method=SHA256\
         &sign=B9kBGKNvGydawltWLW8wfF9PNKdU2Ygzxt6foq7AI9Q%3D"
    );
    // The default token needs the time.
    let o = OneNet::registering_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    let mut buf = [0u8; 1024];
    assert_eq!(
        o.request(0, &[], &no_time, &mut Scratch::new(&mut buf))
            .unwrap_err(),
        ProviderError::TimeUnknown
    );
    // Scratch memory too small is an error, not a truncation.
    let ctx = RegisterContext {
        unix_time_ms: Some(1_700_000_000_000),
        random: 3,
    };
    let mut small = [0u8; 64];
    assert!(matches!(
        o.request(0, &[], &ctx, &mut Scratch::new(&mut small)),
        Err(ProviderError::ScratchFull(_))
    ));
    // A configuration that holds its key has nothing to register.
    let plain = OneNet::with_secret(PID, DN, KEY).unwrap();
    let mut buf = [0u8; 1024];
    assert!(matches!(
        plain.request(0, &[], &ctx, &mut Scratch::new(&mut buf)),
        Err(ProviderError::Unsupported(_))
    ));
}

#[test]
fn the_record_must_fit_and_the_answer_comes_over_http() {
    let body = br#"{"code":0,"data":{"sec_key":"KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="}}"#;
    let needed = Fields::len_of(&[b"sec_key", KEY.as_bytes()]);
    let mut record = [0u8; 256];
    assert_eq!(
        register::read_answer(200, body, &mut record).unwrap(),
        needed
    );
    let mut small = [0u8; 20];
    assert!(matches!(
        register::read_answer(200, body, &mut small),
        Err(RegisterError::RecordTooLarge { len, capacity: 20 }) if len == needed
    ));
    let o = OneNet::registering(PID, DN, KEY).unwrap();
    let mut payload = *body;
    let pushed = RegisterAnswer::Mqtt {
        topic: "/device/create",
        payload: &mut payload,
    };
    assert!(matches!(
        o.answer(0, pushed, &mut record, &mut []),
        Err(RegisterError::BadResponse(_))
    ));
}

#[test]
fn long_and_escaped_messages_still_name_the_refusal() {
    // The message's first 64 bytes decide, cut at a character boundary.
    let long = format!(r#"{{"code":10401,"msg":"auth failed{}"}}"#, "!".repeat(500));
    assert!(same(
        &answer(200, &long).unwrap_err(),
        &rejected(Rejection::BadCredentials, "10401")
    ));
    let escaped = format!(
        r#"{{"code":7,"msg":"device \"d1\" already exist{}"}}"#,
        "\\u7cfb".repeat(40)
    );
    assert!(same(
        &answer(200, &escaped).unwrap_err(),
        &rejected(Rejection::AlreadyExists, "7")
    ));
    // A message that is not a string says nothing; the code is still kept.
    assert!(same(
        &answer(200, r#"{"code":5,"msg":{"auth":1}}"#).unwrap_err(),
        &rejected(Rejection::Other, "5")
    ));
}
