//! Rows 1 and 2, seen from the parent: starts each client in its own process, starts the
//! clock, stops it, and reads the client's peak memory and its own report.

use std::io::Write;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::broker::Broker;
use crate::child::{Client, Exit, this_binary, value};
use crate::error::{Context, Result, fail};
use crate::sink::Sink;
use crate::subscriber::Subscriber;
use crate::{PAYLOAD, WINDOW};

/// The clients compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// This SDK on hal-host.
    Sdk,
    /// rumqttc.
    Rumqttc,
    /// libmosquitto through `mosquitto_pub -l`.
    Mosquitto,
}

impl Peer {
    /// Name used in topics, client ids and subcommands.
    pub fn slug(self) -> &'static str {
        match self {
            Peer::Sdk => "sdk",
            Peer::Rumqttc => "rumqttc",
            Peer::Mosquitto => "mosquitto",
        }
    }
}

/// One publish-throughput run.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    /// Messages per second, if every message arrived.
    pub rate: Option<f64>,
    /// At QoS 0: messages the subscriber received (less than sent means loss).
    pub received: u64,
    /// Peak RSS of the client process, KiB.
    pub max_rss_kib: u64,
    /// Heap allocations per message in steady state (Rust clients only).
    pub allocs_per_msg: Option<f64>,
    /// `size_of_val` of the connected device (this SDK only).
    pub device_bytes: Option<usize>,
    /// The broker's CPU time over the run's wall time (1.0: one core busy throughout).
    pub broker_busy: Option<f64>,
    /// Row 1b: the client process's CPU time (user and system) per message, µs.
    pub cpu_us_per_msg: Option<f64>,
}

/// One round-trip run.
#[derive(Debug, Clone, Default)]
pub struct RoundTrip {
    /// Median, µs.
    pub median_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Heap allocations per round trip.
    pub allocs_per_msg: f64,
}

/// The version line of `mosquitto_pub`, or `None` when it is not installed.
pub fn mosquitto_pub_version() -> Option<String> {
    let out = Command::new("mosquitto_pub").arg("--help").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.contains("version"))
        .map(|l| l.trim().to_string())
}

/// Highest message count one `mosquitto_pub -l` run handles at QoS 1: it stops at the
/// first PUBACK whose 16-bit message id equals the last line's, which after a wrap-around
/// comes long before the last line (2.0.11 exits successfully after about 34,500 of
/// 100,000 lines).
pub const MOSQUITTO_PUB_QOS1_MAX: u64 = 65_535;

/// Publishes `count` messages with `peer` at `qos` (0 or 1) to the broker on `port`, while
/// a subscriber in this process counts them.
///
/// QoS 0: the clock runs from the start signal until the subscriber has received every
/// message. QoS 1: from the start signal until the client process has exited, which it
/// does once every message is acknowledged; the subscriber must still receive them all.
/// `mosquitto_pub` at QoS 1 publishes in runs of at most [`MOSQUITTO_PUB_QOS1_MAX`]
/// messages, whose times are added.
pub fn throughput(peer: Peer, broker: &Broker, qos: u8, count: u64) -> Result<Throughput> {
    let port = broker.port;
    let topic = format!("bench/throughput/{}/qos{qos}", peer.slug());
    let id = format!("bench-subscriber-{}-qos{qos}", peer.slug());
    let subscriber = Subscriber::connect(port, &id, &topic).ctx("starting the subscriber")?;
    let counter = thread::spawn(move || subscriber.count(count, Duration::from_secs(5)));
    let batches = if peer == Peer::Mosquitto && qos == 1 && count > MOSQUITTO_PUB_QOS1_MAX {
        vec![count / 2, count - count / 2]
    } else {
        vec![count]
    };
    let mut result = Throughput {
        received: count,
        ..Throughput::default()
    };
    let mut elapsed = Duration::ZERO;
    let mut first_start = None;
    let busy_from = (Instant::now(), broker.cpu_ns());
    for batch in batches {
        let (start, exit) = publish_batch(peer, port, qos, batch, &topic)?;
        first_start.get_or_insert(start);
        elapsed += exit.at - start;
        result.max_rss_kib = result.max_rss_kib.max(exit.max_rss_kib);
        if peer != Peer::Mosquitto {
            result.allocs_per_msg = Some(value(&exit.output, "allocs_per_msg")?);
            if peer == Peer::Sdk {
                result.device_bytes = Some(value(&exit.output, "device_bytes")? as usize);
            }
        }
    }
    let got = match counter.join() {
        Ok(r) => r.ctx("counting at the subscriber")?,
        Err(_) => return fail("the subscriber thread panicked"),
    };
    result.received = got.count;
    let wall = busy_from.0.elapsed().as_secs_f64();
    result.broker_busy = broker
        .cpu_ns()
        .zip(busy_from.1)
        .map(|(to, from)| to.saturating_sub(from) as f64 / 1e9 / wall);
    result.rate = match (qos, got.all_at, first_start) {
        (0, Some(end), Some(start)) => Some(count as f64 / (end - start).as_secs_f64()),
        (1, Some(_), _) => Some(count as f64 / elapsed.as_secs_f64()),
        _ => None,
    };
    Ok(result)
}

