//! The typestate device: `Unregistered → Registered → Connected`, and back to `Registered`
//! with `disconnect`.
//!
//! Each state is a zero-sized marker; transitions take the device by value and a failed
//! transition hands it back together with the error, so nothing (the session, the
//! transport, the buffers) is lost on the way.

mod event;
mod link;
#[cfg(feature = "ota")]
mod ota;
mod supervisor;

pub use event::{DisconnectReason, Event, Message};
#[cfg(feature = "ota")]
pub use ota::OtaEvent;
pub use supervisor::{Cause, ReconnectPolicy, Supervised, Supervisor};

use core::marker::PhantomData;

use link::{Core, Pending, write_publish};

use crate::clock::Clock;
use crate::error::Error;
use crate::kv::KvStore;
use crate::mqtt::{PacketId, QoS, SubscribeTopic, TopicError, TopicFilter, TopicName};
use crate::provider::Provider;
use crate::session::{Session, WhenFull};
use crate::transport::Transport;

/// Most topic filters one `subscribe` or `unsubscribe` call takes.
pub const MAX_FILTERS_PER_CALL: usize = 16;

/// The memory a device works in, owned by the caller.
///
/// - `rx` holds one incoming packet (and, while connecting, the signed credentials): size
///   it for the largest message you expect plus its topic, and at least 1 KiB.
/// - `tx` holds one outgoing packet header, acknowledgement or CONNECT; QoS 0 payloads
///   larger than it are written straight from the caller's memory.
/// - `session` holds every QoS 1/2 message until it is acknowledged (its encoded size plus
///   8 bytes) and every subscription (filter length plus 8 bytes).
pub struct Buffers<'b> {
    /// Receive buffer.
    pub rx: &'b mut [u8],
    /// Transmit buffer.
    pub tx: &'b mut [u8],
    /// Session memory.
    pub session: &'b mut [u8],
}

/// Statically sized [`Buffers`], for a `static` or a stack frame.
pub struct BufferArrays<const RX: usize, const TX: usize, const SESSION: usize> {
    rx: [u8; RX],
    tx: [u8; TX],
    session: [u8; SESSION],
}

impl<const RX: usize, const TX: usize, const SESSION: usize> BufferArrays<RX, TX, SESSION> {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        BufferArrays {
            rx: [0; RX],
            tx: [0; TX],
            session: [0; SESSION],
        }
    }

    /// Borrows them as [`Buffers`].
    pub fn as_buffers(&mut self) -> Buffers<'_> {
        Buffers {
            rx: &mut self.rx,
            tx: &mut self.tx,
            session: &mut self.session,
        }
    }
}

impl<const RX: usize, const TX: usize, const SESSION: usize> Default
    for BufferArrays<RX, TX, SESSION>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Timing and randomness settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceOptions {
    /// Longest wait for the transport to connect, and then for CONNACK (default 15 s).
    pub connect_timeout_ms: u64,
    /// Longest wait for a PINGRESP; `None`: one keep-alive interval.
    pub ping_timeout_ms: Option<u64>,
    /// Seed for connection ids and nonces. By default the device mixes its clock readings
    /// and its client id, which is enough for values that only need to differ.
    pub seed: Option<u64>,
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
            ping_timeout_ms: None,
            seed: None,
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
/// State: a connection was established (it may since have been lost; see
/// [`Event::Disconnected`]).
#[derive(Debug)]
pub struct Connected;

impl sealed::Sealed for Unregistered {}
impl sealed::Sealed for Registered {}
impl sealed::Sealed for Connected {}
impl State for Unregistered {}
impl State for Registered {}
impl State for Connected {}

/// What a transition from state `From` to `To` gives: the device in its new state, or the
/// device back in its old state with the error.
type Transition<'b, P, T, C, S, From, To> = Result<
    Device<'b, P, T, C, S, To>,
    (
        Device<'b, P, T, C, S, From>,
        Error<<T as embedded_io::ErrorType>::Error>,
    ),
>;

/// A device of cloud `P`, talking over transport `T`, with clock `C` and store `S`.
///
/// ```no_run
/// # async fn demo<T: iotcloud_core::Transport, C: iotcloud_core::Clock>(transport: T, clock: C)
/// # -> Result<(), iotcloud_core::Error<T::Error>> {
/// use iotcloud_core::{BufferArrays, Device, Event, NoStore, QoS, plain::PlainMqtt};
///
/// let provider = PlainMqtt::new("127.0.0.1", 1883, "sensor-1")?;
/// let mut buffers = BufferArrays::<2048, 512, 2048>::new();
/// let device = Device::new(provider, transport, clock, NoStore, buffers.as_buffers());
/// let device = device.register().await.map_err(|(_, e)| e)?;
/// let mut device = device.connect().await.map_err(|(_, e)| e)?;
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
pub struct Device<'b, P, T, C, S, St: State = Unregistered> {
    core: Core<'b, P, T, C, S>,
    _state: PhantomData<St>,
}

