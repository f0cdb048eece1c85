use std::format;
use std::string::{String, ToString};

use iotcloud_core::provider::EndpointOverrides;
use iotcloud_core::transport::ServerAuth;
use iotcloud_testkit::{ota_subscriptions, system_subscriptions};

use super::*;

const ID: &str = "6203cc94c7fb24029b110408_88888888";
const SECRET: &str = "123456789";

fn at(unix_secs: Option<u64>) -> SignContext<'static> {
    SignContext {
        unix_time_ms: unix_secs.map(|s| s * 1000 + 999),
        random: 7,
        registered: None,
    }
}

fn device() -> Huawei<'static> {
    Huawei::with_secret(DeviceId::new(ID).unwrap(), SECRET).unwrap()
}

fn sign(
    h: &Huawei<'_>,
    ctx: SignContext,
) -> Result<(String, String, Option<String>), ProviderError> {
    let mut buf = [0u8; 512];
    let c = h.sign(&ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        c.client_id.to_string(),
        c.username.unwrap().to_string(),
        c.password.map(str::to_string),
    ))
}

const IDENTITY: ClientIdentity<'static> = ClientIdentity {
    cert_pem: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    key_pem: b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
};

#[test]
fn luatos_vector_with_the_default_timestamp_on_its_utc8_modules() {
    // luatos-iotcloud.md §6, Huawei, "default, UTC+8".
    let h = device().with_timestamp(TimestampPolicy::LuatosDefault);
    let (client_id, username, password) = sign(&h, at(None)).unwrap();
    assert_eq!(
        client_id,
        "6203cc94c7fb24029b110408_88888888_0_0_2999010100"
    );
    assert_eq!(username, ID);
    assert_eq!(
        password.unwrap(),
        "5888ea6f4631ce76d621f452e8823507c36dd68a61f6e08518c8935e280c3c72"
    );
    assert!(client_id.ends_with(LUATOS_HOUR));
    // It ignores the clock and any offset: it is LuatOS's constant.
    let shifted = h.with_utc_offset(-5 * 3600).unwrap();
    assert_eq!(
        sign(&shifted, at(Some(1_700_000_000))).unwrap().0,
        client_id
    );
}

#[test]
fn luatos_vector_with_the_default_timestamp_on_a_utc_host() {
    // luatos-iotcloud.md §6, Huawei, "default, UTC host": LuatOS's constant in UTC.
    let h = device().with_timestamp(TimestampPolicy::Fixed(LUATOS_TIMESTAMP));
    let (client_id, username, password) = sign(&h, at(None)).unwrap();
    assert_eq!(
        client_id,
        "6203cc94c7fb24029b110408_88888888_0_0_2998123116"
    );
    assert_eq!(username, ID);
    assert_eq!(
        password.unwrap(),
        "4d58d3b410c021d371e9df17114c4abd0d08e89fb55fc9ce692cf9346592ffeb"
    );
}

#[test]
fn a_given_time_is_formatted_in_utc_and_luatos_local_hour_is_available() {
    // The cloud's rule: the hour of 1700000000 (2023-11-14 22:13:20 UTC) in UTC, sign type 1.
    let h = device();
    let (client_id, _, password) = sign(&h, at(Some(1_700_000_000))).unwrap();
    assert_eq!(
        client_id,
        "6203cc94c7fb24029b110408_88888888_0_1_2023111422"
    );
    assert_eq!(
        password.unwrap(),
        hmac(Algorithm::Sha256, b"2023111422", &[SECRET.as_bytes()])
            .unwrap()
            .hex()
            .to_string()
    );
    // luatos-iotcloud.md §6, Huawei, "1700000000, UTC+8": LuatOS formats the same second
    // in Beijing time. Reproducing it takes an explicit offset and sign type.
    let luatos = device()
        .with_timestamp(TimestampPolicy::Fixed(1_700_000_000))
        .with_sign_type(SignType::Checked)
        .with_utc_offset(LUATOS_UTC_OFFSET_SECS)
        .unwrap();
    let (client_id, username, password) = sign(&luatos, at(None)).unwrap();
    assert_eq!(
        client_id,
        "6203cc94c7fb24029b110408_88888888_0_1_2023111506"
    );
    assert_eq!(username, ID);
    assert_eq!(
        password.unwrap(),
        "1c05cd54cb1b9585d40f10581aa2c84bf8c93c418eceff2f55f55dbc396c5b32"
    );
}

#[test]
fn the_documented_example_signs_with_the_hour_as_the_key() {
    // clouds-official.md §0.2: HMAC-SHA256(key="2025041401", msg="12345678").
    // 1744592400 is 2025-04-14 01:00:00 UTC; Fixed signs it with sign type 0.
    let h = Huawei::with_secret(DeviceId::new("dev").unwrap(), "12345678")
        .unwrap()
        .with_timestamp(TimestampPolicy::Fixed(1_744_592_400 + 3599));
    let (client_id, _, password) = sign(&h, at(None)).unwrap();
    assert_eq!(client_id, "dev_0_0_2025041401");
    assert_eq!(
        password.unwrap(),
        "c75150e6cb841417396819e4d2ee4358a416344a03a083e3a8567074ddec820a"
    );
}

