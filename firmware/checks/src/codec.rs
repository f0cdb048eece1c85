//! MQTT 3.1.1 packets: byte fixtures from the standard, encode/decode round trips, and the
//! edge cases a decoder must refuse without panicking.

use iotcloud_core::mqtt::wire::{decode_varint, varint_len};
use iotcloud_core::mqtt::{
    Connack, Connect, ConnectReturnCode, DecodeError, EncodeError, Packet, PacketId, Publish, QoS,
    QosPid, Suback, SubackCode, Subscribe, SubscribeTopic, TopicError, TopicFilter, TopicName,
    Unsubscribe, Will,
};

use crate::check::{Check, Outcome};

pub const CHECKS: &[(&str, Check)] = &[
    ("connect encodes to the standard's bytes", connect_fixture),
    (
        "connect with will and login round-trips",
        connect_round_trip,
    ),
    (
        "connect refuses a password without a user name",
        connect_password_needs_user,
    ),
    ("connack codes decode, 5 is an auth failure", connack_codes),
    ("connack with reserved flags is refused", connack_bad_flags),
    ("qos 1 publish encodes to fixed bytes", publish_qos1_fixture),
    (
        "qos 0 retained publish round-trips",
        publish_qos0_round_trip,
    ),
    ("publish with qos 3 is refused", publish_qos3_refused),
    ("puback, pubrec, pubrel, pubcomp fixtures", acks_fixtures),
    ("pubrel without its required flags is refused", pubrel_flags),
    ("packet id 0 is refused", zero_packet_id),
    (
        "subscribe encodes to fixed bytes and back",
        subscribe_fixture,
    ),
    ("suback with a failure code decodes", suback_codes),
    (
        "unsubscribe and unsuback round-trip",
        unsubscribe_round_trip,
    ),
    ("ping and disconnect are two bytes, no body", empty_packets),
    ("remaining length varint edges", varint_edges),
    ("a partial frame asks for more bytes", partial_frame),
    ("two frames back to back decode one at a time", back_to_back),
    ("emit into a small buffer is an error", small_buffer),
    ("reserved packet types 0 and 15 are refused", reserved_types),
    (
        "topic names refuse wildcards, filters place them",
        topic_rules,
    ),
    ("filters match topics level by level", filter_matching),
];

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap_or(PacketId::MAX)
}

fn connect_fixture() -> Outcome {
    let connect = Connect {
        client_id: "dev",
        keep_alive: 10,
        clean_session: true,
        will: None,
        username: None,
        password: None,
    };
    let mut buf = [0u8; 32];
    let n = get!(Packet::Connect(connect).emit(&mut buf));
    let expected: &[u8] = &[
        0x10, 15, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10, 0, 3, b'd', b'e', b'v',
    ];
    ensure_eq!(&buf[..n], expected);
    ensure_eq!(get!(Packet::Connect(connect).buffer_len()), n);
    Ok(())
}

