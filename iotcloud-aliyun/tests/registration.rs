//! One product, one secret over MQTT (`register` and `regnwl`), through the typestate
//! device against the cloud emulator: its Aliyun endpoint checks the registration CONNECT
//! the way the platform does and pushes the answer; the device stores it in a file store,
//! logs in with it (checked again by Aliyun's rules), and after a "reboot" logs in again
//! without registering.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hal_host::{FileStore, HostPlatform};
use iotcloud_aliyun::{Aliyun, DynamicFlow};
use iotcloud_core::mqtt::ConnectReturnCode;
use iotcloud_core::register::RegisterError;
use iotcloud_core::{Device, Error, QoS};
use iotcloud_emulator::{Accounts, AliyunDevice, AliyunProduct, Cloud, CloudEmulator};
use iotcloud_testkit::{Ev, local, next, registering_device, round_trip, subscribe};

const PK: &str = "a1B2c3D4e5f";
const DN: &str = "869329069169988";
const PRODUCT_SECRET: &str = "AbCdEfGhIjKlMnOp";
const DEVICE_SECRET: &str = "obtained-secret-0123456789abcdef";

/// The emulator with the product (both flavours on) and the pre-registered device.
fn emulator(product_secret: &str) -> CloudEmulator {
    let product = AliyunProduct::new(PK, product_secret)
        .with_regnwl()
        .with_device(AliyunDevice::new(DN, DEVICE_SECRET));
    let accounts = Accounts {
        aliyun: vec![product],
        ..Accounts::default()
    };
    CloudEmulator::start(accounts, &[Cloud::Aliyun]).unwrap()
}

type Dev<St> = Device<'static, Aliyun<'static>, HostPlatform<FileStore>, St>;

fn device(
    flow: DynamicFlow,
    secret: &'static str,
    emu: &CloudEmulator,
    dir: &std::path::Path,
) -> Dev<iotcloud_core::Unregistered> {
    let port = emu.mqtt_port(Cloud::Aliyun).unwrap();
    let aliyun = Aliyun::registering(PK, DN, secret, flow)
        .unwrap()
        .with_overrides(local(port));
    registering_device(aliyun, dir, 512)
}

fn registrations(emu: &CloudEmulator) -> u32 {
    emu.accounts().aliyun[0].devices[0].registrations
}

/// Registers (or loads), then logs in to the emulator and round-trips a message.
async fn register_and_use(
    flow: DynamicFlow,
    emu: &CloudEmulator,
    dir: &std::path::Path,
) -> Dev<iotcloud_core::Registered> {
    let dev = device(flow, PRODUCT_SECRET, emu, dir);
    let dev = dev.register().await.unwrap();
    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    let topic = format!("/{PK}/{DN}/user/update");
    subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
    round_trip(&mut dev, &topic, b"21.5", QoS::AtLeastOnce).await;
    dev.disconnect().await
}

#[tokio::test]
async fn register_flow_obtains_a_secret_stores_it_and_reuses_it_after_a_reboot() {
    let emu = emulator(PRODUCT_SECRET);
    let dir = tempfile::tempdir().unwrap();
    let dev = register_and_use(DynamicFlow::Register, &emu, dir.path()).await;
    assert_eq!(registrations(&emu), 1);
    let record = dev.registration_record().unwrap().to_vec();
    assert!(String::from_utf8_lossy(&record).contains(DEVICE_SECRET));
    // The login with the obtained secret activated the device, as on the platform.
    assert!(emu.accounts().aliyun[0].devices[0].activated);
    assert!(
        emu.published()
            .iter()
            .any(|p| p.topic.ends_with("/user/update"))
    );

    // Reboot: a new device object over the same store. Registering again would now be
    // refused (the device is active), so success shows the stored secret was used.
    let dev = register_and_use(DynamicFlow::Register, &emu, dir.path()).await;
    assert_eq!(registrations(&emu), 1, "registered twice");
    assert_eq!(dev.registration_record().unwrap(), &record[..]);
    assert!(emu.refused().is_empty(), "{:?}", emu.refused());
}

#[tokio::test]
async fn regnwl_flow_logs_in_with_the_returned_client_id_and_token() {
    let emu = emulator(PRODUCT_SECRET);
    let dir = tempfile::tempdir().unwrap();
    register_and_use(DynamicFlow::Regnwl, &emu, dir.path()).await;
    assert_eq!(registrations(&emu), 1);
    let accounts = emu.accounts();
    let device = &accounts.aliyun[0].devices[0];
    // The emulator issued a token and the `connwl` login used it.
    assert!(device.token.is_some());
    assert!(device.activated);
    assert!(emu.refused().is_empty(), "{:?}", emu.refused());
}

#[tokio::test]
async fn a_refused_registration_is_named_and_nothing_is_stored() {
    let emu = emulator("another-secret");
    let dir = tempfile::tempdir().unwrap();
    let (e, dev) = device(DynamicFlow::Register, PRODUCT_SECRET, &emu, dir.path())
        .register()
        .await
        .err()
        .unwrap()
        .into_parts();
    assert!(
        matches!(
            e,
            Error::Registration(RegisterError::Refused(
                ConnectReturnCode::BadUsernameOrPassword
            ))
        ),
        "{e:?}"
    );
    assert_eq!(dev.registration_record(), None);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert_eq!(emu.refused()[0].refusal.code, 4);
}
