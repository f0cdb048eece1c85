#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

mod bytes;
pub mod clock;
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
pub mod provider;
pub mod register;
pub mod scratch;
pub mod session;
pub mod sign;
pub mod transport;

#[cfg(test)]
mod test_support;

pub use clock::Clock;
pub use device::{
    Connected, Device, DeviceOptions, DisconnectReason, Event, Memory, Message, ReconnectPolicy,
    Registered, Supervised, Supervisor, TransitionError, Unregistered,
};
pub use error::{Error, ErrorKind, ProtocolError};
pub use kv::{KvStore, NoStore, StoreError};
pub use mqtt::{PacketId, QoS};
pub use platform::{Platform, TransportError};
pub use provider::{
    CloudEndpoint, Credentials, EndpointOverrides, Limits, MqttOptions, Provider, ProviderError,
    SignContext, TlsChoice, TopicPath,
};
pub use transport::{ClientIdentity, Endpoint, ServerAuth, Tls, Transport};
