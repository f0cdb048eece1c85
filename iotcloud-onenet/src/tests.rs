use std::format;
use std::string::{String, ToString};

use iotcloud_core::provider::TlsChoice;
use iotcloud_core::register::{Fields, Rejection};
use iotcloud_core::transport::ServerAuth;
use iotcloud_testkit::system_subscriptions;

use super::*;

const PID: &str = "Ck2AF9QD2K";
const DN: &str = "test";
const KEY: &str = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";

fn at(unix_secs: Option<u64>) -> SignContext<'static> {
    SignContext {
        unix_time_ms: unix_secs.map(|s| s * 1000 + 789),
        random: 3,
        registered: None,
    }
}

fn sign(o: &OneNet<'_>, ctx: SignContext) -> Result<(String, String, String), ProviderError> {
    let mut buf = [0u8; 512];
    let c = o.sign(&ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        c.client_id.to_string(),
        c.username.unwrap().to_string(),
        c.password.unwrap().to_string(),
    ))
}

/// The token LuatOS would send: expiry 32472115200 and the method spelled as given.
fn luatos_token(o: OneNet<'_>, method: &str) -> String {
    let o = o
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_sign_method(SignMethod::from_name(method).unwrap());
    sign(&o, at(None)).unwrap().2
}

#[test]
fn luatos_vectors_for_every_method() {
    // luatos-iotcloud.md §6, OneNET.
    let o = OneNet::device_key(PID, DN, KEY).unwrap();
    let prefix = "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200";
    for (method, sign) in [
        ("md5", "htDD26UhXtXayMFAWRmNiA%3D%3D"),
        ("sha1", "onzQlILHFFNqIY%2BdOXYM3lthLT8%3D"),
        ("sha256", "6Y4zbk3Sa89tRf9lMxCCE0jG74uEcEuu%2Fnly1pU9ADM%3D"),
    ] {
        assert_eq!(
            luatos_token(o, method),
            format!("{prefix}&method={method}&sign={sign}")
        );
    }
    let (client_id, username, _) = sign(&o, at(Some(1))).unwrap();
    assert_eq!((client_id.as_str(), username.as_str()), (DN, PID));
}

#[test]
fn an_upper_case_method_is_kept_in_the_signed_text_and_the_token() {
    // luatos-iotcloud.md §6, OneNET, method "MD5".
    let o = OneNet::device_key(PID, DN, KEY).unwrap();
    assert_eq!(
        luatos_token(o, "MD5"),
        "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200\
         &method=MD5&sign=y215sMm9evP3NThz5QRsiA%3D%3D"
    );
    // The cloud documents lower case: the constants and the default use it.
    assert_eq!(SignMethod::default().name(), "sha256");
    assert_eq!(SignMethod::MD5.name(), "md5");
    assert_eq!(SignMethod::from_name("Sha1").unwrap().name(), "Sha1");
    assert_eq!(
        SignMethod::from_name("Sha1").unwrap().algorithm(),
        Algorithm::Sha1
    );
}

#[test]
fn version_2022_05_01_is_signed_and_sent() {
    // luatos-iotcloud.md §6, OneNET, sha256 with version 2022-05-01.
    let o = OneNet::device_key(PID, DN, KEY)
        .unwrap()
        .with_version(TokenVersion::from_name("2022-05-01").unwrap());
    assert_eq!(
        luatos_token(o, "sha256"),
        "version=2022-05-01&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200\
         &method=sha256&sign=N41Pmx3YpLyOoc9jtyCFPJX1etO8MxfcCr7xHYw40ws%3D"
    );
    assert!(matches!(
        TokenVersion::from_name("2020-05-29"),
        Err(ProviderError::InvalidValue { key: "version", .. })
    ));
    assert_eq!(TokenVersion::default().as_str(), "2018-10-31");
}

#[test]
fn old_platform_rows_with_a_key_whose_last_character_has_stray_bits() {
    // luatos-iotcloud.md §6, OneNET, old platform: res products/12342334/devices/test. The key
    // `adfasdfadsfadsf=` is not canonical base64 (its last character carries set unused bits);
    // the cloud's SDK and LuatOS ignore those bits, and so does this crate.
    let o = OneNet::device_key("12342334", DN, "adfasdfadsfadsf=").unwrap();
    let prefix = "version=2018-10-31&res=products%2F12342334%2Fdevices%2Ftest&et=32472115200";
    assert_eq!(
        luatos_token(o, "md5"),
        format!("{prefix}&method=md5&sign=wZWDnoyHugla0wMlcl75xg%3D%3D")
    );
    assert_eq!(
        luatos_token(o, "sha1"),
        format!("{prefix}&method=sha1&sign=FHt8BqSNGv0VEJKbHN4zod6a69Q%3D")
    );
}

