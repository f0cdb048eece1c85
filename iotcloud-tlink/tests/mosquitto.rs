//! The Tlink provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with the serial number and account, subscribes its
//! command filter `{serial}/+` on connect, and a message on a command topic makes the round
//! trip through that subscription.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::QoS;
use iotcloud_testkit::{
    Broker, assert_qos2_refused, connect, local, memory, round_trip, subscribed_on_connect,
};
use iotcloud_tlink::Tlink;

#[tokio::test]
async fn a_tlink_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let tlink = Tlink::with_secret("tlink_account", "23L698OJDS0Q1MG4", "account-password")
        .unwrap()
        .with_overrides(local(broker.port));
    let command = tlink.topic("sw1").to_string();
    let mut dev = connect(tlink, memory(2048, 512, 2048)).await;
    // The command filter was subscribed on connect.
    subscribed_on_connect(&mut dev, &["23L698OJDS0Q1MG4/+"]).await;
    let body = br#"{"sensorDatas":[{"switcher":1}]}"#;
    round_trip(&mut dev, &command, body, QoS::AtLeastOnce).await;
    let log = broker.log();
    assert!(log.contains("23L698OJDS0Q1MG4"), "{log}");
    // No QoS 2 without evidence that Tlink has it.
    assert_qos2_refused(&mut dev, &command).await;
}