#[test]
fn the_clock_is_needed_under_policy_now_and_its_hour_changes_the_password() {
    let h = device().with_timestamp(TimestampPolicy::Now);
    assert_eq!(sign(&h, at(None)).unwrap_err(), ProviderError::TimeUnknown);
    assert_eq!(
        sign(&h, at(Some(1_700_000_000))).unwrap(),
        sign(&device(), at(Some(1_700_000_000))).unwrap(),
        "the default signs a known time exactly as Now"
    );
    let a = sign(&h, at(Some(1_700_000_000))).unwrap();
    let same_hour = sign(&h, at(Some(1_700_000_000 + 60))).unwrap();
    let next_hour = sign(&h, at(Some(1_700_000_000 + 3600))).unwrap();
    assert_eq!(a, same_hour);
    assert_ne!(a.2, next_hour.2);
    assert!(next_hour.0.ends_with("_0_1_2023111423"), "{}", next_hour.0);
    // Sign type 0 with the clock's hour, when asked.
    let unchecked = h.with_sign_type(SignType::Unchecked);
    assert!(
        sign(&unchecked, at(Some(1_700_000_000)))
            .unwrap()
            .0
            .ends_with("_0_0_2023111422")
    );
}

#[test]
fn by_default_an_unknown_time_signs_luatos_hour_unchecked() {
    // The same bytes as LuatOS's vector (luatos-iotcloud.md §6, Huawei, "default, UTC+8"),
    // whatever UTC offset is configured.
    let expected = (
        "6203cc94c7fb24029b110408_88888888_0_0_2999010100".to_string(),
        ID.to_string(),
        Some("5888ea6f4631ce76d621f452e8823507c36dd68a61f6e08518c8935e280c3c72".to_string()),
    );
    assert_eq!(sign(&device(), at(None)).unwrap(), expected);
    let shifted = device().with_utc_offset(-5 * 3600).unwrap();
    assert_eq!(sign(&shifted, at(None)).unwrap(), expected);
    // A known time: the clock's hour in UTC, sign type 1, as before.
    assert!(
        sign(&device(), at(Some(1_700_000_000)))
            .unwrap()
            .0
            .ends_with("_0_1_2023111422")
    );
    // Sign type 1 chosen explicitly cannot be signed without the time.
    let checked = device().with_sign_type(SignType::Checked);
    assert_eq!(
        sign(&checked, at(None)).unwrap_err(),
        ProviderError::TimeUnknown
    );
    let unchecked = device().with_sign_type(SignType::Unchecked);
    assert_eq!(sign(&unchecked, at(None)).unwrap(), expected);
}

#[test]
fn times_the_hour_field_cannot_hold_are_errors() {
    let h = device().with_timestamp(TimestampPolicy::Fixed(253_402_300_800));
    assert!(matches!(
        sign(&h, at(None)),
        Err(ProviderError::InvalidValue {
            key: "timestamp",
            ..
        })
    ));
    assert!(matches!(
        device().with_utc_offset(15 * 3600),
        Err(ProviderError::InvalidValue {
            key: "utc_offset",
            ..
        })
    ));
}

#[test]
fn the_device_id_can_be_formed_from_product_id_and_node_id() {
    let id = DeviceId::from_node("6203cc94c7fb24029b110408", "88888888").unwrap();
    assert_eq!(id.to_string(), ID);
    assert_eq!(id.len(), ID.len());
    let h = Huawei::with_secret(id, SECRET)
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault);
    // The same vector as with the id given whole.
    assert_eq!(
        sign(&h, at(None)).unwrap(),
        sign(
            &device().with_timestamp(TimestampPolicy::LuatosDefault),
            at(None)
        )
        .unwrap()
    );
    assert_eq!(
        format!("{}", h.messages_up()),
        "$oc/devices/6203cc94c7fb24029b110408_88888888/sys/messages/up"
    );
}

#[test]
fn bad_identifiers_and_missing_keys_name_the_key() {
    for bad in ["a/b", "a+", "x#", "a\0b"] {
        assert!(
            matches!(
                DeviceId::new(bad),
                Err(ProviderError::InvalidValue {
                    key: "device_id",
                    ..
                })
            ),
            "{bad:?}"
        );
        assert!(matches!(
            DeviceId::from_node(bad, "n"),
            Err(ProviderError::InvalidValue {
                key: "product_id",
                ..
            })
        ));
        assert!(matches!(
            DeviceId::from_node("p", bad),
            Err(ProviderError::InvalidValue {
                key: "device_name",
                ..
            })
        ));
    }
    assert_eq!(
        DeviceId::new("").unwrap_err(),
        ProviderError::MissingKey("device_id")
    );
    assert_eq!(
        DeviceId::from_node("", "n").unwrap_err(),
        ProviderError::MissingKey("product_id")
    );
    assert_eq!(
        DeviceId::from_node("p", "").unwrap_err(),
        ProviderError::MissingKey("device_name")
    );
    assert!(DeviceId::new(&"d".repeat(MAX_DEVICE_ID_LEN)).is_ok());
    assert!(DeviceId::new(&"d".repeat(MAX_DEVICE_ID_LEN + 1)).is_err());
    assert!(DeviceId::from_node(&"p".repeat(MAX_PRODUCT_ID_LEN + 1), "n").is_err());
    assert!(DeviceId::from_node("p", &"n".repeat(MAX_NODE_ID_LEN + 1)).is_err());
    let id = DeviceId::new(ID).unwrap();
    assert_eq!(
        Huawei::with_secret(id, "").unwrap_err(),
        ProviderError::MissingKey("device_secret")
    );
    assert_eq!(
        Huawei::with_certificate(
            id,
            ClientIdentity {
                cert_pem: b"",
                ..IDENTITY
            }
        )
        .unwrap_err(),
        ProviderError::MissingKey("client_cert")
    );
    assert_eq!(
        Huawei::with_certificate(
            id,
            ClientIdentity {
                key_pem: b"",
                ..IDENTITY
            }
        )
        .unwrap_err(),
        ProviderError::MissingKey("client_key")
    );
    for secs in [29, 1201] {
        assert!(matches!(
            device().with_keep_alive(secs),
            Err(ProviderError::InvalidValue {
                key: "keepalive",
                ..
            })
        ));
    }
    assert_eq!(
        device()
            .with_keep_alive(30)
            .unwrap()
            .mqtt_options()
            .keep_alive_secs,
        30
    );
    assert_eq!(device().mqtt_options().keep_alive_secs, 120);
    assert_eq!(
        (KEEP_ALIVE.min, KEEP_ALIVE.max, KEEP_ALIVE.default),
        (30, 1200, DEFAULT_KEEP_ALIVE_SECS)
    );
}

