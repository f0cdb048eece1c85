use std::format;
use std::string::{String, ToString};

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::transport::ServerAuth;
use iotcloud_testkit::{ota_subscriptions, system_subscriptions};

use super::*;

// luatos-iotcloud.md §6, Aliyun.
const PK: &str = "123456789";
const DN: &str = "abcdefg";
const DS: &str = "Y877Bgo8X5owd3lcB5wWDjryNPoB";

fn at(unix_ms: Option<u64>) -> SignContext<'static> {
    SignContext {
        unix_time_ms: unix_ms,
        random: 7,
        registered: None,
    }
}

fn device() -> Aliyun<'static> {
    Aliyun::with_secret(PK, DN, DS).unwrap()
}

/// LuatOS's connection: plain TCP on 1883.
fn plain(a: Aliyun<'static>) -> Aliyun<'static> {
    a.with_overrides(EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    })
}

fn sign(a: &Aliyun<'_>, ctx: SignContext) -> Result<(String, String, String), ProviderError> {
    let mut buf = [0u8; 512];
    let c = a.sign(&ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        c.client_id.to_string(),
        c.username.unwrap().to_string(),
        c.password.unwrap().to_string(),
    ))
}

#[test]
fn luatos_vectors_with_the_far_future_timestamp_over_plain_tcp() {
    for (method, password) in [
        ("hmacmd5", "16CB9B20009795D576E9172CDC820646"),
        ("hmacsha1", "4E5358D2C33CA163BDA58EC994B9E312712230C7"),
        (
            "hmacsha256",
            "2842DC9F2FBA19C671DD3F4D24590D41F91C25FD9BC4E5101951BEA88B7DEACD",
        ),
    ] {
        let a = plain(device())
            .with_sign_method(SignMethod::from_name(method).unwrap())
            .with_timestamp(TimestampPolicy::LuatosDefault);
        let got = sign(&a, at(None)).unwrap();
        assert_eq!(
            got,
            (
                format!(
                    "123456789.abcdefg|securemode=3,signmethod={method},timestamp=32472115200|"
                ),
                "abcdefg&123456789".to_string(),
                password.to_string()
            )
        );
    }
}

#[test]
fn luatos_vectors_with_a_fixed_timestamp_and_with_tls() {
    let md5 = plain(device())
        .with_sign_method(SignMethod::HmacMd5)
        .with_timestamp(TimestampPolicy::Fixed(1_700_000_000));
    assert_eq!(
        sign(&md5, at(None)).unwrap(),
        (
            "123456789.abcdefg|securemode=3,signmethod=hmacmd5,timestamp=1700000000|".to_string(),
            "abcdefg&123456789".to_string(),
            "21FAD88809E6E674A0BC8D43D6FD1889".to_string()
        )
    );
    // The TLS row: the default endpoint is TLS, so securemode is 2; the password does not
    // change (securemode is not signed).
    let tls = device()
        .with_sign_method(SignMethod::HmacSha1)
        .with_timestamp(TimestampPolicy::Fixed(1_700_000_000));
    assert!(
        tls.endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap()
            .tls
            .is_some()
    );
    assert_eq!(
        sign(&tls, at(None)).unwrap(),
        (
            "123456789.abcdefg|securemode=2,signmethod=hmacsha1,timestamp=1700000000|".to_string(),
            "abcdefg&123456789".to_string(),
            "501B3E054A929A0158D8E34826A224C1B9E967E3".to_string()
        )
    );
}

#[test]
fn method_names_are_matched_in_any_case_and_written_in_lower_case() {
    for name in ["HMACSHA1", "HmacSha1", "hmacSHA1"] {
        let a = plain(device())
            .with_sign_method(SignMethod::from_name(name).unwrap())
            .with_timestamp(TimestampPolicy::LuatosDefault);
        let (client_id, _, password) = sign(&a, at(None)).unwrap();
        assert!(client_id.contains(",signmethod=hmacsha1,"), "{client_id}");
        assert_eq!(password, "4E5358D2C33CA163BDA58EC994B9E312712230C7");
    }
    assert_eq!(SignMethod::default(), SignMethod::HmacSha256);
}

