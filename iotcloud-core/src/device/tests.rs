use core::task::Poll as TaskPoll;
use std::vec::Vec;

use super::*;
use crate::mqtt::{
    Connack, ConnectReturnCode, Packet, Publish, QosPid, Suback, SubackCode, SubackCodes,
};
use crate::plain::PlainMqtt;
use crate::platform::Composed;
use crate::provider::{Credentials, Limits, ProviderError, SignContext};
use crate::scratch::Scratch;
use crate::test_support::{
    MockTransport, Step, TestClock, block_on, friendly_broker, poll_once, silent_broker,
};
use crate::transport::Endpoint;
use crate::{ErrorKind, ProtocolError};

type Dev<'b, St> = Device<'b, PlainMqtt<'static>, Composed<MockTransport, TestClock>, St>;

fn provider() -> PlainMqtt<'static> {
    PlainMqtt::new("broker.test", 1883, "dev-1")
        .unwrap()
        .with_login("user", "pw")
        .with_keep_alive(10)
}

struct Rig {
    rx: [u8; 256],
    tx: [u8; 128],
    session: [u8; 512],
}

impl Rig {
    fn new() -> Self {
        Rig {
            rx: [0; 256],
            tx: [0; 128],
            session: [0; 512],
        }
    }

    fn device(&mut self, transport: MockTransport, clock: TestClock) -> Dev<'_, Unregistered> {
        Device::new(
            provider(),
            Composed::new(transport, clock),
            Memory {
                rx: &mut self.rx,
                tx: &mut self.tx,
                session: &mut self.session,
                ..Memory::default()
            },
        )
    }
}

fn connected<'b>(rig: &'b mut Rig, t: &MockTransport, clock: &TestClock) -> Dev<'b, Connected> {
    let dev = rig.device(t.clone(), clock.clone());
    let dev = block_on(dev.register()).unwrap();
    let mut dev = block_on(dev.connect()).unwrap();
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Connected {
            session_present: false
        }
    );
    dev
}

fn publish_packet(topic: &str, qos: QosPid, payload: &[u8]) -> Vec<u8> {
    let p = Packet::Publish(Publish {
        topic: crate::mqtt::TopicName::new(topic).unwrap(),
        qos,
        dup: false,
        retain: false,
        payload,
    });
    let mut buf = std::vec![0u8; p.buffer_len().unwrap()];
    p.emit(&mut buf).unwrap();
    buf
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

#[test]
fn connect_sends_signed_connect_and_reports_connected() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let dev = connected(&mut rig, &t, &clock);
    assert!(dev.is_connected());
    let s = t.state.borrow();
    assert_eq!(s.endpoints, [("broker.test".into(), 1883, false)]);
    assert_eq!(
        s.packets()[0],
        "Connect(Connect { client_id: \"dev-1\", keep_alive: 10, clean_session: true, will: None, username: Some(\"user\"), password: Some(\"<redacted>\") })"
    );
}

#[test]
fn each_refusal_code_maps_to_its_error_and_hands_the_device_back() {
    for code in [
        ConnectReturnCode::UnacceptableProtocolVersion,
        ConnectReturnCode::IdentifierRejected,
        ConnectReturnCode::ServerUnavailable,
        ConnectReturnCode::BadUsernameOrPassword,
        ConnectReturnCode::NotAuthorized,
    ] {
        let t = MockTransport::with_responder(silent_broker);
        t.on_next_connect(Packet::Connack(Connack {
            session_present: false,
            code,
        }));
        let mut rig = Rig::new();
        let dev = block_on(rig.device(t.clone(), TestClock::default()).register())
            .ok()
            .unwrap();
        let (err, dev) = match block_on(dev.connect()) {
            Err(failed) => failed.into_parts(),
            Ok(_) => panic!("{code:?} accepted"),
        };
        assert!(matches!(err, Error::Refused(c) if c == code));
        let expected = if code.is_auth_failure() {
            ErrorKind::Auth
        } else {
            ErrorKind::Transport
        };
        assert_eq!(err.kind(), expected, "{code:?}");
        assert!(!dev.session().is_connected());
        assert_eq!(
            t.state.borrow().closes,
            1,
            "the socket is closed after a refusal"
        );
    }
}

