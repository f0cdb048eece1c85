//! Mode selection, defaults, LuatOS reproduction and errors, through the facade only.

use std::string::{String, ToString};

use iotcloud_core::register::Registration as _;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::transport::ServerAuth;

use super::*;

/// Client id, user name, password.
type Signed = (String, Option<String>, Option<String>);

/// `key=value` pairs.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn provider<'a>(
    cloud: &str,
    pairs: &[(&'a str, &'a str)],
) -> Result<AnyProvider<'a>, ConfigError<'a>> {
    let config = Config::from_pairs(pairs.iter().copied())?;
    AnyProvider::new(Cloud::from_name(cloud).unwrap(), &config, None)
}

fn sign(p: &AnyProvider<'_>, unix_ms: Option<u64>) -> Result<Signed, ProviderError> {
    let mut buf = [0u8; 1024];
    let mut scratch = Scratch::new(&mut buf);
    let c = p.sign(
        &SignContext {
            unix_time_ms: unix_ms,
            random: 7,
            registered: None,
        },
        &mut scratch,
    )?;
    Ok((
        c.client_id.to_string(),
        c.username.map(str::to_string),
        c.password.map(str::to_string),
    ))
}

fn signed(cloud: &str, pairs: &[(&str, &str)]) -> Signed {
    sign(&provider(cloud, pairs).unwrap(), None).unwrap()
}

#[test]
fn cloud_names_include_the_qcloud_alias() {
    for c in Cloud::ALL {
        assert_eq!(Cloud::from_name(c.name()), Ok(c));
        assert!(c.is_enabled());
    }
    assert_eq!(Cloud::from_name("qcloud"), Ok(Cloud::Tencent));
    assert_eq!(
        Cloud::from_name("aws"),
        Err(ConfigError::UnknownCloud("aws"))
    );
}

#[test]
fn luatos_true_reproduces_luatos_for_every_cloud() {
    let aliyun = signed(
        "aliyun",
        &[
            ("produt_id", "123456789"),
            ("device_name", "abcdefg"),
            ("key", "Y877Bgo8X5owd3lcB5wWDjryNPoB"),
            ("luatos", "true"),
        ],
    );
    assert_eq!(
        aliyun,
        (
            "123456789.abcdefg|securemode=3,signmethod=hmacmd5,timestamp=32472115200|".into(),
            Some("abcdefg&123456789".into()),
            Some("16CB9B20009795D576E9172CDC820646".into())
        )
    );
    let tencent = signed(
        "qcloud",
        &[
            ("product_id", "LD8S5J1L07"),
            ("device_name", "test"),
            ("device_secret", "acyv3QDJrRa0fW5UE58KnQ=="),
            ("conn_id", "abcde"),
            ("luatos", "true"),
        ],
    );
    assert_eq!(
        tencent.1.as_deref(),
        Some("LD8S5J1L07test;12010126;abcde;32472115200")
    );
    assert_eq!(
        tencent.2.as_deref(),
        Some("330d31dbd0758c2429e92b586981346962759a5c8742b5af18fb81a1ecf4e318;hmacsha256")
    );
    let onenet = signed(
        "onenet",
        &[
            ("product_id", "Ck2AF9QD2K"),
            ("device_name", "869329069169988"),
            (
                "product_secret",
                "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
            ),
            ("luatos", "true"),
        ],
    );
    assert_eq!(
        onenet.2.as_deref(),
        Some(
            "version=2018-10-31&res=products%2FCk2AF9QD2K&et=32472115200&method=md5&sign=j%2BnMqNQKAZL5WurfUBqw2g%3D%3D"
        )
    );
    let huawei = signed(
        "huawei",
        &[
            ("device_id", "6203cc94c7fb24029b110408_88888888"),
            ("device_secret", "123456789"),
            ("endpoint", "5341624af8.st1"),
            ("luatos", "true"),
        ],
    );
    assert_eq!(huawei.0, "6203cc94c7fb24029b110408_88888888_0_0_2999010100");
    assert_eq!(
        huawei.2.as_deref(),
        Some("5888ea6f4631ce76d621f452e8823507c36dd68a61f6e08518c8935e280c3c72")
    );
    let tuya = signed(
        "tuya",
        &[
            ("device_name", "6c95875d0f5ba69607nzfl"),
            ("device_secret", "fb803786602df760"),
            ("luatos", "true"),
        ],
    );
    assert_eq!(
        tuya.2.as_deref(),
        Some("d4e2d498e4195db3ed213b33d662e3b7bf434dc3d5a1f2e63b602ac9248ba72c")
    );
    let baidu = signed(
        "baidu",
        &[
            ("product_id", "abcd123"),
            ("device_name", "mydevice"),
            ("device_secret", "ImSeCrEt0I1M2jkl"),
            ("luatos", "true"),
        ],
    );
    assert_eq!(
        baidu,
        (
            "abcd123".into(),
            Some("thingidp@abcd123|mydevice|MD5".into()),
            Some("22bc75231495220c7a2202fe15f7d286".into())
        )
    );
}