#[test]
fn unknown_methods_are_refused_naming_method() {
    for bad in ["", "md5", "sha256", "hmacsha512", "hmac-sha1"] {
        assert_eq!(
            SignMethod::from_name(bad),
            Err(ProviderError::InvalidValue {
                key: "method",
                reason: "Aliyun accepts hmacmd5, hmacsha1 or hmacsha256",
            }),
            "{bad:?}"
        );
    }
}

#[test]
fn the_documented_example_signs_as_the_documentation_shows() {
    // clouds-official.md §0.2: clientId 12345, deviceName device, productKey pk,
    // timestamp 789, hmacsha1, secret "secret", over TCP.
    let a = Aliyun::with_secret("pk", "device", "secret")
        .unwrap()
        .with_client_id("12345")
        .unwrap()
        .with_sign_method(SignMethod::HmacSha1)
        .with_timestamp(TimestampPolicy::Fixed(789));
    assert_eq!(
        sign(&plain(a), at(None)).unwrap(),
        (
            "12345|securemode=3,signmethod=hmacsha1,timestamp=789|".to_string(),
            "device&pk".to_string(),
            "FAFD82A3D602B37FB0FA8B7892F24A477F851A14".to_string()
        )
    );
}

#[test]
fn by_default_the_clock_is_signed_in_milliseconds_with_hmac_sha256_over_tls() {
    let (client_id, username, password) = sign(&device(), at(Some(1_700_000_000_456))).unwrap();
    assert_eq!(
        client_id,
        "123456789.abcdefg|securemode=2,signmethod=hmacsha256,timestamp=1700000000456|"
    );
    assert_eq!(username, "abcdefg&123456789");
    // HMAC-SHA256(ds, "clientId123456789.abcdefgdeviceNameabcdefgproductKey123456789
    // timestamp1700000000456"), computed independently.
    assert_eq!(
        password,
        "CCE026D58E1DE4FF112E30A5CBE36C0DBE599925DD9063B43F47587E5B4BCEE6"
    );
    assert_eq!(device().mqtt_options().keep_alive_secs, 300);
}

#[test]
fn an_unknown_time_fails_with_policy_now_but_not_without_a_timestamp() {
    let strict = device().with_timestamp(TimestampPolicy::Now);
    assert_eq!(
        sign(&strict, at(None)).unwrap_err(),
        ProviderError::TimeUnknown
    );
    let untimed = device().without_timestamp();
    let (client_id, _, password) = sign(&untimed, at(None)).unwrap();
    assert_eq!(
        client_id,
        "123456789.abcdefg|securemode=2,signmethod=hmacsha256|"
    );
    // The timestamp pair is left out of the signed content too (computed independently).
    assert_eq!(
        password,
        "9225F53C25E70DF33AA0AF3A38736399B8AE9E5C5B3A41E572DC9DF6B9C05010"
    );
    let fixed = device().with_timestamp(TimestampPolicy::Fixed(1_700_000_000_456));
    assert_eq!(
        sign(&fixed, at(None)).unwrap(),
        sign(&device(), at(Some(1_700_000_000_456))).unwrap()
    );
}

#[test]
fn by_default_an_unknown_time_signs_without_a_timestamp() {
    assert_eq!(
        sign(&device(), at(None)).unwrap(),
        (
            "123456789.abcdefg|securemode=2,signmethod=hmacsha256|".to_string(),
            "abcdefg&123456789".to_string(),
            // HMAC-SHA256(ds, "clientId123456789.abcdefgdeviceNameabcdefgproductKey
            // 123456789"), computed independently: no timestamp pair.
            "9225F53C25E70DF33AA0AF3A38736399B8AE9E5C5B3A41E572DC9DF6B9C05010".to_string()
        )
    );
    // A known time signs exactly as the strict policy does.
    let known = at(Some(1_700_000_000_456));
    assert_eq!(
        sign(&device(), known).unwrap(),
        sign(
            &device().with_timestamp(TimestampPolicy::Now),
            at(Some(1_700_000_000_456))
        )
        .unwrap()
    );
    // Over plain TCP with another method, the clockless form only drops the timestamp.
    let md5 = plain(device()).with_sign_method(SignMethod::HmacMd5);
    let (client_id, _, password) = sign(&md5, at(None)).unwrap();
    assert_eq!(
        client_id,
        "123456789.abcdefg|securemode=3,signmethod=hmacmd5|"
    );
    // HMAC-MD5 of the same content, computed independently.
    assert_eq!(password, "C2C1509EB22E9ADC57DF7A24A9FE8DF9");
}

