//! OneNET dynamic registration end to end: the device creates itself at the cloud emulator's
//! `/device/create`, keeps the `sec_key` in a file store, logs in to a local mosquitto with it,
//! and after a reboot logs in again without registering. Every refusal the emulator plays
//! comes back as its named error.

#![cfg(feature = "registration")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use hal_host::{FileStore, HostError, HostPlatform, SystemClock};
use iotcloud_core::http::HttpError;
use iotcloud_core::register::{RegisterError, Rejection};
use iotcloud_core::{Device, Error, Memory, QoS, Unregistered};
use iotcloud_emulator::{Accounts, Emulator, Fault, OneNetDevice, OneNetProduct, OneNetUser};
use iotcloud_onenet::{OneNet, SignMethod};
use iotcloud_testkit::{
    Broker, Ev, leak, local, memory, next, registering_device, registration_error, round_trip,
    store_dir,
};

const PID: &str = "Ck2AF9QD2K";
const USER_ID: &str = "226691";
const USER_KEY: &str =
    "pk1M3FKXBvvmjF8If/xDfSFFmr96NZCEg00sxlLBMjjh9vOD5hpIs42rmAYnMh5b3m9B1+0rmYdqzUyoQVrxow==";
const PRODUCT_KEY: &str = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";

type Dev = Device<'static, OneNet<'static>, HostPlatform<FileStore>, Unregistered>;

fn emulator() -> Emulator {
    let mut product = OneNetProduct::new(PID);
    product.access_key = Some(PRODUCT_KEY.into());
    let product = product.with_device(OneNetDevice {
        name: "already-there".into(),
        did: 1,
        sec_key: PRODUCT_KEY.into(),
    });
    Emulator::start(Accounts {
        onenet: vec![OneNetUser::new(USER_ID, USER_KEY).with_product(product)],
        ..Accounts::default()
    })
}

fn device(provider: OneNet<'static>, dir: &Path) -> Dev {
    registering_device(provider, dir, 512)
}

