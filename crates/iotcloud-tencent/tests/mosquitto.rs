//! The Tencent provider through the typestate device, against a local mosquitto (host and
//! port overridden, TLS off): it connects with Tencent's key-authentication credentials and
//! a message on the device's data topic makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_tencent::{LUATOS_APP_ID, Tencent, check_topic};
use iotcloud_testkit::{Broker, Ev, buffers, connect, next, subscribe};

#[tokio::test]
async fn a_tencent_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let tencent = Tencent::key("LD8S5J1L07", "test", "acyv3QDJrRa0fW5UE58KnQ==")
        .unwrap()
        .with_app_id(LUATOS_APP_ID)
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(EndpointOverrides {
            host: Some("127.0.0.1"),
            port: Some(broker.port),
            tls: TlsChoice::Off,
            client: None,
        });
    let data = tencent.data().to_string();
    assert_eq!(data, "LD8S5J1L07/test/data");
    check_topic(&data).unwrap();
    let mut dev = connect(tencent, buffers(2048, 512, 2048)).await;
    subscribe(&mut dev, &data, QoS::AtLeastOnce).await;
    let body = br#"{"temperature":21.5}"#;
    dev.publish(&data, body, QoS::AtLeastOnce).await.unwrap();
    let mut got_message = false;
    let mut got_ack = false;
    while !(got_message && got_ack) {
        match next(&mut dev, 5_000).await.expect("event") {
            Ev::Message { topic, payload, .. } => {
                assert_eq!(
                    (topic.as_str(), payload.as_slice()),
                    (data.as_str(), &body[..])
                );
                got_message = true;
            }
            Ev::Published(_) => got_ack = true,
            other => panic!("{other:?}"),
        }
    }
    let log = broker.log();
    assert!(log.contains("LD8S5J1L07test"), "{log}");
    // The signed user name reached the broker: `{pid}{dn};{sdkappid};{connid};{expiry}`.
    assert!(log.contains("LD8S5J1L07test;12010126;"), "{log}");
    // Tencent has no QoS 2, and refuses payloads over 16 KB.
    assert!(matches!(
        dev.publish(&data, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
    assert!(matches!(
        dev.publish(&data, &vec![0u8; 16 * 1024 + 1], QoS::AtMostOnce)
            .await,
        Err(iotcloud_core::Error::PayloadTooLarge { .. })
    ));
}
