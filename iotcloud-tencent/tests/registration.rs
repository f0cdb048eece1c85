//! Dynamic registration end to end: a device registers with the cloud emulator (register
//! URL overridden to its plain-HTTP address), keeps what it obtained in a `FileStore`,
//! connects to a local mosquitto with it and round-trips a message; after a reboot it
//! connects from the store without registering again. Every error answer the emulator can
//! give comes back as its named error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use hal_host::{FileStore, HostError, HostPlatform, SystemClock};
use iotcloud_core::register::{RegisterError, Rejection};
use iotcloud_core::{Device, Error, KvStore, Memory, ProviderError, QoS, Unregistered};
use iotcloud_emulator::{
    Accounts, Emulator, Fault, TencentAuthMode, TencentDevice, TencentProduct,
};
use iotcloud_tencent::{AuthMode, RegisterApi, Tencent};
use iotcloud_testkit::{
    Broker, Ev, leak, local, memory, next, registration_error as testkit_registration_error,
    round_trip, store_dir, subscribe,
};

const PID: &str = "ZAJCHA24SH";
const DN: &str = "869329069169988";
const SECRET: &str = "vGGwnSkyM4eD5ddbNrQoGJox";
const PSK: &str = "xNWcxDX0qzSM74oFteehvw==";
const APIS: [RegisterApi; 2] = [RegisterApi::Current, RegisterApi::Legacy];

type Dev<St> = Device<'static, Tencent<'static>, HostPlatform<FileStore>, St>;

fn emulator(product: TencentProduct) -> Emulator {
    Emulator::start(Accounts {
        tencent: vec![product],
        ..Accounts::default()
    })
}

fn product() -> TencentProduct {
    TencentProduct::new(PID, SECRET).with_device(TencentDevice::new(DN, PSK))
}

/// A dynamic device registering at the emulator and connecting to the broker on `port`.
fn tencent(emu: &Emulator, api: RegisterApi, port: u16) -> Tencent<'static> {
    Tencent::registering(PID, DN, SECRET)
        .unwrap()
        .with_register_api(api)
        .with_register_url(leak(emu.url()))
        .unwrap()
        .with_overrides(local(port))
}

fn device(tencent: Tencent<'static>, store: &Path, clock: SystemClock) -> Dev<Unregistered> {
    Device::new(
        tencent,
        HostPlatform::new()
            .with_clock(clock)
            .with_store(FileStore::open(store).unwrap()),
        Memory {
            credentials: Box::leak(vec![0u8; 4096].into_boxed_slice()),
            ..memory(4096, 1024, 2048)
        },
    )
}

/// Registers, connects and round-trips a message on the data topic.
async fn register_connect_round_trip(dev: Dev<Unregistered>) -> Vec<u8> {
    let dev = dev.register().await.unwrap();
    let record = dev.registration_record().unwrap().to_vec();
    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    let data = dev.provider().data().to_string();
    subscribe(&mut dev, &data, QoS::AtLeastOnce).await;
    round_trip(
        &mut dev,
        &data,
        br#"{"temperature":21.5}"#,
        QoS::AtLeastOnce,
    )
    .await;
    dev.disconnect().await;
    record
}

/// What registering `tencent` against the emulator fails with; nothing may be stored.
async fn registration_error(tencent: Tencent<'static>) -> RegisterError<HostError> {
    let store = store_dir("tencent-reg");
    let (dev, e) = testkit_registration_error(device(tencent, &store, SystemClock::new())).await;
    assert_eq!(dev.registration_record(), None);
    std::fs::remove_dir_all(&store).ok();
    e
}

