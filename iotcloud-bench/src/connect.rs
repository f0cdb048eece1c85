//! Row 3: from the call to `connect` (sign, TCP connect, CONNECT) until the device is ready
//! — CONNACK received and every system subscription of the provider acknowledged — with the
//! number of network round trips it took and the writes it made meanwhile. Where the
//! provider does OTA over MQTT, the device has OTA enabled, as a deployed one would: it then
//! also reports its firmware version and asks for pending jobs on every connect.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hal_host::{HostPlatform, SystemClock, TcpTransport};
use iotcloud_core::memory::{CredentialBytes, JobBytes, MemoryArrays, Rx, SessionBytes, Tx};
use iotcloud_core::ota::{Firmware, OtaSupport};
use iotcloud_core::platform::Composed;
use iotcloud_core::{Connected, Device, Endpoint, Event, Provider, Transport};

use crate::error::{Context, Result, fail};
use crate::providers::{self, EachProvider};
use crate::{RX_BUFFER, SESSION_BUFFER, TX_BUFFER};

/// Connections timed per provider; the median is reported.
pub const REPEAT: usize = 5;

/// The firmware the device reports where OTA is enabled.
const FIRMWARE: Firmware<'static> = Firmware::new("1.0.0");

/// Room for one upgrade job (URL, token, digest), as a deployed device would give it.
const JOB_BUFFER: usize = 512;

/// A transport that counts turns: the TCP handshake, and every read that follows a write
/// (the device said something and now waits for the broker's answer). It also counts
/// flushes: the device flushes once after each write-out, whatever it held.
pub struct CountingTransport<T> {
    inner: T,
    wrote: bool,
    counts: Rc<Counts>,
}

/// What a [`CountingTransport`] counted, readable while the device owns the transport.
#[derive(Debug, Default)]
pub struct Counts {
    /// Round trips so far.
    pub turns: Cell<u32>,
    /// Write-outs so far (flushes).
    pub packets: Cell<u32>,
}

fn bump(counter: &Cell<u32>) {
    counter.set(counter.get().saturating_add(1));
}

impl<T> CountingTransport<T> {
    /// Wraps `inner`, counting into `counts`.
    pub fn new(inner: T, counts: Rc<Counts>) -> Self {
        CountingTransport {
            inner,
            wrote: false,
            counts,
        }
    }
}

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for CountingTransport<T> {
    type Error = T::Error;
}

impl<T: embedded_io_async::Read> embedded_io_async::Read for CountingTransport<T> {
    async fn read(&mut self, buf: &mut [u8]) -> core::result::Result<usize, T::Error> {
        if self.wrote {
            self.wrote = false;
            bump(&self.counts.turns);
        }
        self.inner.read(buf).await
    }
}

impl<T: embedded_io_async::Write> embedded_io_async::Write for CountingTransport<T> {
    async fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, T::Error> {
        self.wrote = true;
        self.inner.write(buf).await
    }

    async fn flush(&mut self) -> core::result::Result<(), T::Error> {
        bump(&self.counts.packets);
        self.inner.flush().await
    }
}

impl<T: Transport> Transport for CountingTransport<T> {
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> core::result::Result<(), T::Error> {
        // SYN, SYN-ACK: the first round trip.
        bump(&self.counts.turns);
        self.wrote = false;
        self.inner.connect(endpoint).await
    }

    async fn close(&mut self) {
        self.inner.close().await
    }
    fn supports_psk(&self) -> bool {
        self.inner.supports_psk()
    }
}

/// One provider's connection cost.
#[derive(Debug, Clone)]
pub struct ConnectRow {
    /// Provider name.
    pub name: &'static str,
    /// Median time to ready.
    pub median: Duration,
    /// Round trips to ready (the same on every attempt, or the largest seen).
    pub round_trips: u32,
    /// System subscriptions made on connect.
    pub subscriptions: usize,
    /// Whether the device had OTA enabled (the provider does OTA over MQTT).
    pub ota: bool,
    /// Packets the device wrote until ready (CONNECT, SUBSCRIBEs, OTA messages).
    pub packets: u32,
    /// `size_of` the connected hal-host device with this provider.
    pub device_bytes: usize,
}

type Counted = CountingTransport<TcpTransport>;

/// What one connect took.
struct Attempt {
    elapsed: Duration,
    turns: u32,
    packets: u32,
    subscriptions: usize,
}

/// Connects once, with OTA enabled where the provider supports it, and waits until ready.
async fn connect_once<P: Provider>(provider: P) -> Result<Attempt> {
    let mut arrays = Box::new(MemoryArrays::<
        Rx<RX_BUFFER>,
        Tx<TX_BUFFER>,
        SessionBytes<SESSION_BUFFER>,
        CredentialBytes<0>,
        JobBytes<JOB_BUFFER>,
    >::new());
    let counts = Rc::new(Counts::default());
    let platform = Composed::new(
        CountingTransport::new(TcpTransport::new(), Rc::clone(&counts)),
        SystemClock::new(),
    );
    let mut device = Device::new(provider, platform, arrays.memory());
    if device.ota_support() == OtaSupport::Supported {
        device = device.with_ota(FIRMWARE);
    }
    let device = device.register().await.ctx("registering")?;
    let start = Instant::now();
    let mut device: Device<'_, P, Composed<Counted, SystemClock>, Connected> =
        device.connect().await.ctx("connecting")?;
    let subscriptions = device.session().subscriptions().count();
    let (mut connected, mut subacks) = (false, 0);
    while !connected || subacks < subscriptions {
        let event = tokio::time::timeout(Duration::from_secs(5), device.next_event())
            .await
            .ctx("no answer from the broker within 5 s")?;
        match event.ctx("waiting until ready")? {
            Event::Connected { .. } => connected = true,
            // One SUBACK may answer several filters (one SUBSCRIBE carries them all).
            Event::Subscribed { codes, .. } => subacks += codes.iter().count(),
            Event::Disconnected(reason) => return fail(format!("connection lost: {reason}")),
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    let (turns, packets) = (counts.turns.get(), counts.packets.get());
    device.disconnect().await;
    Ok(Attempt {
        elapsed,
        turns,
        packets,
        subscriptions,
    })
}

struct Rows {
    rows: Vec<ConnectRow>,
}

impl EachProvider for Rows {
    fn visit<P: Provider>(&mut self, name: &'static str, provider: P) -> Result<()> {
        let runtime = crate::clients::runtime()?;
        let ota = provider.ota_support() == OtaSupport::Supported;
        let mut times = Vec::with_capacity(REPEAT);
        let (mut round_trips, mut packets, mut subscriptions) = (0, 0, 0);
        for _ in 0..REPEAT {
            let attempt = runtime
                .block_on(connect_once(&provider))
                .ctx(&format!("connect with {name}"))?;
            times.push(attempt.elapsed);
            round_trips = round_trips.max(attempt.turns);
            packets = packets.max(attempt.packets);
            subscriptions = attempt.subscriptions;
        }
        times.sort_unstable();
        self.rows.push(ConnectRow {
            name,
            median: times[REPEAT / 2],
            round_trips,
            subscriptions,
            ota,
            packets,
            device_bytes: size_of::<Device<'static, P, HostPlatform, Connected>>(),
        });
        Ok(())
    }
}

/// Measures every provider against the broker on `port`.
pub fn measure(port: u16) -> Result<Vec<ConnectRow>> {
    let mut rows = Rows { rows: Vec::new() };
    providers::for_each(port, &mut rows)?;
    Ok(rows.rows)
}
