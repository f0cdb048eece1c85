//! [`HostPlatform`]: the host's transport, clock and (optionally) file store as one
//! [`Platform`].

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use iotcloud_core::platform::{Parts, Platform};
use iotcloud_core::{KvStore, NoStore};

use crate::{SystemClock, TcpTransport};

/// A device's platform on Linux: TCP (with rustls TLS), the system clock, a store (none
/// unless given one, e.g. a [`FileStore`](crate::FileStore)), and the operating system's
/// randomness. Must be used inside a tokio runtime.
///
/// ```
/// use hal_host::{FileStore, HostPlatform};
/// let plain = HostPlatform::new();
/// # let dir = std::env::temp_dir().join(format!("iotcloud-doc-{}", std::process::id()));
/// let storing = HostPlatform::new().with_store(FileStore::open(dir)?);
/// # let _ = (plain, storing);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct HostPlatform<S = NoStore> {
    transport: TcpTransport,
    clock: SystemClock,
    store: S,
}

impl HostPlatform {
    /// TCP, the system clock, and no store.
    pub fn new() -> Self {
        HostPlatform {
            transport: TcpTransport::new(),
            clock: SystemClock::new(),
            store: NoStore,
        }
    }
}

impl<S> HostPlatform<S> {
    /// The same platform with `store`.
    pub fn with_store<S2: KvStore>(self, store: S2) -> HostPlatform<S2> {
        HostPlatform {
            transport: self.transport,
            clock: self.clock,
            store,
        }
    }

    /// The same platform with another clock (e.g. [`SystemClock::without_wall_time`]).
    pub fn with_clock(mut self, clock: SystemClock) -> Self {
        self.clock = clock;
        self
    }

    /// The same platform with another transport (e.g. one with Nagle's algorithm on).
    pub fn with_transport(mut self, transport: TcpTransport) -> Self {
        self.transport = transport;
        self
    }

    /// The transport.
    pub fn transport(&self) -> &TcpTransport {
        &self.transport
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, to read or change what it holds.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }
}

impl<S: KvStore> Platform for HostPlatform<S> {
    type Transport = TcpTransport;
    type Clock = SystemClock;
    type Store = S;

    fn parts(&mut self) -> Parts<'_, TcpTransport, SystemClock, S> {
        Parts {
            transport: &mut self.transport,
            clock: &self.clock,
            store: &mut self.store,
        }
    }

    fn clock(&self) -> &SystemClock {
        &self.clock
    }

    /// The standard library's per-process random keys.
    fn entropy(&mut self) -> u64 {
        RandomState::new().hash_one(std::time::SystemTime::now())
    }
}
