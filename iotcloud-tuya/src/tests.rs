use std::format;
use std::string::{String, ToString};

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::transport::ServerAuth;
use iotcloud_testkit::{ota_subscriptions, system_subscriptions};

use super::*;

const ID: &str = "6c95875d0f5ba69607nzfl";
const SECRET: &str = "fb803786602df760";

fn at(unix_secs: Option<u64>) -> SignContext<'static> {
    SignContext {
        unix_time_ms: unix_secs.map(|s| s * 1000 + 456),
        random: 7,
        registered: None,
    }
}

fn sign(t: &Tuya<'_>, ctx: SignContext) -> Result<(String, String, String), ProviderError> {
    let mut buf = [0u8; 512];
    let c = t.sign(&ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        c.client_id.to_string(),
        c.username.unwrap().to_string(),
        c.password.unwrap().to_string(),
    ))
}

#[test]
fn luatos_vector_with_the_far_future_timestamp() {
    // luatos-iotcloud.md §6, Tuya.
    let t = Tuya::with_secret(ID, SECRET)
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault);
    let (client_id, username, password) = sign(&t, at(None)).unwrap();
    assert_eq!(client_id, "tuyalink_6c95875d0f5ba69607nzfl");
    assert_eq!(
        username,
        "6c95875d0f5ba69607nzfl|signMethod=hmacSha256,timestamp=7258089600,secureMode=1,accessType=1"
    );
    assert_eq!(
        password,
        "d4e2d498e4195db3ed213b33d662e3b7bf434dc3d5a1f2e63b602ac9248ba72c"
    );
}

#[test]
fn by_default_an_unknown_time_signs_luatos_far_future_timestamp() {
    let t = Tuya::with_secret(ID, SECRET).unwrap();
    // The same bytes as LuatOS's vector (luatos-iotcloud.md §6, Tuya).
    assert_eq!(
        sign(&t, at(None)).unwrap(),
        (
            "tuyalink_6c95875d0f5ba69607nzfl".to_string(),
            "6c95875d0f5ba69607nzfl|signMethod=hmacSha256,timestamp=7258089600,secureMode=1,accessType=1"
                .to_string(),
            "d4e2d498e4195db3ed213b33d662e3b7bf434dc3d5a1f2e63b602ac9248ba72c".to_string()
        )
    );
}

#[test]
fn current_time_is_signed_in_seconds_by_default() {
    let t = Tuya::with_secret(ID, SECRET).unwrap();
    let (_, username, password) = sign(&t, at(Some(1_700_000_000))).unwrap();
    assert!(username.contains(",timestamp=1700000000,"), "{username}");
    // luatos-iotcloud.md §6, Tuya, ts 1700000000.
    assert_eq!(
        password,
        "1560ae9a5d22067b47f6e98347c6e408fd9e9b63cd6c1f354fedbe452b0375db"
    );
    let strict = t.with_timestamp(TimestampPolicy::Now);
    assert_eq!(
        sign(&strict, at(None)).unwrap_err(),
        ProviderError::TimeUnknown,
        "the strict policy needs the time"
    );
    assert_eq!(
        sign(&strict, at(Some(1_700_000_000))).unwrap().2,
        password,
        "the default signs a known time exactly as Now"
    );
    let fixed = t.with_timestamp(TimestampPolicy::Fixed(1_700_000_000));
    assert_eq!(sign(&fixed, at(None)).unwrap().2, password);
}

#[test]
fn secrets_longer_than_16_bytes_key_the_mac_with_their_first_16_unless_asked() {
    let long = "fb803786602df760EXTRA";
    let ctx = at(Some(1_700_000_000));
    let sdk = sign(&Tuya::with_secret(ID, long).unwrap(), ctx).unwrap().2;
    let short = sign(&Tuya::with_secret(ID, SECRET).unwrap(), ctx)
        .unwrap()
        .2;
    assert_eq!(sdk, short, "the official SDK uses only the first 16 bytes");
    let whole = sign(
        &Tuya::with_secret(ID, long)
            .unwrap()
            .with_secret_key(SecretKey::Whole),
        ctx,
    )
    .unwrap()
    .2;
    assert_ne!(whole, short);
    let expected = hmac(
        Algorithm::Sha256,
        long.as_bytes(),
        &[b"deviceId=6c95875d0f5ba69607nzfl,timestamp=1700000000,secureMode=1,accessType=1"],
    )
    .unwrap();
    assert_eq!(whole, expected.hex().to_string());
}

