//! The device over a transport that breaks on purpose, against a real mosquitto: bytes
//! dribbling in one at a time, partial writes, stalls, resets after a number of bytes, a
//! peer that sends garbage, and futures dropped mid-operation. Nothing is lost, nothing
//! panics, and the device stays usable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hal_host::{SystemClock, TcpTransport};
use iotcloud_core::device::{ReconnectPolicy, Supervised, Supervisor};
use iotcloud_core::plain::PlainMqtt;
use iotcloud_core::platform::Composed;
use iotcloud_core::{Device, Event, QoS};
use iotcloud_testkit::fault::{FaultControl, FaultTransport};
use iotcloud_testkit::{Broker, memory, provider};

type Faulty = FaultTransport<TcpTransport>;
type Sup = Supervisor<'static, PlainMqtt<'static>, Composed<Faulty, SystemClock>>;

async fn faulty(broker: &Broker, id: &'static str) -> (Sup, FaultControl) {
    faulty_with(provider(broker.port, id)).await
}

async fn faulty_with(p: PlainMqtt<'static>) -> (Sup, FaultControl) {
    let (transport, control) = FaultTransport::new(TcpTransport::new());
    let dev = Device::new(
        p,
        Composed::new(transport, SystemClock::new()),
        memory(4096, 512, 64 * 1024),
    )
    .register()
    .await
    .unwrap();
    let policy = ReconnectPolicy {
        floor_ms: 20,
        cap_ms: 200,
        ..ReconnectPolicy::default()
    };
    (dev.supervise(policy), control)
}

