//! The sans-IO session: what it writes for each step of the publish and subscribe flows,
//! and what it makes of the broker's answers.

use iotcloud_core::ProtocolError;
use iotcloud_core::mqtt::{
    Connack, Connect, ConnectReturnCode, Packet, PacketId, Publish, QoS, QosPid, Suback,
    SubscribeTopic, TopicFilter, TopicName,
};
use iotcloud_core::session::{Outgoing, Poll, Replay, Session, SessionError, SessionEvent};

use crate::check::{Check, Outcome};

pub const CHECKS: &[(&str, Check)] = &[
    (
        "qos 1 publish is stored until its puback",
        qos1_publish_until_puback,
    ),
    (
        "subscribe is remembered and confirmed by suback",
        subscribe_confirmed,
    ),
    (
        "incoming qos 1 message is delivered and acknowledged",
        incoming_qos1,
    ),
    ("qos 2 publish goes pubrec, pubrel, pubcomp", qos2_flow),
    (
        "queued while down, sent as a first delivery after connack",
        queued_then_replayed,
    ),
    ("qos 0 needs a live link", qos0_needs_link),
    (
        "full session memory is an error, nothing stored",
        memory_full,
    ),
    ("keep-alive pings, then declares the link dead", keep_alive),
    (
        "an unknown puback is a non-fatal protocol error",
        unknown_puback,
    ),
    ("a refused connack is reported", refused_connack),
    (
        "unsubscribe forgets and unsuback confirms",
        unsubscribe_flow,
    ),
    (
        "disconnect writes its two bytes and drops the link",
        disconnect_bytes,
    ),
];

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap_or(PacketId::MAX)
}

const CONNECT: Connect<'static> = Connect {
    client_id: "dev",
    keep_alive: 10,
    clean_session: false,
    will: None,
    username: None,
    password: None,
};

fn accepted(session_present: bool) -> Connack {
    Connack {
        session_present,
        code: ConnectReturnCode::Accepted,
    }
}

/// Connects at time 0 and drains the replay; returns how many frames were replayed.
fn bring_up(s: &mut Session<'_>, session_present: bool) -> Result<usize, SessionError> {
    let mut tx = [0u8; 128];
    s.connect(&CONNECT, 0, &mut tx)?;
    s.on_connack(&accepted(session_present), 0)?;
    let mut replayed = 0;
    while s.next_replay(&mut tx)?.is_some() {
        replayed += 1;
    }
    Ok(replayed)
}

fn stored_id(out: Outgoing<'_>) -> Option<PacketId> {
    match out {
        Outgoing::Stored { packet_id, .. } | Outgoing::Queued { packet_id } => Some(packet_id),
        _ => None,
    }
}

fn qos1_publish_until_puback() -> Outcome {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 64];
    let topic = get!(TopicName::new("a/b"));
    let out = get!(s.publish(topic, b"hi", QoS::AtLeastOnce, false, &mut tx));
    let Outgoing::Stored { packet_id, frame } = out else {
        ensure!(false);
        return Ok(());
    };
    let expected: &[u8] = &[0x32, 9, 0, 3, b'a', b'/', b'b', 0, 1, b'h', b'i'];
    ensure_eq!(frame, expected);
    ensure_eq!(packet_id, id(1));
    ensure_eq!(s.in_flight(), 1);
    let reaction = get!(s.handle(&Packet::Puback(packet_id), 5, &mut tx));
    ensure_eq!(reaction.event, SessionEvent::Published(packet_id));
    ensure_eq!(reaction.reply, 0);
    ensure_eq!(s.in_flight(), 0);
    ensure_eq!(s.memory_usage().0, 0);
    Ok(())
}

fn subscribe_confirmed() -> Outcome {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 64];
    let topics = [SubscribeTopic {
        filter: get!(TopicFilter::new("cmd/#")),
        qos: QoS::AtLeastOnce,
    }];
    let (packet_id, n) = get!(s.subscribe(&topics, &mut tx));
    let expected: &[u8] = &[0x82, 10, 0, 1, 0, 5, b'c', b'm', b'd', b'/', b'#', 1];
    ensure_eq!(&tx[..n], expected);
    ensure_eq!(
        s.subscriptions().next(),
        Some(("cmd/#", QoS::AtLeastOnce, false))
    );
    let suback = get!(Suback::parse(&[0, 1, 1]));
    let reaction = get!(s.handle(&Packet::Suback(suback), 1, &mut tx));
    ensure_eq!(reaction.event, SessionEvent::Subscribed(packet_id));
    ensure_eq!(
        s.subscriptions().next(),
        Some(("cmd/#", QoS::AtLeastOnce, true))
    );
    Ok(())
}

fn incoming_qos1() -> Outcome {
    let mut mem = [0u8; 128];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 16];
    let publish = Publish {
        topic: get!(TopicName::new("cmd/x")),
        qos: QosPid::AtLeastOnce(id(0x0102)),
        dup: false,
        retain: false,
        payload: b"on",
    };
    let reaction = get!(s.handle(&Packet::Publish(publish), 1, &mut tx));
    ensure_eq!(reaction.event, SessionEvent::Deliver);
    ensure_eq!(&tx[..reaction.reply], &[0x40u8, 2, 1, 2][..]);
    Ok(())
}

