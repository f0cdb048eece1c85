//! The typestate device: `Unregistered → Registered → Connected`, and back to `Registered`
//! with `disconnect`.
//!
//! Each state is a zero-sized marker; transitions take the device by value, and a failed
//! transition hands it back inside a [`TransitionError`], which `?` turns into the
//! [`Error`], so nothing (the session, the platform, the memory) is lost on the way.
//!
//! `Connected` is the state in which the application runs a connection: the link it opened
//! may be lost at any time, which [`Event::Disconnected`] reports once; the device then
//! stays `Connected` with its session (and its offline queue) until the application calls
//! [`Device::disconnect`] and connects again. A [`Supervisor`] does that itself: it owns
//! the device and reconnects it.

#[cfg(feature = "ota")]
mod blocks;
mod credentials;
#[cfg(feature = "data")]
mod data;
mod driver;
mod event;
mod link;
mod memory;
#[cfg(feature = "ota")]
mod ota;
mod supervisor;

#[cfg(feature = "data")]
pub use data::{DataOptions, TimeSync};
pub use driver::MAX_FILTERS_PER_CALL;
pub use event::{DisconnectReason, Event, Message};
pub use memory::{CredentialBytes, JobBytes, Memory, MemoryArrays, Rx, SessionBytes, Tx};
#[cfg(feature = "ota")]
pub use ota::OtaEvent;
pub use supervisor::{Cause, ReconnectPolicy, Supervised, Supervisor};

use core::fmt;
use core::marker::PhantomData;

use crate::error::Error;
use crate::mqtt::{PacketId, QoS};
use crate::platform::{Platform, TransportError};
use crate::provider::Provider;
use crate::session::{Session, WhenFull};
use driver::Core;

/// Timing and queueing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceOptions {
    /// Longest wait for the transport to connect, and then for CONNACK (default 15 s).
    pub connect_timeout_ms: u64,
    /// Longest a dynamic registration may take, all its exchanges together (default
    /// 60 s; only with the `registration` feature).
    pub register_timeout_ms: u64,
    /// Longest wait for a PINGRESP; `None`: one keep-alive interval.
    pub ping_timeout_ms: Option<u64>,
    /// What a QoS 1 publish does while the link is down and the session memory is full
    /// (default: refuse it). See [`WhenFull`].
    pub when_full: WhenFull,
    /// How many queued or re-sent messages may await their acknowledgement at once after
    /// a reconnect (default 16). See [`Session::set_replay_window`].
    pub replay_window: u16,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        DeviceOptions {
            connect_timeout_ms: 15_000,
            register_timeout_ms: 60_000,
            ping_timeout_ms: None,
            when_full: WhenFull::RefuseNew,
            replay_window: crate::session::DEFAULT_REPLAY_WINDOW,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A device state marker.
pub trait State: sealed::Sealed {}

/// State: created; credentials may still have to be obtained or loaded.
#[derive(Debug)]
pub struct Unregistered;
/// State: credentials are at hand; ready to connect.
#[derive(Debug)]
pub struct Registered;
/// State: the application runs a connection (whose link may since have been lost; see
/// [`Event::Disconnected`]).
#[derive(Debug)]
pub struct Connected;

impl sealed::Sealed for Unregistered {}
impl sealed::Sealed for Registered {}
impl sealed::Sealed for Connected {}
impl State for Unregistered {}
impl State for Registered {}
impl State for Connected {}

/// A transition that failed: the device, back in the state it was in, and why.
///
/// `?` turns it into the error (the device is then dropped); [`TransitionError::into_parts`]
/// keeps both, to try again.
///
/// ```no_run
/// # async fn demo<P: iotcloud_core::Provider, Pf: iotcloud_core::Platform>(
/// #     device: iotcloud_core::Device<'_, P, Pf, iotcloud_core::Registered>,
/// # ) -> Result<(), iotcloud_core::Error<iotcloud_core::TransportError<Pf>>> {
/// let device = match device.connect().await {
///     Ok(connected) => connected,
///     Err(failed) if failed.error().is_retryable() => {
///         let (_error, device) = failed.into_parts();
///         device.connect().await? // once more, then give up
///     }
///     Err(failed) => return Err(failed.into()),
/// };
/// # let _ = device; Ok(()) }
/// ```
pub struct TransitionError<D, E> {
    error: E,
    device: D,
}

impl<D, E> TransitionError<D, E> {
    /// The error.
    pub fn error(&self) -> &E {
        &self.error
    }

    /// The device, in the state it was in before the transition.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The error and the device.
    pub fn into_parts(self) -> (E, D) {
        (self.error, self.device)
    }

    /// The error, dropping the device.
    pub fn into_error(self) -> E {
        self.error
    }

    /// The device, dropping the error.
    pub fn into_device(self) -> D {
        self.device
    }
}

impl<D, E: fmt::Debug> fmt::Debug for TransitionError<D, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransitionError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<D, E: fmt::Display> fmt::Display for TransitionError<D, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<D, E: core::error::Error + 'static> core::error::Error for TransitionError<D, E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<D, E> From<TransitionError<D, Error<E>>> for Error<E> {
    fn from(failed: TransitionError<D, Error<E>>) -> Self {
        failed.error
    }
}

