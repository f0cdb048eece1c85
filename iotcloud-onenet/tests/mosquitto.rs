//! The OneNET provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with a OneNET token, subscribes the thing-model topics,
//! and a property report makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_onenet::OneNet;
use iotcloud_testkit::{
    Broker, assert_qos2_refused, connect, local, memory, round_trip, subscribed_on_connect,
};

#[tokio::test]
async fn a_onenet_device_round_trips_a_property_report_through_mosquitto() {
    let broker = Broker::start();
    let onenet = OneNet::with_secret(
        "Ck2AF9QD2K",
        "onenet-dev-7",
        "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
    )
    .unwrap()
    .with_timestamp(TimestampPolicy::LuatosDefault)
    .with_overrides(local(broker.port));
    let report = onenet.property_post().to_string();
    let mut dev = connect(onenet, memory(2048, 512, 2048)).await;
    // The thing-model topics were subscribed on connect; they cover the report's topic.
    subscribed_on_connect(&mut dev, &["$sys/Ck2AF9QD2K/onenet-dev-7/thing/#"]).await;
    let body = br#"{"id":"1","version":"1.0","params":{"temp":{"value":21.5}}}"#;
    round_trip(&mut dev, &report, body, QoS::AtLeastOnce).await;
    assert!(
        broker.log().contains(" as onenet-dev-7 "),
        "{}",
        broker.log()
    );
    // OneNET has no QoS 2.
    assert_qos2_refused(&mut dev, &report).await;
}
