//! Fetching an image: HTTP(S) GET into a [`FirmwareSink`], the digest computed as bytes
//! arrive, `Range` resumes after a dropped connection, and a checkpoint in the
//! [`KvStore`] so that a reboot resumes too.

use core::fmt::Write as _;

use md5::Md5;
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest as _, Sha256};

use super::job::{DigestAlgorithm, OtaJob};
use super::sink::FirmwareSink;
use super::status::OtaFailure;
use crate::clock::{Clock, with_deadline};
use crate::http::client::{Exchange, Redirects, Request};
use crate::http::{HttpError, Url};
use crate::kv::{KvStore, StoreError};
use crate::record;
use crate::register::Fields;
use crate::transport::{ServerAuth, Transport};

/// Smallest work buffer a download takes: a response head and a piece of body.
pub const MIN_DOWNLOAD_BUFFER: usize = 1024;

/// Bytes a connection must deliver in every [`DownloadSettings::stall_timeout_ms`].
pub const STALL_BYTES: u64 = 1024;

/// How a download behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadSettings<'a> {
    /// How HTTPS servers are checked (default: the platform's roots).
    pub server: ServerAuth<'a>,
    /// Longest wait for connecting and for each read (default 30 s).
    pub timeout_ms: u64,
    /// Longest a connection may go on delivering less than [`STALL_BYTES`]: it is then
    /// dropped and retried as a silent one is, so a server trickling a byte at a time
    /// cannot hold the device (default 60 s).
    pub stall_timeout_ms: u64,
    /// Longest the whole download may take, retries included; the checkpoint is kept for
    /// a later call (default 30 min).
    pub total_timeout_ms: u64,
    /// Redirects followed, never from HTTPS to HTTP (default 5).
    pub max_redirects: u8,
    /// Failed attempts in a row, without a byte of progress between them, before giving
    /// up (default 8).
    pub max_attempts: u32,
    /// Wait before the first retry; it doubles with each failure in a row (default 1 s).
    pub retry_delay_ms: u64,
    /// Longest wait between retries (default 30 s).
    pub max_retry_delay_ms: u64,
    /// Bytes between checkpoints in the store (default 64 KiB; 0: no checkpoints).
    pub checkpoint_every: u64,
    /// Smallest step in percent between progress reports (default 5).
    pub progress_step: u8,
    /// Shortest time between progress reports (default 2 s).
    pub progress_interval_ms: u64,
}

impl Default for DownloadSettings<'_> {
    fn default() -> Self {
        DownloadSettings {
            server: ServerAuth::DefaultRoots,
            timeout_ms: 30_000,
            stall_timeout_ms: 60_000,
            total_timeout_ms: 30 * 60_000,
            max_redirects: 5,
            max_attempts: 8,
            retry_delay_ms: 1_000,
            max_retry_delay_ms: 30_000,
            checkpoint_every: 64 * 1024,
            progress_step: 5,
            progress_interval_ms: 2_000,
        }
    }
}

/// How far a download has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the image held so far.
    pub received: u64,
    /// Size of the image, if known.
    pub total: Option<u64>,
    /// `received` as a share of `total`.
    pub percent: Option<u8>,
    /// Where this download started: non-zero when it resumed a checkpoint.
    pub resumed_from: u64,
    /// Connections made so far (1 without drops).
    pub connections: u32,
}

/// What a download needs from whoever runs it: the store for checkpoints, and someone to
/// tell about progress. The device implements it to publish progress to the cloud and to
/// keep its MQTT connection serviced between pieces of the image; [`Quiet`] only stores.
#[allow(async_fn_in_trait)]
pub trait DownloadHost {
    /// The store checkpoints go to.
    type Store: KvStore;

    /// The store.
    fn store(&mut self) -> &mut Self::Store;

    /// Progress, throttled by [`DownloadSettings::progress_step`] and
    /// [`DownloadSettings::progress_interval_ms`]; the last report is at 100 %, after the
    /// image verified.
    async fn progress(&mut self, progress: Progress) {
        let _ = progress;
    }

    /// Called between pieces of the image: a moment to service other connections.
    async fn idle(&mut self) {}

    /// A connection dropped or failed and the download will retry after `delay_ms`.
    async fn retrying(&mut self, progress: Progress, delay_ms: u64) {
        let _ = (progress, delay_ms);
    }
}

