//! What dynamic registration obtained: the sealed record in the caller's credentials
//! memory, where it is stored, and how it is obtained or loaded.

#[cfg(feature = "registration")]
use core::ops::Range;

use super::driver::{Core, DeviceError};
#[cfg(feature = "registration")]
use crate::clock::Clock;
use crate::error::Error;
use crate::kv::KvStore;
#[cfg(feature = "registration")]
use crate::kv::StoreError;
use crate::platform::Platform;
use crate::provider::Provider;
#[cfg(not(feature = "registration"))]
use crate::provider::ProviderError;
#[cfg(feature = "registration")]
use crate::record;
#[cfg(feature = "registration")]
use crate::register::RegisterError;
use crate::register::Registration as _;
#[cfg(feature = "registration")]
use crate::register::{self, RegisterContext};

/// The registration record: where it is in the credentials memory, and whether it still
/// has to be stored.
#[cfg(feature = "registration")]
pub(super) struct Credentials<'b> {
    buf: &'b mut [u8],
    /// Where the provider's record is in `buf`, once registered or loaded.
    record: Option<Range<usize>>,
    /// Length of the sealed record in `buf`.
    sealed_len: usize,
    /// The record was obtained but not yet stored.
    unsaved: bool,
}

/// Without the `registration` feature there is never a record.
#[cfg(not(feature = "registration"))]
pub(super) struct Credentials<'b>(core::marker::PhantomData<&'b ()>);

#[cfg(not(feature = "registration"))]
impl Credentials<'_> {
    pub fn new() -> Self {
        Credentials(core::marker::PhantomData)
    }

    pub fn record(&self) -> Option<&[u8]> {
        None
    }
}

#[cfg(feature = "registration")]
impl<'b> Credentials<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        Credentials {
            buf,
            record: None,
            sealed_len: 0,
            unsaved: false,
        }
    }

    /// The provider's record, if registered or loaded.
    pub fn record(&self) -> Option<&[u8]> {
        self.record.clone().map(|r| &self.buf[r])
    }

    /// Whether a record is held (stored or not).
    pub fn has_record(&self) -> bool {
        self.record.is_some()
    }

    fn forget(&mut self) {
        self.record = None;
        self.sealed_len = 0;
        self.unsaved = false;
    }
}

impl<'b, P: Provider, Pf: Platform> Core<'b, P, Pf> {
    /// Loads the stored registration record, or registers and stores the result. A record
    /// obtained but not stored is kept, so a retry only stores it.
    #[cfg(feature = "registration")]
    pub async fn register(&mut self) -> Result<(), DeviceError<Pf>> {
        let Some(registration) = self.provider.registration() else {
            return Ok(());
        };
        let key = registration.id().store_key(self.provider.cloud());
        let creds = &mut self.credentials;
        if creds.record.is_none() {
            let store = self.platform.parts().store;
            match store.get(&key, creds.buf).await {
                Ok(Some(n)) => {
                    let range = record::open(&creds.buf[..n]).ok_or(StoreError::Corrupt)?;
                    creds.record = Some(range);
                    creds.sealed_len = n;
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => return Err(Error::Store(e)),
            }
            let entropy = self.platform.entropy();
            self.rng.mix(entropy);
            let random = self.rng.next();
            let parts = self.platform.parts();
            let ctx = RegisterContext {
                unix_time_ms: parts.clock.unix_time_ms(),
                random,
            };
            let area = record::payload_area(creds.buf.len());
            let n = register::run(
                registration,
                parts.transport,
                parts.clock,
                &ctx,
                self.register_timeout_ms,
                self.inbox.all(),
                self.outbox.all(),
                &mut creds.buf[area.clone()],
            )
            .await
            .map_err(Error::Registration)?;
            let sealed = record::seal(creds.buf, n).ok_or(Error::Registration(
                RegisterError::RecordTooLarge {
                    len: n.saturating_add(record::SEAL_OVERHEAD),
                    capacity: creds.buf.len(),
                },
            ))?;
            creds.record = Some(area.start..area.start + n);
            creds.sealed_len = sealed;
            creds.unsaved = true;
        }
        if creds.unsaved {
            let store = self.platform.parts().store;
            store.set(&key, &creds.buf[..creds.sealed_len]).await?;
            creds.unsaved = false;
        }
        Ok(())
    }

    /// Without the `registration` feature: a configuration that registers is refused.
    /// (A separate function rather than a condition inside the one above, so that none of
    /// the registration code is compiled into the device's state machine.)
    #[cfg(not(feature = "registration"))]
    pub async fn register(&mut self) -> Result<(), DeviceError<Pf>> {
        match self.provider.registration() {
            None => Ok(()),
            Some(_) => Err(Error::Provider(ProviderError::Unsupported(
                "dynamic registration (iotcloud-core built without its `registration` feature)",
            ))),
        }
    }

    /// Removes the registration record from memory and from the store.
    pub async fn forget_registration(&mut self) -> Result<(), DeviceError<Pf>> {
        #[cfg(feature = "registration")]
        self.credentials.forget();
        if let Some(registration) = self.provider.registration() {
            let key = registration.id().store_key(self.provider.cloud());
            self.platform.parts().store.remove(&key).await?;
        }
        Ok(())
    }
}