impl<'b, P, T, C, S, St: State> Device<'b, P, T, C, S, St> {
    fn into_state<New: State>(self) -> Device<'b, P, T, C, S, New> {
        Device {
            core: self.core,
            _state: PhantomData,
        }
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.core.provider
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.core.clock
    }

    /// The MQTT session: in-flight messages and subscriptions.
    pub fn session(&self) -> &Session<'b> {
        &self.core.session
    }

    /// The key-value store.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.core.store
    }

    /// What dynamic registration obtained (the provider's record), once registered or
    /// loaded from the store. If storing it failed, this is the only copy: keep it.
    pub fn registration_record(&self) -> Option<&[u8]> {
        self.core.record()
    }
}

impl<'b, P: Provider, T: Transport, C: Clock, S: KvStore> Device<'b, P, T, C, S, Unregistered> {
    /// A new device. Nothing happens on the network until `connect`.
    pub fn new(provider: P, transport: T, clock: C, store: S, buffers: Buffers<'b>) -> Self {
        Self::with_options(
            provider,
            transport,
            clock,
            store,
            buffers,
            DeviceOptions::default(),
        )
    }

    /// A new device with non-default timing.
    pub fn with_options(
        provider: P,
        transport: T,
        clock: C,
        store: S,
        buffers: Buffers<'b>,
        options: DeviceOptions,
    ) -> Self {
        let mut session = Session::new(buffers.session);
        session.set_ping_timeout_ms(options.ping_timeout_ms);
        session.set_when_full(options.when_full);
        session.set_replay_window(options.replay_window);
        Device {
            core: Core::new(
                provider, transport, clock, store, buffers.rx, buffers.tx, session, options,
            ),
            _state: PhantomData,
        }
    }

    /// Gives the device memory for what dynamic registration obtains (see
    /// [`Device::register`]). Size it for the cloud's largest answer plus
    /// [`SEAL_OVERHEAD`](crate::register::SEAL_OVERHEAD): 256 bytes for a secret, 4 KiB for
    /// Tencent's certificate and key.
    pub fn with_credentials_buffer(mut self, buf: &'b mut [u8]) -> Self {
        self.core.set_credentials_buffer(buf);
        self
    }

    /// Makes sure the device has credentials.
    ///
    /// Providers whose configuration already holds a device secret or certificate (and the
    /// plain MQTT provider) pass straight through. For a configuration that registers, the
    /// record stored under the key derived from cloud, product and device is loaded; if
    /// there is none, the device registers over its transport and stores the result.
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
    /// configuration that registers is refused with [`Error::Registration`] holding
    /// [`ProviderError::Unsupported`](crate::ProviderError::Unsupported).
    // An `async move` block rather than an `async fn`: an `async fn` keeps its by-value
    // argument twice in its future (the argument and the body's binding of it), and the
    // device is most of the future.
    #[allow(clippy::manual_async_fn)]
    pub fn register(
        mut self,
    ) -> impl Future<Output = Transition<'b, P, T, C, S, Unregistered, Registered>> {
        async move {
            match self.core.register().await {
                Ok(()) => Ok(self.into_state()),
                Err(e) => Err((self, e)),
            }
        }
    }

    /// After a registration whose result could not be stored: goes on with the
    /// credentials in memory. Gives the device back if it holds none.
    // The device itself is handed back, as by every failed transition; without `alloc`
    // there is nothing to box it in.
    #[allow(clippy::result_large_err)]
    pub fn proceed_unsaved(self) -> Result<Device<'b, P, T, C, S, Registered>, Self> {
        if self.core.record.is_some() {
            Ok(self.into_state())
        } else {
            Err(self)
        }
    }

    /// Forgets the registration record, in memory and in the store, so that the next
    /// [`Device::register`] registers again. For a corrupt record, or a device reset in the
    /// cloud's console. Some clouds refuse to register an activated device twice.
    pub async fn forget_registration(&mut self) -> Result<(), Error<T::Error>> {
        self.core.forget_registration().await
    }

    /// Takes the device apart.
    pub fn into_parts(self) -> (P, T, C, S) {
        self.core.into_parts()
    }
}