#[test]
fn a_broker_that_never_answers_times_out() {
    let t = MockTransport::with_responder(silent_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let dev = block_on(rig.device(t.clone(), clock.clone()).register())
        .ok()
        .unwrap();
    let (err, _) = block_on(dev.connect()).err().unwrap().into_parts();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert_eq!(clock.now.get(), 15_000);
}

#[test]
fn a_transport_that_cannot_connect_reports_a_transport_error() {
    let t = MockTransport::with_responder(friendly_broker);
    t.state.borrow_mut().refuse_connect = true;
    let mut rig = Rig::new();
    let dev = block_on(rig.device(t.clone(), TestClock::default()).register())
        .ok()
        .unwrap();
    let (err, dev) = block_on(dev.connect()).err().unwrap().into_parts();
    assert!(matches!(err, Error::Transport(_)));
    assert!(err.is_retryable());
    // The device can try again once the network is back.
    t.state.borrow_mut().refuse_connect = false;
    assert!(block_on(dev.connect()).is_ok());
}

#[test]
fn an_answer_other_than_connack_is_a_protocol_error() {
    let t = MockTransport::with_responder(silent_broker);
    t.on_next_connect(Packet::Pingresp);
    let mut rig = Rig::new();
    let dev = block_on(rig.device(t.clone(), TestClock::default()).register())
        .ok()
        .unwrap();
    let (err, _) = block_on(dev.connect()).err().unwrap().into_parts();
    assert!(matches!(
        err,
        Error::Protocol(ProtocolError::ExpectedConnack(
            crate::mqtt::PacketType::Pingresp
        ))
    ));
}

#[test]
fn qos1_publish_is_acknowledged_as_an_event() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let pid = block_on(dev.publish("a/b", b"21.5", QoS::AtLeastOnce))
        .unwrap()
        .unwrap();
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Published { packet_id: pid }
    );
    assert_eq!(dev.session().in_flight(), 0);
    assert_eq!(
        block_on(dev.publish("a/b", b"x", QoS::AtMostOnce)).unwrap(),
        None
    );
}

#[test]
fn messages_are_delivered_and_acknowledged_even_one_byte_at_a_time() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    t.state.borrow_mut().read_chunk = 1;
    let mut stream = publish_packet("in/1", QosPid::AtLeastOnce(id(5)), b"first");
    stream.extend(publish_packet("in/2", QosPid::AtMostOnce, b"second"));
    t.push(&stream);
    match block_on(dev.next_event()).unwrap() {
        Event::Message(m) => {
            assert_eq!(
                (m.topic(), m.payload(), m.qos),
                ("in/1", &b"first"[..], QoS::AtLeastOnce)
            );
        }
        other => panic!("{other:?}"),
    }
    match block_on(dev.next_event()).unwrap() {
        Event::Message(m) => assert_eq!((m.topic(), m.payload()), ("in/2", &b"second"[..])),
        other => panic!("{other:?}"),
    }
    assert!(
        t.state
            .borrow()
            .packets()
            .contains(&"Puback(PacketId(5))".into())
    );
}

#[test]
fn an_oversized_message_is_reported_acknowledged_and_skipped() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let big = std::vec![0x55u8; 1000];
    let mut stream = publish_packet("big", QosPid::AtLeastOnce(id(9)), &big);
    stream.extend(publish_packet("small", QosPid::AtMostOnce, b"ok"));
    t.push(&stream);
    match block_on(dev.next_event()) {
        Err(Error::IncomingTooLarge { len, capacity }) => {
            assert_eq!((len, capacity), (stream.len() - 11, 256));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t.state
            .borrow()
            .packets()
            .contains(&"Puback(PacketId(9))".into())
    );
    match block_on(dev.next_event()).unwrap() {
        Event::Message(m) => assert_eq!((m.topic(), m.payload()), ("small", &b"ok"[..])),
        other => panic!("{other:?}"),
    }
    assert!(dev.is_connected());
}

