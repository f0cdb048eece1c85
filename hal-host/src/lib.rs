#![doc = include_str!("../README.md")]

pub mod clock;
pub mod firmware;
pub mod store;
pub mod transport;

pub use clock::SystemClock;
pub use firmware::FileSink;
pub use store::FileStore;
pub use transport::{HostError, TcpTransport};
