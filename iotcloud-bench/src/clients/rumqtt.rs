//! rumqttc, the most used Rust MQTT client: an `AsyncClient` feeding an `EventLoop`, with
//! its defaults except `TCP_NODELAY` (on, as in this SDK) and the in-flight limit (set to
//! [`WINDOW`], which is also its default).

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, NetworkOptions, Outgoing, Packet, QoS};

use super::{per_message, ready_then_wait_for_go, report, report_round_trips, runtime};
use crate::alloc_count::allocations;
use crate::error::{Context, Result};
use crate::{PAYLOAD, WARMUP, WINDOW};

/// rumqttc's default capacity of the channel between `AsyncClient` and `EventLoop`.
const REQUEST_CHANNEL: usize = 10;

/// A client and its event loop, connected (CONNACK received).
async fn connect(port: u16, client_id: &str) -> Result<(AsyncClient, EventLoop)> {
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(60));
    options.set_inflight(u16::try_from(WINDOW).unwrap_or(u16::MAX));
    let (client, mut eventloop) = AsyncClient::new(options, REQUEST_CHANNEL);
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await.ctx("connecting")? {
            return Ok((client, eventloop));
        }
    }
}

fn qos_of(qos: iotcloud_core::QoS) -> QoS {
    match qos {
        iotcloud_core::QoS::AtMostOnce => QoS::AtMostOnce,
        iotcloud_core::QoS::AtLeastOnce => QoS::AtLeastOnce,
        iotcloud_core::QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// Publishes `count` messages to `topic`: one task publishes through the client, this one
/// drives the event loop until every message is written (QoS 0) or acknowledged (QoS 1).
pub fn publish(port: u16, qos: iotcloud_core::QoS, count: u64, topic: &str) -> Result<()> {
    let qos = qos_of(qos);
    runtime()?.block_on(async {
        let (client, mut eventloop) = connect(port, "bench-rumqttc-publisher").await?;
        ready_then_wait_for_go()?;
        let mut base = allocations();
        let publisher = {
            let client = client.clone();
            let topic = topic.to_string();
            tokio::spawn(async move {
                for _ in 0..count {
                    client.publish(topic.as_str(), qos, false, PAYLOAD).await?;
                }
                Ok::<_, rumqttc::ClientError>(())
            })
        };
        let (mut written, mut acked) = (0u64, 0u64);
        loop {
            match eventloop.poll().await.ctx("event loop")? {
                Event::Outgoing(Outgoing::Publish(_)) => {
                    written += 1;
                    if written == WARMUP {
                        base = allocations();
                    }
                    if qos == QoS::AtMostOnce && written == count {
                        break;
                    }
                }
                Event::Incoming(Packet::PubAck(_)) => {
                    acked += 1;
                    if acked == count {
                        break;
                    }
                }
                _ => {}
            }
        }
        let used = allocations() - base;
        report("allocs_per_msg", per_message(used, count - WARMUP));
        publisher.await.ctx("publishing task")?.ctx("publishing")?;
        client.disconnect().await.ctx("disconnecting")?;
        // Let the event loop write the DISCONNECT.
        while let Ok(event) = eventloop.poll().await {
            if let Event::Outgoing(Outgoing::Disconnect) = event {
                break;
            }
        }
        Ok(())
    })
}

/// Publishes at QoS 1 to a topic the client is subscribed to, one message at a time, and
/// times each until the message comes back; the next starts once the PUBACK has come too.
pub fn round_trip(port: u16, count: u64, topic: &str) -> Result<()> {
    runtime()?.block_on(async {
        let (client, mut eventloop) = connect(port, "bench-rumqttc-round-trip").await?;
        client
            .subscribe(topic, QoS::AtLeastOnce)
            .await
            .ctx("subscribing")?;
        loop {
            if let Event::Incoming(Packet::SubAck(_)) =
                eventloop.poll().await.ctx("waiting for SUBACK")?
            {
                break;
            }
        }
        ready_then_wait_for_go()?;
        let warm = WARMUP.min(count);
        let mut samples = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut base = allocations();
        for i in 0..warm + count {
            if i == warm {
                base = allocations();
            }
            let start = Instant::now();
            client
                .try_publish(topic, QoS::AtLeastOnce, false, PAYLOAD)
                .ctx("publish")?;
            let (mut back, mut acked) = (None, false);
            while back.is_none() || !acked {
                match eventloop.poll().await.ctx("event loop")? {
                    Event::Incoming(Packet::Publish(p)) if p.payload == PAYLOAD => {
                        back = Some(Instant::now());
                    }
                    Event::Incoming(Packet::PubAck(_)) => acked = true,
                    _ => {}
                }
            }
            if i >= warm
                && let Some(back) = back
            {
                samples.push(back - start);
            }
        }
        let used = allocations() - base;
        report_round_trips(&mut samples, used, count);
        client.disconnect().await.ctx("disconnecting")?;
        while let Ok(event) = eventloop.poll().await {
            if let Event::Outgoing(Outgoing::Disconnect) = event {
                break;
            }
        }
        Ok(())
    })
}
