//! Firmware updates over the air: the job a cloud announces ([`OtaJob`]), its download into
//! a [`FirmwareSink`] ([`download`]), and the progress reported back ([`OtaStatus`]).
//!
//! The provider reads its cloud's upgrade notice into a job and words the reports; the
//! core fetches and verifies; the application decides when to download and when to apply.

mod api;
mod download;
mod format;
mod job;
mod sink;
mod status;

pub use api::call;
pub use download::{
    DownloadHost, DownloadIo, DownloadSettings, MIN_DOWNLOAD_BUFFER, OtaError, Progress, Quiet,
    STALL_BYTES, checkpoint_key, download, forget_checkpoint,
};
pub use format::{NoOta, OtaFormat};
pub use job::{
    DigestAlgorithm, ExpectedDigest, JobFields, JobText, Notice, OtaJob, OtaNoticeError, encode_job,
};
pub use sink::FirmwareSink;
pub use status::{Firmware, OtaContext, OtaFailure, OtaStatus, OtaSupport};