/// What a transition of a device on `Pf` from `From` to `To` gives.
type Transition<'b, P, Pf, From, To> = Result<
    Device<'b, P, Pf, To>,
    TransitionError<Device<'b, P, Pf, From>, Error<TransportError<Pf>>>,
>;

/// A device of cloud `P` on platform `Pf`, in state `St`.
///
/// ```no_run
/// # async fn demo<Pf: iotcloud_core::Platform>(platform: Pf)
/// # -> Result<(), iotcloud_core::Error<iotcloud_core::TransportError<Pf>>> {
/// use iotcloud_core::{Device, Event, Memory, QoS, plain::PlainMqtt};
///
/// let provider = PlainMqtt::new("127.0.0.1", 1883, "sensor-1")?;
/// let (mut rx, mut tx, mut session) = ([0u8; 2048], [0u8; 512], [0u8; 2048]);
/// let memory = Memory { rx: &mut rx, tx: &mut tx, session: &mut session, ..Memory::default() };
/// let device = Device::new(&provider, platform, memory);
/// let mut device = device.register().await?.connect().await?;
/// device.subscribe(&[("sensors/1/cmd", QoS::AtLeastOnce)]).await?;
/// device.publish("sensors/1/temp", b"21.5", QoS::AtLeastOnce).await?;
/// loop {
///     match device.next_event().await? {
///         Event::Message(m) => { let _ = (m.topic(), m.payload()); }
///         Event::Disconnected(_) => break,
///         _ => {}
///     }
/// }
/// let _registered = device.disconnect().await;
/// # Ok(()) }
/// ```
pub struct Device<'b, P, Pf, St: State = Unregistered> {
    core: Core<'b, P, Pf>,
    _state: PhantomData<St>,
}

impl<'b, P, Pf, St: State> fmt::Debug for Device<'b, P, Pf, St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("state", &core::any::type_name::<St>())
            .field("connected", &self.core.session.is_connected())
            .finish_non_exhaustive()
    }
}

impl<'b, P, Pf, St: State> Device<'b, P, Pf, St> {
    fn into_state<New: State>(self) -> Device<'b, P, Pf, New> {
        Device {
            core: self.core,
            _state: PhantomData,
        }
    }

    fn failed<E>(self, error: E) -> TransitionError<Self, E> {
        TransitionError {
            error,
            device: self,
        }
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.core.provider
    }

    /// The platform.
    pub fn platform(&self) -> &Pf {
        &self.core.platform
    }

    /// The platform, for instance to reach its store.
    pub fn platform_mut(&mut self) -> &mut Pf {
        &mut self.core.platform
    }

    /// The MQTT session: in-flight messages and subscriptions.
    pub fn session(&self) -> &Session<'b> {
        &self.core.session
    }

    /// What dynamic registration obtained (the provider's record), once registered or
    /// loaded from the store. If storing it failed, this is the only copy: keep it.
    pub fn registration_record(&self) -> Option<&[u8]> {
        self.core.credentials.record()
    }

    /// Takes the device apart: its provider and its platform.
    pub fn into_parts(self) -> (P, Pf) {
        (self.core.provider, self.core.platform)
    }
}

impl<'b, P: Provider, Pf: Platform> Device<'b, P, Pf, Unregistered> {
    /// A new device of `provider` on `platform`, working in `memory`. Nothing happens on
    /// the network until `connect`.
    pub fn new(provider: P, platform: Pf, memory: Memory<'b>) -> Self {
        Self::with_options(provider, platform, memory, DeviceOptions::default())
    }

    /// A new device with non-default timing or queueing.
    pub fn with_options(
        provider: P,
        platform: Pf,
        memory: Memory<'b>,
        options: DeviceOptions,
    ) -> Self {
        let mut core = Core::new(provider, platform, memory, options);
        core.reserve_subscriptions();
        Device {
            core,
            _state: PhantomData,
        }
    }

