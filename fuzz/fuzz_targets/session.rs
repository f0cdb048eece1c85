//! The session engine fed arbitrary packets from the broker between operations of its own:
//! it returns errors, never panics, and its bookkeeping stays within its memory.
#![no_main]

use arbitrary::Arbitrary;
use iotcloud_core::mqtt::{Connack, Connect, ConnectReturnCode, Packet, QoS, TopicName};
use iotcloud_core::session::{Replay, Session};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Incoming(Vec<u8>),
    Publish(u8, Vec<u8>),
    Poll(u16),
    LinkDown,
    Reconnect(bool),
}

fuzz_target!(|ops: Vec<Op>| {
    let mut memory = [0u8; 512];
    let mut s = Session::new(&mut memory);
    let mut tx = [0u8; 256];
    let connect = Connect {
        client_id: "fuzz",
        keep_alive: 5,
        clean_session: false,
        will: None,
        username: None,
        password: None,
    };
    let mut now = 0u64;
    let accepted = |present| Connack {
        session_present: present,
        code: ConnectReturnCode::Accepted,
    };
    s.connect(&connect, now, &mut tx).unwrap();
    s.on_connack(&accepted(false), now).unwrap();
    for op in ops.into_iter().take(64) {
        match op {
            Op::Incoming(bytes) => {
                if let Ok(Some((p, _))) = Packet::decode(&bytes) {
                    let _ = s.handle(&p, now, &mut tx);
                }
            }
            Op::Publish(q, payload) => {
                let qos = QoS::from_bits(q % 3).unwrap_or(QoS::AtMostOnce);
                let _ = s.publish(
                    TopicName::new("t/x").unwrap(),
                    &payload,
                    qos,
                    false,
                    &mut tx,
                );
            }
            Op::Poll(dt) => {
                now += u64::from(dt);
                let _ = s.poll(now, &mut tx);
            }
            Op::LinkDown => s.link_down(),
            Op::Reconnect(present) => {
                s.connect(&connect, now, &mut tx).unwrap();
                s.on_connack(&accepted(present), now).unwrap();
                while let Ok(Some(replay)) = s.next_replay(&mut tx) {
                    // Everything replayed is a valid packet.
                    let frame = match replay {
                        Replay::Frame(n) => &tx[..n],
                        Replay::Stored(frame) => frame,
                    };
                    assert!(Packet::decode(frame).unwrap().is_some());
                }
            }
        }
        let (used, total) = s.memory_usage();
        assert!(used <= total);
    }
});
