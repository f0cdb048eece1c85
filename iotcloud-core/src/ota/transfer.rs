//! What every download shares, whichever way the bytes come (HTTP ranges or MQTT blocks):
//! the checkpoint in the store, the digest computed as bytes arrive, the sink written at
//! its offsets, throttled progress, retries counted and spaced within the overall limit,
//! and the final size and digest checks before the sink is finished.

use core::fmt::Write as _;

use md5::Md5;
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest as _, Sha256};

use super::download::{DownloadHost, DownloadSettings, OtaError, Progress};
use super::job::{DigestAlgorithm, OtaJob};
use super::sink::FirmwareSink;
use crate::clock::Clock;
use crate::kv::{KvStore, StoreError};
use crate::record;
use crate::register::Fields;

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

/// Why bytes offered to [`Transfer::write`] were not taken.
pub(super) enum Stop<S> {
    /// More bytes than the job announced: the end they would reach.
    Size(u64),
    /// More than the sink holds: the end they would reach.
    TooLarge(u64),
    /// The sink failed.
    Sink(S),
}

/// One download in progress, whatever brings its bytes.
pub(super) struct Transfer<'t, F, C> {
    job: &'t OtaJob<'t>,
    sink: &'t mut F,
    settings: &'t DownloadSettings<'t>,
    clock: &'t C,
    /// Bytes of the image held, verified into `running`.
    offset: u64,
    running: Running,
    checkpointed: u64,
    /// Failed attempts in a row, without a byte of progress between them.
    failures: u32,
    deadline: u64,
    capacity: Option<u64>,
    progress: Reporter<'t>,
}

impl<'t, F: FirmwareSink, C: Clock> Transfer<'t, F, C> {
    /// Resumes from a checkpoint of the same image if the store has one and the sink kept
    /// the bytes, or starts afresh; refuses an image announced larger than the sink.
    pub async fn start<H: DownloadHost, E>(
        job: &'t OtaJob<'t>,
        sink: &'t mut F,
        settings: &'t DownloadSettings<'t>,
        clock: &'t C,
        host: &mut H,
    ) -> Result<Self, OtaError<E, F::Error>> {
        let algorithm = job.digest().algorithm();
        let (mut offset, mut running) = match load_checkpoint(host.store(), job).await {
            Some(c) => (c.offset, c.running),
            None => (0, Running::new(algorithm)),
        };
        let capacity = sink.capacity();
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
        if offset > 0 {
            info!("OTA download resumes at {} bytes", offset);
        }
        Ok(Transfer {
            job,
            sink,
            settings,
            clock,
            offset,
            running,
            checkpointed: offset,
            failures: 0,
            deadline,
            capacity,
            progress: Reporter {
                settings,
                last_percent: None,
                last_ms: 0,
                total: job.size(),
                resumed_from: offset,
                connections: 0,
            },
        })
    }

    /// Bytes of the image held.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// When the whole download must have ended (from [`DownloadSettings::total_timeout_ms`]).
    pub fn deadline(&self) -> u64 {
        self.deadline
    }

    /// Whether an image of `size` bytes fits the sink.
    pub fn fits(&self, size: u64) -> bool {
        self.capacity.is_none_or(|c| size <= c)
    }

    /// A new attempt (a connection, a block request) begins.
    pub fn attempt(&mut self) {
        self.progress.connections += 1;
    }

    /// Whether a failure now would be the last one the settings allow in a row.
    pub fn last_attempt(&self) -> bool {
        self.failures + 1 >= self.settings.max_attempts
    }

    /// Starts the image again from byte 0 (a server that ignored the offset asked for).
    pub async fn restart(&mut self) -> Result<(), F::Error> {
        self.sink.begin(self.job.size(), 0).await?;
        self.offset = 0;
        self.running = Running::new(self.job.digest().algorithm());
        self.checkpointed = 0;
        Ok(())
    }

    /// Takes the next `piece` of the image: checked against the job's size and the sink's
    /// capacity, written at its offset, and added to the digest.
    pub async fn write(&mut self, piece: &[u8]) -> Result<(), Stop<F::Error>> {
        let end = self.offset + piece.len() as u64;
        if let Some(size) = self.job.size()
            && end > size
        {
            return Err(Stop::Size(end));
        }
        if !self.fits(end) {
            return Err(Stop::TooLarge(end));
        }
        self.sink
            .write_at(self.offset, piece)
            .await
            .map_err(Stop::Sink)?;
        self.running.update(piece);
        self.offset = end;
        self.failures = 0;
        Ok(())
    }

