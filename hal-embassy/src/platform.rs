//! [`EmbassyPlatform`]: the embassy-net transport, the embassy-time clock, a store and the
//! application's randomness as one [`Platform`].

use iotcloud_core::platform::{Parts, Platform};
use iotcloud_core::{KvStore, NoStore};

use crate::{EmbassyClock, NetTransport};

/// A device's platform on embassy: a [`NetTransport`], an [`EmbassyClock`], a store (none
/// unless given one with [`with_store`](EmbassyPlatform::with_store)), and a seed for the
/// device's random values that the application supplies.
///
/// There is no entropy source on an MCU that this crate could know about, so it invents
/// none: the application passes a seed from its hardware RNG (an STM32's `RNG`, an ESP's
/// radio noise, a chip id mixed with an ADC reading) to [`new`](EmbassyPlatform::new), and
/// may give a fresh one before each connect with [`reseed`](EmbassyPlatform::reseed). The
/// device mixes the seed with the clock's readings on every connect: client ids and
/// nonces then differ between devices (different seeds) and between connections (the
/// clock moves).
pub struct EmbassyPlatform<'a, S = NoStore> {
    transport: NetTransport<'a>,
    clock: EmbassyClock<'a>,
    store: S,
    seed: u64,
}

impl<S> core::fmt::Debug for EmbassyPlatform<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The seed stays out: it is what makes the device's nonces unpredictable.
        f.debug_struct("EmbassyPlatform")
            .field("transport", &self.transport)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl<'a> EmbassyPlatform<'a> {
    /// `transport`, `clock`, no store, and `seed` from the application's entropy source.
    pub fn new(transport: NetTransport<'a>, clock: EmbassyClock<'a>, seed: u64) -> Self {
        EmbassyPlatform {
            transport,
            clock,
            store: NoStore,
            seed,
        }
    }
}

impl<'a, S> EmbassyPlatform<'a, S> {
    /// The same platform with `store` (flash through `sequential-storage`, an EEPROM, …),
    /// where registration records and OTA checkpoints are kept.
    pub fn with_store<S2: KvStore>(self, store: S2) -> EmbassyPlatform<'a, S2> {
        EmbassyPlatform {
            transport: self.transport,
            clock: self.clock,
            store,
            seed: self.seed,
        }
    }

    /// Replaces the seed, e.g. with a fresh value from the hardware RNG before a connect.
    pub fn reseed(&mut self, seed: u64) {
        self.seed = seed;
    }

    /// The transport.
    pub fn transport(&self) -> &NetTransport<'a> {
        &self.transport
    }

    /// The clock (its [`wall`](EmbassyClock::wall) clock is where the Unix time is set).
    pub fn clock(&self) -> &EmbassyClock<'a> {
        &self.clock
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

impl<'a, S: KvStore> Platform for EmbassyPlatform<'a, S> {
    type Transport = NetTransport<'a>;
    type Clock = EmbassyClock<'a>;
    type Store = S;

    fn parts(&mut self) -> Parts<'_, NetTransport<'a>, EmbassyClock<'a>, S> {
        Parts {
            transport: &mut self.transport,
            clock: &self.clock,
            store: &mut self.store,
        }
    }

    fn clock(&self) -> &EmbassyClock<'a> {
        &self.clock
    }

    /// The application's seed with the clock's readings folded in.
    fn entropy(&mut self) -> u64 {
        let clock = &self.clock;
        use iotcloud_core::Clock as _;
        self.seed ^ clock.now_ms().rotate_left(29) ^ clock.unix_time_ms().unwrap_or(0)
    }
}