#[test]
fn the_device_token_mode_logs_in_with_the_registration_result() {
    let cfg = Aliyun::with_token(
        "a1B2c3D4e5f",
        "869329069169988",
        "a1B2c3D4e5f.869329069169988",
        "0c3c1d1a9b6e4e3f8a2d7b5c6e1f0a9b",
    )
    .unwrap();
    let a = cfg.clone();
    // No clock needed, securemode -2 whatever the transport.
    for a in [a.clone(), plain(a)] {
        assert_eq!(
            sign(&a, at(None)).unwrap(),
            (
                "a1B2c3D4e5f.869329069169988|securemode=-2,authType=connwl|".to_string(),
                "869329069169988&a1B2c3D4e5f".to_string(),
                "0c3c1d1a9b6e4e3f8a2d7b5c6e1f0a9b".to_string()
            )
        );
    }
    assert!(matches!(
        cfg.with_client_id("other"),
        Err(ProviderError::InvalidValue {
            key: "client_id",
            ..
        })
    ));
}

#[test]
fn a_missing_key_is_named() {
    let cases = [
        (Aliyun::with_secret(PK, DN, ""), "device_secret"),
        (Aliyun::with_secret("", DN, DS), "product_id"),
        (Aliyun::with_secret(PK, "", DS), "device_name"),
        (Aliyun::with_token(PK, DN, "", "token"), "client_id"),
        (Aliyun::with_token(PK, DN, "cid", ""), "device_token"),
    ];
    for (result, key) in cases {
        assert_eq!(result.unwrap_err(), ProviderError::MissingKey(key));
    }
    assert_eq!(
        device().with_region("").unwrap_err(),
        ProviderError::MissingKey("region")
    );
    assert_eq!(
        device().with_instance_id("").unwrap_err(),
        ProviderError::MissingKey("instance_id")
    );
}

#[test]
fn identifiers_that_would_break_topics_or_fields_are_refused() {
    let invalid = |r: Result<Aliyun<'_>, ProviderError>, key: &str| matches!(r, Err(ProviderError::InvalidValue { key: k, .. }) if k == key);
    for bad in ["a/b", "a+", "x#", "a\0b", "a|b", "a,b", "a&b"] {
        assert!(
            invalid(Aliyun::with_secret(bad, DN, DS), "product_id"),
            "{bad:?}"
        );
        assert!(
            invalid(Aliyun::with_secret(PK, bad, DS), "device_name"),
            "{bad:?}"
        );
    }
    for bad in ["a/b", "a+", "x#", "a\0b", "a|b"] {
        assert!(invalid(Aliyun::with_token(PK, DN, bad, "t"), "client_id"));
        assert!(matches!(
            device().with_client_id(bad),
            Err(ProviderError::InvalidValue {
                key: "client_id",
                ..
            })
        ));
    }
    let pk = "p".repeat(MAX_PRODUCT_KEY_LEN);
    let dn = "d".repeat(MAX_DEVICE_NAME_LEN);
    assert!(Aliyun::with_secret(&pk, &dn, DS).is_ok());
    let long_pk = "p".repeat(MAX_PRODUCT_KEY_LEN + 1);
    let long_dn = "d".repeat(MAX_DEVICE_NAME_LEN + 1);
    let long_id = "c".repeat(MAX_CLIENT_ID_LEN + 1);
    let long_secret = "s".repeat(MAX_SECRET_LEN + 1);
    assert!(invalid(Aliyun::with_secret(&long_pk, DN, DS), "product_id"));
    assert!(invalid(
        Aliyun::with_secret(PK, &long_dn, DS),
        "device_name"
    ));
    assert!(invalid(
        Aliyun::with_secret(PK, DN, &long_secret),
        "device_secret"
    ));
    assert!(invalid(
        Aliyun::with_token(PK, DN, &long_id, "t"),
        "client_id"
    ));
    assert!(invalid(
        Aliyun::with_token(PK, DN, "cid", &long_secret),
        "device_token"
    ));
    assert!(device().with_client_id(&long_id).is_err());
    for bad in ["cn_shanghai", "cn.shanghai", "a/b", "x#"] {
        assert!(matches!(
            device().with_region(bad),
            Err(ProviderError::InvalidValue { key: "region", .. })
        ));
        assert!(matches!(
            device().with_instance_id(bad),
            Err(ProviderError::InvalidValue {
                key: "instance_id",
                ..
            })
        ));
    }
    assert!(device().with_region(&"r".repeat(64)).is_err());
}

