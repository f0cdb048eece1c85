//! `iotcloud run`: a long-running device that logs every event, answers OTA jobs, and —
//! where the cloud has a data model — answers property sets and commands, reports the
//! properties given on the command line after every connect, and learns the time from the
//! cloud when it has no clock.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use hal_host::{FileSink, TcpTransport};
use iotcloud::iotcloud_core::Printable;
use iotcloud::iotcloud_core::data::{Field, Outcome, PropertyOrigin, RawJson, Request, ToJson};
use iotcloud::iotcloud_core::device::{DataOptions, OtaEvent, ReconnectPolicy, Supervised};
use iotcloud::iotcloud_core::ota::{DownloadSettings, Firmware, OtaJob, Progress};
use iotcloud::{AnyProvider, Event};

use crate::host::{self, Memory, configure};
use crate::{Args, runtime};

/// Session memory of a `run` device: subscriptions and unacknowledged QoS 1 messages.
const RUN_SESSION_LEN: usize = 16 * 1024;

/// What the `run` command is told besides the configuration.
pub(crate) struct RunOptions {
    /// Where downloaded images go; without it, jobs are logged and not downloaded.
    pub ota_dir: Option<PathBuf>,
    /// The firmware version reported to the cloud.
    pub version: String,
    /// Stop after this long (for scripts and tests); `None`: until Ctrl-C.
    pub seconds: Option<u64>,
    /// Properties to report after every connect (`prop.NAME=VALUE`): values that are JSON
    /// go as JSON, anything else as a string.
    pub props: Vec<(String, String)>,
    /// The code to answer property sets and commands with; `None`: success.
    pub answer_code: Option<i32>,
    /// Act out a device with no wall clock (`clock=none`).
    pub no_clock: bool,
}

/// A property value from the command line: JSON where it is JSON, else a string.
enum PropValue<'a> {
    Json(RawJson<'a>),
    Text(&'a str),
}

impl ToJson for PropValue<'_> {
    fn write_json(
        &self,
        out: &mut iotcloud::iotcloud_core::data::JsonOut<'_>,
    ) -> Result<(), iotcloud::iotcloud_core::data::DataError> {
        match self {
            PropValue::Json(raw) => raw.write_json(out),
            PropValue::Text(text) => text.write_json(out),
        }
    }
}

impl<'a> PropValue<'a> {
    fn new(text: &'a str) -> Self {
        if serde_json::from_str::<serde_json::Value>(text).is_ok() {
            PropValue::Json(RawJson(text))
        } else {
            PropValue::Text(text)
        }
    }
}

/// What to do after an event, decided while the event is borrowed.
enum Next {
    Go,
    Download(String),
    /// Report the command line's properties (after a connect).
    Report,
    /// Answer a property set (`false`) or a command (`true`).
    Answer(Request, bool),
}

/// One log line; what came from the network in it (topics, payloads, versions, a server's
/// words in an error) is escaped.
fn log(line: &str) {
    crate::output::line(&Printable(line).to_string());
}

