use std::format;
use std::string::{String, ToString};

use iotcloud_core::ota::OtaSupport;
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::transport::ServerAuth;
use iotcloud_testkit::{ota_subscriptions, system_subscriptions};

use super::*;

const CORE: &str = "abcd123";
const DN: &str = "mydevice";
const SECRET: &str = "ImSeCrEt0I1M2jkl";

const IDENTITY: ClientIdentity<'static> = ClientIdentity {
    cert_pem: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    key_pem: b"-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n",
};

fn at(unix_secs: Option<u64>) -> SignContext<'static> {
    SignContext {
        unix_time_ms: unix_secs.map(|s| s * 1000 + 321),
        random: 11,
        registered: None,
    }
}

fn sign(
    b: &Baidu<'_>,
    ctx: SignContext,
) -> Result<(String, Option<String>, Option<String>), ProviderError> {
    let mut buf = [0u8; 512];
    let c = b.sign(&ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        c.client_id.to_string(),
        c.username.map(str::to_string),
        c.password.map(str::to_string),
    ))
}

fn user_and_password(b: &Baidu<'_>, ctx: SignContext) -> (String, String) {
    let (_, username, password) = sign(b, ctx).unwrap();
    (username.unwrap(), password.unwrap())
}

fn luatos(method: SignMethod) -> Baidu<'static> {
    Baidu::with_secret(CORE, DN, SECRET)
        .unwrap()
        .with_sign_method(method)
        .with_client_id(ClientId::CoreId)
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
}

#[test]
fn luatos_vectors_without_a_timestamp() {
    // luatos-iotcloud.md §6, Baidu, ts 0: no timestamp field, `&0&` in the hashed text.
    let md5 = luatos(SignMethod::Md5);
    let (client_id, username, password) = sign(&md5, at(None)).unwrap();
    assert_eq!(client_id, "abcd123");
    assert_eq!(username.unwrap(), "thingidp@abcd123|mydevice|MD5");
    assert_eq!(password.unwrap(), "22bc75231495220c7a2202fe15f7d286");
    let sha = luatos(SignMethod::Sha256);
    assert_eq!(
        user_and_password(&sha, at(None)),
        (
            "thingidp@abcd123|mydevice|SHA256".to_string(),
            "8b84e00accf874b07c1ac586830d211386294df1d2303d40d19c007c0e937af5".to_string()
        )
    );
    // `Fixed(0)` is the same ts-less form.
    let zero = md5.with_timestamp(TimestampPolicy::Fixed(0));
    assert_eq!(
        user_and_password(&zero, at(Some(1_700_000_000))).1,
        "22bc75231495220c7a2202fe15f7d286"
    );
}

#[test]
fn luatos_vectors_with_a_timestamp_are_what_the_clock_signs_by_default() {
    // luatos-iotcloud.md §6, Baidu, ts 1700000000.
    let md5 = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    assert_eq!(
        user_and_password(&md5, at(Some(1_700_000_000))),
        (
            "thingidp@abcd123|mydevice|1700000000|MD5".to_string(),
            "c7aa0f9bd88fb5ba4857abc4868921e0".to_string()
        )
    );
    let sha = md5.clone().with_sign_method(SignMethod::Sha256);
    assert_eq!(
        user_and_password(&sha, at(Some(1_700_000_000))),
        (
            "thingidp@abcd123|mydevice|1700000000|SHA256".to_string(),
            "4b4923db7522a0fe7a50a26003ba4a7647f627921828127e169073b9eafe5a2e".to_string()
        )
    );
    let fixed = sha.with_timestamp(TimestampPolicy::Fixed(1_700_000_000));
    assert_eq!(
        user_and_password(&fixed, at(None)).1,
        "4b4923db7522a0fe7a50a26003ba4a7647f627921828127e169073b9eafe5a2e"
    );
}

#[test]
fn the_documented_example() {
    // clouds-official.md §0.2: MD5("mydevice&1583826857&MD5ImSeCrEt0I1M2jkl").
    let b = Baidu::with_secret(CORE, DN, SECRET)
        .unwrap()
        .with_timestamp(TimestampPolicy::Fixed(1_583_826_857));
    assert_eq!(
        user_and_password(&b, at(None)),
        (
            "thingidp@abcd123|mydevice|1583826857|MD5".to_string(),
            "7f0e63d2c6e122100edde19e34e7df5b".to_string()
        )
    );
}

