//! The whole run, in order, and the one table it prints.

use std::time::Instant;

use crate::broker::Broker;
use crate::cli::{self, Tool};
use crate::connect::{self, ConnectRow};
use crate::core_alloc::{self, CoreRun};
use crate::error::Result;
use crate::footprint::print_footprint_report;
use crate::measure::{self, MOSQUITTO_PUB_QOS1_MAX, Peer, RoundTrip, Throughput};
use crate::{MESSAGES, PAYLOAD, ROUND_TRIPS, RX_BUFFER, SESSION_BUFFER, TX_BUFFER, WARMUP, WINDOW};

/// Row 1 is measured this many times for every client and QoS, the clients taking turns;
/// the table shows the median rate with the lowest and highest.
const ROUNDS: usize = 5;

/// The rounds of one client at one QoS, combined.
#[derive(Debug, Clone)]
struct Combined {
    /// The round with the median rate (or a round that lost messages, if any did).
    median: Throughput,
    /// Lowest and highest rate of the rounds, when every round delivered everything.
    range: Option<(f64, f64)>,
    /// Highest peak RSS of the rounds, KiB.
    max_rss_kib: u64,
}

/// The median of `runs` by rate; a round with loss is shown instead, as loss.
fn combine(mut runs: Vec<Throughput>) -> Option<Combined> {
    let max_rss_kib = runs.iter().map(|t| t.max_rss_kib).max()?;
    if let Some(lossy) = runs.iter().find(|t| t.rate.is_none()) {
        return Some(Combined {
            median: lossy.clone(),
            range: None,
            max_rss_kib,
        });
    }
    runs.sort_by(|a, b| {
        a.rate
            .partial_cmp(&b.rate)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let range = runs
        .first()
        .and_then(|t| t.rate)
        .zip(runs.last().and_then(|t| t.rate));
    let median = runs.get(runs.len() / 2)?.clone();
    Some(Combined {
        median,
        range,
        max_rss_kib,
    })
}

/// Row 6 for one tool at one QoS, over its rounds.
#[derive(Debug, Clone)]
enum Timing {
    /// The tool was not there: "not built" or "not installed".
    Missing(&'static str),
    /// A round in which the subscriber did not receive every line: how many it did.
    Lost(u64),
    /// Median, lowest and highest wall seconds.
    Seconds { median: f64, low: f64, high: f64 },
}

impl Timing {
    /// The rounds of one tool combined; `runs` is `None` when the tool is missing.
    fn of(runs: Option<Vec<cli::Run>>, missing: &'static str) -> Timing {
        let Some(runs) = runs else {
            return Timing::Missing(missing);
        };
        if let Some(lossy) = runs.iter().find(|r| r.seconds.is_none()) {
            return Timing::Lost(lossy.received);
        }
        let mut times: Vec<f64> = runs.iter().filter_map(|r| r.seconds).collect();
        times.sort_by(f64::total_cmp);
        match (times.first(), times.get(times.len() / 2), times.last()) {
            (Some(&low), Some(&median), Some(&high)) => Timing::Seconds { median, low, high },
            _ => Timing::Missing("not measured"),
        }
    }

    fn median(&self) -> Option<f64> {
        match self {
            Timing::Seconds { median, .. } => Some(*median),
            _ => None,
        }
    }

    fn cell(&self, lines: u64) -> String {
        match self {
            Timing::Missing(why) => (*why).into(),
            Timing::Lost(received) => format!(
                "lost {} of {}",
                thousands(lines.saturating_sub(*received)),
                thousands(lines)
            ),
            Timing::Seconds { median, low, high } => {
                format!("{median:.3} ({low:.3}–{high:.3})")
            }
        }
    }
}

/// Row 1b's rows name their far end with this.
const SINK: &str = " to an acknowledging sink (no broker)";

/// What was measured, for the table.
struct Results {
    machine: String,
    broker: String,
    mosquitto_pub: Option<String>,
    messages: u64,
    round_trips: u64,
    /// [QoS 0, QoS 1] × [SDK, rumqttc, mosquitto_pub].
    throughput: [[Option<Combined>; 3]; 2],
    /// Row 1b, against the acknowledging sink: as `throughput`.
    sink: [[Option<Combined>; 3]; 2],
    round_trip: [RoundTrip; 2],
    connect: Vec<ConnectRow>,
    core: CoreRun,
    core_per_qos: u64,
    /// Lines per run of row 6.
    cli_lines: u64,
    /// Row 6: [QoS 0, QoS 1] × [`iotcloud pub`, `mosquitto_pub -l`].
    cli: [[Timing; 2]; 2],
}

/// Runs every measurement with `MESSAGES / divisor` messages and prints the table.
pub fn full_run(divisor: u64) -> Result<()> {
    let started = Instant::now();
    let messages = MESSAGES / divisor;
    let round_trips = ROUND_TRIPS / divisor;
    let core_per_qos = 10_000 / divisor;
    let cli_lines = cli::LINES / divisor;

    // First, before any other thread exists: the core alone must not allocate.
    progress("row 4: allocations of the no_std core over an in-memory broker");
    let core = core_alloc::measure(core_per_qos)?;

    let broker = Broker::start()?;
    let mosquitto_pub = measure::mosquitto_pub_version();
    let mut runs: [[Vec<Throughput>; 3]; 2] = Default::default();
    let mut sink_runs: [[Vec<Throughput>; 3]; 2] = Default::default();
    for round in 1..=ROUNDS {
        for (qi, qos) in [0u8, 1].into_iter().enumerate() {
            for (pi, peer) in [Peer::Sdk, Peer::Rumqttc, Peer::Mosquitto]
                .into_iter()
                .enumerate()
            {
                if peer == Peer::Mosquitto && mosquitto_pub.is_none() {
                    continue;
                }
                progress(&format!(
                    "row 1, round {round} of {ROUNDS}: {messages} messages at QoS {qos} from {}",
                    peer.slug()
                ));
                runs[qi][pi].push(measure::throughput(peer, &broker, qos, messages)?);
                progress(&format!(
                    "row 1b, round {round} of {ROUNDS}: {messages} messages at QoS {qos} \
                     from {} to the sink",
                    peer.slug()
                ));
                sink_runs[qi][pi].push(measure::throughput_sink(peer, qos, messages)?);
            }
        }
    }
    let throughput = runs.map(|per_peer| per_peer.map(combine));
    let sink = sink_runs.map(|per_peer| per_peer.map(combine));
    progress(&format!("row 2: {round_trips} round trips, sdk"));
    let sdk_rt = measure::round_trip(Peer::Sdk, broker.port, round_trips)?;
    progress(&format!("row 2: {round_trips} round trips, rumqttc"));
    let rumqttc_rt = measure::round_trip(Peer::Rumqttc, broker.port, round_trips)?;
    progress("row 3: connect to ready, each provider");
    let connect = connect::measure(broker.port)?;
    let cli = measure_cli(&broker, cli_lines, mosquitto_pub.is_some())?;
    let results = Results {
        machine: machine(),
        broker: broker.version.clone(),
        mosquitto_pub,
        messages,
        round_trips,
        throughput,
        sink,
        round_trip: [sdk_rt, rumqttc_rt],
        connect,
        core,
        core_per_qos,
        cli_lines,
        cli,
    };
    drop(broker);
    print_table(&results);
    print_footprint_report();
    progress(&format!("done in {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Row 6: [`ROUNDS`] rounds in which `iotcloud pub` and `mosquitto_pub -l` take turns at
/// each QoS; a tool that is missing is skipped.
fn measure_cli(broker: &Broker, lines: u64, mosquitto_pub: bool) -> Result<[[Timing; 2]; 2]> {
    let binary = cli::cli_binary();
    if binary.is_none() {
        progress(&format!(
            "row 6: no iotcloud binary (${} unset or missing), skipping it",
            cli::CLI_ENV
        ));
    }
    let present = [binary.is_some(), mosquitto_pub];
    let mut runs: [[Vec<cli::Run>; 2]; 2] = Default::default();
    for round in 1..=ROUNDS {
        for (qi, qos) in [0u8, 1].into_iter().enumerate() {
            for (ti, tool) in [Tool::Iotcloud, Tool::MosquittoPub].into_iter().enumerate() {
                if !present[ti] {
                    continue;
                }
                progress(&format!(
                    "row 6, round {round} of {ROUNDS}: {lines} lines at QoS {qos} from {}",
                    tool.slug()
                ));
                let run = cli::publish(tool, binary.as_deref(), broker.port, qos, lines, round)?;
                runs[qi][ti].push(run);
            }
        }
    }
    Ok(runs.map(|[iotcloud, mosquitto]| {
        [
            Timing::of(present[0].then_some(iotcloud), "not built"),
            Timing::of(present[1].then_some(mosquitto), "not installed"),
        ]
    }))
}

fn progress(what: &str) {
    eprintln!("iotcloud-bench: {what}");
}

/// CPUs, CPU model and kernel of this machine.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!("{cpus} CPUs ({model}), Linux {kernel}")
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

fn rate_cell(t: &Option<Combined>, messages: u64) -> String {
    match t {
        None => "not installed".into(),
        Some(c) => match (c.median.rate, c.range) {
            (Some(r), Some((low, high))) => format!(
                "{} ({}–{})",
                thousands(r.round() as u64),
                thousands(low.round() as u64),
                thousands(high.round() as u64)
            ),
            (Some(r), None) => thousands(r.round() as u64),
            (None, _) => format!("lost {} of {}", messages - c.median.received, messages),
        },
    }
}

fn rss_cell(t: &Option<Combined>) -> String {
    t.as_ref()
        .map_or("not installed".into(), |c| thousands(c.max_rss_kib))
}

fn allocs_cell(t: &Option<Combined>) -> String {
    match t {
        None => "not installed".into(),
        Some(c) => c
            .median
            .allocs_per_msg
            .map_or("not measured".into(), |a| format!("{a:.2}")),
    }
}

fn row(cells: &[String]) {
    println!("| {} |", cells.join(" | "));
}

fn print_table(r: &Results) {
    let peer = r.mosquitto_pub.as_deref().map_or_else(
        || "mosquitto_pub (not installed)".to_string(),
        |v| {
            // "mosquitto_pub version 2.0.11 running on libmosquitto 2.0.11."
            let lib = v
                .split("libmosquitto")
                .nth(1)
                .map(|s| s.trim().trim_end_matches('.'));
            format!("libmosquitto {} (`mosquitto_pub -l`)", lib.unwrap_or("?"))
        },
    );
    println!("## iotcloud-bench");
    println!();
    println!("Machine: {}; broker: {} on loopback.", r.machine, r.broker);
    println!();
    row(&[
        "#".into(),
        "measurement".into(),
        "iotcloud-rs (hal-host)".into(),
        "rumqttc 0.25.1".into(),
        peer,
        "iotcloud ÷ rumqttc".into(),
        "iotcloud ÷ libmosquitto".into(),
    ]);
    row(&vec!["---".to_string(); 7]);
    let n = thousands(r.messages);
    for (number, runs, to) in [("1", &r.throughput, ""), ("1b", &r.sink, SINK)] {
        for (qi, qos) in [0, 1].into_iter().enumerate() {
            let t = &runs[qi];
            let rate = |i: usize| t[i].as_ref().and_then(|c| c.median.rate);
            row(&[
                number.into(),
                format!(
                    "publish {n} × 64 B at QoS {qos}{to}, messages/s, median (lowest–highest) \
                     of {ROUNDS}"
                ),
                rate_cell(&t[0], r.messages),
                rate_cell(&t[1], r.messages),
                rate_cell(&t[2], r.messages),
                ratio(rate(0), rate(1)),
                ratio(rate(0), rate(2)),
            ]);
        }
    }
    for (qi, qos) in [0, 1].into_iter().enumerate() {
        let t = &r.sink[qi];
        let cpu = |i: usize| t[i].as_ref().and_then(|c| c.median.cpu_us_per_msg);
        let cell = |i: usize| cpu(i).map_or("not measured".into(), |c| format!("{c:.2}"));
        row(&[
            "1b".into(),
            format!(
                "client CPU time (user + system) per message, QoS {qos} to the sink, median \
                 round, µs (lower is better)"
            ),
            cell(0),
            cell(1),
            cell(2),
            ratio(cpu(0), cpu(1)),
            ratio(cpu(0), cpu(2)),
        ]);
    }
    for (qi, qos) in [0, 1].into_iter().enumerate() {
        let t = &r.throughput[qi];
        let busy = |i: usize| {
            t[i].as_ref()
                .and_then(|c| c.median.broker_busy)
                .map_or("not measured".into(), |b| format!("{:.0} %", b * 100.0))
        };
        row(&[
            "1".into(),
            format!("broker CPU during the median QoS {qos} run, % of one core"),
            busy(0),
            busy(1),
            busy(2),
            "—".into(),
            "—".into(),
        ]);
    }
    for (qi, qos) in [0, 1].into_iter().enumerate() {
        let t = &r.throughput[qi];
        let rss = |i: usize| t[i].as_ref().map(|c| c.max_rss_kib as f64);
        row(&[
            "1, 4".into(),
            format!("peak RSS of the client process, QoS {qos} runs (highest), KiB"),
            rss_cell(&t[0]),
            rss_cell(&t[1]),
            rss_cell(&t[2]),
            ratio(rss(0), rss(1)),
            ratio(rss(0), rss(2)),
        ]);
    }
    let [sdk, rq] = &r.round_trip;
    let rt = thousands(r.round_trips);
    row(&[
        "2".into(),
        format!("round trip at QoS 1, median of {rt}, µs"),
        format!("{:.1}", sdk.median_us),
        format!("{:.1}", rq.median_us),
        "—".into(),
        ratio(Some(sdk.median_us), Some(rq.median_us)),
        "—".into(),
    ]);
    row(&[
        "2".into(),
        format!("round trip at QoS 1, p99 of {rt}, µs"),
        format!("{:.1}", sdk.p99_us),
        format!("{:.1}", rq.p99_us),
        "—".into(),
        ratio(Some(sdk.p99_us), Some(rq.p99_us)),
        "—".into(),
    ]);
    for c in &r.connect {
        let subs = match c.subscriptions {
            1 => "1 system subscription".to_string(),
            n => format!("{n} system subscriptions"),
        };
        let ota = if c.ota { "OTA on" } else { "no OTA over MQTT" };
        row(&[
            "3".into(),
            format!(
                "connect to ready, {} ({ota}, {subs}), median of {}",
                c.name,
                connect::REPEAT
            ),
            format!(
                "{:.2} ms, {} round trips, {}",
                c.median.as_secs_f64() * 1e3,
                c.round_trips,
                match c.packets {
                    1 => "1 write".to_string(),
                    n => format!("{n} writes"),
                }
            ),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
        ]);
    }
    let core_msgs = thousands(r.core.messages);
    row(&[
        "4".into(),
        format!(
            "heap allocations per message, no_std core alone (8 providers, connect + {core_msgs} messages)"
        ),
        format!(
            "{} ({} in total)",
            if r.core.messages == 0 {
                0.0
            } else {
                r.core.allocations as f64 / r.core.messages as f64
            },
            r.core.allocations
        ),
        "—".into(),
        "—".into(),
        "—".into(),
        "—".into(),
    ]);
    for (qi, qos) in [0, 1].into_iter().enumerate() {
        let t = &r.throughput[qi];
        let a = |i: usize| t[i].as_ref().and_then(|c| c.median.allocs_per_msg);
        row(&[
            "4".into(),
            format!("heap allocations per message, full client, QoS {qos} publish"),
            allocs_cell(&t[0]),
            allocs_cell(&t[1]),
            allocs_cell(&t[2]),
            ratio(a(0), a(1)),
            "—".into(),
        ]);
    }
    row(&[
        "4".into(),
        "heap allocations per round trip, full client".into(),
        format!("{:.2}", sdk.allocs_per_msg),
        format!("{:.2}", rq.allocs_per_msg),
        "—".into(),
        ratio(Some(sdk.allocs_per_msg), Some(rq.allocs_per_msg)),
        "—".into(),
    ]);
    let device = r.throughput[1][0]
        .as_ref()
        .and_then(|c| c.median.device_bytes)
        .map_or("—".into(), |b| thousands(b as u64));
    row(&[
        "4".into(),
        "device object (`size_of_val`, plain MQTT over hal-host), bytes".into(),
        device,
        "—".into(),
        "—".into(),
        "—".into(),
        "—".into(),
    ]);
    let sizes: Vec<String> = r
        .connect
        .iter()
        .map(|c| format!("{} {}", c.name, thousands(c.device_bytes as u64)))
        .collect();
    row(&[
        "4".into(),
        "device object by provider (`size_of`, hal-host), bytes".into(),
        sizes.join(", "),
        "—".into(),
        "—".into(),
        "—".into(),
        "—".into(),
    ]);
    row(&[
        "4".into(),
        "device buffers (caller-owned: rx + tx + session), bytes".into(),
        format!(
            "{} + {} + {} = {}",
            thousands(RX_BUFFER as u64),
            thousands(TX_BUFFER as u64),
            thousands(SESSION_BUFFER as u64),
            thousands((RX_BUFFER + TX_BUFFER + SESSION_BUFFER) as u64)
        ),
        "—".into(),
        "—".into(),
        "—".into(),
        "—".into(),
    ]);
    let lines = thousands(r.cli_lines);
    for (qi, qos) in [0, 1].into_iter().enumerate() {
        let [iotcloud, mosquitto] = &r.cli[qi];
        row(&[
            "6".into(),
            format!(
                "command-line publish of {lines} × {} B lines at QoS {qos}, wall seconds \
                 (lower is better), median (lowest–highest) of {ROUNDS}",
                cli::LINE_BYTES
            ),
            iotcloud.cell(r.cli_lines),
            "—".into(),
            mosquitto.cell(r.cli_lines),
            "—".into(),
            ratio(iotcloud.median(), mosquitto.median()),
        ]);
    }
    print_goals(r);
    print_definitions(r);
}

fn print_goals(r: &Results) {
    println!();
    println!("Goals:");
    for (qi, qos) in [0, 1].into_iter().enumerate() {
        let rate = |i: usize| r.throughput[qi][i].as_ref().and_then(|c| c.median.rate);
        let verdict = |met: Option<bool>| match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        let sink = |i: usize| r.sink[qi][i].as_ref().and_then(|c| c.median.rate);
        let vs_rumqttc = sink(0).zip(sink(1)).map(|(a, b)| a >= 1.2 * b);
        let vs_mosquitto = rate(0).zip(rate(2)).map(|(a, b)| a >= 0.9 * b);
        println!(
            "- QoS {qos}: at least 1.2× rumqttc's throughput — {} against the acknowledging \
             sink, where the client is the limit ({}; through mosquitto, whose one core is \
             the limit of both, {}); within 10 % of libmosquitto's or better — {} ({})",
            verdict(vs_rumqttc),
            ratio(sink(0), sink(1)),
            ratio(rate(0), rate(1)),
            verdict(vs_mosquitto),
            ratio(rate(0), rate(2)),
        );
    }
    println!(
        "- zero allocations per message in the no_std core — {} ({} allocations in {} messages)",
        if r.core.allocations == 0 {
            "met"
        } else {
            "MISSED"
        },
        r.core.allocations,
        thousands(r.core.messages)
    );
    for (qi, qos) in [0, 1].into_iter().enumerate() {
        let [iotcloud, mosquitto] = &r.cli[qi];
        let (a, b) = (iotcloud.median(), mosquitto.median());
        println!(
            "- QoS {qos}: `iotcloud pub` takes no longer than `mosquitto_pub -l` — {} ({})",
            match a.zip(b) {
                Some((a, b)) if a <= b => "met",
                Some(_) => "MISSED",
                None => "not measured",
            },
            ratio(a, b)
        );
    }
}

fn print_definitions(r: &Results) {
    let n = thousands(r.messages);
    println!();
    println!("How each row is measured:");
    println!(
        "- Row 1: {n} messages of {} bytes to one topic, at QoS 0 and at QoS 1, {ROUNDS} \
         rounds: in each round every client runs once at each QoS, in the same order; the \
         table shows the median round, the lowest and highest rate, and the ratios of the \
         medians. Every client runs in its own process on the same broker (mosquitto on loopback, no \
         persistence, no logging, per-client limits lifted so nothing is dropped), has at \
         most {WINDOW} QoS 1 messages in flight (rumqttc `set_inflight`, `mosquitto_pub -M`, \
         this SDK's publishing loop) and `TCP_NODELAY` on. A subscriber in the benchmark \
         process (a bare socket that only counts PUBLISH packets, subscribed at QoS 0) \
         receives every message of every run; a message still missing after 5 s of silence \
         is reported as loss instead of a rate. The Rust clients connect, say ready and \
         wait; `mosquitto_pub` is given 300 ms to connect. The clock starts when the \
         benchmark tells the Rust client to go, or writes the first line to \
         `mosquitto_pub`'s stdin. QoS 0: it stops when the subscriber has received all {n}. \
         QoS 1: it stops when the client process has exited, which each does right after \
         the last PUBACK (and a DISCONNECT). `mosquitto_pub -l` at QoS 1 cannot publish \
         more than 65,535 lines in one run (it stops at the first PUBACK whose 16-bit \
         message id equals the last line's, so version 2.0.11 exits successfully after \
         about 34,500 of 100,000 lines), so it publishes in two runs of half the messages \
         and their times are added. Peak RSS is `ru_maxrss` from `wait4` on the client \
         process, started with fork and exec by a small launcher so that it does not \
         inherit the benchmark's own peak; the table shows the highest over the rounds \
         (and over both runs of `mosquitto_pub` at QoS 1). Broker CPU is the broker's \
         CPU time (`/proc/PID/schedstat`) over the wall time from the client's start to the \
         subscriber's last message: mosquitto is single-threaded, so near 100 % the run \
         measures the broker's limit rather than the client's.",
        PAYLOAD.len()
    );
    println!(
        "- Row 1b: the same clients, messages, window and rounds (taking turns with row 1), \
         each publishing to an acknowledging sink of its own instead of mosquitto: a \
         thread of the benchmark that accepts the one client, answers CONNECT, QoS 1 \
         PUBLISH and PINGREQ (one write per read's worth of packets), counts PUBLISH \
         packets and forwards nothing, so the client's own speed is what is measured. The \
         clock starts and stops as in row 1 (QoS 0: at the sink's last PUBLISH); a run the \
         sink did not see whole is reported as loss. CPU time is the client process's user \
         and system time from `wait4` over its whole life (start-up and connect included), \
         divided by the messages; `mosquitto_pub` is given its 300 ms to connect as in row 1, \
         which costs it no CPU."
    );
    println!(
        "- Rust clients: one single-threaded tokio runtime per process; the workspace's \
         release profile (opt-level \"s\", LTO). This SDK: `PlainMqtt` over hal-host's \
         `TcpTransport`; messages are enqueued (`enqueue` writes into the {TX_BUFFER}-byte \
         transmit buffer, which goes out when it fills, when the device waits for the \
         broker, or on `flush`); when {WINDOW} messages are in flight the loop waits for \
         one event, takes every event already received, and refills the window. rumqttc: \
         one task calls `AsyncClient::publish`, the other polls the `EventLoop`; request \
         channel 10 (its default)."
    );
    println!(
        "- Row 2: one client publishes at QoS 1 to a topic it is subscribed to at QoS 1; \
         latency is from the publish call until the message comes back; the next publish \
         waits for that message and the PUBACK. {} round trips of warm-up are not \
         counted.",
        thousands(WARMUP)
    );
    println!(
        "- Row 3: from the call to `connect` (signing, TCP connect, CONNECT) until CONNACK \
         and the SUBACK of every system subscription the provider makes on connect. Where \
         the provider does OTA over MQTT the device has OTA enabled, as a deployed one \
         would, so it also sends its version report and job request (where the cloud has \
         them) before it is ready; their acknowledgements are not waited for. A transport \
         wrapper counts round trips (the TCP handshake, plus every read that follows a \
         write) and writes (flushes: the device flushes after each write-out, which carries every packet queued). Each \
         provider is configured with made-up credentials and pointed at the same mosquitto \
         without TLS."
    );
    println!(
        "- Row 4: a counting global allocator. Full clients: allocations in the client \
         process per message, from message {} until the last message is written (QoS 0) or \
         acknowledged (QoS 1), and per round trip after warm-up. Core alone: each of the 8 \
         providers drives a device with `embassy_futures::block_on` over an in-memory \
         transport whose far end answers like a broker (it does not allocate), with a fake \
         clock; counted from creating the device to the last PUBACK, through connect, {} \
         messages at QoS 0 and {} at QoS 1 per provider; any allocation fails the run.",
        thousands(WARMUP),
        thousands(r.core_per_qos),
        thousands(r.core_per_qos)
    );
    let lines = thousands(r.cli_lines);
    let batches = if r.cli_lines > MOSQUITTO_PUB_QOS1_MAX {
        "these are more, so it publishes them in two runs of half the lines each, whose \
         times are added"
            .to_string()
    } else {
        format!("{lines} lines fit in one run, so it publishes them in one")
    };
    println!(
        "- Row 6: the command lines, each run as its own process the way a user runs it, \
         {ROUNDS} rounds in which the two take turns at each QoS; the table shows the \
         median, lowest and highest time and the ratio of the medians (`iotcloud pub` ÷ \
         `mosquitto_pub`; below 1× it is faster). `iotcloud pub tlink product_id=user \
         product_secret=pw device_name=… host=127.0.0.1 port=PORT tls=false \
         topic=bench/cli/qosN count={count} qos=N payload=… store=…` publishes {lines} \
         messages of {bytes} `x` bytes (tlink's device connects with a user name and \
         password, which the anonymous broker accepts; `host=` and `port=` point it at the \
         benchmark's mosquitto; the device name and the `store=` directory are new in every \
         run). `mosquitto_pub -h 127.0.0.1 -p PORT -t bench/cli-mp/qosN -q N -l` is given \
         the same {lines} lines of {bytes} `x` bytes on its standard input, written by a \
         thread started right after it. Neither is tuned: both run with their defaults \
         (no `--nodelay` or `-M` here, unlike row 1). `mosquitto_pub -l` \
         (2.0.11) waits in steps of 100 ms: once while it connects, and once after the \
         last line before it waits for the end of its network thread, so each of its \
         runs holds 0.1 to 0.2 s that does not grow with the number of lines (one line \
         takes about 0.2 s). Each run is timed from spawning the \
         process until it has exited, connect included for both: `iotcloud pub` waits for \
         its first connection before it publishes, as `mosquitto_pub` does, and at the end \
         (at QoS 1 after the last PUBACK) sends DISCONNECT and exits once the broker has \
         closed the connection, so at QoS 0 the broker has read every message before it \
         exits. A run counts when the process exits with status 0 and, for `iotcloud pub`, \
         its JSON summary says {lines} published (and {lines} acknowledged at QoS 1); the \
         subscriber of row 1, subscribed before the process starts, must receive all \
         {lines}, or the cell shows the loss instead of a time. At QoS 1 `mosquitto_pub -l` \
         cannot publish more than {max} lines in one run (it stops at the first PUBACK \
         whose 16-bit message id equals the last line's, see row 1); {batches}. Without \
         `${env}` (`cargo xtask bench` builds `iotcloud` in release and sets it) the \
         `iotcloud pub` cells say \"not built\".",
        bytes = cli::LINE_BYTES,
        max = thousands(MOSQUITTO_PUB_QOS1_MAX),
        env = cli::CLI_ENV,
        count = r.cli_lines,
    );
}