#[test]
fn product_key_mode_names_the_product_as_the_resource() {
    // luatos-iotcloud.md §6, OneNET, iotcloud product-key mode.
    let o = OneNet::product_key(PID, "869329069169988", KEY).unwrap();
    assert_eq!(o.key_mode(), KeyMode::Product);
    assert_eq!(
        luatos_token(o, "md5"),
        "version=2018-10-31&res=products%2FCk2AF9QD2K&et=32472115200&method=md5\
         &sign=j%2BnMqNQKAZL5WurfUBqw2g%3D%3D"
    );
    let (client_id, username, _) = sign(&o, at(Some(1))).unwrap();
    assert_eq!(
        (client_id.as_str(), username.as_str()),
        ("869329069169988", PID)
    );
}

#[test]
fn by_default_the_expiry_is_the_clock_plus_one_hour_and_sha256_signs() {
    let o = OneNet::device_key(PID, DN, KEY).unwrap();
    let expected = "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=1700003600\
                    &method=sha256&sign=pYClBk%2FTqIDWwimlwa%2FVqOOGjZE1Q4ZB0LmnhZqBQmw%3D";
    assert_eq!(sign(&o, at(Some(1_700_000_000))).unwrap().2, expected);
    assert_eq!(
        sign(&o, at(None)).unwrap_err(),
        ProviderError::TimeUnknown,
        "the default policy needs the time"
    );
    let fixed = o.with_timestamp(TimestampPolicy::Fixed(1_700_003_600));
    assert_eq!(sign(&fixed, at(None)).unwrap().2, expected);
    let day = o.with_validity(86_400).unwrap();
    assert!(
        sign(&day, at(Some(1_700_000_000)))
            .unwrap()
            .2
            .contains("&et=1700086400&")
    );
    assert!(matches!(
        o.with_validity(59),
        Err(ProviderError::InvalidValue {
            key: "validity",
            ..
        })
    ));
}

#[test]
fn the_token_percent_encodes_res_and_sign_but_signs_the_raw_resource() {
    let o = OneNet::device_key(PID, "a b&c=d?e%f", KEY).unwrap();
    assert_eq!(
        sign(&o, at(Some(1_700_000_000))).unwrap().2,
        "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Fa%20b%26c%3Dd%3Fe%25f\
         &et=1700003600&method=sha256&sign=ZNRBUs6I3tK3ln6BPqQpFPtHdEnZ1vZjxWDxxUXwRX8%3D"
    );
}

#[test]
fn keys_are_checked_as_base64_when_configured() {
    assert_eq!(
        OneNet::device_key(PID, DN, "not base64!").unwrap_err(),
        ProviderError::InvalidBase64("device_secret")
    );
    assert_eq!(
        OneNet::product_key(PID, DN, "abc").unwrap_err(),
        ProviderError::InvalidBase64("product_secret")
    );
    assert_eq!(
        OneNet::device_key(PID, DN, "").unwrap_err(),
        ProviderError::MissingKey("device_secret")
    );
    let long = "A".repeat(4 * (MAX_KEY_LEN / 3 + 2));
    assert!(matches!(
        OneNet::device_key(PID, DN, &long),
        Err(ProviderError::InvalidValue {
            key: "device_secret",
            ..
        })
    ));
}

