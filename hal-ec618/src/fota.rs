//! [`FirmwareSink`] over the SDK's delta FOTA (`luat_fota_*`).

use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, Ordering};

use iotcloud_core::ota::FirmwareSink;

use crate::error::FotaError;
use crate::sys;

/// Size of the FOTA region (raw flash 0x304000..0x384000).
pub const FOTA_REGION_SIZE: u64 = 512 * 1024;

/// Largest piece handed to `luat_fota_write` at once (through a RAM copy when the source is
/// not in RAM).
const CHUNK: usize = 512;

static IN_USE: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Writing,
    /// A write failed: the region holds a broken image until the next `begin`.
    Failed,
    /// `luat_fota_done` accepted the package.
    Done,
}

/// The delta package of a firmware update, written into the FOTA region.
///
/// The SDK erases the whole region when an update begins and then only appends, and it keeps
/// one update at a time. So:
///
/// - [`FirmwareSink::begin`] always erases and returns 0: a partial image cannot be kept across
///   attempts, whatever `resume_at` says.
/// - [`FirmwareSink::write_at`] appends at the running offset. A write that starts before it
///   (a piece sent again after a dropped connection) is accepted and only its new tail is
///   written: the bytes already in flash are assumed to be the same ones, because the region
///   cannot be read back here; the digest that the download checks over the whole stream
///   covers them. A write past the running offset is [`FotaError::Gap`].
/// - [`FirmwareSink::finish`] asks the SDK to validate the delta against the running image;
///   then [`FotaSink::reboot_to_apply`] lets the bootloader apply it.
/// - [`FirmwareSink::abort`] erases the region again, so a partial image is never left behind.
///
/// The package must be the vendor's delta (`.par`) made from exactly the image that runs.
#[derive(Debug)]
pub struct FotaSink {
    ctx: sys::luat_fota_img_proc_ctx_ptr,
    written: u64,
    state: State,
}

impl FotaSink {
    /// Takes the one FOTA sink ([`FotaError::Busy`] if it is already out).
    pub fn new() -> Result<FotaSink, FotaError> {
        if IN_USE
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(FotaError::Busy);
        }
        Ok(FotaSink {
            ctx: core::ptr::null_mut(),
            written: 0,
            state: State::Idle,
        })
    }

    /// Bytes written since the last `begin`.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Whether `finish` succeeded and the update is ready to apply.
    pub fn is_ready(&self) -> bool {
        self.state == State::Done
    }

    /// Reboots (`luat_pm_reboot`) so that the bootloader applies the update. Only after a
    /// successful `finish`; returns only on failure.
    pub fn reboot_to_apply(&self) -> Result<(), FotaError> {
        if self.state != State::Done {
            return Err(FotaError::NotStarted);
        }
        // SAFETY: no arguments; a successful call does not return.
        let code = unsafe { sys::luat_pm_reboot() };
        Err(FotaError::Reboot { code })
    }

    fn erase(&mut self) -> Result<(), FotaError> {
        self.written = 0;
        self.state = State::Idle;
        // SAFETY: no arguments. Blocks while the region is erased; called from the device
        // task, never from a callback.
        let ctx = unsafe { sys::luat_fota_init() };
        self.ctx = ctx;
        if ctx.is_null() {
            return Err(FotaError::Erase);
        }
        Ok(())
    }

    fn append(&mut self, data: &[u8]) -> Result<(), FotaError> {
        let mut ram = [0u8; CHUNK];
        for piece in data.chunks(CHUNK) {
            // Flash writes need the source in RAM (XIP is off while flash is written), and
            // the piece might be a constant in flash: copy it.
            let copy = &mut ram[..piece.len()];
            copy.copy_from_slice(piece);
            // SAFETY: `ctx` came from a successful `luat_fota_init`; `copy` is a RAM buffer of
            // `copy.len()` (≤ 512) bytes that the SDK only reads.
            let code = unsafe {
                sys::luat_fota_write(self.ctx, copy.as_mut_ptr().cast(), copy.len() as c_int)
            };
            if code != 0 {
                self.state = State::Failed;
                return Err(FotaError::Write {
                    offset: self.written,
                    code,
                });
            }
            self.written += piece.len() as u64;
        }
        Ok(())
    }
}

impl Drop for FotaSink {
    fn drop(&mut self) {
        IN_USE.store(false, Ordering::Release);
    }
}

impl FirmwareSink for FotaSink {
    type Error = FotaError;

    async fn begin(&mut self, size: Option<u64>, _resume_at: u64) -> Result<u64, FotaError> {
        if let Some(size) = size.filter(|&s| s > FOTA_REGION_SIZE) {
            return Err(FotaError::TooLarge {
                size,
                capacity: FOTA_REGION_SIZE,
            });
        }
        self.erase()?;
        self.state = State::Writing;
        Ok(0)
    }

    async fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), FotaError> {
        if self.state != State::Writing {
            return Err(FotaError::NotStarted);
        }
        if offset > self.written {
            return Err(FotaError::Gap {
                offset,
                written: self.written,
            });
        }
        let end = offset.saturating_add(data.len() as u64);
        if end <= self.written {
            return Ok(());
        }
        if end > FOTA_REGION_SIZE {
            return Err(FotaError::TooLarge {
                size: end,
                capacity: FOTA_REGION_SIZE,
            });
        }
        // `offset <= written < end`, so the skip is within `data`.
        let skip = (self.written - offset) as usize;
        self.append(&data[skip..])
    }

    async fn finish(&mut self, len: u64) -> Result<(), FotaError> {
        if self.state != State::Writing {
            return Err(FotaError::NotStarted);
        }
        if len != self.written {
            return Err(FotaError::LengthMismatch {
                len,
                written: self.written,
            });
        }
        // SAFETY: `ctx` came from a successful `luat_fota_init`.
        let code = unsafe { sys::luat_fota_done(self.ctx) };
        if code != 0 {
            self.state = State::Failed;
            return Err(FotaError::Rejected { code });
        }
        self.state = State::Done;
        Ok(())
    }

    async fn abort(&mut self) {
        if self.state == State::Idle && self.written == 0 {
            return;
        }
        // Erase so that nothing partial stays in the region. If the erase fails there is
        // nothing more this sink can do; `luat_fota_done` was not called for this image.
        let _ = self.erase();
        self.state = State::Idle;
    }
}
