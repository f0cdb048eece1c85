//! The typestate device over an in-memory broker: the whole connect, subscribe, publish,
//! acknowledge, receive, disconnect flow through the public API, with the bytes on the
//! wire checked.

use core::convert::Infallible;
use core::future::poll_fn;
use core::task::Poll;

use embassy_futures::block_on;
use iotcloud_aliyun::Aliyun;
use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
use iotcloud_core::mqtt::{Packet, Publish, QosPid};
use iotcloud_core::plain::PlainMqtt;
use iotcloud_core::platform::Composed;
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::sign::TimestampPolicy;
use iotcloud_core::{Clock, Device, Endpoint, Event, Provider, QoS, Transport};

use crate::check::{Check, Outcome};

pub const CHECKS: &[(&str, Check)] = &[
    (
        "connect, subscribe, publish, ack, receive, disconnect",
        full_flow,
    ),
    (
        "aliyun's signed credentials go out in connect",
        aliyun_connect,
    ),
];

/// A broker in memory: it answers each complete packet the device writes.
struct MiniBroker {
    written: heapless::Vec<u8, 512>,
    inbox: heapless::Vec<u8, 512>,
    read_at: usize,
    connects: usize,
    disconnects: usize,
    /// The last CONNECT's client id, user name and password.
    login: heapless::String<256>,
    /// After DISCONNECT, as a broker does, the connection is closed: reads give 0.
    closed: bool,
}

impl MiniBroker {
    fn new() -> Self {
        MiniBroker {
            written: heapless::Vec::new(),
            inbox: heapless::Vec::new(),
            read_at: 0,
            connects: 0,
            disconnects: 0,
            login: heapless::String::new(),
            closed: false,
        }
    }

    /// Answers every complete packet in `written`.
    fn react(&mut self) {
        while let Ok(Some((packet, used))) = Packet::decode(&self.written) {
            let mut reply = [0u8; 160];
            let mut n = 0;
            match packet {
                Packet::Connect(c) => {
                    self.connects += 1;
                    self.login.clear();
                    let password = c.password.and_then(|p| core::str::from_utf8(p).ok());
                    for part in [Some(c.client_id), c.username, password] {
                        let _ = self.login.push_str(part.unwrap_or("-"));
                        let _ = self.login.push(' ');
                    }
                    reply[..4].copy_from_slice(&[0x20, 2, 0, 0]);
                    n = 4;
                }
                Packet::Subscribe(s) => {
                    let id = s.packet_id.get().to_be_bytes();
                    reply[..4].copy_from_slice(&[0x90, 3, id[0], id[1]]);
                    reply[4] = s.topics.iter().next().map_or(0x80, |t| t.qos as u8);
                    n = 5;
                }
                Packet::Publish(p) => {
                    if let Some(id) = p.qos.packet_id() {
                        let id = id.get().to_be_bytes();
                        reply[..4].copy_from_slice(&[0x40, 2, id[0], id[1]]);
                        n = 4;
                    }
                    // Deliver it back, as a broker does to a subscriber, at QoS 0.
                    let echo = Publish {
                        qos: QosPid::AtMostOnce,
                        dup: false,
                        ..p
                    };
                    n += Packet::Publish(echo).emit(&mut reply[n..]).unwrap_or(0);
                }
                Packet::Pingreq => {
                    reply[..2].copy_from_slice(&[0xd0, 0]);
                    n = 2;
                }
                Packet::Disconnect => {
                    self.disconnects += 1;
                    self.closed = true;
                }
                _ => {}
            }
            let _ = self.inbox.extend_from_slice(&reply[..n]);
            let rest = self.written.len() - used;
            self.written.copy_within(used.., 0);
            self.written.truncate(rest);
        }
    }
}

impl embedded_io::ErrorType for MiniBroker {
    type Error = Infallible;
}

impl embedded_io_async::Read for MiniBroker {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        poll_fn(|cx| {
            let waiting = &self.inbox[self.read_at..];
            if waiting.is_empty() && self.closed {
                return Poll::Ready(Ok(0));
            }
            if waiting.is_empty() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = waiting.len().min(buf.len());
            buf[..n].copy_from_slice(&waiting[..n]);
            self.read_at += n;
            if self.read_at == self.inbox.len() {
                self.inbox.clear();
                self.read_at = 0;
            }
            Poll::Ready(Ok(n))
        })
        .await
    }
}

