//! The IoTDA provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with IoTDA's credentials, a device message makes the
//! round trip on its `$oc/devices/{id}/sys/messages/up` topic, and the opt-in system
//! subscription is made on connect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::{QoS, sign::TimestampPolicy};
use iotcloud_huawei::{DeviceId, Huawei};
use iotcloud_testkit::{Broker, Ev, buffers, connect, next, subscribe};

const ID: &str = "6203cc94c7fb24029b110408_88888888";

fn local(port: u16) -> EndpointOverrides<'static> {
    EndpointOverrides {
        host: Some("127.0.0.1"),
        port: Some(port),
        tls: TlsChoice::Off,
        client: None,
    }
}

#[tokio::test]
async fn a_huawei_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let huawei = Huawei::new(DeviceId::new(ID).unwrap(), "123456789")
        .unwrap()
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_overrides(local(broker.port));
    let up = huawei.messages_up().to_string();
    let mut dev = connect(huawei, buffers(2048, 512, 2048)).await;
    // IoTDA routes system downlinks itself: nothing is subscribed on connect.
    assert_eq!(dev.session().subscriptions().count(), 0);
    subscribe(&mut dev, &up, QoS::AtLeastOnce).await;
    let body = br#"{"name":"hello","content":"21.5"}"#;
    dev.publish(&up, body, QoS::AtLeastOnce).await.unwrap();
    let mut got_message = false;
    let mut got_ack = false;
    while !(got_message && got_ack) {
        match next(&mut dev, 5_000).await.expect("event") {
            Ev::Message { topic, payload, .. } => {
                assert_eq!(
                    (topic.as_str(), payload.as_slice()),
                    (up.as_str(), &body[..])
                );
                got_message = true;
            }
            Ev::Published(_) => got_ack = true,
            other => panic!("{other:?}"),
        }
    }
    let log = broker.log();
    assert!(
        log.contains("6203cc94c7fb24029b110408_88888888_0_0_2999010100"),
        "{log}"
    );
    // IoTDA has no QoS 2.
    assert!(matches!(
        dev.publish(&up, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
}

#[tokio::test]
async fn the_opt_in_system_subscription_receives_system_downlinks() {
    let broker = Broker::start();
    let huawei = Huawei::new(
        DeviceId::from_node("6203cc94c7fb24029b110408", "88888888").unwrap(),
        "123456789",
    )
    .unwrap()
    .with_timestamp(TimestampPolicy::Fixed(1_700_000_000))
    .with_sys_subscription(true)
    .with_overrides(local(broker.port));
    let down = huawei.messages_down().to_string();
    let mut dev = connect(huawei, buffers(2048, 512, 2048)).await;
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Subscribed(..))
    ));
    assert_eq!(
        dev.session()
            .subscriptions()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>(),
        [format!("$oc/devices/{ID}/sys/#")]
    );
    // A message on a system downlink topic arrives through that subscription.
    dev.publish(&down, b"{}", QoS::AtMostOnce).await.unwrap();
    loop {
        match next(&mut dev, 5_000).await.expect("event") {
            Ev::Message { topic, .. } => {
                assert_eq!(topic, down);
                break;
            }
            Ev::Published(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(
        broker.log().contains(&format!("{ID}_0_0_2023111422")),
        "{}",
        broker.log()
    );
}