#[test]
fn unknown_methods_and_bad_identifiers_are_refused() {
    for bad in ["hmacmd5", "sha512", "", "SHA-256"] {
        assert!(
            matches!(
                SignMethod::from_name(bad),
                Err(ProviderError::InvalidValue { key: "method", .. })
            ),
            "{bad:?}"
        );
    }
    for bad in ["a/b", "a+", "x#", "a\0b"] {
        assert!(matches!(
            OneNet::device_key(bad, DN, KEY),
            Err(ProviderError::InvalidValue {
                key: "product_id",
                ..
            })
        ));
        assert!(matches!(
            OneNet::device_key(PID, bad, KEY),
            Err(ProviderError::InvalidValue {
                key: "device_name",
                ..
            })
        ));
    }
    assert_eq!(
        OneNet::device_key(PID, "", KEY).unwrap_err(),
        ProviderError::MissingKey("device_name")
    );
    let long = "d".repeat(MAX_ID_LEN + 1);
    assert!(OneNet::device_key(PID, &long, KEY).is_err());
    let o = OneNet::device_key(PID, DN, KEY).unwrap();
    assert!(o.with_keep_alive(9).is_err());
    assert!(o.with_keep_alive(1801).is_err());
    assert_eq!(
        o.with_keep_alive(1800)
            .unwrap()
            .mqtt_options()
            .keep_alive_secs,
        1800
    );
}

#[test]
fn the_longest_identifiers_still_sign() {
    let pid = "p".repeat(MAX_ID_LEN);
    let dn = "d".repeat(MAX_ID_LEN);
    let o = OneNet::device_key(&pid, &dn, KEY).unwrap();
    let (client_id, username, password) = sign(&o, at(Some(1))).unwrap();
    assert_eq!((client_id, username), (dn.clone(), pid.clone()));
    assert!(password.contains(&format!("products%2F{pid}%2Fdevices%2F{dn}&")));
    // A scratch buffer too small is an error, not a truncation.
    let mut small = [0u8; 100];
    assert!(matches!(
        o.sign(&at(Some(1)), &mut Scratch::new(&mut small)),
        Err(ProviderError::ScratchFull(_))
    ));
}

#[test]
fn endpoint_host_follows_the_tls_choice() {
    let o = OneNet::device_key(PID, DN, KEY).unwrap();
    let mut host = [0u8; 256];
    let e = o.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("mqttstls.heclouds.com", 8883));
    assert_eq!(e.tls.unwrap().server, ServerAuth::CaPem(CA_PEM));
    let plain = o.with_overrides(EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    });
    let mut host = [0u8; 256];
    let e = plain.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("mqtts.heclouds.com", 1883, None));
    let web = o.with_overrides(EndpointOverrides {
        tls: TlsChoice::On(ServerAuth::NoVerification),
        ..Default::default()
    });
    let mut host = [0u8; 256];
    let e = web.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("mqttstls.heclouds.com", 8883));
    assert_eq!(e.tls.unwrap().server, ServerAuth::NoVerification);
    let local = o.with_overrides(iotcloud_testkit::local(11883));
    let mut host = [0u8; 256];
    let e = local.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 11883, None));
}

#[test]
fn topics_limits_and_system_subscription() {
    let o = OneNet::device_key(PID, DN, KEY).unwrap();
    assert_eq!(
        format!("{}", o.property_post()),
        "$sys/Ck2AF9QD2K/test/thing/property/post"
    );
    assert_eq!(
        format!("{}", o.property_post_reply()),
        "$sys/Ck2AF9QD2K/test/thing/property/post/reply"
    );
    assert_eq!(
        format!("{}", o.property_set()),
        "$sys/Ck2AF9QD2K/test/thing/property/set"
    );
    assert_eq!(
        format!("{}", o.property_set_reply()),
        "$sys/Ck2AF9QD2K/test/thing/property/set_reply"
    );
    assert_eq!(
        format!("{}", o.property_get_reply()),
        "$sys/Ck2AF9QD2K/test/thing/property/get_reply"
    );
    assert_eq!(
        format!("{}", o.event_post()),
        "$sys/Ck2AF9QD2K/test/thing/event/post"
    );
    assert_eq!(
        format!("{}", o.topic("ota/inform")),
        "$sys/Ck2AF9QD2K/test/ota/inform"
    );
    assert_eq!(
        system_subscriptions(&o),
        [("$sys/Ck2AF9QD2K/test/thing/#".into(), QoS::AtMostOnce)]
    );
    assert_eq!(system_subscriptions(&o.with_thing_subscription(false)), []);
    assert_eq!(o.limits().max_qos, QoS::AtLeastOnce);
    assert_eq!(o.cloud(), "onenet");
}

