//! The OneNET provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with a OneNET token, subscribes the thing-model topics,
//! and a property report makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_onenet::OneNet;
use iotcloud_testkit::{Broker, Ev, buffers, connect, next};

#[tokio::test]
async fn a_onenet_device_round_trips_a_property_report_through_mosquitto() {
    let broker = Broker::start();
    let onenet = OneNet::device_key(
        "Ck2AF9QD2K",
        "onenet-dev-7",
        "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
    )
    .unwrap()
    .with_timestamp(TimestampPolicy::LuatosDefault)
    .with_overrides(EndpointOverrides {
        host: Some("127.0.0.1"),
        port: Some(broker.port),
        tls: TlsChoice::Off,
        client: None,
    });
    let report = onenet.property_post().to_string();
    let mut dev = connect(onenet, buffers(2048, 512, 2048)).await;
    // The thing-model topics were subscribed on connect; they cover the report's topic.
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Subscribed(..))
    ));
    assert_eq!(
        dev.session()
            .subscriptions()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>(),
        ["$sys/Ck2AF9QD2K/onenet-dev-7/thing/#"]
    );
    let body = br#"{"id":"1","version":"1.0","params":{"temp":{"value":21.5}}}"#;
    dev.publish(&report, body, QoS::AtLeastOnce).await.unwrap();
    let mut got_message = false;
    let mut got_ack = false;
    while !(got_message && got_ack) {
        match next(&mut dev, 5_000).await.expect("event") {
            Ev::Message { topic, payload, .. } => {
                assert_eq!(
                    (topic.as_str(), payload.as_slice()),
                    (report.as_str(), &body[..])
                );
                got_message = true;
            }
            Ev::Published(_) => got_ack = true,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        broker.log().contains(" as onenet-dev-7 "),
        "{}",
        broker.log()
    );
    // OneNET has no QoS 2.
    assert!(matches!(
        dev.publish(&report, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
}
