//! What a device tells its cloud about an upgrade, in cloud-neutral terms; each provider
//! words it in its cloud's format (`Provider::ota_report`).

use core::fmt;

/// Where an upgrade stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OtaStatus {
    /// Downloading: `percent` of the image has arrived (0–100).
    Downloading {
        /// Share of the image received.
        percent: u8,
    },
    /// The image is whole and verified; it is being installed (Tencent's "burning").
    Installing,
    /// The new firmware runs. Most clouds confirm an upgrade only when the device reports
    /// the new version, which the device does on connect.
    Done,
    /// The upgrade failed.
    Failed(OtaFailure),
}

/// Why an upgrade failed, in the terms clouds have codes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OtaFailure {
    /// The download failed (connection, HTTP status, server misbehaviour).
    Download,
    /// The server stopped answering.
    Timeout,
    /// The server has no such file (HTTP 404 or 410).
    NotFound,
    /// The server refused the download's credentials (HTTP 401 or 403): an expired URL
    /// or token.
    Unauthorized,
    /// The image's digest did not match the job's.
    DigestMismatch,
    /// The image's size did not match the job's.
    SizeMismatch,
    /// The firmware storage refused a write or has no room.
    Storage,
    /// Installing failed.
    Install,
    /// The device is busy with another upgrade.
    Busy,
}

impl OtaFailure {
    /// A short English description, for the clouds that carry one.
    pub fn describe(self) -> &'static str {
        match self {
            OtaFailure::Download => "download failed",
            OtaFailure::Timeout => "download timed out",
            OtaFailure::NotFound => "firmware file not found",
            OtaFailure::Unauthorized => "download refused: URL or token expired",
            OtaFailure::DigestMismatch => "digest mismatch",
            OtaFailure::SizeMismatch => "size mismatch",
            OtaFailure::Storage => "firmware storage failed",
            OtaFailure::Install => "install failed",
            OtaFailure::Busy => "another upgrade is in progress",
        }
    }
}

impl fmt::Display for OtaFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The firmware the device runs, as it reports it to the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firmware<'a> {
    /// Version string, as the cloud's console shows it.
    pub version: &'a str,
    /// The module (firmware part) it is, for clouds that name modules (Aliyun `module`,
    /// Tencent `fw_type`); `None` for the default.
    pub module: Option<&'a str>,
}

impl<'a> Firmware<'a> {
    /// The default module at `version`.
    pub const fn new(version: &'a str) -> Self {
        Firmware {
            version,
            module: None,
        }
    }
}

/// What a provider needs besides the job and the status to word an OTA message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtaContext<'a> {
    /// The firmware the device runs.
    pub firmware: Firmware<'a>,
    /// A message id, different for every message the device sends.
    pub message_id: u32,
    /// Milliseconds since the Unix epoch, if known (for clouds that time-stamp events).
    pub unix_time_ms: Option<u64>,
}

/// Whether a cloud (or this configuration of it) does OTA over MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtaSupport {
    /// Upgrade notices are turned into jobs, and progress is reported.
    Supported,
    /// Not available; the text says why (and what the cloud offers instead).
    Unsupported(&'static str),
}
