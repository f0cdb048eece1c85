//! A minimal device on the emulated Cortex-M3: signs in to the cloud chosen at build time,
//! over UART0 (which QEMU connects to a local broker), subscribes to a topic, publishes to
//! it at QoS 1, waits for the broker's acknowledgement and for its own message to come
//! back, disconnects, and exits 0 through semihosting.
//!
//! It is also the firmware the footprint report measures: it paints the free stack first
//! and prints the peak stack use at the end.

#![no_std]
#![no_main]

mod cloud;
#[cfg(feature = "session-loop")]
mod session_loop;

use core::fmt;

use cortex_m_rt::entry;
use embassy_futures::block_on;
use iotcloud_core::clock::with_deadline;
use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
use iotcloud_core::platform::Composed;
use iotcloud_core::{Clock, Device, Event, Provider, ProviderError, QoS, TransitionError};
use mps2_board::hal::Uart0;
use mps2_board::{SysTickClock, UartError, UartTransport, exit, println, stack};
use static_cell::ConstStaticCell;

/// Receive buffer: one incoming packet, and the signed credentials while connecting.
const RX: usize = 1024;
/// Transmit buffer: one outgoing packet (CONNECT is the largest here).
const TX: usize = 512;
/// Session memory: QoS 1 messages until acknowledged, and the subscriptions (with the data
/// model, also its five subscriptions).
const SESSION: usize = if cfg!(feature = "data") { 1024 } else { 512 };

/// The caller's message buffers. The footprint report finds this symbol by name and
/// counts it separately from the SDK's own RAM.
static MESSAGE_MEMORY: ConstStaticCell<MemoryArrays<Rx<RX>, Tx<TX>, SessionBytes<SESSION>>> =
    ConstStaticCell::new(MemoryArrays::new());

const PAYLOAD: &[u8] = br#"{"temp":21.5}"#;
/// How long the whole exchange may take once connected.
const EXCHANGE_TIMEOUT_MS: u64 = 20_000;

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
            println!("e2e {}: ok", cloud::NAME);
            exit(true)
        }
        Err(e) => {
            println!("e2e {}: FAILED: {}", cloud::NAME, e);
            exit(false)
        }
    }
}

/// What went wrong.
enum Failure {
    Setup(&'static str),
    Provider(ProviderError),
    Device(iotcloud_core::Error<UartError>),
    Timeout(&'static str),
    Unexpected(&'static str),
}

impl fmt::Display for Failure {
    /// A short report, as a small device would log it: what failed and what the caller can
    /// do about it ([`ErrorKind`]). The `verbose` feature prints SDK errors' full messages
    /// instead, which links every message text and the formatting they need.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Setup(what) => write!(f, "setup: {what}"),
            #[cfg(feature = "verbose")]
            Failure::Provider(e) => write!(f, "provider: {e}"),
            #[cfg(feature = "verbose")]
            Failure::Device(e) => write!(f, "device: {e}"),
            #[cfg(not(feature = "verbose"))]
            Failure::Provider(e) => write!(f, "provider error, kind {}", kind_name(e.kind())),
            #[cfg(not(feature = "verbose"))]
            Failure::Device(e) => write!(f, "device error, kind {}", kind_name(e.kind())),
            Failure::Timeout(what) => write!(f, "timed out waiting for {what}"),
            Failure::Unexpected(what) => write!(f, "unexpected: {what}"),
        }
    }
}

/// The name of an error kind.
#[cfg(not(feature = "verbose"))]
fn kind_name(kind: iotcloud_core::ErrorKind) -> &'static str {
    use iotcloud_core::ErrorKind;
    match kind {
        ErrorKind::Config => "config",
        ErrorKind::Auth => "auth",
        ErrorKind::Transport => "transport",
        ErrorKind::Protocol => "protocol",
        ErrorKind::Resource => "resource",
        ErrorKind::State => "state",
        _ => "other",
    }
}

impl From<iotcloud_core::Error<UartError>> for Failure {
    fn from(e: iotcloud_core::Error<UartError>) -> Self {
        Failure::Device(e)
    }
}

