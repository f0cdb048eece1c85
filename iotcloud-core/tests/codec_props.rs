//! Properties of the MQTT codec: every packet round-trips, arbitrary bytes never panic the
//! decoder, and a byte stream split anywhere decodes to the same packets.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use iotcloud_core::mqtt::{
    Connack, Connect, ConnectReturnCode, FrameStatus, Packet, PacketId, Publish, QoS, QosPid,
    Suback, SubackCode, SubackCodes, Subscribe, SubscribeTopic, TopicFilter, TopicName,
    Unsubscribe, Will, frame_status,
};
use proptest::prelude::*;

/// An owned description of a packet, from which a borrowed `Packet` is built.
#[derive(Debug, Clone)]
enum Spec {
    Connect {
        client_id: String,
        keep_alive: u16,
        clean: bool,
        will: Option<(String, Vec<u8>, u8, bool)>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    Connack(bool, u8),
    Publish {
        topic: String,
        qos: u8,
        id: u16,
        dup: bool,
        retain: bool,
        payload: Vec<u8>,
    },
    Ack(u8, u16),
    Subscribe(u16, Vec<(String, u8)>),
    Suback(u16, Vec<u8>),
    Unsubscribe(u16, Vec<String>),
    Empty(u8),
}

fn qos(n: u8) -> QoS {
    QoS::from_bits(n % 3).unwrap()
}

fn topic_name() -> impl Strategy<Value = String> {
    "[a-z0-9$/_ äö]{1,40}".prop_filter("no wildcards", |s| !s.is_empty())
}

fn topic_filter() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof!["[a-z0-9]{0,8}", Just("+".to_string())], 1..6)
        .prop_flat_map(|levels| {
            let joined = levels.join("/");
            prop_oneof![
                Just(joined.clone()),
                Just(if joined.is_empty() {
                    "#".into()
                } else {
                    format!("{joined}/#")
                })
            ]
        })
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn spec() -> impl Strategy<Value = Spec> {
    let id = 1u16..=u16::MAX;
    prop_oneof![
        (
            "[ -~]{0,300}",
            any::<u16>(),
            any::<bool>(),
            prop::option::of((
                topic_name(),
                prop::collection::vec(any::<u8>(), 0..50),
                0u8..3,
                any::<bool>()
            )),
            prop::option::of("[ -~]{0,60}"),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..60)),
        )
            .prop_map(|(client_id, keep_alive, clean, will, username, password)| {
                let clean = clean || client_id.is_empty();
                let password = if username.is_some() { password } else { None };
                Spec::Connect {
                    client_id,
                    keep_alive,
                    clean,
                    will,
                    username,
                    password,
                }
            }),
        (any::<bool>(), 0u8..6).prop_map(|(sp, code)| Spec::Connack(sp && code == 0, code)),
        (
            topic_name(),
            0u8..3,
            id.clone(),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..2000)
        )
            .prop_map(|(topic, qos, id, dup, retain, payload)| Spec::Publish {
                topic,
                qos,
                id,
                dup: dup && qos > 0,
                retain,
                payload
            }),
        (0u8..5, id.clone()).prop_map(|(k, id)| Spec::Ack(k, id)),
        (
            id.clone(),
            prop::collection::vec((topic_filter(), 0u8..3), 1..8)
        )
            .prop_map(|(id, t)| Spec::Subscribe(id, t)),
        (
            id.clone(),
            prop::collection::vec(prop_oneof![Just(0u8), Just(1), Just(2), Just(0x80)], 1..8)
        )
            .prop_map(|(id, c)| Spec::Suback(id, c)),
        (id, prop::collection::vec(topic_filter(), 1..8))
            .prop_map(|(id, f)| Spec::Unsubscribe(id, f)),
        (0u8..3).prop_map(Spec::Empty),
    ]
}