#[test]
fn the_strict_policy_needs_the_time() {
    let b = Baidu::with_secret(CORE, DN, SECRET)
        .unwrap()
        .with_timestamp(TimestampPolicy::Now);
    assert_eq!(sign(&b, at(None)).unwrap_err(), ProviderError::TimeUnknown);
    assert_eq!(
        sign(&b, at(Some(1_700_000_000))).unwrap(),
        sign(
            &Baidu::with_secret(CORE, DN, SECRET).unwrap(),
            at(Some(1_700_000_000))
        )
        .unwrap(),
        "the default signs a known time exactly as Now"
    );
    // A certificate needs no time.
    let cert = Baidu::with_certificate(CORE, DN, IDENTITY).unwrap();
    assert!(sign(&cert, at(None)).is_ok());
}

#[test]
fn by_default_an_unknown_time_sends_no_timestamp() {
    // The ts-less form: no timestamp field, `&0&` in the hashed text (clouds-official.md
    // §0.2, "Baidu (timestamp 0)"), with the device name as the client id.
    let md5 = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    assert_eq!(
        sign(&md5, at(None)).unwrap(),
        (
            "mydevice".to_string(),
            Some("thingidp@abcd123|mydevice|MD5".to_string()),
            Some("22bc75231495220c7a2202fe15f7d286".to_string())
        )
    );
    let sha = md5.with_sign_method(SignMethod::Sha256);
    assert_eq!(
        user_and_password(&sha, at(None)),
        (
            "thingidp@abcd123|mydevice|SHA256".to_string(),
            "8b84e00accf874b07c1ac586830d211386294df1d2303d40d19c007c0e937af5".to_string()
        )
    );
}

#[test]
fn methods_parse_in_any_case_and_are_written_in_upper_case() {
    assert_eq!(SignMethod::from_name("md5").unwrap(), SignMethod::Md5);
    assert_eq!(SignMethod::from_name("Sha256").unwrap(), SignMethod::Sha256);
    assert_eq!(SignMethod::from_name("SHA256").unwrap().field(), "SHA256");
    for bad in ["sha1", "hmacmd5", "", "SHA-256"] {
        assert!(
            matches!(
                SignMethod::from_name(bad),
                Err(ProviderError::InvalidValue { key: "method", .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn the_client_id_is_the_device_name_unless_asked() {
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    assert_eq!(sign(&b, at(Some(1))).unwrap().0, DN);
    let core = b.clone().with_client_id(ClientId::CoreId).unwrap();
    assert_eq!(sign(&core, at(Some(1))).unwrap().0, CORE);
    let custom = b
        .clone()
        .with_client_id(ClientId::Custom("unit_7-a"))
        .unwrap();
    assert_eq!(sign(&custom, at(Some(1))).unwrap().0, "unit_7-a");
    for bad in ["has space", "dot.ted", ""] {
        assert!(
            b.clone().with_client_id(ClientId::Custom(bad)).is_err(),
            "{bad:?}"
        );
    }
    assert!(
        b.clone()
            .with_client_id(ClientId::Custom(&"c".repeat(MAX_CLIENT_ID_LEN + 1)))
            .is_err()
    );
    // A device name outside the client-id alphabet must be paired with another client id.
    let dotted = Baidu::with_secret(CORE, "dev.01", SECRET).unwrap();
    assert!(matches!(
        sign(&dotted, at(Some(1))),
        Err(ProviderError::InvalidValue {
            key: "client_id",
            ..
        })
    ));
    let dotted = dotted.with_client_id(ClientId::Custom("dev-01")).unwrap();
    assert_eq!(sign(&dotted, at(Some(1))).unwrap().0, "dev-01");
}

#[test]
fn certificate_mode_sends_no_user_name_or_password_and_needs_tls() {
    let b = Baidu::with_certificate(CORE, DN, IDENTITY).unwrap();
    assert_eq!(sign(&b, at(Some(1))).unwrap(), (DN.to_string(), None, None));
    let mut host = [0u8; 256];
    let e = b.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("abcd123.iot.gz.baidubce.com", 1884));
    let tls = e.tls.unwrap();
    assert_eq!(tls.server, ServerAuth::CaPem(CA_PEM));
    assert_eq!(tls.client, Some(IDENTITY));
    let plain = b.clone().with_overrides(EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    });
    assert!(matches!(
        plain.endpoint(&mut Scratch::new(&mut [0u8; 256])),
        Err(ProviderError::InvalidValue { key: "tls", .. })
    ));
    // LuatOS's certificate mode: an empty client id.
    let luatos = b.with_client_id(ClientId::Empty).unwrap();
    assert_eq!(
        sign(&luatos, at(None)).unwrap(),
        (String::new(), None, None)
    );
    assert_eq!(
        Baidu::with_certificate(
            CORE,
            DN,
            ClientIdentity {
                cert_pem: b"",
                ..IDENTITY
            }
        )
        .unwrap_err(),
        ProviderError::MissingKey("client_cert")
    );
    assert_eq!(
        Baidu::with_certificate(
            CORE,
            DN,
            ClientIdentity {
                key_pem: b"",
                ..IDENTITY
            }
        )
        .unwrap_err(),
        ProviderError::MissingKey("client_key")
    );
}

#[test]
fn key_mode_endpoint_is_tls_on_1884_unless_plain_is_asked_for() {
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    let mut host = [0u8; 256];
    let e = b.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("abcd123.iot.gz.baidubce.com", 1884));
    let tls = e.tls.unwrap();
    assert_eq!((tls.server, tls.client), (ServerAuth::CaPem(CA_PEM), None));
    let bj = b
        .clone()
        .with_region(Region::from_name("bj").unwrap())
        .unwrap()
        .with_overrides(EndpointOverrides {
            tls: TlsChoice::Off,
            ..Default::default()
        });
    let mut host = [0u8; 256];
    let e = bj.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port, e.tls),
        ("abcd123.iot.bj.baidubce.com", 1883, None)
    );
    let local = b.with_overrides(iotcloud_testkit::local(11883));
    let mut host = [0u8; 256];
    let e = local.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 11883, None));
    assert!(matches!(
        Region::from_name("sh"),
        Err(ProviderError::InvalidValue { key: "region", .. })
    ));
}

