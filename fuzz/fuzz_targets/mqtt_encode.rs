//! Encoding a packet into a buffer of fuzzer-chosen size either fits exactly what
//! `buffer_len` said, or fails with `BufferTooSmall` — never a panic, never a short write.
#![no_main]

use arbitrary::Arbitrary;
use iotcloud_core::mqtt::{
    EncodeError, Packet, PacketId, Publish, QoS, QosPid, Subscribe, SubscribeTopic, TopicFilter,
    TopicName,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    kind: u8,
    topic: String,
    payload: Vec<u8>,
    id: u16,
    qos: u8,
    buf_len: u16,
}

fuzz_target!(|input: Input| {
    let mut buf = vec![0u8; usize::from(input.buf_len)];
    let qos = QoS::from_bits(input.qos % 3).unwrap_or(QoS::AtMostOnce);
    let Some(id) = PacketId::new(input.id) else {
        return;
    };
    let topics;
    let packet = if input.kind % 2 == 0 {
        let Ok(topic) = TopicName::new(&input.topic) else {
            return;
        };
        Packet::Publish(Publish {
            topic,
            qos: QosPid::from_parts(qos, Some(id)).unwrap_or(QosPid::AtMostOnce),
            dup: false,
            retain: input.kind & 4 != 0,
            payload: &input.payload,
        })
    } else {
        let Ok(filter) = TopicFilter::new(&input.topic) else {
            return;
        };
        topics = [SubscribeTopic { filter, qos }];
        Packet::Subscribe(Subscribe::new(id, &topics))
    };
    let needed = packet.buffer_len().expect("valid packets have a length");
    match packet.emit(&mut buf) {
        Ok(n) => {
            assert_eq!(n, needed);
            let (decoded, used) = Packet::decode(&buf[..n]).unwrap().unwrap();
            assert_eq!(used, n);
            assert_eq!(decoded, packet);
        }
        Err(EncodeError::BufferTooSmall {
            needed: n,
            available,
        }) => {
            assert_eq!((n, available), (needed, buf.len()));
            assert!(buf.len() < needed);
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
});
