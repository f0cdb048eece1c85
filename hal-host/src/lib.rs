#![doc = include_str!("../README.md")]

pub mod clock;
pub mod firmware;
pub mod platform;
#[cfg(feature = "psk")]
mod psk;
pub mod store;
pub mod transport;

pub use clock::SystemClock;
pub use firmware::{DEFAULT_IMAGE_LIMIT, FileSink};
pub use platform::HostPlatform;
pub use store::FileStore;
pub use transport::{HostError, TcpTransport};

/// The error of a device on this platform.
pub type Error = iotcloud_core::Error<HostError>;
