//! The reconnect supervisor and the offline queue against a real mosquitto that is stopped
//! and started under load, and against brokers that refuse the credentials or close every
//! connection at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iotcloud_core::device::{Cause, ReconnectPolicy, Supervised, Supervisor};
use iotcloud_core::{ErrorKind, Event, QoS};
use iotcloud_testkit::{Broker, device, memory, provider};

use hal_host::HostPlatform;
use iotcloud_core::plain::PlainMqtt;

type Sup = Supervisor<'static, PlainMqtt<'static>, HostPlatform>;

const MESSAGES: u32 = 2_000;
const TOPIC: &str = "chaos/seq";
const PACE: Duration = Duration::from_micros(2_500);

fn quick() -> ReconnectPolicy {
    ReconnectPolicy {
        floor_ms: 50,
        cap_ms: 400,
        stable_after_ms: 2_000,
        ..ReconnectPolicy::default()
    }
}

async fn supervised(p: PlainMqtt<'static>, session: usize, policy: ReconnectPolicy) -> Sup {
    device(p, memory(4096, 1024, session))
        .register()
        .await
        .unwrap()
        .supervise(policy)
}

/// What a supervised client saw, for the assertions and the failure messages.
#[derive(Debug, Default)]
struct Seen {
    connects: u32,
    losses: u32,
    failed_attempts: u32,
}

/// Feeds one supervisor event into `seen`; returns the payload of a message.
fn note(ev: Supervised<'_, hal_host::HostError>, seen: &mut Seen) -> Option<Vec<u8>> {
    match ev {
        Supervised::Event(Event::Connected { .. }) => seen.connects += 1,
        Supervised::Event(Event::Disconnected(_)) => seen.losses += 1,
        Supervised::Event(Event::Message(m)) => return Some(m.payload.to_vec()),
        Supervised::ConnectFailed { .. } => seen.failed_attempts += 1,
        _ => {}
    }
    None
}

#[tokio::test(flavor = "current_thread")]
async fn every_message_arrives_while_the_broker_is_stopped_and_restarted_three_times() {
    let broker = Arc::new(Mutex::new(Broker::start()));
    let port = broker.lock().unwrap().port;

    // A persistent subscriber: the broker keeps its QoS 1 messages while it is away.
    let sub_provider = provider(port, "chaos-sub").with_clean_session(false);
    let mut sub = supervised(sub_provider, 4096, quick()).await;
    let mut sub_seen = Seen::default();
    loop {
        let ev = sub.next_event().await.unwrap();
        let connected = matches!(ev, Supervised::Event(Event::Connected { .. }));
        note(ev, &mut sub_seen);
        if connected {
            break;
        }
    }
    sub.subscribe(&[(TOPIC, QoS::AtLeastOnce)]).await.unwrap();

    // Room for every message at once: nothing is refused while the broker is down.
    let mut publisher = supervised(provider(port, "chaos-pub"), 160 * 1024, quick()).await;

    // Three stops with SIGTERM (mosquitto saves its state) and restarts, under load.
    let chaos = {
        let broker = Arc::clone(&broker);
        std::thread::spawn(move || {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(700));
                broker.lock().unwrap().stop();
                std::thread::sleep(Duration::from_millis(400));
                broker.lock().unwrap().start_again();
            }
        })
    };

    let mut pub_seen = Seen::default();
    let mut received: BTreeMap<u32, u32> = BTreeMap::new();
    let mut next_seq = 0u32;
    let mut acked = 0u32;
    let mut queued_while_down = 0u32;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let publisher_done =
        |next_seq: u32, p: &Sup| next_seq == MESSAGES && p.session().in_flight() == 0;
    while (!publisher_done(next_seq, &publisher) || received.len() < MESSAGES as usize)
        && Instant::now() < deadline
    {
        // One message every 2.5 ms (5 s in all, across the three restarts); in between,
        // both clients are serviced. Every wait is cut short by a timeout, so futures are
        // dropped mid-operation all the time.
        if next_seq < MESSAGES && started.elapsed() >= PACE * next_seq {
            let body = format!("{next_seq}");
            if !publisher.is_connected() {
                queued_while_down += 1;
            }
            publisher
                .publish(TOPIC, body.as_bytes(), QoS::AtLeastOnce)
                .await
                .unwrap_or_else(|e| panic!("publish {next_seq}: {e}"));
            next_seq += 1;
        }
        let slice = Duration::from_millis(1);
        if let Ok(ev) = tokio::time::timeout(slice, publisher.next_event()).await {
            if let Supervised::Event(Event::Published { .. }) = ev.as_ref().unwrap() {
                acked += 1;
            }
            note(ev.unwrap(), &mut pub_seen);
        }
        if let Ok(ev) = tokio::time::timeout(slice, sub.next_event()).await
            && let Some(body) = note(ev.unwrap(), &mut sub_seen)
        {
            let seq: u32 = std::str::from_utf8(&body).unwrap().parse().unwrap();
            *received.entry(seq).or_default() += 1;
        }
    }
    chaos.join().unwrap();

    let missing: Vec<u32> = (0..MESSAGES)
        .filter(|s| !received.contains_key(s))
        .collect();
    let duplicates: u32 = received.values().map(|n| n - 1).sum();
    println!(
        "{MESSAGES} QoS 1 messages in {:.1} s: {} duplicates, {} missing, {queued_while_down} \
         published while the publisher was down; publisher {pub_seen:?}; subscriber {sub_seen:?}",
        started.elapsed().as_secs_f64(),
        duplicates,
        missing.len()
    );
    assert!(missing.is_empty(), "missing sequence numbers: {missing:?}");
    assert_eq!(acked, MESSAGES, "every message acknowledged once");
    // The broker really went away under both clients, three times.
    assert!(pub_seen.losses >= 3, "{pub_seen:?}");
    assert!(sub_seen.losses >= 3, "{sub_seen:?}");
    assert!(
        queued_while_down > 0,
        "nothing was published while the broker was down"
    );
}