fn qos2_flow() -> Outcome {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 64];
    let topic = get!(TopicName::new("a"));
    let packet_id = some!(stored_id(get!(s.publish(
        topic,
        b"x",
        QoS::ExactlyOnce,
        false,
        &mut tx
    ))));
    let reaction = get!(s.handle(&Packet::Pubrec(packet_id), 1, &mut tx));
    ensure_eq!(reaction.event, SessionEvent::None);
    ensure_eq!(&tx[..reaction.reply], &[0x62u8, 2, 0, 1][..]);
    ensure_eq!(s.in_flight(), 1);
    let reaction = get!(s.handle(&Packet::Pubcomp(packet_id), 2, &mut tx));
    ensure_eq!(reaction.event, SessionEvent::Published(packet_id));
    ensure_eq!(s.in_flight(), 0);
    Ok(())
}

fn queued_then_replayed() -> Outcome {
    let mut mem = [0u8; 256];
    let mut s = Session::new(&mut mem);
    let mut tx = [0u8; 64];
    let topic = get!(TopicName::new("a/b"));
    let out = get!(s.publish(topic, b"hi", QoS::AtLeastOnce, false, &mut tx));
    ensure_eq!(out, Outgoing::Queued { packet_id: id(1) });
    get!(s.connect(&CONNECT, 0, &mut tx));
    get!(s.on_connack(&accepted(false), 0));
    let frame = some!(get!(s.next_replay(&mut tx)));
    // Never written before: a first delivery, without DUP ([MQTT-3.3.1-1]).
    let expected: &[u8] = &[0x32, 9, 0, 3, b'a', b'/', b'b', 0, 1, b'h', b'i'];
    ensure_eq!(frame, Replay::Stored(expected));
    ensure_eq!(get!(s.next_replay(&mut tx)), None);
    ensure_eq!(s.in_flight(), 1);
    Ok(())
}

fn qos0_needs_link() -> Outcome {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    let mut tx = [0u8; 64];
    let topic = get!(TopicName::new("a"));
    ensure_eq!(
        s.publish(topic, b"x", QoS::AtMostOnce, false, &mut tx),
        Err(SessionError::NotConnected)
    );
    Ok(())
}

fn memory_full() -> Outcome {
    let mut mem = [0u8; 24];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 64];
    let topic = get!(TopicName::new("a/b"));
    let result = s.publish(topic, b"0123456789abcdef", QoS::AtLeastOnce, false, &mut tx);
    ensure!(matches!(result, Err(SessionError::Full { .. })));
    ensure_eq!(s.in_flight(), 0);
    ensure_eq!(s.memory_usage(), (0, 24));
    Ok(())
}

fn keep_alive() -> Outcome {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 8];
    ensure_eq!(s.poll_at(), Some(10_000));
    ensure_eq!(s.poll(9_999, &mut tx), Ok(Poll::Idle));
    ensure_eq!(s.poll(10_000, &mut tx), Ok(Poll::Ping(2)));
    ensure_eq!(&tx[..2], &[0xc0u8, 0][..]);
    ensure_eq!(s.poll(19_999, &mut tx), Ok(Poll::Idle));
    ensure_eq!(s.poll(20_000, &mut tx), Ok(Poll::Dead));
    ensure!(!s.is_connected());
    Ok(())
}

fn unknown_puback() -> Outcome {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 8];
    let result = s.handle(&Packet::Puback(id(42)), 1, &mut tx);
    let Err(SessionError::Protocol(error)) = result else {
        ensure!(false);
        return Ok(());
    };
    ensure!(matches!(error, ProtocolError::UnknownPacketId { .. }));
    ensure!(!error.is_fatal());
    ensure!(s.is_connected());
    Ok(())
}

fn refused_connack() -> Outcome {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    let mut tx = [0u8; 64];
    get!(s.connect(&CONNECT, 0, &mut tx));
    let refused = Connack {
        session_present: false,
        code: ConnectReturnCode::BadUsernameOrPassword,
    };
    ensure_eq!(
        s.on_connack(&refused, 0),
        Err(SessionError::Refused(
            ConnectReturnCode::BadUsernameOrPassword
        ))
    );
    ensure!(!s.is_connected());
    Ok(())
}

fn unsubscribe_flow() -> Outcome {
    let mut mem = [0u8; 128];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 64];
    let filter = get!(TopicFilter::new("a/b"));
    let topics = [SubscribeTopic {
        filter,
        qos: QoS::AtMostOnce,
    }];
    get!(s.subscribe(&topics, &mut tx));
    let (packet_id, n) = get!(s.unsubscribe(&[filter], &mut tx));
    ensure_eq!(&tx[..n], &[0xa2u8, 7, 0, 2, 0, 3, b'a', b'/', b'b'][..]);
    ensure_eq!(s.subscriptions().count(), 0);
    let reaction = get!(s.handle(&Packet::Unsuback(packet_id), 1, &mut tx));
    ensure_eq!(reaction.event, SessionEvent::Unsubscribed(packet_id));
    Ok(())
}

fn disconnect_bytes() -> Outcome {
    let mut mem = [0u8; 64];
    let mut s = Session::new(&mut mem);
    get!(bring_up(&mut s, false));
    let mut tx = [0u8; 4];
    ensure_eq!(s.disconnect(&mut tx), Ok(2));
    ensure_eq!(&tx[..2], &[0xe0u8, 0][..]);
    ensure!(!s.is_connected());
    ensure_eq!(s.poll_at(), None);
    Ok(())
}
