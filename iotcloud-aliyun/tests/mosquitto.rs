//! The Aliyun provider through the typestate device, against a local mosquitto (host and
//! port overridden, TLS off): it connects with Aliyun's credentials, and a message on the
//! device's custom topic makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_aliyun::Aliyun;
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_testkit::{
    Broker, assert_qos2_refused, connect, local, memory, round_trip, subscribe,
};

#[tokio::test]
async fn an_aliyun_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let aliyun = Aliyun::with_secret("123456789", "abcdefg", "Y877Bgo8X5owd3lcB5wWDjryNPoB")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(local(broker.port));
    let topic = aliyun.user_update().to_string();
    let mut dev = connect(aliyun, memory(2048, 512, 2048)).await;
    subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
    round_trip(&mut dev, &topic, br#"{"temp":21.5}"#, QoS::AtLeastOnce).await;
    // Plain TCP, so securemode 3: exactly the client id LuatOS sends.
    let client_id = "123456789.abcdefg|securemode=3,signmethod=hmacsha256,timestamp=32472115200|";
    assert!(broker.log().contains(client_id), "{}", broker.log());
    // Aliyun has no QoS 2.
    assert_qos2_refused(&mut dev, &topic).await;
}
