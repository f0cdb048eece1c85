#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

mod fmt;

pub mod clock;
pub mod error;
pub mod platform;
pub mod transport;

pub use clock::{EmbassyClock, WallClock};
pub use error::NetError;
pub use platform::EmbassyPlatform;
pub use transport::NetTransport;

/// The error of a device on this platform.
pub type Error = iotcloud_core::Error<NetError>;
