//! TLS-PSK through OpenSSL (the `psk` feature): a Tencent device with key authentication
//! against a mosquitto listener that speaks only TLS-PSK with the cipher suites Tencent's
//! device SDK offers, and knows the identity and key Tencent expects.
//!
//! `cargo test -p hal-host --features psk --test psk` (`cargo xtask test` runs it).

#![cfg(feature = "psk")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hal_host::{HostError, TcpTransport};
use iotcloud_core::provider::TlsChoice;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::transport::{Psk, ServerAuth, Transport, TransportCaps};
use iotcloud_core::{Error, Provider, QoS};
use iotcloud_tencent::Tencent;
use iotcloud_testkit::{Broker, connect, memory, round_trip, subscribe};

const PRODUCT_ID: &str = "LD8S5J1L07";
const DEVICE_NAME: &str = "test";
/// Base64 of the 16 bytes below.
const SECRET: &str = "acyv3QDJrRa0fW5UE58KnQ==";
const KEY: [u8; 16] = [
    0x69, 0xcc, 0xaf, 0xdd, 0x00, 0xc9, 0xad, 0x16, 0xb4, 0x7d, 0x6e, 0x54, 0x13, 0x9f, 0x0a, 0x9d,
];

/// The broker knows the device as Tencent does: identity `{ProductId}{DeviceName}`, key the
/// decoded device secret.
fn tencent_psk_broker() -> Broker {
    Broker::start_psk(&format!("{PRODUCT_ID}{DEVICE_NAME}"), &KEY)
}

