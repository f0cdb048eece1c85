//! The footprint report's baseline: what `fw-device` carries besides the SDK.
//!
//! The same board support (semihosting output and exit, the panic handler, the SysTick
//! clock, the UART transport, stack painting, cortex-m-rt's vector table) and the same
//! executor, doing the smallest MQTT exchange by hand: a fixed CONNECT, waiting for the
//! broker's CONNACK with a deadline, a fixed DISCONNECT. Subtracting its size from the
//! device's gives the SDK's own share of the flash.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embassy_futures::block_on;
use embedded_io_async::{Read, Write};
use iotcloud_core::clock::with_deadline;
use iotcloud_core::{Clock, Endpoint, Transport};
use mps2_board::hal::Uart0;
use mps2_board::{SysTickClock, UartTransport, exit, println, stack};

/// CONNECT, MQTT 3.1.1, clean session, keep-alive 60 s, client id `fw-baseline`.
const CONNECT: &[u8] = b"\x10\x17\x00\x04MQTT\x04\x02\x00\x3c\x00\x0bfw-baseline";
/// CONNACK, session not present, accepted.
const CONNACK: &[u8] = b"\x20\x02\x00\x00";
/// DISCONNECT.
const DISCONNECT: &[u8] = b"\xe0\x00";
/// How long the broker may take to answer.
const TIMEOUT_MS: u64 = 20_000;

#[entry]
fn main() -> ! {
    stack::paint();
    let result = run();
    println!(
        "stack: peak {} of {} bytes",
        stack::peak_bytes(),
        stack::capacity_bytes()
    );
    match result {
        Ok(()) => {
            println!("baseline: ok");
            exit(true)
        }
        Err(what) => {
            println!("baseline: FAILED: {}", what);
            exit(false)
        }
    }
}

fn run() -> Result<(), &'static str> {
    let peripherals = cortex_m::Peripherals::take().ok_or("core peripherals")?;
    let clock = SysTickClock::start(peripherals.SYST);
    let uart = Uart0::take().ok_or("UART0")?;
    block_on(exchange(UartTransport::new(uart), clock))
}

/// CONNECT, CONNACK, DISCONNECT.
async fn exchange(mut uart: UartTransport, clock: SysTickClock) -> Result<(), &'static str> {
    let endpoint = Endpoint {
        host: "127.0.0.1",
        port: 1883,
        tls: None,
    };
    uart.connect(&endpoint).await.map_err(|_| "connect")?;
    uart.write_all(CONNECT).await.map_err(|_| "write")?;
    uart.flush().await.map_err(|_| "flush")?;
    let deadline = clock.now_ms() + TIMEOUT_MS;
    let mut answer = [0u8; 4];
    let mut got = 0;
    while got < answer.len() {
        let read = uart.read(&mut answer[got..]);
        match with_deadline(&clock, deadline, read).await {
            None => return Err("timed out waiting for CONNACK"),
            Some(Err(_)) => return Err("read"),
            Some(Ok(0)) => return Err("closed"),
            Some(Ok(n)) => got += n,
        }
    }
    if answer != CONNACK {
        return Err("not an accepting CONNACK");
    }
    println!("connected");
    uart.write_all(DISCONNECT).await.map_err(|_| "write")?;
    uart.flush().await.map_err(|_| "flush")?;
    uart.close().await;
    Ok(())
}