/// A [`DownloadHost`] that keeps checkpoints in a store and reports nothing.
pub struct Quiet<'a, K>(pub &'a mut K);

impl<K: KvStore> DownloadHost for Quiet<'_, K> {
    type Store = K;

    fn store(&mut self) -> &mut K {
        self.0
    }
}

/// Why a download failed. Texts never contain URLs or tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtaError<E, S> {
    /// The job's URL cannot be fetched.
    #[error("download URL: {0}")]
    Url(#[from] crate::http::UrlError),
    /// HTTP failed, after the retries the settings allow when it was worth retrying.
    #[error("download: {0}")]
    Http(HttpError<E>),
    /// The server answered with a status that is not the image.
    #[error("download: HTTP status {0}")]
    Status(u16),
    /// The server's idea of the size differs from the job's, or more bytes came than the
    /// job announced.
    #[error("image size mismatch: expected {expected} bytes, server has {actual}")]
    SizeMismatch {
        /// Size the job announced.
        expected: u64,
        /// Size the server announced or sent.
        actual: u64,
    },
    /// The image is larger than the firmware sink can hold
    /// ([`FirmwareSink::capacity`]): announced so by the job or the server (nothing was
    /// written), or more bytes came. The sink was aborted.
    #[error("image of {size} bytes does not fit the firmware storage ({capacity} bytes)")]
    TooLarge {
        /// Size announced, or bytes received so far.
        size: u64,
        /// What the sink holds.
        capacity: u64,
    },
    /// The download took longer than [`DownloadSettings::total_timeout_ms`]. What arrived
    /// is checkpointed for a later call.
    #[error("download took longer than {limit_ms} ms")]
    TookTooLong {
        /// The limit.
        limit_ms: u64,
    },
    /// The whole image arrived and its digest is not the job's. The sink was aborted.
    #[error("image digest mismatch")]
    DigestMismatch,
    /// The firmware sink failed; the download was aborted.
    #[error("firmware sink: {0:?}")]
    Sink(S),
    /// The sink's `begin` returned an offset it was not asked for.
    #[error("firmware sink resumed at an offset it was not asked for")]
    SinkResume,
    /// The work buffer is smaller than [`MIN_DOWNLOAD_BUFFER`].
    #[error("download buffer of {0} bytes is too small")]
    BufferTooSmall(usize),
    /// Another upgrade is in progress.
    #[error("another upgrade is in progress")]
    Busy,
    /// The device has no upgrade job.
    #[error("no upgrade job")]
    NoJob,
}

impl<E, S> OtaError<E, S> {
    /// The failure as clouds classify it, for the report.
    pub fn failure(&self) -> OtaFailure {
        match self {
            OtaError::Http(HttpError::Timeout) | OtaError::TookTooLong { .. } => {
                OtaFailure::Timeout
            }
            OtaError::TooLarge { .. } => OtaFailure::Storage,
            OtaError::Status(404 | 410) => OtaFailure::NotFound,
            OtaError::Status(401 | 403) => OtaFailure::Unauthorized,
            OtaError::SizeMismatch { .. } => OtaFailure::SizeMismatch,
            OtaError::DigestMismatch => OtaFailure::DigestMismatch,
            OtaError::Sink(_) | OtaError::SinkResume => OtaFailure::Storage,
            OtaError::Busy => OtaFailure::Busy,
            _ => OtaFailure::Download,
        }
    }
}

/// The network, time and memory a download works with.
pub struct DownloadIo<'r, T, C> {
    /// A transport for HTTP, separate from the MQTT connection's.
    pub transport: &'r mut T,
    /// The clock, for timeouts, retries and throttling.
    pub clock: &'r C,
    /// Work memory, at least [`MIN_DOWNLOAD_BUFFER`] bytes; more makes fewer, larger writes.
    pub buf: &'r mut [u8],
}

/// The store key of a job's checkpoint: `ota-` and 16 hex digits of a hash of what the
/// image is (version, module, size, digest), so a re-sent notice with a fresh URL finds
/// the same checkpoint.
pub fn checkpoint_key(job: &OtaJob<'_>) -> heapless::String<24> {
    let id = image_id(job);
    let mut key = heapless::String::new();
    let _ = key.push_str("ota-");
    for b in id {
        let _ = write!(key, "{b:02x}");
    }
    key
}

