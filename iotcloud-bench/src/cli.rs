//! Row 6, the command line: `iotcloud pub` beside `mosquitto_pub -l`, each publishing the
//! same lines and each timed as a whole process, from spawn to exit, while the benchmark's
//! subscriber checks that every message arrived.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Context, Result, fail};
use crate::measure::MOSQUITTO_PUB_QOS1_MAX;
use crate::subscriber::Subscriber;

/// The environment variable that names the `iotcloud` binary; `cargo xtask bench` builds
/// the command line in release and sets it.
pub const CLI_ENV: &str = "IOTCLOUD_CLI";

/// Lines (one message each) per run of row 6.
pub const LINES: u64 = 60_000;

/// The byte every message of row 6 is made of; each message is 64 of them.
const FILL: u8 = b'x';

/// Bytes per message of row 6.
pub const LINE_BYTES: usize = 64;

/// The publishers compared in row 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// This project's `iotcloud pub`.
    Iotcloud,
    /// libmosquitto's `mosquitto_pub -l`.
    MosquittoPub,
}

impl Tool {
    /// Name used in topics, client ids and progress lines.
    pub fn slug(self) -> &'static str {
        match self {
            Tool::Iotcloud => "iotcloud-pub",
            Tool::MosquittoPub => "mosquitto_pub",
        }
    }

    fn topic(self, qos: u8) -> String {
        match self {
            Tool::Iotcloud => format!("bench/cli/qos{qos}"),
            Tool::MosquittoPub => format!("bench/cli-mp/qos{qos}"),
        }
    }
}

/// One run of one tool.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall seconds from spawn to exit (added over the runs of `mosquitto_pub` when it
    /// publishes in two), if the subscriber received every message.
    pub seconds: Option<f64>,
    /// Messages the subscriber received.
    pub received: u64,
}

/// The `iotcloud` binary that `$IOTCLOUD_CLI` names, when it is set and the file exists.
pub fn cli_binary() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os(CLI_ENV)?);
    path.is_file().then_some(path)
}

/// Publishes `count` lines of [`LINE_BYTES`] bytes with `tool` at `qos` (0 or 1) to the
/// broker on `port`, while a subscriber in this process counts them. `cli` is the
/// `iotcloud` binary (needed for [`Tool::Iotcloud`]); `round` makes its device name and
/// store directory unique.
pub fn publish(
    tool: Tool,
    cli: Option<&Path>,
    port: u16,
    qos: u8,
    count: u64,
    round: usize,
) -> Result<Run> {
    let topic = tool.topic(qos);
    let id = format!("bench-subscriber-cli-{}-qos{qos}", tool.slug());
    // Subscribed before the publisher starts, so that it sees every message.
    let subscriber = Subscriber::connect(port, &id, &topic).ctx("starting the subscriber")?;
    let counter = thread::spawn(move || subscriber.count(count, Duration::from_secs(5)));
    let elapsed = match tool {
        Tool::Iotcloud => {
            let cli = cli.ctx("the iotcloud binary is not built")?;
            iotcloud_pub(cli, port, qos, count, &topic, round)?
        }
        Tool::MosquittoPub => {
            // At QoS 1 one run cannot publish more than MOSQUITTO_PUB_QOS1_MAX lines.
            let batches = if qos == 1 && count > MOSQUITTO_PUB_QOS1_MAX {
                vec![count / 2, count - count / 2]
            } else {
                vec![count]
            };
            let mut elapsed = Duration::ZERO;
            for batch in batches {
                elapsed += mosquitto_pub(port, qos, batch, &topic)?;
            }
            elapsed
        }
    };
    let got = match counter.join() {
        Ok(r) => r.ctx("counting at the subscriber")?,
        Err(_) => return fail("the subscriber thread panicked"),
    };
    Ok(Run {
        seconds: got.all_at.map(|_| elapsed.as_secs_f64()),
        received: got.count,
    })
}

/// The message: [`LINE_BYTES`] bytes of [`FILL`].
fn payload() -> String {
    char::from(FILL).to_string().repeat(LINE_BYTES)
}

/// Fails, with what the process printed, unless it exited with status 0.
fn check_exit(name: &str, out: &Output) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    fail(format!(
        "{name} failed ({}); it printed: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// One `iotcloud pub` run; returns its wall time from spawn to exit.
fn iotcloud_pub(
    cli: &Path,
    port: u16,
    qos: u8,
    count: u64,
    topic: &str,
    round: usize,
) -> Result<Duration> {
    let store = std::env::temp_dir().join(format!(
        "iotcloud-bench-cli-{}-qos{qos}-{round}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&store);
    std::fs::create_dir_all(&store).ctx("creating the command line's store directory")?;
    let args = [
        "pub".to_string(),
        "tlink".into(),
        "product_id=user".into(),
        "product_secret=pw".into(),
        format!("device_name=bench-cli-qos{qos}-{round}"),
        "host=127.0.0.1".into(),
        format!("port={port}"),
        "tls=false".into(),
        format!("topic={topic}"),
        format!("count={count}"),
        format!("qos={qos}"),
        format!("payload={}", payload()),
        format!("store={}", store.display()),
    ];
    let mut cmd = Command::new(cli);
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let child = cmd.spawn().ctx(&format!("starting {}", cli.display()));
    let out = child.and_then(|c| c.wait_with_output().ctx("waiting for iotcloud pub"));
    let elapsed = start.elapsed();
    let _ = std::fs::remove_dir_all(&store);
    let out = out?;
    check_exit("iotcloud pub", &out)?;
    let summary = String::from_utf8_lossy(&out.stdout);
    let published = json_number(&summary, "published");
    let acknowledged = json_number(&summary, "acknowledged");
    let expected_acks = if qos == 0 { 0 } else { count };
    if published != Some(count) || acknowledged != Some(expected_acks) {
        return fail(format!(
            "iotcloud pub did not report {count} published and {expected_acks} acknowledged; \
             it printed: {}",
            summary.trim()
        ));
    }
    Ok(elapsed)
}

/// One `mosquitto_pub -l` run fed `count` lines from a thread; returns its wall time from
/// spawn to exit.
fn mosquitto_pub(port: u16, qos: u8, count: u64, topic: &str) -> Result<Duration> {
    let mut line = payload().into_bytes();
    line.push(b'\n');
    let input = line.repeat(usize::try_from(count).ctx("line count too large")?);
    let (port, qos) = (port.to_string(), qos.to_string());
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
    ];
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().ctx("starting mosquitto_pub")?;
    let mut stdin = child.stdin.take().ctx("mosquitto_pub without stdin")?;
    let feeder = thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().ctx("waiting for mosquitto_pub");
    let elapsed = start.elapsed();
    let fed = feeder.join();
    let out = out?;
    check_exit("mosquitto_pub", &out)?;
    match fed {
        Ok(r) => r.ctx("feeding mosquitto_pub")?,
        Err(_) => return fail("the thread feeding mosquitto_pub panicked"),
    }
    Ok(elapsed)
}

/// The whole number after `"key":` in a flat JSON object.
fn json_number(text: &str, key: &str) -> Option<u64> {
    let (_, rest) = text.split_once(&format!("\"{key}\":"))?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
