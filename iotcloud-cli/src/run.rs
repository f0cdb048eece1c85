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
use serde_json::{Value, json};

use crate::host::{self, Memory, configure};
use crate::{Args, runtime};

/// Session memory of a `run` device: subscriptions and unacknowledged QoS 1 messages.
const RUN_SESSION_LEN: usize = 16 * 1024;

/// What the `run` command is told besides the configuration.
pub(crate) struct RunOptions {
    /// How events are shown (`--json`, `--quiet`).
    pub report: Report,
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

/// How `run` shows what happens: a line of text per event, or with `--json` a JSON object
/// whose kind is in `"event"`; `--quiet` leaves out connection events, acknowledgements
/// and progress. What came from the network (topics, payloads, versions, a server's words in
/// an error) is escaped either way.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Report {
    /// `--json`: JSON objects, one per line.
    pub json: bool,
    /// `--quiet`: only data and errors.
    pub quiet: bool,
}

impl Report {
    /// Data or an error: always shown.
    fn data(self, text: &str, event: &Value) {
        if self.json {
            crate::output::line(&crate::output::json_line(event));
        } else {
            crate::output::line(&Printable(text).to_string());
        }
    }

    /// A connection event, an acknowledgement or progress: left out by `--quiet`.
    fn chatter(self, text: &str, event: &Value) {
        if !self.quiet {
            self.data(text, event);
        }
    }
}

/// An event of kind `kind` (`error`, `skipped`, …) that carries an error's words.
fn error_event(kind: &str, error: &dyn std::fmt::Display) -> Value {
    json!({"event": kind, "error": error.to_string()})
}