impl<D> From<TransitionError<D, iotcloud_core::Error<UartError>>> for Failure {
    fn from(failed: TransitionError<D, iotcloud_core::Error<UartError>>) -> Self {
        Failure::Device(failed.into_error())
    }
}

impl From<ProviderError> for Failure {
    fn from(e: ProviderError) -> Self {
        Failure::Provider(e)
    }
}

fn run() -> Result<(), Failure> {
    let peripherals = cortex_m::Peripherals::take().ok_or(Failure::Setup("core peripherals"))?;
    let clock = SysTickClock::start(peripherals.SYST);
    let uart = Uart0::take().ok_or(Failure::Setup("UART0"))?;
    let provider = cloud::provider()?;
    let mut topic = [0u8; 128];
    let topic = cloud::echo_topic(&provider)
        .write_into(&mut topic)
        .map_err(|_| Failure::Setup("topic buffer"))?;
    // The device borrows the provider: it is kept here once, instead of moving with the
    // device through every state change.
    #[cfg(not(feature = "session-loop"))]
    let exchange = exchange;
    #[cfg(feature = "session-loop")]
    let exchange = session_loop::exchange;
    block_on(exchange(&provider, UartTransport::new(uart), clock, topic))
}

/// Connect, subscribe, publish, receive, disconnect.
#[cfg_attr(feature = "session-loop", allow(dead_code))]
async fn exchange(
    cloud: &cloud::Cloud,
    transport: UartTransport,
    clock: SysTickClock,
    topic: &str,
) -> Result<(), Failure> {
    let memory = MESSAGE_MEMORY.take().memory();
    let device = Device::new(cloud, Composed::new(transport, clock), memory);
    // The data model, without fetches on connect: the report below is what it measures.
    #[cfg(feature = "data")]
    let device = device.with_data(iotcloud_core::device::DataOptions {
        desired_on_connect: false,
        time_sync: iotcloud_core::device::TimeSync::OnRequest,
    });
    let device = device.register().await?;
    let mut device = device.connect().await?;
    println!("connected to {}", device.provider().cloud());

    let subscription = device.subscribe(&[(topic, QoS::AtLeastOnce)]).await?;
    let publication = device
        .publish(topic, PAYLOAD, QoS::AtLeastOnce)
        .await?
        .ok_or(Failure::Unexpected("no packet id for a QoS 1 message"))?;

    let deadline = clock.now_ms() + EXCHANGE_TIMEOUT_MS;
    let (mut subscribed, mut acknowledged, mut received) = (false, false, false);
    while !(subscribed && acknowledged && received) {
        let event = with_deadline(&clock, deadline, device.next_event())
            .await
            .ok_or(Failure::Timeout("SUBACK, PUBACK and the message"))??;
        match event {
            Event::Subscribed { packet_id, codes } if packet_id == subscription => {
                if codes.iter().any(|c| c.as_u8() & 0x80 != 0) {
                    return Err(Failure::Unexpected("subscription refused"));
                }
                subscribed = true;
            }
            Event::Published { packet_id } if packet_id == publication => acknowledged = true,
            Event::Message(m) if m.topic() == topic && m.payload() == PAYLOAD => received = true,
            Event::Disconnected(_) => return Err(Failure::Unexpected("connection lost")),
            _ => {}
        }
    }
    println!(
        "subscribed, published (acknowledged) and received on {}",
        topic
    );
    #[cfg(feature = "data")]
    {
        // A property report in the cloud's envelope, acknowledged by the broker.
        let report = device.report(&[("temp", &21i32)]).await?;
        println!("reported id {}", report);
        loop {
            let event = with_deadline(&clock, deadline, device.next_event())
                .await
                .ok_or(Failure::Timeout("the report's PUBACK"))??;
            match event {
                Event::Published { .. } => break,
                Event::Disconnected(_) => return Err(Failure::Unexpected("connection lost")),
                _ => {}
            }
        }
    }
    let _registered = device.disconnect().await;
    Ok(())
}