fn registering(emulator: &Emulator, device_name: &'static str) -> OneNet<'static> {
    OneNet::registering_with_user(PID, device_name, USER_ID, USER_KEY)
        .unwrap()
        .with_register_url(leak(format!("{}/device/create", emulator.url())))
        .unwrap()
}

fn creations(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/device/create")
        .count()
}

async fn register_error(provider: OneNet<'static>, name: &str) -> RegisterError<HostError> {
    let dir = store_dir(name);
    let (_, e) = registration_error(device(provider, &dir)).await;
    let _ = std::fs::remove_dir_all(&dir);
    e
}

fn rejected(e: &RegisterError<HostError>) -> Option<Rejection> {
    match e {
        RegisterError::Rejected { reason, .. } => Some(*reason),
        _ => None,
    }
}

#[tokio::test]
async fn a_device_registers_once_logs_in_with_its_sec_key_and_reuses_it_after_a_reboot() {
    let emulator = emulator();
    let broker = Broker::start();
    let dir = store_dir("reboot");
    let provider = registering(&emulator, "onenet-reg-1").with_overrides(local(broker.port));

    let dev = device(provider, &dir).register().await.unwrap();
    assert_eq!(creations(&emulator), 1);
    // The record is the sec_key the cloud handed out, and the request was the cloud's.
    let sec_key = emulator.accounts().onenet[0].products[0]
        .device("onenet-reg-1")
        .unwrap()
        .sec_key
        .clone();
    let record = dev.registration_record().unwrap().to_vec();
    assert_eq!(
        iotcloud_core::register::named(&record).collect::<Vec<_>>(),
        [("sec_key", sec_key.as_str())]
    );
    let request = &emulator.requests()[0];
    assert_eq!(
        request.body_text(),
        r#"{"product_id":"Ck2AF9QD2K","device_name":"onenet-reg-1"}"#
    );
    let token = request.header("authorization").unwrap();
    assert!(
        token.starts_with("version=2022-05-01&res=userid%2F226691&et="),
        "{token}"
    );
    assert!(token.contains("&method=sha256&sign="), "{token}");

    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    let topic = provider.property_post().to_string();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Subscribed(..))
    ));
    round_trip(
        &mut dev,
        &topic,
        br#"{"id":"1","params":{}}"#,
        QoS::AtLeastOnce,
    )
    .await;
    assert!(
        broker.log().contains(" as onenet-reg-1 "),
        "{}",
        broker.log()
    );
    drop(dev);

    // Reboot: a new device over the same store logs in without registering again.
    let dev = device(provider, &dir).register().await.unwrap();
    assert_eq!(dev.registration_record().unwrap(), &record[..]);
    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    assert_eq!(creations(&emulator), 1, "registered once only");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_product_key_and_luatos_token_options_register_too() {
    let emulator = emulator();
    let url = leak(format!("{}/device/create", emulator.url()));
    let by_product = OneNet::registering(PID, "onenet-reg-2", PRODUCT_KEY)
        .unwrap()
        .with_register_url(url)
        .unwrap();
    let dir = store_dir("product");
    device(by_product, &dir).register().await.unwrap();
    let token = emulator.requests()[0]
        .header("authorization")
        .unwrap()
        .to_string();
    assert!(
        token.starts_with("version=2022-05-01&res=products%2FCk2AF9QD2K&et="),
        "{token}"
    );

    // LuatOS's spelling and fixed expiry (2035), accepted while the server clock is before it.
    let luatos = registering(&emulator, "onenet-reg-3")
        .with_register_method(SignMethod::from_name("SHA256").unwrap())
        .with_register_expiry(iotcloud_core::sign::TimestampPolicy::LuatosDefault);
    device(luatos, &dir).register().await.unwrap();
    let token = emulator.requests()[1]
        .header("authorization")
        .unwrap()
        .to_string();
    assert!(
        token.contains("&et=2051193600&method=SHA256&sign="),
        "{token}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn every_refusal_is_its_named_error() {
    let emulator = emulator();
    let url = leak(format!("{}/device/create", emulator.url()));

    let exists = register_error(registering(&emulator, "already-there"), "exists").await;
    assert_eq!(
        rejected(&exists),
        Some(Rejection::AlreadyExists),
        "{exists:?}"
    );

    let wrong_key = OneNet::registering_with_user(PID, "d1", USER_ID, PRODUCT_KEY)
        .unwrap()
        .with_register_url(url)
        .unwrap();
    let e = register_error(wrong_key, "wrong-key").await;
    assert_eq!(rejected(&e), Some(Rejection::BadCredentials), "{e:?}");
    assert!(!e.is_retryable());

    let unknown = OneNet::registering_with_user("NoSuchPid", "d1", USER_ID, USER_KEY)
        .unwrap()
        .with_register_url(url)
        .unwrap();
    let e = register_error(unknown, "unknown").await;
    assert_eq!(rejected(&e), Some(Rejection::NotFound), "{e:?}");

    // The server's clock is an hour and more ahead: the token has expired on arrival.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    emulator.set_now(Some(now + 7200));
    let e = register_error(registering(&emulator, "d1"), "skew").await;
    assert_eq!(rejected(&e), Some(Rejection::ClockSkew), "{e:?}");
    assert!(e.is_retryable());
    emulator.set_now(None);

    // Without the time, the default token cannot be signed.
    let dir = store_dir("no-time");
    let creds: &'static mut [u8] = Box::leak(vec![0u8; 512].into_boxed_slice());
    let (e, _) = Device::new(
        registering(&emulator, "d1"),
        HostPlatform::new()
            .with_clock(SystemClock::without_wall_time())
            .with_store(FileStore::open(&dir).unwrap()),
        Memory {
            credentials: creds,
            ..memory(4096, 1024, 2048)
        },
    )
    .register()
    .await
    .err()
    .unwrap()
    .into_parts();
    assert!(
        matches!(
            e,
            Error::Registration(RegisterError::Provider(
                iotcloud_core::ProviderError::TimeUnknown
            ))
        ),
        "{e:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);

    emulator.fail_next(Fault::non_json());
    let e = register_error(registering(&emulator, "d1"), "html").await;
    assert!(matches!(e, RegisterError::BadResponse(_)), "{e:?}");

    emulator.fail_next(Fault::Body {
        status: 502,
        content_type: "text/html".into(),
        body: b"<html>bad gateway</html>".to_vec(),
    });
    let e = register_error(registering(&emulator, "d1"), "502").await;
    assert!(matches!(e, RegisterError::Status(502)), "{e:?}");

    emulator.fail_next(Fault::truncated());
    let e = register_error(registering(&emulator, "d1"), "truncated").await;
    assert!(
        matches!(e, RegisterError::Http(HttpError::Truncated { .. })),
        "{e:?}"
    );

    emulator.fail_next(Fault::Huge { len: 64 * 1024 });
    let e = register_error(registering(&emulator, "d1"), "huge").await;
    assert!(
        matches!(e, RegisterError::Http(HttpError::BodyTooLarge { .. })),
        "{e:?}"
    );

    // None of these created a device.
    assert!(
        emulator.accounts().onenet[0].products[0]
            .device("d1")
            .is_none()
    );
}

/// A registration server trickling its answer a byte at a time cannot hold the device: the
/// whole registration ends at `DeviceOptions::register_timeout_ms`.
#[tokio::test]
async fn a_trickling_registration_server_is_given_up_on_at_the_deadline() {
    let emulator = emulator();
    emulator.fail_next(Fault::Trickle(std::time::Duration::from_millis(100)));
    let dir = store_dir("trickle");
    let options = iotcloud_core::DeviceOptions {
        register_timeout_ms: 1_000,
        ..Default::default()
    };
    let dev = Device::with_options(
        registering(&emulator, "slow"),
        HostPlatform::new().with_store(FileStore::open(&dir).unwrap()),
        Memory {
            credentials: iotcloud_testkit::zeroed(512),
            ..iotcloud_testkit::memory(4096, 1024, 2048)
        },
        options,
    );
    let started = std::time::Instant::now();
    let (_, e) = registration_error(dev).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(e, RegisterError::Timeout), "{e:?}");
    assert!(e.is_retryable());
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(1_000) && took < std::time::Duration::from_secs(3),
        "{took:?}"
    );
}
