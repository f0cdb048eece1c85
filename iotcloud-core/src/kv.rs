//! Persistence: a small key-value store for what a device must keep across reboots
//! (credentials obtained by dynamic registration, OTA checkpoints).

/// Why a store operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StoreError {
    /// The stored value is larger than the buffer given to [`KvStore::get`]. Nothing was
    /// cut short; retry with a buffer of `len` bytes.
    #[error("stored value of {len} bytes does not fit a {capacity}-byte buffer")]
    ValueTooLarge {
        /// Size of the stored value.
        len: usize,
        /// Size of the buffer given.
        capacity: usize,
    },
    /// The key is empty, too long or has characters the store cannot keep.
    #[error("invalid key")]
    InvalidKey,
    /// The store has no room for the value.
    #[error("store full")]
    Full,
    /// The underlying medium failed.
    #[error("storage I/O failed")]
    Io,
    /// A stored value failed its integrity check and was not used.
    #[error("stored value is corrupt")]
    Corrupt,
    /// This store keeps nothing (see [`NoStore`]).
    #[error("this store does not persist anything")]
    Unsupported,
}

/// Byte values under text keys, kept across reboots.
///
/// Implementations must make [`KvStore::set`] atomic: after a power cut the key holds the old
/// value or the new one, never a mix.
#[allow(async_fn_in_trait)]
pub trait KvStore {
    /// Copies the value of `key` into `buf` and returns its length, or `None` if the key is
    /// absent. A value larger than `buf` is [`StoreError::ValueTooLarge`], never truncated.
    async fn get(&mut self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError>;

    /// Stores `value` under `key`, replacing any previous value.
    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError>;

    /// Removes `key`; removing an absent key is not an error.
    async fn remove(&mut self, key: &str) -> Result<(), StoreError>;
}

impl<S: KvStore + ?Sized> KvStore for &mut S {
    async fn get(&mut self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        (**self).get(key, buf).await
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).set(key, value).await
    }

    async fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        (**self).remove(key).await
    }
}

/// A store that keeps nothing: reads find nothing, and writes fail with
/// [`StoreError::Unsupported`] so that nothing is silently lost. For devices whose
/// credentials are all in their configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl KvStore for NoStore {
    async fn get(&mut self, _key: &str, _buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        Ok(None)
    }

    async fn set(&mut self, _key: &str, _value: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::Unsupported)
    }

    async fn remove(&mut self, _key: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
