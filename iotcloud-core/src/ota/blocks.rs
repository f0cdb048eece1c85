//! Fetching an image in blocks over the device's own MQTT connection, for clouds that
//! deliver small images that way (Aliyun's `dProtocol: mqtt`): ask for a block at an
//! offset, wait for the reply, check it, and take it, with the guarantees of the HTTP
//! download (checkpoints, the digest, retries, the overall limit) shared in `transfer.rs`.
//!
//! The provider words the requests and reads the replies
//! ([`OtaFormat::block_request`](super::OtaFormat::block_request),
//! [`OtaFormat::block_reply`](super::OtaFormat::block_reply)); a [`BlockHost`] (the
//! device) sends and receives them; [`download_blocks`] runs the exchange.

use core::ops::Range;

use super::download::{DownloadHost, DownloadSettings, OtaError};
use super::job::OtaJob;
use super::sink::FirmwareSink;
use super::transfer::{Stop, Transfer};
use crate::clock::Clock;
use crate::json::JsonError;

/// The smallest block a download over MQTT asks for: a receive memory that cannot hold a
/// reply carrying this many bytes of image is refused
/// ([`OtaError::ReceiveMemoryTooSmall`]).
pub const MIN_BLOCK: usize = 256;

/// Why a block reply was not taken. Texts name fields and sizes, never payload bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BlockError {
    /// The payload is shorter than the reply's framing.
    #[error("block reply of {0} bytes is shorter than its framing")]
    Short(usize),
    /// The header's length runs past the end of the payload.
    #[error("block reply header of {declared} bytes runs past the {available} bytes after it")]
    HeaderBeyondPayload {
        /// The header length the reply declares.
        declared: usize,
        /// The bytes the payload has after the length.
        available: usize,
    },
    /// The header is not JSON.
    #[error("block reply header is not JSON: {0}")]
    NotJson(JsonError),
    /// The header lacks a field, or has it in the wrong form.
    #[error("block reply header lacks a valid `{0}`")]
    MissingField(&'static str),
    /// The cloud refused the request with this code.
    #[error("block request refused with code {0}")]
    Refused(i64),
    /// The bytes after the header are not the block size the header declares (with the
    /// checksum, when the reply has one).
    #[error("block reply declares {declared} bytes and carries {actual}")]
    Length {
        /// The block size the header declares.
        declared: u64,
        /// The bytes after the header.
        actual: u64,
    },
    /// The block's checksum does not match its bytes.
    #[error("block checksum mismatch")]
    Checksum,
    /// The block is empty or larger than asked for.
    #[error("block of {actual} bytes for a request of {asked}")]
    Size {
        /// Bytes asked for.
        asked: u64,
        /// Bytes the block has.
        actual: u64,
    },
    /// Only replies for another offset came (late answers to earlier requests).
    #[error("block reply for offset {actual} while waiting for {asked}")]
    Offset {
        /// The offset asked for.
        asked: u64,
        /// The offset of the reply.
        actual: u64,
    },
}

/// What a provider found in an incoming message, for a download in blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockReply {
    /// Not a block reply: the message goes on as any other.
    NotBlock,
    /// A block reply that checked out in itself (framing, code, length, checksum).
    Block {
        /// Where the block belongs in the image.
        offset: u64,
        /// Where the block's bytes lie in the payload.
        data: Range<usize>,
        /// The image's size, when the reply says.
        total: Option<u64>,
    },
    /// A block reply that did not check out.
    Invalid(BlockError),
}

/// One block of an image, as a reply brought it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    /// Where the block belongs in the image.
    pub offset: u64,
    /// Its bytes.
    pub data: &'a [u8],
    /// The image's size, when the reply says.
    pub total: Option<u64>,
}

/// Why a [`BlockHost`] could not send a request or deliver a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockFailure {
    /// The connection is gone.
    LinkLost,
    /// A reply that did not check out (worth asking again).
    Invalid(BlockError),
    /// The provider has no block requests.
    Unsupported,
    /// The provider could not word the request.
    Request(crate::provider::ProviderError),
}

/// What a download in blocks needs besides a [`DownloadHost`]: a way to ask for a block
/// and to wait for replies. The device implements it over its MQTT connection, servicing
/// the connection's other traffic while it waits.
#[allow(async_fn_in_trait)]
pub trait BlockHost: DownloadHost {
    /// Sends the request for `len` bytes at `offset` of `job`'s image.
    async fn request_block(
        &mut self,
        job: &OtaJob<'_>,
        offset: u64,
        len: usize,
    ) -> Result<(), BlockFailure>;

    /// Waits for the next block reply, for any offset. Dropped at the reply deadline, so
    /// it must be cancel-safe.
    async fn next_block(&mut self) -> Result<Block<'_>, BlockFailure>;
}