#[test]
fn luatos_endpoints_are_plain_where_luatos_is_plain_and_checked_where_it_uses_tls() {
    let p = provider(
        "aliyun",
        &[
            ("product_id", "123456789"),
            ("device_name", "abcdefg"),
            ("device_secret", "Y877Bgo8X5owd3lcB5wWDjryNPoB"),
            ("luatos", "true"),
        ],
    )
    .unwrap();
    let mut host = [0u8; 256];
    let e = p.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port, e.tls.is_none()),
        ("123456789.iot-as-mqtt.cn-shanghai.aliyuncs.com", 1883, true)
    );
    let p = provider(
        "tuya",
        &[
            ("device_name", "6c95875d0f5ba69607nzfl"),
            ("device_secret", "fb803786602df760"),
            ("luatos", "true"),
        ],
    )
    .unwrap();
    let mut host = [0u8; 256];
    let e = p.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(e.port, 8883);
    assert_eq!(e.tls.unwrap().server, ServerAuth::CaPem(tuya::CA_PEM));
}

#[test]
fn defaults_follow_the_clouds_not_luatos() {
    let p = provider(
        "aliyun",
        &[
            ("product_id", "123456789"),
            ("device_name", "abcdefg"),
            ("device_secret", "Y877Bgo8X5owd3lcB5wWDjryNPoB"),
        ],
    )
    .unwrap();
    let mut host = [0u8; 256];
    let e = p.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(e.port, 8883);
    assert!(matches!(e.tls.unwrap().server, ServerAuth::CaPem(ca) if ca == aliyun::CA_PEM));
    // The clock's time by default, and Aliyun's clockless form (no timestamp) without it.
    let (id, _, _) = sign(&p, Some(1_700_000_000_123)).unwrap();
    assert_eq!(
        id,
        "123456789.abcdefg|securemode=2,signmethod=hmacsha256,timestamp=1700000000123|"
    );
    let (id, _, _) = sign(&p, None).unwrap();
    assert_eq!(id, "123456789.abcdefg|securemode=2,signmethod=hmacsha256|");
    // `timestamp=now` is strict: without the time, signing is refused by name.
    let strict = provider(
        "aliyun",
        &[
            ("product_id", "123456789"),
            ("device_name", "abcdefg"),
            ("device_secret", "Y877Bgo8X5owd3lcB5wWDjryNPoB"),
            ("timestamp", "now"),
        ],
    )
    .unwrap();
    assert_eq!(sign(&strict, None), Err(ProviderError::TimeUnknown));
    assert_eq!(
        sign(&strict, Some(1_700_000_000_123)),
        sign(&p, Some(1_700_000_000_123))
    );
    // A number in seconds is written in Aliyun's milliseconds; LuatOS's constant stays as is.
    let p = provider(
        "aliyun",
        &[
            ("product_id", "123456789"),
            ("device_name", "abcdefg"),
            ("device_secret", "Y877Bgo8X5owd3lcB5wWDjryNPoB"),
            ("timestamp", "1700000000"),
            ("tls", "false"),
            ("method", "HMACMD5"),
        ],
    )
    .unwrap();
    let (id, _, _) = sign(&p, None).unwrap();
    assert_eq!(
        id,
        "123456789.abcdefg|securemode=3,signmethod=hmacmd5,timestamp=1700000000000|"
    );
}

#[test]
fn the_device_name_defaults_to_the_imei_except_for_tuya() {
    let config = Config::from_pairs([
        ("product_id", "Ck2AF9QD2K"),
        (
            "device_secret",
            "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
        ),
    ])
    .unwrap();
    let p = AnyProvider::new(Cloud::OneNet, &config, Some("869329069169988")).unwrap();
    let (id, user, _) = sign(&p, Some(1_700_000_000_000)).unwrap();
    assert_eq!(
        (id.as_str(), user.as_deref()),
        ("869329069169988", Some("Ck2AF9QD2K"))
    );
    assert!(matches!(
        AnyProvider::new(Cloud::OneNet, &config, None),
        Err(ConfigError::Provider(ProviderError::MissingKey(
            "device_name"
        )))
    ));
    let tuya = Config::from_pairs([("device_secret", "fb803786602df760")]).unwrap();
    assert!(matches!(
        AnyProvider::new(Cloud::Tuya, &tuya, Some("869329069169988")),
        Err(ConfigError::Provider(ProviderError::MissingKey(
            "device_name"
        )))
    ));
}

