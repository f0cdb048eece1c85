//! The device against a real mosquitto broker on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use iotcloud_core::{Error, QoS};
use iotcloud_testkit::{Broker, Ev, connect, memory, next, provider, subscribe};

#[tokio::test]
async fn publish_and_receive_at_qos_0_1_and_2() {
    let broker = Broker::start();
    let mut dev = connect(
        provider(broker.port, "it-roundtrip"),
        memory(2048, 512, 4096),
    )
    .await;
    subscribe(&mut dev, "it/rt/#", QoS::ExactlyOnce).await;

    let mut expected_acks = Vec::new();
    for (n, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        let topic = format!("it/rt/q{n}");
        if let Some(id) = dev
            .publish(&topic, format!("payload-{n}").as_bytes(), qos)
            .await
            .unwrap()
        {
            expected_acks.push(id.get());
        }
    }
    let mut received = BTreeMap::new();
    let mut acks = Vec::new();
    while received.len() < 3 || acks.len() < 2 {
        match next(&mut dev, 5_000).await.expect("events within 5 s") {
            Ev::Message {
                topic,
                payload,
                qos,
                ..
            } => {
                received.insert(topic, (String::from_utf8(payload).unwrap(), qos));
            }
            Ev::Published(id) => acks.push(id),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(acks, expected_acks);
    assert_eq!(
        received["it/rt/q0"],
        ("payload-0".to_string(), QoS::AtMostOnce)
    );
    assert_eq!(
        received["it/rt/q1"],
        ("payload-1".to_string(), QoS::AtLeastOnce)
    );
    assert_eq!(
        received["it/rt/q2"],
        ("payload-2".to_string(), QoS::ExactlyOnce)
    );

    // Unsubscribing stops delivery.
    let id = dev.unsubscribe(&["it/rt/#"]).await.unwrap().get();
    assert_eq!(next(&mut dev, 5_000).await, Some(Ev::Unsubscribed(id)));
    dev.publish("it/rt/after", b"x", QoS::AtMostOnce)
        .await
        .unwrap();
    assert_eq!(next(&mut dev, 500).await, None);
    dev.disconnect().await;
}

#[tokio::test]
async fn keep_alive_holds_an_idle_connection() {
    let broker = Broker::start();
    let p = provider(broker.port, "it-idle").with_keep_alive(1);
    let mut dev = connect(p, memory(1024, 256, 1024)).await;
    // mosquitto drops a client that sends nothing for 1.5 keep-alive intervals; staying
    // idle for four intervals shows the device's pings.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        if let Some(ev) = next(&mut dev, 500).await {
            panic!("idle connection produced {ev:?}\n{}", broker.log());
        }
    }
    assert!(dev.is_connected());
    assert!(
        broker.log().contains("PINGREQ from it-idle"),
        "{}",
        broker.log()
    );
    let id = dev
        .publish("it/idle", b"still here", QoS::AtLeastOnce)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next(&mut dev, 5_000).await, Some(Ev::Published(id.get())));
}