#[test]
fn the_key_never_appears_in_debug() {
    for o in [
        OneNet::device_key(PID, DN, KEY).unwrap(),
        OneNet::product_key(PID, DN, KEY).unwrap(),
    ] {
        let shown = format!("{o:?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains(o.key_mode().config_key()), "{shown}");
        let mut buf = [0u8; 512];
        let c = o.sign(&at(Some(1)), &mut Scratch::new(&mut buf)).unwrap();
        assert!(!format!("{c:?}").contains(c.password.unwrap()));
    }
}

#[test]
fn the_bundled_root_is_the_onenet_mqtts_ca() {
    let text = core::str::from_utf8(CA_PEM).unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 1);
    assert!(text.trim_end().ends_with("-----END CERTIFICATE-----"));
}

// ---------------------------------------------------------------------------------------
// Dynamic registration.

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
    let o = OneNet::register_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    assert_eq!(o.register_method, SignMethod::SHA256);
    assert_eq!(o.register_expiry, TimestampPolicy::Now);
    assert_eq!(o.register_url.host, "iot-api.heclouds.com");
    assert_eq!(o.register_url.path, "/device/create");
    assert_eq!(o.register_server, ServerAuth::DefaultRoots);
}

#[test]
fn registering_configurations_name_product_and_device_and_their_key() {
    let user = OneNet::register_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    let product = OneNet::register_with_product_key(PID, DN, KEY).unwrap();
    for o in [user, product] {
        assert_eq!(
            o.registration(),
            Some(RegistrationId {
                product: PID,
                device: DN
            })
        );
        assert_eq!(o.key_mode(), KeyMode::Device);
    }
    assert_eq!(user.register_key(), Some(RegisterKey::User));
    assert_eq!(product.register_key(), Some(RegisterKey::Product));
    let plain = OneNet::device_key(PID, DN, KEY).unwrap();
    assert_eq!(plain.registration(), None);
    assert_eq!(plain.register_key(), None);
}

#[test]
fn bad_registration_settings_are_named_errors() {
    assert_eq!(
        OneNet::register_with_user(PID, DN, USER_ID, "not base64!").unwrap_err(),
        ProviderError::InvalidBase64("user_key")
    );
    assert_eq!(
        OneNet::register_with_user(PID, DN, USER_ID, "").unwrap_err(),
        ProviderError::MissingKey("user_key")
    );
    assert_eq!(
        OneNet::register_with_user(PID, DN, "", USER_KEY).unwrap_err(),
        ProviderError::MissingKey("user_id")
    );
    assert_eq!(
        OneNet::register_with_product_key(PID, DN, "abc").unwrap_err(),
        ProviderError::InvalidBase64("product_secret")
    );
    assert!(matches!(
        OneNet::register_with_user(PID, "a/b", USER_ID, USER_KEY),
        Err(ProviderError::InvalidValue {
            key: "device_name",
            ..
        })
    ));
    let o = OneNet::register_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
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
    let o = OneNet::register_with_user(PID, DN, USER_ID, USER_KEY).unwrap();
    let mut record = [0u8; 64];
    let n = Fields::write(&mut record, &[b"sec_key", KEY.as_bytes()]).unwrap();
    let ctx = SignContext {
        registered: Some(&record[..n]),
        ..at(Some(1_700_000_000))
    };
    let same = OneNet::device_key(PID, DN, KEY).unwrap();
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

fn answer(status: u16, body: &str) -> Result<String, RegisterError<()>> {
    let mut unescape = [0u8; 256];
    let parsed = register::parse_answer(body.as_bytes(), &mut unescape);
    register::outcome::<()>(status, parsed.as_ref()).map(str::to_string)
}

fn rejected(reason: Rejection, code: &str) -> RegisterError<()> {
    RegisterError::rejected(reason, code)
}

fn same(a: &RegisterError<()>, b: &RegisterError<()>) -> bool {
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
        OneNet::register_with_user(PID, DN, USER_ID, USER_KEY).unwrap(),
        OneNet::register_with_product_key(PID, DN, KEY).unwrap(),
    ] {
        let shown = format!("{o:?}");
        assert!(!shown.contains(USER_KEY) && !shown.contains(KEY), "{shown}");
        assert!(shown.contains("registration"), "{shown}");
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
fn ota_is_unsupported_and_says_why() {
    let o = OneNet::device_key(PID, DN, KEY).unwrap();
    assert_eq!(o.ota_support(), OtaSupport::Unsupported(OTA_UNSUPPORTED));
    assert!(OTA_UNSUPPORTED.contains("HTTP OTA API"));
    assert!(OTA_UNSUPPORTED.contains("$sys/{pid}/{dn}/ota/inform"));
}
