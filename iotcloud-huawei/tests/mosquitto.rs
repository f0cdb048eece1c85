//! The IoTDA provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with IoTDA's credentials, a device message makes the
//! round trip on its `$oc/devices/{id}/sys/messages/up` topic, and the system subscription
//! (QoS 1, on by default) is made on connect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_huawei::{DeviceId, Huawei};
use iotcloud_testkit::{
    Broker, assert_qos2_refused, connect, local, memory, round_trip, subscribe,
    subscribed_on_connect,
};

const ID: &str = "6203cc94c7fb24029b110408_88888888";

#[tokio::test]
async fn a_huawei_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let huawei = Huawei::with_secret(DeviceId::new(ID).unwrap(), "123456789")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_sys_subscription(false)
        .with_overrides(local(broker.port));
    let up = huawei.messages_up().to_string();
    let mut dev = connect(huawei, memory(2048, 512, 2048)).await;
    // Turned off, nothing is subscribed on connect (IoTDA's QoS 0 delivery stays).
    assert_eq!(dev.session().subscriptions().count(), 0);
    subscribe(&mut dev, &up, QoS::AtLeastOnce).await;
    let body = br#"{"name":"hello","content":"21.5"}"#;
    round_trip(&mut dev, &up, body, QoS::AtLeastOnce).await;
    let log = broker.log();
    assert!(
        log.contains("6203cc94c7fb24029b110408_88888888_0_0_2999010100"),
        "{log}"
    );
    // IoTDA has no QoS 2.
    assert_qos2_refused(&mut dev, &up).await;
}

#[tokio::test]
async fn the_default_system_subscription_receives_system_downlinks_at_qos_1() {
    let broker = Broker::start();
    let huawei = Huawei::with_secret(
        DeviceId::from_node("6203cc94c7fb24029b110408", "88888888").unwrap(),
        "123456789",
    )
    .unwrap()
    .with_timestamp(TimestampPolicy::Fixed(1_700_000_000))
    .with_overrides(local(broker.port));
    let down = huawei.messages_down().to_string();
    let mut dev = connect(huawei, memory(2048, 512, 2048)).await;
    subscribed_on_connect(&mut dev, &[&format!("$oc/devices/{ID}/sys/#")]).await;
    // A message on a system downlink topic arrives through that subscription.
    round_trip(&mut dev, &down, b"{}", QoS::AtMostOnce).await;
    assert!(
        broker.log().contains(&format!("{ID}_0_0_2023111422")),
        "{}",
        broker.log()
    );
}