#[tokio::test]
async fn an_oversized_message_is_reported_and_the_connection_survives() {
    let broker = Broker::start();
    let mut small = connect(provider(broker.port, "it-small-rx"), memory(512, 256, 1024)).await;
    subscribe(&mut small, "it/big/#", QoS::AtLeastOnce).await;
    let mut sender = connect(
        provider(broker.port, "it-sender"),
        memory(1024, 256, 16 * 1024),
    )
    .await;
    let big = vec![0xa5u8; 4000];
    sender
        .publish("it/big/1", &big, QoS::AtLeastOnce)
        .await
        .unwrap();
    sender
        .publish("it/big/2", b"fits", QoS::AtLeastOnce)
        .await
        .unwrap();

    match next(&mut small, 5_000).await {
        Some(Ev::Error(e)) => assert!(
            e.contains("does not fit the 512-byte receive buffer"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    match next(&mut small, 5_000).await {
        Some(Ev::Message { topic, payload, .. }) => {
            assert_eq!(
                (topic.as_str(), payload.as_slice()),
                ("it/big/2", &b"fits"[..])
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(small.is_connected());
    // The oversized QoS 1 message was acknowledged: the broker does not send it again.
    let small = small.disconnect().await;
    let mut small = small.connect().await.unwrap();
    assert!(matches!(
        next(&mut small, 5_000).await,
        Some(Ev::Connected(_))
    ));
    loop {
        match next(&mut small, 700).await {
            None => break,
            Some(Ev::Subscribed(..)) => {}
            Some(other) => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn qos1_messages_in_flight_survive_a_broker_restart() {
    const ACKED: u32 = 100;
    const IN_FLIGHT: u32 = 100;
    const WHILE_DOWN: u32 = 20;
    const TOTAL: u32 = ACKED + IN_FLIGHT + WHILE_DOWN;
    let mut broker = Broker::start();

    // A persistent subscriber: the broker queues for it while it is away.
    let sub_provider = provider(broker.port, "it-persistent-sub").with_clean_session(false);
    let mut sub = connect(sub_provider, memory(1024, 256, 1024)).await;
    subscribe(&mut sub, "it/restart", QoS::AtLeastOnce).await;
    let sub = sub.disconnect().await;

    let mut publisher = connect(
        provider(broker.port, "it-publisher"),
        memory(1024, 256, 64 * 1024),
    )
    .await;
    let publish = |seq: u32| format!("{seq}");
    for seq in 0..ACKED {
        publisher
            .publish("it/restart", publish(seq).as_bytes(), QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    while publisher.session().in_flight() > 0 {
        assert!(matches!(
            next(&mut publisher, 5_000).await,
            Some(Ev::Published(_))
        ));
    }
    // Let the broker's autosave (every second) write the queued messages to disk.
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // The broker stops answering: these messages are certainly in flight when it dies.
    broker.freeze();
    for seq in ACKED..ACKED + IN_FLIGHT {
        publisher
            .publish("it/restart", publish(seq).as_bytes(), QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    assert_eq!(publisher.session().in_flight(), IN_FLIGHT as usize);
    broker.kill();
    match next(&mut publisher, 5_000).await {
        Some(Ev::Disconnected(_)) => {}
        other => panic!("{other:?}"),
    }
    // Published while the broker is down: kept for the next connection.
    for seq in ACKED + IN_FLIGHT..TOTAL {
        publisher
            .publish("it/restart", publish(seq).as_bytes(), QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    assert_eq!(
        publisher.session().in_flight(),
        (IN_FLIGHT + WHILE_DOWN) as usize
    );

    broker.start_again();
    let mut registered = publisher.disconnect().await;
    let mut publisher = loop {
        match registered.connect().await {
            Ok(d) => break d,
            Err(failed) => {
                let (e, d) = failed.into_parts();
                assert!(matches!(e, Error::Transport(_)), "{e:?}");
                registered = d;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    while publisher.session().in_flight() > 0 {
        match next(&mut publisher, 5_000).await {
            Some(Ev::Connected(_) | Ev::Published(_)) => {}
            other => panic!("{other:?}, {} in flight", publisher.session().in_flight()),
        }
    }

    let mut sub = sub.connect().await.unwrap();
    assert_eq!(next(&mut sub, 5_000).await, Some(Ev::Connected(true)));
    let mut seen: BTreeMap<u32, u32> = BTreeMap::new();
    while seen.len() < TOTAL as usize {
        match next(&mut sub, 5_000).await {
            Some(Ev::Message { payload, .. }) => {
                let seq: u32 = String::from_utf8(payload).unwrap().parse().unwrap();
                *seen.entry(seq).or_default() += 1;
            }
            Some(Ev::Subscribed(..)) => {}
            other => panic!(
                "{other:?} after {} of {TOTAL}\n{}",
                seen.len(),
                broker.log()
            ),
        }
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (0..TOTAL).collect::<Vec<_>>()
    );
    let duplicates: u32 = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "{TOTAL} messages, {IN_FLIGHT} in flight when the broker died, {duplicates} duplicates"
    );
}

#[tokio::test]
async fn refused_credentials_are_an_authentication_error() {
    // A broker that requires a password file nobody is in.
    let dir = tempfile::tempdir().unwrap();
    let pwfile = dir.path().join("passwords");
    std::fs::write(&pwfile, "").unwrap();
    let broker = Broker::start_with(iotcloud_testkit::ListenerExtra(vec![
        "allow_anonymous false".into(),
        format!("password_file {}", pwfile.display()),
    ]));
    let p = provider(broker.port, "it-refused").with_login("nobody", "wrong");
    let dev = iotcloud_testkit::device(p, memory(1024, 256, 1024))
        .register()
        .await
        .unwrap();
    let (err, _dev) = dev.connect().await.expect_err("refused").into_parts();
    assert!(matches!(err, Error::Refused(_)), "{err:?}");
    assert_eq!(err.kind(), iotcloud_core::ErrorKind::Auth);
}

/// QoS 0 messages written just before a disconnect all arrive: the device waits for the
/// broker to close after DISCONNECT, instead of closing with the broker's answers unread
/// (which resets the connection and makes the broker drop what it has not read yet).
#[tokio::test]
async fn qos0_messages_written_right_before_disconnect_all_arrive() {
    const N: u32 = 20_000;
    let broker = Broker::start();
    let mut receiver = connect(
        provider(broker.port, "it-last-words-rx"),
        memory(4096, 512, 4096),
    )
    .await;
    subscribe(&mut receiver, "it/last-words", QoS::AtMostOnce).await;

    let mut sender = connect(
        provider(broker.port, "it-last-words-tx"),
        memory(2048, 4096, 4096),
    )
    .await;
    // Its SUBACK stays unread: at close, the broker has sent something the device never
    // read.
    sender
        .subscribe(&[("it/elsewhere", QoS::AtMostOnce)])
        .await
        .unwrap();
    for i in 0..N {
        sender
            .enqueue("it/last-words", &i.to_be_bytes(), QoS::AtMostOnce)
            .await
            .unwrap();
    }
    sender.flush().await.unwrap();
    let _ = sender.disconnect().await;

    let mut got = 0u32;
    while got < N {
        match next(&mut receiver, 10_000).await {
            Some(Ev::Message { payload, .. }) => {
                assert_eq!(payload, got.to_be_bytes(), "in order, none missing");
                got += 1;
            }
            other => panic!("after {got} of {N}: {other:?}"),
        }
    }
    receiver.disconnect().await;
}
