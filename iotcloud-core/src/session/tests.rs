use std::vec::Vec;

use super::*;
use crate::mqtt::{Suback, SubackCodes};

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn connect_packet() -> Connect<'static> {
    Connect {
        client_id: "dev",
        keep_alive: 10,
        clean_session: false,
        will: None,
        username: None,
        password: None,
    }
}

fn accepted(session_present: bool) -> Connack {
    Connack {
        session_present,
        code: ConnectReturnCode::Accepted,
    }
}

/// Brings a session up and drains its replay, returning the replayed frames.
fn bring_up(s: &mut Session<'_>, session_present: bool, now: u64) -> Vec<Vec<u8>> {
    let mut tx = [0u8; 256];
    s.connect(&connect_packet(), now, &mut tx).unwrap();
    s.on_connack(&accepted(session_present), now).unwrap();
    let mut out = Vec::new();
    while let Some(frame) = replayed(s, &mut tx) {
        out.push(frame);
    }
    out
}

/// The next frame the replay wants written, copied out.
fn replayed(s: &mut Session<'_>, tx: &mut [u8]) -> Option<Vec<u8>> {
    match s.next_replay(tx).unwrap()? {
        Replay::Frame(n) => Some(tx[..n].to_vec()),
        Replay::Stored(frame) => Some(frame.to_vec()),
    }
}

fn decode(frame: &[u8]) -> Packet<'_> {
    Packet::decode(frame).unwrap().unwrap().0
}