#[test]
fn keep_alive_outside_30_to_1200_seconds_is_refused() {
    for bad in [0, 29, 1201, u16::MAX] {
        assert_eq!(
            device().with_keep_alive(bad).unwrap_err(),
            ProviderError::InvalidValue {
                key: "keepalive",
                reason: "Aliyun accepts 30 to 1200 seconds",
            }
        );
    }
    for good in [30, 240, 1200] {
        let a = device().with_keep_alive(good).unwrap();
        assert_eq!(
            a.mqtt_options(),
            MqttOptions {
                keep_alive_secs: good,
                clean_session: true
            }
        );
    }
}

#[test]
fn the_host_name_is_built_into_lent_memory_and_refused_if_it_does_not_fit() {
    let a = device();
    let host = "123456789.iot-as-mqtt.cn-shanghai.aliyuncs.com";
    let mut exact = std::vec![0u8; host.len()];
    assert_eq!(
        a.endpoint(&mut Scratch::new(&mut exact)).unwrap().host,
        host
    );
    let mut short = std::vec![0u8; host.len() - 1];
    assert!(matches!(
        a.endpoint(&mut Scratch::new(&mut short)),
        Err(ProviderError::ScratchFull(_))
    ));
    // A host override needs no memory at all.
    let local = device().with_overrides(EndpointOverrides {
        host: Some("127.0.0.1"),
        ..EndpointOverrides::default()
    });
    assert_eq!(
        local.endpoint(&mut Scratch::new(&mut [])).unwrap().host,
        "127.0.0.1"
    );
}

#[test]
fn endpoint_is_tls_on_8883_to_the_instance_unless_overridden() {
    let a = device();
    let mut host = [0u8; 256];
    let e = a.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port),
        ("123456789.iot-as-mqtt.cn-shanghai.aliyuncs.com", 8883)
    );
    assert_eq!(e.tls.unwrap().server, ServerAuth::CaPem(CA_PEM));

    let sg = device().with_region("ap-southeast-1").unwrap();
    assert_eq!(
        sg.instance(),
        Instance::Public {
            region: "ap-southeast-1"
        }
    );
    assert_eq!(
        sg.endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap()
            .host,
        "123456789.iot-as-mqtt.ap-southeast-1.aliyuncs.com"
    );
    let enterprise = device().with_instance_id("iot-06z00ax1o4cfwo7").unwrap();
    assert_eq!(
        enterprise
            .endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap()
            .host,
        "iot-06z00ax1o4cfwo7.mqtt.iothub.aliyuncs.com"
    );

    // Plain TCP only when asked for: port 1883, securemode 3.
    let a = plain(device());
    let mut host = [0u8; 256];
    let e = a.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.port, e.tls), (1883, None));

    // Port 1883 with TLS (GlobalSign R1, in the bundle) keeps securemode 2.
    let tls_1883 = device()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(EndpointOverrides {
            port: Some(1883),
            ..Default::default()
        });
    let mut host = [0u8; 256];
    let e = tls_1883.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.port, e.tls.unwrap().server),
        (1883, ServerAuth::CaPem(CA_PEM))
    );
    assert!(
        sign(&tls_1883, at(None))
            .unwrap()
            .0
            .contains("|securemode=2,")
    );

    // LuatOS's "TLS without verification" is still TLS.
    let unverified = device()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(EndpointOverrides {
            tls: TlsChoice::On(ServerAuth::NoVerification),
            ..Default::default()
        });
    assert!(
        sign(&unverified, at(None))
            .unwrap()
            .0
            .contains("|securemode=2,")
    );

    let local = device().with_overrides(iotcloud_testkit::local(11883));
    let mut host = [0u8; 256];
    let e = local.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 11883, None));
}