    /// After a write: a checkpoint when one is due, and progress.
    pub async fn wrote<H: DownloadHost>(&mut self, host: &mut H) {
        let every = self.settings.checkpoint_every;
        if every > 0 && self.offset - self.checkpointed >= every {
            let _ = save_checkpoint(host.store(), self.job, self.offset, &self.running).await;
            self.checkpointed = self.offset;
        }
        let now = self.clock.now_ms();
        self.progress
            .maybe_report(host, now, self.offset, false)
            .await;
    }

    /// The error for bytes [`Transfer::write`] did not take.
    pub fn stopped<E>(&self, stop: Stop<F::Error>) -> OtaError<E, F::Error> {
        match stop {
            Stop::Size(actual) => OtaError::SizeMismatch {
                expected: self.job.size().unwrap_or(0),
                actual,
            },
            Stop::TooLarge(size) => OtaError::TooLarge {
                size,
                capacity: self.capacity.unwrap_or(0),
            },
            Stop::Sink(e) => OtaError::Sink(e),
        }
    }

    /// After a failed attempt: gives up with `give_up` when it is set (leaving what can be
    /// resumed checkpointed, clearing away what cannot), or else keeps what arrived, waits
    /// a delay that doubles with each failure in a row, and returns for the next attempt.
    /// A delay that would pass the overall deadline gives up with
    /// [`OtaError::TookTooLong`].
    pub async fn retry<H: DownloadHost, E>(
        &mut self,
        host: &mut H,
        give_up: Option<OtaError<E, F::Error>>,
    ) -> Result<(), OtaError<E, F::Error>> {
        if let Some(err) = give_up {
            self.settle(host, &err).await;
            return Err(err);
        }
        self.failures += 1;
        if self.offset > self.checkpointed {
            let _ = save_checkpoint(host.store(), self.job, self.offset, &self.running).await;
            self.checkpointed = self.offset;
        }
        let delay = backoff(self.settings, self.failures);
        if self.clock.now_ms().saturating_add(delay) >= self.deadline {
            let err = OtaError::TookTooLong {
                limit_ms: self.settings.total_timeout_ms,
            };
            self.settle(host, &err).await;
            return Err(err);
        }
        host.retrying(self.progress.snapshot(self.offset), delay)
            .await;
        self.clock
            .sleep_until(self.clock.now_ms().saturating_add(delay))
            .await;
        Ok(())
    }

    /// What a download that gives up leaves behind. Something to resume from (bytes of an
    /// image that may still be good) is checkpointed; nothing at all, or an image that
    /// cannot be right (wrong size, too large, a failed sink), is cleared away, the sink's
    /// partial image and the checkpoint both.
    async fn settle<H: DownloadHost, E>(&mut self, host: &mut H, err: &OtaError<E, F::Error>) {
        let worthless = matches!(
            err,
            OtaError::SizeMismatch { .. } | OtaError::TooLarge { .. } | OtaError::Sink(_)
        );
        if worthless || self.offset == 0 {
            self.sink.abort().await;
            forget_checkpoint(host.store(), self.job).await;
        } else {
            let _ = save_checkpoint(host.store(), self.job, self.offset, &self.running).await;
        }
    }

    /// The last byte arrived: checks the size and the digest, reports 100 %, and finishes
    /// the sink (or aborts it). Returns the image's length.
    pub async fn finish<H: DownloadHost, E>(
        self,
        host: &mut H,
    ) -> Result<u64, OtaError<E, F::Error>> {
        let Transfer {
            job,
            sink,
            clock,
            offset,
            running,
            mut progress,
            ..
        } = self;
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
}

fn backoff(settings: &DownloadSettings<'_>, failures: u32) -> u64 {
    let shift = failures.saturating_sub(1).min(20);
    settings
        .retry_delay_ms
        .saturating_mul(1 << shift)
        .min(settings.max_retry_delay_ms)
}

struct Reporter<'t> {
    settings: &'t DownloadSettings<'t>,
    last_percent: Option<u8>,
    last_ms: u64,
    total: Option<u64>,
    resumed_from: u64,
    connections: u32,
}

impl Reporter<'_> {
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