pub(crate) fn run(cloud: &str, args: Args, opts: RunOptions) -> Result<String, String> {
    let (cloud, config) = configure(cloud, &args)?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    if let Some(dir) = &opts.ota_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("ota_dir {}: {e}", dir.display()))?;
    }
    let mut mem = Memory::new(RUN_SESSION_LEN);
    let version = opts.version.clone();
    let clock = if opts.no_clock {
        hal_host::SystemClock::without_wall_time()
    } else {
        hal_host::SystemClock::new()
    };
    let device = host::device_on(
        provider,
        host::store(&args)?,
        &mut mem,
        Some(Firmware::new(&version)),
        clock,
    );
    let device = match device.data_parts() {
        Ok(_) => device.with_data(DataOptions::default()),
        Err(why) => {
            log(&format!("data model: {why}"));
            device
        }
    };
    let values: Vec<PropValue<'_>> = opts.props.iter().map(|(_, v)| PropValue::new(v)).collect();
    let fields: Vec<Field<'_>> = opts
        .props
        .iter()
        .zip(&values)
        .map(|((name, _), value)| (name.as_str(), value as &dyn ToJson))
        .collect();
    let rt = runtime()?;
    rt.block_on(async {
        let stop = async {
            match opts.seconds {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        tokio::pin!(stop);
        let device = device.register().await.map_err(|e| e.to_string())?;
        // The supervisor connects, and reconnects after every loss with backoff.
        let mut sup = device.supervise(ReconnectPolicy::default());
        loop {
            let next = tokio::select! {
                _ = &mut stop => break,
                ev = sup.next_event() => match ev {
                    Ok(Supervised::Event(ev)) => {
                        let next = describe(&ev);
                        match next {
                            Next::Go if matches!(ev, Event::Connected { .. }) && !fields.is_empty() => {
                                Next::Report
                            }
                            next => next,
                        }
                    }
                    Ok(Supervised::Connecting { attempt, cause }) => {
                        host::warn_if_insecure();
                        log(&format!("connecting: attempt {attempt} ({cause})"));
                        Next::Go
                    }
                    Ok(Supervised::ConnectFailed { attempt, error, retry_in_ms }) => {
                        log(&format!(
                            "connect attempt {attempt} failed: {error}; retrying in {retry_in_ms} ms"
                        ));
                        Next::Go
                    }
                    Ok(Supervised::Skipped(error)) => {
                        log(&format!("skipped: {error}"));
                        Next::Go
                    }
                    Ok(_) => Next::Go,
                    Err(e) => {
                        log(&format!("error: {e}"));
                        Next::Go
                    }
                },
            };
            let device = &mut sup;
            match next {
                Next::Go => {}
                Next::Report => match device.report(&fields).await {
                    Ok(id) => log(&format!("reported id={id} ({} properties)", fields.len())),
                    Err(e) => log(&format!("report: {e}")),
                },
                Next::Answer(request, command) => {
                    let output: &[Field<'_>] = &[];
                    let outcome = match opts.answer_code {
                        Some(code) => Outcome::failure(code, "refused by iotcloud run"),
                        None if command => Outcome::with_output(output),
                        None => Outcome::success(),
                    };
                    match device.answer(&request, outcome).await {
                        Ok(()) => log(&format!(
                            "answered id={} {}",
                            request.id(),
                            opts.answer_code.map_or("success".into(), |c| format!("code={c}"))
                        )),
                        Err(e) => log(&format!("answer id={}: {e}", request.id())),
                    }
                }
                Next::Download(shown) => {
                    let Some(dir) = &opts.ota_dir else {
                        log(&format!("ota: not downloading {shown}: no ota_dir given"));
                        continue;
                    };
                    let version = device
                        .ota_job()
                        .map(|j| j.version().to_owned())
                        .unwrap_or_default();
                    let path = dir.join(format!("firmware-{}.bin", safe_name(&version)));
                    let mut sink = FileSink::new(&path);
                    let mut http = TcpTransport::new();
                    let mut work = vec![0u8; 4096 + 16 * 1024];
                    let settings = DownloadSettings::default();
                    let tty = std::io::stderr().is_terminal();
                    let mut shown = 0u8;
                    let download = device
                        .download_ota(&mut http, &mut sink, &mut work, &settings, |e| match e {
                            OtaEvent::Progress(p) => progress(&p, tty, &mut shown),
                            OtaEvent::Retrying { progress, delay_ms } => {
                                // Below the progress bar.
                                if tty {
                                    eprintln!();
                                }
                                log(&format!(
                                    "ota: connection lost at {} bytes; retrying in {delay_ms} ms",
                                    progress.received
                                ));
                            }
                            OtaEvent::Event(ev) => {
                                let _ = describe(&ev);
                            }
                            OtaEvent::Error(e) => log(&format!("error: {e}")),
                            _ => {}
                        });
                    // Ctrl-C and `seconds=` end a download too; its checkpoint lets the
                    // next run resume it.
                    let result = tokio::select! {
                        _ = &mut stop => {
                            if tty {
                                eprintln!();
                            }
                            log("ota: download stopped; it resumes on the next run");
                            break;
                        }
                        result = download => result,
                    };
                    if tty {
                        eprintln!();
                    }
                    match result {
                        Ok(len) => log(&format!(
                            "ota: {len} bytes verified and saved to {}",
                            path.display()
                        )),
                        Err(e) => log(&format!("ota: failed: {e} ({})", e.failure())),
                    }
                }
            }
        }
        let _ = sup.into_device().await;
        log("disconnected");
        Ok(String::new())
    })
}

/// Logs one event and says what to do next.
fn describe(ev: &Event<'_>) -> Next {
    match ev {
        Event::Connected { session_present } => {
            log(&format!("connected session_present={session_present}"));
        }
        Event::Message(m) => log(&format!(
            "message topic={} qos={} bytes={} payload={}",
            m.topic,
            m.qos as u8,
            m.payload.len(),
            String::from_utf8_lossy(m.payload)
        )),
        Event::Published { packet_id } => log(&format!("published id={}", packet_id.get())),
        Event::Subscribed { packet_id, .. } => log(&format!("subscribed id={}", packet_id.get())),
        Event::Unsubscribed { packet_id } => {
            log(&format!("unsubscribed id={}", packet_id.get()));
        }
        Event::Ota(job) => {
            let shown = show_job(job);
            log(&format!("ota: job {shown}"));
            return Next::Download(shown);
        }
        Event::OtaRejected(e) => log(&format!("ota: notice refused: {e}")),
        Event::Disconnected(reason) => log(&format!("disconnected: {reason}")),
        Event::Properties(p) => {
            let values: Vec<String> = p
                .iter()
                .map(|(n, v)| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(n.raw()),
                        String::from_utf8_lossy(v.raw())
                    )
                })
                .collect();
            let origin = match p.origin() {
                PropertyOrigin::Set => "set",
                PropertyOrigin::Desired => "desired",
            };
            log(&format!(
                "properties {origin} id={} {}",
                p.id(),
                values.join(" ")
            ));
            if p.origin() == PropertyOrigin::Set {
                return Next::Answer(p.request(), false);
            }
        }
        Event::Command(c) => {
            log(&format!(
                "command id={} name={} params={}",
                c.id(),
                c.name(),
                String::from_utf8_lossy(c.params().raw())
            ));
            return Next::Answer(c.request(), true);
        }
        Event::Reply(r) => log(&format!(
            "reply id={} code={} {}",
            r.id,
            r.code,
            if r.success { "success" } else { "failure" }
        )),
        Event::TimeSynced(t) => log(&format!(
            "time synced unix_ms={} offset_ms={} round_trip_ms={}",
            t.unix_time_ms,
            t.offset_ms
                .map_or("unknown (no clock)".into(), |o| o.to_string()),
            t.round_trip_ms
        )),
        Event::DataRejected(e) => log(&format!("data message refused: {e}")),
        other => log(&format!("event {other:?}")),
    }
    Next::Go
}

