//! Firmware updates over the air: the job a cloud announces ([`OtaJob`]), its download into
//! a [`FirmwareSink`] (over HTTP: [`download`]; in blocks over MQTT: [`download_blocks`]),
//! and the progress reported back ([`OtaStatus`]).
//!
//! The provider reads its cloud's upgrade notice into a job and words the reports; the
//! core fetches and verifies; the application decides when to download and when to apply.

mod api;
mod blocks;
mod download;
mod format;
mod job;
mod sink;
mod status;
mod transfer;

pub use api::call;
pub use blocks::{
    Block, BlockError, BlockFailure, BlockHost, BlockReply, MIN_BLOCK, download_blocks,
};
pub use download::{
    DownloadHost, DownloadIo, DownloadSettings, MIN_DOWNLOAD_BUFFER, OtaError, Progress, Quiet,
    STALL_BYTES, download,
};
pub use format::{NoOta, OtaFormat};
pub use job::{
    DigestAlgorithm, ExpectedDigest, JobFields, JobText, Notice, OtaJob, OtaNoticeError, encode_job,
};
pub use sink::FirmwareSink;
pub use status::{Firmware, OtaContext, OtaFailure, OtaStatus, OtaSupport};
pub use transfer::{checkpoint_key, forget_checkpoint};