fn connect_round_trip() -> Outcome {
    let connect = Connect {
        client_id: "123456789.abcdefg|securemode=3,signmethod=hmacsha256,timestamp=32472115200|",
        keep_alive: 300,
        clean_session: true,
        will: Some(Will {
            topic: get!(TopicName::new("dev/status")),
            payload: b"gone",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: Some("abcdefg&123456789"),
        password: Some(b"2842DC9F2FBA19C671DD3F4D24590D41F91C25FD9BC4E5101951BEA88B7DEACD"),
    };
    let mut buf = [0u8; 256];
    let n = get!(Packet::Connect(connect).emit(&mut buf));
    // Flags: user name, password, will retain, will QoS 1, will, clean session.
    ensure_eq!(buf[9 + 1], 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02);
    let (decoded, used) = some!(get!(Packet::decode(&buf[..n])));
    ensure_eq!(used, n);
    ensure_eq!(decoded, Packet::Connect(connect));
    Ok(())
}

fn connect_password_needs_user() -> Outcome {
    let connect = Connect {
        client_id: "dev",
        keep_alive: 0,
        clean_session: true,
        will: None,
        username: None,
        password: Some(b"secret"),
    };
    ensure_eq!(
        Packet::Connect(connect).emit(&mut [0u8; 64]),
        Err(EncodeError::PasswordWithoutUsername)
    );
    // The same rule when decoding ([MQTT-3.1.2-22]): flags 0x42 = password, clean session.
    let bytes = [
        0x10, 18, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x42, 0, 0, 0, 1, b'd', 0, 1, b'p', 0, 0,
    ];
    ensure_eq!(
        Packet::decode(&bytes[..20]),
        Err(DecodeError::InvalidConnectFlags(0x42))
    );
    Ok(())
}

fn connack_codes() -> Outcome {
    let accepted = some!(get!(Packet::decode(&[0x20, 2, 0, 0])));
    ensure_eq!(
        accepted,
        (
            Packet::Connack(Connack {
                session_present: false,
                code: ConnectReturnCode::Accepted
            }),
            4
        )
    );
    let resumed = some!(get!(Packet::decode(&[0x20, 2, 1, 0])));
    ensure!(matches!(
        resumed.0,
        Packet::Connack(Connack {
            session_present: true,
            ..
        })
    ));
    let refused = get!(ConnectReturnCode::from_u8(5));
    ensure_eq!(refused, ConnectReturnCode::NotAuthorized);
    ensure!(refused.is_auth_failure());
    ensure!(!get!(ConnectReturnCode::from_u8(3)).is_auth_failure());
    ensure_eq!(
        ConnectReturnCode::from_u8(6),
        Err(DecodeError::InvalidReturnCode(6))
    );
    Ok(())
}

fn connack_bad_flags() -> Outcome {
    ensure_eq!(
        Packet::decode(&[0x20, 2, 2, 0]),
        Err(DecodeError::InvalidConnackFlags(2))
    );
    Ok(())
}

fn publish_qos1_fixture() -> Outcome {
    let publish = Publish {
        topic: get!(TopicName::new("a/b")),
        qos: QosPid::AtLeastOnce(id(1)),
        dup: false,
        retain: false,
        payload: b"hi",
    };
    let mut buf = [0u8; 16];
    let n = get!(Packet::Publish(publish).emit(&mut buf));
    let expected: &[u8] = &[0x32, 9, 0, 3, b'a', b'/', b'b', 0, 1, b'h', b'i'];
    ensure_eq!(&buf[..n], expected);
    ensure_eq!(
        get!(Packet::decode(&buf[..n])),
        Some((Packet::Publish(publish), n))
    );
    Ok(())
}

fn publish_qos0_round_trip() -> Outcome {
    let publish = Publish {
        topic: get!(TopicName::new("sensors/1/temp")),
        qos: QosPid::AtMostOnce,
        dup: false,
        retain: true,
        payload: br#"{"temp":21.5}"#,
    };
    let mut buf = [0u8; 64];
    let n = get!(Packet::Publish(publish).emit(&mut buf));
    ensure_eq!(buf[0], 0x31);
    ensure_eq!(n, 2 + 2 + 14 + 13);
    ensure_eq!(
        get!(Packet::decode(&buf[..n])),
        Some((Packet::Publish(publish), n))
    );
    Ok(())
}

fn publish_qos3_refused() -> Outcome {
    ensure_eq!(
        Packet::decode(&[0x36, 5, 0, 1, b't', 0, 1]),
        Err(DecodeError::InvalidQos(3))
    );
    // DUP on a QoS 0 message is refused too ([MQTT-3.3.1-2]).
    ensure_eq!(
        Packet::decode(&[0x38, 3, 0, 1, b't']),
        Err(DecodeError::DupOnQos0)
    );
    Ok(())
}

fn acks_fixtures() -> Outcome {
    let cases = [
        (Packet::Puback(id(7)), [0x40, 2, 0, 7]),
        (Packet::Pubrec(id(0x1234)), [0x50, 2, 0x12, 0x34]),
        (Packet::Pubrel(id(7)), [0x62, 2, 0, 7]),
        (Packet::Pubcomp(id(65535)), [0x70, 2, 0xff, 0xff]),
        (Packet::Unsuback(id(9)), [0xb0, 2, 0, 9]),
    ];
    for (packet, bytes) in cases {
        let mut buf = [0u8; 4];
        ensure_eq!(packet.emit(&mut buf), Ok(4));
        ensure_eq!(buf, bytes);
        ensure_eq!(get!(Packet::decode(&bytes)), Some((packet, 4)));
    }
    Ok(())
}

fn pubrel_flags() -> Outcome {
    ensure!(matches!(
        Packet::decode(&[0x60, 2, 0, 7]),
        Err(DecodeError::InvalidFlags { .. })
    ));
    ensure!(matches!(
        Packet::decode(&[0x80, 6, 0, 1, 0, 1, b'a', 0]),
        Err(DecodeError::InvalidFlags { .. })
    ));
    Ok(())
}

fn zero_packet_id() -> Outcome {
    ensure!(PacketId::new(0).is_none());
    ensure_eq!(
        Packet::decode(&[0x40, 2, 0, 0]),
        Err(DecodeError::ZeroPacketId)
    );
    Ok(())
}

fn subscribe_fixture() -> Outcome {
    let topics = [
        SubscribeTopic {
            filter: get!(TopicFilter::new("a/+")),
            qos: QoS::AtLeastOnce,
        },
        SubscribeTopic {
            filter: get!(TopicFilter::new("#")),
            qos: QoS::AtMostOnce,
        },
    ];
    let subscribe = Subscribe::new(id(10), &topics);
    let mut buf = [0u8; 32];
    let n = get!(Packet::Subscribe(subscribe).emit(&mut buf));
    let expected: &[u8] = &[0x82, 12, 0, 10, 0, 3, b'a', b'/', b'+', 1, 0, 1, b'#', 0];
    ensure_eq!(&buf[..n], expected);
    let (decoded, _) = some!(get!(Packet::decode(&buf[..n])));
    let Packet::Subscribe(back) = decoded else {
        ensure!(false);
        return Ok(());
    };
    ensure_eq!(back.packet_id, id(10));
    ensure_eq!(back.topics.len(), 2);
    let mut pairs = back.topics.iter().zip(topics.iter());
    ensure!(pairs.all(|(a, b)| a == *b));
    Ok(())
}

fn suback_codes() -> Outcome {
    let suback = get!(Suback::parse(&[0, 10, 1, 0x80, 0]));
    ensure_eq!(suback.packet_id, id(10));
    let mut codes = suback.codes.iter();
    ensure_eq!(codes.next(), Some(SubackCode::Granted(QoS::AtLeastOnce)));
    ensure_eq!(codes.next(), Some(SubackCode::Failure));
    ensure_eq!(codes.next(), Some(SubackCode::Granted(QoS::AtMostOnce)));
    ensure_eq!(codes.next(), None);
    ensure_eq!(
        Suback::parse(&[0, 10, 3]),
        Err(DecodeError::InvalidSubackCode(3))
    );
    Ok(())
}

fn unsubscribe_round_trip() -> Outcome {
    let filters = [get!(TopicFilter::new("a/b")), get!(TopicFilter::new("c/#"))];
    let unsubscribe = Unsubscribe::new(id(3), &filters);
    let mut buf = [0u8; 32];
    let n = get!(Packet::Unsubscribe(unsubscribe).emit(&mut buf));
    let expected: &[u8] = &[
        0xa2, 12, 0, 3, 0, 3, b'a', b'/', b'b', 0, 3, b'c', b'/', b'#',
    ];
    ensure_eq!(&buf[..n], expected);
    let (decoded, used) = some!(get!(Packet::decode(&buf[..n])));
    ensure_eq!(used, n);
    let Packet::Unsubscribe(back) = decoded else {
        ensure!(false);
        return Ok(());
    };
    ensure!(back.filters.iter().eq(filters.iter().copied()));
    Ok(())
}

fn empty_packets() -> Outcome {
    for (packet, first) in [
        (Packet::Pingreq, 0xc0),
        (Packet::Pingresp, 0xd0),
        (Packet::Disconnect, 0xe0),
    ] {
        let mut buf = [0u8; 2];
        ensure_eq!(packet.emit(&mut buf), Ok(2));
        ensure_eq!(buf, [first, 0]);
        ensure_eq!(get!(Packet::decode(&buf)), Some((packet, 2)));
        ensure_eq!(
            Packet::decode(&[first, 1, 0]),
            Err(DecodeError::TrailingBytes)
        );
    }
    Ok(())
}

fn varint_edges() -> Outcome {
    ensure_eq!(decode_varint(&[0x00]), Ok(Some((0, 1))));
    ensure_eq!(decode_varint(&[0x7f]), Ok(Some((127, 1))));
    ensure_eq!(decode_varint(&[0x80, 0x01]), Ok(Some((128, 2))));
    ensure_eq!(
        decode_varint(&[0xff, 0xff, 0xff, 0x7f]),
        Ok(Some((268_435_455, 4)))
    );
    ensure_eq!(
        decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x01]),
        Err(DecodeError::MalformedRemainingLength)
    );
    // A non-minimal encoding is refused.
    ensure_eq!(
        decode_varint(&[0x80, 0x00]),
        Err(DecodeError::MalformedRemainingLength)
    );
    ensure_eq!(decode_varint(&[0x80]), Ok(None));
    ensure_eq!(
        [
            varint_len(127),
            varint_len(128),
            varint_len(16_384),
            varint_len(268_435_455)
        ],
        [1, 2, 3, 4]
    );
    Ok(())
}

