//! The Baidu provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with Baidu's key credentials and a will, and a message on
//! the default template's topic makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_baidu::Baidu;
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_testkit::{
    Broker, assert_qos2_refused, connect, local, memory, round_trip, subscribe,
};

#[tokio::test]
async fn a_baidu_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let baidu = Baidu::with_secret("abcd123", "baidu-dev-7", "ImSeCrEt0I1M2jkl")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_will("$iot/baidu-dev-7/events", b"gone", QoS::AtLeastOnce)
        .unwrap()
        .with_overrides(local(broker.port));
    let topic = baidu.events().to_string();
    let mut dev = connect(baidu, memory(2048, 512, 2048)).await;
    subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
    let body = br#"{"temperature":21.5}"#;
    round_trip(&mut dev, &topic, body, QoS::AtLeastOnce).await;
    let log = broker.log();
    // The client id is the device name; the CONNECT carried the will.
    assert!(log.contains(" as baidu-dev-7 "), "{log}");
    assert!(
        log.contains("Will message specified (4 bytes) (r0, q1)"),
        "{log}"
    );
    // Baidu has no QoS 2, and refuses topics over 255 bytes.
    assert_qos2_refused(&mut dev, &topic).await;
    let long = format!("$iot/baidu-dev-7/user/{}", "t".repeat(240));
    assert!(dev.publish(&long, b"x", QoS::AtMostOnce).await.is_err());
}
