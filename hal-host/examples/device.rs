//! A device on a standard MQTT broker: subscribes to its command topic, publishes a reading
//! every second, prints every event, and leaves cleanly on Ctrl-C or after `--seconds N`.
//!
//! ```text
//! cargo run -p hal-host --example device -- [host] [port] [--seconds N]
//! ```
//! Try it with `mosquitto -p 1883` running, and in another terminal
//! `mosquitto_pub -t example-device/cmd -m hello` to send it a command.

use std::time::Duration;

use hal_host::HostPlatform;
use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
use iotcloud_core::plain::PlainMqtt;
use iotcloud_core::{Device, Event, QoS};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut seconds: Option<u64> = None;
    while let Some(a) = args.next() {
        if a == "--seconds" {
            seconds = Some(args.next().ok_or("--seconds needs a number")?.parse()?);
        } else {
            positional.push(a);
        }
    }
    let host = positional
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = positional
        .get(1)
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(1883);
    let readings = run(&host, port, seconds).await?;
    println!("disconnected cleanly after {readings} readings");
    Ok(())
}

/// The device's life; returns how many readings it published.
async fn run(host: &str, port: u16, seconds: Option<u64>) -> Result<u32, hal_host::Error> {
    let provider = PlainMqtt::new(host, port, "example-device")?.with_keep_alive(30);
    let mut memory = MemoryArrays::<Rx<4096>, Tx<1024>, SessionBytes<8192>>::new();
    let device = Device::new(&provider, HostPlatform::new(), memory.memory());
    let mut device = device.register().await?.connect().await?;
    println!("connected to {host}:{port}");
    device
        .subscribe(&[("example-device/cmd", QoS::AtLeastOnce)])
        .await?;

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let deadline = tokio::time::sleep(Duration::from_secs(seconds.unwrap_or(u64::MAX / 4)));
    tokio::pin!(deadline);
    let mut seq = 0u32;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = &mut deadline => break,
            _ = tick.tick() => {
                seq += 1;
                let reading = format!("{{\"seq\":{seq},\"temp\":{:.1}}}", 20.0 + f64::from(seq % 10) / 10.0);
                let id = device.publish("example-device/telemetry", reading.as_bytes(), QoS::AtLeastOnce).await?;
                println!("published #{seq} (packet id {})", id.map_or(0, |i| i.get()));
            }
            event = device.next_event() => match event? {
                Event::Message(m) => println!("message on {}: {}", m.topic(), String::from_utf8_lossy(m.payload())),
                Event::Disconnected(reason) => { println!("disconnected: {reason}"); break; }
                other => println!("{other:?}"),
            },
        }
    }
    device.disconnect().await;
    Ok(seq)
}