#[test]
fn idle_connections_ping_and_die_when_pingresp_never_comes() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    // Nothing to read: the device waits until the keep-alive deadline and pings.
    {
        let mut fut = core::pin::pin!(dev.next_event());
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        for _ in 0..3 {
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }
    }
    // Each wait ends at the next deadline: a ping every 10 s, each answered.
    assert_eq!(clock.now.get(), 20_000);
    let packets = t.state.borrow().packets();
    assert_eq!(packets.iter().filter(|p| *p == "Pingreq").count(), 2);
    assert_eq!(packets.last().unwrap(), "Pingreq");
    // Now the broker goes silent: the next ping is never answered.
    t.state.borrow_mut().responder = Some(silent_broker);
    let ev = block_on(dev.next_event()).unwrap();
    assert_eq!(ev, Event::Disconnected(DisconnectReason::KeepAliveTimeout));
    // One more interval to the unanswered ping, one ping timeout to give up.
    assert_eq!(clock.now.get(), 40_000);
    assert!(matches!(
        block_on(dev.next_event()),
        Err(Error::NotConnected)
    ));
}

#[test]
fn a_peer_closing_mid_packet_is_a_disconnect() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let frame = publish_packet("t", QosPid::AtMostOnce, b"cut short");
    t.push(&frame[..5]);
    t.push_step(Step::Close);
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Disconnected(DisconnectReason::PeerClosed)
    );
}

#[test]
fn a_read_error_is_a_disconnect_with_its_kind() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    t.push_step(Step::Fail);
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Disconnected(DisconnectReason::Transport(
            embedded_io::ErrorKind::ConnectionReset
        ))
    );
    assert!(!dev.is_connected());
}

#[test]
fn malformed_bytes_close_the_connection_as_a_protocol_error() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    t.push(&[0x30, 0x03, 0x00, 0x01, b'#']);
    match block_on(dev.next_event()).unwrap() {
        Event::Disconnected(DisconnectReason::Protocol(ProtocolError::Malformed(_))) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(t.state.borrow().closes, 1);
}

#[test]
fn an_unknown_puback_is_reported_and_the_connection_stays_up() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    t.push_packet(Packet::Puback(id(77)));
    t.push(&publish_packet("after", QosPid::AtMostOnce, b""));
    assert!(matches!(
        block_on(dev.next_event()),
        Err(Error::Protocol(ProtocolError::UnknownPacketId { .. }))
    ));
    assert!(matches!(
        block_on(dev.next_event()).unwrap(),
        Event::Message(_)
    ));
}

