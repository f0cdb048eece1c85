//! Row 3: from the call to `connect` (sign, TCP connect, CONNECT) until the device is ready
//! — CONNACK received and every system subscription of the provider acknowledged — with the
//! number of network round trips it took.

use std::time::{Duration, Instant};

use hal_host::{SystemClock, TcpTransport};
use iotcloud_core::{
    BufferArrays, Connected, Device, Endpoint, Event, NoStore, Provider, Transport,
};

use crate::error::{Context, Result, fail};
use crate::providers::{self, EachProvider};
use crate::{RX_BUFFER, SESSION_BUFFER, TX_BUFFER};

/// Connections timed per provider; the median is reported.
const REPEAT: usize = 5;

/// A transport that counts turns: the TCP handshake, and every read that follows a write
/// (the device said something and now waits for the broker's answer).
pub struct CountingTransport<T> {
    inner: T,
    wrote: bool,
    /// Round trips so far.
    pub turns: u32,
}

impl<T> CountingTransport<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        CountingTransport {
            inner,
            wrote: false,
            turns: 0,
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
            self.turns += 1;
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
        self.inner.flush().await
    }
}

impl<T: Transport> Transport for CountingTransport<T> {
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> core::result::Result<(), T::Error> {
        // SYN, SYN-ACK: the first round trip.
        self.turns += 1;
        self.wrote = false;
        self.inner.connect(endpoint).await
    }

    async fn close(&mut self) {
        self.inner.close().await
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
    /// `size_of` the connected hal-host device with this provider.
    pub device_bytes: usize,
}

type Counted = CountingTransport<TcpTransport>;

/// Connects once and waits until ready; returns the time and the round trips.
async fn connect_once<P: Provider>(provider: P) -> Result<(Duration, u32, usize)> {
    let mut buffers = Box::new(BufferArrays::<RX_BUFFER, TX_BUFFER, SESSION_BUFFER>::new());
    let device = Device::new(
        provider,
        CountingTransport::new(TcpTransport::new()),
        SystemClock::new(),
        NoStore,
        buffers.as_buffers(),
    );
    let device = device
        .register()
        .await
        .map_err(|(_, e)| e)
        .ctx("registering")?;
    let start = Instant::now();
    let mut device: Device<'_, P, Counted, SystemClock, NoStore, Connected> = device
        .connect()
        .await
        .map_err(|(_, e)| e)
        .ctx("connecting")?;
    let subscriptions = device.session().subscriptions().count();
    let (mut connected, mut subacks) = (false, 0);
    while !connected || subacks < subscriptions {
        let event = tokio::time::timeout(Duration::from_secs(5), device.next_event())
            .await
            .ctx("no answer from the broker within 5 s")?;
        match event.ctx("waiting until ready")? {
            Event::Connected { .. } => connected = true,
            Event::Subscribed { .. } => subacks += 1,
            Event::Disconnected(reason) => return fail(format!("connection lost: {reason}")),
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    let device = device.disconnect().await;
    let (_, transport, _, _) = device.into_parts();
    Ok((elapsed, transport.turns, subscriptions))
}

struct Rows {
    rows: Vec<ConnectRow>,
}

impl EachProvider for Rows {
    fn visit<P: Provider>(&mut self, name: &'static str, provider: P) -> Result<()> {
        let runtime = crate::clients::runtime()?;
        let mut times = Vec::with_capacity(REPEAT);
        let (mut round_trips, mut subscriptions) = (0, 0);
        for _ in 0..REPEAT {
            let (t, turns, subs) = runtime
                .block_on(connect_once(&provider))
                .ctx(&format!("connect with {name}"))?;
            times.push(t);
            round_trips = round_trips.max(turns);
            subscriptions = subs;
        }
        times.sort_unstable();
        self.rows.push(ConnectRow {
            name,
            median: times[REPEAT / 2],
            round_trips,
            subscriptions,
            device_bytes: size_of::<
                Device<'static, P, TcpTransport, SystemClock, NoStore, Connected>,
            >(),
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