fn partial_frame() -> Outcome {
    let full = [0x32, 9, 0, 3, b'a', b'/', b'b', 0, 1, b'h', b'i'];
    for cut in 0..full.len() {
        ensure_eq!(Packet::decode(&full[..cut]), Ok(None));
    }
    // The largest remaining length, announced but not there yet.
    ensure_eq!(
        Packet::decode(&[0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, b't']),
        Ok(None)
    );
    Ok(())
}

fn back_to_back() -> Outcome {
    let stream = [0x40, 2, 0, 1, 0xd0, 0, 0x20, 2, 0, 0];
    let (first, used) = some!(get!(Packet::decode(&stream)));
    ensure_eq!((first, used), (Packet::Puback(id(1)), 4));
    let (second, more) = some!(get!(Packet::decode(&stream[used..])));
    ensure_eq!((second, more), (Packet::Pingresp, 2));
    let (third, last) = some!(get!(Packet::decode(&stream[used + more..])));
    ensure!(matches!(third, Packet::Connack(_)));
    ensure_eq!(used + more + last, stream.len());
    Ok(())
}

fn small_buffer() -> Outcome {
    let publish = Publish {
        topic: get!(TopicName::new("a/b")),
        qos: QosPid::AtMostOnce,
        dup: false,
        retain: false,
        payload: b"0123456789",
    };
    ensure_eq!(
        Packet::Publish(publish).emit(&mut [0u8; 8]),
        Err(EncodeError::BufferTooSmall {
            needed: 17,
            available: 8
        })
    );
    Ok(())
}

