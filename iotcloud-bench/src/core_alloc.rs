//! Allocations of the `no_std` crates alone: a device driven by `embassy_futures::block_on`
//! over an in-memory transport whose far end is a fake broker (it answers CONNECT,
//! SUBSCRIBE and QoS 1 PUBLISH), with a fake clock. Neither fake allocates, so any
//! allocation counted here comes from the core or a provider.

use core::fmt;

use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
use iotcloud_core::platform::Composed;
use iotcloud_core::{Clock, Device, Endpoint, Error, Event, Provider, QoS, Transport};

use crate::alloc_count::allocations;
use crate::error::{Context, Result, fail};
use crate::providers::{self, EachProvider};
use crate::{PAYLOAD, RX_BUFFER, SESSION_BUFFER, TX_BUFFER, WINDOW};

/// The fake transport failed: it had nothing to answer, or the answers overflowed.
#[derive(Debug, Clone, Copy)]
pub struct FakeError(&'static str);

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl core::error::Error for FakeError {}

impl embedded_io::Error for FakeError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// A transport connected to a broker that lives in the same memory: bytes written are
/// parsed as MQTT packets and answered at once; reads return the answers.
pub struct FakeBroker {
    inbox: [u8; 2048],
    in_len: usize,
    outbox: [u8; 4096],
    out_start: usize,
    out_end: usize,
    overflow: bool,
    /// PUBLISH packets received.
    pub publishes: u64,
}

impl FakeBroker {
    fn new() -> Self {
        FakeBroker {
            inbox: [0; 2048],
            in_len: 0,
            outbox: [0; 4096],
            out_start: 0,
            out_end: 0,
            overflow: false,
            publishes: 0,
        }
    }

    fn answer(&mut self, bytes: &[u8]) {
        if self.out_end + bytes.len() > self.outbox.len() {
            self.outbox.copy_within(self.out_start..self.out_end, 0);
            self.out_end -= self.out_start;
            self.out_start = 0;
        }
        match self
            .outbox
            .get_mut(self.out_end..self.out_end + bytes.len())
        {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.out_end += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    /// Handles every complete packet at the start of the inbox.
    fn handle_packets(&mut self) {
        loop {
            let Some((header, body_len)) = frame(&self.inbox[..self.in_len]) else {
                return;
            };
            let total = header + body_len;
            let first = self.inbox[0];
            let mut body = [0u8; 2048];
            body[..body_len].copy_from_slice(&self.inbox[header..total]);
            self.handle(first, &body[..body_len]);
            self.inbox.copy_within(total..self.in_len, 0);
            self.in_len -= total;
        }
    }

    fn handle(&mut self, first: u8, body: &[u8]) {
        let id = |at: usize| [body.get(at).copied(), body.get(at + 1).copied()];
        match first >> 4 {
            1 => self.answer(&[0x20, 2, 0, 0]),
            3 => {
                self.publishes += 1;
                if (first >> 1) & 3 == 1 {
                    let topic_len = match id(0) {
                        [Some(hi), Some(lo)] => usize::from(u16::from_be_bytes([hi, lo])),
                        _ => return self.overflow = true,
                    };
                    match id(2 + topic_len) {
                        [Some(hi), Some(lo)] => self.answer(&[0x40, 2, hi, lo]),
                        _ => self.overflow = true,
                    }
                }
            }
            8 => {
                // One return code per filter, granting the QoS asked for.
                let [Some(hi), Some(lo)] = id(0) else {
                    return self.overflow = true;
                };
                let mut suback = [0u8; 4 + 16];
                let mut codes = 0;
                let mut at = 2;
                while at + 2 <= body.len() && codes < 16 {
                    let len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
                    at += 2 + len;
                    suback[4 + codes] = body.get(at).copied().unwrap_or(0x80);
                    at += 1;
                    codes += 1;
                }
                suback[..4].copy_from_slice(&[0x90, (2 + codes) as u8, hi, lo]);
                self.answer(&suback[..4 + codes]);
            }
            10 => {
                if let [Some(hi), Some(lo)] = id(0) {
                    self.answer(&[0xb0, 2, hi, lo]);
                }
            }
            12 => self.answer(&[0xd0, 0]),
            _ => {}
        }
    }
}

/// Header and body length of the packet at the start of `bytes`, once it is complete.
fn frame(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut len = 0usize;
    for i in 0..4 {
        let b = *bytes.get(1 + i)?;
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (bytes.len() >= 2 + i + len).then_some((2 + i, len));
        }
    }
    None
}

impl embedded_io::ErrorType for FakeBroker {
    type Error = FakeError;
}

impl embedded_io_async::Read for FakeBroker {
    async fn read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, FakeError> {
        if self.overflow {
            return Err(FakeError("the fake broker's answers overflowed"));
        }
        if self.out_start == self.out_end {
            // Blocking here would hang `block_on`: the driving loop only reads when an
            // answer is due, so an empty outbox is a bug worth stopping for.
            return Err(FakeError("read with nothing to answer"));
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.outbox[self.out_start..self.out_start + n]);
        self.out_start += n;
        if self.out_start == self.out_end {
            (self.out_start, self.out_end) = (0, 0);
        }
        Ok(n)
    }
}

impl embedded_io_async::Write for FakeBroker {
    async fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, FakeError> {
        let n = buf.len().min(self.inbox.len() - self.in_len);
        if n == 0 {
            return Err(FakeError("packet larger than the fake broker's inbox"));
        }
        self.inbox[self.in_len..self.in_len + n].copy_from_slice(&buf[..n]);
        self.in_len += n;
        self.handle_packets();
        Ok(n)
    }

    async fn flush(&mut self) -> core::result::Result<(), FakeError> {
        Ok(())
    }
}

impl Transport for FakeBroker {
    async fn connect(&mut self, _endpoint: &Endpoint<'_>) -> core::result::Result<(), FakeError> {
        *self = FakeBroker::new();
        Ok(())
    }

    async fn close(&mut self) {}
}

/// A clock that stands still at a known wall-clock time.
pub struct FakeClock;

/// 2024-01-01T00:00:00Z, for providers that sign with the time.
const UNIX_MS: u64 = 1_704_067_200_000;

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        1_000
    }

    fn unix_time_ms(&self) -> Option<u64> {
        Some(UNIX_MS)
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        if deadline_ms > self.now_ms() {
            core::future::pending::<()>().await;
        }
    }
}

