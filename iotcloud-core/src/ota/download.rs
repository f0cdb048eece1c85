//! Fetching an image: HTTP(S) GET into a [`FirmwareSink`], the digest computed as bytes
//! arrive, `Range` resumes after a dropped connection, and a checkpoint in the
//! [`KvStore`] so that a reboot resumes too. What it shares with the download in blocks
//! over MQTT ([`download_blocks`](super::download_blocks)) is in `transfer.rs`.

use core::fmt::Write as _;

use super::blocks::BlockError;
use super::job::OtaJob;
use super::sink::FirmwareSink;
use super::status::OtaFailure;
use super::transfer::{Stop, Transfer};
use crate::clock::Clock;
use crate::http::client::{Exchange, Redirects, Request};
use crate::http::{HttpError, Url};
use crate::kv::KvStore;
use crate::provider::ProviderError;
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
    /// Longest wait for connecting and for each read, or, for a download in blocks over
    /// MQTT, for the reply to each block request (default 30 s).
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
    /// Largest block asked for in a download over MQTT (default 5 KiB); the device asks
    /// for less when its receive memory cannot hold a reply that large.
    pub block_size: usize,
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
            block_size: 5 * 1024,
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
    /// Connections made so far (1 without drops); for a download in blocks over MQTT, the
    /// block requests sent (one a block without losses).
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
    /// The job's image comes in blocks over MQTT ([`OtaJob::stream`]), which this download
    /// cannot fetch: an HTTP download was asked for it, or the provider cannot word block
    /// requests.
    #[error("the image is delivered over MQTT, not by URL")]
    OverMqtt,
    /// A block reply was malformed, refused, or not the block asked for, after the retries
    /// the settings allow. What arrived before is checkpointed.
    #[error("download over MQTT: {0}")]
    Block(BlockError),
    /// No reply to a block request within [`DownloadSettings::timeout_ms`], after the
    /// retries. What arrived before is checkpointed.
    #[error("download over MQTT: no reply to a block request")]
    NoReply,
    /// The MQTT connection the blocks come over was lost. What arrived is checkpointed: a
    /// download started again after the device reconnects resumes there.
    #[error("download over MQTT: the connection was lost")]
    LinkLost,
    /// The provider could not word a block request (a stream it cannot read, no room).
    #[error("download over MQTT: block request: {0}")]
    Request(ProviderError),
    /// The device's receive memory cannot hold a reply with a block of
    /// [`MIN_BLOCK`](super::MIN_BLOCK) bytes: `needed` is the least that would.
    #[error("receive memory of {capacity} bytes cannot hold a block reply ({needed} needed)")]
    ReceiveMemoryTooSmall {
        /// The receive memory's size.
        capacity: usize,
        /// The smallest that holds a reply with the smallest block.
        needed: usize,
    },
}

impl<E, S> OtaError<E, S> {
    /// The failure as clouds classify it, for the report.
    pub fn failure(&self) -> OtaFailure {
        match self {
            OtaError::Http(HttpError::Timeout)
            | OtaError::TookTooLong { .. }
            | OtaError::NoReply => OtaFailure::Timeout,
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

/// Downloads `job` into `sink`, verifies it, and calls [`FirmwareSink::finish`]; returns
/// the image's length. A job delivered over MQTT ([`OtaJob::stream`]) is refused with
/// [`OtaError::OverMqtt`].
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
    if job.stream().is_some() {
        return Err(OtaError::OverMqtt);
    }
    let url = Url::parse(job.url())?;
    let mut transfer = Transfer::start(job, sink, settings, clock, host).await?;
    // Split the work memory: the response head and read-ahead, then the piece handed on.
    let (ex_buf, piece) = buf.split_at_mut(buf.len() / 2);
    let mut range = heapless::String::<32>::new();
    let bearer = BearerHeader::new(job);

    loop {
        let offset = transfer.offset();
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
        transfer.attempt();
        let deadline = transfer.deadline();
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
                    if let Some(total) = total.filter(|t| !transfer.fits(*t)) {
                        return Err(Step::Stop(Stop::TooLarge(total)));
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
                        if !transfer.fits(len) {
                            return Err(Step::Stop(Stop::TooLarge(len)));
                        }
                    }
                    0
                }
                s => return Err(Step::Status(s)),
            };
            if start == 0 && offset != 0 {
                // The server ignored `Range`: everything comes again, from byte 0.
                transfer
                    .restart()
                    .await
                    .map_err(|e| Step::Stop(Stop::Sink(e)))?;
            }
            // Where this connection's current stall window began, and at which offset.
            let mut window = (clock.now_ms(), transfer.offset());
            loop {
                let n = ex.read(piece).await.map_err(Step::Http)?;
                if n == 0 {
                    return Ok(());
                }
                let end = transfer.offset() + n as u64;
                let now = clock.now_ms();
                if end - window.1 >= STALL_BYTES {
                    window = (now, end);
                } else if now.saturating_sub(window.0) >= settings.stall_timeout_ms {
                    return Err(Step::Http(HttpError::Timeout));
                }
                transfer.write(&piece[..n]).await.map_err(Step::Stop)?;
                transfer.wrote(host).await;
                host.idle().await;
            }
        };
        let outcome = within!(clock, deadline, attempt).unwrap_or(Err(Step::TookTooLong));
        transport.close().await;
        let last = transfer.last_attempt();
        let offset = transfer.offset();
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
                Step::Stop(stop) => transfer.stopped(stop),
                Step::Restart => OtaError::Status(206),
                Step::TookTooLong => OtaError::TookTooLong {
                    limit_ms: settings.total_timeout_ms,
                },
            }),
        };
        // Retry: keep what we have, wait, and ask for the rest.
        transfer.retry(host, give_up).await?;
    }
    transfer.finish(host).await
}

/// How one connection's attempt ended.
enum Step<E, S> {
    Http(HttpError<E>),
    Status(u16),
    Stop(Stop<S>),
    Restart,
    TookTooLong,
}

impl<E, S> From<SizeError> for Step<E, S> {
    fn from(e: SizeError) -> Self {
        Step::Stop(Stop::Size(e.0))
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