fn publish_id(s: &mut Session<'_>, topic: &str, qos: QoS) -> PacketId {
    let mut tx = [0u8; 256];
    match s
        .publish(
            TopicName::new(topic).unwrap(),
            b"payload",
            qos,
            false,
            &mut tx,
        )
        .unwrap()
    {
        Outgoing::Stored { packet_id, .. } | Outgoing::Queued { packet_id } => packet_id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn qos1_message_stays_in_flight_until_puback() {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 64];
    let out = s
        .publish(
            TopicName::new("a/b").unwrap(),
            b"hi",
            QoS::AtLeastOnce,
            false,
            &mut tx,
        )
        .unwrap();
    let Outgoing::Stored { packet_id, frame } = out else {
        panic!("{out:?}")
    };
    assert_eq!(frame, &[0x32, 9, 0, 3, b'a', b'/', b'b', 0, 1, b'h', b'i']);
    assert_eq!(s.in_flight(), 1);
    let r = s.handle(&Packet::Puback(packet_id), 1, &mut tx).unwrap();
    assert_eq!(r.event, SessionEvent::Published(packet_id));
    assert_eq!(s.in_flight(), 0);
    // A second PUBACK for the same id is reported and is not fatal.
    let e = s
        .handle(&Packet::Puback(packet_id), 2, &mut tx)
        .unwrap_err();
    match e {
        SessionError::Protocol(p) => assert!(!p.is_fatal()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn qos2_outgoing_runs_the_four_step_handshake() {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let pid = publish_id(&mut s, "t", QoS::ExactlyOnce);
    let mut tx = [0u8; 16];
    // A PUBACK is the wrong answer for QoS 2.
    assert!(s.handle(&Packet::Puback(pid), 1, &mut tx).is_err());
    let r = s.handle(&Packet::Pubrec(pid), 1, &mut tx).unwrap();
    assert_eq!(decode(&tx[..r.reply]), Packet::Pubrel(pid));
    assert_eq!(r.event, SessionEvent::None);
    assert_eq!(s.in_flight(), 1);
    // A repeated PUBREC is answered again.
    let r = s.handle(&Packet::Pubrec(pid), 2, &mut tx).unwrap();
    assert_eq!(decode(&tx[..r.reply]), Packet::Pubrel(pid));
    let r = s.handle(&Packet::Pubcomp(pid), 3, &mut tx).unwrap();
    assert_eq!(r.event, SessionEvent::Published(pid));
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn qos2_incoming_is_delivered_once_until_released() {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 16];
    let msg = |dup| {
        Packet::Publish(Publish {
            topic: TopicName::new("t").unwrap(),
            qos: QosPid::ExactlyOnce(id(7)),
            dup,
            retain: false,
            payload: b"x",
        })
    };
    let r = s.handle(&msg(false), 1, &mut tx).unwrap();
    assert_eq!(r.event, SessionEvent::Deliver);
    assert_eq!(decode(&tx[..r.reply]), Packet::Pubrec(id(7)));
    let r = s.handle(&msg(true), 2, &mut tx).unwrap();
    assert_eq!(r.event, SessionEvent::Duplicate);
    assert_eq!(decode(&tx[..r.reply]), Packet::Pubrec(id(7)));
    let r = s.handle(&Packet::Pubrel(id(7)), 3, &mut tx).unwrap();
    assert_eq!(decode(&tx[..r.reply]), Packet::Pubcomp(id(7)));
    // Released: the same identifier now carries a new message.
    let r = s.handle(&msg(false), 4, &mut tx).unwrap();
    assert_eq!(r.event, SessionEvent::Deliver);
    // PUBREL for an identifier we hold nothing for is still completed.
    let r = s.handle(&Packet::Pubrel(id(99)), 5, &mut tx).unwrap();
    assert_eq!(decode(&tx[..r.reply]), Packet::Pubcomp(id(99)));
}

#[test]
fn in_flight_messages_are_resent_with_dup_in_order_after_reconnect() {
    let mut mem = [0u8; 512];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let a = publish_id(&mut s, "a", QoS::AtLeastOnce);
    let b = publish_id(&mut s, "b", QoS::ExactlyOnce);
    let c = publish_id(&mut s, "c", QoS::AtLeastOnce);
    let mut tx = [0u8; 16];
    s.handle(&Packet::Pubrec(b), 1, &mut tx).unwrap();
    s.link_down();
    // While down, QoS 1 is queued and QoS 0 refused.
    let d = publish_id(&mut s, "d", QoS::AtLeastOnce);
    assert_eq!(
        s.publish(
            TopicName::new("e").unwrap(),
            b"",
            QoS::AtMostOnce,
            false,
            &mut tx
        ),
        Err(SessionError::NotConnected)
    );
    let replay = bring_up(&mut s, true, 100);
    let packets: Vec<Packet<'_>> = replay.iter().map(|f| decode(f)).collect();
    assert_eq!(packets.len(), 4);
    let expect_publish = |p: &Packet<'_>, topic: &str, pid: PacketId, dup: bool| match p {
        Packet::Publish(p) => {
            assert_eq!(p.topic.as_str(), topic);
            assert_eq!(p.qos.packet_id(), Some(pid));
            assert_eq!(p.dup, dup, "DUP marks re-deliveries only [MQTT-3.3.1-1]");
        }
        other => panic!("{other:?}"),
    };
    expect_publish(&packets[0], "a", a, true);
    assert_eq!(packets[1], Packet::Pubrel(b));
    expect_publish(&packets[2], "c", c, true);
    // Queued while down, never written before: a first delivery, without DUP.
    expect_publish(&packets[3], "d", d, false);
    assert_eq!(replay[3][0] & 0x08, 0);
}

#[test]
fn subscriptions_are_restored_when_the_broker_has_no_session() {
    let mut mem = [0u8; 512];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 64];
    let topics = [
        SubscribeTopic {
            filter: TopicFilter::new("a/#").unwrap(),
            qos: QoS::AtLeastOnce,
        },
        SubscribeTopic {
            filter: TopicFilter::new("b").unwrap(),
            qos: QoS::AtMostOnce,
        },
    ];
    let (sid, _) = s.subscribe(&topics, &mut tx).unwrap();
    let codes = [
        SubackCode::Granted(QoS::AtLeastOnce),
        SubackCode::Granted(QoS::AtMostOnce),
    ];
    let r = s
        .handle(
            &Packet::Suback(Suback {
                packet_id: sid,
                codes: SubackCodes::List(&codes),
            }),
            1,
            &mut tx,
        )
        .unwrap();
    assert_eq!(r.event, SessionEvent::Subscribed(sid));
    assert!(s.subscriptions().all(|(_, _, confirmed)| confirmed));

    // The broker kept the session: nothing to restore.
    s.link_down();
    assert!(bring_up(&mut s, true, 10).is_empty());

    // The broker lost it: both filters are subscribed again, with their QoS.
    s.link_down();
    let replay = bring_up(&mut s, false, 20);
    let restored: Vec<(std::string::String, QoS)> = replay
        .iter()
        .map(|f| match decode(f) {
            Packet::Subscribe(sub) => {
                let t = sub.topics.iter().next().unwrap();
                (t.filter.as_str().into(), t.qos)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        restored,
        [
            ("a/#".into(), QoS::AtLeastOnce),
            ("b".into(), QoS::AtMostOnce)
        ]
    );
}

#[test]
fn a_refused_subscription_is_forgotten() {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 64];
    let topics = [SubscribeTopic {
        filter: TopicFilter::new("forbidden").unwrap(),
        qos: QoS::AtMostOnce,
    }];
    let (sid, _) = s.subscribe(&topics, &mut tx).unwrap();
    s.handle(
        &Packet::Suback(Suback {
            packet_id: sid,
            codes: SubackCodes::List(&[SubackCode::Failure]),
        }),
        1,
        &mut tx,
    )
    .unwrap();
    assert_eq!(s.subscriptions().count(), 0);
}

#[test]
fn unanswered_unsubscribe_is_repeated_when_the_session_resumes() {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 64];
    let topics = [SubscribeTopic {
        filter: TopicFilter::new("x").unwrap(),
        qos: QoS::AtMostOnce,
    }];
    s.subscribe(&topics, &mut tx).unwrap();
    s.unsubscribe(&[TopicFilter::new("x").unwrap()], &mut tx)
        .unwrap();
    assert_eq!(s.subscriptions().count(), 0);
    s.link_down();
    let replay = bring_up(&mut s, true, 1);
    assert_eq!(replay.len(), 1);
    let Packet::Unsubscribe(u) = decode(&replay[0]) else {
        panic!()
    };
    assert_eq!(u.filters.iter().next().unwrap().as_str(), "x");
    let r = s
        .handle(&Packet::Unsuback(u.packet_id), 2, &mut tx)
        .unwrap();
    assert_eq!(r.event, SessionEvent::Unsubscribed(u.packet_id));
    // Without a session on the broker there is nothing to unsubscribe from.
    s.link_down();
    assert!(bring_up(&mut s, false, 3).is_empty());
}

#[test]
fn keep_alive_pings_at_the_deadline_and_declares_death_without_pingresp() {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 1_000);
    let mut tx = [0u8; 8];
    assert_eq!(s.poll_at(), Some(11_000));
    assert_eq!(s.poll(10_999, &mut tx), Ok(Poll::Idle));
    // Traffic from us postpones the ping.
    s.sent(5_000);
    assert_eq!(s.poll_at(), Some(15_000));
    assert_eq!(s.poll(15_000, &mut tx), Ok(Poll::Ping(2)));
    assert_eq!(&tx[..2], &[0xc0, 0x00]);
    assert_eq!(s.poll_at(), Some(25_000));
    s.handle(&Packet::Pingresp, 15_100, &mut tx).unwrap();
    s.sent(15_000);
    assert_eq!(s.poll_at(), Some(25_000));
    assert_eq!(s.poll(25_000, &mut tx), Ok(Poll::Ping(2)));
    assert_eq!(s.poll(34_999, &mut tx), Ok(Poll::Idle));
    assert_eq!(s.poll(35_000, &mut tx), Ok(Poll::Dead));
    assert!(!s.is_connected());
    assert_eq!(s.poll_at(), None);
}

#[test]
fn a_full_session_refuses_and_keeps_what_it_has() {
    let mut mem = [0u8; 40];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let first = publish_id(&mut s, "t", QoS::AtLeastOnce);
    let mut tx = [0u8; 64];
    let e = s
        .publish(
            TopicName::new("t").unwrap(),
            b"payload",
            QoS::AtLeastOnce,
            false,
            &mut tx,
        )
        .unwrap_err();
    assert!(matches!(e, SessionError::Full { .. }), "{e:?}");
    assert_eq!(s.in_flight(), 1);
    s.handle(&Packet::Puback(first), 1, &mut tx).unwrap();
    publish_id(&mut s, "t", QoS::AtLeastOnce);
}

#[test]
fn messages_stay_out_of_the_reserve_and_subscriptions_may_use_it() {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let filter = "sys/abcdefgh";
    let reserve = Session::subscription_len(filter);
    assert_eq!(reserve, 8 + filter.len());
    s.set_reserve(reserve);
    let mut tx = [0u8; 64];
    let mut stored = 0;
    let free = loop {
        match s.publish(
            TopicName::new("t").unwrap(),
            b"",
            QoS::AtLeastOnce,
            false,
            &mut tx,
        ) {
            Ok(_) => stored += 1,
            Err(SessionError::Full { free, .. }) => break free,
            Err(e) => panic!("{e:?}"),
        }
    };
    assert!(stored > 0);
    // What is left for messages excludes the reserve; the subscription fits in it.
    assert_eq!(64 - s.records.used(), free + reserve);
    let topic = SubscribeTopic {
        filter: TopicFilter::new(filter).unwrap(),
        qos: QoS::AtMostOnce,
    };
    s.subscribe(&[topic], &mut tx).unwrap();
    assert_eq!(s.subscriptions().count(), 1);
}

#[test]
fn packet_ids_skip_those_in_flight_and_never_use_zero() {
    let mut mem = [0u8; 1024];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let one = publish_id(&mut s, "t", QoS::AtLeastOnce);
    assert_eq!(one.get(), 1);
    s.set_next_id(u16::MAX);
    assert_eq!(publish_id(&mut s, "t", QoS::AtLeastOnce).get(), u16::MAX);
    // 1 is still in flight: wrap past 0 and 1.
    assert_eq!(publish_id(&mut s, "t", QoS::AtLeastOnce).get(), 2);
}

/// With a window of messages in flight and one never acknowledged, identifiers keep
/// coming in order through several wrap-arounds, and none still in use is handed out.
#[test]
fn packet_ids_in_use_are_skipped_through_many_wrap_arounds() {
    let mut mem = [0u8; 4096];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 64];
    let stuck = publish_id(&mut s, "t", QoS::AtLeastOnce);
    let mut window = std::collections::VecDeque::new();
    let mut last = stuck.get();
    for _ in 0..200_000u32 {
        if window.len() == 100 {
            let oldest: PacketId = window.pop_front().unwrap();
            s.handle(&Packet::Puback(oldest), 0, &mut tx).unwrap();
        }
        let id = publish_id(&mut s, "t", QoS::AtLeastOnce);
        assert_ne!(id, stuck);
        assert!(!window.contains(&id), "{id:?} is still in flight");
        let expected = match last {
            u16::MAX => 1,
            n => n + 1,
        };
        let expected = if expected == stuck.get() {
            expected + 1
        } else {
            expected
        };
        assert_eq!(id.get(), expected);
        last = id.get();
        window.push_back(id);
    }
    assert_eq!(s.in_flight(), 101);
}

