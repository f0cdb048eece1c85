//! [`NetTransport`]: the device's byte stream over an embassy-net TCP socket.

use embassy_net::dns::DnsQueryType;
use embassy_net::tcp::{State, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{Duration, with_timeout};
use iotcloud_core::transport::{Endpoint, Transport};

use crate::NetError;
use crate::fmt::{debug, warning};

/// How long [`NetTransport`] waits for the reset of a dropped connection to leave, before it
/// connects again anyway. Only a stack whose link is down takes that long; the broker then
/// learns of the old connection from its keep-alive instead.
const RESET_FLUSH_LIMIT: Duration = Duration::from_millis(500);

/// The default of [`NetTransport::with_timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`Transport`] over one embassy-net TCP socket, reused for every connection: plain TCP
/// to the endpoint's host (a name resolved by the stack's DNS, or an IPv4 address), no TLS.
///
/// # Buffers
///
/// The socket's buffers are the caller's (`rx_buffer`, `tx_buffer`), lent for the
/// transport's life; nothing is allocated. They are separate from the device's `Memory`
/// and need not match it:
///
/// - `rx_buffer` is the TCP receive window. The device copies what arrives into its own
///   `rx` memory, which must hold the largest whole message; the socket only needs to
///   hold what arrives between two polls. 1–2 KiB is enough; less than one segment
///   (1460 bytes on Ethernet) slows large messages down, nothing breaks.
/// - `tx_buffer` holds what was written and not yet acknowledged by the broker. The device
///   writes whole frames from its `tx` memory (and QoS 1/2 messages from its `session`
///   memory); a `tx_buffer` at least as large as the device's `tx` lets a publish return
///   without waiting for the broker's acknowledgement. Smaller still works: a write then
///   waits for room.
///
/// # Reconnecting
///
/// Every [`connect`](Transport::connect) and [`close`](Transport::close) first aborts the
/// socket's current connection (a TCP reset: unsent bytes are dropped, so nothing of the
/// old connection leaks into the new one) and waits briefly for the reset to leave, so a
/// reconnect always starts from a closed socket. A `connect` whose future was dropped half
/// way (the device bounds it with its connect timeout) is cleaned up the same way by the
/// next call.
///
/// # Cancel safety
///
/// `read` and `write` are embassy-net's, which are cancel-safe as the device needs: a
/// dropped read loses no byte, a dropped write accepted none. `flush` does not wait (the
/// socket sends what it holds by itself), so it has nothing to lose either.
pub struct NetTransport<'a> {
    stack: Stack<'a>,
    socket: TcpSocket<'a>,
    /// A connection was opened and not closed since (it may have been reset by the peer).
    open: bool,
    timeout: Option<Duration>,
    keep_alive: Option<Duration>,
    nagle: bool,
}

impl core::fmt::Debug for NetTransport<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetTransport")
            .field("open", &self.open)
            .field("state", &self.socket.state())
            .field("timeout", &self.timeout)
            .field("keep_alive", &self.keep_alive)
            .field("nagle", &self.nagle)
            .finish_non_exhaustive()
    }
}

impl<'a> NetTransport<'a> {
    /// A transport on `stack` whose socket uses `rx_buffer` and `tx_buffer` (see
    /// [Buffers](NetTransport#buffers) for their sizes). It takes one of the stack's
    /// sockets (`StackResources<N>`) for its whole life.
    pub fn new(stack: Stack<'a>, rx_buffer: &'a mut [u8], tx_buffer: &'a mut [u8]) -> Self {
        NetTransport {
            stack,
            socket: TcpSocket::new(stack, rx_buffer, tx_buffer),
            open: false,
            timeout: Some(DEFAULT_TIMEOUT),
            keep_alive: None,
            nagle: false,
        }
    }

    /// The socket's timeout (default [`DEFAULT_TIMEOUT`], 30 s): a connection attempt that
    /// gets no answer, or a connection whose broker acknowledges nothing of what waits to
    /// be sent, is reset after this long. `None`: no timeout.
    ///
    /// This is a backstop. The core's `Endpoint` carries no timeout; the device bounds each
    /// connect itself (`DeviceOptions::connect_timeout_ms`, 15 s by default) by dropping
    /// the `connect` future, which the next `connect` or `close` cleans up, and it notices
    /// a silent broker by its MQTT keep-alive.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// TCP keep-alive probes after this long without traffic (default: none; MQTT has its
    /// own keep-alive).
    pub fn with_keep_alive(mut self, interval: Option<Duration>) -> Self {
        self.keep_alive = interval;
        self
    }