/// How one request's attempt ended.
enum Fail<S> {
    Link,
    Unsupported,
    Request(crate::provider::ProviderError),
    /// No reply in time; the stray reply seen meanwhile, if any.
    NoReply(Option<BlockError>),
    Invalid(BlockError),
    Stop(Stop<S>),
    /// The cloud's idea of the image's size differs from the job's.
    Total(u64),
    TookTooLong,
}

impl<S> From<BlockFailure> for Fail<S> {
    fn from(f: BlockFailure) -> Self {
        match f {
            BlockFailure::LinkLost => Fail::Link,
            BlockFailure::Invalid(e) => Fail::Invalid(e),
            BlockFailure::Unsupported => Fail::Unsupported,
            BlockFailure::Request(e) => Fail::Request(e),
        }
    }
}

/// Downloads `job` (one with a [`OtaJob::stream`] and a size) in blocks of at most
/// `block` bytes through `host` into `sink`, verifies it, and calls
/// [`FirmwareSink::finish`]; returns the image's length.
///
/// - Resumes from a checkpoint of the same image if the store has one and the sink kept
///   the bytes: the first block asked for starts there.
/// - Every reply is checked: the provider checks its framing, code, length and checksum;
///   here its offset (a reply for another offset, a late answer to an earlier request,
///   is passed over), its size (not empty, not more than asked) and the image size it
///   names. A reply that does not come within [`DownloadSettings::timeout_ms`], or does
///   not check out, is asked for again after a delay that doubles with each failure in a
///   row, up to [`DownloadSettings::max_attempts`].
/// - The digest is computed as blocks arrive and checked at the end; a size or digest
///   mismatch aborts the sink, so an unverified image is never finished.
/// - A lost connection ends the download at once with [`OtaError::LinkLost`], the
///   checkpoint kept for the next call.
pub async fn download_blocks<E, C, F, H>(
    clock: &C,
    job: &OtaJob<'_>,
    sink: &mut F,
    settings: &DownloadSettings<'_>,
    block: usize,
    host: &mut H,
) -> Result<u64, OtaError<E, F::Error>>
where
    C: Clock,
    F: FirmwareSink,
    H: BlockHost,
{
    let Some(total) = job.size() else {
        return Err(OtaError::Block(BlockError::MissingField("size")));
    };
    let block = block.max(1) as u64;
    let mut transfer = Transfer::start(job, sink, settings, clock, host).await?;
    while transfer.offset() < total {
        let offset = transfer.offset();
        let asked = block.min(total - offset);
        transfer.attempt();
        debug!("OTA block request: {} bytes at {}", asked, offset);
        let deadline = transfer.deadline();
        let attempt = async {
            host.request_block(job, offset, asked as usize).await?;
            let reply_by = clock.now_ms().saturating_add(settings.timeout_ms);
            let mut stray = None;
            loop {
                let reply = within!(clock, reply_by, host.next_block());
                let b = match reply {
                    None => return Err(Fail::NoReply(stray)),
                    Some(reply) => reply?,
                };
                if let Some(t) = b.total.filter(|t| *t != total) {
                    return Err(Fail::Total(t));
                }
                if b.offset != offset {
                    debug!(
                        "OTA block for {} passed over, waiting for {}",
                        b.offset, offset
                    );
                    stray = Some(BlockError::Offset {
                        asked: offset,
                        actual: b.offset,
                    });
                    continue;
                }
                let len = b.data.len() as u64;
                if len == 0 || len > asked {
                    return Err(Fail::Invalid(BlockError::Size { asked, actual: len }));
                }
                transfer.write(b.data).await.map_err(Fail::Stop)?;
                break;
            }
            transfer.wrote(host).await;
            Ok(())
        };
        let outcome = within!(clock, deadline, attempt).unwrap_or(Err(Fail::TookTooLong));
        let last = transfer.last_attempt();
        let give_up = match outcome {
            Ok(()) => continue,
            Err(Fail::NoReply(stray)) => {
                last.then(|| stray.map_or(OtaError::NoReply, OtaError::Block))
            }
            Err(Fail::Invalid(e)) => {
                info!("OTA block at {} refused: {:?}", offset, e);
                last.then_some(OtaError::Block(e))
            }
            Err(Fail::Link) => Some(OtaError::LinkLost),
            Err(Fail::Unsupported) => Some(OtaError::OverMqtt),
            Err(Fail::Request(e)) => Some(OtaError::Request(e)),
            Err(Fail::Stop(stop)) => Some(transfer.stopped(stop)),
            Err(Fail::Total(actual)) => Some(OtaError::SizeMismatch {
                expected: total,
                actual,
            }),
            Err(Fail::TookTooLong) => Some(OtaError::TookTooLong {
                limit_ms: settings.total_timeout_ms,
            }),
        };
        transfer.retry(host, give_up).await?;
    }
    transfer.finish(host).await
}

#[cfg(test)]
mod tests;
