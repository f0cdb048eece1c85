//! Firmware downloads over a misbehaving loopback server: drops, resumes, reboots,
//! corruption and refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use hal_host::{FileSink, FileStore, SystemClock, TcpTransport};
use iotcloud_core::http::HttpError;
use iotcloud_core::json::Value;
use iotcloud_core::ota::{
    self, DownloadIo, DownloadSettings, FirmwareSink, JobFields, OtaError, OtaFailure, OtaJob,
    Quiet,
};
use iotcloud_emulator::{DownloadFault, FirmwareServer};
use md5::{Digest as _, Md5};

fn image(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An encoded job for `bytes` at `url`, optionally with a bearer token.
fn job_bytes(url: &str, bytes: &[u8], token: Option<&str>) -> Vec<u8> {
    let token = token.map_or(String::new(), |t| format!(",\"token\":\"{t}\""));
    let json = format!(
        r#"{{"version":"2.0","url":"{url}","size":{},"md5":"{}"{token}}}"#,
        bytes.len(),
        hex(&Md5::digest(bytes))
    );
    let doc = Value::parse(json.as_bytes()).unwrap();
    let fields = JobFields {
        version: doc.get("version"),
        url: doc.get("url"),
        size: doc.get("size"),
        digest: doc.get("md5").map(|v| (ota::DigestAlgorithm::Md5, v)),
        token: doc.get("token"),
        ..JobFields::default()
    };
    let mut buf = vec![0u8; 1024];
    let n = fields.write(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn quick() -> DownloadSettings<'static> {
    DownloadSettings {
        retry_delay_ms: 10,
        max_retry_delay_ms: 50,
        checkpoint_every: 16 * 1024,
        timeout_ms: 3_000,
        ..DownloadSettings::default()
    }
}

type Result = std::result::Result<u64, OtaError<hal_host::HostError, std::io::Error>>;

async fn fetch(job: &[u8], dir: &Path, settings: &DownloadSettings<'_>) -> Result {
    let job = OtaJob::decode(job).unwrap();
    let mut store = FileStore::open(dir.join("store")).unwrap();
    let mut sink = FileSink::new(dir.join("fw.bin"));
    fetch_into(&job, &mut store, &mut sink, settings).await
}

async fn fetch_into<F: FirmwareSink<Error = std::io::Error>>(
    job: &OtaJob<'_>,
    store: &mut FileStore,
    sink: &mut F,
    settings: &DownloadSettings<'_>,
) -> Result {
    let mut transport = TcpTransport::new();
    let clock = SystemClock::new();
    let mut buf = vec![0u8; 8 * 1024];
    let io = DownloadIo {
        transport: &mut transport,
        clock: &clock,
        buf: &mut buf,
    };
    ota::download(io, job, sink, settings, &mut Quiet(store)).await
}

fn ranges(server: &FirmwareServer) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .map(|r| r.header("range").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_image_cut_off_three_times_arrives_whole_through_range_resumes() {
    let server = FirmwareServer::start().unwrap();
    let img = image(300_000);
    let url = server.add("/fw/2.0.bin", img.clone());
    for n in [50_000, 70_000, 90_000] {
        server.fail_next(DownloadFault::DropAfter(n));
    }
    let dir = tempfile::tempdir().unwrap();
    let len = fetch(&job_bytes(&url, &img, None), dir.path(), &quick())
        .await
        .unwrap();
    assert_eq!(len, img.len() as u64);
    assert_eq!(std::fs::read(dir.path().join("fw.bin")).unwrap(), img);
    assert!(!dir.path().join("fw.bin.part").exists());
    let ranges = ranges(&server);
    assert_eq!(ranges.len(), 4, "{ranges:?}");
    assert_eq!(ranges[0], None);
    // Each resume asks for exactly what is missing.
    let offsets: Vec<u64> = ranges[1..]
        .iter()
        .map(|r| {
            let r = r.as_deref().unwrap();
            r.trim_start_matches("bytes=")
                .trim_end_matches('-')
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(offsets, [50_000, 120_000, 210_000]);
    assert_eq!(server.bytes_sent(), img.len() as u64);
    // Success removes the checkpoint.
    let store_dir = dir.path().join("store");
    assert_eq!(std::fs::read_dir(store_dir).unwrap().count(), 0);
}

#[tokio::test]
async fn a_corrupted_image_is_rejected_and_never_finished() {
    let server = FirmwareServer::start().unwrap();
    let img = image(40_000);
    let url = server.add("/fw.bin", img.clone());
    server.fail_next(DownloadFault::Corrupt(12_345));
    let dir = tempfile::tempdir().unwrap();
    let err = fetch(&job_bytes(&url, &img, None), dir.path(), &quick())
        .await
        .unwrap_err();
    assert!(matches!(err, OtaError::DigestMismatch), "{err:?}");
    assert_eq!(err.failure(), OtaFailure::DigestMismatch);
    assert!(!dir.path().join("fw.bin").exists());
    assert!(!dir.path().join("fw.bin.part").exists());
}

#[tokio::test]
async fn a_server_that_ignores_range_makes_the_download_start_over_verified() {
    let server = FirmwareServer::start().unwrap();
    let img = image(100_000);
    let url = server.add("/fw.bin", img.clone());
    server.fail_next(DownloadFault::DropAfter(60_000));
    server.fail_next(DownloadFault::IgnoreRange);
    let dir = tempfile::tempdir().unwrap();
    fetch(&job_bytes(&url, &img, None), dir.path(), &quick())
        .await
        .unwrap();
    assert_eq!(std::fs::read(dir.path().join("fw.bin")).unwrap(), img);
    assert_eq!(ranges(&server)[1].as_deref(), Some("bytes=60000-"));
    assert_eq!(server.bytes_sent(), 160_000);
}

#[tokio::test]
async fn a_reboot_mid_download_resumes_from_the_stored_checkpoint() {
    let server = FirmwareServer::start().unwrap();
    let img = image(200_000);
    let url = server.add("/fw.bin", img.clone());
    let job = job_bytes(&url, &img, None);
    let dir = tempfile::tempdir().unwrap();
    // First boot: the link dies and the download gives up at once.
    server.fail_next(DownloadFault::DropAfter(120_000));
    let once = DownloadSettings {
        max_attempts: 1,
        ..quick()
    };
    let err = fetch(&job, dir.path(), &once).await.unwrap_err();
    assert_eq!(err.failure(), OtaFailure::Download);
    assert!(dir.path().join("fw.bin.part").exists());

    // Second boot: a new store object and sink over the same files.
    fetch(&job, dir.path(), &quick()).await.unwrap();
    assert_eq!(std::fs::read(dir.path().join("fw.bin")).unwrap(), img);
    let second = ranges(&server)[1].clone().unwrap();
    let from: u64 = second
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    // The last checkpoint before the cut: every 16 KiB, and at the give-up.
    assert_eq!(from, 120_000, "{second}");
    assert_eq!(server.bytes_sent(), 200_000);
}

#[tokio::test]
async fn refusals_and_lies_are_named_errors() {
    let server = FirmwareServer::start().unwrap();
    let img = image(5_000);
    let url = server.add("/fw.bin", img.clone());
    let job = job_bytes(&url, &img, None);
    let dir = tempfile::tempdir().unwrap();

    server.fail_next(DownloadFault::WrongLength(4_000));
    let err = fetch(&job, dir.path(), &quick()).await.unwrap_err();
    assert!(
        matches!(
            err,
            OtaError::SizeMismatch {
                expected: 5_000,
                actual: 4_000
            }
        ),
        "{err:?}"
    );

    server.fail_next(DownloadFault::Status(404));
    let err = fetch(&job, dir.path(), &quick()).await.unwrap_err();
    assert_eq!(err.failure(), OtaFailure::NotFound);

    server.fail_next(DownloadFault::Status(403));
    let err = fetch(&job, dir.path(), &quick()).await.unwrap_err();
    assert_eq!(err.failure(), OtaFailure::Unauthorized);

    for _ in 0..10 {
        server.fail_next(DownloadFault::RedirectToSelf);
    }
    let err = fetch(&job, dir.path(), &quick()).await.unwrap_err();
    assert!(
        matches!(err, OtaError::Http(HttpError::TooManyRedirects)),
        "{err:?}"
    );

    let missing = job_bytes(&format!("http://{}/nope.bin", server.addr()), &img, None);
    let err = fetch(&missing, dir.path(), &quick()).await.unwrap_err();
    assert!(matches!(err, OtaError::Status(404)), "{err:?}");

    // Refused jobs leave nothing behind: no empty partial image, no checkpoint.
    assert!(!dir.path().join("fw.bin.part").exists());
    assert!(!dir.path().join("fw.bin").exists());
    let left: Vec<_> = std::fs::read_dir(dir.path().join("store"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A sink whose storage fails after some bytes.
struct FullDisk {
    inner: FileSink,
    room: u64,
    aborted: bool,
}

impl FirmwareSink for FullDisk {
    type Error = std::io::Error;
    async fn begin(&mut self, size: Option<u64>, at: u64) -> std::io::Result<u64> {
        self.inner.begin(size, at).await
    }
    async fn write_at(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        if offset + data.len() as u64 > self.room {
            return Err(std::io::Error::other("no space"));
        }
        self.inner.write_at(offset, data).await
    }
    async fn finish(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.finish(len).await
    }
    async fn abort(&mut self) {
        self.aborted = true;
        self.inner.abort().await;
    }
}

#[tokio::test]
async fn a_sink_that_fails_to_write_aborts_the_download() {
    let server = FirmwareServer::start().unwrap();
    let img = image(50_000);
    let url = server.add("/fw.bin", img.clone());
    let job_buf = job_bytes(&url, &img, None);
    let job = OtaJob::decode(&job_buf).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = FileStore::open(dir.path().join("store")).unwrap();
    let mut sink = FullDisk {
        inner: FileSink::new(dir.path().join("fw.bin")),
        room: 20_000,
        aborted: false,
    };
    let err = fetch_into(&job, &mut store, &mut sink, &quick())
        .await
        .unwrap_err();
    assert!(matches!(err, OtaError::Sink(_)), "{err:?}");
    assert_eq!(err.failure(), OtaFailure::Storage);
    assert!(sink.aborted);
    assert!(!dir.path().join("fw.bin.part").exists());
}

#[tokio::test]
async fn a_bearer_token_from_the_job_is_presented_to_the_server() {
    let server = FirmwareServer::start().unwrap();
    let img = image(3_000);
    let url = server.add_with_token("/fw.bin", img.clone(), "tok-123");
    let dir = tempfile::tempdir().unwrap();
    fetch(
        &job_bytes(&url, &img, Some("tok-123")),
        dir.path(),
        &quick(),
    )
    .await
    .unwrap();
    let err = fetch(&job_bytes(&url, &img, None), dir.path(), &quick())
        .await
        .unwrap_err();
    assert_eq!(err.failure(), OtaFailure::Unauthorized);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer tok-123")
    );
}

/// A job with no announced size, for a server that says nothing of it either.
fn job_without_size(url: &str, bytes: &[u8]) -> Vec<u8> {
    let json = format!(
        r#"{{"version":"2.0","url":"{url}","md5":"{}"}}"#,
        hex(&Md5::digest(bytes))
    );
    let doc = Value::parse(json.as_bytes()).unwrap();
    let fields = JobFields {
        version: doc.get("version"),
        url: doc.get("url"),
        digest: doc.get("md5").map(|v| (ota::DigestAlgorithm::Md5, v)),
        ..JobFields::default()
    };
    let mut buf = vec![0u8; 1024];
    let n = fields.write(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[tokio::test]
async fn an_image_larger_than_the_sink_is_refused_before_a_byte_and_stopped_if_unannounced() {
    let server = FirmwareServer::start().unwrap();
    let img = image(50_000);
    let url = server.add("/fw.bin", img.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut store = FileStore::open(dir.path().join("store")).unwrap();

    // Announced by the job: refused before connecting.
    let job_buf = job_bytes(&url, &img, None);
    let job = OtaJob::decode(&job_buf).unwrap();
    let mut sink = FileSink::new(dir.path().join("fw.bin")).with_capacity(20_000);
    let err = fetch_into(&job, &mut store, &mut sink, &quick())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OtaError::TooLarge {
                size: 50_000,
                capacity: 20_000
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.failure(), OtaFailure::Storage);
    assert!(server.requests().is_empty(), "nothing was fetched");
    assert!(!dir.path().join("fw.bin.part").exists());

    // Announced by the server only: refused before the first byte of the body.
    let job_buf = job_without_size(&url, &img);
    let job = OtaJob::decode(&job_buf).unwrap();
    let err = fetch_into(&job, &mut store, &mut sink, &quick())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OtaError::TooLarge { size: 50_000, .. }),
        "{err:?}"
    );
    assert!(!dir.path().join("fw.bin.part").exists());

    // Announced by nobody: stopped once more than the limit has come.
    server.fail_next(DownloadFault::NoLength);
    let err = fetch_into(&job, &mut store, &mut sink, &quick())
        .await
        .unwrap_err();
    match err {
        OtaError::TooLarge { size, capacity } => {
            assert_eq!(capacity, 20_000);
            assert!(size > 20_000 && size < 30_000, "{size}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir.path().join("fw.bin.part").exists());
    assert!(!dir.path().join("fw.bin").exists());
}

#[tokio::test]
async fn a_trickling_server_is_dropped_and_a_slow_download_ends_at_its_deadline() {
    let server = FirmwareServer::start().unwrap();
    let img = image(8_000);
    let url = server.add("/fw.bin", img.clone());
    let job = job_bytes(&url, &img, None);
    let settings = DownloadSettings {
        stall_timeout_ms: 300,
        ..quick()
    };

    // One connection trickles a byte every 20 ms: dropped after 300 ms, the next one
    // brings the rest.
    server.fail_next(DownloadFault::Trickle(20));
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    assert_eq!(fetch(&job, dir.path(), &settings).await.unwrap(), 8_000);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(server.requests().len(), 2);

    // Every connection trickles: the whole download ends at its deadline.
    for _ in 0..20 {
        server.fail_next(DownloadFault::Trickle(20));
    }
    let settings = DownloadSettings {
        total_timeout_ms: 1_000,
        max_attempts: 100,
        ..settings
    };
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let err = fetch(&job, dir.path(), &settings).await.unwrap_err();
    assert!(
        matches!(err, OtaError::TookTooLong { limit_ms: 1_000 }),
        "{err:?}"
    );
    assert_eq!(err.failure(), OtaFailure::Timeout);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