    /// Whether Nagle's algorithm holds back small segments (default: no, each MQTT packet
    /// leaves at once).
    pub fn with_nagle(mut self, enabled: bool) -> Self {
        self.nagle = enabled;
        self
    }

    /// Whether a connection is open (it may still have been closed by the peer since).
    pub fn is_connected(&self) -> bool {
        self.open
    }

    /// The TCP state of the socket, for diagnostics.
    pub fn state(&self) -> State {
        self.socket.state()
    }

    /// The stack the transport connects through.
    pub fn stack(&self) -> Stack<'a> {
        self.stack
    }

    /// Drops whatever the socket is doing: a reset, sent before returning unless the link
    /// is down.
    async fn reset(&mut self) {
        self.open = false;
        if self.socket.state() == State::Closed {
            return;
        }
        self.socket.abort();
        if with_timeout(RESET_FLUSH_LIMIT, self.socket.flush())
            .await
            .is_err()
        {
            warning!("hal-embassy: the reset of the previous connection did not leave in time");
        }
    }

    async fn resolve(&self, host: &str) -> Result<embassy_net::IpAddress, NetError> {
        let addresses = self.stack.dns_query(host, DnsQueryType::A).await?;
        addresses.first().copied().ok_or(NetError::Dns)
    }
}

impl embedded_io::ErrorType for NetTransport<'_> {
    type Error = NetError;
}

impl embedded_io_async::Read for NetTransport<'_> {
    /// Cancel-safe. `Ok(0)` once the broker has closed its side.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        if !self.open {
            return Err(NetError::NotConnected);
        }
        Ok(self.socket.read(buf).await?)
    }
}

impl embedded_io_async::Write for NetTransport<'_> {
    /// Cancel-safe: copies what fits into the socket's transmit buffer, waiting only while
    /// it is full.
    async fn write(&mut self, buf: &[u8]) -> Result<usize, NetError> {
        if !self.open {
            return Err(NetError::NotConnected);
        }
        Ok(self.socket.write(buf).await?)
    }

    /// Does not wait: what `write` put in the socket leaves with the stack's next poll
    /// (Nagle's algorithm is off unless asked for). Waiting for the broker's TCP
    /// acknowledgement as well, as embassy-net's own `flush` does, would cost a round trip
    /// on every publish, since the device flushes after each write-out. Fails if the
    /// connection is gone.
    async fn flush(&mut self) -> Result<(), NetError> {
        if !self.open {
            return Err(NetError::NotConnected);
        }
        match self.socket.state() {
            State::Closed | State::TimeWait => Err(NetError::Reset),
            _ => Ok(()),
        }
    }
}

impl Transport for NetTransport<'_> {
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<(), NetError> {
        self.reset().await;
        if endpoint.tls.is_some() {
            // Refused before any packet is sent: never plain TCP instead of TLS.
            return Err(NetError::TlsUnsupported);
        }
        let address = self.resolve(endpoint.host).await?;
        debug!(
            "hal-embassy: connecting to {}:{} ({})",
            endpoint.host, endpoint.port, address
        );
        self.socket.set_timeout(self.timeout);
        self.socket.set_keep_alive(self.keep_alive);
        self.socket.set_nagle_enabled(self.nagle);
        if let Err(e) = self
            .socket
            .connect(IpEndpoint::new(address, endpoint.port))
            .await
        {
            let e = NetError::from(e);
            debug!("hal-embassy: connect failed: {}", e);
            self.reset().await;
            return Err(e);
        }
        self.open = true;
        Ok(())
    }

    /// Aborts the connection (a TCP reset) and waits briefly for the reset to leave, so the
    /// next [`connect`](Transport::connect) starts from a closed socket. The device's
    /// `disconnect` calls it after writing its DISCONNECT and reading until the broker
    /// closed its side, so the reset loses nothing the broker should have had.
    async fn close(&mut self) {
        self.reset().await;
    }
}