pub(crate) fn run(cloud: &str, args: Args, opts: RunOptions) -> Result<String, String> {
    let report = opts.report;
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
            report.data(
                &format!("data model: {why}"),
                &json!({"event": "no_data_model", "reason": why.to_string()}),
            );
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
        let stop = crate::until_stopped(opts.seconds);
        tokio::pin!(stop);
        let device = device.register().await.map_err(|e| e.to_string())?;
        // The supervisor connects, and reconnects after every loss with backoff.
        let mut sup = device.supervise(ReconnectPolicy::default());
        loop {
            let next = tokio::select! {
                _ = &mut stop => break,
                ev = sup.next_event() => match ev {
                    Ok(Supervised::Event(ev)) => {
                        let next = describe(&ev, report);
                        match next {
                            Next::Go if matches!(ev, Event::Connected { .. }) && !fields.is_empty() => {
                                Next::Report
                            }
                            next => next,
                        }
                    }
                    Ok(Supervised::Connecting { attempt, cause }) => {
                        host::warn_if_insecure();
                        report.chatter(
                            &format!("connecting: attempt {attempt} ({cause})"),
                            &json!({"event": "connecting", "attempt": attempt, "cause": cause.to_string()}),
                        );
                        Next::Go
                    }
                    Ok(Supervised::ConnectFailed { attempt, error, retry_in_ms }) => {
                        report.data(
                            &format!(
                                "connect attempt {attempt} failed: {error}; retrying in {retry_in_ms} ms"
                            ),
                            &json!({
                                "event": "connect_failed",
                                "attempt": attempt,
                                "error": error.to_string(),
                                "retry_in_ms": retry_in_ms,
                            }),
                        );
                        Next::Go
                    }
                    Ok(Supervised::Skipped(error)) => {
                        report.data(&format!("skipped: {error}"), &error_event("skipped", &error));
                        Next::Go
                    }
                    Ok(_) => Next::Go,
                    Err(e) => {
                        report.data(&format!("error: {e}"), &error_event("error", &e));
                        Next::Go
                    }
                },
            };
            let device = &mut sup;
            match next {
                Next::Go => {}
                Next::Report => match device.report(&fields).await {
                    Ok(id) => report.chatter(
                        &format!("reported id={id} ({} properties)", fields.len()),
                        &json!({"event": "reported", "id": id.to_string(), "properties": fields.len()}),
                    ),
                    Err(e) => report.data(&format!("report: {e}"), &error_event("report_failed", &e)),
                },
                Next::Answer(request, command) => {
                    let output: &[Field<'_>] = &[];
                    let outcome = match opts.answer_code {
                        Some(code) => Outcome::failure(code, "refused by iotcloud run"),
                        None if command => Outcome::with_output(output),
                        None => Outcome::success(),
                    };
                    match device.answer(&request, outcome).await {
                        Ok(()) => report.chatter(
                            &format!(
                                "answered id={} {}",
                                request.id(),
                                opts.answer_code.map_or("success".into(), |c| format!("code={c}"))
                            ),
                            &json!({"event": "answered", "id": request.id(), "code": opts.answer_code}),
                        ),
                        Err(e) => report.data(
                            &format!("answer id={}: {e}", request.id()),
                            &json!({"event": "answer_failed", "id": request.id(), "error": e.to_string()}),
                        ),
                    }
                }
                Next::Download(shown) => {
                    let Some(dir) = &opts.ota_dir else {
                        report.data(
                            &format!("ota: not downloading {shown}: no ota_dir given"),
                            &json!({"event": "ota_not_downloaded", "reason": "no ota_dir given"}),
                        );
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
                    // The bar is for a person at a terminal, and `--quiet` has none.
                    let bar = std::io::stderr().is_terminal() && !report.quiet;
                    let mut shown = 0u8;
                    let download = device
                        .download_ota(&mut http, &mut sink, &mut work, &settings, |e| match e {
                            OtaEvent::Progress(p) => progress(&p, bar, &mut shown, report),
                            OtaEvent::Retrying { progress, delay_ms } => {
                                // Below the progress bar.
                                if bar {
                                    eprintln!();
                                }
                                report.data(
                                    &format!(
                                        "ota: connection lost at {} bytes; retrying in {delay_ms} ms",
                                        progress.received
                                    ),
                                    &json!({
                                        "event": "ota_retrying",
                                        "received": progress.received,
                                        "retry_in_ms": delay_ms,
                                    }),
                                );
                            }
                            OtaEvent::Event(ev) => {
                                let _ = describe(&ev, report);
                            }
                            OtaEvent::Error(e) => {
                                report.data(&format!("error: {e}"), &error_event("error", &e));
                            }
                            _ => {}
                        });
                    // Ctrl-C and `seconds=` end a download too; its checkpoint lets the
                    // next run resume it.
                    let result = tokio::select! {
                        _ = &mut stop => {
                            if bar {
                                eprintln!();
                            }
                            report.data(
                                "ota: download stopped; it resumes on the next run",
                                &json!({"event": "ota_stopped"}),
                            );
                            break;
                        }
                        result = download => result,
                    };
                    if bar {
                        eprintln!();
                    }
                    match result {
                        Ok(len) => report.data(
                            &format!("ota: {len} bytes verified and saved to {}", path.display()),
                            &json!({
                                "event": "ota_done",
                                "version": version,
                                "bytes": len,
                                "path": path.display().to_string(),
                            }),
                        ),
                        Err(e) => report.data(
                            &format!("ota: failed: {e} ({})", e.failure()),
                            &json!({
                                "event": "ota_failed",
                                "version": version,
                                "error": e.to_string(),
                                "failure": e.failure().to_string(),
                            }),
                        ),
                    }
                }
            }
        }
        let _ = sup.into_device().await;
        report.chatter("disconnected", &json!({"event": "stopped"}));
        Ok(String::new())
    })
}

/// The text of a JSON value from the network: the value itself where it parses, else its
/// bytes as a string.
fn json_or_text(raw: &[u8]) -> Value {
    serde_json::from_slice(raw).unwrap_or_else(|_| String::from_utf8_lossy(raw).into())
}