fn device(port: u16, secret: &'static str) -> Tencent<'static> {
    Tencent::with_secret(PRODUCT_ID, DEVICE_NAME, secret)
        .unwrap()
        .with_host("127.0.0.1")
        .with_port(port)
}

#[test]
fn the_host_transport_reports_psk_and_the_device_resolves_to_it() {
    assert!(TcpTransport::new().supports_psk());
    let t = device(1, SECRET);
    let mut buf = [0u8; 256];
    let e = t
        .endpoint_for(
            &mut Scratch::new(&mut buf),
            TransportCaps::of(&TcpTransport::new()),
        )
        .unwrap();
    let ServerAuth::Psk(psk) = e.tls.unwrap().server else {
        panic!("not TLS-PSK: {e:?}");
    };
    assert_eq!((psk.identity(), psk.key()), ("LD8S5J1L07test", &KEY[..]));
}

#[tokio::test]
async fn a_tencent_key_device_connects_over_tls_psk_publishes_and_receives() {
    let broker = tencent_psk_broker();
    let tencent = device(broker.port, SECRET);
    let mut dev = connect(&tencent, memory(2048, 1024, 2048)).await;
    let topic = tencent.data().to_string();
    subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
    round_trip(&mut dev, &topic, b"{\"temp\":21}", QoS::AtLeastOnce).await;
    round_trip(&mut dev, &topic, b"qos0", QoS::AtMostOnce).await;
    // The broker saw a TLS-PSK client with Tencent's identity.
    // The broker took the user name from the PSK identity it authenticated, so the client was
    // a TLS-PSK client with Tencent's identity.
    assert!(
        broker
            .log()
            .contains("as LD8S5J1L07test (p2, c1, k240, u'LD8S5J1L07test')"),
        "{}",
        broker.log()
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_in_the_handshake() {
    let broker = tencent_psk_broker();
    // Another valid 16-byte secret: the identity is right, the key is not.
    let tencent = device(broker.port, "xNWcxDX0qzSM74oFteehvw==");
    let dev = iotcloud_testkit::device(&tencent, memory(2048, 1024, 2048))
        .register()
        .await
        .unwrap();
    let (err, _) = dev
        .connect()
        .await
        .expect_err("wrong key accepted")
        .into_parts();
    match err {
        Error::Transport(HostError::TlsHandshake { source, .. }) => {
            let text = source.to_string();
            assert!(text.starts_with("TLS-PSK"), "{text}");
            assert!(!text.contains("xNWcxDX0qzSM74oFteehvw"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn plain_tcp_is_refused_by_the_psk_listener_and_chosen_only_when_asked() {
    let broker = tencent_psk_broker();
    // `tls=false` wins over the transport's TLS-PSK: the device speaks plain MQTT, which the
    // TLS listener does not answer with a CONNACK.
    let tencent = device(broker.port, SECRET).with_tls(TlsChoice::Off);
    let mut buf = [0u8; 256];
    let e = tencent
        .endpoint_for(&mut Scratch::new(&mut buf), TransportCaps::PSK)
        .unwrap();
    assert_eq!(e.tls, None);
    let dev = iotcloud_testkit::device(&tencent, memory(2048, 1024, 2048))
        .register()
        .await
        .unwrap();
    assert!(dev.connect().await.is_err(), "plain MQTT on a TLS listener");
}

#[tokio::test]
async fn an_identity_the_broker_does_not_know_is_refused() {
    let broker = tencent_psk_broker();
    let mut transport = TcpTransport::new();
    let mut psk_buf = [0u8; 128];
    let psk = Psk::write(&mut psk_buf, "LD8S5J1L07other", &KEY).unwrap();
    let endpoint = iotcloud_core::Endpoint::tls("127.0.0.1", broker.port, ServerAuth::Psk(psk));
    assert!(matches!(
        transport.connect(&endpoint).await,
        Err(HostError::TlsHandshake { .. })
    ));
    let mut right_buf = [0u8; 128];
    let right = Psk::write(&mut right_buf, "LD8S5J1L07test", &KEY).unwrap();
    let endpoint = iotcloud_core::Endpoint::tls("127.0.0.1", broker.port, ServerAuth::Psk(right));
    transport.connect(&endpoint).await.unwrap();
    transport.close().await;
}

/// A device that registers (one product, one secret) and obtains a key connects with it over
/// TLS-PSK, as a key device would: registration at the emulator over HTTP, then the broker
/// that speaks only TLS-PSK and knows the obtained key.
#[tokio::test]
async fn a_registered_tencent_key_device_connects_over_tls_psk() {
    use hal_host::{FileStore, HostPlatform};
    use iotcloud_core::{Device, Memory};
    use iotcloud_emulator::{Accounts, Emulator, TencentDevice, TencentProduct};

    const PRODUCT_SECRET: &str = "vGGwnSkyM4eD5ddbNrQoGJox";
    let emu = Emulator::start(Accounts {
        tencent: vec![
            TencentProduct::new(PRODUCT_ID, PRODUCT_SECRET)
                .with_device(TencentDevice::new(DEVICE_NAME, SECRET)),
        ],
        ..Accounts::default()
    });
    let broker = tencent_psk_broker();
    let url: &'static str = Box::leak(emu.url().into_boxed_str());
    let tencent = Tencent::registering(PRODUCT_ID, DEVICE_NAME, PRODUCT_SECRET)
        .unwrap()
        .with_register_url(url)
        .unwrap()
        .with_host("127.0.0.1")
        .with_port(broker.port);
    let store = tempfile::tempdir().unwrap();
    let memory = Memory {
        credentials: Box::leak(vec![0u8; 1024].into_boxed_slice()),
        ..memory(2048, 1024, 2048)
    };
    let platform = HostPlatform::new().with_store(FileStore::open(store.path()).unwrap());
    let dev = Device::new(&tencent, platform, memory);
    let dev = dev.register().await.unwrap();
    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        iotcloud_testkit::next(&mut dev, 5_000).await,
        Some(iotcloud_testkit::Ev::Connected(_))
    ));
    let topic = tencent.data().to_string();
    subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
    round_trip(&mut dev, &topic, b"{\"temp\":22}", QoS::AtLeastOnce).await;
    assert!(
        broker.log().contains("u'LD8S5J1L07test'"),
        "not the TLS-PSK identity: {}",
        broker.log()
    );
}
