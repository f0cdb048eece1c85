use std::format;
use std::string::{String, ToString};

use iotcloud_core::provider::TlsChoice;
use iotcloud_core::sign::Base64;
use iotcloud_core::transport::{Psk, ServerAuth, TransportCaps};
use iotcloud_testkit::{ota_subscriptions, system_subscriptions};

use super::*;

const PID: &str = "LD8S5J1L07";
const DN: &str = "test";
const PSK: &str = "acyv3QDJrRa0fW5UE58KnQ==";

const CERT: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY: &[u8] = b"-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n";

/// The random value whose base-26 digits, least significant first, spell `abcde`.
const RANDOM_ABCDE: u64 = 62 + 2 * 62 * 62 + 3 * 62 * 62 * 62 + 4 * 62 * 62 * 62 * 62;

fn at(unix_secs: Option<u64>, random: u64) -> SignContext<'static> {
    SignContext {
        unix_time_ms: unix_secs.map(|s| s * 1000 + 456),
        random,
        registered: None,
    }
}

fn sign(
    t: &Tencent<'_>,
    ctx: SignContext,
) -> Result<(String, String, Option<String>), ProviderError> {
    let mut buf = [0u8; 512];
    let c = t.sign(&ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        c.client_id.to_string(),
        c.username.unwrap().to_string(),
        c.password.map(ToString::to_string),
    ))
}

fn luatos() -> Tencent<'static> {
    Tencent::with_secret(PID, DN, PSK)
        .unwrap()
        .with_app_id(LUATOS_APP_ID)
        .unwrap()
        .with_conn_id("abcde")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
}

fn identity() -> ClientIdentity<'static> {
    ClientIdentity {
        cert_pem: CERT,
        key_pem: KEY,
    }
}

fn is_conn_id(s: &str) -> bool {
    s.len() == CONN_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[test]
fn luatos_vector_hmac_sha256() {
    // luatos-iotcloud.md §6, Tencent, connid fixed to `abcde`.
    let (client_id, username, password) = sign(&luatos(), at(None, 0)).unwrap();
    assert_eq!(client_id, "LD8S5J1L07test");
    assert_eq!(username, "LD8S5J1L07test;12010126;abcde;32472115200");
    assert_eq!(
        password.unwrap(),
        "330d31dbd0758c2429e92b586981346962759a5c8742b5af18fb81a1ecf4e318;hmacsha256"
    );
}

#[test]
fn luatos_vector_hmac_sha1() {
    // luatos-iotcloud.md §6, Tencent, method sha1.
    let t = luatos().with_sign_method(SignMethod::from_name("sha1").unwrap());
    let (client_id, username, password) = sign(&t, at(None, 0)).unwrap();
    assert_eq!(client_id, "LD8S5J1L07test");
    assert_eq!(username, "LD8S5J1L07test;12010126;abcde;32472115200");
    assert_eq!(
        password.unwrap(),
        "3dc0d946301a04219b1c5ff4446109ad24982539;hmacsha1"
    );
}

#[test]
fn the_random_connection_id_reproduces_the_vector_too() {
    let t = Tencent::with_secret(PID, DN, PSK)
        .unwrap()
        .with_app_id(LUATOS_APP_ID)
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault);
    let (_, username, password) = sign(&t, at(None, RANDOM_ABCDE)).unwrap();
    assert_eq!(username, "LD8S5J1L07test;12010126;abcde;32472115200");
    assert_eq!(password, sign(&luatos(), at(None, 0)).unwrap().2);
}

