//! The Tencent provider through the typestate device, against a local mosquitto (host and
//! port overridden, TLS off): it connects with Tencent's key-authentication credentials and
//! a message on the device's data topic makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_tencent::{LUATOS_APP_ID, Tencent, check_topic};
use iotcloud_testkit::{
    Broker, assert_qos2_refused, connect, local, memory, round_trip, subscribe,
};

#[tokio::test]
async fn a_tencent_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let tencent = Tencent::with_secret("LD8S5J1L07", "test", "acyv3QDJrRa0fW5UE58KnQ==")
        .unwrap()
        .with_app_id(LUATOS_APP_ID)
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(local(broker.port));
    let data = tencent.data().to_string();
    assert_eq!(data, "LD8S5J1L07/test/data");
    check_topic(&data).unwrap();
    let mut dev = connect(tencent, memory(2048, 512, 2048)).await;
    subscribe(&mut dev, &data, QoS::AtLeastOnce).await;
    let body = br#"{"temperature":21.5}"#;
    round_trip(&mut dev, &data, body, QoS::AtLeastOnce).await;
    let log = broker.log();
    assert!(log.contains("LD8S5J1L07test"), "{log}");
    // The signed user name reached the broker: `{pid}{dn};{sdkappid};{connid};{expiry}`.
    assert!(log.contains("LD8S5J1L07test;12010126;"), "{log}");
    // Tencent has no QoS 2, and refuses payloads over 16 KB.
    assert_qos2_refused(&mut dev, &data).await;
    assert!(matches!(
        dev.publish(&data, &vec![0u8; 16 * 1024 + 1], QoS::AtMostOnce)
            .await,
        Err(iotcloud_core::Error::PayloadTooLarge { .. })
    ));
}
