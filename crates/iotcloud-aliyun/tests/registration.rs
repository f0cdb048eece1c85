//! One product, one secret over MQTT (`register` and `regnwl`), through the typestate
//! device: a local stand-in for Aliyun's registration endpoint checks the CONNECT the way
//! the platform does and pushes the answer; the device stores it in a file store, logs in
//! to a local mosquitto with it, and after a "reboot" logs in again without registering.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hal_host::{FileStore, SystemClock, TcpTransport};
use hmac::{Hmac, KeyInit, Mac};
use iotcloud_aliyun::{Aliyun, AliyunConfig, DynamicFlow};
use iotcloud_core::mqtt::{Connack, ConnectReturnCode, Packet, Publish, QosPid, TopicName};
use iotcloud_core::register::RegisterError;
use iotcloud_core::{Device, Error, QoS};
use iotcloud_testkit::{Broker, Ev, local, next, registering_device, round_trip, subscribe};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PK: &str = "a1B2c3D4e5f";
const DN: &str = "869329069169988";
const PRODUCT_SECRET: &str = "AbCdEfGhIjKlMnOp";

/// A stand-in for the registration side of Aliyun's MQTT endpoint: checks client id, user
/// name and HMAC-SHA256 password, then pushes the answer for the auth type asked.
async fn registration_server(secret: &'static str) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                let mut filled = 0;
                let (client_id, username, password) = loop {
                    let n = sock.read(&mut buf[filled..]).await.unwrap();
                    assert!(n > 0, "closed before CONNECT");
                    filled += n;
                    if let Some((Packet::Connect(c), _)) = Packet::decode(&buf[..filled]).unwrap() {
                        break (
                            c.client_id.to_string(),
                            c.username.unwrap().to_string(),
                            c.password.unwrap().to_vec(),
                        );
                    }
                };
                // {dn}|securemode=2,authType=…,random=…,signmethod=hmacsha256|
                let (dn, params) = client_id.split_once('|').unwrap();
                let params = params.trim_end_matches('|');
                let field = |name: &str| {
                    params
                        .split(',')
                        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                        .unwrap()
                        .to_string()
                };
                assert_eq!(field("securemode"), "2");
                assert_eq!(field("signmethod"), "hmacsha256");
                let random = field("random");
                assert_eq!(username, format!("{dn}&{PK}"));
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(format!("deviceName{dn}productKey{PK}random{random}").as_bytes());
                let expected: String = mac
                    .finalize()
                    .into_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let good = password == expected.as_bytes();
                let (topic, answer) = if field("authType") == "register" {
                    (
                        "/ext/register",
                        format!(
                            r#"{{"productKey":"{PK}","deviceName":"{dn}","deviceSecret":"obtained-secret-{random}"}}"#
                        ),
                    )
                } else {
                    (
                        "/ext/regnwl",
                        format!(
                            r#"{{"clientId":"cid{random}","productKey":"{PK}","deviceName":"{dn}","deviceToken":"tok{random}"}}"#
                        ),
                    )
                };
                let mut out = [0u8; 512];
                let code = if good {
                    ConnectReturnCode::Accepted
                } else {
                    ConnectReturnCode::BadUsernameOrPassword
                };
                let n = Packet::Connack(Connack {
                    session_present: false,
                    code,
                })
                .emit(&mut out)
                .unwrap();
                sock.write_all(&out[..n]).await.unwrap();
                if good {
                    let n = Packet::Publish(Publish {
                        topic: TopicName::new(topic).unwrap(),
                        qos: QosPid::AtMostOnce,
                        dup: false,
                        retain: false,
                        payload: answer.as_bytes(),
                    })
                    .emit(&mut out)
                    .unwrap();
                    sock.write_all(&out[..n]).await.unwrap();
                }
                let _ = sock.read(&mut buf).await;
            });
        }
    });
    (port, count)
}

type Dev<St> = Device<'static, Aliyun<'static>, TcpTransport, SystemClock, FileStore, St>;

fn device(
    flow: DynamicFlow,
    secret: &'static str,
    port: u16,
    dir: &std::path::Path,
) -> Dev<iotcloud_core::Unregistered> {
    let aliyun = Aliyun::new(AliyunConfig::product_secret(PK, DN, secret, flow).unwrap())
        .unwrap()
        .with_overrides(local(port));
    registering_device(aliyun, dir, 512)
}

/// Registers (or loads), then logs in to mosquitto and round-trips a message; returns the
/// client id the broker saw.
async fn register_and_use(
    flow: DynamicFlow,
    reg_port: u16,
    broker: &Broker,
    dir: &std::path::Path,
) -> Dev<iotcloud_core::Registered> {
    let dev = device(flow, PRODUCT_SECRET, reg_port, dir);
    let mut dev = dev.register().await.map_err(|(_, e)| e).unwrap();
    // The MQTT login goes to the broker, not to the registration endpoint.
    let moved = dev.provider().clone().with_overrides(local(broker.port));
    *dev.provider_mut() = moved;
    let mut dev = dev.connect().await.map_err(|(_, e)| e).unwrap();
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
    let broker = Broker::start();
    let (reg_port, registrations) = registration_server(PRODUCT_SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let dev = register_and_use(DynamicFlow::Register, reg_port, &broker, dir.path()).await;
    assert_eq!(registrations.load(Ordering::SeqCst), 1);
    let record = dev.registration_record().unwrap().to_vec();
    assert!(String::from_utf8_lossy(&record).contains("obtained-secret-"));
    // Signed with the obtained secret: securemode=3 (plain TCP to the broker).
    let log = broker.log();
    assert!(
        log.contains(&format!("{PK}.{DN}|securemode=3,signmethod=hmacsha256")),
        "{log}"
    );

    // Reboot: a new device object over the same store.
    let dev = register_and_use(DynamicFlow::Register, reg_port, &broker, dir.path()).await;
    assert_eq!(registrations.load(Ordering::SeqCst), 1, "registered twice");
    assert_eq!(dev.registration_record().unwrap(), &record[..]);
}

#[tokio::test]
async fn regnwl_flow_logs_in_with_the_returned_client_id_and_token() {
    let broker = Broker::start();
    let (reg_port, registrations) = registration_server(PRODUCT_SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    register_and_use(DynamicFlow::Regnwl, reg_port, &broker, dir.path()).await;
    assert_eq!(registrations.load(Ordering::SeqCst), 1);
    let log = broker.log();
    assert!(log.contains("|securemode=-2,authType=connwl|"), "{log}");
    assert!(
        log.contains("New client connected") && log.contains("cid"),
        "{log}"
    );
}

#[tokio::test]
async fn a_refused_registration_is_named_and_nothing_is_stored() {
    let (reg_port, _) = registration_server("another-secret").await;
    let dir = tempfile::tempdir().unwrap();
    let (dev, e) = device(DynamicFlow::Register, PRODUCT_SECRET, reg_port, dir.path())
        .register()
        .await
        .err()
        .unwrap();
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
}
