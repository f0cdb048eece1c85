//! The Aliyun provider through the typestate device, against a local mosquitto (host and
//! port overridden, TLS off): it connects with Aliyun's credentials, and a message on the
//! device's custom topic makes the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_aliyun::{Aliyun, AliyunConfig};
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_testkit::{Broker, Ev, buffers, connect, next, subscribe};

#[tokio::test]
async fn an_aliyun_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let config =
        AliyunConfig::device_secret("123456789", "abcdefg", "Y877Bgo8X5owd3lcB5wWDjryNPoB")
            .unwrap();
    let aliyun = Aliyun::new(config)
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(EndpointOverrides {
            host: Some("127.0.0.1"),
            port: Some(broker.port),
            tls: TlsChoice::Off,
            client: None,
        });
    let topic = aliyun.user_update().to_string();
    let mut dev = connect(aliyun, buffers(2048, 512, 2048)).await;
    subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
    let body = br#"{"temp":21.5}"#;
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
    // Plain TCP, so securemode 3: exactly the client id LuatOS sends.
    let client_id = "123456789.abcdefg|securemode=3,signmethod=hmacsha256,timestamp=32472115200|";
    assert!(broker.log().contains(client_id), "{}", broker.log());
    // Aliyun has no QoS 2.
    assert!(matches!(
        dev.publish(&topic, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
}