#[test]
fn qos1_messages_survive_a_broken_connection_and_are_resent_with_dup() {
    let t = MockTransport::with_responder(silent_broker);
    t.on_next_connect(Packet::Connack(Connack {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    }));
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let dev = block_on(rig.device(t.clone(), clock.clone()).register())
        .ok()
        .unwrap();
    let mut dev = block_on(dev.connect()).ok().unwrap();
    block_on(dev.next_event()).unwrap();
    let a = block_on(dev.publish("q", b"one", QoS::AtLeastOnce))
        .unwrap()
        .unwrap();
    // The next write fails half-way: the message is kept, the link reported lost.
    let written = t.state.borrow().written.len();
    t.state.borrow_mut().fail_write_after = Some(written + 3);
    let b = block_on(dev.publish("q", b"two", QoS::AtLeastOnce))
        .unwrap()
        .unwrap();
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Disconnected(DisconnectReason::Transport(
            embedded_io::ErrorKind::BrokenPipe
        ))
    );
    // Published while down: queued.
    let c = block_on(dev.publish("q", b"three", QoS::AtLeastOnce))
        .unwrap()
        .unwrap();
    assert_eq!(dev.session().in_flight(), 3);

    let dev = block_on(dev.disconnect());
    {
        let mut s = t.state.borrow_mut();
        s.fail_write_after = None;
        s.written.clear();
        s.responder = Some(friendly_broker);
    }
    let mut dev = block_on(dev.connect()).ok().unwrap();
    let frames = t.state.borrow().frames();
    let resent: Vec<(u16, bool)> = frames[1..]
        .iter()
        .map(|f| match Packet::decode(f).unwrap().unwrap().0 {
            Packet::Publish(p) => (p.qos.packet_id().unwrap().get(), p.dup),
            other => panic!("{other:?}"),
        })
        .collect();
    // `c` was queued while down and never written: its first delivery has no DUP.
    assert_eq!(resent, [(a.get(), true), (b.get(), true), (c.get(), false)]);
    let mut acked = Vec::new();
    while acked.len() < 3 {
        match block_on(dev.next_event()).unwrap() {
            Event::Published { packet_id } => acked.push(packet_id),
            Event::Connected { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(acked, [a, b, c]);
}

#[test]
fn subscriptions_are_restored_on_reconnect_and_reported() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let sid =
        block_on(dev.subscribe(&[("cmd/#", QoS::AtLeastOnce), ("cfg", QoS::AtMostOnce)])).unwrap();
    match block_on(dev.next_event()).unwrap() {
        Event::Subscribed { packet_id, codes } => {
            assert_eq!(packet_id, sid);
            let expect = [
                SubackCode::Granted(QoS::AtLeastOnce),
                SubackCode::Granted(QoS::AtMostOnce),
            ];
            assert_eq!(codes, SubackCodes::List(&expect));
        }
        other => panic!("{other:?}"),
    }
    let dev = block_on(dev.disconnect());
    let mut dev = block_on(dev.connect()).ok().unwrap();
    let mut restored = 0;
    while restored < 2 {
        if let Event::Subscribed { .. } = block_on(dev.next_event()).unwrap() {
            restored += 1;
        }
    }
    let packets = t.state.borrow().packets();
    let subscribes = packets
        .iter()
        .filter(|p| p.starts_with("Subscribe"))
        .count();
    assert_eq!(subscribes, 3, "{packets:#?}");
}

#[test]
fn bad_topics_and_empty_filter_lists_are_refused_before_anything_is_sent() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let before = t.state.borrow().written.len();
    assert!(matches!(
        block_on(dev.publish("a/+", b"", QoS::AtMostOnce)),
        Err(Error::Topic(crate::mqtt::TopicError::WildcardInName))
    ));
    assert!(matches!(
        block_on(dev.publish("", b"", QoS::AtMostOnce)),
        Err(Error::Topic(crate::mqtt::TopicError::Empty))
    ));
    assert!(matches!(
        block_on(dev.subscribe(&[("a/#/b", QoS::AtMostOnce)])),
        Err(Error::Topic(crate::mqtt::TopicError::MisplacedWildcard))
    ));
    assert!(matches!(
        block_on(dev.subscribe(&[])),
        Err(Error::TooManyFilters { .. })
    ));
    assert_eq!(t.state.borrow().written.len(), before);
}

#[test]
fn dropping_next_event_mid_packet_loses_no_bytes() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let frame = publish_packet("half", QosPid::AtMostOnce, b"and half");
    t.push(&frame[..6]);
    {
        let mut fut = core::pin::pin!(dev.next_event());
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    t.push(&frame[6..]);
    match block_on(dev.next_event()).unwrap() {
        Event::Message(m) => assert_eq!((m.topic(), m.payload()), ("half", &b"and half"[..])),
        other => panic!("{other:?}"),
    }
}

/// A transport whose writes, while `slow` is set, take two polls (cancel-safe: nothing is
/// accepted before the second), so a publish can be dropped between them.
#[derive(Clone, Default)]
struct SlowWrites(MockTransport, std::rc::Rc<core::cell::Cell<bool>>);