fn reserved_types() -> Outcome {
    ensure_eq!(
        Packet::decode(&[0x00, 0]),
        Err(DecodeError::InvalidPacketType(0))
    );
    ensure_eq!(
        Packet::decode(&[0xf0, 0]),
        Err(DecodeError::InvalidPacketType(15))
    );
    Ok(())
}

fn topic_rules() -> Outcome {
    ensure_eq!(TopicName::new("a/+/c"), Err(TopicError::WildcardInName));
    ensure_eq!(TopicName::new("a/#"), Err(TopicError::WildcardInName));
    ensure_eq!(TopicName::new(""), Err(TopicError::Empty));
    ensure_eq!(TopicName::new("a\0b"), Err(TopicError::Nul));
    ensure!(TopicFilter::new("a/+/#").is_ok());
    ensure_eq!(
        TopicFilter::new("a/#/b"),
        Err(TopicError::MisplacedWildcard)
    );
    ensure_eq!(TopicFilter::new("a/b+"), Err(TopicError::MisplacedWildcard));
    Ok(())
}

fn filter_matching() -> Outcome {
    let topic = |s| TopicName::new(s);
    let filter = get!(TopicFilter::new("a/+/c"));
    ensure!(filter.matches(get!(topic("a/b/c"))));
    ensure!(!filter.matches(get!(topic("a/b/d"))));
    ensure!(!filter.matches(get!(topic("a/b/c/d"))));
    let all = get!(TopicFilter::new("#"));
    ensure!(all.matches(get!(topic("x/y"))));
    ensure!(!all.matches(get!(topic("$SYS/broker"))));
    let tail = get!(TopicFilter::new("a/#"));
    ensure!(tail.matches(get!(topic("a"))));
    ensure!(tail.matches(get!(topic("a/b/c"))));
    Ok(())
}