/// One client process publishing `count` messages; returns when the clock started and how
/// the process ended.
fn publish_batch(
    peer: Peer,
    port: u16,
    qos: u8,
    count: u64,
    topic: &str,
) -> Result<(Instant, Exit)> {
    let (port, qos, count_s) = (port.to_string(), qos.to_string(), count.to_string());
    match peer {
        Peer::Sdk | Peer::Rumqttc => {
            let args = ["__publish", peer.slug(), &port, &qos, &count_s, topic];
            let mut client = Client::spawn(this_binary()?, &args, peer.slug())?;
            client.wait_ready()?;
            let start = Instant::now();
            client.go()?;
            Ok((start, client.wait()?))
        }
        Peer::Mosquitto => {
            let window = WINDOW.to_string();
            let args = [
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                topic,
                "-q",
                &qos,
                "-l",
                "--nodelay",
                "-M",
                &window,
                "-i",
                "bench-mosquitto-publisher",
            ];
            let mut client = Client::spawn("mosquitto_pub", &args, "mosquitto_pub")?;
            let mut line = PAYLOAD.to_vec();
            line.push(b'\n');
            let input = line.repeat(usize::try_from(count).ctx("message count too large")?);
            let mut stdin = client.take_stdin().ctx("mosquitto_pub without stdin")?;
            // It says nothing when connected; on loopback it is long connected by now,
            // and waits for its first line.
            thread::sleep(Duration::from_millis(300));
            let start = Instant::now();
            let feeder = thread::spawn(move || stdin.write_all(&input));
            let exit = client.wait()?;
            match feeder.join() {
                Ok(r) => r.ctx("feeding mosquitto_pub")?,
                Err(_) => return fail("the thread feeding mosquitto_pub panicked"),
            }
            Ok((start, exit))
        }
    }
}

/// Row 1b: `peer` publishes `count` messages at `qos` to a [`Sink`] of its own, which only
/// acknowledges, so that the client's own speed is measured rather than the broker's. The
/// rate stops the clock as row 1 does: at the sink's last PUBLISH at QoS 0, at the client's
/// exit (after its last PUBACK) at QoS 1. Also the client's CPU time per message.
pub fn throughput_sink(peer: Peer, qos: u8, count: u64) -> Result<Throughput> {
    let topic = format!("bench/sink/{}/qos{qos}", peer.slug());
    let batches = if peer == Peer::Mosquitto && qos == 1 && count > MOSQUITTO_PUB_QOS1_MAX {
        vec![count / 2, count - count / 2]
    } else {
        vec![count]
    };
    let mut result = Throughput::default();
    let (mut elapsed, mut cpu_us, mut complete) = (Duration::ZERO, 0, true);
    for batch in batches {
        let sink = Sink::start(batch)?;
        let (start, exit) = publish_batch(peer, sink.port, qos, batch, &topic)?;
        let seen = sink.finish()?;
        result.received += seen.count;
        result.max_rss_kib = result.max_rss_kib.max(exit.max_rss_kib);
        cpu_us += exit.cpu_us;
        match (qos, seen.all_at) {
            (0, Some(end)) => elapsed += end - start,
            (_, Some(_)) => elapsed += exit.at - start,
            (_, None) => complete = false,
        }
    }
    if complete && result.received == count {
        result.rate = Some(count as f64 / elapsed.as_secs_f64());
    }
    result.cpu_us_per_msg = Some(cpu_us as f64 / count as f64);
    Ok(result)
}

/// Round trips of `count` QoS 1 messages with `peer` (a Rust client).
pub fn round_trip(peer: Peer, port: u16, count: u64) -> Result<RoundTrip> {
    let topic = format!("bench/round-trip/{}", peer.slug());
    let (port, count) = (port.to_string(), count.to_string());
    let args = ["__round-trip", peer.slug(), &port, &count, &topic];
    let mut client = Client::spawn(this_binary()?, &args, peer.slug())?;
    client.wait_ready()?;
    client.go()?;
    let exit = client.wait()?;
    Ok(RoundTrip {
        median_us: value(&exit.output, "median_us")?,
        p99_us: value(&exit.output, "p99_us")?,
        allocs_per_msg: value(&exit.output, "allocs_per_msg")?,
    })
}