#[test]
fn endpoint_is_tls_to_the_instance_host_unless_overridden() {
    let h = device().with_endpoint("5341624af8.st1").unwrap();
    let mut host = [0u8; 256];
    let e = h.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port),
        (
            "5341624af8.st1.iotda-device.cn-north-4.myhuaweicloud.com",
            8883
        )
    );
    let tls = e.tls.unwrap();
    assert_eq!(tls.server, ServerAuth::CaPem(CA_PEM));
    assert_eq!(tls.client, None);
    // The region may come before or after the endpoint.
    let other = device()
        .with_region("ap-southeast-1")
        .unwrap()
        .with_endpoint("abc.st1")
        .unwrap();
    assert_eq!(
        other
            .endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap()
            .host,
        "abc.st1.iotda-device.ap-southeast-1.myhuaweicloud.com"
    );
    let moved = h.clone().with_region("cn-east-3").unwrap();
    assert_eq!(
        moved
            .endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap()
            .host,
        "5341624af8.st1.iotda-device.cn-east-3.myhuaweicloud.com"
    );
    // Plain MQTT on 1883 when TLS is turned off.
    let plain = h.clone().with_overrides(EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    });
    let mut host = [0u8; 256];
    let e = plain.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.port, e.tls), (1883, None));
    let local = h.clone().with_overrides(iotcloud_testkit::local(11883));
    let mut host = [0u8; 256];
    let e = local.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 11883, None));
    // The same, one setting at a time.
    let local = h
        .with_host("127.0.0.1")
        .with_port(11883)
        .with_tls(TlsChoice::Off);
    assert_eq!(local.connection().overrides, iotcloud_testkit::local(11883));
    let mut host = [0u8; 256];
    let e = local.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 11883, None));
}

#[test]
fn endpoint_is_required_unless_the_host_is_overridden() {
    assert_eq!(
        device()
            .endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap_err(),
        ProviderError::MissingKey("endpoint")
    );
    let overridden = device().with_overrides(EndpointOverrides {
        host: Some("iot-mqtts.cn-north-4.myhuaweicloud.com"),
        ..Default::default()
    });
    let mut host = [0u8; 256];
    let e = overridden.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port),
        ("iot-mqtts.cn-north-4.myhuaweicloud.com", 8883)
    );
    for (bad, key) in [
        (
            "5341624af8.st1.iotda-device.cn-north-4.myhuaweicloud.com",
            "endpoint",
        ),
        ("a/b", "endpoint"),
        (".st1", "endpoint"),
        ("a..b", "endpoint"),
        ("a b", "endpoint"),
    ] {
        assert!(
            matches!(
                device().with_endpoint(bad),
                Err(ProviderError::InvalidValue { key: k, .. }) if k == key
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        device().with_endpoint("").unwrap_err(),
        ProviderError::MissingKey("endpoint")
    );
    assert_eq!(
        device().with_region("").unwrap_err(),
        ProviderError::MissingKey("region")
    );
    assert!(matches!(
        device().with_region("cn north"),
        Err(ProviderError::InvalidValue { key: "region", .. })
    ));
    let long = "a".repeat(250);
    assert!(matches!(
        device().with_endpoint(&long),
        Err(ProviderError::InvalidValue {
            key: "endpoint",
            ..
        })
    ));
}

#[test]
fn certificate_mode_sends_no_password_and_needs_tls() {
    let h = Huawei::with_certificate(DeviceId::new(ID).unwrap(), IDENTITY)
        .unwrap()
        .with_endpoint("5341624af8.st1")
        .unwrap();
    let (client_id, username, password) = sign(&h, at(Some(1_700_000_000))).unwrap();
    assert_eq!(
        client_id,
        "6203cc94c7fb24029b110408_88888888_0_1_2023111422"
    );
    assert_eq!(username, ID);
    assert_eq!(password, None);
    let mut host = [0u8; 256];
    let tls = h
        .endpoint(&mut Scratch::new(&mut host))
        .unwrap()
        .tls
        .unwrap();
    assert_eq!(tls.client, Some(IDENTITY));
    assert_eq!(tls.server, ServerAuth::CaPem(CA_PEM));
    let plain = h.clone().with_overrides(EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    });
    assert!(matches!(
        plain.endpoint(&mut Scratch::new(&mut [0u8; 256])),
        Err(ProviderError::InvalidValue { key: "tls", .. })
    ));
    // Another server check keeps the client certificate.
    let other = h.with_overrides(EndpointOverrides {
        tls: TlsChoice::On(ServerAuth::DefaultRoots),
        ..Default::default()
    });
    let mut host = [0u8; 256];
    let tls = other
        .endpoint(&mut Scratch::new(&mut host))
        .unwrap()
        .tls
        .unwrap();
    assert_eq!(
        (tls.server, tls.client),
        (ServerAuth::DefaultRoots, Some(IDENTITY))
    );
}

