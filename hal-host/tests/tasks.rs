//! Publishing from one task while another runs the event loop, with no handle type: the
//! other task sends through a channel, and the device's task selects between that channel
//! and `next_event`. This works because `next_event` and `enqueue` can be dropped at any
//! await without losing a byte: bytes the transport accepted are counted, the rest stay
//! queued, and a partly read frame stays in the receive buffer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use iotcloud_core::{Event, QoS};
use iotcloud_testkit::{Broker, connect, memory, provider, subscribe};

const MESSAGES: u32 = 2_000;

#[tokio::test]
async fn another_task_publishes_through_a_channel_while_this_one_runs_the_event_loop() {
    let broker = Broker::start();
    let mut dev = connect(
        provider(broker.port, "it-tasks"),
        memory(4096, 1024, 128 * 1024),
    )
    .await;
    subscribe(&mut dev, "it/tasks/#", QoS::AtLeastOnce).await;

    let (sender, mut inbox) = tokio::sync::mpsc::channel::<(String, Vec<u8>)>(16);
    let producer = tokio::spawn(async move {
        for i in 0..MESSAGES {
            let topic = format!("it/tasks/{}", i % 4);
            sender
                .send((topic, i.to_be_bytes().to_vec()))
                .await
                .unwrap();
        }
    });

    let mut received = BTreeSet::new();
    let mut acknowledged = 0u32;
    let mut producing = true;
    while received.len() < MESSAGES as usize || acknowledged < MESSAGES {
        tokio::select! {
            next = inbox.recv(), if producing => match next {
                // Written into the transmit buffer; it leaves with the others when the
                // buffer fills or when `next_event` next waits for the broker.
                Some((topic, payload)) => {
                    dev.enqueue(&topic, &payload, QoS::AtLeastOnce).await.unwrap();
                }
                None => producing = false,
            },
            event = tokio::time::timeout(Duration::from_secs(10), dev.next_event()) => {
                match event.expect("an event within 10 s").unwrap() {
                    Event::Message(m) => {
                        let n = u32::from_be_bytes(m.payload.try_into().unwrap());
                        assert_eq!(m.topic, format!("it/tasks/{}", n % 4));
                        assert!(received.insert(n), "message {n} came twice");
                    }
                    Event::Published { .. } => acknowledged += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }
    producer.await.unwrap();
    assert_eq!(received, (0..MESSAGES).collect::<BTreeSet<_>>());
    assert!(
        dev.is_connected(),
        "no write was cut short by a dropped future"
    );
    dev.disconnect().await;
}