    /// Makes sure the device has credentials.
    ///
    /// Providers whose configuration already holds a device secret or certificate (and the
    /// plain MQTT provider) pass straight through. For a configuration that registers, the
    /// record stored under the key derived from cloud, product and device is loaded; if
    /// there is none, the device registers over its transport and stores the result in
    /// [`Memory::credentials`].
    ///
    /// Errors, with the device handed back:
    /// - a stored record that fails its integrity check: [`Error::Store`] with
    ///   [`StoreError::Corrupt`](crate::StoreError::Corrupt); it is not used, and not
    ///   replaced automatically (some clouds register a device only once) — see
    ///   [`Device::forget_registration`];
    /// - registration refused or failed: [`Error::Registration`];
    /// - registration succeeded but storing failed: [`Error::Store`]. The credentials are
    ///   kept in the device ([`Device::registration_record`]); calling `register` again only
    ///   retries the store, and [`Device::proceed_unsaved`] goes on without it.
    ///
    /// Built without the `registration` feature, the device links none of this: a
    /// configuration that registers is refused with [`Error::Provider`] holding
    /// [`ProviderError::Unsupported`](crate::ProviderError::Unsupported).
    // An `async move` block rather than an `async fn`: an `async fn` keeps its by-value
    // argument twice in its future (the argument and the body's binding of it), and the
    // device is most of the future.
    #[allow(clippy::manual_async_fn)]
    pub fn register(
        mut self,
    ) -> impl Future<Output = Transition<'b, P, Pf, Unregistered, Registered>> {
        async move {
            match self.core.register().await {
                Ok(()) => Ok(self.into_state()),
                Err(e) => Err(self.failed(e)),
            }
        }
    }

    /// After a registration whose result could not be stored: goes on with the
    /// credentials in memory. Gives the device back if it holds none.
    // The device itself is handed back, as by every failed transition; without `alloc`
    // there is nothing to box it in.
    #[allow(clippy::result_large_err)]
    #[cfg(feature = "registration")]
    pub fn proceed_unsaved(self) -> Result<Device<'b, P, Pf, Registered>, Self> {
        if self.core.credentials.has_record() {
            Ok(self.into_state())
        } else {
            Err(self)
        }
    }

    /// Forgets the registration record, in memory and in the store, so that the next
    /// [`Device::register`] registers again. For a corrupt record, or a device reset in the
    /// cloud's console. Some clouds refuse to register an activated device twice.
    pub async fn forget_registration(&mut self) -> Result<(), Error<TransportError<Pf>>> {
        self.core.forget_registration().await
    }
}

impl<'b, P: Provider, Pf: Platform> Device<'b, P, Pf, Registered> {
    /// Signs in afresh (new timestamp, new nonce), connects, waits for CONNACK, then
    /// restores the session: subscriptions the broker lacks, in-flight messages (with DUP),
    /// and the provider's system topics.
    ///
    /// On failure the device comes back in the `Registered` state with the error.
    /// [`Error::kind`] says whether to retry: [`ErrorKind::Auth`](crate::ErrorKind::Auth)
    /// means the credentials were refused and retrying soon will not help.
    // An `async move` block for the reason given at `register`.
    #[allow(clippy::manual_async_fn)]
    pub fn connect(mut self) -> impl Future<Output = Transition<'b, P, Pf, Registered, Connected>> {
        async move {
            match self.core.connect().await {
                Ok(()) => Ok(self.into_state()),
                Err(e) => Err(self.failed(e)),
            }
        }
    }

    /// The provider, to change its configuration between connections.
    pub fn provider_mut(&mut self) -> &mut P {
        &mut self.core.provider
    }

    /// The session, for instance to [`Session::clear`] it.
    pub fn session_mut(&mut self) -> &mut Session<'b> {
        &mut self.core.session
    }

    /// Hands the device to a [`Supervisor`], which connects it on the first call to
    /// [`Supervisor::next_event`] and after every loss.
    pub fn supervise(self, policy: ReconnectPolicy) -> Supervisor<'b, P, Pf> {
        Supervisor::new(self.core, policy)
    }
}

// The calls that only forward to the core return its future instead of wrapping it in
// an `async fn` of their own: the same lazy future, without another state machine around
// it in the application's.
impl<'b, P: Provider, Pf: Platform> Device<'b, P, Pf, Connected> {
    /// Whether the link is up. After [`Event::Disconnected`] it is not; QoS 1 and 2
    /// publications are then kept for the next connection.
    pub fn is_connected(&self) -> bool {
        self.core.session.is_connected()
    }