#[test]
fn topics() {
    let h = device();
    let p = "$oc/devices/6203cc94c7fb24029b110408_88888888";
    let cases = [
        (h.properties_report(), "/sys/properties/report"),
        (h.messages_up(), "/sys/messages/up"),
        (h.messages_down(), "/sys/messages/down"),
        (h.commands_filter(), "/sys/commands/#"),
        (
            h.command_response("abc-123"),
            "/sys/commands/response/request_id=abc-123",
        ),
        (
            h.properties_set_response("r1"),
            "/sys/properties/set/response/request_id=r1",
        ),
        (
            h.properties_get_response("r2"),
            "/sys/properties/get/response/request_id=r2",
        ),
        (h.events_up(), "/sys/events/up"),
        (h.events_down(), "/sys/events/down"),
        (h.sys_filter(), "/sys/#"),
        (h.user_topic("temp/up"), "/user/temp/up"),
        (
            h.topic("sys/shadow/get/request_id=9"),
            "/sys/shadow/get/request_id=9",
        ),
    ];
    for (topic, suffix) in cases {
        assert_eq!(topic.to_string(), format!("{p}{suffix}"));
    }
    assert_eq!(
        request_id(&format!("{p}/sys/commands/request_id=abc-123")),
        Some("abc-123")
    );
    assert_eq!(request_id(&format!("{p}/sys/messages/down")), None);
    assert_eq!(request_id(&format!("{p}/sys/commands/request_id=")), None);
}

#[test]
fn the_system_downlinks_at_qos_1_unless_turned_off_and_the_limits() {
    let h = device();
    assert_eq!(
        system_subscriptions(&h),
        [(
            "$oc/devices/6203cc94c7fb24029b110408_88888888/sys/#".into(),
            QoS::AtLeastOnce
        )]
    );
    // OTA adds none: its events are under the same filter.
    assert_eq!(ota_subscriptions(&h), []);
    assert_eq!(
        system_subscriptions(&h.clone().with_sys_subscription(false)),
        []
    );
    let limits = h.limits();
    assert_eq!(limits.max_qos, QoS::AtLeastOnce);
    assert_eq!(limits.max_payload_len, 1_048_576);
    // 128 bytes after `$oc/devices/{id}/`.
    assert_eq!(limits.max_topic_len, 12 + ID.len() + 1 + 128);
    // The longest system topic, with a 36-character request id, fits even for the longest id.
    let long_id = "d".repeat(MAX_DEVICE_ID_LEN);
    let longest = Huawei::with_secret(DeviceId::new(&long_id).unwrap(), SECRET).unwrap();
    let rid = "0123456789abcdef0123456789abcdef0123";
    assert!(longest.properties_set_response(rid).len() <= longest.limits().max_topic_len);
}

#[test]
fn the_secret_never_appears_in_debug() {
    let h = device().with_endpoint("5341624af8.st1").unwrap();
    let shown = format!("{h:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains(ID), "{shown}");
    let mut buf = [0u8; 512];
    let c = h.sign(&at(Some(1)), &mut Scratch::new(&mut buf)).unwrap();
    assert!(!format!("{c:?}").contains(c.password.unwrap()));
    let cert = Huawei::with_certificate(DeviceId::new(ID).unwrap(), IDENTITY).unwrap();
    assert!(!format!("{cert:?}").contains("MIIE"));
}

#[test]
fn a_small_scratch_buffer_is_an_error_not_a_panic() {
    let h = device().with_timestamp(TimestampPolicy::LuatosDefault);
    for len in 0..160 {
        let mut buf = std::vec![0u8; len];
        let r = h.sign(&at(None), &mut Scratch::new(&mut buf));
        assert_eq!(r.is_ok(), len >= 48 + 33 + 64, "{len}");
    }
}

#[test]
fn the_bundled_roots_are_pem_certificates() {
    let text = core::str::from_utf8(CA_PEM).unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 4);
    assert_eq!(text.matches("-----END CERTIFICATE-----").count(), 4);
}

// ---------------------------------------------------------------------------------------
// Dynamic registration.

#[cfg(feature = "registration")]
mod registration {
    use iotcloud_core::register::{
        AnswerError, DEFAULT_HEAD_ROOM, RegisterAnswer, RegisterContext, RegisterError,
        RegisterRequest, Registration, RegistrationId, Rejection,
    };

    use super::*;

    const PRODUCT: &str = "6203cc94c7fb24029b110408";
    const NODE: &str = "88888888";
    const PASSWORD: &str = "pa\"ss\\word";

