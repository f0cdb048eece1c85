//! Where a firmware image goes while it downloads.

use core::fmt;

/// Storage for a firmware image being downloaded: a flash partition, a file, a FOTA area.
///
/// The download calls [`FirmwareSink::begin`] once, then [`FirmwareSink::write_at`] with
/// consecutive pieces, then either [`FirmwareSink::finish`] (the image is whole and its
/// digest verified) or [`FirmwareSink::abort`] (it is not, and must never be applied).
///
/// Writes name their offset so that a write repeated after a dropped connection or a
/// cancelled future lands where it belongs: a sink must accept a `write_at` at any offset
/// up to the number of bytes it holds, overwriting what was there.
#[allow(async_fn_in_trait)]
pub trait FirmwareSink {
    /// Why a sink operation failed.
    type Error: fmt::Debug;

    /// Prepares for an image of `size` bytes (if the job said), continuing after `resume_at`
    /// bytes kept from an earlier attempt (0 for a fresh start).
    ///
    /// Returns `resume_at` if the sink still holds those bytes, or 0 if it could not keep
    /// them and starts afresh (a sink that can only erase and append returns 0 for any
    /// non-zero `resume_at`). The download then starts from the returned offset.
    async fn begin(&mut self, size: Option<u64>, resume_at: u64) -> Result<u64, Self::Error>;

    /// Writes `data` at byte `offset` of the image.
    async fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), Self::Error>;

    /// The image is complete (`len` bytes) and matched its digest: make it ready to apply.
    /// Applying it (rebooting into it) is the application's decision.
    async fn finish(&mut self, len: u64) -> Result<(), Self::Error>;

    /// The download failed or the image did not verify: discard what was written.
    async fn abort(&mut self);

    /// The largest image this sink can hold, if it has a limit (a flash region, a quota).
    /// A download refuses an image announced larger than this (by the job or the server)
    /// before writing a byte, and stops if more than this arrives.
    fn capacity(&self) -> Option<u64> {
        None
    }
}

impl<S: FirmwareSink + ?Sized> FirmwareSink for &mut S {
    type Error = S::Error;

    async fn begin(&mut self, size: Option<u64>, resume_at: u64) -> Result<u64, Self::Error> {
        (**self).begin(size, resume_at).await
    }

    async fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), Self::Error> {
        (**self).write_at(offset, data).await
    }

    async fn finish(&mut self, len: u64) -> Result<(), Self::Error> {
        (**self).finish(len).await
    }

    async fn abort(&mut self) {
        (**self).abort().await
    }

    fn capacity(&self) -> Option<u64> {
        (**self).capacity()
    }
}