/// Services `sup` until `done` says so, or panics after `secs`. With `CUT`, each wait is
/// cut short by a timeout of 1 to 4 ms, so futures are dropped mid-operation; otherwise
/// waits last up to 200 ms.
async fn drive<const CUT: bool>(
    sup: &mut Sup,
    secs: u64,
    mut on: impl FnMut(&Supervised<'_, iotcloud_testkit::fault::FaultError<hal_host::HostError>>),
    mut done: impl FnMut(&Sup) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut slice = 1;
    while !done(sup) {
        assert!(Instant::now() < deadline, "gave up waiting");
        slice = if CUT { slice % 4 + 1 } else { 200 };
        if let Ok(ev) = tokio::time::timeout(Duration::from_millis(slice), sup.next_event()).await {
            on(&ev.unwrap());
        }
    }
}

async fn connected(sup: &mut Sup) {
    let up = Cell::new(false);
    drive::<false>(
        sup,
        10,
        |ev| {
            if matches!(ev, Supervised::Event(Event::Connected { .. })) {
                up.set(true);
            }
        },
        |_| up.get(),
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn one_byte_reads_partial_writes_and_stalls_lose_nothing() {
    let broker = Broker::start();
    let (mut sup, control) = faulty(&broker, "dribble").await;
    control.set(|f| {
        f.max_read = Some(1);
        f.max_write = Some(3);
        f.stall_every = Some((97, Duration::from_millis(3)));
    });
    connected(&mut sup).await;
    sup.subscribe(&[("dribble/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    let body: Vec<u8> = (0..600u32).map(|i| (i * 13 % 251) as u8).collect();
    for i in 0..40u8 {
        let mut b = body.clone();
        b[0] = i;
        sup.publish("dribble/x", &b, QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    let got = RefCell::new(BTreeSet::new());
    let intact = Cell::new(true);
    let acked = Cell::new(0);
    drive::<false>(
        &mut sup,
        20,
        |ev| match ev {
            Supervised::Event(Event::Message(m)) => {
                intact.set(intact.get() && m.payload[1..] == body[1..]);
                got.borrow_mut().insert(m.payload[0]);
            }
            Supervised::Event(Event::Published { .. }) => acked.set(acked.get() + 1),
            _ => {}
        },
        |_| got.borrow().len() == 40 && acked.get() == 40,
    )
    .await;
    assert!(intact.get(), "a payload arrived damaged");
    let stats = control.stats();
    assert_eq!(stats.connects, 1, "{stats:?}");
    // One byte per read: at least as many reads as the 40 messages' bytes.
    assert!(stats.reads > 40 * 600, "{stats:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn resets_every_few_kilobytes_are_recovered_and_every_message_is_acknowledged() {
    let broker = Broker::start();
    let (mut sup, control) = faulty(&broker, "resets").await;
    connected(&mut sup).await;
    control.set(|f| {
        f.reset_after = Some(3_000);
        f.max_write = Some(700);
    });
    let mut acked = 0;
    let mut losses = 0;
    for i in 0..200u32 {
        let body = format!("{i:04}-{}", "x".repeat(100));
        sup.publish("resets/x", body.as_bytes(), QoS::AtLeastOnce)
            .await
            .unwrap();
        if let Ok(ev) = tokio::time::timeout(Duration::from_millis(1), sup.next_event()).await {
            match ev.unwrap() {
                Supervised::Event(Event::Published { .. }) => acked += 1,
                Supervised::Event(Event::Disconnected(_)) => losses += 1,
                _ => {}
            }
        }
    }
    let (acked_c, losses_c) = (Cell::new(acked), Cell::new(losses));
    drive::<false>(
        &mut sup,
        30,
        |ev| match ev {
            Supervised::Event(Event::Published { .. }) => acked_c.set(acked_c.get() + 1),
            Supervised::Event(Event::Disconnected(_)) => losses_c.set(losses_c.get() + 1),
            _ => {}
        },
        |s| s.session().in_flight() == 0,
    )
    .await;
    let (acked, losses) = (acked_c.get(), losses_c.get());
    let stats = control.stats();
    println!("{acked} acknowledged, {losses} losses, {stats:?}");
    assert_eq!(acked, 200);
    assert!(stats.resets >= 5, "{stats:?}");
    assert!(losses >= 5, "{losses}");
}

#[tokio::test(flavor = "current_thread")]
async fn garbage_from_the_peer_ends_the_connection_and_the_device_comes_back() {
    let broker = Broker::start();
    let (mut sup, control) = faulty(&broker, "garbage").await;
    connected(&mut sup).await;
    // Packet type 0 is reserved: a broker never sends it.
    control.set(|f| f.garbage = vec![0x00, 0x02, 0xde, 0xad]);
    let reason = RefCell::new(None);
    drive::<false>(
        &mut sup,
        10,
        |ev| {
            if let Supervised::Event(Event::Disconnected(r)) = ev {
                *reason.borrow_mut() = Some(r.to_string());
            }
        },
        |_| reason.borrow().is_some(),
    )
    .await;
    let reason = reason.into_inner().unwrap();
    assert!(reason.starts_with("protocol error"), "{reason}");
    connected(&mut sup).await;
    sup.subscribe(&[("garbage/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    sup.publish("garbage/ok", b"fine", QoS::AtLeastOnce)
        .await
        .unwrap();
    let echoed = Cell::new(false);
    drive::<false>(
        &mut sup,
        10,
        |ev| {
            if matches!(ev, Supervised::Event(Event::Message(m)) if m.payload == b"fine") {
                echoed.set(true);
            }
        },
        |_| echoed.get(),
    )
    .await;
    assert_eq!(control.stats().connects, 2);
}

#[tokio::test(flavor = "current_thread")]
async fn refused_connections_are_retried() {
    let broker = Broker::start();
    let (mut sup, control) = faulty(&broker, "refused-tcp").await;
    control.set(|f| f.refuse_connects = 3);
    let failures = Cell::new(0);
    let up = Cell::new(false);
    drive::<false>(
        &mut sup,
        10,
        |ev| match ev {
            Supervised::ConnectFailed { .. } => failures.set(failures.get() + 1),
            Supervised::Event(Event::Connected { .. }) => up.set(true),
            _ => {}
        },
        |_| up.get(),
    )
    .await;
    assert_eq!(failures.get(), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn futures_dropped_mid_operation_leave_a_consistent_device() {
    let broker = Broker::start();
    // A persistent session, so that what the broker was delivering when a cancelled
    // write cost the connection is delivered again.
    let (mut sup, control) =
        faulty_with(provider(broker.port, "cancelled").with_clean_session(false)).await;
    control.set(|f| {
        f.max_read = Some(7);
        f.max_write = Some(3);
        f.stall_every = Some((5, Duration::from_millis(2)));
    });
    connected(&mut sup).await;
    sup.subscribe(&[("cancelled/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    for i in 0..60u8 {
        sup.publish("cancelled/x", &[i; 40], QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    let got = RefCell::new(BTreeSet::new());
    let acked = Cell::new(0);
    let bad = Cell::new(0);
    drive::<true>(
        &mut sup,
        30,
        |ev| match ev {
            Supervised::Event(Event::Message(m)) => {
                if m.payload.iter().all(|b| *b == m.payload[0]) && m.payload.len() == 40 {
                    got.borrow_mut().insert(m.payload[0]);
                } else {
                    bad.set(bad.get() + 1);
                }
            }
            Supervised::Event(Event::Published { .. }) => acked.set(acked.get() + 1),
            _ => {}
        },
        |s| got.borrow().len() == 60 && s.session().in_flight() == 0,
    )
    .await;
    println!(
        "60 messages through cancelled futures: {} acknowledgements, {:?}",
        acked.get(),
        control.stats()
    );
    assert_eq!(bad.get(), 0, "a damaged message was delivered");
    assert_eq!(acked.get(), 60);
    // Still usable afterwards.
    sup.publish("cancelled/x", &[99; 40], QoS::AtLeastOnce)
        .await
        .unwrap();
    let again = Cell::new(false);
    drive::<false>(
        &mut sup,
        10,
        |ev| {
            if matches!(ev, Supervised::Event(Event::Message(m)) if m.payload == [99; 40]) {
                again.set(true);
            }
        },
        |_| again.get(),
    )
    .await;
}