#[test]
fn hmac_sha1_is_named_in_the_user_name_and_gives_40_hex_digits() {
    let t = Tuya::with_secret(ID, SECRET)
        .unwrap()
        .with_sign_method(SignMethod::from_name("HMACSHA1").unwrap());
    let (_, username, password) = sign(&t, at(Some(1_700_000_000))).unwrap();
    assert!(username.contains("|signMethod=hmacSha1,"), "{username}");
    assert_eq!(password.len(), 40);
    assert!(matches!(
        SignMethod::from_name("md5"),
        Err(ProviderError::InvalidValue { key: "method", .. })
    ));
}

#[test]
fn identifiers_that_would_break_topics_or_fields_are_refused() {
    for bad in ["a/b", "a+", "x#", "a\0b", "a,b", "a|b"] {
        assert!(
            matches!(
                Tuya::with_secret(bad, SECRET),
                Err(ProviderError::InvalidValue {
                    key: "device_id",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        Tuya::with_secret("", SECRET).unwrap_err(),
        ProviderError::MissingKey("device_id")
    );
    assert_eq!(
        Tuya::with_secret(ID, "").unwrap_err(),
        ProviderError::MissingKey("device_secret")
    );
    let long = "d".repeat(MAX_DEVICE_ID_LEN + 1);
    assert!(Tuya::with_secret(&long, SECRET).is_err());
    assert!(
        Tuya::with_secret(ID, SECRET)
            .unwrap()
            .with_keep_alive(10)
            .is_err()
    );
}

#[test]
fn endpoint_is_tls_to_the_data_centre_unless_overridden() {
    let t = Tuya::with_secret(ID, SECRET)
        .unwrap()
        .with_data_center(DataCenter::from_name("ueaz").unwrap());
    let mut host = [0u8; 256];
    let e = t.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("m1-ueaz.tuyaus.com", 8883));
    assert_eq!(e.tls.unwrap().server, ServerAuth::CaPem(CA_PEM));
    // Plain TCP needs an explicit port: Tuya has none.
    let plain = t.with_overrides(EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    });
    assert!(matches!(
        plain.endpoint(&mut Scratch::new(&mut [0u8; 256])),
        Err(ProviderError::InvalidValue { key: "tls", .. })
    ));
    let local = t.with_overrides(iotcloud_testkit::local(1883));
    let mut host = [0u8; 256];
    let e = local.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 1883, None));
    assert!(DataCenter::from_name("mars").is_err());
}

#[test]
fn topics_and_system_subscription() {
    let t = Tuya::with_secret(ID, SECRET).unwrap();
    assert_eq!(
        format!("{}", t.property_report()),
        "tylink/6c95875d0f5ba69607nzfl/thing/property/report"
    );
    assert_eq!(
        format!("{}", t.topic("ota/issue")),
        "tylink/6c95875d0f5ba69607nzfl/ota/issue"
    );
    assert_eq!(
        system_subscriptions(&t),
        [(
            "tylink/6c95875d0f5ba69607nzfl/channel/downlink/auto_subscribe".into(),
            QoS::AtLeastOnce
        )]
    );
    // The auto-subscribe channel routes the OTA downlinks too.
    assert_eq!(ota_subscriptions(&t), []);
    // Without the auto-subscribe channel nothing is the provider's own; with OTA on, the
    // OTA downlinks are subscribed one by one.
    let quiet = t.with_auto_subscribe(false);
    assert_eq!(system_subscriptions(&quiet), []);
    #[cfg(feature = "ota")]
    assert_eq!(
        ota_subscriptions(&quiet),
        [
            (
                "tylink/6c95875d0f5ba69607nzfl/ota/issue".into(),
                QoS::AtLeastOnce
            ),
            (
                "tylink/6c95875d0f5ba69607nzfl/ota/get_response".into(),
                QoS::AtLeastOnce
            )
        ]
    );
    assert_eq!(t.limits().max_qos, QoS::AtLeastOnce);
}

#[test]
fn the_secret_never_appears_in_debug() {
    let t = Tuya::with_secret(ID, SECRET).unwrap();
    let shown = format!("{t:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    let mut buf = [0u8; 512];
    let c = t.sign(&at(Some(1)), &mut Scratch::new(&mut buf)).unwrap();
    assert!(!format!("{c:?}").contains(c.password.unwrap()));
}

#[test]
fn the_bundled_roots_are_pem_certificates() {
    let text = core::str::from_utf8(CA_PEM).unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 2);
}
