//! The Tuya provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with Tuya's credentials, subscribes its downlink
//! channel, and a property report makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_testkit::{
    Broker, assert_qos2_refused, connect, local, memory, round_trip, subscribe,
    subscribed_on_connect,
};
use iotcloud_tuya::Tuya;

#[tokio::test]
async fn a_tuya_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let tuya = Tuya::with_secret("6c95875d0f5ba69607nzfl", "fb803786602df760")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(local(broker.port));
    let report = tuya.property_report().to_string();
    let mut dev = connect(tuya, memory(2048, 512, 2048)).await;
    // The downlink channel was subscribed on connect.
    subscribed_on_connect(
        &mut dev,
        &["tylink/6c95875d0f5ba69607nzfl/channel/downlink/auto_subscribe"],
    )
    .await;
    subscribe(&mut dev, &report, QoS::AtLeastOnce).await;
    let body = br#"{"msgId":"1","time":1700000000000,"data":{"temp":{"value":21.5}}}"#;
    round_trip(&mut dev, &report, body, QoS::AtLeastOnce).await;
    assert!(
        broker.log().contains("tuyalink_6c95875d0f5ba69607nzfl"),
        "{}",
        broker.log()
    );
    // Tuya has no QoS 2.
    assert_qos2_refused(&mut dev, &report).await;
}