#[test]
fn bad_configuration_names_the_key() {
    assert_eq!(
        Baidu::with_secret(CORE, DN, "").unwrap_err(),
        ProviderError::MissingKey("device_secret")
    );
    assert_eq!(
        Baidu::with_secret("", DN, SECRET).unwrap_err(),
        ProviderError::MissingKey("product_id")
    );
    assert_eq!(
        Baidu::with_secret(CORE, "", SECRET).unwrap_err(),
        ProviderError::MissingKey("device_name")
    );
    for bad in ["a.b", "a b", "a_b", "a/b"] {
        assert!(
            matches!(
                Baidu::with_secret(bad, DN, SECRET),
                Err(ProviderError::InvalidValue {
                    key: "product_id",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert!(Baidu::with_secret(&"c".repeat(MAX_CORE_ID_LEN + 1), DN, SECRET).is_err());
    for bad in ["a/b", "a+", "x#", "a\0b", "a|b"] {
        assert!(
            matches!(
                Baidu::with_secret(CORE, bad, SECRET),
                Err(ProviderError::InvalidValue {
                    key: "device_name",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert!(Baidu::with_secret(CORE, &"d".repeat(MAX_DEVICE_NAME_LEN + 1), SECRET).is_err());
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    assert!(b.clone().with_keep_alive(29).is_err());
    assert!(b.clone().with_keep_alive(1201).is_err());
    assert_eq!(b.mqtt_options().keep_alive_secs, 300);
    assert_eq!(
        b.with_keep_alive(30)
            .unwrap()
            .mqtt_options()
            .keep_alive_secs,
        30
    );
}

#[test]
fn the_will_is_checked_against_the_cloud_limits() {
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    assert_eq!(b.will(), None);
    let with = b
        .clone()
        .with_will("$iot/mydevice/events", b"offline", QoS::AtLeastOnce)
        .unwrap();
    let will = with.will().unwrap();
    assert_eq!(
        (will.topic.as_str(), will.payload, will.qos, will.retain),
        (
            "$iot/mydevice/events",
            &b"offline"[..],
            QoS::AtLeastOnce,
            false
        )
    );
    let err = |topic: &str, payload: &[u8], qos| match b.clone().with_will(topic, payload, qos) {
        Err(ProviderError::InvalidValue { key, .. }) => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(err("a/+", b"", QoS::AtMostOnce), "will_topic");
    assert_eq!(err("", b"", QoS::AtMostOnce), "will_topic");
    assert_eq!(err(&"t".repeat(256), b"", QoS::AtMostOnce), "will_topic");
    assert_eq!(err(&"a/".repeat(16), b"", QoS::AtMostOnce), "will_topic");
    assert_eq!(err("a/b", b"", QoS::ExactlyOnce), "will_qos");
    assert_eq!(
        err("a/b", &[0u8; MAX_PAYLOAD_LEN + 1], QoS::AtMostOnce),
        "will_payload"
    );
    // Sixteen levels are allowed.
    let sixteen = format!("{}z", "a/".repeat(15));
    assert!(b.with_will(&sixteen, b"", QoS::AtMostOnce).is_ok());
}

#[test]
fn topics_and_limits() {
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    assert_eq!(format!("{}", b.events()), "$iot/mydevice/events");
    assert_eq!(format!("{}", b.msg()), "$iot/mydevice/msg");
    assert_eq!(
        format!("{}", b.user_topic("fortest")),
        "$iot/mydevice/user/fortest"
    );
    assert_eq!(format!("{}", b.shadow_get()), "$iot/mydevice/shadow/get");
    assert_eq!(
        format!("{}", b.shadow_get_reply()),
        "$iot/mydevice/shadow/get/reply"
    );
    assert_eq!(
        format!("{}", b.shadow_update_reported()),
        "$iot/mydevice/shadow/update/reported"
    );
    assert_eq!(
        format!("{}", b.shadow_update_reported_reply()),
        "$iot/mydevice/shadow/update/reported/reply"
    );
    assert_eq!(
        format!("{}", b.shadow_update_desired()),
        "$iot/mydevice/shadow/update/desired"
    );
    assert_eq!(
        format!("{}", b.shadow_update_desired_reply()),
        "$iot/mydevice/shadow/update/desired/reply"
    );
    assert_eq!(
        format!("{}", b.shadow_delta_desired()),
        "$iot/mydevice/shadow/delta/desired"
    );
    assert_eq!(
        format!("{}", b.shadow_delta_reported()),
        "$iot/mydevice/shadow/delta/reported"
    );
    let limits = b.limits();
    assert_eq!(
        (limits.max_qos, limits.max_topic_len, limits.max_payload_len),
        (QoS::AtLeastOnce, 255, 32_768)
    );
    assert_eq!(system_subscriptions(&b), []);
    assert_eq!(b.cloud(), "baidu");
}

#[test]
fn secrets_never_appear_in_debug() {
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    let shown = format!("{b:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    let mut buf = [0u8; 512];
    let c = b.sign(&at(Some(1)), &mut Scratch::new(&mut buf)).unwrap();
    assert!(!format!("{c:?}").contains(c.password.unwrap()));
    let cert = Baidu::with_certificate(CORE, DN, IDENTITY).unwrap();
    let mut host = [0u8; 256];
    let shown = format!(
        "{cert:?} {:?}",
        cert.endpoint(&mut Scratch::new(&mut host)).unwrap()
    );
    assert!(!shown.contains("SECRETKEY"), "{shown}");
}

#[test]
fn a_small_scratch_buffer_is_an_error() {
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    let mut small = [0u8; 40];
    assert!(matches!(
        b.sign(&at(Some(1)), &mut Scratch::new(&mut small)),
        Err(ProviderError::ScratchFull(_))
    ));
}

#[test]
fn the_bundled_root_is_globalsign_r3() {
    let text = core::str::from_utf8(CA_PEM).unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 1);
    assert!(text.trim_end().ends_with("-----END CERTIFICATE-----"));
}

#[test]
fn ota_is_unsupported_and_says_why() {
    let b = Baidu::with_secret(CORE, DN, SECRET).unwrap();
    assert_eq!(b.ota().unwrap_err(), OTA_UNSUPPORTED);
    assert_eq!(b.ota_support(), OtaSupport::Unsupported(OTA_UNSUPPORTED));
    assert!(OTA_UNSUPPORTED.contains("no device OTA"));
    // No data model either, said by name.
    assert_eq!(Provider::data(&b).unwrap_err(), DATA_UNSUPPORTED);
    assert!(DATA_UNSUPPORTED.contains("no thing model"));
    assert_eq!(ota_subscriptions(&b), []);
    assert!(b.registration().is_none());
}
