//! IoTDA dynamic registration end to end: the device gets an IAM token and creates itself at
//! the cloud emulator, keeps the returned device id and secret in a file store, logs in to a
//! local mosquitto with them, and after a reboot logs in again without registering. Every
//! refusal the emulator plays comes back as its named error.

#![cfg(feature = "registration")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use hal_host::{FileStore, HostError, HostPlatform};
use iotcloud_core::http::HttpError;
use iotcloud_core::register::{RegisterError, Rejection};
use iotcloud_core::sign::{Secret, TimestampPolicy};
use iotcloud_core::{Device, QoS, Unregistered};
use iotcloud_emulator::{Accounts, Emulator, Fault, HuaweiAccount, HuaweiDevice, HuaweiProduct};
use iotcloud_huawei::{DeviceId, Huawei, IamAccount};
use iotcloud_testkit::{
    Broker, Ev, leak, local, next, registering_device, registration_error, round_trip, store_dir,
    subscribe,
};

const PRODUCT: &str = "6203cc94c7fb24029b110408";
const PROJECT: &str = "0a1b2c3d4e5f";
const PASSWORD: &str = "Pa$$w0rd\"quoted\"";

type Dev = Device<'static, Huawei<'static>, HostPlatform<FileStore>, Unregistered>;

fn emulator() -> Emulator {
    let mut prefixed = HuaweiProduct::new("prefixed-product");
    prefixed.device_id_prefix = Some("cloud-chosen-".into());
    Emulator::start(Accounts {
        huawei: vec![
            HuaweiAccount::new("my-account", "iot-user", PASSWORD, "cn-north-4", PROJECT)
                .with_product(HuaweiProduct::new(PRODUCT))
                .with_product(prefixed)
                .with_device(HuaweiDevice {
                    device_id: format!("{PRODUCT}_already-there"),
                    node_id: "already-there".into(),
                    product_id: PRODUCT.into(),
                    secret: "12345678".into(),
                }),
        ],
        ..Accounts::default()
    })
}

fn iam() -> IamAccount<'static> {
    IamAccount {
        project_id: PROJECT,
        domain: "my-account",
        username: "iot-user",
        password: Secret::new(PASSWORD),
        app_endpoint: "5341624af8.st1.iotda-app.cn-north-4.myhuaweicloud.com",
        region: "cn-north-4",
    }
}

fn device(provider: Huawei<'static>, dir: &Path) -> Dev {
    registering_device(provider, dir, 512)
}

fn registering_as(
    emulator: &Emulator,
    product: &'static str,
    node: &'static str,
    account: IamAccount<'static>,
) -> Huawei<'static> {
    Huawei::registering_with_iam(product, node, account)
        .unwrap()
        .with_endpoint("5341624af8.st1")
        .unwrap()
        .with_register_urls(
            leak(format!("{}/v3/auth/tokens", emulator.url())),
            leak(format!("{}/v5/iot/{PROJECT}/devices", emulator.url())),
        )
        .unwrap()
}

fn registering(emulator: &Emulator, node: &'static str) -> Huawei<'static> {
    registering_as(emulator, PRODUCT, node, iam())
}

fn count(emulator: &Emulator, path: &str) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .count()
}

