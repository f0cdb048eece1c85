#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

// On a hosted target (tests, host builds) link std: the `fake` SDK uses it.
#[cfg(not(target_os = "none"))]
extern crate std;

pub mod error;
pub mod executor;
pub mod fota;
pub mod identity;
pub mod kv;
pub mod network;
pub mod platform;
#[cfg(any(feature = "sntp", not(target_os = "none")))]
pub mod sntp;
pub(crate) mod sys;
pub mod time;
pub mod transport;

mod waker;

#[cfg(all(feature = "panic-handler", target_os = "none", not(test)))]
mod panic;

#[cfg(not(target_os = "none"))]
#[doc(hidden)]
pub mod fake;

pub use error::{ExecutorError, FotaError, IdentityError, NetError, NetworkError, SntpError};
pub use executor::block_on;
pub use fota::FotaSink;
pub use kv::LuatKv;
pub use platform::Ec618Platform;
pub use time::Ec618Clock;
pub use transport::AdapterTransport;

/// The public roots `ServerAuth::DefaultRoots` means with the `public-roots` feature, as PEM:
/// DigiCert Global Root CA and G2, GlobalSign Root CA and R3, ISRG Root X1
/// (`certs/README.md` has their fingerprints and source).
#[cfg(feature = "public-roots")]
pub const PUBLIC_ROOTS_PEM: &[u8] = include_bytes!("../certs/public-roots.pem");
