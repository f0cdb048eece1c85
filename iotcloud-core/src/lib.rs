#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

#[macro_use]
mod trace;

mod bytes;
#[macro_use]
pub mod clock;
pub mod data;
pub mod device;
pub mod error;
pub mod http;
pub mod json;
pub mod kv;
pub mod memory {
    //! Arrays to back a device's [`Memory`](crate::Memory), sized by name.
    pub use crate::device::{CredentialBytes, JobBytes, MemoryArrays, Rx, SessionBytes, Tx};
}
pub mod mqtt;
pub mod ota;
pub mod plain;
pub mod platform;
mod printable;
pub mod provider;
mod record;
pub mod register;
pub mod scratch;
pub mod session;
pub mod sign;
pub mod transport;

#[cfg(test)]
mod test_support;

/// The internals the fuzz targets drive. Not part of the API: it changes without notice.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use crate::clock::Clock;
    use crate::register::{RegisterContext, RegisterError, Registration};
    use crate::transport::Transport;

    pub use crate::http::chunked::ChunkedDecoder;
    pub use crate::http::client::{Exchange, Redirects, Request};
    pub use crate::record::{SEAL_OVERHEAD, open, seal};

    /// Runs `registration`'s exchanges as a device does; see `register::run`.
    pub async fn register<R: Registration + ?Sized, T: Transport, C: Clock>(
        registration: &R,
        transport: &mut T,
        clock: &C,
        ctx: &RegisterContext,
        work: &mut [u8],
        scratch: &mut [u8],
        out: &mut [u8],
    ) -> Result<usize, RegisterError<T::Error>> {
        let no_limit = u64::MAX;
        crate::register::run(
            registration,
            transport,
            clock,
            ctx,
            no_limit,
            work,
            scratch,
            out,
        )
        .await
    }
}

pub use clock::Clock;
pub use device::{
    Connected, Device, DeviceOptions, DisconnectReason, Event, Memory, Message, ReconnectPolicy,
    Registered, Supervised, Supervisor, TransitionError, Unregistered,
};
pub use error::{Error, ErrorKind, ProtocolError};
pub use kv::{KvStore, NoStore, StoreError};
pub use mqtt::{PacketId, QoS};
pub use platform::{Platform, TransportError};
pub use printable::Printable;
pub use provider::{
    CloudEndpoint, Connection, Credentials, EndpointOverrides, KeepAlive, Limits, MqttOptions,
    Provider, ProviderError, SignContext, TlsChoice, TopicPath,
};
pub use transport::{ClientIdentity, Endpoint, Psk, ServerAuth, Tls, Transport, TransportCaps};
