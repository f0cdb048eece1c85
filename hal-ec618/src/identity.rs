//! Who the device is: the IMEI of its modem and the unique id of its flash.

use crate::error::IdentityError;
use crate::sys;

/// Digits in an IMEI.
pub const IMEI_LEN: usize = 15;

/// Bytes the SDK copies out at most (`luat_mobile_get_imei` copies `min(buf_len, 20)`).
const SDK_IMEI_BUF: usize = 20;

/// Most bytes of the flash unique id.
pub const UNIQUE_ID_MAX: usize = 16;

/// Reads the IMEI into `buf` and returns it as text (15 digits).
///
/// A `buf` shorter than the IMEI is [`IdentityError::BufferTooSmall`]; nothing is cut short.
pub fn imei(buf: &mut [u8]) -> Result<&str, IdentityError> {
    // The SDK returns the number of bytes it copied, not the length of the text, so read into
    // a zeroed buffer of its full size and measure the text ourselves.
    let mut raw = [0u8; SDK_IMEI_BUF];
    // SAFETY: `raw` is writable for `raw.len()` bytes; the SDK copies at most that many.
    let code = unsafe { sys::luat_mobile_get_imei(0, raw.as_mut_ptr().cast(), raw.len()) };
    if code < 0 {
        return Err(IdentityError::Unavailable { code });
    }
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let text = &raw[..len];
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(IdentityError::Invalid);
    }
    let capacity = buf.len();
    let Some(out) = buf.get_mut(..len) else {
        return Err(IdentityError::BufferTooSmall {
            needed: len,
            capacity,
        });
    };
    out.copy_from_slice(text);
    core::str::from_utf8(out).map_err(|_| IdentityError::Invalid)
}

/// The flash chip's unique id (`luat_mcu_unique_id`): up to [`UNIQUE_ID_MAX`] binary bytes,
/// not text. Encode it (hex) before using it in a client id.
pub fn unique_id() -> Result<&'static [u8], IdentityError> {
    let mut len: usize = 0;
    // SAFETY: `len` is a valid out-pointer.
    let ptr = unsafe { sys::luat_mcu_unique_id(&mut len) };
    if ptr.is_null() || len == 0 {
        return Err(IdentityError::Invalid);
    }
    let len = len.min(UNIQUE_ID_MAX);
    // SAFETY: the SDK returns a pointer to static storage holding `len` bytes (never freed,
    // never rewritten after boot); `len` is clamped to the documented maximum.
    Ok(unsafe { core::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}