async fn register_error(provider: Huawei<'static>, name: &str) -> RegisterError<HostError> {
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
async fn a_device_registers_once_logs_in_with_the_returned_id_and_reuses_them_after_a_reboot() {
    let emulator = emulator();
    let broker = Broker::start();
    let dir = store_dir("reboot");
    let provider = registering(&emulator, "node-1")
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(local(broker.port));

    let dev = device(provider.clone(), &dir).register().await.unwrap();
    let devices_path = format!("/v5/iot/{PROJECT}/devices");
    assert_eq!(count(&emulator, "/v3/auth/tokens"), 1);
    assert_eq!(count(&emulator, &devices_path), 1);
    let created = emulator.accounts().huawei[0]
        .device_by_node("node-1")
        .unwrap()
        .clone();
    let record = dev.registration_record().unwrap().to_vec();
    assert_eq!(
        iotcloud_core::register::named(&record).collect::<Vec<_>>(),
        [
            ("device_id", created.device_id.as_str()),
            ("secret", created.secret.as_str())
        ]
    );
    // The requests were the cloud's: escaped password, token header, node and product.
    let requests = emulator.requests();
    let iam_body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        iam_body["auth"]["identity"]["password"]["user"]["password"],
        PASSWORD
    );
    assert_eq!(iam_body["auth"]["scope"]["project"]["name"], "cn-north-4");
    assert!(
        requests[1]
            .header("x-auth-token")
            .unwrap()
            .starts_with("MIIemu")
    );
    assert_eq!(
        requests[1].body_text(),
        format!(r#"{{"node_id":"node-1","product_id":"{PRODUCT}"}}"#)
    );

    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    let up = provider.messages_up().to_string();
    subscribe(&mut dev, &up, QoS::AtLeastOnce).await;
    round_trip(&mut dev, &up, br#"{"content":"hi"}"#, QoS::AtLeastOnce).await;
    assert!(
        broker
            .log()
            .contains(&format!("{}_0_0_2999010100", created.device_id)),
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
    assert_eq!(count(&emulator, &devices_path), 1, "registered once only");
    assert_eq!(count(&emulator, "/v3/auth/tokens"), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_device_id_the_cloud_returns_is_the_one_it_logs_in_with() {
    let emulator = emulator();
    let broker = Broker::start();
    let dir = store_dir("cloud-id");
    let provider = registering_as(&emulator, "prefixed-product", "node-2", iam())
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(local(broker.port));
    let dev = device(provider, &dir).register().await.unwrap();
    let record = dev.registration_record().unwrap().to_vec();
    assert_eq!(
        Huawei::registered_device_id(&record),
        Some("cloud-chosen-node-2")
    );
    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    // Topics for that id, built from the record.
    let id = DeviceId::new("cloud-chosen-node-2").unwrap();
    let topics = Huawei::with_secret(id, "unused").unwrap();
    let up = topics.messages_up().to_string();
    subscribe(&mut dev, &up, QoS::AtLeastOnce).await;
    round_trip(&mut dev, &up, b"{}", QoS::AtLeastOnce).await;
    assert!(
        broker.log().contains("cloud-chosen-node-2_0_0_2999010100"),
        "{}",
        broker.log()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn every_refusal_is_its_named_error() {
    let emulator = emulator();

    let e = register_error(registering(&emulator, "already-there"), "exists").await;
    assert_eq!(rejected(&e), Some(Rejection::AlreadyExists), "{e:?}");

    let wrong = IamAccount {
        password: Secret::new("wrong"),
        ..iam()
    };
    let e = register_error(registering_as(&emulator, PRODUCT, "n1", wrong), "pw").await;
    assert_eq!(rejected(&e), Some(Rejection::BadCredentials), "{e:?}");
    assert!(!e.is_retryable());

    let e = register_error(
        registering_as(&emulator, "no-such-product", "n1", iam()),
        "np",
    )
    .await;
    assert_eq!(rejected(&e), Some(Rejection::NotFound), "{e:?}");

    // IAM answers 201 without the token header.
    emulator.fail_next_on(
        "/v3/auth/tokens",
        Fault::Body {
            status: 201,
            content_type: "application/json".into(),
            body: b"{}".to_vec(),
        },
    );
    let e = register_error(registering(&emulator, "n1"), "no-token").await;
    assert!(matches!(e, RegisterError::BadResponse(_)), "{e:?}");

    // The device-creation answer: not JSON, no secret, a gateway error, cut short.
    emulator.fail_next_on("/v5/", Fault::non_json());
    let e = register_error(registering(&emulator, "n1"), "html").await;
    assert!(matches!(e, RegisterError::BadResponse(_)), "{e:?}");

    emulator.fail_next_on(
        "/v5/",
        Fault::Body {
            status: 201,
            content_type: "application/json".into(),
            body: br#"{"device_id":"d1","auth_info":{"auth_type":"CERTIFICATES"}}"#.to_vec(),
        },
    );
    let e = register_error(registering(&emulator, "n1"), "no-secret").await;
    assert!(matches!(e, RegisterError::BadResponse(_)), "{e:?}");

    emulator.fail_next_on(
        "/v5/",
        Fault::Body {
            status: 503,
            content_type: "text/html".into(),
            body: b"<html>busy</html>".to_vec(),
        },
    );
    let e = register_error(registering(&emulator, "n1"), "503").await;
    assert!(matches!(e, RegisterError::Status(503)), "{e:?}");
    assert!(e.is_retryable());

    emulator.fail_next_on("/v5/", Fault::truncated());
    let e = register_error(registering(&emulator, "n1"), "truncated").await;
    assert!(
        matches!(e, RegisterError::Http(HttpError::Truncated { .. })),
        "{e:?}"
    );

    // None of these created the device.
    assert!(emulator.accounts().huawei[0].device_by_node("n1").is_none());
}
