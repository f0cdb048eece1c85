//! Test doubles: a virtual clock, a scripted transport that records what the device writes,
//! and a single-threaded executor.

use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use crate::clock::Clock;
use crate::kv::{KvStore, StoreError};
use crate::mqtt::Packet;
use crate::transport::{Endpoint, Transport};

/// Runs a future to completion; panics if it stops making progress (a test bug: the device
/// waits for input the script never sends, with no timer to wake it).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..100_000 {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("future stalled");
}

/// Polls a future once.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    core::pin::Pin::new(fut).poll(&mut cx)
}

/// Virtual time: sleeping jumps the clock to the deadline, but only once every other branch
/// of a `select` has had a chance to run (the sleep future is pending on its first poll).
#[derive(Clone, Default)]
pub struct TestClock {
    pub now: Rc<Cell<u64>>,
    pub unix_ms: Rc<Cell<Option<u64>>>,
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    fn unix_time_ms(&self) -> Option<u64> {
        self.unix_ms.get()
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        let mut first = true;
        core::future::poll_fn(|_| {
            if self.now.get() >= deadline_ms {
                return Poll::Ready(());
            }
            if first {
                first = false;
                return Poll::Pending;
            }
            self.now.set(deadline_ms);
            Poll::Ready(())
        })
        .await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("mock transport error: {0:?}")]
pub struct MockError(pub embedded_io::ErrorKind);

impl embedded_io::Error for MockError {
    fn kind(&self) -> embedded_io::ErrorKind {
        self.0
    }
}

/// One scripted step of what the "broker" does.
#[derive(Debug, Clone)]
pub enum Step {
    Bytes(Vec<u8>),
    Close,
    Fail,
}

/// How the mock answers what the device writes, packet by packet.
pub type Responder = fn(&Packet<'_>, &mut Vec<u8>);

/// Answers CONNECT with an accepting CONNACK, SUBSCRIBE with full grants, PINGREQ with
/// PINGRESP, QoS 1 PUBLISH with PUBACK, QoS 2 with PUBREC, PUBREL with PUBCOMP.
pub fn friendly_broker(packet: &Packet<'_>, out: &mut Vec<u8>) {
    use crate::mqtt::{Connack, ConnectReturnCode, QosPid, Suback, SubackCode, SubackCodes};
    let reply = |p: Packet<'_>, out: &mut Vec<u8>| {
        let mut buf = [0u8; 64];
        let n = p.emit(&mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    };
    match packet {
        Packet::Connect(_) => reply(
            Packet::Connack(Connack {
                session_present: false,
                code: ConnectReturnCode::Accepted,
            }),
            out,
        ),
        Packet::Subscribe(s) => {
            let codes: Vec<SubackCode> = s
                .topics
                .iter()
                .map(|t| SubackCode::Granted(t.qos))
                .collect();
            reply(
                Packet::Suback(Suback {
                    packet_id: s.packet_id,
                    codes: SubackCodes::List(&codes),
                }),
                out,
            )
        }
        Packet::Unsubscribe(u) => reply(Packet::Unsuback(u.packet_id), out),
        Packet::Pingreq => reply(Packet::Pingresp, out),
        Packet::Publish(p) => match p.qos {
            QosPid::AtLeastOnce(id) => reply(Packet::Puback(id), out),
            QosPid::ExactlyOnce(id) => reply(Packet::Pubrec(id), out),
            QosPid::AtMostOnce => {}
        },
        Packet::Pubrel(id) => reply(Packet::Pubcomp(*id), out),
        _ => {}
    }
}

/// A broker that never answers anything.
pub fn silent_broker(_: &Packet<'_>, _: &mut Vec<u8>) {}

#[derive(Default)]
pub struct MockState {
    pub script: VecDeque<Step>,
    /// Everything the device wrote, across connections.
    pub written: Vec<u8>,
    /// Bytes written on the current connection not yet parsed by the responder.
    unparsed: Vec<u8>,
    pub connects: usize,
    pub closes: usize,
    /// `flush` calls: what the device wrote in one go.
    pub flushes: usize,
    pub open: bool,
    /// Deliver at most this many bytes per read (0: no limit).
    pub read_chunk: usize,
    /// Fail the write that would take the total written past this many bytes.
    pub fail_write_after: Option<usize>,
    /// Make every connect attempt fail.
    pub refuse_connect: bool,
    pub responder: Option<Responder>,
    pub endpoints: Vec<(std::string::String, u16, bool)>,
    /// What the peer sends on each new connection, in order of connections.
    pub per_connection: VecDeque<Vec<Step>>,
}

impl MockState {
    /// Every packet the device wrote, decoded, as debug strings (for assertions).
    pub fn packets(&self) -> Vec<std::string::String> {
        let mut out = Vec::new();
        let mut rest = &self.written[..];
        while let Ok(Some((p, n))) = Packet::decode(rest) {
            out.push(std::format!("{p:?}"));
            rest = &rest[n..];
        }
        out
    }

    /// Frames written, raw.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = &self.written[..];
        while let Ok(Some((_, n))) = Packet::decode(rest) {
            out.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        out
    }
}

#[derive(Clone, Default)]
pub struct MockTransport {
    pub state: Rc<RefCell<MockState>>,
}

impl MockTransport {
    pub fn with_responder(responder: Responder) -> Self {
        let t = MockTransport::default();
        t.state.borrow_mut().responder = Some(responder);
        t
    }

    pub fn push(&self, bytes: &[u8]) {
        self.state
            .borrow_mut()
            .script
            .push_back(Step::Bytes(bytes.to_vec()));
    }

    pub fn push_packet(&self, p: Packet<'_>) {
        let mut buf = std::vec![0u8; p.buffer_len().unwrap()];
        p.emit(&mut buf).unwrap();
        self.push(&buf);
    }

    /// Bytes the peer sends as soon as the next connection opens.
    pub fn on_next_connect(&self, p: Packet<'_>) {
        let mut buf = std::vec![0u8; p.buffer_len().unwrap()];
        p.emit(&mut buf).unwrap();
        self.state
            .borrow_mut()
            .per_connection
            .push_back(std::vec![Step::Bytes(buf)]);
    }

    pub fn push_step(&self, step: Step) {
        self.state.borrow_mut().script.push_back(step);
    }
}

impl embedded_io::ErrorType for MockTransport {
    type Error = MockError;
}

impl embedded_io_async::Read for MockTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, MockError> {
        core::future::poll_fn(|_| {
            let mut s = self.state.borrow_mut();
            if !s.open {
                return Poll::Ready(Err(MockError(embedded_io::ErrorKind::NotConnected)));
            }
            let chunk = s.read_chunk;
            match s.script.pop_front() {
                None => Poll::Pending,
                Some(Step::Close) => {
                    s.open = false;
                    Poll::Ready(Ok(0))
                }
                Some(Step::Fail) => {
                    Poll::Ready(Err(MockError(embedded_io::ErrorKind::ConnectionReset)))
                }
                Some(Step::Bytes(mut bytes)) => {
                    let mut n = bytes.len().min(buf.len());
                    if chunk > 0 {
                        n = n.min(chunk);
                    }
                    buf[..n].copy_from_slice(&bytes[..n]);
                    if n < bytes.len() {
                        bytes.drain(..n);
                        s.script.push_front(Step::Bytes(bytes));
                    }
                    Poll::Ready(Ok(n))
                }
            }
        })
        .await
    }
}

impl embedded_io_async::Write for MockTransport {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, MockError> {
        let mut s = self.state.borrow_mut();
        if !s.open {
            return Err(MockError(embedded_io::ErrorKind::NotConnected));
        }
        if let Some(limit) = s.fail_write_after
            && s.written.len() + buf.len() > limit
        {
            return Err(MockError(embedded_io::ErrorKind::BrokenPipe));
        }
        s.written.extend_from_slice(buf);
        s.unparsed.extend_from_slice(buf);
        if let Some(responder) = s.responder {
            let mut replies = Vec::new();
            let mut used = 0;
            while let Ok(Some((p, n))) = Packet::decode(&s.unparsed[used..]) {
                responder(&p, &mut replies);
                used += n;
            }
            s.unparsed.drain(..used);
            if !replies.is_empty() {
                s.script.push_back(Step::Bytes(replies));
            }
        }
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), MockError> {
        self.state.borrow_mut().flushes += 1;
        Ok(())
    }
}

impl Transport for MockTransport {
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<(), MockError> {
        let mut s = self.state.borrow_mut();
        s.endpoints
            .push((endpoint.host.into(), endpoint.port, endpoint.tls.is_some()));
        if s.refuse_connect {
            return Err(MockError(embedded_io::ErrorKind::ConnectionRefused));
        }
        s.connects += 1;
        s.open = true;
        s.unparsed.clear();
        // A new connection starts with nothing from the previous one.
        s.script.clear();
        if let Some(steps) = s.per_connection.pop_front() {
            s.script.extend(steps);
        }
        Ok(())
    }

    async fn close(&mut self) {
        let mut s = self.state.borrow_mut();
        if s.open {
            s.closes += 1;
        }
        s.open = false;
        // Whatever the peer had sent and the device had not read is gone with the socket.
        s.script.clear();
    }
}

/// A store in memory, shared between "boots", that can be told to fail.
#[derive(Clone, Default)]
pub struct MemStore {
    pub map: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
    pub fail_set: Rc<Cell<bool>>,
}

impl KvStore for MemStore {
    async fn get(&mut self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        match self.map.borrow().get(key) {
            None => Ok(None),
            Some(v) if v.len() > buf.len() => Err(StoreError::ValueTooLarge {
                len: v.len(),
                capacity: buf.len(),
            }),
            Some(v) => {
                buf[..v.len()].copy_from_slice(v);
                Ok(Some(v.len()))
            }
        }
    }
    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if self.fail_set.get() {
            return Err(StoreError::Io);
        }
        self.map.borrow_mut().insert(key.into(), value.to_vec());
        Ok(())
    }
    async fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        self.map.borrow_mut().remove(key);
        Ok(())
    }
}
