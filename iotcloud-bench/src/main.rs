//! `iotcloud-bench`: throughput, latency, connect cost and memory of this SDK beside
//! rumqttc and libmosquitto's `mosquitto_pub`, and the `iotcloud pub` command line beside
//! `mosquitto_pub -l`, all measured in one run against one mosquitto started on loopback
//! for the run. Prints one Markdown table.
//!
//! ```text
//! cargo xtask bench                                # the full run (a minute or two on 2 cores)
//! cargo xtask bench --quick                        # a tenth of the messages, to try the setup
//! ```

mod alloc_count;
mod broker;
mod child;
mod cli;
mod clients;
mod connect;
mod core_alloc;
mod error;
mod footprint;
mod measure;
mod providers;
mod report;
mod sink;
mod subscriber;

use std::process::ExitCode;

use iotcloud_core::QoS;

use crate::error::{Context, Result, fail};

#[global_allocator]
static ALLOCATOR: alloc_count::CountingAllocator = alloc_count::CountingAllocator;

/// The message every client publishes: 64 bytes of text (one line for `mosquitto_pub -l`).
pub const PAYLOAD: &[u8] = b"iotcloud-bench 64-byte payload 0123456789 abcdefghijklmnopqrstuv";
/// Messages per throughput run.
pub const MESSAGES: u64 = 100_000;
/// Round trips timed.
pub const ROUND_TRIPS: u64 = 10_000;
/// Messages sent before allocations are counted (and round trips before they are timed).
pub const WARMUP: u64 = 1_000;
/// Most QoS 1 messages in flight, for every client (rumqttc's default in-flight limit).
pub const WINDOW: u64 = 100;
/// This SDK's receive buffer.
pub const RX_BUFFER: usize = 4096;
/// This SDK's transmit buffer.
pub const TX_BUFFER: usize = 1024;
/// This SDK's session memory: room for more than [`WINDOW`] messages in flight.
pub const SESSION_BUFFER: usize = 16384;

const _: () = assert!(PAYLOAD.len() == 64);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iotcloud-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> &'static str {
    "usage: iotcloud-bench [--quick]\n\
     Starts mosquitto on a loopback port, measures this SDK, rumqttc and mosquitto_pub \
     against it and prints one table. --quick: a tenth of the messages.\n\
     Row 6 runs the iotcloud binary that $IOTCLOUD_CLI names (cargo xtask bench builds it \
     and sets it); without it those cells say \"not built\"."
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        None => report::full_run(1),
        Some("--quick") => report::full_run(10),
        Some("-h" | "--help") => {
            println!("{}", usage());
            Ok(())
        }
        Some("__publish") => child_publish(rest),
        Some("__round-trip") => child_round_trip(rest),
        Some("__rss") => child::launch(rest),
        Some(other) => fail(format!("unknown argument {other:?}\n{}", usage())),
    }
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Result<&'a str> {
    args.get(i)
        .map(String::as_str)
        .ctx(&format!("missing {what}"))
}

fn number<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Result<T> {
    arg(args, i, what)?
        .parse()
        .ok()
        .ctx(&format!("{what} is not a number"))
}

/// Hidden: `__publish <sdk|rumqttc> <port> <qos> <count> <topic>`.
fn child_publish(args: &[String]) -> Result<()> {
    let port = number(args, 1, "port")?;
    let qos = match number::<u8>(args, 2, "qos")? {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => return fail("qos must be 0 or 1"),
    };
    let count = number::<u64>(args, 3, "count")?;
    if count <= WARMUP {
        return fail(format!("count must be over {WARMUP}"));
    }
    let topic = arg(args, 4, "topic")?;
    match arg(args, 0, "client")? {
        "sdk" => clients::sdk::publish(port, qos, count, topic),
        "rumqttc" => clients::rumqtt::publish(port, qos, count, topic),
        other => fail(format!("unknown client {other:?}")),
    }
}

/// Hidden: `__round-trip <sdk|rumqttc> <port> <count> <topic>`.
fn child_round_trip(args: &[String]) -> Result<()> {
    let port = number(args, 1, "port")?;
    let count = number(args, 2, "count")?;
    let topic = arg(args, 3, "topic")?;
    match arg(args, 0, "client")? {
        "sdk" => clients::sdk::round_trip(port, count, topic),
        "rumqttc" => clients::rumqtt::round_trip(port, count, topic),
        other => fail(format!("unknown client {other:?}")),
    }
}