#[test]
fn random_values_always_map_to_five_letters_or_digits() {
    let mut seen = std::collections::BTreeSet::new();
    let samples = [
        0,
        1,
        25,
        26,
        u64::MAX,
        u64::MAX - 1,
        1 << 63,
        0x8080_8080_8080_8080,
    ]
    .into_iter()
    .chain((0..2000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    for random in samples {
        let id = RandomConnId(random).to_string();
        assert!(is_conn_id(&id), "{random:#x} gave {id:?}");
        seen.insert(id);
    }
    assert_eq!(RandomConnId(0).to_string(), "aaaaa");
    assert_eq!(RandomConnId(25).to_string(), "zaaaa");
    // Upper case and digits too, as Tencent's SDK draws them.
    assert_eq!(RandomConnId(26).to_string(), "Aaaaa");
    assert_eq!(RandomConnId(61 + 62 * 26).to_string(), "9Aaaa");
    assert!(
        seen.iter()
            .any(|id| id.bytes().any(|b| b.is_ascii_uppercase()))
    );
    assert!(seen.iter().any(|id| id.bytes().any(|b| b.is_ascii_digit())));
    assert!(seen.len() > 1990, "ids collide too often: {}", seen.len());
}

#[test]
fn every_connect_gets_a_new_connection_id_and_a_matching_password() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    let (_, a, pa) = sign(&t, at(Some(1_700_000_000), 1)).unwrap();
    let (_, b, pb) = sign(&t, at(Some(1_700_000_000), 2)).unwrap();
    assert_ne!(a, b);
    assert_ne!(pa, pb);
    for (username, password) in [(a, pa.unwrap()), (b, pb.unwrap())] {
        let fields: std::vec::Vec<&str> = username.split(';').collect();
        assert_eq!(fields.len(), 4, "{username}");
        assert_eq!(fields[0], "LD8S5J1L07test");
        assert_eq!(fields[1], SDK_APP_ID, "the SDK's sdkappid by default");
        assert!(is_conn_id(fields[2]), "{username}");
        assert_eq!(fields[3], "1700003600");
        let mut psk = [0u8; 16];
        assert_eq!(base64_decode(PSK, &mut psk), Some(16));
        let mac = hmac(Algorithm::Sha256, &psk, &[username.as_bytes()]).unwrap();
        assert_eq!(password, format!("{};hmacsha256", mac.hex()));
    }
}

#[test]
fn the_expiry_is_the_clock_time_plus_the_validity_window() {
    let t = Tencent::with_secret(PID, DN, PSK)
        .unwrap()
        .with_conn_id("abcde")
        .unwrap();
    let (_, username, password) = sign(&t, at(Some(1_700_000_000), 9)).unwrap();
    assert_eq!(username, "LD8S5J1L07test;21010406;abcde;1700003600");
    // Recomputed independently (Python hmac) from the inputs above.
    assert_eq!(
        password.unwrap(),
        "4145d492b1593d2dc01218b1353532eff63ca2693ec1adf2f1cfe6df35b87176;hmacsha256"
    );
    let day = t.clone().with_validity(86_400).unwrap();
    assert!(
        sign(&day, at(Some(1_700_000_000), 9))
            .unwrap()
            .1
            .ends_with(";1700086400")
    );
    let fixed = t
        .clone()
        .with_timestamp(TimestampPolicy::Fixed(1_700_003_600));
    assert_eq!(
        sign(&fixed, at(None, 9)).unwrap(),
        sign(&t, at(Some(1_700_000_000), 9)).unwrap(),
        "Fixed is the expiry itself, without the window"
    );
    assert!(matches!(
        t.clone().with_validity(0),
        Err(ProviderError::InvalidValue {
            key: "validity",
            ..
        })
    ));
}

#[test]
fn an_unknown_time_is_an_error_unless_the_policy_needs_none() {
    let t = Tencent::with_secret(PID, DN, PSK)
        .unwrap()
        .with_timestamp(TimestampPolicy::Now);
    assert_eq!(
        sign(&t, at(None, 0)).unwrap_err(),
        ProviderError::TimeUnknown
    );
    let far = t.with_timestamp(TimestampPolicy::LuatosDefault);
    assert!(sign(&far, at(None, 0)).unwrap().1.ends_with(";32472115200"));
}

#[test]
fn by_default_an_unknown_time_signs_the_sdks_never_expiring_expiry() {
    let t = Tencent::with_secret(PID, DN, PSK)
        .unwrap()
        .with_conn_id("abcde")
        .unwrap();
    assert_eq!(
        sign(&t, at(None, 9)).unwrap(),
        (
            "LD8S5J1L07test".to_string(),
            "LD8S5J1L07test;21010406;abcde;9223372036854775807".to_string(),
            // Recomputed independently (Python hmac) from the inputs above.
            Some(
                "17fe0955546ab56d4837088ba72446176347d0c99cd9f6b3d26ef1bb7f4802a3;hmacsha256"
                    .to_string()
            )
        )
    );
    assert_eq!(CLOCKLESS_EXPIRY, i64::MAX.unsigned_abs());
    // A known time signs exactly as the strict policy does: the clock plus the window.
    let strict = t.clone().with_timestamp(TimestampPolicy::Now);
    assert_eq!(
        sign(&t, at(Some(1_700_000_000), 9)).unwrap(),
        sign(&strict, at(Some(1_700_000_000), 9)).unwrap()
    );
    assert!(
        sign(&t, at(Some(1_700_000_000), 9))
            .unwrap()
            .1
            .ends_with(";1700003600")
    );
}

#[test]
fn a_secret_that_is_not_base64_is_refused_at_construction() {
    for bad in [
        "not base64!",
        "acyv3QDJrRa0fW5UE58KnQ",
        "acyv3QDJrRa0fW5UE58KnQ=",
        "a===",
        "ä",
    ] {
        assert_eq!(
            Tencent::with_secret(PID, DN, bad).unwrap_err(),
            ProviderError::InvalidBase64("device_secret"),
            "{bad:?}"
        );
    }
    // Padding in the middle of a long value is not base64 either.
    let long_padded = format!("{}AA=={}", "A".repeat(64), "A".repeat(64));
    assert_eq!(
        Tencent::with_secret(PID, DN, &long_padded).unwrap_err(),
        ProviderError::InvalidBase64("device_secret")
    );
    assert_eq!(
        Tencent::with_secret(PID, DN, "").unwrap_err(),
        ProviderError::MissingKey("device_secret")
    );
}

#[test]
fn a_secret_decoding_to_more_than_48_bytes_is_refused_not_truncated() {
    let fits = Base64(&[7u8; MAX_PSK_LEN]).to_string();
    assert_eq!(fits.len(), 64);
    assert!(Tencent::with_secret(PID, DN, &fits).is_ok());
    for len in [MAX_PSK_LEN + 1, 51, 100, 300] {
        let long = Base64(&std::vec![7u8; len]).to_string();
        assert!(
            matches!(
                Tencent::with_secret(PID, DN, &long),
                Err(ProviderError::InvalidValue {
                    key: "device_secret",
                    ..
                })
            ),
            "{len} bytes"
        );
    }
}

#[test]
fn sign_methods_by_name_in_any_case() {
    for name in ["hmacsha256", "HMACSHA256", "HmacSha256", "sha256", "SHA256"] {
        assert_eq!(
            SignMethod::from_name(name),
            Ok(SignMethod::HmacSha256),
            "{name}"
        );
    }
    for name in ["hmacsha1", "HMACSHA1", "sha1", "Sha1"] {
        assert_eq!(
            SignMethod::from_name(name),
            Ok(SignMethod::HmacSha1),
            "{name}"
        );
    }
    for name in ["md5", "hmacmd5", "sha512", ""] {
        assert!(
            matches!(
                SignMethod::from_name(name),
                Err(ProviderError::InvalidValue { key: "method", .. })
            ),
            "{name:?}"
        );
    }
    assert_eq!(SignMethod::default(), SignMethod::HmacSha256);
}

#[test]
fn identifiers_that_would_break_topics_or_the_user_name_are_refused() {
    for bad in ["a/b", "a+", "x#", "a\0b", "a;b"] {
        assert!(
            matches!(
                Tencent::with_secret(PID, bad, PSK),
                Err(ProviderError::InvalidValue {
                    key: "device_name",
                    ..
                })
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                Tencent::with_secret(bad, DN, PSK),
                Err(ProviderError::InvalidValue {
                    key: "product_id",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        Tencent::with_secret("", DN, PSK).unwrap_err(),
        ProviderError::MissingKey("product_id")
    );
    assert_eq!(
        Tencent::with_secret(PID, "", PSK).unwrap_err(),
        ProviderError::MissingKey("device_name")
    );
    assert!(Tencent::with_secret("LD8S5J1L07X", DN, PSK).is_err());
    let longest = "d".repeat(MAX_DEVICE_NAME_LEN);
    assert!(Tencent::with_secret(PID, &longest, PSK).is_ok());
    let too_long = "d".repeat(MAX_DEVICE_NAME_LEN + 1);
    assert!(Tencent::with_secret(PID, &too_long, PSK).is_err());
}

#[test]
fn app_id_and_conn_id_can_be_set_but_must_be_well_formed() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    let set = t
        .clone()
        .with_app_id("12345678")
        .unwrap()
        .with_conn_id("A1b2C")
        .unwrap();
    assert!(
        sign(&set, at(Some(1), 0))
            .unwrap()
            .1
            .starts_with("LD8S5J1L07test;12345678;A1b2C;")
    );
    for bad in ["12a", "1;2", "12345678901", " 1"] {
        assert!(
            matches!(
                t.clone().with_app_id(bad),
                Err(ProviderError::InvalidValue { key: "app_id", .. })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        t.clone().with_app_id("").unwrap_err(),
        ProviderError::MissingKey("app_id")
    );
    for bad in ["abcd", "abcdef", "ab;de", "ab de", "ab/de", ""] {
        assert!(
            matches!(
                t.clone().with_conn_id(bad),
                Err(ProviderError::InvalidValue { key: "conn_id", .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn keep_alive_is_0_to_900_seconds() {
    assert_eq!(
        (KEEP_ALIVE.min, KEEP_ALIVE.max, KEEP_ALIVE.default),
        (0, MAX_KEEP_ALIVE_SECS, DEFAULT_KEEP_ALIVE_SECS)
    );
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    assert_eq!(t.mqtt_options().keep_alive_secs, DEFAULT_KEEP_ALIVE_SECS);
    assert_eq!(t.connection().keep_alive_secs, DEFAULT_KEEP_ALIVE_SECS);
    assert!(t.mqtt_options().clean_session);
    for ok in [0, 60, 900] {
        assert_eq!(
            t.clone()
                .with_keep_alive(ok)
                .unwrap()
                .mqtt_options()
                .keep_alive_secs,
            ok
        );
    }
    for bad in [901, 1200, u16::MAX] {
        assert!(matches!(
            t.clone().with_keep_alive(bad),
            Err(ProviderError::InvalidValue {
                key: "keepalive",
                ..
            })
        ));
    }
}

#[test]
fn key_authentication_connects_in_plain_tcp_on_1883() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    let mut host = [0u8; 256];
    let e = t.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port, e.tls),
        ("LD8S5J1L07.iotcloud.tencentdevices.com", 1883, None)
    );
    // Server-checked TLS is not what Tencent offers key devices; only with a port.
    let tls = t.clone().with_overrides(EndpointOverrides {
        tls: TlsChoice::On(ServerAuth::CaPem(CA_PEM)),
        ..Default::default()
    });
    assert!(matches!(
        tls.endpoint(&mut Scratch::new(&mut [0u8; 256])),
        Err(ProviderError::InvalidValue { key: "tls", .. })
    ));
    let tls = t.clone().with_overrides(EndpointOverrides {
        port: Some(8883),
        tls: TlsChoice::On(ServerAuth::CaPem(CA_PEM)),
        ..Default::default()
    });
    let mut host = [0u8; 256];
    let e = tls.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(e.port, 8883);
    assert_eq!(e.tls.unwrap().server, ServerAuth::CaPem(CA_PEM));
}

/// `acyv3QDJrRa0fW5UE58KnQ==`, decoded.
const PSK_BYTES: [u8; 16] = [
    0x69, 0xcc, 0xaf, 0xdd, 0x00, 0xc9, 0xad, 0x16, 0xb4, 0x7d, 0x6e, 0x54, 0x13, 0x9f, 0x0a, 0x9d,
];

fn endpoint_for(t: &Tencent<'_>, caps: TransportCaps) -> Result<String, ProviderError> {
    let mut buf = [0u8; 256];
    let e = t.endpoint_for(&mut Scratch::new(&mut buf), caps)?;
    Ok(format!(
        "{}:{} {:?}",
        e.host,
        e.port,
        e.tls.map(|t| t.server)
    ))
}

#[test]
fn key_authentication_is_tls_psk_on_8883_only_where_the_transport_has_it() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    let mut buf = [0u8; 256];
    let e = t
        .endpoint_for(&mut Scratch::new(&mut buf), TransportCaps::PSK)
        .unwrap();
    assert_eq!(
        (e.host, e.port),
        ("LD8S5J1L07.iotcloud.tencentdevices.com", 8883)
    );
    let tls = e.tls.unwrap();
    // What Tencent's SDK sends: identity `{pid}{dn}`, key the decoded device secret.
    let ServerAuth::Psk(psk) = tls.server else {
        panic!("not TLS-PSK: {tls:?}");
    };
    assert_eq!(
        (psk.identity(), psk.key()),
        ("LD8S5J1L07test", &PSK_BYTES[..])
    );
    assert_eq!((tls.server_name, tls.client), (None, None));
    // The same key, made on its own.
    let mut buf = [0u8; 64];
    assert_eq!(t.psk(&mut Scratch::new(&mut buf)).unwrap(), psk);

    // A transport without TLS-PSK: plain TCP on 1883, as `endpoint` says.
    let plain = "LD8S5J1L07.iotcloud.tencentdevices.com:1883 None";
    assert_eq!(endpoint_for(&t, TransportCaps::NONE).unwrap(), plain);
    let mut buf = [0u8; 256];
    assert_eq!(t.endpoint(&mut Scratch::new(&mut buf)).unwrap().tls, None);
    // A port override keeps TLS-PSK; a host override too.
    let local = t.clone().with_host("127.0.0.1").with_port(18883);
    let e = endpoint_for(&local, TransportCaps::PSK).unwrap();
    assert!(e.starts_with("127.0.0.1:18883 Some(Psk(Psk {"), "{e}");
    // A scratch too small for the host, identity and key is an error, not a truncation.
    assert!(matches!(
        t.endpoint_for(&mut Scratch::new(&mut [0u8; 60]), TransportCaps::PSK),
        Err(ProviderError::ScratchFull(_))
    ));
}

#[test]
fn an_explicit_tls_choice_wins_over_the_transports_psk() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    // `tls=false`: plain TCP on 1883.
    let off = t.clone().with_tls(TlsChoice::Off);
    assert_eq!(
        endpoint_for(&off, TransportCaps::PSK).unwrap(),
        "LD8S5J1L07.iotcloud.tencentdevices.com:1883 None"
    );
    // A CA: certificate-checked TLS, which still needs a port for a key device.
    let ca = t.clone().with_tls(TlsChoice::On(ServerAuth::CaPem(CA_PEM)));
    assert!(matches!(
        endpoint_for(&ca, TransportCaps::PSK),
        Err(ProviderError::InvalidValue { key: "tls", .. })
    ));
    let ca = ca.with_port(8883);
    let mut buf = [0u8; 256];
    let e = ca
        .endpoint_for(&mut Scratch::new(&mut buf), TransportCaps::PSK)
        .unwrap();
    assert_eq!(
        (e.port, e.tls.unwrap().server),
        (8883, ServerAuth::CaPem(CA_PEM))
    );
    // A key of the user's own: TLS-PSK on 8883 whatever the transport says (a transport
    // without it then refuses the connect).
    let mut own = [0u8; 16];
    let own = Psk::write(&mut own, "someone", b"K").unwrap();
    let chosen = t.clone().with_tls(TlsChoice::On(ServerAuth::Psk(own)));
    let mut buf = [0u8; 256];
    let e = chosen
        .endpoint_for(&mut Scratch::new(&mut buf), TransportCaps::NONE)
        .unwrap();
    assert_eq!(
        (e.port, e.tls.unwrap().server),
        (8883, ServerAuth::Psk(own))
    );
}

#[test]
fn certificate_devices_do_not_change_with_the_transports_psk() {
    let t = Tencent::with_certificate(PID, DN, identity()).unwrap();
    assert_eq!(
        endpoint_for(&t, TransportCaps::PSK).unwrap(),
        endpoint_for(&t, TransportCaps::NONE).unwrap()
    );
    let mut buf = [0u8; 64];
    assert!(matches!(
        t.psk(&mut Scratch::new(&mut buf)),
        Err(ProviderError::Unsupported(_))
    ));
}

#[test]
fn debug_of_a_psk_endpoint_never_shows_the_key() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    let mut buf = [0u8; 256];
    let e = t
        .endpoint_for(&mut Scratch::new(&mut buf), TransportCaps::PSK)
        .unwrap();
    let shown = format!("{e:?} {:#?}", e.tls);
    assert!(shown.contains("LD8S5J1L07test"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    // Neither the base64 secret nor the key's bytes, in decimal or hex.
    assert!(!shown.contains("acyv3QDJ"), "{shown}");
    assert!(!shown.contains("105, 204"), "{shown}");
    assert!(!shown.contains("0x69"), "{shown}");
    assert!(!shown.to_lowercase().contains("69ccaf"), "{shown}");
}

#[test]
fn certificate_authentication_is_mutual_tls_on_8883_without_a_password() {
    let t = Tencent::with_certificate(PID, DN, identity())
        .unwrap()
        .with_app_id(LUATOS_APP_ID)
        .unwrap()
        .with_conn_id("abcde")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault);
    assert_eq!(t.auth_mode(), AuthMode::Certificate);
    let mut host = [0u8; 256];
    let e = t.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port),
        ("LD8S5J1L07.iotcloud.tencentdevices.com", 8883)
    );
    let tls = e.tls.unwrap();
    assert_eq!(tls.server, ServerAuth::CaPem(CA_PEM));
    assert_eq!(tls.client, Some(identity()));
    let (client_id, username, password) = sign(&t, at(None, 0)).unwrap();
    assert_eq!(client_id, "LD8S5J1L07test");
    assert_eq!(username, "LD8S5J1L07test;12010126;abcde;32472115200");
    assert_eq!(password, None);
    // The device's own certificate is presented even if the overrides name another.
    let other = ClientIdentity {
        cert_pem: b"-----BEGIN CERTIFICATE-----\nOTHER\n",
        key_pem: KEY,
    };
    let o = t.clone().with_overrides(EndpointOverrides {
        client: Some(other),
        ..Default::default()
    });
    assert_eq!(
        o.endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .unwrap()
            .tls
            .unwrap()
            .client,
        Some(identity())
    );
    // Plain TCP needs an explicit port: Tencent has none for certificates.
    let plain = t.clone().with_overrides(EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    });
    assert!(matches!(
        plain.endpoint(&mut Scratch::new(&mut [0u8; 256])),
        Err(ProviderError::InvalidValue { key: "tls", .. })
    ));
}

#[test]
fn certificate_and_key_must_be_pem() {
    let missing_cert = ClientIdentity {
        cert_pem: b"",
        key_pem: KEY,
    };
    assert_eq!(
        Tencent::with_certificate(PID, DN, missing_cert).unwrap_err(),
        ProviderError::MissingKey("client_cert")
    );
    let der_key = ClientIdentity {
        cert_pem: CERT,
        key_pem: &[0x30, 0x82, 0x01, 0x00],
    };
    assert!(matches!(
        Tencent::with_certificate(PID, DN, der_key),
        Err(ProviderError::InvalidValue {
            key: "client_key",
            ..
        })
    ));
}

#[test]
fn regions_and_overrides_choose_the_host() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    for (name, host) in [
        ("china", "LD8S5J1L07.iotcloud.tencentdevices.com"),
        ("ap-guangzhou", "LD8S5J1L07.iotcloud.tencentdevices.com"),
        ("us-east", "LD8S5J1L07.us-east.iotcloud.tencentdevices.com"),
        ("Europe", "LD8S5J1L07.europe.iothub.tencentdevices.com"),
        (
            "ap-bangkok",
            "LD8S5J1L07.ap-bangkok.iothub.tencentdevices.com",
        ),
    ] {
        let r = t
            .clone()
            .with_region(Region::from_name(name).unwrap())
            .unwrap();
        assert_eq!(
            r.endpoint(&mut Scratch::new(&mut [0u8; 256])).unwrap().host,
            host,
            "{name}"
        );
    }
    assert!(matches!(
        Region::from_name("mars"),
        Err(ProviderError::InvalidValue { key: "region", .. })
    ));
    let local = t.with_overrides(iotcloud_testkit::local(11883));
    let mut host = [0u8; 256];
    let e = local.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 11883, None));
}

#[test]
fn topics() {
    let t = Tencent::with_secret(PID, DN, PSK).unwrap();
    let cases = [
        (t.data(), "LD8S5J1L07/test/data"),
        (t.control(), "LD8S5J1L07/test/control"),
        (t.event(), "LD8S5J1L07/test/event"),
        (t.topic("custom/x"), "LD8S5J1L07/test/custom/x"),
        (t.property_up(), "$thing/up/property/LD8S5J1L07/test"),
        (t.property_down(), "$thing/down/property/LD8S5J1L07/test"),
        (t.event_up(), "$thing/up/event/LD8S5J1L07/test"),
        (t.event_down(), "$thing/down/event/LD8S5J1L07/test"),
        (t.action_up(), "$thing/up/action/LD8S5J1L07/test"),
        (t.action_down(), "$thing/down/action/LD8S5J1L07/test"),
        (t.sys_operation(), "$sys/operation/LD8S5J1L07/test"),
        (
            t.sys_operation_result(),
            "$sys/operation/result/LD8S5J1L07/test",
        ),
        (t.shadow_operation(), "$shadow/operation/LD8S5J1L07/test"),
        (
            t.shadow_operation_result(),
            "$shadow/operation/result/LD8S5J1L07/test",
        ),
    ];
    for (topic, expected) in cases {
        assert_eq!(topic.to_string(), expected);
        assert_eq!(check_topic(expected), Ok(()));
    }
    // Nothing of its own; with OTA on, the OTA downlink.
    assert_eq!(system_subscriptions(&t), []);
    assert_eq!(
        ota_subscriptions(&t),
        [("$ota/update/LD8S5J1L07/test".into(), QoS::AtLeastOnce)],
        "the OTA downlink is the one topic subscribed on connect"
    );
}

#[test]
fn topic_limits_are_255_bytes_and_10_levels() {
    assert_eq!(check_topic("a/b/c/d/e/f/g/h/i/j"), Ok(()));
    assert!(matches!(
        check_topic("a/b/c/d/e/f/g/h/i/j/k"),
        Err(ProviderError::InvalidValue { key: "topic", .. })
    ));
    assert_eq!(check_topic(&"t".repeat(255)), Ok(()));
    assert!(check_topic(&"t".repeat(256)).is_err());
    assert_eq!(check_topic(""), Err(ProviderError::MissingKey("topic")));
    let limits = Tencent::with_secret(PID, DN, PSK).unwrap().limits();
    assert_eq!(
        (limits.max_qos, limits.max_topic_len, limits.max_payload_len),
        (QoS::AtLeastOnce, 255, 16_384)
    );
    assert_eq!(MIN_RECONNECT_INTERVAL_MS, 5_000);
}

#[test]
fn secrets_never_appear_in_debug() {
    let t = luatos();
    let shown = format!("{t:?}");
    assert!(!shown.contains(PSK), "{shown}");
    let c = Tencent::with_certificate(PID, DN, identity()).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("SECRETKEYBYTES"), "{shown}");
    let mut buf = [0u8; 512];
    let cred = t
        .sign(&at(Some(1), 0), &mut Scratch::new(&mut buf))
        .unwrap();
    assert!(!format!("{cred:?}").contains(cred.password.unwrap()));
}

#[test]
fn a_small_scratch_is_an_error_not_a_truncation() {
    let mut buf = [0u8; 60];
    assert!(matches!(
        luatos().sign(&at(None, 0), &mut Scratch::new(&mut buf)),
        Err(ProviderError::ScratchFull(_))
    ));
}

#[test]
fn the_bundled_roots_are_the_tencent_and_globalsign_certificates() {
    let text = core::str::from_utf8(CA_PEM).unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let tencent = include_str!("../certs/tencent-iothub-root-ca.pem");
    let globalsign = include_str!("../certs/globalsign-root-ca-r1.pem");
    assert_eq!(text, format!("{tencent}{globalsign}"));
}
