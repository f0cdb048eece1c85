//! `iotcloud run`: a long-running device that logs every event and answers OTA jobs.

use std::path::PathBuf;
use std::time::Duration;

use hal_host::{FileSink, TcpTransport};
use iotcloud::iotcloud_core::Printable;
use iotcloud::iotcloud_core::device::{OtaEvent, ReconnectPolicy, Supervised};
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
}

/// What to do after an event, decided while the event is borrowed.
enum Next {
    Go,
    Download(String),
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
    let device = host::device(
        provider,
        host::store(&args)?,
        &mut mem,
        Some(Firmware::new(&version)),
    );
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
                    Ok(Supervised::Event(ev)) => describe(&ev),
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
                    let download = device
                        .download_ota(&mut http, &mut sink, &mut work, &settings, |e| match e {
                            OtaEvent::Progress(p) => bar(&p),
                            OtaEvent::Retrying { progress, delay_ms } => {
                                // Below the progress bar.
                                eprintln!();
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
                            eprintln!();
                            log("ota: download stopped; it resumes on the next run");
                            break;
                        }
                        result = download => result,
                    };
                    eprintln!();
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

/// A progress bar on stderr, redrawn in place.
fn bar(p: &Progress) {
    let percent = p.percent.unwrap_or(0);
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
