//! This SDK: hal-host's tokio transport and clock under the `no_std` core, as a gateway
//! application would use them.

use std::task::Poll;
use std::time::Instant;

use hal_host::{HostError, HostPlatform};
use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
use iotcloud_core::plain::PlainMqtt;
use iotcloud_core::{Connected, Device, Error, Event, QoS};

use super::{per_message, ready_then_wait_for_go, report, report_round_trips, runtime};
use crate::alloc_count::allocations;
use crate::error::{Context, Result, fail};
use crate::{PAYLOAD, RX_BUFFER, SESSION_BUFFER, TX_BUFFER, WARMUP, WINDOW};

type HostDevice<'b> = Device<'b, PlainMqtt<'b>, HostPlatform, Connected>;

/// The device's memory, sized for [`WINDOW`] messages in flight.
type Arrays = MemoryArrays<Rx<RX_BUFFER>, Tx<TX_BUFFER>, SessionBytes<SESSION_BUFFER>>;

/// Connects as `client_id` and consumes the `Connected` event.
async fn connect<'b>(
    port: u16,
    client_id: &'b str,
    arrays: &'b mut Arrays,
) -> Result<HostDevice<'b>> {
    let provider = PlainMqtt::new("127.0.0.1", port, client_id).ctx("configuring the device")?;
    let device = Device::new(provider, HostPlatform::new(), arrays.memory());
    let device = device.register().await.ctx("registering")?;
    let mut device = device.connect().await.ctx("connecting")?;
    match device.next_event().await.ctx("waiting for CONNACK")? {
        Event::Connected { .. } => Ok(device),
        other => fail(format!("expected Connected, got {other:?}")),
    }
}

/// How many acknowledgements one event carries; a lost connection is an error.
fn acks(event: core::result::Result<Event<'_>, Error<HostError>>) -> Result<u64> {
    match event.ctx("waiting for events")? {
        Event::Published { .. } => Ok(1),
        Event::Disconnected(reason) => fail(format!("connection lost: {reason}")),
        _ => Ok(0),
    }
}

/// Publishes `count` messages to `topic`; at QoS 1 returns once all are acknowledged.
///
/// Messages are enqueued (written into the transmit buffer, which goes out when it fills
/// or when the device waits for the broker); acknowledgements arrive as events. Up to
/// [`WINDOW`] messages are kept in flight: when the window (or the session memory) is full
/// the loop waits for one event, then takes every event already received without waiting,
/// and refills the window.
pub fn publish(port: u16, qos: QoS, count: u64, topic: &str) -> Result<()> {
    runtime()?.block_on(async {
        let mut arrays = Box::new(Arrays::new());
        let mut device = connect(port, "bench-sdk-publisher", &mut arrays).await?;
        let payload = PAYLOAD;
        ready_then_wait_for_go()?;
        let mut base = allocations();
        let (mut sent, mut acked) = (0u64, 0u64);
        // Publishes while the window has room.
        macro_rules! fill {
            () => {
                while sent < count && (qos == QoS::AtMostOnce || sent - acked < WINDOW) {
                    match device.enqueue(topic, payload, qos).await {
                        Ok(_) => sent += 1,
                        Err(Error::SessionFull { .. }) => break,
                        Err(e) => return fail(format!("publish: {e}")),
                    }
                    if sent == WARMUP {
                        base = allocations();
                    }
                }
            };
        }
        while acked < count {
            fill!();
            if qos == QoS::AtMostOnce {
                device.flush().await.ctx("flush")?;
                acked = sent;
                continue;
            }
            acked += acks(device.next_event().await)?;
            // Take every acknowledgement already received, then refill the window in one
            // go: the new messages leave together, a transmit buffer at a time.
            while let Poll::Ready(event) = embassy_futures::poll_once(device.next_event()) {
                acked += acks(event)?;
            }
        }
        let used = allocations() - base;
        report("allocs_per_msg", per_message(used, count - WARMUP));
        report("device_bytes", core::mem::size_of_val(&device));
        device.disconnect().await;
        Ok(())
    })
}

/// Publishes at QoS 1 to a topic the device is subscribed to, one message at a time, and
/// times each until the message comes back; the next starts once the PUBACK has come too.
pub fn round_trip(port: u16, count: u64, topic: &str) -> Result<()> {
    runtime()?.block_on(async {
        let mut arrays = Box::new(Arrays::new());
        let mut device = connect(port, "bench-sdk-round-trip", &mut arrays).await?;
        device
            .subscribe(&[(topic, QoS::AtLeastOnce)])
            .await
            .ctx("subscribing")?;
        loop {
            match device.next_event().await.ctx("waiting for SUBACK")? {
                Event::Subscribed { .. } => break,
                Event::Disconnected(reason) => return fail(format!("connection lost: {reason}")),
                _ => {}
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
            device
                .publish(topic, PAYLOAD, QoS::AtLeastOnce)
                .await
                .ctx("publish")?;
            let (mut back, mut acked) = (None, false);
            while back.is_none() || !acked {
                match device.next_event().await.ctx("waiting for events")? {
                    Event::Message(m) if m.payload == PAYLOAD => back = Some(Instant::now()),
                    Event::Published { .. } => acked = true,
                    Event::Disconnected(reason) => {
                        return fail(format!("connection lost: {reason}"));
                    }
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
        device.disconnect().await;
        Ok(())
    })
}