impl<'b, P: Provider, T: Transport, C: Clock, S: KvStore> Device<'b, P, T, C, S, Registered> {
    /// Signs in afresh (new timestamp, new nonce), connects, waits for CONNACK, then
    /// restores the session: subscriptions the broker lacks, in-flight messages (with DUP),
    /// and the provider's system topics.
    ///
    /// On failure the device comes back in the `Registered` state with the error.
    /// [`Error::kind`] says whether to retry: [`ErrorKind::Auth`](crate::ErrorKind::Auth)
    /// means the credentials were refused and retrying soon will not help.
    // An `async move` block for the reason given at `register`.
    #[allow(clippy::manual_async_fn)]
    pub fn connect(
        mut self,
    ) -> impl Future<Output = Transition<'b, P, T, C, S, Registered, Connected>> {
        async move {
            match self.core.connect().await {
                Ok(()) => Ok(self.into_state()),
                Err(e) => Err((self, e)),
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

    /// Takes the device apart.
    pub fn into_parts(self) -> (P, T, C, S) {
        self.core.into_parts()
    }
}

impl<'b, P: Provider, T: Transport, C: Clock, S: KvStore> Device<'b, P, T, C, S, Connected> {
    /// Whether the connection is up. After [`Event::Disconnected`] it is not; QoS 1 and 2
    /// publications are then kept for the next connection.
    pub fn is_connected(&self) -> bool {
        self.core.session.is_connected()
    }

    /// Publishes `payload` to `topic`. See [`Device::publish_with`].
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> Result<Option<PacketId>, Error<T::Error>> {
        self.publish_with(topic, payload, qos, false).await
    }

    /// Publishes `payload` to `topic`, optionally retained.
    ///
    /// QoS 0 is written at once and returns `None`; it needs a live connection
    /// ([`Error::NotConnected`] otherwise). QoS 1 and 2 messages are first stored in the
    /// session and return their packet identifier; [`Event::Published`] reports the
    /// acknowledgement. A stored message is never lost to a broken connection: if writing
    /// fails, or the connection is already down, it waits in the session (the offline
    /// queue) and is sent, in order, after the next connect.
    ///
    /// When the session memory is full the call fails with [`Error::SessionFull`] and
    /// nothing is stored: process events (acknowledgements free memory) and retry. While
    /// the link is down, [`WhenFull::DropOldest`] ([`DeviceOptions::when_full`]) instead
    /// drops the oldest queued QoS 1 messages to make room, and [`Event::Dropped`] reports
    /// each.
    pub async fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, Error<T::Error>> {
        let core = &mut self.core;
        core.check_interrupted().await;
        let limits = core.provider.limits();
        if qos > limits.max_qos {
            return Err(Error::QosNotSupported {
                requested: qos,
                max: limits.max_qos,
            });
        }
        if topic.len() > limits.max_topic_len {
            return Err(TopicError::OverCloudLimit(limits.max_topic_len).into());
        }
        if payload.len() > limits.max_payload_len {
            return Err(Error::PayloadTooLarge {
                len: payload.len(),
                max: limits.max_payload_len,
            });
        }
        let topic = TopicName::new(topic)?;
        let now = core.clock.now_ms();
        let (id, written) = write_publish(
            &mut core.session,
            &mut core.transport,
            core.tx,
            &mut core.tx_dirty,
            (topic, payload, qos, retain),
            now,
        )
        .await?;
        match written {
            Ok(()) => Ok(id),
            Err(e) => {
                core.link_lost(DisconnectReason::Transport(embedded_io::Error::kind(&e)))
                    .await;
                // A stored message is re-sent after the next connect; a QoS 0 one is gone.
                match id {
                    Some(id) => Ok(Some(id)),
                    None => Err(Error::Transport(e)),
                }
            }
        }
    }

    /// Subscribes to topic filters, each with the highest QoS wanted. The subscriptions
    /// become part of the session and are restored after every reconnect;
    /// [`Event::Subscribed`] reports the broker's answer.
    pub async fn subscribe(&mut self, topics: &[(&str, QoS)]) -> Result<PacketId, Error<T::Error>> {
        let core = &mut self.core;
        core.check_interrupted().await;
        let limits = core.provider.limits();
        let mut list = heapless::Vec::<SubscribeTopic<'_>, MAX_FILTERS_PER_CALL>::new();
        for &(filter, qos) in topics {
            if qos > limits.max_qos {
                return Err(Error::QosNotSupported {
                    requested: qos,
                    max: limits.max_qos,
                });
            }
            if filter.len() > limits.max_topic_len {
                return Err(TopicError::OverCloudLimit(limits.max_topic_len).into());
            }
            let filter = TopicFilter::new(filter)?;
            list.push(SubscribeTopic { filter, qos })
                .map_err(|_| Error::TooManyFilters {
                    max: MAX_FILTERS_PER_CALL,
                })?;
        }
        if list.is_empty() {
            return Err(Error::TooManyFilters {
                max: MAX_FILTERS_PER_CALL,
            });
        }
        let now = core.clock.now_ms();
        let (id, n) = core.session.subscribe(&list, core.tx)?;
        core.send_tx(n, now).await;
        Ok(id)
    }

    /// Removes subscriptions. They are forgotten by the session at once; the broker's answer
    /// comes as [`Event::Unsubscribed`].
    pub async fn unsubscribe(&mut self, filters: &[&str]) -> Result<PacketId, Error<T::Error>> {
        let core = &mut self.core;
        core.check_interrupted().await;
        let mut list = heapless::Vec::<TopicFilter<'_>, MAX_FILTERS_PER_CALL>::new();
        for &f in filters {
            list.push(TopicFilter::new(f)?)
                .map_err(|_| Error::TooManyFilters {
                    max: MAX_FILTERS_PER_CALL,
                })?;
        }
        if list.is_empty() {
            return Err(Error::TooManyFilters {
                max: MAX_FILTERS_PER_CALL,
            });
        }
        let now = core.clock.now_ms();
        let (id, n) = core.session.unsubscribe(&list, core.tx)?;
        core.send_tx(n, now).await;
        Ok(id)
    }

    /// Waits for the next event: a message, an acknowledgement, or the end of the
    /// connection. Sends keep-alive pings while waiting.
    ///
    /// Returned errors leave the connection up (an incoming packet too large for the
    /// receive buffer, an acknowledgement for an unknown packet identifier); a lost
    /// connection is reported as [`Event::Disconnected`], after which this returns
    /// [`Error::NotConnected`].
    ///
    /// Cancel-safe: dropping the future loses no received data.
    pub async fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        let core = &mut self.core;
        core.consume();
        core.check_interrupted().await;
        let frame_len = loop {
            if let Some(pending) = core.pending.take() {
                return Ok(pending.into_event());
            }
            if let Some(packet_id) = core.session.take_dropped() {
                return Ok(Event::Dropped { packet_id });
            }
            if !core.session.is_connected() {
                return Err(Error::NotConnected);
            }
            if let Some(len) = core.step().await? {
                break len;
            }
        };
        core.expose(frame_len)
    }

    /// Ends the connection politely (DISCONNECT) and returns to `Registered`. The session
    /// (in-flight messages, subscriptions) is kept for the next `connect`.
    // An `async move` block for the reason given at `register`.
    #[allow(clippy::manual_async_fn)]
    pub fn disconnect(mut self) -> impl Future<Output = Device<'b, P, T, C, S, Registered>> {
        async move {
            self.core.disconnect().await;
            self.into_state()
        }
    }
}

impl Pending {
    pub(super) fn into_event(self) -> Event<'static> {
        match self {
            Pending::Connected { session_present } => Event::Connected { session_present },
            Pending::Published(packet_id) => Event::Published { packet_id },
            Pending::Unsubscribed(packet_id) => Event::Unsubscribed { packet_id },
            Pending::Disconnected(reason) => Event::Disconnected(reason),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod register_tests;
