//! [`Ec618Platform`]: the module's network adapter, clock and (optionally) key-value store as
//! one [`Platform`].

use iotcloud_core::platform::{Parts, Platform};
use iotcloud_core::{Clock, KvStore, NoStore};

use crate::error::NetError;
use crate::{AdapterTransport, Ec618Clock, identity};

/// A device's platform inside Air780E firmware: the SDK's network adapter (TCP and
/// mbedTLS), the module's clock, a store (none unless given one, e.g. [`LuatKv`](crate::LuatKv)),
/// and entropy from the chip's unique id and the clock.
#[derive(Debug)]
pub struct Ec618Platform<S = NoStore> {
    transport: AdapterTransport,
    clock: Ec618Clock,
    store: S,
}

impl Ec618Platform {
    /// A platform with a new socket of the adapter and no store.
    pub fn new() -> Result<Self, NetError> {
        Ok(Ec618Platform {
            transport: AdapterTransport::new()?,
            clock: Ec618Clock::new(),
            store: NoStore,
        })
    }
}

impl<S> Ec618Platform<S> {
    /// The same platform with `store`.
    pub fn with_store<S2: KvStore>(self, store: S2) -> Ec618Platform<S2> {
        Ec618Platform {
            transport: self.transport,
            clock: self.clock,
            store,
        }
    }

    /// The same platform with another transport (other timeouts).
    pub fn with_transport(mut self, transport: AdapterTransport) -> Self {
        self.transport = transport;
        self
    }

    /// The clock, to set the wall-clock time.
    pub fn clock(&self) -> &Ec618Clock {
        &self.clock
    }
}

impl<S: KvStore> Platform for Ec618Platform<S> {
    type Transport = AdapterTransport;
    type Clock = Ec618Clock;
    type Store = S;

    fn parts(&mut self) -> Parts<'_, AdapterTransport, Ec618Clock, S> {
        Parts {
            transport: &mut self.transport,
            clock: &self.clock,
            store: &mut self.store,
        }
    }

    fn clock(&self) -> &Ec618Clock {
        &self.clock
    }

    /// The chip's unique id folded into the clock's readings: different for every module,
    /// and for every connection of one.
    fn entropy(&mut self) -> u64 {
        let id = identity::unique_id().unwrap_or_default();
        let folded = id.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        folded ^ self.clock.now_ms().rotate_left(29) ^ self.clock.unix_time_ms().unwrap_or(0)
    }
}
