//! The Tlink provider through the typestate device, against a local mosquitto (host and port
//! overridden, TLS off): it connects with the serial number and account, subscribes its
//! command filter `{serial}/+` on connect, and a message on a command topic makes the round
//! trip through that subscription.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_core::QoS;
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_testkit::{Broker, Ev, buffers, connect, next};
use iotcloud_tlink::Tlink;

#[tokio::test]
async fn a_tlink_device_round_trips_a_message_through_mosquitto() {
    let broker = Broker::start();
    let tlink = Tlink::new("23L698OJDS0Q1MG4", "tlink_account", "account-password")
        .unwrap()
        .with_overrides(EndpointOverrides {
            host: Some("127.0.0.1"),
            port: Some(broker.port),
            tls: TlsChoice::Off,
            client: None,
        });
    let command = tlink.topic("sw1").to_string();
    let mut dev = connect(tlink, buffers(2048, 512, 2048)).await;
    // The command filter was subscribed on connect.
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Subscribed(..))
    ));
    assert_eq!(
        dev.session()
            .subscriptions()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>(),
        ["23L698OJDS0Q1MG4/+"]
    );
    let body = br#"{"sensorDatas":[{"switcher":1}]}"#;
    dev.publish(&command, body, QoS::AtLeastOnce).await.unwrap();
    let mut got_message = false;
    let mut got_ack = false;
    while !(got_message && got_ack) {
        match next(&mut dev, 5_000).await.expect("event") {
            Ev::Message { topic, payload, .. } => {
                assert_eq!(
                    (topic.as_str(), payload.as_slice()),
                    (command.as_str(), &body[..])
                );
                got_message = true;
            }
            Ev::Published(_) => got_ack = true,
            other => panic!("{other:?}"),
        }
    }
    let log = broker.log();
    assert!(log.contains("23L698OJDS0Q1MG4"), "{log}");
    // No QoS 2 without evidence that Tlink has it.
    assert!(matches!(
        dev.publish(&command, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
}