#[test]
fn topics() {
    let a = device();
    let t = |p: TopicPath<'_>| format!("{p}");
    assert_eq!(t(a.user_update()), "/123456789/abcdefg/user/update");
    assert_eq!(t(a.user_get()), "/123456789/abcdefg/user/get");
    assert_eq!(
        t(a.user_topic("data/temp")),
        "/123456789/abcdefg/user/data/temp"
    );
    assert_eq!(
        t(a.property_post()),
        "/sys/123456789/abcdefg/thing/event/property/post"
    );
    assert_eq!(
        t(a.property_post_reply()),
        "/sys/123456789/abcdefg/thing/event/property/post_reply"
    );
    assert_eq!(
        t(a.property_set()),
        "/sys/123456789/abcdefg/thing/service/property/set"
    );
    assert_eq!(
        t(a.property_set_reply()),
        "/sys/123456789/abcdefg/thing/service/property/set_reply"
    );
    assert_eq!(t(a.ntp_request()), "/ext/ntp/123456789/abcdefg/request");
    assert_eq!(t(a.ntp_response()), "/ext/ntp/123456789/abcdefg/response");
    assert_eq!(a.limits().max_qos, QoS::AtLeastOnce);
    // Nothing of its own; with OTA on, the OTA notice and the reply to pending-job requests,
    // as LuatOS subscribes the first, and the file download's reply.
    assert_eq!(system_subscriptions(&a), []);
    assert_eq!(
        ota_subscriptions(&a),
        [
            (
                "/ota/device/upgrade/123456789/abcdefg".into(),
                QoS::AtLeastOnce
            ),
            (
                "/sys/123456789/abcdefg/thing/ota/firmware/get_reply".into(),
                QoS::AtLeastOnce
            ),
            (
                "/sys/123456789/abcdefg/thing/file/download_reply".into(),
                QoS::AtMostOnce
            )
        ]
    );
}

#[test]
fn a_small_scratch_is_an_error_not_a_panic() {
    let a = device();
    let (c, u, p) = sign(&a, at(Some(1))).unwrap();
    let needed = c.len() + u.len() + p.len();
    for len in 0..needed {
        let mut buf = std::vec![0u8; len];
        let r = a.sign(&at(Some(1)), &mut Scratch::new(&mut buf));
        assert!(matches!(r, Err(ProviderError::ScratchFull(_))), "{len}");
    }
    let mut buf = std::vec![0u8; needed];
    assert!(a.sign(&at(Some(1)), &mut Scratch::new(&mut buf)).is_ok());
}

