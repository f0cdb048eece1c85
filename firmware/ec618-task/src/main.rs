//! `hal-ec618`'s device task on the emulated Cortex-M3, to measure its stack in QEMU.
//!
//! The Air780E's EC618 is a Cortex-M3, but QEMU does not emulate it, and its SDK is a set of
//! prebuilt libraries. Here the crate's own code runs unchanged — its executor, network
//! adapter transport, clock, key-value store and FOTA sink — over [`sdk`], a stand-in for
//! the SDK's C functions whose network is UART0 (connected by QEMU to a local mosquitto).
//! The task does what a firmware's device task does: waits for the cellular link, opens
//! the store, runs an Aliyun device built with its default features (TLS with the bundled
//! CA, OTA, data model) over an `Ec618Platform` through connect, subscribe, publish at
//! QoS 1, receive, disconnect, and writes a firmware image to the FOTA sink.
//!
//! The stack is painted first and its peak printed at the end: that is the Rust task's
//! stack; what the SDK's own functions use on the module (mbedTLS inside `network_tx`,
//! FlashDB, flash programming) is not in it.

#![no_std]
#![no_main]

mod sdk;

use cortex_m_rt::entry;
use hal_ec618::{Ec618Platform, FotaSink, LuatKv, network};
use iotcloud_aliyun::Aliyun;
use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
use iotcloud_core::ota::FirmwareSink;
use iotcloud_core::provider::EndpointOverrides;
use iotcloud_core::{Device, Event, KvStore, QoS};
use mps2_board::hal::Uart0;
use mps2_board::{SysTickClock, exit, println, stack};
use static_cell::ConstStaticCell;

static MEMORY: ConstStaticCell<MemoryArrays<Rx<2048>, Tx<1024>, SessionBytes<2048>>> =
    ConstStaticCell::new(MemoryArrays::new());

const PAYLOAD: &[u8] = br#"{"temp":21.5}"#;
const EXCHANGE_TIMEOUT_MS: u64 = 20_000;
/// The image written to the FOTA sink, in the 512-byte pieces the sink copies to RAM.
const IMAGE_LEN: usize = 4096;

#[entry]
fn main() -> ! {
    stack::paint();
    let result = start();
    println!(
        "stack: peak {} of {} bytes",
        stack::peak_bytes(),
        stack::capacity_bytes()
    );
    println!("heap: {} bytes", sdk::heap_used());
    match result {
        Ok(()) => {
            println!("ec618 task: ok");
            exit(true)
        }
        Err(what) => {
            println!("ec618 task: FAILED: {}", what);
            exit(false)
        }
    }
}

fn start() -> Result<(), &'static str> {
    let peripherals = cortex_m::Peripherals::take().ok_or("core peripherals")?;
    let clock = SysTickClock::start(peripherals.SYST);
    let uart = Uart0::take().ok_or("UART0")?;
    sdk::install(uart, clock);
    // The task's body, as `iotcloud_task_main` runs it on the module.
    hal_ec618::block_on(core::pin::pin!(task())).map_err(|_| "block_on")?
}

async fn task() -> Result<(), &'static str> {
    network::init().map_err(|_| "network init")?;
    network::wait_ready(10_000)
        .await
        .map_err(|_| "network ready")?;

    let mut store = LuatKv::open()
        .ok_or("the store is in use")?
        .map_err(|_| "the store did not start")?;
    let mut record = [0u8; 64];
    if store.get("iotcloud/probe", &mut record).await != Ok(None) {
        return Err("a fresh store is not empty");
    }
    store
        .set("iotcloud/probe", b"stored")
        .await
        .map_err(|_| "store write")?;
    if store.get("iotcloud/probe", &mut record).await != Ok(Some(6)) {
        return Err("the store lost a value");
    }

    exchange(store).await?;
    update().await
}

/// The Aliyun device over the module's platform: TLS (Aliyun's CA) to the broker's address.
async fn exchange(store: LuatKv) -> Result<(), &'static str> {
    let aliyun = Aliyun::with_secret("123456789", "abcdefg", "Y877Bgo8X5owd3lcB5wWDjryNPoB")
        .map_err(|_| "provider")?
        .with_overrides(EndpointOverrides {
            host: Some("127.0.0.1"),
            port: Some(8883),
            ..EndpointOverrides::default()
        });
    let mut topic = [0u8; 128];
    let topic = aliyun
        .user_update()
        .write_into(&mut topic)
        .map_err(|_| "topic buffer")?;
    let platform = Ec618Platform::new()
        .map_err(|_| "platform")?
        .with_store(store);
    let device = Device::new(&aliyun, platform, MEMORY.take().memory());
    let device = device.register().await.map_err(|_| "register")?;
    let mut device = device.connect().await.map_err(|_| "connect")?;
    println!("connected");

    let subscription = device
        .subscribe(&[(topic, QoS::AtLeastOnce)])
        .await
        .map_err(|_| "subscribe")?;
    let publication = device
        .publish(topic, PAYLOAD, QoS::AtLeastOnce)
        .await
        .map_err(|_| "publish")?
        .ok_or("no packet id for a QoS 1 message")?;
    let deadline = hal_ec618::time::now_ms() + EXCHANGE_TIMEOUT_MS;
    let (mut subscribed, mut acknowledged, mut received) = (false, false, false);
    while !(subscribed && acknowledged && received) {
        let event = iotcloud_core::clock::with_deadline(
            &hal_ec618::Ec618Clock::new(),
            deadline,
            device.next_event(),
        )
        .await
        .ok_or("timed out waiting for SUBACK, PUBACK and the message")?
        .map_err(|_| "next_event")?;
        match event {
            Event::Subscribed { packet_id, .. } if packet_id == subscription => subscribed = true,
            Event::Published { packet_id } if packet_id == publication => acknowledged = true,
            Event::Message(m) if m.topic() == topic && m.payload() == PAYLOAD => received = true,
            Event::Disconnected(_) => return Err("connection lost"),
            _ => {}
        }
    }
    println!("subscribed, published (acknowledged) and received");
    let _registered = device.disconnect().await;
    Ok(())
}

/// A firmware image written to the FOTA sink and finished, as the OTA runner does.
async fn update() -> Result<(), &'static str> {
    let mut sink = FotaSink::new().map_err(|_| "FOTA sink")?;
    let piece = [0x5Au8; 512];
    let mut at = sink
        .begin(Some(IMAGE_LEN as u64), 0)
        .await
        .map_err(|_| "FOTA begin")?;
    while at < IMAGE_LEN as u64 {
        sink.write_at(at, &piece).await.map_err(|_| "FOTA write")?;
        at += piece.len() as u64;
    }
    sink.finish(IMAGE_LEN as u64)
        .await
        .map_err(|_| "FOTA finish")?;
    if sdk::fota_written() != IMAGE_LEN {
        return Err("the FOTA region did not get the whole image");
    }
    println!("firmware image of {} bytes written", IMAGE_LEN);
    Ok(())
}
