//! The footprint report's anchor: the exchange of `fw-device` with minimq 0.13, an MQTT 5
//! client for `no_std` devices, instead of the SDK. Over the same UART0 link to the same
//! local broker it connects with a clean session and a user name and password, subscribes
//! to a topic, publishes to it at QoS 1, waits for the broker's acknowledgement and for its
//! own message to come back, disconnects, and exits 0 through semihosting.
//!
//! Like `fw-device` it paints the free stack first and prints the peak stack use at the
//! end, and its message buffers are the `MESSAGE_MEMORY` static the report counts apart.

#![no_std]
#![no_main]

mod time;

use core::fmt;

use cortex_m_rt::entry;
use embassy_futures::block_on;
use iotcloud_core::clock::with_deadline;
use iotcloud_core::{Clock, Endpoint, Transport};
use minimq::{
    Buffers, ConfigBuilder, ConfigError, ConnectEvent, PubError, Publication, QoS, Session,
    SubscriptionOptions, TopicFilter,
};
use mps2_board::hal::Uart0;
use mps2_board::{SysTickClock, UartTransport, exit, println, stack};
use static_cell::ConstStaticCell;

/// Receive buffer: one incoming packet, the size of the device's.
const RX: usize = 1024;
/// Transmit buffer. minimq encodes outgoing packets and keeps the QoS 1 messages and
/// subscriptions awaiting acknowledgement in the same buffer, so it gets the device's
/// transmit buffer (512) and session memory (512) together.
const TX: usize = 512 + 512;

/// minimq's two buffers.
struct MessageMemory {
    rx: [u8; RX],
    tx: [u8; TX],
}

/// The caller's message buffers, under the name the footprint report looks for.
static MESSAGE_MEMORY: ConstStaticCell<MessageMemory> = ConstStaticCell::new(MessageMemory {
    rx: [0; RX],
    tx: [0; TX],
});

const CLIENT_ID: &str = "fw-minimq";
const USER_NAME: &str = "fw-minimq";
const PASSWORD: &[u8] = b"secret";
/// The keep-alive of `fw-device` with the plain provider (iotcloud-core's default).
const KEEP_ALIVE_SECS: u16 = 240;
const TOPIC: &str = "fw-minimq/echo";
const PAYLOAD: &[u8] = br#"{"temp":21.5}"#;
/// How long the broker may take to accept the connection, and how long the exchange may
/// take once the message is published.
const TIMEOUT_MS: u64 = 20_000;

#[entry]
fn main() -> ! {
    stack::paint();
    let result = run();
    // Printed before the verdict so the report has it either way.
    println!(
        "stack: peak {} of {} bytes",
        stack::peak_bytes(),
        stack::capacity_bytes()
    );
    match result {
        Ok(()) => {
            println!("e2e minimq: ok");
            exit(true)
        }
        Err(e) => {
            println!("e2e minimq: FAILED: {}", e);
            exit(false)
        }
    }
}

/// What went wrong.
enum Failure {
    Setup(&'static str),
    /// A minimq error, by its kind.
    Mqtt(&'static str),
    Timeout(&'static str),
    Unexpected(&'static str),
}

impl fmt::Display for Failure {
    /// A short report, as the device's: the kind of a client error, not its message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Setup(what) => write!(f, "setup: {what}"),
            Failure::Mqtt(kind) => write!(f, "minimq error, kind {kind}"),
            Failure::Timeout(what) => write!(f, "timed out waiting for {what}"),
            Failure::Unexpected(what) => write!(f, "unexpected: {what}"),
        }
    }
}

impl<E> From<minimq::Error<E>> for Failure {
    fn from(e: minimq::Error<E>) -> Self {
        use minimq::Error;
        Failure::Mqtt(match e {
            Error::NotReady => "not ready",
            Error::Disconnected => "disconnected",
            Error::InvalidRequest => "invalid request",
            Error::Peer(_) => "peer",
            Error::Resource(_) => "resource",
            Error::Transport(_) => "transport",
            Error::WriteZero => "write zero",
            _ => "other",
        })
    }
}

impl<P, E> From<PubError<P, E>> for Failure {
    fn from(e: PubError<P, E>) -> Self {
        match e {
            PubError::Session(e) => e.into(),
            PubError::Payload(_) => Failure::Mqtt("payload"),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(_: ConfigError) -> Self {
        Failure::Setup("minimq configuration")
    }
}

fn run() -> Result<(), Failure> {
    let peripherals = cortex_m::Peripherals::take().ok_or(Failure::Setup("core peripherals"))?;
    let clock = SysTickClock::start(peripherals.SYST);
    time::install(clock);
    let uart = Uart0::take().ok_or(Failure::Setup("UART0"))?;
    block_on(exchange(UartTransport::new(uart), clock))
}

/// Connect, subscribe, publish, receive, disconnect.
async fn exchange(mut transport: UartTransport, clock: SysTickClock) -> Result<(), Failure> {
    // QEMU has already connected the UART to the broker: this only enables it.
    let endpoint = Endpoint {
        host: "127.0.0.1",
        port: 1883,
        tls: None,
    };
    transport
        .connect(&endpoint)
        .await
        .map_err(|_| Failure::Setup("UART0"))?;

    let memory = MESSAGE_MEMORY.take();
    // The default session expiry (0) asks for a clean session.
    let config = ConfigBuilder::new(Buffers::new(&mut memory.rx, &mut memory.tx))
        .client_id(CLIENT_ID)?
        .auth(USER_NAME, PASSWORD)?
        .keepalive_interval(KEEP_ALIVE_SECS);
    let mut session = Session::new(config);
    let deadline = clock.now_ms() + TIMEOUT_MS;
    let mut connection = with_deadline(&clock, deadline, session.connect(transport))
        .await
        .ok_or(Failure::Timeout("CONNACK"))??;
    if connection.connect_event() != ConnectEvent::Connected {
        return Err(Failure::Unexpected("the broker resumed a session"));
    }
    println!("connected to the broker");

    let filter = TopicFilter::new(TOPIC)
        .options(SubscriptionOptions::default().maximum_qos(QoS::AtLeastOnce));
    let subscription = connection.subscribe(&[filter], &[]).await?;
    let publication = connection
        .publish(Publication::bytes(TOPIC, PAYLOAD).qos(QoS::AtLeastOnce))
        .await?
        .ok_or(Failure::Unexpected("no operation for a QoS 1 message"))?;

    // A refused subscription ends `poll` with a peer error; the SUBACK and the PUBACK
    // complete their operations.
    let deadline = clock.now_ms() + TIMEOUT_MS;
    let mut received = false;
    while !(received
        && connection.is_complete(&subscription)
        && connection.is_complete(&publication))
    {
        let progress = with_deadline(&clock, deadline, connection.poll())
            .await
            .ok_or(Failure::Timeout("SUBACK, PUBACK and the message"))??;
        if let Some(message) = progress
            && message.topic() == TOPIC
            && message.payload() == PAYLOAD
        {
            received = true;
        }
    }
    println!(
        "subscribed, published (acknowledged) and received on {}",
        TOPIC
    );
    connection.disconnect().await?;
    connection.into_inner().close().await;
    Ok(())
}