impl embedded_io::ErrorType for SlowWrites {
    type Error = crate::test_support::MockError;
}

impl embedded_io_async::Read for SlowWrites {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).await
    }
}

impl embedded_io_async::Write for SlowWrites {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if self.1.get() {
            let mut yielded = false;
            core::future::poll_fn(|_| {
                if yielded {
                    TaskPoll::Ready(())
                } else {
                    yielded = true;
                    TaskPoll::Pending
                }
            })
            .await;
        }
        self.0.write(buf).await
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl crate::Transport for SlowWrites {
    async fn connect(&mut self, e: &Endpoint<'_>) -> Result<(), Self::Error> {
        self.0.connect(e).await
    }
    async fn close(&mut self) {
        self.0.close().await
    }
}

/// A device over `SlowWrites`, connected, with 128 bytes of transmit buffer.
fn slow_device<'b>(
    rig: &'b mut Rig,
    t: &SlowWrites,
) -> Device<'b, PlainMqtt<'static>, Composed<SlowWrites, TestClock>, Connected> {
    let dev = Device::new(
        provider(),
        Composed::new(t.clone(), TestClock::default()),
        Memory {
            rx: &mut rig.rx,
            tx: &mut rig.tx,
            session: &mut rig.session,
            ..Memory::default()
        },
    );
    let mut dev = block_on(async { dev.register().await.unwrap().connect().await.unwrap() });
    block_on(dev.next_event()).unwrap();
    dev
}

#[test]
fn a_publish_dropped_while_its_write_waits_goes_out_with_the_next_write() {
    let t = SlowWrites(
        MockTransport::with_responder(friendly_broker),
        Default::default(),
    );
    let mut rig = Rig::new();
    let mut dev = slow_device(&mut rig, &t);
    t.1.set(true);
    {
        let mut fut = core::pin::pin!(dev.publish("t", b"x", QoS::AtLeastOnce));
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    // Nothing of it was accepted, so the stream is intact: the message waits in the
    // transmit buffer and leaves with the next write, and its PUBACK comes.
    t.1.set(false);
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Published { packet_id: id(1) }
    );
    assert!(dev.is_connected());
    assert_eq!(dev.session().in_flight(), 0);
}

#[test]
fn a_large_publish_dropped_mid_write_marks_the_connection_broken() {
    let t = SlowWrites(
        MockTransport::with_responder(friendly_broker),
        Default::default(),
    );
    let mut rig = Rig::new();
    let mut dev = slow_device(&mut rig, &t);
    t.1.set(true);
    // Larger than the 128-byte transmit buffer: written from session memory, which cannot
    // be resumed once begun.
    let payload = [b'p'; 150];
    {
        let mut fut = core::pin::pin!(dev.publish("t", &payload, QoS::AtLeastOnce));
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Disconnected(DisconnectReason::WriteInterrupted)
    );
    // The message was stored before the write began, so it is not lost.
    assert_eq!(dev.session().in_flight(), 1);
}

/// Memory for a [`Strict`] device: 256-byte session memory, so that it fills quickly.
struct StrictMemory {
    rx: [u8; 256],
    tx: [u8; 128],
    session: [u8; 256],
}

impl StrictMemory {
    fn new() -> Self {
        StrictMemory {
            rx: [0; 256],
            tx: [0; 128],
            session: [0; 256],
        }
    }

    fn device(
        &mut self,
        t: &MockTransport,
    ) -> Device<'_, Strict, Composed<MockTransport, TestClock>, Unregistered> {
        Device::new(
            Strict,
            Composed::new(t.clone(), TestClock::default()),
            Memory {
                rx: &mut self.rx,
                tx: &mut self.tx,
                session: &mut self.session,
                ..Memory::default()
            },
        )
    }
}

/// A provider whose cloud accepts QoS 0 and 1 only, short topics and small payloads.
struct Strict;