#[test]
fn keys_of_other_clouds_or_of_two_modes_are_refused_by_name() {
    let e = provider(
        "tencent",
        &[
            ("product_id", "LD8S5J1L07"),
            ("device_name", "test"),
            ("device_secret", "acyv3QDJrRa0fW5UE58KnQ=="),
            ("instance_id", "iot-06z00"),
        ],
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "`instance_id` is not used by tencent");
    let e = provider(
        "onenet",
        &[
            ("product_id", "Ck2AF9QD2K"),
            ("device_name", "test"),
            (
                "device_secret",
                "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
            ),
            (
                "product_secret",
                "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
            ),
        ],
    )
    .unwrap_err();
    assert_eq!(
        e,
        ConfigError::Conflict(Key::DeviceSecret, Key::ProductSecret)
    );
    let e = provider(
        "huawei",
        &[
            ("device_id", "d1"),
            ("device_secret", "x"),
            ("tls", "false"),
            ("server_cert", "-----BEGIN CERTIFICATE-----"),
        ],
    )
    .unwrap_err();
    assert_eq!(e, ConfigError::Conflict(Key::Tls, Key::ServerCert));
}

#[test]
fn missing_and_bad_values_name_their_key() {
    let cases: &[(&str, Pairs<'_>, &str)] = &[
        (
            "aliyun",
            &[("device_name", "d"), ("device_secret", "s")],
            "product_id",
        ),
        (
            "tlink",
            &[("product_id", "acct"), ("device_name", "SERIAL")],
            "product_secret",
        ),
        ("huawei", &[("device_secret", "s")], "device_id"),
        (
            "baidu",
            &[("product_id", "abcd123"), ("device_name", "d")],
            "device_secret",
        ),
        (
            "tencent",
            &[
                ("product_id", "LD8S5J1L07"),
                ("device_name", "a/b"),
                ("device_secret", "acyv3QDJrRa0fW5UE58KnQ=="),
            ],
            "device_name",
        ),
        (
            "tencent",
            &[
                ("product_id", "LD8S5J1L07"),
                ("device_name", "test"),
                ("device_secret", "not base64!"),
            ],
            "device_secret",
        ),
        (
            "aliyun",
            &[
                ("product_id", "p"),
                ("device_name", "d"),
                ("device_secret", "s"),
                ("method", "hmacsha512"),
            ],
            "method",
        ),
        (
            "tuya",
            &[("device_name", "id"), ("device_secret", "s"), ("port", "0")],
            "port",
        ),
        (
            "tuya",
            &[
                ("device_name", "id"),
                ("device_secret", "s"),
                ("timestamp", "yesterday"),
            ],
            "timestamp",
        ),
        (
            "baidu",
            &[
                ("product_id", "abcd123"),
                ("device_name", "d"),
                ("client_cert", "-----BEGIN CERTIFICATE-----"),
            ],
            "client_key",
        ),
    ];
    for (cloud, pairs, key) in cases {
        let e = provider(cloud, pairs).unwrap_err().to_string();
        assert!(
            e.contains(&std::format!("`{key}`")),
            "{cloud} {pairs:?}: {e}"
        );
    }
}

#[test]
fn aliyun_product_secret_registers_with_the_flow_luatos_would_choose() {
    let config = Config::from_pairs([
        ("product_id", "a1B2c3D4e5f"),
        ("product_secret", "AbCdEfGhIjKlMnOp"),
    ])
    .unwrap();
    // Named by the IMEI: no pre-registration.
    let p = AnyProvider::new(Cloud::Aliyun, &config, Some("869329069169988")).unwrap();
    let id = p.registration().unwrap().id();
    assert_eq!((id.product, id.device), ("a1B2c3D4e5f", "869329069169988"));
    // Not registered yet: nothing to sign with, said by name.
    assert_eq!(
        sign(&p, Some(1_700_000_000_000)),
        Err(ProviderError::MissingKey("device_secret"))
    );
    let e = provider(
        "aliyun",
        &[
            ("product_id", "a1B2c3D4e5f"),
            ("device_name", "d"),
            ("product_secret", "AbCdEfGhIjKlMnOp"),
            ("register_flow", "sideways"),
        ],
    )
    .unwrap_err();
    assert!(matches!(
        e,
        ConfigError::InvalidValue {
            key: Key::RegisterFlow,
            ..
        }
    ));
    let e = provider(
        "aliyun",
        &[
            ("product_id", "a1B2c3D4e5f"),
            ("device_name", "d"),
            ("device_secret", "s"),
            ("register_url", "https://127.0.0.1:1/"),
        ],
    )
    .unwrap_err();
    assert_eq!(
        e,
        ConfigError::Conflict(Key::RegisterUrl, Key::DeviceSecret)
    );
}

#[test]
fn a_plain_http_registration_endpoint_needs_tls_off() {
    let pairs = [
        ("product_id", "a1B2c3D4e5f"),
        ("product_secret", "AbCdEfGhIjKlMnOp"),
        ("device_name", "d"),
        ("register_url", "http://127.0.0.1:1/auth/register/device"),
    ];
    let e = provider("aliyun", &pairs).unwrap_err();
    assert!(matches!(
        e,
        ConfigError::InvalidValue {
            key: Key::RegisterUrl,
            ..
        }
    ));
    let with_tls_off = [&pairs[..], &[("tls", "false")]].concat();
    assert!(provider("aliyun", &with_tls_off).is_ok());
}

#[test]
fn registration_modes_are_chosen_by_their_keys() {
    let cases: &[(&str, Pairs<'_>, &str)] = &[
        (
            "tencent",
            &[
                ("product_id", "ZAJCHA24SH"),
                ("device_name", "d1"),
                ("product_secret", "vGGwnSkyM4eD5ddbNrQoGJox"),
            ],
            "ZAJCHA24SH",
        ),
        (
            "onenet",
            &[
                ("product_id", "Ck2AF9QD2K"),
                ("device_name", "d1"),
                ("userid", "226691"),
                (
                    "userkey",
                    "pk1M3FKXBvvmjF8If/xDfSFFmr96NZCEg00sxlLBMjjh9vOD5hpIs42rmAYnMh5b3m9B1+0rmYdqzUyoQVrxow==",
                ),
            ],
            "Ck2AF9QD2K",
        ),
        (
            "huawei",
            &[
                ("product_id", "6203cc94c7fb24029b110408"),
                ("device_name", "d1"),
                ("project_id", "x"),
                ("iam_username", "u"),
                ("iam_password", "p"),
                ("iam_domain", "dom"),
                ("endpoint", "5341624af8.st1"),
            ],
            "6203cc94c7fb24029b110408",
        ),
    ];
    for (cloud, pairs, product) in cases {
        let p = provider(cloud, pairs).unwrap();
        let id = p.registration().unwrap().id();
        assert_eq!((id.product, id.device), (*product, "d1"), "{cloud}");
        // Nothing obtained yet: signing says what is missing instead of guessing.
        assert!(sign(&p, Some(1_700_000_000_000)).is_err(), "{cloud}");
    }
    // Half of an IAM account, or registration next to a secret, is refused by name.
    let e = provider(
        "huawei",
        &[
            ("product_id", "p"),
            ("device_name", "d"),
            ("project_id", "x"),
            ("endpoint", "e"),
        ],
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "missing required key `iam_domain`");
    let e = provider(
        "huawei",
        &[
            ("product_id", "p"),
            ("device_name", "d"),
            ("project_id", "x"),
            ("device_secret", "s"),
        ],
    )
    .unwrap_err();
    assert_eq!(e, ConfigError::Conflict(Key::ProjectId, Key::DeviceSecret));
    let e = provider(
        "tencent",
        &[
            ("product_id", "ZAJCHA24SH"),
            ("device_name", "d1"),
            ("product_secret", "vGGwnSkyM4eD5ddbNrQoGJox"),
            ("register_flow", "regnwl"),
        ],
    )
    .unwrap_err();
    assert!(matches!(
        e,
        ConfigError::InvalidValue {
            key: Key::RegisterFlow,
            ..
        }
    ));
}

#[test]
fn any_provider_reports_its_cloud_and_tls_choices() {
    let p = provider(
        "tlink",
        &[
            ("product_id", "acct"),
            ("device_name", "SERIAL1"),
            ("product_secret", "pw"),
            ("tls", "true"),
        ],
    )
    .unwrap();
    assert_eq!((p.kind(), p.cloud()), (Cloud::Tlink, "tlink"));
    let mut host = [0u8; 256];
    let e = p.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("mq.tlink.io", 8883));
    assert_eq!(e.tls.unwrap().server, ServerAuth::DefaultRoots);
    let p = provider(
        "tlink",
        &[
            ("product_id", "acct"),
            ("device_name", "SERIAL1"),
            ("product_secret", "pw"),
            ("tls", "insecure"),
        ],
    )
    .unwrap();
    assert_eq!(
        p.endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap()
            .tls
            .unwrap()
            .server,
        ServerAuth::NoVerification
    );
    let shown = std::format!("{p:?}");
    assert!(!shown.contains("\"pw\""), "{shown}");
}

#[test]
fn a_standard_broker_is_the_mqtt_cloud() {
    // Port, and whether TLS checks against the default roots.
    fn endpoint(p: &AnyProvider<'_>) -> (u16, Option<bool>) {
        let mut buf = [0u8; 64];
        let e = p.endpoint(&mut Scratch::new(&mut buf)).unwrap();
        (
            e.port,
            e.tls.map(|t| matches!(t.server, ServerAuth::DefaultRoots)),
        )
    }
    let plain = provider("mqtt", &[("host", "broker.lan"), ("client_id", "dev-1")]).unwrap();
    assert_eq!(plain.kind(), Cloud::Mqtt);
    assert_eq!(
        signed("mqtt", &[("host", "h"), ("client_id", "dev-1")]),
        ("dev-1".into(), None, None)
    );
    assert_eq!(endpoint(&plain), (1883, None));
    let login = [
        ("host", "h"),
        ("device_name", "d"),
        ("username", "u"),
        ("password", "p"),
    ];
    assert_eq!(
        signed("mqtt", &login),
        ("d".into(), Some("u".into()), Some("p".into()))
    );
    let tls = provider(
        "mqtt",
        &[("host", "h"), ("client_id", "d"), ("tls", "true")],
    )
    .unwrap();
    assert_eq!(endpoint(&tls), (8883, Some(true)));
    // Without a host, without a user name for the password, with another cloud's key: named.
    assert_eq!(
        provider("mqtt", &[("client_id", "d")]).err(),
        Some(ConfigError::Provider(ProviderError::MissingKey("host")))
    );
    assert_eq!(
        provider(
            "mqtt",
            &[("host", "h"), ("client_id", "d"), ("password", "p")]
        )
        .err(),
        Some(ConfigError::Provider(ProviderError::MissingKey("username")))
    );
    assert!(matches!(
        provider(
            "mqtt",
            &[("host", "h"), ("client_id", "d"), ("device_secret", "s")]
        ),
        Err(ConfigError::NotForCloud {
            key: Key::DeviceSecret,
            cloud: Cloud::Mqtt
        })
    ));
    let with_login = provider(
        "mqtt",
        &[
            ("host", "h"),
            ("client_id", "d"),
            ("username", "u"),
            ("password", "pw9"),
        ],
    )
    .unwrap();
    assert!(!std::format!("{with_login:?}").contains("pw9"));
}

#[test]
#[cfg(feature = "ota")]
fn the_mqtt_file_download_reaches_the_provider_through_the_facade() {
    use iotcloud_core::ota::{BlockReply, OtaFormat as _};
    let aliyun = provider(
        "aliyun",
        &[
            ("product_id", "a1B2c3"),
            ("device_name", "dev01"),
            ("device_secret", "secret"),
        ],
    )
    .unwrap();
    let ota = aliyun.ota().unwrap();
    assert!(
        ota.block_overhead() > 256,
        "Aliyun's reply header and request room"
    );
    // A reply too short for its framing is Aliyun's to name, not passed over.
    assert!(matches!(
        ota.block_reply("/sys/a1B2c3/dev01/thing/file/download_reply", &[0]),
        BlockReply::Invalid(_)
    ));
    assert_eq!(
        ota.block_reply("/a1B2c3/dev01/user/get", &[0]),
        BlockReply::NotBlock
    );
    // A cloud without the file download says so by a zero overhead.
    let tencent = provider(
        "tencent",
        &[
            ("product_id", "LD8S5J1L07"),
            ("device_name", "test"),
            ("device_secret", "acyv3QDJrRa0fW5UE58KnQ=="),
        ],
    )
    .unwrap();
    assert_eq!(tencent.ota().unwrap().block_overhead(), 0);
}