    /// Publishes `payload` to `topic` and writes it out before returning, together with
    /// whatever [`Device::enqueue`] left waiting.
    ///
    /// QoS 0 returns `None`; it needs a live link ([`Error::NotConnected`] otherwise). QoS
    /// 1 and 2 messages are first stored in the session and return their packet identifier;
    /// [`Event::Published`] reports the acknowledgement. A stored message is never lost to
    /// a broken connection: if writing fails, or the link is already down, it waits in the
    /// session (the offline queue) and is sent, in order, after the next connect.
    ///
    /// When the session memory is full the call fails with [`Error::SessionFull`] and
    /// nothing is stored: process events (acknowledgements free memory) and retry. While
    /// the link is down, [`WhenFull::DropOldest`] ([`DeviceOptions::when_full`]) instead
    /// drops the oldest queued QoS 1 messages to make room, and [`Event::Dropped`] reports
    /// each.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> impl Future<Output = Result<Option<PacketId>, Error<TransportError<Pf>>>> {
        self.core.publish(topic, payload, qos, false, true)
    }

    /// [`Device::publish`] with the retain flag: the broker keeps the message for later
    /// subscribers.
    pub fn publish_retained(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> impl Future<Output = Result<Option<PacketId>, Error<TransportError<Pf>>>> {
        self.core.publish(topic, payload, qos, true, true)
    }

    /// Like [`Device::publish`], but the message is only written into the transmit buffer:
    /// it goes out with the messages around it when the buffer fills, when the device next
    /// waits for the broker ([`Device::next_event`]), or on [`Device::flush`]. Many small
    /// messages then cost one write instead of one each.
    pub fn enqueue(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> impl Future<Output = Result<Option<PacketId>, Error<TransportError<Pf>>>> {
        self.core.publish(topic, payload, qos, false, false)
    }

    /// Writes out what [`Device::enqueue`] left waiting. A failure ends the connection (it
    /// is reported as [`Event::Disconnected`] too); queued QoS 1 and 2 messages stay in the
    /// session for the next one.
    pub fn flush(&mut self) -> impl Future<Output = Result<(), Error<TransportError<Pf>>>> {
        self.core.flush()
    }

    /// Subscribes to topic filters, each with the highest QoS wanted. The subscriptions
    /// become part of the session and are restored after every reconnect;
    /// [`Event::Subscribed`] reports the broker's answer.
    pub fn subscribe(
        &mut self,
        topics: &[(&str, QoS)],
    ) -> impl Future<Output = Result<PacketId, Error<TransportError<Pf>>>> {
        self.core.subscribe(topics)
    }

    /// Removes subscriptions. They are forgotten by the session at once; the broker's answer
    /// comes as [`Event::Unsubscribed`].
    pub fn unsubscribe(
        &mut self,
        filters: &[&str],
    ) -> impl Future<Output = Result<PacketId, Error<TransportError<Pf>>>> {
        self.core.unsubscribe(filters)
    }

    /// Waits for the next event: a message, an acknowledgement, or the end of the
    /// connection. Writes out what waits in the transmit buffer, and sends keep-alive pings
    /// while waiting.
    ///
    /// Returned errors leave the connection up (an incoming packet too large for the
    /// receive buffer, an acknowledgement for an unknown packet identifier); a lost
    /// connection is reported as [`Event::Disconnected`], after which this returns
    /// [`Error::NotConnected`].
    ///
    /// Cancel-safe: dropping the future while it waits loses no received data.
    pub fn next_event(
        &mut self,
    ) -> impl Future<Output = Result<Event<'_>, Error<TransportError<Pf>>>> {
        self.core.next_event()
    }

    /// Ends the connection politely (what waits, then DISCONNECT) and returns to
    /// `Registered`. The session (in-flight messages, subscriptions) is kept for the next
    /// `connect`.
    ///
    /// After the DISCONNECT it waits for the broker to close the connection (at most
    /// [`DeviceOptions::connect_timeout_ms`]), reading and discarding what still arrives:
    /// closing with the broker's bytes unread makes a TCP stack reset the connection, and
    /// the broker would lose the messages it had received but not yet read.
    // An `async move` block for the reason given at `register`.
    #[allow(clippy::manual_async_fn)]
    pub fn disconnect(mut self) -> impl Future<Output = Device<'b, P, Pf, Registered>> {
        async move {
            self.core.disconnect().await;
            self.into_state()
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod register_tests;

#[cfg(test)]
#[cfg(feature = "data")]
mod data_tests;