impl Provider for Strict {
    type Registration = crate::register::NoRegistration;
    type Ota = crate::ota::NoOta;
    type Data = crate::data::NoData;

    fn cloud(&self) -> &'static str {
        "strict"
    }
    fn endpoint<'a>(&'a self, _scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        Ok(Endpoint::tcp("strict.test", 1883))
    }
    fn limits(&self) -> Limits {
        Limits {
            max_qos: QoS::AtLeastOnce,
            max_topic_len: 8,
            max_payload_len: 4,
            ..Limits::MQTT
        }
    }
    fn sign<'s>(
        &self,
        _: &SignContext,
        s: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        Ok(Credentials {
            client_id: s.copy("strict")?,
            username: None,
            password: None,
        })
    }
    fn system_subscription<'s>(
        &self,
        index: usize,
        s: &mut Scratch<'s>,
    ) -> Result<Option<crate::mqtt::SubscribeTopic<'s>>, ProviderError> {
        if index > 0 {
            return Ok(None);
        }
        let filter = s.copy("sys/ota")?;
        Ok(Some(crate::mqtt::SubscribeTopic {
            filter: crate::mqtt::TopicFilter::new(filter).unwrap(),
            qos: QoS::AtMostOnce,
        }))
    }
}

#[test]
fn cloud_limits_are_enforced_and_system_topics_subscribed_once() {
    let t = MockTransport::with_responder(friendly_broker);
    let mut memory = StrictMemory::new();
    let dev = memory.device(&t);
    let mut dev = block_on(async {
        dev.register()
            .await
            .ok()
            .unwrap()
            .connect()
            .await
            .ok()
            .unwrap()
    });
    assert!(matches!(
        block_on(dev.publish("t", b"x", QoS::ExactlyOnce)),
        Err(Error::QosNotSupported {
            requested: QoS::ExactlyOnce,
            max: QoS::AtLeastOnce
        })
    ));
    assert!(matches!(
        block_on(dev.subscribe(&[("t", QoS::ExactlyOnce)])),
        Err(Error::QosNotSupported { .. })
    ));
    assert!(matches!(
        block_on(dev.publish("too/long/topic", b"x", QoS::AtMostOnce)),
        Err(Error::Topic(crate::mqtt::TopicError::OverCloudLimit(8)))
    ));
    assert!(matches!(
        block_on(dev.publish("t", b"12345", QoS::AtMostOnce)),
        Err(Error::PayloadTooLarge { len: 5, max: 4 })
    ));
    assert_eq!(
        dev.session()
            .subscriptions()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        ["sys/ota"]
    );
    // Confirmed by the broker's SUBACK; a reconnect does not subscribe it twice.
    while !matches!(
        block_on(dev.next_event()).unwrap(),
        Event::Subscribed { .. }
    ) {}
    let dev = block_on(dev.disconnect());
    let _dev = block_on(dev.connect()).ok().unwrap();
    let packets = t.state.borrow().packets();
    assert_eq!(
        packets
            .iter()
            .filter(|p| p.starts_with("Subscribe"))
            .count(),
        2,
        "{packets:#?}"
    );
}

#[test]
fn poll_once_helper_sees_pending_reads() {
    let t = MockTransport::with_responder(friendly_broker);
    t.state.borrow_mut().open = true;
    let mut buf = [0u8; 4];
    let mut t2 = t.clone();
    let mut fut = core::pin::pin!(embedded_io_async::Read::read(&mut t2, &mut buf));
    assert!(poll_once(&mut fut).is_pending());
    let _ = (Suback {
        packet_id: id(1),
        codes: SubackCodes::List(&[]),
    },);
}