/// A broker that answers every CONNECT with a CONNACK of return code `code`, then closes
/// the connection, and records when each one came.
fn connack_broker(code: u8) -> (u16, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&attempts);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            seen.lock().unwrap().push(Instant::now());
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&[0x20, 0x02, 0x00, code]);
        }
    });
    (port, attempts)
}

#[tokio::test(flavor = "current_thread")]
async fn refused_credentials_slow_the_attempts_down_to_the_cap_never_under_the_floor() {
    // Return code 4: bad user name or password.
    let (port, attempts) = connack_broker(4);
    let policy = ReconnectPolicy {
        floor_ms: 40,
        cap_ms: 640,
        jitter_percent: 25,
        ..ReconnectPolicy::default()
    };
    let mut sup = supervised(provider(port, "refused"), 1024, policy).await;
    let mut announced = Vec::new();
    while announced.len() < 7 {
        match sup.next_event().await.unwrap() {
            Supervised::ConnectFailed {
                attempt,
                error,
                retry_in_ms,
            } => {
                assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
                announced.push((attempt, retry_in_ms));
            }
            Supervised::Connecting { attempt, cause } => {
                if attempt > 1 {
                    assert_eq!(cause, Cause::Failed(ErrorKind::Auth));
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let times = attempts.lock().unwrap().clone();
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    println!("announced waits {announced:?}; measured gaps {gaps:?} ms");
    assert_eq!(times.len(), 7);
    // Never faster than the floor.
    assert!(gaps.iter().all(|&g| g >= 40), "{gaps:?}");
    // Sharply slower after a refusal: the first wait is already 8 × the floor (less at
    // most 25 % jitter), and from the second on the waits sit at the cap.
    assert!(announced[0].1 >= 240, "{announced:?}");
    assert!(
        announced[1..]
            .iter()
            .all(|&(_, w)| (480..=640).contains(&w)),
        "{announced:?}"
    );
    assert!(gaps[1..].iter().all(|&g| g >= 470), "{gaps:?}");
    assert_eq!(
        announced.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_broker_that_accepts_then_closes_at_once_is_not_hammered() {
    // CONNACK accepted, then the connection is closed, every time.
    let (port, times) = connack_broker(0);
    let policy = ReconnectPolicy {
        floor_ms: 30,
        cap_ms: 480,
        jitter_percent: 0,
        stable_after_ms: 10_000,
        ..ReconnectPolicy::default()
    };
    let mut sup = supervised(provider(port, "flaky"), 1024, policy).await;
    let mut connects = 0;
    while connects < 6 {
        if let Supervised::Event(Event::Connected { .. }) = sup.next_event().await.unwrap() {
            connects += 1;
        }
    }
    let times = times.lock().unwrap().clone();
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    println!("gaps between connections {gaps:?} ms");
    // Each short-lived connection doubles the wait: 30, 60, 120, 240, 480 ms.
    for (gap, want) in gaps.iter().zip([30u64, 60, 120, 240, 480]) {
        assert!(*gap >= want, "{gaps:?}");
    }
}

/// The first failed attempt of a supervisor connecting with `p`, as text.
async fn first_failure(p: PlainMqtt<'static>) -> String {
    let mut sup = supervised(p, 1024, quick()).await;
    loop {
        match sup.next_event().await.unwrap() {
            Supervised::ConnectFailed {
                error, retry_in_ms, ..
            } => {
                assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
                assert!(retry_in_ms >= 50, "{retry_in_ms}");
                return error.to_string();
            }
            Supervised::Connecting { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn dns_and_tls_failures_are_named_and_retried() {
    let dns = first_failure(PlainMqtt::new("no-such-host.invalid", 1883, "dns").unwrap()).await;
    assert!(
        dns.contains("DNS lookup of no-such-host.invalid failed"),
        "{dns}"
    );

    // TLS to a broker that speaks plain MQTT: the handshake fails, and says so.
    let broker = Broker::start();
    let tls =
        provider(broker.port, "tls").with_tls(iotcloud_core::transport::ServerAuth::DefaultRoots);
    let tls = first_failure(tls).await;
    assert!(tls.contains("TLS handshake with 127.0.0.1 failed"), "{tls}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_offline_queue_drops_the_oldest_when_asked_and_reports_each_drop() {
    use iotcloud_core::DeviceOptions;
    use iotcloud_core::session::WhenFull;

    let mut broker = Broker::start();
    let options = DeviceOptions {
        when_full: WhenFull::DropOldest,
        ..DeviceOptions::default()
    };
    // Room for about four queued messages of this size.
    let dev = iotcloud_core::Device::with_options(
        provider(broker.port, "dropper"),
        HostPlatform::new(),
        memory(2048, 512, 4 * 48),
        options,
    )
    .register()
    .await
    .unwrap();
    let mut sup = dev.supervise(quick());
    loop {
        if let Supervised::Event(Event::Connected { .. }) = sup.next_event().await.unwrap() {
            break;
        }
    }
    broker.stop();
    loop {
        if let Supervised::Event(Event::Disconnected(_)) = sup.next_event().await.unwrap() {
            break;
        }
    }
    let mut ids = Vec::new();
    for i in 0..10u8 {
        let id = sup
            .publish("drop/x", &[i; 20], QoS::AtLeastOnce)
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
    }
    // The six oldest were dropped, oldest first, and said so before anything else.
    let mut dropped = Vec::new();
    while dropped.len() < 6 {
        match tokio::time::timeout(Duration::from_secs(5), sup.next_event())
            .await
            .unwrap()
            .unwrap()
        {
            Supervised::Event(Event::Dropped { packet_id }) => dropped.push(packet_id),
            other => panic!("expected the drops first, got {other:?}"),
        }
    }
    assert_eq!(dropped, ids[..6]);
    // The four newest are delivered once the broker is back.
    broker.start_again();
    let mut acked = Vec::new();
    while acked.len() < 4 {
        if let Supervised::Event(Event::Published { packet_id }) =
            tokio::time::timeout(Duration::from_secs(10), sup.next_event())
                .await
                .unwrap()
                .unwrap()
        {
            acked.push(packet_id);
        }
    }
    assert_eq!(acked, ids[6..]);
}