fn image_id(job: &OtaJob<'_>) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(job.version().as_bytes());
    h.update([0]);
    h.update(job.module().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(job.size().unwrap_or(u64::MAX).to_le_bytes());
    h.update(job.digest().as_bytes());
    let d = h.finalize();
    let mut id = [0u8; 8];
    id.copy_from_slice(&d[..8]);
    id
}

/// The digest of the bytes so far.
#[derive(Clone)]
enum Running {
    Md5(Md5),
    Sha256(Sha256),
}

/// Room for a serialised hash state (SHA-256: 32 state + 8 count + 64 block + 1).
const STATE_CAPACITY: usize = 128;

impl Running {
    fn new(algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Md5 => Running::Md5(Md5::new()),
            DigestAlgorithm::Sha256 => Running::Sha256(Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Running::Md5(h) => h.update(data),
            Running::Sha256(h) => h.update(data),
        }
    }

    fn matches(self, expected: &[u8]) -> bool {
        match self {
            Running::Md5(h) => h.finalize().as_slice() == expected,
            Running::Sha256(h) => h.finalize().as_slice() == expected,
        }
    }

    fn save(&self, out: &mut [u8; STATE_CAPACITY]) -> usize {
        let state = match self {
            Running::Md5(h) => copy_state(&h.serialize(), out),
            Running::Sha256(h) => copy_state(&h.serialize(), out),
        };
        state.unwrap_or(0)
    }

    fn load(algorithm: DigestAlgorithm, state: &[u8]) -> Option<Self> {
        Some(match algorithm {
            DigestAlgorithm::Md5 => Running::Md5(Md5::deserialize(state.try_into().ok()?).ok()?),
            DigestAlgorithm::Sha256 => {
                Running::Sha256(Sha256::deserialize(state.try_into().ok()?).ok()?)
            }
        })
    }
}

fn copy_state(state: &[u8], out: &mut [u8; STATE_CAPACITY]) -> Option<usize> {
    out.get_mut(..state.len())?.copy_from_slice(state);
    Some(state.len())
}

/// A checkpoint: the image id, the bytes held and the hash state after them.
struct Checkpoint {
    offset: u64,
    running: Running,
}

const CHECKPOINT_CAPACITY: usize = 2 * 4 + 8 + 8 + STATE_CAPACITY + record::SEAL_OVERHEAD;

async fn load_checkpoint<K: KvStore>(store: &mut K, job: &OtaJob<'_>) -> Option<Checkpoint> {
    let key = checkpoint_key(job);
    let mut buf = [0u8; CHECKPOINT_CAPACITY];
    let n = store.get(&key, &mut buf).await.ok()??;
    let range = record::open(&buf[..n])?;
    let mut fields = Fields::read(&buf[range]);
    let id = fields.next()?;
    let offset = u64::from_le_bytes(fields.next()?.try_into().ok()?);
    let state = fields.next()?;
    if id != image_id(job) {
        return None;
    }
    let running = Running::load(job.digest().algorithm(), state)?;
    Some(Checkpoint { offset, running })
}

async fn save_checkpoint<K: KvStore>(
    store: &mut K,
    job: &OtaJob<'_>,
    offset: u64,
    running: &Running,
) -> Result<(), StoreError> {
    let mut state = [0u8; STATE_CAPACITY];
    let state_len = running.save(&mut state);
    let mut buf = [0u8; CHECKPOINT_CAPACITY];
    let area = record::payload_area(CHECKPOINT_CAPACITY);
    let id = image_id(job);
    let offset = offset.to_le_bytes();
    let n = Fields::write(&mut buf[area], &[&id, &offset, &state[..state_len]])
        .ok_or(StoreError::Full)?;
    let sealed = record::seal(&mut buf, n).ok_or(StoreError::Full)?;
    store.set(&checkpoint_key(job), &buf[..sealed]).await
}

/// Removes a job's checkpoint (after success, or after a mismatch that makes it useless).
pub async fn forget_checkpoint<K: KvStore>(store: &mut K, job: &OtaJob<'_>) {
    // Nothing to do about a failure: a stale checkpoint is checked before use.
    let _ = store.remove(&checkpoint_key(job)).await;
}

/// Downloads `job` into `sink`, verifies it, and calls [`FirmwareSink::finish`]; returns
/// the image's length.
///
/// - Resumes from a checkpoint of the same image if the store has one and the sink kept
///   the bytes.
/// - A dropped connection or a failed read is retried with `Range: bytes={held}-`, after a
///   delay that doubles with each failure in a row; a server that ignores `Range` (answers
///   200) makes the download start again from zero, still verified.
/// - Sizes are checked against the job: `Content-Length`, `Content-Range` and the bytes
///   received. The digest is computed as bytes arrive and checked at the end; a mismatch
///   aborts the sink, so an unverified image is never finished.
/// - When retries run out, the sink is left as it is and the checkpoint kept, so a later
///   download of the same image resumes.
pub async fn download<T, C, F, H>(
    io: DownloadIo<'_, T, C>,
    job: &OtaJob<'_>,
    sink: &mut F,
    settings: &DownloadSettings<'_>,
    host: &mut H,
) -> Result<u64, OtaError<T::Error, F::Error>>
where
    T: Transport,
    C: Clock,
    F: FirmwareSink,
    H: DownloadHost,
{
    let DownloadIo {
        transport,
        clock,
        buf,
    } = io;
    if buf.len() < MIN_DOWNLOAD_BUFFER {
        return Err(OtaError::BufferTooSmall(buf.len()));
    }
    let url = Url::parse(job.url())?;
    let algorithm = job.digest().algorithm();
    let (mut offset, mut running) = match load_checkpoint(host.store(), job).await {
        Some(c) => (c.offset, c.running),
        None => (0, Running::new(algorithm)),
    };
    let capacity = sink.capacity();
    let fits = |size: u64| capacity.is_none_or(|c| size <= c);
    if let (Some(size), Some(capacity)) = (job.size(), capacity)
        && size > capacity
    {
        return Err(OtaError::TooLarge { size, capacity });
    }
    let deadline = clock.now_ms().saturating_add(settings.total_timeout_ms);
    let kept = sink
        .begin(job.size(), offset)
        .await
        .map_err(OtaError::Sink)?;
    if kept != offset {
        if kept != 0 {
            sink.abort().await;
            return Err(OtaError::SinkResume);
        }
        offset = 0;
        running = Running::new(algorithm);
    }
    let resumed_from = offset;
    let mut progress = Reporter {
        settings,
        last_percent: None,
        last_ms: 0,
        total: job.size(),
        resumed_from,
        connections: 0,
    };
    let mut checkpointed = offset;
    let mut failures: u32 = 0;
    // Split the work memory: the response head and read-ahead, then the piece handed on.
    let (ex_buf, piece) = buf.split_at_mut(buf.len() / 2);
    let mut range = heapless::String::<32>::new();
    let bearer = BearerHeader::new(job);

    loop {
        range.clear();
        let _ = write!(range, "bytes={offset}-");
        let mut headers = heapless::Vec::<(&str, &str), 2>::new();
        if offset > 0 {
            let _ = headers.push(("Range", range.as_str()));
        }
        if let Some(b) = bearer.value() {
            let _ = headers.push(("Authorization", b));
        }
        let request = Request {
            headers: &headers,
            timeout_ms: settings.timeout_ms,
            ..Request::get(url, settings.server)
        };
        progress.connections += 1;
        let attempt = async {
            let redirects = Redirects::Follow(settings.max_redirects);
            let mut ex = Exchange::start(transport, clock, &request, redirects, ex_buf)
                .await
                .map_err(Step::Http)?;
            let start = match ex.status() {
                206 => {
                    let (first, total) = ex
                        .header("content-range")
                        .and_then(parse_content_range)
                        .ok_or(Step::Status(206))?;
                    check_size(job.size(), total)?;
                    if let Some(total) = total.filter(|t| !fits(*t)) {
                        return Err(Step::TooLarge(total));
                    }
                    if first != offset {
                        // Not where we asked: start over from a clean request.
                        return Err(Step::Restart);
                    }
                    first
                }
                200 => {
                    if let Some(len) = ex.content_length() {
                        check_size(job.size(), Some(len))?;
                        if !fits(len) {
                            return Err(Step::TooLarge(len));
                        }
                    }
                    0
                }
                s => return Err(Step::Status(s)),
            };
            if start == 0 && offset != 0 {
                // The server ignored `Range`: everything comes again, from byte 0.
                sink.begin(job.size(), 0).await.map_err(Step::Sink)?;
                offset = 0;
                running = Running::new(algorithm);
                checkpointed = 0;
            }
            // Where this connection's current stall window began, and at which offset.
            let mut window = (clock.now_ms(), offset);
            loop {
                let n = ex.read(piece).await.map_err(Step::Http)?;
                if n == 0 {
                    return Ok(());
                }
                let end = offset + n as u64;
                if let Some(size) = job.size()
                    && end > size
                {
                    return Err(Step::Size(end));
                }
                if !fits(end) {
                    return Err(Step::TooLarge(end));
                }
                let now = clock.now_ms();
                if end - window.1 >= STALL_BYTES {
                    window = (now, end);
                } else if now.saturating_sub(window.0) >= settings.stall_timeout_ms {
                    return Err(Step::Http(HttpError::Timeout));
                }
                sink.write_at(offset, &piece[..n])
                    .await
                    .map_err(Step::Sink)?;
                running.update(&piece[..n]);
                offset = end;
                failures = 0;
                if settings.checkpoint_every > 0
                    && offset - checkpointed >= settings.checkpoint_every
                {
                    let _ = save_checkpoint(host.store(), job, offset, &running).await;
                    checkpointed = offset;
                }
                progress
                    .maybe_report(host, clock.now_ms(), offset, false)
                    .await;
                host.idle().await;
            }
        };
        let outcome = with_deadline(clock, deadline, attempt)
            .await
            .unwrap_or(Err(Step::TookTooLong));
        transport.close().await;
        let last = failures + 1 >= settings.max_attempts;
        let give_up = match outcome {
            Ok(()) if job.size().is_none_or(|size| offset == size) => break,
            // A body that ended early without saying so (no Content-Length): retry.
            Ok(()) => last.then_some(OtaError::Http(HttpError::Truncated {
                expected: job.size(),
                received: offset,
            })),
            Err(Step::Restart) => last.then_some(OtaError::Status(206)),
            Err(Step::Http(e)) if retryable(&e) => last.then_some(OtaError::Http(e)),
            Err(Step::Status(s)) if s >= 500 || s == 408 || s == 429 => {
                last.then_some(OtaError::Status(s))
            }
            Err(e) => Some(match e {
                Step::Http(e) => OtaError::Http(e),
                Step::Status(s) => OtaError::Status(s),
                Step::Size(actual) => OtaError::SizeMismatch {
                    expected: job.size().unwrap_or(0),
                    actual,
                },
                Step::Sink(e) => OtaError::Sink(e),
                Step::Restart => OtaError::Status(206),
                Step::TooLarge(size) => OtaError::TooLarge {
                    size,
                    capacity: capacity.unwrap_or(0),
                },
                Step::TookTooLong => OtaError::TookTooLong {
                    limit_ms: settings.total_timeout_ms,
                },
            }),
        };
        if let Some(err) = give_up {
            settle(sink, host.store(), job, offset, &running, &err).await;
            return Err(err);
        }
        // Retry: keep what we have, wait, and ask for the rest.
        failures += 1;
        if offset > checkpointed {
            let _ = save_checkpoint(host.store(), job, offset, &running).await;
            checkpointed = offset;
        }
        let delay = backoff(settings, failures);
        if clock.now_ms().saturating_add(delay) >= deadline {
            let err = OtaError::TookTooLong {
                limit_ms: settings.total_timeout_ms,
            };
            settle(sink, host.store(), job, offset, &running, &err).await;
            return Err(err);
        }
        host.retrying(progress.snapshot(offset), delay).await;
        clock
            .sleep_until(clock.now_ms().saturating_add(delay))
            .await;
    }

    if let Some(size) = job.size()
        && offset != size
    {
        sink.abort().await;
        forget_checkpoint(host.store(), job).await;
        return Err(OtaError::SizeMismatch {
            expected: size,
            actual: offset,
        });
    }
    if !running.matches(job.digest().as_bytes()) {
        sink.abort().await;
        forget_checkpoint(host.store(), job).await;
        return Err(OtaError::DigestMismatch);
    }
    progress
        .maybe_report(host, clock.now_ms(), offset, true)
        .await;
    let finished = sink.finish(offset).await;
    forget_checkpoint(host.store(), job).await;
    match finished {
        Ok(()) => Ok(offset),
        Err(e) => {
            sink.abort().await;
            Err(OtaError::Sink(e))
        }
    }
}

/// What a download that gives up leaves behind. Something to resume from (bytes of an
/// image that may still be good) is checkpointed; nothing at all, or an image that cannot
/// be right (wrong size, too large, a failed sink), is cleared away, the sink's partial
/// image and the checkpoint both.
async fn settle<F: FirmwareSink, K: KvStore, E>(
    sink: &mut F,
    store: &mut K,
    job: &OtaJob<'_>,
    offset: u64,
    running: &Running,
    err: &OtaError<E, F::Error>,
) {
    let worthless = matches!(
        err,
        OtaError::SizeMismatch { .. } | OtaError::TooLarge { .. } | OtaError::Sink(_)
    );
    if worthless || offset == 0 {
        sink.abort().await;
        forget_checkpoint(store, job).await;
    } else {
        let _ = save_checkpoint(store, job, offset, running).await;
    }
}

/// How one connection's attempt ended.
enum Step<E, S> {
    Http(HttpError<E>),
    Status(u16),
    Size(u64),
    Sink(S),
    Restart,
    TooLarge(u64),
    TookTooLong,
}

impl<E, S> From<SizeError> for Step<E, S> {
    fn from(e: SizeError) -> Self {
        Step::Size(e.0)
    }
}

struct SizeError(u64);

fn check_size(expected: Option<u64>, announced: Option<u64>) -> Result<(), SizeError> {
    match (expected, announced) {
        (Some(e), Some(a)) if e != a => Err(SizeError(a)),
        _ => Ok(()),
    }
}

fn retryable<E>(e: &HttpError<E>) -> bool {
    matches!(
        e,
        HttpError::Transport(_)
            | HttpError::Timeout
            | HttpError::Closed
            | HttpError::Truncated { .. }
    )
}

fn backoff(settings: &DownloadSettings<'_>, failures: u32) -> u64 {
    let shift = failures.saturating_sub(1).min(20);
    settings
        .retry_delay_ms
        .saturating_mul(1 << shift)
        .min(settings.max_retry_delay_ms)
}

/// `bytes {first}-{last}/{total}` (total may be `*`).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let first: u64 = first.trim().parse().ok()?;
    let last: u64 = last.trim().parse().ok()?;
    if last < first {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((first, total))
}

/// `Bearer {token}`, built on the stack when the job carries a token, or the job's own
/// `Authorization` value when it carries that instead.
struct BearerHeader {
    text: heapless::String<{ Self::CAPACITY }>,
    ok: bool,
}

impl BearerHeader {
    const CAPACITY: usize = 1024;

    fn new(job: &OtaJob<'_>) -> Self {
        let mut text = heapless::String::new();
        let ok = match (job.bearer_token(), job.authorization()) {
            (Some(t), _) => write!(text, "Bearer {t}").is_ok(),
            (None, Some(a)) => text.push_str(a).is_ok(),
            (None, None) => false,
        };
        BearerHeader { text, ok }
    }

    fn value(&self) -> Option<&str> {
        self.ok.then_some(self.text.as_str())
    }
}

struct Reporter<'s, 'a> {
    settings: &'s DownloadSettings<'a>,
    last_percent: Option<u8>,
    last_ms: u64,
    total: Option<u64>,
    resumed_from: u64,
    connections: u32,
}

impl Reporter<'_, '_> {
    fn snapshot(&self, received: u64) -> Progress {
        let percent = self
            .total
            .map(|t| (received.min(t) * 100).checked_div(t).unwrap_or(100) as u8);
        Progress {
            received,
            total: self.total,
            percent,
            resumed_from: self.resumed_from,
            connections: self.connections,
        }
    }

    async fn maybe_report<H: DownloadHost>(
        &mut self,
        host: &mut H,
        now: u64,
        received: u64,
        last: bool,
    ) {
        let p = self.snapshot(received);
        let percent = p.percent.unwrap_or(0);
        let due = match self.last_percent {
            None => true,
            Some(prev) => {
                percent >= prev.saturating_add(self.settings.progress_step.max(1))
                    && now
                        >= self
                            .last_ms
                            .saturating_add(self.settings.progress_interval_ms)
            }
        };
        if last && self.last_percent != Some(100) || !last && due && percent < 100 {
            self.last_percent = Some(percent);
            self.last_ms = now;
            host.progress(p).await;
        }
    }
}