impl embedded_io_async::Write for MiniBroker {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let room = self.written.capacity() - self.written.len();
        let n = buf.len().min(room);
        let _ = self.written.extend_from_slice(&buf[..n]);
        self.react();
        Ok(n)
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl Transport for MiniBroker {
    async fn connect(&mut self, _endpoint: &Endpoint<'_>) -> Result<(), Infallible> {
        self.closed = false;
        Ok(())
    }

    async fn close(&mut self) {}
}

/// A clock standing still at a known time: no keep-alive or timeout ever comes due.
struct StillClock;

impl Clock for StillClock {
    fn now_ms(&self) -> u64 {
        1_000
    }

    fn unix_time_ms(&self) -> Option<u64> {
        Some(1_700_000_000_000)
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        poll_fn(|cx| {
            if deadline_ms <= self.now_ms() {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }
}

/// What the device saw and what the broker counted.
struct Seen {
    subscribed: bool,
    published: bool,
    received: bool,
    connects: usize,
    disconnects: usize,
    login: heapless::String<256>,
}

async fn exchange<P: Provider>(provider: P, topic: &str) -> Result<Seen, &'static str> {
    let mut memory = MemoryArrays::<Rx<1024>, Tx<512>, SessionBytes<512>>::new();
    let device = Device::new(
        provider,
        Composed::new(MiniBroker::new(), StillClock),
        memory.memory(),
    );
    let device = device.register().await.map_err(|_| "register")?;
    let mut device = device.connect().await.map_err(|_| "connect")?;
    let sub = device
        .subscribe(&[(topic, QoS::AtLeastOnce)])
        .await
        .map_err(|_| "subscribe")?;
    let publication = device
        .publish(topic, b"21.5", QoS::AtLeastOnce)
        .await
        .map_err(|_| "publish")?;
    let mut seen = Seen {
        subscribed: false,
        published: false,
        received: false,
        connects: 0,
        disconnects: 0,
        login: heapless::String::new(),
    };
    // Connected, Subscribed, Published and the message: a few events, never dozens.
    for _ in 0..8 {
        if seen.subscribed && seen.published && seen.received {
            break;
        }
        match device.next_event().await.map_err(|_| "next_event")? {
            Event::Subscribed { packet_id, .. } => seen.subscribed |= packet_id == sub,
            Event::Published { packet_id } => seen.published |= Some(packet_id) == publication,
            Event::Message(m) => {
                seen.received |= m.topic() == topic && m.payload() == b"21.5";
            }
            _ => {}
        }
    }
    let registered = device.disconnect().await;
    let (_, platform) = registered.into_parts();
    let broker = platform.transport;
    seen.connects = broker.connects;
    seen.disconnects = broker.disconnects;
    seen.login = broker.login;
    Ok(seen)
}

fn full_flow() -> Outcome {
    let provider = get!(PlainMqtt::new("broker", 1883, "sensor-1")).with_login("user", "pw");
    let seen = get!(block_on(exchange(provider, "sensor-1/echo")));
    ensure!(seen.subscribed);
    ensure!(seen.published);
    ensure!(seen.received);
    ensure_eq!((seen.connects, seen.disconnects), (1, 1));
    ensure_eq!(seen.login.as_str(), "sensor-1 user pw ");
    Ok(())
}

fn aliyun_connect() -> Outcome {
    let aliyun = get!(Aliyun::with_secret(
        "123456789",
        "abcdefg",
        "Y877Bgo8X5owd3lcB5wWDjryNPoB"
    ))
    .with_timestamp(TimestampPolicy::LuatosDefault)
    .with_overrides(EndpointOverrides {
        host: Some("127.0.0.1"),
        port: Some(1883),
        tls: TlsChoice::Off,
        client: None,
    });
    let seen = get!(block_on(exchange(aliyun, "/123456789/abcdefg/user/update")));
    ensure!(seen.subscribed && seen.published && seen.received);
    ensure_eq!(
        seen.login.as_str(),
        "123456789.abcdefg|securemode=3,signmethod=hmacsha256,timestamp=32472115200| \
         abcdefg&123456789 2842DC9F2FBA19C671DD3F4D24590D41F91C25FD9BC4E5101951BEA88B7DEACD "
    );
    Ok(())
}