fn rejected(e: RegisterError<HostError>) -> (Rejection, String) {
    match e {
        RegisterError::Rejected { reason, code } => (reason, code.to_string()),
        other => panic!("not a refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_device_registers_once_connects_and_reuses_its_record_after_a_reboot() {
    let broker = Broker::start();
    for api in APIS {
        let emu = emulator(product());
        let store = broker.dir.path().join(format!("store-{api:?}"));

        let record = register_connect_round_trip(device(
            tencent(&emu, api, broker.port),
            &store,
            SystemClock::new(),
        ))
        .await;
        let requests = emu.requests();
        assert_eq!(requests.len(), 1, "{api:?}");
        assert_eq!(requests[0].path_only(), api.path());
        // The record holds the PSK the cloud handed out, and nothing else.
        let fields: Vec<&[u8]> = iotcloud_core::register::Fields::read(&record).collect();
        assert_eq!(fields, [&b"psk"[..], PSK.as_bytes()]);
        assert_eq!(
            emu.accounts().tencent[0].devices[0].registrations,
            1,
            "{api:?}"
        );

        // Reboot: a new device over the same store connects without registering.
        let again = register_connect_round_trip(device(
            tencent(&emu, api, broker.port),
            &store,
            SystemClock::new(),
        ))
        .await;
        assert_eq!(again, record);
        assert_eq!(emu.requests().len(), 1, "{api:?}: registered again");
    }
    // The broker saw the client id and a signed user name.
    let log = broker.log();
    assert!(log.contains(&format!("{PID}{DN}")), "{log}");
}

#[tokio::test]
async fn a_certificate_product_hands_out_a_certificate_kept_unescaped() {
    let broker = Broker::start();
    let cert = "-----BEGIN CERTIFICATE-----\nMIIBdevicecert\n-----END CERTIFICATE-----\n";
    let key = "-----BEGIN PRIVATE KEY-----\nMIIBdevicekey\n-----END PRIVATE KEY-----\n";
    let mut product = TencentProduct::new(PID, SECRET)
        .with_device(TencentDevice::with_certificate(DN, cert, key));
    product.auth_mode = TencentAuthMode::Certificate;
    for api in APIS {
        let emu = emulator(product.clone());
        let store = broker.dir.path().join(format!("cert-{api:?}"));
        let t = tencent(&emu, api, broker.port).with_registered_auth(AuthMode::Certificate);
        // Certificate devices connect over TLS on 8883; the local broker is plain, so the
        // TLS override (off) applies and the certificate is only checked in the record.
        let record =
            register_connect_round_trip(device(t.clone(), &store, SystemClock::new())).await;
        let identity = iotcloud_core::register::Registration::identity(&t, &record).unwrap();
        assert_eq!(identity.cert_pem, cert.as_bytes(), "{api:?}");
        assert_eq!(identity.key_pem, key.as_bytes(), "{api:?}");
        // Without the override: TLS on 8883 against the bundled roots.
        let real = Tencent::registering(PID, DN, SECRET)
            .unwrap()
            .with_registered_auth(AuthMode::Certificate);
        let mut host = [0u8; 256];
        let e = iotcloud_core::Provider::endpoint(
            &real,
            &mut iotcloud_core::scratch::Scratch::new(&mut host),
        )
        .unwrap();
        assert_eq!((e.port, e.tls.is_some()), (8883, true));
    }
}

#[tokio::test]
async fn refusals_come_back_as_named_rejections() {
    for api in APIS {
        // Already activated.
        let emu = emulator(
            TencentProduct::new(PID, SECRET).with_device(TencentDevice::new(DN, PSK).activated()),
        );
        let e = registration_error(tencent(&emu, api, 1)).await;
        assert_eq!(rejected(e).0, Rejection::AlreadyActivated, "{api:?}");
        assert!(!emu.requests().is_empty());

        // Dynamic registration switched off.
        let mut off = product();
        off.dynamic_registration = false;
        let emu = emulator(off);
        let e = registration_error(tencent(&emu, api, 1)).await;
        assert_eq!(rejected(e).0, Rejection::Disabled, "{api:?}");

        // A wrong product secret: the signature does not verify.
        let emu = emulator(product());
        let wrong = Tencent::registering(PID, DN, "WrongWrongWrongWrong1234")
            .unwrap()
            .with_register_api(api)
            .with_register_url(leak(emu.url()))
            .unwrap();
        let e = registration_error(wrong).await;
        assert_eq!(rejected(e).0, Rejection::BadCredentials, "{api:?}");

        // The server's clock is a day ahead of the device's.
        let emu = emulator(product());
        emu.set_now(Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 86_400,
        ));
        let e = registration_error(tencent(&emu, api, 1)).await;
        assert_eq!(rejected(e).0, Rejection::ClockSkew, "{api:?}");

        // An unknown product, and an unknown device.
        let emu = emulator(TencentProduct::new("OTHERPROD1", SECRET));
        let e = registration_error(tencent(&emu, api, 1)).await;
        assert_eq!(rejected(e).0, Rejection::NotFound, "{api:?}");
        let emu = emulator(TencentProduct::new(PID, SECRET));
        let e = registration_error(tencent(&emu, api, 1)).await;
        assert_eq!(rejected(e).0, Rejection::NotFound, "{api:?}");
    }
}

#[tokio::test]
async fn broken_answers_come_back_as_named_errors() {
    for api in APIS {
        let emu = emulator(product());
        let t = || tencent(&emu, api, 1);

        emu.fail_next(Fault::non_json());
        let e = registration_error(t()).await;
        assert!(matches!(e, RegisterError::BadResponse(_)), "{api:?}: {e:?}");

        emu.fail_next(Fault::truncated());
        let e = registration_error(t()).await;
        assert!(
            matches!(
                e,
                RegisterError::Http(iotcloud_core::http::HttpError::Truncated { .. })
            ),
            "{api:?}: {e:?}"
        );

        for fault in [
            Fault::tencent_payload_partial_block(),
            Fault::tencent_payload_wrong_key(),
            Fault::tencent_payload_not_base64(),
        ] {
            emu.fail_next(fault.clone());
            let e = registration_error(t()).await;
            assert!(
                matches!(e, RegisterError::Decrypt(_)),
                "{api:?} {fault:?}: {e:?}"
            );
        }

        emu.fail_next(Fault::Huge { len: 64 * 1024 });
        let e = registration_error(t()).await;
        assert!(
            matches!(
                e,
                RegisterError::Http(iotcloud_core::http::HttpError::BodyTooLarge { .. })
            ),
            "{api:?}: {e:?}"
        );

        emu.fail_next(Fault::Body {
            status: 503,
            content_type: "text/plain".into(),
            body: b"busy".to_vec(),
        });
        let e = registration_error(t()).await;
        assert!(matches!(e, RegisterError::Status(503)), "{api:?}: {e:?}");
        assert!(e.is_retryable());

        // None of this registered the device.
        assert_eq!(emu.accounts().tencent[0].devices[0].registrations, 0);
    }
}

#[tokio::test]
async fn without_the_time_nothing_is_sent() {
    let emu = emulator(product());
    let store = store_dir("tencent-reg");
    let (e, _) = device(
        tencent(&emu, RegisterApi::Current, 1),
        &store,
        SystemClock::without_wall_time(),
    )
    .register()
    .await
    .err()
    .unwrap()
    .into_parts();
    assert!(
        matches!(
            e,
            Error::Registration(RegisterError::Provider(ProviderError::TimeUnknown))
        ),
        "{e:?}"
    );
    assert!(emu.requests().is_empty());
    let mut store = FileStore::open(&store).unwrap();
    let key = iotcloud_core::register::RegistrationId {
        product: PID,
        device: DN,
    }
    .store_key("tencent");
    assert_eq!(store.get(&key, &mut [0u8; 64]).await.unwrap(), None);
}