#[test]
fn secrets_never_appear_in_debug() {
    let a = device();
    let shown = format!("{a:?}");
    assert!(!shown.contains(DS), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let token = "0c3c1d1a9b6e4e3f8a2d7b5c6e1f0a9b";
    let t = Aliyun::with_token(PK, DN, "cid", token).unwrap();
    assert!(!format!("{t:?}").contains(token));
    let mut buf = [0u8; 512];
    let c = a.sign(&at(Some(1)), &mut Scratch::new(&mut buf)).unwrap();
    assert!(!format!("{c:?}").contains(c.password.unwrap()));
}

#[test]
fn the_bundled_roots_are_the_two_certificates_unchanged() {
    let text = core::str::from_utf8(CA_PEM).unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let aliyun: &[u8] = include_bytes!("../certs/aliyun-iot-root-ca.pem");
    let globalsign: &[u8] = include_bytes!("../certs/globalsign-root-ca-r1.pem");
    assert_eq!(CA_PEM, [aliyun, globalsign].concat());
}

/// The HTTPS registration's host: the region of the public instance, or the region an
/// instance given by id lives in (`iot-auth.{region}` serves both), in either order.
#[cfg(feature = "registration")]
#[test]
fn https_registration_goes_to_the_region_of_the_instance() {
    use iotcloud_core::register::{RegisterContext, RegisterRequest, Registration as _};
    let host = |a: Aliyun<'_>| {
        let mut buf = [0u8; 1024];
        let ctx = RegisterContext {
            unix_time_ms: Some(1_700_000_000_000),
            random: 7,
        };
        let request = a
            .request(0, &[], &ctx, &mut Scratch::new(&mut buf))
            .unwrap();
        match request {
            RegisterRequest::Http(r) => r.url.host.to_string(),
            RegisterRequest::Mqtt(_) => panic!("an HTTPS flow"),
        }
    };
    let a = || Aliyun::registering(PK, DN, "product-secret", DynamicFlow::Https).unwrap();
    assert_eq!(host(a()), "iot-auth.cn-shanghai.aliyuncs.com");
    assert_eq!(
        host(a().with_region("ap-southeast-1").unwrap()),
        "iot-auth.ap-southeast-1.aliyuncs.com"
    );
    let instance = "iot-06z00ax1o4cfwo7";
    let first = a()
        .with_instance_id(instance)
        .unwrap()
        .with_region("cn-beijing")
        .unwrap();
    let then = a()
        .with_region("cn-beijing")
        .unwrap()
        .with_instance_id(instance)
        .unwrap();
    for p in [first, then] {
        assert_eq!(p.instance(), Instance::Id(instance));
        assert_eq!(host(p), "iot-auth.cn-beijing.aliyuncs.com");
    }
}

/// `regnwl` is documented for Enterprise instances only: on the old public instance it is
/// refused before anything is sent, unless a host override points elsewhere or LuatOS's
/// behaviour is asked for; with an instance id it goes ahead.
#[cfg(feature = "registration")]
#[test]
fn regnwl_is_refused_on_the_old_public_instance() {
    use iotcloud_core::register::{RegisterContext, RegisterRequest, Registration as _};
    let ctx = RegisterContext {
        unix_time_ms: Some(1_700_000_000_000),
        random: 7,
    };
    let outcome = |a: Aliyun<'_>| {
        let mut buf = [0u8; 1024];
        match a.request(0, &[], &ctx, &mut Scratch::new(&mut buf)) {
            Ok(RegisterRequest::Mqtt(m)) => Ok(m.connect.client_id.to_string()),
            Ok(RegisterRequest::Http(_)) => panic!("regnwl is over MQTT"),
            Err(e) => Err(e),
        }
    };
    let regnwl = || Aliyun::registering(PK, DN, "product-secret", DynamicFlow::Regnwl).unwrap();
    assert!(matches!(
        outcome(regnwl()),
        Err(ProviderError::Unsupported(why)) if why.contains("Enterprise instances only")
    ));
    // The documented case: an Enterprise instance, named in the client id.
    let enterprise = outcome(regnwl().with_instance_id("iot-06z00ax1o4cfwo7").unwrap()).unwrap();
    assert!(enterprise.contains("authType=regnwl"), "{enterprise}");
    assert!(
        enterprise.contains("instanceId=iot-06z00ax1o4cfwo7"),
        "{enterprise}"
    );
    // LuatOS's behaviour, asked for; and another server than Aliyun's.
    assert!(outcome(regnwl().with_regnwl_on_public_instance()).is_ok());
    let local = regnwl().with_overrides(iotcloud_core::EndpointOverrides {
        host: Some("127.0.0.1"),
        ..Default::default()
    });
    assert!(outcome(local).is_ok());
    // Pre-registered devices are not concerned.
    let register = Aliyun::registering(PK, DN, "product-secret", DynamicFlow::Register).unwrap();
    assert!(outcome(register).is_ok());
}
