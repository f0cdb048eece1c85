//! The Baidu provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with Baidu's key credentials and a will, and a message on
//! the default template's topic makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_baidu::Baidu;
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_testkit::{Broker, Ev, buffers, connect, next, subscribe};

#[tokio::test]
async fn a_baidu_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let baidu = Baidu::new("abcd123", "baidu-dev-7", "ImSeCrEt0I1M2jkl")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_will("$iot/baidu-dev-7/events", b"gone", QoS::AtLeastOnce)
        .unwrap()
        .with_overrides(EndpointOverrides {
            host: Some("127.0.0.1"),
            port: Some(broker.port),
            tls: TlsChoice::Off,
            client: None,
        });
    let topic = baidu.events().to_string();
    let mut dev = connect(baidu, buffers(2048, 512, 2048)).await;
    subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
    let body = br#"{"temperature":21.5}"#;
    dev.publish(&topic, body, QoS::AtLeastOnce).await.unwrap();
    let mut got_message = false;
    let mut got_ack = false;
    while !(got_message && got_ack) {
        match next(&mut dev, 5_000).await.expect("event") {
            Ev::Message {
                topic: t, payload, ..
            } => {
                assert_eq!(
                    (t.as_str(), payload.as_slice()),
                    (topic.as_str(), &body[..])
                );
                got_message = true;
            }
            Ev::Published(_) => got_ack = true,
            other => panic!("{other:?}"),
        }
    }
    let log = broker.log();
    // The client id is the device name; the CONNECT carried the will.
    assert!(log.contains(" as baidu-dev-7 "), "{log}");
    assert!(
        log.contains("Will message specified (4 bytes) (r0, q1)"),
        "{log}"
    );
    // Baidu has no QoS 2, and refuses topics over 255 bytes.
    assert!(matches!(
        dev.publish(&topic, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
    let long = format!("$iot/baidu-dev-7/user/{}", "t".repeat(240));
    assert!(dev.publish(&long, b"x", QoS::AtMostOnce).await.is_err());
}