#[test]
fn a_broker_sending_client_packets_breaks_the_protocol() {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 8];
    for p in [Packet::Pingreq, Packet::Disconnect] {
        match s.handle(&p, 0, &mut tx) {
            Err(SessionError::Protocol(e)) => assert!(e.is_fatal()),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        s.on_connack(&accepted(false), 0),
        Err(SessionError::Protocol(ProtocolError::UnexpectedPacket(
            PacketType::Connack
        )))
    ));
}

#[test]
fn a_refused_connack_leaves_the_session_down() {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    let mut tx = [0u8; 64];
    s.connect(&connect_packet(), 0, &mut tx).unwrap();
    let refused = Connack {
        session_present: false,
        code: ConnectReturnCode::NotAuthorized,
    };
    assert_eq!(
        s.on_connack(&refused, 0),
        Err(SessionError::Refused(ConnectReturnCode::NotAuthorized))
    );
    assert!(!s.is_connected());
}

#[test]
fn qos0_larger_than_tx_is_sent_as_header_then_payload() {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    bring_up(&mut s, false, 0);
    let mut tx = [0u8; 16];
    let payload = [0xabu8; 100];
    let out = s
        .publish(
            TopicName::new("big").unwrap(),
            &payload,
            QoS::AtMostOnce,
            false,
            &mut tx,
        )
        .unwrap();
    let Outgoing::HeaderThenPayload(header) = out else {
        panic!("{out:?}")
    };
    let mut whole = tx[..header].to_vec();
    whole.extend_from_slice(&payload);
    let Packet::Publish(p) = decode(&whole) else {
        panic!()
    };
    assert_eq!(p.payload, &payload[..]);
}

