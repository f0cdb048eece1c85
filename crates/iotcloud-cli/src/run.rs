//! `iotcloud run`: a long-running device that logs every event and answers OTA jobs.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use hal_host::{FileSink, FileStore, SystemClock, TcpTransport};
use iotcloud::iotcloud_core::device::OtaEvent;
use iotcloud::iotcloud_core::ota::{DownloadSettings, Firmware, OtaJob, Progress};
use iotcloud::{AnyProvider, Buffers, Cloud, Config, Device, Event};

use crate::{Args, CREDENTIALS_LEN, runtime};

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
    Reconnect,
}

fn log(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

pub(crate) fn run(cloud: &str, args: Args, opts: RunOptions) -> Result<String, String> {
    let cloud = Cloud::from_name(cloud).map_err(|e| e.to_string())?;
    let config = Config::from_pairs(args.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| e.to_string())?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    if let Some(dir) = &opts.ota_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("ota_dir {}: {e}", dir.display()))?;
    }
    let store =
        FileStore::open(&args.store).map_err(|e| format!("store {}: {e}", args.store.display()))?;
    let mut rx = vec![0u8; 16 * 1024];
    let mut tx = vec![0u8; 2048];
    let mut session = vec![0u8; 16 * 1024];
    let mut creds = vec![0u8; CREDENTIALS_LEN];
    let mut job_buf = vec![0u8; 4096];
    let version = opts.version.clone();
    let device = Device::new(
        provider,
        TcpTransport::new(),
        SystemClock::new(),
        store,
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
            session: &mut session,
        },
    )
    .with_credentials_buffer(&mut creds)
    .with_ota(Firmware::new(&version), &mut job_buf);
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
        let device = device.register().await.map_err(|(_, e)| e.to_string())?;
        let mut device = device.connect().await.map_err(|(_, e)| e.to_string())?;
        loop {
            let next = tokio::select! {
                _ = &mut stop => break,
                ev = device.next_event() => match ev {
                    Ok(ev) => describe(&ev),
                    Err(e) => {
                        log(&format!("error: {e}"));
                        if device.is_connected() { Next::Go } else { Next::Reconnect }
                    }
                },
            };
            match next {
                Next::Go => {}
                Next::Download(shown) => {
                    let Some(dir) = &opts.ota_dir else {
                        log(&format!("ota: not downloading {shown}: no ota_dir given"));
                        continue;
                    };
                    let version = device
                        .ota_job()
                        .map(|j| j.version.to_owned())
                        .unwrap_or_default();
                    let path = dir.join(format!("firmware-{}.bin", safe_name(&version)));
                    let mut sink = FileSink::new(&path);
                    let mut http = TcpTransport::new();
                    let mut work = vec![0u8; 4096 + 16 * 1024];
                    let settings = DownloadSettings::default();
                    let result = device
                        .download_ota(&mut http, &mut sink, &mut work, &settings, |e| match e {
                            OtaEvent::Progress(p) => bar(&p),
                            OtaEvent::Retrying { progress, delay_ms } => log(&format!(
                                "\nota: connection lost at {} bytes; retrying in {delay_ms} ms",
                                progress.received
                            )),
                            OtaEvent::Event(ev) => {
                                let _ = describe(&ev);
                            }
                            OtaEvent::Error(e) => log(&format!("error: {e}")),
                            _ => {}
                        })
                        .await;
                    eprintln!();
                    match result {
                        Ok(len) => log(&format!(
                            "ota: {len} bytes verified and saved to {}",
                            path.display()
                        )),
                        Err(e) => log(&format!("ota: failed: {e} ({})", e.failure())),
                    }
                }
                Next::Reconnect => {
                    let registered = device.disconnect().await;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    device = match registered.connect().await {
                        Ok(d) => d,
                        Err((_, e)) => return Err(format!("reconnect failed: {e}")),
                    };
                }
            }
        }
        let _ = device.disconnect().await;
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
        Event::Disconnected(reason) => {
            log(&format!("disconnected: {reason}"));
            return Next::Reconnect;
        }
        other => log(&format!("event {other:?}")),
    }
    Next::Go
}

fn show_job(job: &OtaJob<'_>) -> String {
    format!(
        "version={} size={} digest={}",
        job.version,
        job.size.map_or("unknown".into(), |s| s.to_string()),
        job.digest
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