/// What the core did for one provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreRun {
    /// Messages published (QoS 0 plus QoS 1, all acknowledged).
    pub messages: u64,
    /// Allocations from before the device was created until the last acknowledgement.
    pub allocations: u64,
}

/// Connects with `provider`, waits for the system subscriptions, publishes `per_qos`
/// messages at QoS 0 and as many at QoS 1 (at most [`WINDOW`] in flight), counting
/// allocations throughout.
fn drive<P: Provider>(provider: P, per_qos: u64) -> Result<CoreRun> {
    let mut arrays = Box::new(MemoryArrays::<
        Rx<RX_BUFFER>,
        Tx<TX_BUFFER>,
        SessionBytes<SESSION_BUFFER>,
    >::new());
    let before = allocations();
    let run = embassy_futures::block_on(async {
        let device = Device::new(
            provider,
            Composed::new(FakeBroker::new(), FakeClock),
            arrays.memory(),
        );
        let device = device.register().await.ctx("registering")?;
        let mut device = device.connect().await.ctx("connecting")?;
        let subscriptions = device.session().subscriptions().count();
        let mut subacks = 0;
        let mut connected = false;
        while !connected || subacks < subscriptions {
            match device.next_event().await.ctx("connecting")? {
                Event::Connected { .. } => connected = true,
                Event::Subscribed { .. } => subacks += 1,
                other => return fail(format!("unexpected {other:?} while connecting")),
            }
        }
        for _ in 0..per_qos {
            device
                .publish("bench/core", PAYLOAD, QoS::AtMostOnce)
                .await
                .ctx("publish at QoS 0")?;
        }
        let (mut sent, mut acked) = (0u64, 0u64);
        while acked < per_qos {
            while sent < per_qos && sent - acked < WINDOW {
                match device
                    .publish("bench/core", PAYLOAD, QoS::AtLeastOnce)
                    .await
                {
                    Ok(_) => sent += 1,
                    Err(Error::SessionFull { .. }) => break,
                    Err(e) => return fail(format!("publish at QoS 1: {e}")),
                }
            }
            while acked < sent {
                match device.next_event().await.ctx("waiting for PUBACK")? {
                    Event::Published { .. } => acked += 1,
                    other => return fail(format!("unexpected {other:?}")),
                }
            }
        }
        let publishes = {
            let (_, platform) = device.disconnect().await.into_parts();
            let transport = platform.transport;
            transport.publishes
        };
        Ok(CoreRun {
            messages: publishes,
            allocations: 0,
        })
    })?;
    Ok(CoreRun {
        allocations: allocations() - before,
        ..run
    })
}

struct Runs {
    per_qos: u64,
    total: CoreRun,
    failures: Vec<String>,
}

impl EachProvider for Runs {
    fn visit<P: Provider>(&mut self, name: &'static str, provider: P) -> Result<()> {
        let run = drive(provider, self.per_qos).ctx(&format!("core alone, {name}"))?;
        if run.allocations != 0 {
            self.failures
                .push(format!("{name}: {} allocations", run.allocations));
        }
        self.total.messages += run.messages;
        self.total.allocations += run.allocations;
        Ok(())
    }
}

/// Runs every provider through the core alone, `per_qos` messages at each QoS. Fails
/// loudly if anything allocated.
pub fn measure(per_qos: u64) -> Result<CoreRun> {
    let mut runs = Runs {
        per_qos,
        total: CoreRun::default(),
        failures: Vec::with_capacity(8),
    };
    providers::for_each(1883, &mut runs)?;
    if !runs.failures.is_empty() {
        return fail(format!(
            "the no_std crates allocated while connecting and publishing, which they must \
             never do: {}",
            runs.failures.join("; ")
        ));
    }
    Ok(runs.total)
}