fn publish_result(s: &mut Session<'_>, body: &[u8], qos: QoS) -> Result<PacketId, SessionError> {
    let mut tx = [0u8; 256];
    match s.publish(TopicName::new("q").unwrap(), body, qos, false, &mut tx)? {
        Outgoing::Stored { packet_id, .. } | Outgoing::Queued { packet_id } => Ok(packet_id),
        other => panic!("{other:?}"),
    }
}

/// A queued QoS 1 message on `q` with a 3-byte body takes 8 bytes of bookkeeping and a
/// 10-byte frame (2 header, 3 topic, 2 packet id, 3 body).
const RECORD: usize = 18;

#[test]
fn offline_queue_refuses_new_messages_when_full_by_default() {
    let mut mem = [0u8; RECORD * 3];
    let mut s = Session::new(&mut mem);
    let ids: Vec<_> = (0..3)
        .map(|i| {
            publish_result(&mut s, std::format!("m{i:02}").as_bytes(), QoS::AtLeastOnce).unwrap()
        })
        .collect();
    assert!(matches!(
        publish_result(&mut s, b"m03", QoS::AtLeastOnce),
        Err(SessionError::Full { .. })
    ));
    assert_eq!(s.take_dropped(), None);
    // All three are still there, in order.
    let replayed = bring_up(&mut s, true, 0);
    let ids_replayed: Vec<_> = replayed
        .iter()
        .map(|f| match decode(f) {
            Packet::Publish(p) => p.qos.packet_id().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids_replayed, ids);
}

#[test]
fn drop_oldest_makes_room_reports_each_drop_and_keeps_the_order() {
    let mut mem = [0u8; RECORD * 3];
    let mut s = Session::new(&mut mem);
    s.set_when_full(WhenFull::DropOldest);
    let ids: Vec<_> = (0..5)
        .map(|i| {
            publish_result(&mut s, std::format!("m{i:02}").as_bytes(), QoS::AtLeastOnce).unwrap()
        })
        .collect();
    assert!(s.has_dropped());
    assert_eq!(s.take_dropped(), Some(ids[0]));
    assert_eq!(s.take_dropped(), Some(ids[1]));
    assert_eq!(s.take_dropped(), None);
    let bodies: Vec<Vec<u8>> = bring_up(&mut s, true, 0)
        .iter()
        .map(|f| match decode(f) {
            Packet::Publish(p) => p.payload.to_vec(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(bodies, [b"m02".to_vec(), b"m03".to_vec(), b"m04".to_vec()]);
    // Connected: nothing on the wire is dropped; a full session refuses.
    assert!(matches!(
        publish_result(&mut s, b"m05", QoS::AtLeastOnce),
        Err(SessionError::Full { .. })
    ));
    assert_eq!(s.take_dropped(), None);
}

#[test]
fn drop_oldest_never_drops_qos2_and_never_loses_an_unreported_drop() {
    let mut mem = [0u8; RECORD * 2];
    let mut s = Session::new(&mut mem);
    s.set_when_full(WhenFull::DropOldest);
    publish_result(&mut s, b"x02", QoS::ExactlyOnce).unwrap();
    publish_result(&mut s, b"x03", QoS::ExactlyOnce).unwrap();
    // Only QoS 2 messages queued: the new one is refused, nothing changes.
    let before = s.memory_usage();
    assert!(matches!(
        publish_result(&mut s, b"m00", QoS::AtLeastOnce),
        Err(SessionError::Full { .. })
    ));
    assert_eq!(s.memory_usage(), before);
    assert!(!s.has_dropped());

    // Once MAX_UNREPORTED_DROPS drops wait to be reported, the next one is refused.
    let mut mem = [0u8; RECORD];
    let mut s = Session::new(&mut mem);
    s.set_when_full(WhenFull::DropOldest);
    for i in 0..=MAX_UNREPORTED_DROPS {
        publish_result(&mut s, std::format!("m{i:02}").as_bytes(), QoS::AtLeastOnce).unwrap();
    }
    assert!(matches!(
        publish_result(&mut s, b"m99", QoS::AtLeastOnce),
        Err(SessionError::Full { .. })
    ));
    let mut reported = 0;
    while s.take_dropped().is_some() {
        reported += 1;
    }
    assert_eq!(reported, MAX_UNREPORTED_DROPS);
    publish_result(&mut s, b"m99", QoS::AtLeastOnce).unwrap();
    assert_eq!(s.take_dropped().map(|_| ()), Some(()));
}

#[test]
fn a_backlog_goes_out_a_window_at_a_time_and_new_messages_wait_behind_it() {
    let mut mem = [0u8; 1024];
    let mut s = Session::new(&mut mem);
    s.set_replay_window(2);
    let ids: Vec<_> = (0..5)
        .map(|i| {
            publish_result(&mut s, std::format!("m{i:02}").as_bytes(), QoS::AtLeastOnce).unwrap()
        })
        .collect();
    // Up: only the window goes out at first.
    let first = bring_up(&mut s, true, 0);
    assert_eq!(first.len(), 2);
    assert!(s.replay_pending());
    // A message published now waits behind the backlog.
    let late = publish_result(&mut s, b"new", QoS::AtLeastOnce).unwrap();
    let mut tx = [0u8; 64];
    assert_eq!(s.next_replay(&mut tx).unwrap(), None, "window full");
    let mut order = Vec::new();
    for f in &first {
        if let Packet::Publish(p) = decode(f) {
            order.push(p.qos.packet_id().unwrap());
        }
    }
    // Each acknowledgement lets one more out, in publishing order.
    while order.len() < 6 {
        let acked = order[order.len() - 2];
        s.handle(&Packet::Puback(acked), 1, &mut tx).unwrap();
        let mut tx2 = [0u8; 64];
        let frame = replayed(&mut s, &mut tx2).unwrap();
        match decode(&frame) {
            Packet::Publish(p) => {
                assert!(!p.dup);
                order.push(p.qos.packet_id().unwrap());
            }
            other => panic!("{other:?}"),
        }
    }
    let mut want = ids.clone();
    want.push(late);
    assert_eq!(order, want);
    s.handle(&Packet::Puback(order[4]), 2, &mut tx).unwrap();
    s.handle(&Packet::Puback(order[5]), 2, &mut tx).unwrap();
    assert_eq!(s.next_replay(&mut tx).unwrap(), None);
    assert!(!s.replay_pending());
    // The backlog is gone: the next message is written at once.
    let mut tx3 = [0u8; 64];
    assert!(matches!(
        s.publish(
            TopicName::new("q").unwrap(),
            b"now",
            QoS::AtLeastOnce,
            false,
            &mut tx3
        ),
        Ok(Outgoing::Stored { .. })
    ));
}
