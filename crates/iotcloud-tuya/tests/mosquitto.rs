//! The Tuya provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with Tuya's credentials, subscribes its downlink
//! channel, and a property report makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_testkit::{Broker, Ev, buffers, connect, next, subscribe};
use iotcloud_tuya::Tuya;

#[tokio::test]
async fn a_tuya_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let port: &'static str = Box::leak(broker.port.to_string().into_boxed_str());
    let tuya = Tuya::new("6c95875d0f5ba69607nzfl", "fb803786602df760")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(EndpointOverrides {
            host: Some("127.0.0.1"),
            port: Some(port.parse().unwrap()),
            tls: TlsChoice::Off,
            client: None,
        });
    let report = tuya.property_report().to_string();
    let mut dev = connect(tuya, buffers(2048, 512, 2048)).await;
    // The downlink channel was subscribed on connect.
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Subscribed(..))
    ));
    assert_eq!(
        dev.session()
            .subscriptions()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>(),
        ["tylink/6c95875d0f5ba69607nzfl/channel/downlink/auto_subscribe"]
    );
    subscribe(&mut dev, &report, QoS::AtLeastOnce).await;
    let body = br#"{"msgId":"1","time":1700000000000,"data":{"temp":{"value":21.5}}}"#;
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
        broker.log().contains("tuyalink_6c95875d0f5ba69607nzfl"),
        "{}",
        broker.log()
    );
    // Tuya has no QoS 2.
    assert!(matches!(
        dev.publish(&report, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
}
