use std::format;
use std::string::{String, ToString};

use iotcloud_core::ota::OtaSupport;
use iotcloud_core::provider::EndpointOverrides;
use iotcloud_core::transport::ServerAuth;
use iotcloud_testkit::{ota_subscriptions, system_subscriptions};

use super::*;

const SERIAL: &str = "23L698OJDS0Q1MG4";
const ACCOUNT: &str = "tlink_account";
const PASSWORD: &str = "account-password";

fn device() -> Tlink<'static> {
    Tlink::with_secret(ACCOUNT, SERIAL, PASSWORD).unwrap()
}

fn sign(t: &Tlink<'_>, unix_secs: Option<u64>) -> Result<(String, String, String), ProviderError> {
    let ctx = SignContext {
        unix_time_ms: unix_secs.map(|s| s * 1000),
        random: 7,
        registered: None,
    };
    let mut buf = [0u8; 128];
    let c = t.sign(&ctx, &mut Scratch::new(&mut buf))?;
    Ok((
        c.client_id.to_string(),
        c.username.unwrap().to_string(),
        c.password.unwrap().to_string(),
    ))
}

#[test]
fn credentials_are_serial_account_and_password_as_given() {
    // luatos-iotcloud.md §2.8: client id = serial, user name = account, password = the
    // account's password, in clear; no time involved.
    let t = device();
    let expected = (
        SERIAL.to_string(),
        ACCOUNT.to_string(),
        PASSWORD.to_string(),
    );
    assert_eq!(sign(&t, None).unwrap(), expected);
    assert_eq!(sign(&t, Some(1_700_000_000)).unwrap(), expected);
    assert_eq!(t.serial(), SERIAL);
}

#[test]
fn every_key_is_required_and_named() {
    assert_eq!(
        Tlink::with_secret(ACCOUNT, "", PASSWORD).unwrap_err(),
        ProviderError::MissingKey("device_name")
    );
    assert_eq!(
        Tlink::with_secret("", SERIAL, PASSWORD).unwrap_err(),
        ProviderError::MissingKey("product_id")
    );
    assert_eq!(
        Tlink::with_secret(ACCOUNT, SERIAL, "").unwrap_err(),
        ProviderError::MissingKey("product_secret")
    );
    for bad in ["a/b", "a+", "x#", "a\0b"] {
        assert!(
            matches!(
                Tlink::with_secret(ACCOUNT, bad, PASSWORD),
                Err(ProviderError::InvalidValue {
                    key: "device_name",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        Tlink::with_secret("a\0", SERIAL, PASSWORD),
        Err(ProviderError::InvalidValue {
            key: "product_id",
            ..
        })
    ));
    assert!(matches!(
        Tlink::with_secret(ACCOUNT, SERIAL, "p\0"),
        Err(ProviderError::InvalidValue {
            key: "product_secret",
            ..
        })
    ));
    assert!(Tlink::with_secret(ACCOUNT, &"s".repeat(MAX_SERIAL_LEN), PASSWORD).is_ok());
    assert!(Tlink::with_secret(ACCOUNT, &"s".repeat(MAX_SERIAL_LEN + 1), PASSWORD).is_err());
    // Account and password are free text (an e-mail address, symbols).
    assert!(Tlink::with_secret("me@example.com", SERIAL, "p/+#w").is_ok());
}

#[test]
fn the_cloud_default_is_plain_tcp_because_tlink_documents_no_tls() {
    let t = device();
    let mut host = [0u8; 256];
    let e = t.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port, e.tls), ("mq.tlink.io", 1883, None));
    let off = device().with_tls(TlsChoice::Off);
    assert_eq!(off.endpoint(&mut Scratch::new(&mut [0u8; 256])).unwrap(), e);
}

#[test]
fn tls_only_when_asked_with_the_users_own_server_check() {
    let ca = b"-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
    let t = device().with_tls(TlsChoice::On(ServerAuth::CaPem(ca)));
    let mut host = [0u8; 256];
    let e = t.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("mq.tlink.io", 8883));
    assert_eq!(e.tls.unwrap().server, ServerAuth::CaPem(ca));
    let elsewhere = device().with_overrides(EndpointOverrides {
        host: Some("127.0.0.1"),
        port: Some(18883),
        tls: TlsChoice::On(ServerAuth::DefaultRoots),
        client: None,
    });
    let mut host = [0u8; 256];
    let e = elsewhere.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!((e.host, e.port), ("127.0.0.1", 18883));
    assert_eq!(e.tls.unwrap().server, ServerAuth::DefaultRoots);
}

#[test]
fn topics_and_the_command_subscription() {
    let t = device();
    assert_eq!(t.data_topic().to_string(), SERIAL);
    assert_eq!(t.commands_filter().to_string(), format!("{SERIAL}/+"));
    assert_eq!(t.topic("sw1").to_string(), format!("{SERIAL}/sw1"));
    assert_eq!(
        system_subscriptions(&t),
        [("23L698OJDS0Q1MG4/+".into(), QoS::AtMostOnce)]
    );
    let quiet = t.with_command_subscription(false);
    assert_eq!(system_subscriptions(&quiet), []);
}

#[test]
fn limits_and_session_options() {
    let t = device();
    assert_eq!(t.limits().max_qos, QoS::AtLeastOnce);
    assert_eq!(t.limits().max_payload_len, Limits::MQTT.max_payload_len);
    assert_eq!(t.mqtt_options().keep_alive_secs, 240);
    assert_eq!(
        t.with_keep_alive(60)
            .unwrap()
            .mqtt_options()
            .keep_alive_secs,
        60
    );
    // Tlink documents no range: any value is accepted, 0 (off) included.
    assert_eq!(
        t.with_keep_alive(0).unwrap().mqtt_options().keep_alive_secs,
        0
    );
    assert_eq!(
        t.with_keep_alive(u16::MAX)
            .unwrap()
            .connection()
            .keep_alive_secs,
        u16::MAX
    );
    assert!(t.mqtt_options().clean_session);
}

#[test]
fn the_password_never_appears_in_debug() {
    let shown = format!("{:?}", device());
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains(SERIAL), "{shown}");
    let mut buf = [0u8; 128];
    let c = device()
        .sign(
            &SignContext {
                unix_time_ms: None,
                random: 0,
                registered: None,
            },
            &mut Scratch::new(&mut buf),
        )
        .unwrap();
    assert!(!format!("{c:?}").contains(PASSWORD));
}

#[test]
fn a_small_scratch_buffer_is_an_error_not_a_panic() {
    let needed = SERIAL.len() + ACCOUNT.len() + PASSWORD.len();
    for len in 0..needed + 4 {
        let mut buf = std::vec![0u8; len];
        let r = device().sign(
            &SignContext {
                unix_time_ms: None,
                random: 0,
                registered: None,
            },
            &mut Scratch::new(&mut buf),
        );
        assert_eq!(r.is_ok(), len >= needed, "{len}");
    }
}

#[test]
fn ota_is_unsupported_and_says_why() {
    assert_eq!(device().ota().unwrap_err(), OTA_UNSUPPORTED);
    assert_eq!(
        device().ota_support(),
        OtaSupport::Unsupported(OTA_UNSUPPORTED)
    );
    assert!(OTA_UNSUPPORTED.contains("no OTA over MQTT"));
    assert_eq!(Provider::data(&device()).unwrap_err(), DATA_UNSUPPORTED);
    assert!(DATA_UNSUPPORTED.contains("no thing"));
    assert!(device().registration().is_none());
    assert_eq!(ota_subscriptions(&device()), []);
}