fn show_job(job: &OtaJob<'_>) -> String {
    format!(
        "version={} size={} digest={}",
        job.version(),
        job.size().map_or("unknown".into(), |s| s.to_string()),
        job.digest()
    )
}

/// Download progress: on a terminal a bar on stderr, redrawn in place; elsewhere (a log
/// file, a pipe) a log line at every quarter, without carriage returns.
fn progress(p: &Progress, tty: bool, shown: &mut u8) {
    let percent = p.percent.unwrap_or(0);
    if !tty {
        if percent >= shown.saturating_add(25) || (percent == 100 && *shown < 100) {
            *shown = percent;
            log(&format!("ota: {percent}% ({} bytes)", p.received));
        }
        return;
    }
    let filled = usize::from(percent) / 4;
    eprint!(
        "\rota: [{}{}] {percent:>3}% {} / {} bytes",
        "#".repeat(filled),
        " ".repeat(25 - filled),
        p.received,
        p.total.map_or("?".into(), |t| t.to_string())
    );
}

/// A version string made safe for a file name.
fn safe_name(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// How long `time` waits for the cloud's answer.
const TIME_TIMEOUT: Duration = Duration::from_secs(10);

/// `iotcloud time`: connects, asks the cloud for the time, and prints it as JSON with this
/// machine's offset from it (`clock=none`: as a device without a clock, which has none).
pub(crate) fn time(cloud: &str, args: crate::Args, no_clock: bool) -> Result<String, String> {
    use iotcloud::iotcloud_core::device::TimeSync;
    let (cloud, config) = configure(cloud, &args)?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    let mut mem = Memory::new(4096);
    let clock = if no_clock {
        hal_host::SystemClock::without_wall_time()
    } else {
        hal_host::SystemClock::new()
    };
    let device = host::device_on(provider, host::store(&args)?, &mut mem, None, clock);
    let parts = device.data_parts()?;
    if !parts.time {
        return Err(format!("{cloud} has no time service over MQTT"));
    }
    let device = device.with_data(DataOptions {
        desired_on_connect: false,
        time_sync: TimeSync::OnRequest,
    });
    runtime()?.block_on(async {
        host::warn_if_insecure();
        let device = device.register().await.map_err(|e| e.to_string())?;
        let mut device = device.connect().await.map_err(|e| e.to_string())?;
        device.sync_time().await.map_err(|e| e.to_string())?;
        let wait = async {
            loop {
                match device.next_event().await {
                    Ok(Event::TimeSynced(t)) => return Ok(t),
                    Ok(Event::Disconnected(reason)) => {
                        return Err(format!("disconnected: {reason}"));
                    }
                    Ok(Event::DataRejected(e)) => return Err(format!("the answer: {e}")),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        let synced = tokio::time::timeout(TIME_TIMEOUT, wait)
            .await
            .map_err(|_| format!("no time answer within {} s", TIME_TIMEOUT.as_secs()))??;
        let _ = device.disconnect().await;
        Ok(serde_json::json!({
            "cloud": cloud.name(),
            "cloud_time_ms": synced.unix_time_ms,
            "offset_ms": synced.offset_ms,
            "round_trip_ms": synced.round_trip_ms,
        })
        .to_string())
    })
}