/// Shows one event and says what to do next.
fn describe(ev: &Event<'_>, report: Report) -> Next {
    match ev {
        Event::Connected { session_present } => report.chatter(
            &format!("connected session_present={session_present}"),
            &json!({"event": "connected", "session_present": session_present}),
        ),
        Event::Message(m) => {
            let mut event = json!({
                "event": "message",
                "topic": m.topic,
                "qos": m.qos as u8,
                "retain": m.retain,
                "bytes": m.payload.len(),
            });
            crate::output::put_payload(&mut event, m.payload);
            report.data(
                &format!(
                    "message topic={} qos={} bytes={} payload={}",
                    m.topic,
                    m.qos as u8,
                    m.payload.len(),
                    String::from_utf8_lossy(m.payload)
                ),
                &event,
            );
        }
        Event::Published { packet_id } => report.chatter(
            &format!("published id={}", packet_id.get()),
            &json!({"event": "published", "id": packet_id.get()}),
        ),
        Event::Subscribed { packet_id, .. } => report.chatter(
            &format!("subscribed id={}", packet_id.get()),
            &json!({"event": "subscribed", "id": packet_id.get()}),
        ),
        Event::Unsubscribed { packet_id } => report.chatter(
            &format!("unsubscribed id={}", packet_id.get()),
            &json!({"event": "unsubscribed", "id": packet_id.get()}),
        ),
        Event::Ota(job) => {
            let shown = show_job(job);
            report.data(
                &format!("ota: job {shown}"),
                &json!({
                    "event": "ota_job",
                    "version": job.version(),
                    "size": job.size(),
                    "digest": job.digest().to_string(),
                }),
            );
            return Next::Download(shown);
        }
        Event::OtaRejected(e) => report.data(
            &format!("ota: notice refused: {e}"),
            &error_event("ota_rejected", e),
        ),
        Event::Disconnected(reason) => report.chatter(
            &format!("disconnected: {reason}"),
            &json!({"event": "disconnected", "cause": reason.to_string()}),
        ),
        Event::Properties(p) => {
            let origin = match p.origin() {
                PropertyOrigin::Set => "set",
                PropertyOrigin::Desired => "desired",
            };
            let text: Vec<String> = p
                .iter()
                .map(|(n, v)| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(n.raw()),
                        String::from_utf8_lossy(v.raw())
                    )
                })
                .collect();
            let values: serde_json::Map<String, Value> = p
                .iter()
                .map(|(n, v)| {
                    let name = match json_or_text(n.raw()) {
                        Value::String(name) => name,
                        other => other.to_string(),
                    };
                    (name, json_or_text(v.raw()))
                })
                .collect();
            report.data(
                &format!("properties {origin} id={} {}", p.id(), text.join(" ")),
                &json!({"event": "properties", "origin": origin, "id": p.id(), "values": values}),
            );
            if p.origin() == PropertyOrigin::Set {
                return Next::Answer(p.request(), false);
            }
        }
        Event::Command(c) => {
            report.data(
                &format!(
                    "command id={} name={} params={}",
                    c.id(),
                    c.name(),
                    String::from_utf8_lossy(c.params().raw())
                ),
                &json!({
                    "event": "command",
                    "id": c.id(),
                    "name": c.name(),
                    "params": json_or_text(c.params().raw()),
                }),
            );
            return Next::Answer(c.request(), true);
        }
        Event::Reply(r) => report.data(
            &format!(
                "reply id={} code={} {}",
                r.id,
                r.code,
                if r.success { "success" } else { "failure" }
            ),
            &json!({"event": "reply", "id": r.id.to_string(), "code": r.code, "success": r.success}),
        ),
        Event::TimeSynced(t) => report.data(
            &format!(
                "time synced unix_ms={} offset_ms={} round_trip_ms={}",
                t.unix_time_ms,
                t.offset_ms
                    .map_or("unknown (no clock)".into(), |o| o.to_string()),
                t.round_trip_ms
            ),
            &json!({
                "event": "time_synced",
                "unix_ms": t.unix_time_ms,
                "offset_ms": t.offset_ms,
                "round_trip_ms": t.round_trip_ms,
            }),
        ),
        Event::DataRejected(e) => report.data(
            &format!("data message refused: {e}"),
            &error_event("data_rejected", e),
        ),
        other => report.chatter(
            &format!("event {other:?}"),
            &json!({"event": "other", "debug": format!("{other:?}")}),
        ),
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

/// Download progress: with `bar`, a bar on stderr redrawn in place; as text elsewhere (a
/// log file, a pipe) a line at every quarter, without carriage returns; as JSON, an object
/// at every quarter whether or not there is a bar. `--quiet` shows none of it.
fn progress(p: &Progress, bar: bool, shown: &mut u8, report: Report) {
    let percent = p.percent.unwrap_or(0);
    let quarter = percent >= shown.saturating_add(25) || (percent == 100 && *shown < 100);
    if (!bar || report.json) && quarter {
        *shown = percent;
        report.chatter(
            &format!("ota: {percent}% ({} bytes)", p.received),
            &json!({
                "event": "ota_progress",
                "percent": percent,
                "received": p.received,
                "total": p.total,
            }),
        );
    }
    if !bar {
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