#[test]
fn enqueued_messages_go_out_together_on_flush() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let (before, written) = {
        let s = t.state.borrow();
        (s.flushes, s.written.len())
    };
    for payload in [&b"one"[..], b"two", b"three"] {
        assert_eq!(
            block_on(dev.enqueue("t", payload, QoS::AtMostOnce)).unwrap(),
            None
        );
    }
    let id = block_on(dev.enqueue("t", b"four", QoS::AtLeastOnce))
        .unwrap()
        .unwrap();
    // Nothing left the device yet.
    assert_eq!(t.state.borrow().written.len(), written);
    block_on(dev.flush()).unwrap();
    {
        let s = t.state.borrow();
        assert_eq!(s.flushes, before + 1, "one write for all four");
        let frames = s.frames();
        let tail = &frames[frames.len() - 4..];
        for (frame, payload) in tail.iter().zip([&b"one"[..], b"two", b"three", b"four"]) {
            assert!(frame.ends_with(payload), "{frame:?}");
        }
    }
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Published { packet_id: id }
    );
}

#[test]
fn waiting_for_the_broker_writes_out_what_was_enqueued() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let id = block_on(dev.enqueue("t", b"x", QoS::AtLeastOnce))
        .unwrap()
        .unwrap();
    // next_event writes the message out before it waits, so the PUBACK can come.
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Published { packet_id: id }
    );
}

#[test]
fn publish_writes_out_what_waits_and_itself_in_one_go() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let before = t.state.borrow().flushes;
    block_on(dev.enqueue("t", b"queued", QoS::AtMostOnce)).unwrap();
    block_on(dev.publish("t", b"now", QoS::AtMostOnce)).unwrap();
    let s = t.state.borrow();
    assert_eq!(s.flushes, before + 1);
    let frames = s.frames();
    assert!(frames[frames.len() - 2].ends_with(b"queued"));
    assert!(frames[frames.len() - 1].ends_with(b"now"));
}

#[test]
fn a_message_too_large_for_what_is_left_of_the_buffer_writes_out_what_waits_first() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    let before = t.state.borrow().flushes;
    // The transmit buffer is 128 bytes: two 75-byte messages do not fit together.
    let payload = [b'a'; 70];
    block_on(dev.enqueue("t", &payload, QoS::AtMostOnce)).unwrap();
    block_on(dev.enqueue("t", &payload, QoS::AtMostOnce)).unwrap();
    {
        let s = t.state.borrow();
        assert_eq!(s.flushes, before + 1, "the first went out to make room");
    }
    block_on(dev.flush()).unwrap();
    let s = t.state.borrow();
    assert_eq!(s.flushes, before + 2);
    let frames = s.frames();
    assert!(
        frames[frames.len() - 2..]
            .iter()
            .all(|f| f.ends_with(&payload))
    );
}

#[test]
fn flush_without_a_link_is_not_connected_only_when_something_waits() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = Rig::new();
    let mut dev = connected(&mut rig, &t, &clock);
    t.push_step(Step::Close);
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::Disconnected(DisconnectReason::PeerClosed)
    );
    // Nothing waits: nothing to do.
    block_on(dev.flush()).unwrap();
    // A QoS 1 message is queued in the session for the next connection, not in the
    // transmit buffer.
    assert!(block_on(dev.enqueue("t", b"x", QoS::AtLeastOnce)).is_ok());
    block_on(dev.flush()).unwrap();
    assert!(matches!(
        block_on(dev.enqueue("t", b"x", QoS::AtMostOnce)),
        Err(Error::NotConnected)
    ));
}