    fn iam() -> IamAccount<'static> {
        IamAccount {
            project_id: "0a1b2c3d4e5f",
            domain: "my-account",
            username: "iot-user",
            password: Secret::new(PASSWORD),
            app_endpoint: "5341624af8.st1.iotda-app.cn-north-4.myhuaweicloud.com",
            region: "cn-north-4",
        }
    }

    fn registering() -> Huawei<'static> {
        Huawei::registering_with_iam(PRODUCT, NODE, iam())
            .unwrap()
            .with_endpoint("5341624af8.st1")
            .unwrap()
    }

    fn record(fields: &[&[u8]]) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 512];
        let n = iotcloud_core::register::Fields::write(&mut buf, fields).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn a_registering_configuration_names_product_and_node_and_keeps_the_device_host() {
        let h = registering();
        assert_eq!(
            h.registration().map(Registration::id),
            Some(RegistrationId {
                product: PRODUCT,
                device: NODE
            })
        );
        assert_eq!(h.device_id().to_string(), ID);
        let mut host = [0u8; 256];
        let e = h.endpoint(&mut Scratch::new(&mut host)).unwrap();
        assert_eq!(
            (e.host, e.port),
            (
                "5341624af8.st1.iotda-device.cn-north-4.myhuaweicloud.com",
                8883
            )
        );
        // The region comes from the account; the MQTT host still needs `endpoint`.
        let other = Huawei::registering_with_iam(
            PRODUCT,
            NODE,
            IamAccount {
                region: "ap-southeast-1",
                ..iam()
            },
        )
        .unwrap();
        assert_eq!(
            other
                .endpoint(&mut Scratch::new(&mut [0u8; 256]))
                .unwrap_err(),
            ProviderError::MissingKey("endpoint")
        );
        let other = other.with_endpoint("abc").unwrap();
        assert_eq!(
            other
                .endpoint(&mut Scratch::new(&mut [0u8; 256]))
                .unwrap()
                .host,
            "abc.iotda-device.ap-southeast-1.myhuaweicloud.com"
        );
        assert!(device().registration().is_none());
    }

    #[test]
    fn a_registered_device_signs_exactly_as_new_with_the_returned_id_and_secret() {
        let returned_id = "custom-prefix-with-a-long-id-0123456789_88888888";
        let rec = record(&[
            b"device_id",
            returned_id.as_bytes(),
            b"secret",
            SECRET.as_bytes(),
        ]);
        let ctx = SignContext {
            registered: Some(&rec),
            ..at(Some(1_700_000_000))
        };
        let same = Huawei::with_secret(DeviceId::new(returned_id).unwrap(), SECRET).unwrap();
        assert_eq!(
            sign(&registering(), ctx).unwrap(),
            sign(&same, at(Some(1_700_000_000))).unwrap()
        );
        assert_eq!(Huawei::registered_device_id(&rec), Some(returned_id));
        // LuatOS's timestamp policy still applies: its vector with the registered credentials.
        let luatos = registering().with_timestamp(TimestampPolicy::LuatosDefault);
        let rec = record(&[b"device_id", ID.as_bytes(), b"secret", SECRET.as_bytes()]);
        let (client_id, username, password) = sign(
            &luatos,
            SignContext {
                registered: Some(&rec),
                ..at(None)
            },
        )
        .unwrap();
        assert_eq!(client_id, format!("{ID}_0_0_2999010100"));
        assert_eq!(username, ID);
        assert_eq!(
            password.unwrap(),
            "5888ea6f4631ce76d621f452e8823507c36dd68a61f6e08518c8935e280c3c72"
        );
        // The longest device id the cloud allows fits the topic limit.
        let long = "d".repeat(MAX_DEVICE_ID_LEN);
        let limit = registering().limits().max_topic_len;
        assert!(format!("$oc/devices/{long}/{}", "t".repeat(MAX_CUSTOM_TOPIC_LEN)).len() <= limit);
    }

    #[test]
    fn a_registering_configuration_without_a_usable_record_says_so() {
        let h = registering();
        assert_eq!(
            sign(&h, at(Some(1))).unwrap_err(),
            ProviderError::MissingKey("device_secret")
        );
        let too_long = "d".repeat(MAX_DEVICE_ID_LEN + 1);
        for fields in [
            &[][..],
            &[ID.as_bytes()][..],
            &[ID.as_bytes(), b""][..],
            &[b"a/b", SECRET.as_bytes()][..],
            &[too_long.as_bytes(), SECRET.as_bytes()][..],
        ] {
            let rec = record(fields);
            let ctx = SignContext {
                registered: Some(&rec),
                ..at(Some(1))
            };
            assert!(
                matches!(
                    sign(&h, ctx),
                    Err(ProviderError::InvalidValue {
                        key: "device_secret",
                        ..
                    })
                ),
                "{fields:?}"
            );
        }
    }

    #[test]
    fn bad_registration_settings_are_named_errors() {
        let cases: [(IamAccount<'static>, ProviderError); 6] = [
            (
                IamAccount {
                    project_id: "",
                    ..iam()
                },
                ProviderError::MissingKey("project_id"),
            ),
            (
                IamAccount {
                    domain: "",
                    ..iam()
                },
                ProviderError::MissingKey("iam_domain"),
            ),
            (
                IamAccount {
                    username: "",
                    ..iam()
                },
                ProviderError::MissingKey("iam_username"),
            ),
            (
                IamAccount {
                    password: Secret::new(""),
                    ..iam()
                },
                ProviderError::MissingKey("iam_password"),
            ),
            (
                IamAccount {
                    app_endpoint: "",
                    ..iam()
                },
                ProviderError::MissingKey("app_endpoint"),
            ),
            (
                IamAccount {
                    region: "",
                    ..iam()
                },
                ProviderError::MissingKey("region"),
            ),
        ];
        for (account, error) in cases {
            assert_eq!(
                Huawei::registering_with_iam(PRODUCT, NODE, account).unwrap_err(),
                error
            );
        }
        for (account, key) in [
            (
                IamAccount {
                    project_id: "a/b",
                    ..iam()
                },
                "project_id",
            ),
            (
                IamAccount {
                    app_endpoint: "https://x.example",
                    ..iam()
                },
                "app_endpoint",
            ),
            (
                IamAccount {
                    region: "cn north",
                    ..iam()
                },
                "region",
            ),
        ] {
            assert!(matches!(
                Huawei::registering_with_iam(PRODUCT, NODE, account),
                Err(ProviderError::InvalidValue { key: k, .. }) if k == key
            ));
        }
        assert_eq!(
            Huawei::registering_with_iam(PRODUCT, "", iam()).unwrap_err(),
            ProviderError::MissingKey("node_id")
        );
        assert!(matches!(
            Huawei::registering_with_iam(PRODUCT, "a#b", iam()),
            Err(ProviderError::InvalidValue { key: "node_id", .. })
        ));
        let h = registering();
        for (iam_url, app_url) in [
            ("ftp://x/", "http://127.0.0.1:1/v5/iot/p/devices"),
            ("http://127.0.0.1:1/v3/auth/tokens", "127.0.0.1/v5"),
        ] {
            assert!(matches!(
                h.clone().with_register_urls(iam_url, app_url),
                Err(ProviderError::InvalidValue {
                    key: "register_url",
                    ..
                })
            ));
        }
        // Registration settings on a configuration that holds its secret are refused.
        assert!(matches!(
            device().with_register_urls("http://a/", "http://b/"),
            Err(ProviderError::Unsupported(_))
        ));
        assert!(matches!(
            device().with_luatos_app_endpoint(),
            Err(ProviderError::Unsupported(_))
        ));
    }

    #[test]
    fn the_password_never_appears_in_debug() {
        let h = registering()
            .with_register_urls(
                "http://127.0.0.1:1/v3/auth/tokens",
                "http://127.0.0.1:1/v5/iot/p/devices",
            )
            .unwrap();
        let shown = format!("{h:?}");
        for shown in [shown, format!("{:?}", iam())] {
            assert!(
                !shown.contains("pa\\\"ss") && !shown.contains("ss\\\\word"),
                "{shown}"
            );
            assert!(
                shown.contains("iot-user") && shown.contains("<redacted>"),
                "{shown}"
            );
        }
    }

    fn create(status: u16, body: &str) -> Result<std::vec::Vec<u8>, AnswerError> {
        let mut rec = [0u8; 256];
        let n = register::created(status, body.as_bytes(), &mut rec)?;
        Ok(rec[..n].to_vec())
    }

    fn same(a: &AnswerError, b: &AnswerError) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn a_created_device_yields_the_returned_id_and_secret() {
        let body = r#"{"app_id":"a","device_id":"d-prefix_88888888","node_id":"88888888","gateway_id":"d-prefix_88888888","device_name":"88888888","node_type":"ENDPOINT","description":null,"fw_version":null,"sw_version":null,"auth_info":{"auth_type":"SECRET","secret":"3b935a250c50dc2c6d481d048cefdc3c","fingerprint":null,"secure_access":true,"timeout":0},"product_id":"p","product_name":"Thermometer","status":"INACTIVE","create_time":"20190303T081011Z","tags":[{"tag_key":"k","tag_value":"v"}],"extension_info":{"a":"b\"c"}}"#;
        let rec = create(201, body).unwrap();
        assert_eq!(
            iotcloud_core::register::named(&rec).collect::<std::vec::Vec<_>>(),
            [
                ("device_id", "d-prefix_88888888"),
                ("secret", "3b935a250c50dc2c6d481d048cefdc3c")
            ]
        );
        // A record that does not fit is said.
        let mut small = [0u8; 10];
        assert!(matches!(
            register::created(201, body.as_bytes(), &mut small),
            Err(RegisterError::RecordTooLarge {
                len: 72,
                capacity: 10
            })
        ));
    }

    #[test]
    fn incomplete_or_foreign_answers_are_bad_responses() {
        for body in [
            "<html></html>",
            r#"{"device_id":"d"}"#,
            r#"{"auth_info":{"secret":"12345678"}}"#,
            r#"{"device_id":"d","auth_info":{"auth_type":"CERTIFICATES","fingerprint":"ab"}}"#,
            r#"{"device_id":"a/b","auth_info":{"secret":"12345678"}}"#,
            r#"{"device_id":"d","auth_info":{"secret":"12345678""#,
        ] {
            assert!(
                matches!(create(201, body), Err(RegisterError::BadResponse(_))),
                "{body}"
            );
        }
        let long = format!(
            r#"{{"device_id":"{}","auth_info":{{"secret":"12345678"}}}}"#,
            "d".repeat(MAX_DEVICE_ID_LEN + 1)
        );
        assert!(matches!(
            create(201, &long),
            Err(RegisterError::BadResponse(_))
        ));
    }

    #[test]
    fn refusals_are_mapped_by_status_and_code() {
        for (status, body, reason, code) in [
            (
                401,
                r#"{"error":{"code":"401","title":"Unauthorized","message":"The username or password is wrong."}}"#,
                Rejection::BadCredentials,
                "401",
            ),
            (
                401,
                r#"{"error_code":"IOTDA.000002","error_msg":"The token is missing, invalid or expired."}"#,
                Rejection::BadCredentials,
                "IOTDA.000002",
            ),
            (
                409,
                r#"{"error_code":"IOTDA.010002","error_msg":"The node_id already exists."}"#,
                Rejection::AlreadyExists,
                "IOTDA.010002",
            ),
            (
                400,
                r#"{"error_code":"IOTDA.014107","error_msg":"The device already exists."}"#,
                Rejection::AlreadyExists,
                "IOTDA.014107",
            ),
            (
                404,
                r#"{"error_code":"IOTDA.010001","error_msg":"The product does not exist."}"#,
                Rejection::NotFound,
                "IOTDA.010001",
            ),
            (
                403,
                r#"{"error_code":"IOTDA.000004","error_msg":"The token is not valid for this project."}"#,
                Rejection::Other,
                "IOTDA.000004",
            ),
            (
                400,
                r#"{"error_code":"IOTDA.000006","error_msg":"Invalid input data: node_id."}"#,
                Rejection::Other,
                "IOTDA.000006",
            ),
            (
                401,
                r#"{"error_msg":"Incorrect IAM authentication information","error_code":"APIGW.0301","request_id":"x"}"#,
                Rejection::BadCredentials,
                "APIGW.0301",
            ),
        ] {
            let e = create(status, body).unwrap_err();
            assert!(
                same(&e, &RegisterError::rejected(reason, code)),
                "{status} {body}: {e:?}"
            );
        }
        // Without a recognised error body, the status.
        for (status, body) in [(502, "<html>bad gateway</html>"), (401, ""), (500, "{}")] {
            assert!(
                matches!(create(status, body), Err(RegisterError::Status(s)) if s == status),
                "{status}"
            );
        }
    }

    #[test]
    fn the_request_bodies_escape_their_values() {
        assert_eq!(
            register::IamBody(&iam()).to_string(),
            r#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"domain":{"name":"my-account"},"name":"iot-user","password":"pa\"ss\\word"}}},"scope":{"project":{"name":"cn-north-4"}}}}"#
        );
        let body = register::CreateBody {
            node_id: "n\n1",
            product_id: PRODUCT,
        };
        assert_eq!(
            body.to_string(),
            r#"{"node_id":"n\n1","product_id":"6203cc94c7fb24029b110408"}"#
        );
    }

    const CTX: RegisterContext = RegisterContext {
        unix_time_ms: None,
        random: 7,
    };

    /// The HTTP request of `step`, built in `buf`.
    fn http<'s>(
        h: &'s Huawei<'_>,
        step: u8,
        carry: &'s [u8],
        buf: &'s mut [u8],
    ) -> Result<iotcloud_core::register::HttpRequest<'s>, ProviderError> {
        match h.request(step, carry, &CTX, &mut Scratch::new(buf))? {
            RegisterRequest::Http(request) => Ok(request),
            RegisterRequest::Mqtt(_) => panic!("IoTDA registers over HTTPS"),
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn the_token_request_is_iams_with_room_for_the_token_in_the_answer_head() {
        use iotcloud_core::http::{Method, Scheme};
        let h = registering();
        let mut buf = [0u8; 1024];
        let r = http(&h, 0, &[], &mut buf).unwrap();
        assert_eq!(r.method, Method::Post);
        assert_eq!(
            (r.url.scheme, r.url.host, r.url.port, r.url.path),
            (
                Scheme::Https,
                "iam.cn-north-4.myhuaweicloud.com",
                443,
                "/v3/auth/tokens?nocatalog=true"
            )
        );
        assert_eq!(
            r.headers.as_slice(),
            [("Content-Type", "application/json;charset=utf8")]
        );
        assert_eq!(r.body, register::IamBody(&iam()).to_string().as_bytes());
        assert_eq!(r.server, ServerAuth::DefaultRoots);
        // As much as the device keeps for a response head: the token is in one.
        assert_eq!(r.head_room, usize::MAX);
        // Another server check, and the URL given instead of Huawei's.
        let custom = registering()
            .with_register_server(ServerAuth::NoVerification)
            .unwrap()
            .with_register_urls(
                "http://127.0.0.1:8080/v3/auth/tokens",
                "http://127.0.0.1:8080/v5/iot/p/devices",
            )
            .unwrap();
        let mut buf = [0u8; 1024];
        let r = http(&custom, 0, &[], &mut buf).unwrap();
        assert_eq!(
            (r.url.host, r.url.port, r.url.path, r.server),
            (
                "127.0.0.1",
                8080,
                "/v3/auth/tokens",
                ServerAuth::NoVerification
            )
        );
    }

    #[test]
    fn the_device_creation_carries_the_token_and_names_node_and_product() {
        let h = registering();
        let token = b"MIItoken";
        let mut buf = [0u8; 1024];
        let r = http(&h, 1, token, &mut buf).unwrap();
        assert_eq!(
            (r.url.host, r.url.path),
            (
                "5341624af8.st1.iotda-app.cn-north-4.myhuaweicloud.com",
                "/v5/iot/0a1b2c3d4e5f/devices"
            )
        );
        assert_eq!(
            r.headers.as_slice(),
            [
                ("Content-Type", "application/json"),
                ("X-Auth-Token", "MIItoken")
            ]
        );
        assert_eq!(
            r.body,
            format!(r#"{{"node_id":"{NODE}","product_id":"{PRODUCT}"}}"#).as_bytes()
        );
        // The request head carries the token.
        assert_eq!(r.head_room, DEFAULT_HEAD_ROOM + token.len());
        // LuatOS's application host, and the instance id of Standard and Enterprise instances.
        let luatos = Huawei::registering_with_iam(
            PRODUCT,
            NODE,
            IamAccount {
                app_endpoint: "5341624af8",
                ..iam()
            },
        )
        .unwrap()
        .with_luatos_app_endpoint()
        .unwrap()
        .with_instance_id("i-0123")
        .unwrap();
        let mut buf = [0u8; 1024];
        let r = http(&luatos, 1, token, &mut buf).unwrap();
        assert_eq!(r.url.host, "5341624af8.iotda.cn-north-4.myhuaweicloud.com");
        assert_eq!(r.headers[2], ("Instance-Id", "i-0123"));
        // Without a token, or past the second step, there is no request.
        let mut buf = [0u8; 1024];
        assert!(matches!(
            http(&h, 1, b"", &mut buf),
            Err(ProviderError::InvalidValue {
                key: "iam_token",
                ..
            })
        ));
        let mut buf = [0u8; 1024];
        assert!(matches!(
            http(&h, 2, token, &mut buf),
            Err(ProviderError::Unsupported(_))
        ));
        let d = device();
        let mut buf = [0u8; 1024];
        assert!(matches!(
            http(&d, 0, &[], &mut buf),
            Err(ProviderError::Unsupported(_))
        ));
    }

    #[test]
    fn the_password_is_wiped_from_the_request_memory_by_the_next_request() {
        let h = registering();
        let mut buf = [0u8; 1024];
        {
            let mut scratch = Scratch::new(&mut buf);
            h.request(0, &[], &CTX, &mut scratch).unwrap();
        }
        // The body, JSON-escaped.
        let password = &br#"pa\"ss\\word"#[..];
        assert!(contains(&buf, password));
        // As the device runs step 1: the carried token first, in the same memory.
        let token = b"MIItoken";
        {
            let mut scratch = Scratch::new(&mut buf);
            let kept = scratch
                .bytes(token.len(), |dst| {
                    dst.copy_from_slice(token);
                    Ok(dst.len())
                })
                .unwrap();
            h.request(1, kept, &CTX, &mut scratch).unwrap();
        }
        assert!(!contains(&buf, password));
        assert!(!contains(&buf, b"word"));
    }

    #[test]
    fn urls_too_long_for_a_host_or_the_request_are_named_errors() {
        let long_host = "a".repeat(250);
        let h = Huawei::registering_with_iam(
            PRODUCT,
            NODE,
            IamAccount {
                app_endpoint: &long_host,
                ..iam()
            },
        )
        .unwrap()
        .with_luatos_app_endpoint()
        .unwrap();
        let mut buf = [0u8; 1024];
        assert!(matches!(
            http(&h, 1, b"t", &mut buf),
            Err(ProviderError::InvalidValue {
                key: "app_endpoint",
                ..
            })
        ));
        let project = "p".repeat(64);
        let h = Huawei::registering_with_iam(
            PRODUCT,
            NODE,
            IamAccount {
                app_endpoint: &long_host,
                project_id: &project,
                ..iam()
            },
        )
        .unwrap();
        let mut buf = [0u8; 1024];
        assert!(matches!(
            http(&h, 1, b"t", &mut buf),
            Err(ProviderError::InvalidValue {
                key: "register_url",
                ..
            })
        ));
        // A request that does not fit the device's memory is said, not cut.
        let h = registering();
        let mut buf = [0u8; 64];
        assert!(matches!(
            http(&h, 0, &[], &mut buf),
            Err(ProviderError::ScratchFull(_))
        ));
    }

    #[test]
    fn iams_answer_gives_the_token_to_carry() {
        let mut out = [0u8; 16];
        assert!(matches!(
            register::token(201, Some(" MIItoken "), b"{}", &mut out),
            Ok(8)
        ));
        assert_eq!(&out[..8], b"MIItoken");
        for header in [None, Some(""), Some("  ")] {
            assert!(matches!(
                register::token(201, header, b"{}", &mut out),
                Err(RegisterError::BadResponse(_))
            ));
        }
        // The token is held in the credentials memory until the device is created.
        assert!(matches!(
            register::token(201, Some("MIItoken-longer-than-16"), b"", &mut out),
            Err(RegisterError::RecordTooLarge {
                len: 23,
                capacity: 16
            })
        ));
        let refused = br#"{"error":{"code":"401","title":"Unauthorized","message":"The username or password is wrong."}}"#;
        let e = register::token(401, Some("MIItoken"), refused, &mut out).unwrap_err();
        assert!(
            same(
                &e,
                &RegisterError::rejected(Rejection::BadCredentials, "401")
            ),
            "{e:?}"
        );
        let e = register::token(503, None, b"<html>busy</html>", &mut out).unwrap_err();
        assert!(matches!(e, RegisterError::Status(503)), "{e:?}");
    }

    #[test]
    fn an_mqtt_answer_is_not_iotdas() {
        let h = registering();
        let mut payload = *b"{}";
        let mut out = [0u8; 64];
        let answer = RegisterAnswer::Mqtt {
            topic: "t",
            payload: &mut payload,
        };
        assert!(matches!(
            h.answer(0, answer, &mut out, &mut []),
            Err(RegisterError::BadResponse(_))
        ));
        // What a configuration that does not register is named by, for completeness.
        assert_eq!(
            device().id(),
            RegistrationId {
                product: "",
                device: ID
            }
        );
        let from_node =
            Huawei::with_secret(DeviceId::from_node(PRODUCT, NODE).unwrap(), SECRET).unwrap();
        assert_eq!(
            from_node.id(),
            RegistrationId {
                product: PRODUCT,
                device: NODE
            }
        );
    }
}
