//! What a device runs on: its network, its clock, its store and its randomness, behind one
//! [`Platform`] so that a device names one type for all of them.
//!
//! Each HAL offers one (`hal_host::HostPlatform`, `hal_ec618::Ec618Platform`, …); anything
//! else — a test double, a board of one's own — is [`Composed`] from its parts.

use crate::clock::Clock;
use crate::kv::{KvStore, NoStore};
use crate::transport::Transport;

/// The transport error of platform `Pf`: what [`Error`](crate::Error) carries for a device
/// on it.
pub type TransportError<Pf> = <<Pf as Platform>::Transport as embedded_io::ErrorType>::Error;

/// The platform's parts, borrowed at once: the device reads the clock while it waits on
/// the transport, and the store while the clock runs.
pub struct Parts<'a, T, C, S> {
    /// The byte stream to the broker.
    pub transport: &'a mut T,
    /// The clock.
    pub clock: &'a C,
    /// The key-value store.
    pub store: &'a mut S,
}

/// A device's platform: transport, clock, store and randomness.
pub trait Platform {
    /// The byte stream the device connects over.
    type Transport: Transport;
    /// The clock.
    type Clock: Clock;
    /// Where the device keeps what must survive a reboot (registration records, OTA
    /// checkpoints); [`NoStore`] for a device that keeps nothing.
    type Store: KvStore;

    /// The parts, borrowed together.
    fn parts(&mut self) -> Parts<'_, Self::Transport, Self::Clock, Self::Store>;

    /// The clock alone.
    fn clock(&self) -> &Self::Clock;

    /// Entropy for connection ids and nonces, mixed into the device's generator on every
    /// connect. The values only need to differ between devices and connections; by default
    /// the clock's readings are used. A platform with a hardware or operating-system source
    /// returns that instead.
    fn entropy(&mut self) -> u64 {
        let clock = self.clock();
        clock.now_ms().rotate_left(29) ^ clock.unix_time_ms().unwrap_or(0)
    }
}

/// A platform put together from its parts: a transport, a clock, and a store (none by
/// default), with entropy from the clock or a fixed seed.
///
/// ```
/// # fn parts<T: iotcloud_core::Transport, C: iotcloud_core::Clock>(transport: T, clock: C) {
/// use iotcloud_core::platform::Composed;
/// let platform = Composed::new(transport, clock).with_seed(7);
/// # let _ = platform; }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Composed<T, C, S = NoStore> {
    /// The transport.
    pub transport: T,
    /// The clock.
    pub clock: C,
    /// The store.
    pub store: S,
    /// A fixed seed instead of the clock's readings (tests that want the same ids every
    /// run).
    pub seed: Option<u64>,
}

impl<T, C> Composed<T, C> {
    /// A platform of `transport` and `clock` that stores nothing.
    pub fn new(transport: T, clock: C) -> Self {
        Composed {
            transport,
            clock,
            store: NoStore,
            seed: None,
        }
    }
}

impl<T, C, S> Composed<T, C, S> {
    /// The same platform with `store`.
    pub fn with_store<S2>(self, store: S2) -> Composed<T, C, S2> {
        Composed {
            transport: self.transport,
            clock: self.clock,
            store,
            seed: self.seed,
        }
    }

    /// The same platform with a fixed seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

impl<T: Transport, C: Clock, S: KvStore> Platform for Composed<T, C, S> {
    type Transport = T;
    type Clock = C;
    type Store = S;

    fn parts(&mut self) -> Parts<'_, T, C, S> {
        Parts {
            transport: &mut self.transport,
            clock: &self.clock,
            store: &mut self.store,
        }
    }

    fn clock(&self) -> &C {
        &self.clock
    }

    fn entropy(&mut self) -> u64 {
        match self.seed {
            // The same value on every connect: the sequence is the same on every run.
            Some(seed) => seed,
            None => {
                let clock = &self.clock;
                clock.now_ms().rotate_left(29) ^ clock.unix_time_ms().unwrap_or(0)
            }
        }
    }
}

impl<Pf: Platform + ?Sized> Platform for &mut Pf {
    type Transport = Pf::Transport;
    type Clock = Pf::Clock;
    type Store = Pf::Store;

    fn parts(&mut self) -> Parts<'_, Self::Transport, Self::Clock, Self::Store> {
        (**self).parts()
    }

    fn clock(&self) -> &Self::Clock {
        (**self).clock()
    }

    fn entropy(&mut self) -> u64 {
        (**self).entropy()
    }
}