#[test]
fn a_failed_transition_gives_the_device_back_and_converts_into_its_error() {
    fn connect_or_error(
        dev: Dev<'_, Registered>,
    ) -> Result<(), Error<crate::test_support::MockError>> {
        let connected = block_on(dev.connect())?;
        drop(connected);
        Ok(())
    }
    let t = MockTransport::with_responder(silent_broker);
    t.state.borrow_mut().refuse_connect = true;
    let mut rig = Rig::new();
    let dev = block_on(rig.device(t.clone(), TestClock::default()).register()).unwrap();
    let failed = block_on(dev.connect()).unwrap_err();
    assert!(matches!(failed.error(), Error::Transport(_)));
    assert_eq!(
        std::format!("{failed}"),
        "transport: mock transport error: ConnectionRefused"
    );
    assert!(std::format!("{failed:?}").starts_with("TransitionError { error: Transport("));
    // The device is whole: it connects once the broker lets it.
    let (_, dev) = failed.into_parts();
    t.state.borrow_mut().refuse_connect = false;
    t.state.borrow_mut().responder = Some(friendly_broker);
    assert!(block_on(dev.connect()).is_ok());
    // `?` turns the failure into the error.
    let mut rig = Rig::new();
    let dev = block_on(rig.device(t.clone(), TestClock::default()).register()).unwrap();
    t.state.borrow_mut().refuse_connect = true;
    assert!(matches!(connect_or_error(dev), Err(Error::Transport(_))));
}

#[test]
fn an_offline_queue_filled_before_the_first_connection_leaves_room_for_system_topics() {
    let t = MockTransport::with_responder(friendly_broker);
    let mut memory = StrictMemory::new();
    let dev = memory.device(&t);
    let dev = block_on(dev.register()).ok().unwrap();
    let mut sup = dev.supervise(crate::ReconnectPolicy::default());
    // Queued before any connection, until the memory refuses more.
    let mut queued = 0;
    loop {
        match block_on(sup.enqueue("t", b"x", QoS::AtLeastOnce)) {
            Ok(Some(_)) => queued += 1,
            Err(Error::SessionFull { .. }) => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(queued > 5, "{queued}");
    // The connection still subscribes to the cloud's system topic, then sends the queue.
    let mut acknowledged = 0;
    let mut connected = false;
    while acknowledged < queued {
        match block_on(sup.next_event()).unwrap() {
            crate::Supervised::Event(Event::Connected { .. }) => connected = true,
            crate::Supervised::Event(Event::Published { .. }) => acknowledged += 1,
            crate::Supervised::Event(Event::Subscribed { .. })
            | crate::Supervised::Connecting { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(connected);
    assert_eq!(
        sup.session()
            .subscriptions()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        ["sys/ota"]
    );
    assert_eq!(
        t.state.borrow().connects,
        1,
        "connected at the first attempt"
    );
}

#[test]
fn a_supervisor_skips_what_concerns_one_packet_and_stays_connected() {
    let t = MockTransport::with_responder(friendly_broker);
    let mut rig = Rig::new();
    let dev = block_on(rig.device(t.clone(), TestClock::default()).register()).unwrap();
    let mut sup = dev.supervise(crate::ReconnectPolicy::default());
    while !matches!(
        block_on(sup.next_event()).unwrap(),
        crate::Supervised::Event(Event::Connected { .. })
    ) {}
    // A message larger than the receive buffer, an acknowledgement nobody waits for, and
    // then a message that fits.
    let mut stream = publish_packet("big", QosPid::AtLeastOnce(id(9)), &[0x55; 1000]);
    let mut ack = [0u8; 4];
    let n = Packet::Puback(id(77)).emit(&mut ack).unwrap();
    stream.extend_from_slice(&ack[..n]);
    stream.extend(publish_packet("small", QosPid::AtMostOnce, b"ok"));
    t.push(&stream);
    assert!(matches!(
        block_on(sup.next_event()).unwrap(),
        crate::Supervised::Skipped(Error::IncomingTooLarge { .. })
    ));
    assert!(matches!(
        block_on(sup.next_event()).unwrap(),
        crate::Supervised::Skipped(Error::Protocol(ProtocolError::UnknownPacketId { .. }))
    ));
    match block_on(sup.next_event()).unwrap() {
        crate::Supervised::Event(Event::Message(m)) => {
            assert_eq!((m.topic(), m.payload()), ("small", &b"ok"[..]))
        }
        other => panic!("{other:?}"),
    }
    assert!(sup.is_connected());
    assert_eq!(t.state.borrow().connects, 1);
}
