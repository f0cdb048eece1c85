//! [`KvStore`] over the SDK's flash key-value store (`luat_kv`, FlashDB).

use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use iotcloud_core::kv::{KvStore, StoreError};

use crate::sys;

/// Longest key, in bytes (FlashDB's `FDB_KV_NAME_MAX`).
pub const MAX_KEY_LEN: usize = sys::FDB_KV_NAME_MAX;

static IN_USE: AtomicBool = AtomicBool::new(false);

// What the first `luat_kv_init` said. The SDK cannot be asked again: after a failed first
// call it returns 0 to every later one, and the store stays unusable.
const UNTRIED: u8 = 0;
const READY: u8 = 1;
const FAILED: u8 = 2;
static INIT: AtomicU8 = AtomicU8::new(UNTRIED);

/// The SDK's database, NULL before `luat_kv_init`.
fn kvdb() -> *mut sys::fdb_kvdb {
    // SAFETY: no arguments; the shim only reads the SDK's pointer.
    unsafe { sys::hal_ec618_kvdb() }
}

/// Initialises the store the first time and remembers the outcome for good.
fn init_once() -> Result<(), StoreError> {
    match INIT.load(Ordering::Acquire) {
        READY => return Ok(()),
        FAILED => return Err(StoreError::Io),
        _ => {}
    }
    let outcome = if !kvdb().is_null() {
        // Something else (the firmware's C code) ran luat_kv_init first. Whether it worked
        // cannot be learnt: a second call returns 0 either way, and reads from a store that
        // failed to start look empty. Refuse rather than report stored data as missing.
        FAILED
    } else {
        // SAFETY: no arguments; only `open` calls it, serialised by IN_USE.
        let code = unsafe { sys::luat_kv_init() };
        if code == sys::FDB_NO_ERR && !kvdb().is_null() {
            READY
        } else {
            FAILED
        }
    };
    INIT.store(outcome, Ordering::Release);
    if outcome == READY {
        Ok(())
    } else {
        Err(StoreError::Io)
    }
}

/// Forgets the first initialisation's outcome: the fake SDK's reset stands for a reboot.
#[cfg(not(target_os = "none"))]
pub(crate) fn forget_init() {
    INIT.store(UNTRIED, Ordering::Release);
}

/// The SDK's key-value store in the 64 KiB `onchip_fdb` flash partition.
///
/// FlashDB installs no lock, so all access goes through this one value: [`LuatKv::open`] hands
/// out at most one at a time, and its methods take `&mut self`. C code of the firmware must not
/// use `luat_kv_*` at the same time.
///
/// Reads learn the stored length from FlashDB (`fdb_kv_get_blob`), so a value larger than the
/// caller's buffer is reported as [`StoreError::ValueTooLarge`], never cut short. The SDK does
/// not tell an empty value from a missing key: an empty value reads back as `None`.
///
/// A store that failed to start is reported as failed ([`StoreError::Io`]), never as empty.
/// The SDK makes that easy to get wrong: `luat_kv_init` returns 0 to every call after a failed
/// first one, and reads from the broken store then find nothing. So the outcome of the first
/// initialisation, which [`LuatKv::open`] makes, is kept for the life of the firmware; and if
/// the firmware's C code initialised the store before it (which it must not do), the outcome
/// is unknown and the store is reported as failed.
#[derive(Debug)]
pub struct LuatKv {
    _private: (),
}

impl LuatKv {
    /// Initialises the store (`luat_kv_init`, the first time only) and takes the one handle
    /// to it. `None` if a handle is already out; [`StoreError::Io`] if FlashDB could not start,
    /// then and on every later call until the module restarts.
    pub fn open() -> Option<Result<LuatKv, StoreError>> {
        if IN_USE
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return None;
        }
        if let Err(e) = init_once() {
            IN_USE.store(false, Ordering::Release);
            return Some(Err(e));
        }
        Some(Ok(LuatKv { _private: () }))
    }
}

impl Drop for LuatKv {
    fn drop(&mut self) {
        IN_USE.store(false, Ordering::Release);
    }
}

/// `key` with a NUL after it, checked: 1 to 64 bytes, no NUL inside.
fn c_key(key: &str, out: &mut [u8; MAX_KEY_LEN + 1]) -> Result<(), StoreError> {
    let bytes = key.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN || bytes.contains(&0) {
        return Err(StoreError::InvalidKey);
    }
    out[..bytes.len()].copy_from_slice(bytes);
    out[bytes.len()] = 0;
    Ok(())
}

fn store_error(code: c_int) -> StoreError {
    match code {
        sys::FDB_KV_NAME_ERR => StoreError::InvalidKey,
        sys::FDB_SAVED_FULL => StoreError::Full,
        // -1 (not initialised) and FlashDB's read/write/erase errors.
        _ => StoreError::Io,
    }
}

impl KvStore for LuatKv {
    async fn get(&mut self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        let mut name = [0u8; MAX_KEY_LEN + 1];
        c_key(key, &mut name)?;
        // A handle exists only once the store started (`open`), but a store that did not start
        // must never read as empty, so check again.
        let db = kvdb();
        if db.is_null() || INIT.load(Ordering::Acquire) != READY {
            return Err(StoreError::Io);
        }
        let mut blob = sys::fdb_blob {
            buf: buf.as_mut_ptr().cast(),
            size: buf.len(),
            saved: sys::fdb_blob_saved::default(),
        };
        // SAFETY: `db` is the SDK's initialised database; `name` is NUL-terminated; `blob`
        // points at `buf`, writable for `buf.len()` bytes; FlashDB copies at most `size`.
        let read = unsafe { sys::fdb_kv_get_blob(db, name.as_ptr().cast(), &mut blob) };
        // FlashDB sets the length only when it finds the key: 0 (as initialised) means absent.
        let stored = blob.saved.len;
        if stored == 0 {
            return Ok(None);
        }
        if stored > buf.len() {
            return Err(StoreError::ValueTooLarge {
                len: stored,
                capacity: buf.len(),
            });
        }
        if read != stored {
            return Err(StoreError::Io);
        }
        Ok(Some(stored))
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut name = [0u8; MAX_KEY_LEN + 1];
        c_key(key, &mut name)?;
        // SAFETY: `name` is NUL-terminated; FlashDB only reads `value.len()` bytes of `value`
        // (the C parameter is `void*` but not written to).
        let code = unsafe {
            sys::luat_kv_set(
                name.as_ptr().cast(),
                value.as_ptr().cast_mut().cast(),
                value.len(),
            )
        };
        if code == sys::FDB_NO_ERR {
            Ok(())
        } else {
            Err(store_error(code))
        }
    }

    async fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        let mut name = [0u8; MAX_KEY_LEN + 1];
        c_key(key, &mut name)?;
        // SAFETY: `name` is NUL-terminated.
        let code = unsafe { sys::luat_kv_del(name.as_ptr().cast()) };
        match code {
            sys::FDB_NO_ERR => Ok(()),
            // FlashDB reports a missing key as a name error; the key itself was checked above.
            sys::FDB_KV_NAME_ERR => Ok(()),
            _ => Err(store_error(code)),
        }
    }
}
