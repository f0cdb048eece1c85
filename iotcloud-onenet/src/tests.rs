use std::format;
use std::string::{String, ToString};

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
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
    let o = OneNet::with_secret(PID, DN, KEY).unwrap();
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
    let o = OneNet::with_secret(PID, DN, KEY).unwrap();
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
    let o = OneNet::with_secret(PID, DN, KEY)
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
    let o = OneNet::with_secret("12342334", DN, "adfasdfadsfadsf=").unwrap();
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
    let o = OneNet::with_product_secret(PID, "869329069169988", KEY).unwrap();
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
fn by_default_an_unknown_time_signs_the_sdks_2050_expiry() {
    let o = OneNet::with_secret(PID, DN, KEY).unwrap();
    // HMAC-SHA256 of "2524579200\nsha256\nproducts/Ck2AF9QD2K/devices/test\n2018-10-31"
    // under the decoded key, recomputed independently.
    assert_eq!(
        sign(&o, at(None)).unwrap(),
        (
            DN.to_string(),
            PID.to_string(),
            "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=2524579200\
             &method=sha256&sign=CsjDdHiebZwjT89FHSNmi1MB8Dmo3NlM0nzw4UOQW38%3D"
                .to_string()
        )
    );
    // A known time is still the clock plus the window.
    assert!(
        sign(&o, at(Some(1_700_000_000)))
            .unwrap()
            .2
            .contains("&et=1700003600&")
    );
}

#[test]
fn by_default_the_expiry_is_the_clock_plus_one_hour_and_sha256_signs() {
    let o = OneNet::with_secret(PID, DN, KEY).unwrap();
    let expected = "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=1700003600\
                    &method=sha256&sign=pYClBk%2FTqIDWwimlwa%2FVqOOGjZE1Q4ZB0LmnhZqBQmw%3D";
    assert_eq!(sign(&o, at(Some(1_700_000_000))).unwrap().2, expected);
    assert_eq!(
        sign(&o.with_timestamp(TimestampPolicy::Now), at(None)).unwrap_err(),
        ProviderError::TimeUnknown,
        "the strict policy needs the time"
    );
    assert_eq!(
        sign(
            &o.with_timestamp(TimestampPolicy::Now),
            at(Some(1_700_000_000))
        )
        .unwrap()
        .2,
        expected,
        "the default signs a known time exactly as Now"
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
    let o = OneNet::with_secret(PID, "a b&c=d?e%f", KEY).unwrap();
    assert_eq!(
        sign(&o, at(Some(1_700_000_000))).unwrap().2,
        "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Fa%20b%26c%3Dd%3Fe%25f\
         &et=1700003600&method=sha256&sign=ZNRBUs6I3tK3ln6BPqQpFPtHdEnZ1vZjxWDxxUXwRX8%3D"
    );
}

#[test]
fn keys_are_checked_as_base64_when_configured() {
    assert_eq!(
        OneNet::with_secret(PID, DN, "not base64!").unwrap_err(),
        ProviderError::InvalidBase64("device_secret")
    );
    assert_eq!(
        OneNet::with_product_secret(PID, DN, "abc").unwrap_err(),
        ProviderError::InvalidBase64("product_secret")
    );
    assert_eq!(
        OneNet::with_secret(PID, DN, "").unwrap_err(),
        ProviderError::MissingKey("device_secret")
    );
    let long = "A".repeat(4 * (MAX_KEY_LEN / 3 + 2));
    assert!(matches!(
        OneNet::with_secret(PID, DN, &long),
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
            OneNet::with_secret(bad, DN, KEY),
            Err(ProviderError::InvalidValue {
                key: "product_id",
                ..
            })
        ));
        assert!(matches!(
            OneNet::with_secret(PID, bad, KEY),
            Err(ProviderError::InvalidValue {
                key: "device_name",
                ..
            })
        ));
    }
    assert_eq!(
        OneNet::with_secret(PID, "", KEY).unwrap_err(),
        ProviderError::MissingKey("device_name")
    );
    let long = "d".repeat(MAX_ID_LEN + 1);
    assert!(OneNet::with_secret(PID, &long, KEY).is_err());
    let o = OneNet::with_secret(PID, DN, KEY).unwrap();
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
    let o = OneNet::with_secret(&pid, &dn, KEY).unwrap();
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
    let o = OneNet::with_secret(PID, DN, KEY).unwrap();
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
    let o = OneNet::with_secret(PID, DN, KEY).unwrap();
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
    for (o, key) in [
        (OneNet::with_secret(PID, DN, KEY).unwrap(), "DeviceSecret"),
        (
            OneNet::with_product_secret(PID, DN, KEY).unwrap(),
            "ProductSecret",
        ),
    ] {
        let shown = format!("{o:?}");
        assert!(!shown.contains(KEY), "{shown}");
        // Which key it is, but not the key.
        assert!(shown.contains(&format!("{key}(<redacted>)")), "{shown}");
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

// OTA: the announcement topic and the HTTP OTA API.
mod ota;

// Dynamic registration.
#[cfg(feature = "registration")]
mod registration;