/// Encodes the packet `spec` describes.
fn encode(spec: &Spec) -> Vec<u8> {
    let pid = |n: u16| PacketId::new(n).unwrap();
    let topics: Vec<SubscribeTopic<'_>>;
    let codes: Vec<SubackCode>;
    let filters: Vec<TopicFilter<'_>>;
    let packet = match spec {
        Spec::Connect {
            client_id,
            keep_alive,
            clean,
            will,
            username,
            password,
        } => Packet::Connect(Connect {
            client_id,
            keep_alive: *keep_alive,
            clean_session: *clean,
            will: will.as_ref().map(|(t, p, q, r)| Will {
                topic: TopicName::new(t).unwrap(),
                payload: p,
                qos: qos(*q),
                retain: *r,
            }),
            username: username.as_deref(),
            password: password.as_deref(),
        }),
        Spec::Connack(sp, code) => Packet::Connack(Connack {
            session_present: *sp,
            code: ConnectReturnCode::from_u8(*code).unwrap(),
        }),
        Spec::Publish {
            topic,
            qos: q,
            id,
            dup,
            retain,
            payload,
        } => Packet::Publish(Publish {
            topic: TopicName::new(topic).unwrap(),
            qos: QosPid::from_parts(qos(*q), Some(pid(*id))).unwrap(),
            dup: *dup,
            retain: *retain,
            payload,
        }),
        Spec::Ack(k, id) => match k {
            0 => Packet::Puback(pid(*id)),
            1 => Packet::Pubrec(pid(*id)),
            2 => Packet::Pubrel(pid(*id)),
            3 => Packet::Pubcomp(pid(*id)),
            _ => Packet::Unsuback(pid(*id)),
        },
        Spec::Subscribe(id, t) => {
            topics = t
                .iter()
                .map(|(f, q)| SubscribeTopic {
                    filter: TopicFilter::new(f).unwrap(),
                    qos: qos(*q),
                })
                .collect();
            Packet::Subscribe(Subscribe::new(pid(*id), &topics))
        }
        Spec::Suback(id, c) => {
            codes = c.iter().map(|&b| SubackCode::from_u8(b).unwrap()).collect();
            Packet::Suback(Suback {
                packet_id: pid(*id),
                codes: SubackCodes::List(&codes),
            })
        }
        Spec::Unsubscribe(id, f) => {
            filters = f.iter().map(|f| TopicFilter::new(f).unwrap()).collect();
            Packet::Unsubscribe(Unsubscribe::new(pid(*id), &filters))
        }
        Spec::Empty(k) => [Packet::Pingreq, Packet::Pingresp, Packet::Disconnect][*k as usize],
    };
    let len = packet.buffer_len().unwrap();
    let mut buf = vec![0u8; len];
    assert_eq!(packet.emit(&mut buf).unwrap(), len);
    // Encoding into anything smaller fails cleanly, never truncating.
    if len > 0 {
        let mut short = vec![0u8; len - 1];
        assert!(packet.emit(&mut short).is_err());
    }
    // Decoding gives back the same packet.
    let (decoded, used) = Packet::decode(&buf).unwrap().unwrap();
    assert_eq!(used, len);
    assert_eq!(decoded, packet);
    buf
}

/// Decodes a stream delivered in `chunks`, the way the device does: append, decode every
/// complete frame, keep the rest. Returns each frame's bytes.
fn decode_chunked(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some((_, n)) = Packet::decode(&buf).unwrap() {
            frames.push(buf.drain(..n).collect());
        }
    }
    assert!(buf.is_empty(), "bytes left over: {buf:?}");
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_packet_round_trips(spec in spec()) {
        encode(&spec);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Packet::decode(&bytes);
        let _ = frame_status(&bytes);
    }

    #[test]
    fn mutated_valid_packets_never_panic_the_decoder(
        spec in spec(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&spec);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(Some((packet, used))) = Packet::decode(&bytes) {
            // Whatever decodes re-encodes to a frame of the same length.
            prop_assert_eq!(packet.buffer_len().unwrap(), used);
        }
    }

    #[test]
    fn any_split_of_a_stream_decodes_to_the_same_packets(
        specs in prop::collection::vec(spec(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let frames: Vec<Vec<u8>> = specs.iter().map(encode).collect();
        let stream: Vec<u8> = frames.concat();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        points.dedup();
        let chunks: Vec<&[u8]> = points.windows(2).map(|w| &stream[w[0]..w[1]]).collect();
        prop_assert_eq!(decode_chunked(&chunks), frames);
    }

    #[test]
    fn a_truncated_frame_is_incomplete_not_an_error(spec in spec(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&spec);
        let cut = cut.index(bytes.len());
        prop_assert_eq!(Packet::decode(&bytes[..cut]), Ok(None));
    }
}

#[test]
fn the_largest_remaining_length_is_announced_exactly() {
    let header = [0x30, 0xff, 0xff, 0xff, 0x7f];
    assert_eq!(
        frame_status(&header),
        Ok(FrameStatus::Header {
            header_len: 5,
            body_len: 268_435_455
        })
    );
}
