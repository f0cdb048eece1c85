//! What every device state holds, and the connection it drives: connect and restore, read
//! and dispatch, keep-alive, publish and subscribe, disconnect.

use embedded_io::Error as _;

use super::credentials::Credentials;
#[cfg(feature = "data")]
use super::data::DataState;
use super::event::{DisconnectReason, Event, Message};
use super::link::{Framed, Inbox, Outbox, Read, WriteFailed};
#[cfg(feature = "ota")]
use super::ota::OtaState;
use super::{DeviceOptions, Memory};
use crate::clock::Clock;
use crate::error::{Error, ProtocolError};
use crate::mqtt::{
    Connect, EncodeError, Packet, PacketId, PacketType, Publish, QoS, QosPid, SubscribeTopic,
    TopicError, TopicFilter, TopicName,
};
use crate::platform::{Parts, Platform, TransportError};
use crate::provider::{Provider, ProviderError, SignContext};
use crate::register::Registration as _;
use crate::scratch::Scratch;
use crate::session::{Outgoing, Poll, Replay, Session, SessionError, SessionEvent};
use crate::transport::{Transport, TransportCaps};

/// Most topic filters one `subscribe` or `unsubscribe` call takes.
pub const MAX_FILTERS_PER_CALL: usize = 16;

/// Bytes an acknowledgement needs in the transmit buffer (PUBACK, PUBREC, PUBREL, PUBCOMP).
const ACK_LEN: usize = 4;

/// An event decided on before it can be returned.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pending {
    Connected { session_present: bool },
    Published(PacketId),
    Unsubscribed(PacketId),
    Disconnected(DisconnectReason),
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

/// SplitMix64, for connection ids, nonces and jitter.
pub(super) struct Rng(u64);

impl Rng {
    pub fn mix(&mut self, entropy: u64) {
        self.0 ^= entropy;
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// FNV-1a, to fold a client id into the random state.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Which topics [`Core::subscribe_all`] subscribes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Topics {
    /// The provider's system subscriptions.
    System,
    /// The OTA formats' subscriptions.
    #[cfg(feature = "ota")]
    Ota,
    /// The data formats' subscriptions.
    #[cfg(feature = "data")]
    Data,
}

/// The error of a device on platform `Pf`.
pub(super) type DeviceError<Pf> = Error<TransportError<Pf>>;

pub(super) struct Core<'b, P, Pf> {
    pub provider: P,
    pub platform: Pf,
    pub session: Session<'b>,
    pub inbox: Inbox<'b>,
    pub outbox: Outbox<'b>,
    pub pending: Option<Pending>,
    pub rng: Rng,
    /// [`DeviceOptions::connect_timeout_ms`]; the session keeps the other timings.
    connect_timeout_ms: u64,
    /// [`DeviceOptions::register_timeout_ms`].
    #[cfg(feature = "registration")]
    pub register_timeout_ms: u64,
    pub credentials: Credentials<'b>,
    #[cfg(feature = "ota")]
    pub ota: OtaState<'b>,
    #[cfg(feature = "data")]
    pub data: DataState,
}

impl<'b, P, Pf> Core<'b, P, Pf> {
    pub fn new(provider: P, platform: Pf, memory: Memory<'b>, options: DeviceOptions) -> Self {
        let mut session = Session::new(memory.session);
        session.set_ping_timeout_ms(options.ping_timeout_ms);
        session.set_when_full(options.when_full);
        session.set_replay_window(options.replay_window);
        Core {
            provider,
            platform,
            session,
            inbox: Inbox::new(memory.rx),
            outbox: Outbox::new(memory.tx),
            pending: None,
            rng: Rng(0x853c_49e6_748f_ea9b),
            connect_timeout_ms: options.connect_timeout_ms,
            #[cfg(feature = "registration")]
            register_timeout_ms: options.register_timeout_ms,
            #[cfg(feature = "registration")]
            credentials: Credentials::new(memory.credentials),
            #[cfg(not(feature = "registration"))]
            credentials: Credentials::new(),
            #[cfg(feature = "ota")]
            ota: OtaState::new(memory.ota_job),
            #[cfg(feature = "data")]
            data: DataState::new(),
        }
    }
}

impl<'b, P: Provider, Pf: Platform> Core<'b, P, Pf> {
    /// Opens the connection and restores the session; on failure the transport is closed
    /// and the session marked down.
    pub async fn connect(&mut self) -> Result<(), DeviceError<Pf>> {
        let result = self.open().await;
        if let Err(_e) = &result {
            info!("connect failed ({:?})", _e.kind());
            self.session.link_down();
            self.outbox.reset();
            self.platform.parts().transport.close().await;
        }
        result
    }

    /// Signs afresh and writes the CONNECT into the transmit buffer; returns its length.
    /// Not inlined: signing needs a large stack frame (digest states, scratch text), which
    /// then exists only for this call, not in every poll of the device's future.
    #[inline(never)]
    fn encode_connect(&mut self, now: u64) -> Result<usize, DeviceError<Pf>> {
        let entropy = self.platform.entropy();
        self.rng.mix(entropy);
        #[cfg(feature = "data")]
        let unix_time_ms = self.unix_time_ms();
        #[cfg(not(feature = "data"))]
        let unix_time_ms = self.platform.clock().unix_time_ms();
        let ctx = SignContext {
            unix_time_ms,
            random: self.rng.next(),
            registered: self.credentials.record(),
        };
        let options = self.provider.mqtt_options();
        let mut scratch = Scratch::new(self.inbox.all());
        let creds = self.provider.sign(&ctx, &mut scratch)?;
        debug!(
            "CONNECT as client {}, keep-alive {} s",
            creds.client_id, options.keep_alive_secs
        );
        self.rng.mix(fnv1a(creds.client_id));
        let connect = Connect {
            client_id: creds.client_id,
            keep_alive: options.keep_alive_secs,
            clean_session: options.clean_session,
            will: self.provider.will(),
            username: creds.username,
            password: creds.password.map(str::as_bytes),
        };
        Ok(self.session.connect(&connect, now, self.outbox.all())?)
    }

    /// Signs, connects the transport, sends CONNECT and waits for CONNACK; then restores
    /// the session. One future for both halves: restoring is only ever done here.
    async fn open(&mut self) -> Result<(), DeviceError<Pf>> {
        self.inbox.reset();
        self.outbox.reset();
        self.pending = None;
        let now = self.platform.clock().now_ms();
        let n = self.encode_connect(now)?;
        self.outbox.commit(n);
        let registered = self.credentials.record();
        let Parts {
            transport, clock, ..
        } = self.platform.parts();
        let deadline = now.saturating_add(self.connect_timeout_ms);
        // The host name, if the provider builds one, goes into the receive buffer, which
        // holds nothing until CONNACK.
        let mut host_scratch = Scratch::new(self.inbox.all());
        let caps = TransportCaps::of(&*transport);
        // Registered credentials may call for another endpoint (Tencent's registered key
        // devices: TLS-PSK where the transport has it).
        let registered_endpoint = match (registered, self.provider.registration()) {
            (Some(record), Some(registration)) => {
                registration.registered_endpoint(record, caps, &mut host_scratch)?
            }
            _ => None,
        };
        let mut endpoint = match registered_endpoint {
            Some(endpoint) => endpoint,
            None => self.provider.endpoint_for(&mut host_scratch, caps)?,
        };
        if let (Some(tls), Some(record)) = (endpoint.tls.as_mut(), registered)
            && tls.client.is_none()
        {
            tls.client = self
                .provider
                .registration()
                .and_then(|r| r.identity(record));
        }
        info!(
            "connecting to {}:{} ({})",
            endpoint.host,
            endpoint.port,
            if endpoint.tls.is_some() { "TLS" } else { "TCP" }
        );
        match within!(clock, deadline, transport.connect(&endpoint)) {
            None => return Err(Error::Timeout),
            Some(Err(e)) => return Err(Error::Transport(e)),
            Some(Ok(())) => {}
        }
        self.outbox
            .write_out(transport, &[])
            .await
            .map_err(WriteFailed::into_error)?;
        let session_present = loop {
            let decoded =
                Packet::decode_from_broker(self.inbox.received()).map_err(|e| match e {
                    ProtocolError::UnexpectedPacket(t) => ProtocolError::ExpectedConnack(t),
                    e => e,
                })?;
            if let Some((packet, used)) = decoded {
                let Packet::Connack(connack) = packet else {
                    return Err(ProtocolError::ExpectedConnack(packet.packet_type()).into());
                };
                info!(
                    "CONNACK {:?}, session present: {}",
                    connack.code, connack.session_present
                );
                self.session.on_connack(&connack, clock.now_ms())?;
                self.inbox.drop_front(used);
                break connack.session_present;
            }
            if self.inbox.received().len() == self.inbox.capacity() {
                return Err(ProtocolError::ExpectedConnack(PacketType::Connack).into());
            }
            match self.inbox.read(transport, clock, Some(deadline)).await {
                Read::Bytes => {}
                Read::Deadline => return Err(Error::Timeout),
                Read::Closed => return Err(Error::PeerClosed),
                Read::Failed(e) => return Err(Error::Transport(e)),
            }
        };
        // After CONNACK: queues what the session holds to re-send, the provider's system
        // topics the session does not have yet and the OTA messages, and writes them out
        // together.
        while self.replay_one().await?.is_some() {}
        self.subscribe_all(Topics::System).await?;
        #[cfg(feature = "ota")]
        self.ota_on_connect().await?;
        #[cfg(feature = "data")]
        self.data_on_connect().await?;
        let Parts {
            transport, clock, ..
        } = self.platform.parts();
        self.outbox
            .write_out(transport, &[])
            .await
            .map_err(WriteFailed::into_error)?;
        self.session.sent(clock.now_ms());
        self.pending = Some(Pending::Connected { session_present });
        Ok(())
    }

    /// The `index`th subscription of `topics`, named in `scratch`.
    fn nth_topic<'s>(
        provider: &P,
        topics: Topics,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        match topics {
            Topics::System => provider.system_subscription(index, scratch),
            #[cfg(feature = "ota")]
            Topics::Ota => match provider.ota() {
                Ok(ota) => crate::ota::OtaFormat::subscription(ota, index, scratch),
                Err(_) => Ok(None),
            },
            #[cfg(feature = "data")]
            Topics::Data => match provider.data() {
                Ok(data) => crate::data::DataFormat::subscription(data, index, scratch),
                Err(_) => Ok(None),
            },
        }
    }

    /// Keeps in the session memory the room the subscriptions made on every connect need:
    /// the provider's system topics, and those of OTA and the data model where enabled. A
    /// full offline queue then never stops a connection from subscribing.
    pub fn reserve_subscriptions(&mut self) {
        #[allow(unused_mut)]
        let mut reserve = self.session_needs(Topics::System);
        #[cfg(feature = "ota")]
        if self.ota.enabled() {
            reserve += self.session_needs(Topics::Ota);
        }
        #[cfg(feature = "data")]
        if self.data.enabled() {
            reserve += self.session_needs(Topics::Data);
        }
        self.session.set_reserve(reserve);
    }

    /// Session memory the subscriptions of `topics` take. A topic the provider cannot name
    /// ends the count: connecting reports that error.
    pub fn session_needs(&mut self, topics: Topics) -> usize {
        let mut total = 0;
        for index in 0.. {
            let mut scratch = Scratch::new(self.inbox.all());
            match Self::nth_topic(&self.provider, topics, index, &mut scratch) {
                Ok(Some(topic)) => total += Session::subscription_len(topic.filter.as_str()),
                _ => break,
            }
        }
        total
    }

    /// Queues a SUBSCRIBE for each topic of `topics` the session does not have yet.
    pub async fn subscribe_all(&mut self, topics: Topics) -> Result<(), DeviceError<Pf>> {
        for index in 0.. {
            let mut scratch = Scratch::new(self.inbox.free());
            let topic = Self::nth_topic(&self.provider, topics, index, &mut scratch)?;
            let Some(topic) = topic else {
                break;
            };
            if self
                .session
                .subscriptions()
                .any(|(filter, _, _)| filter == topic.filter.as_str())
            {
                continue;
            }
            let transport = self.platform.parts().transport;
            let (_id, n) = match self.session.subscribe(&[topic], self.outbox.free()) {
                Err(SessionError::Encode(EncodeError::BufferTooSmall { .. }))
                    if self.outbox.queued() > 0 =>
                {
                    self.outbox
                        .write_out(transport, &[])
                        .await
                        .map_err(WriteFailed::into_error)?;
                    self.session.subscribe(&[topic], self.outbox.free())?
                }
                other => other?,
            };
            debug!(
                "SUBSCRIBE {} (QoS {:?}) as packet {}",
                topic.filter.as_str(),
                topic.qos,
                _id.get()
            );
            self.outbox.commit(n);
        }
        Ok(())
    }

    /// Queues the next packet the session wants re-sent (a subscription, a message in the
    /// replay window); `None` when there is none for now. A write the queue needed failed
    /// with the transport's error.
    async fn replay_one(&mut self) -> Result<Option<()>, DeviceError<Pf>> {
        let transport = self.platform.parts().transport;
        let had_queued = self.outbox.queued() > 0;
        // What to write out now, after what waits: a stored frame that does not fit the
        // buffer, or nothing more when the buffer is too small for the next SUBSCRIBE.
        let extra: &[u8] = match self.session.next_replay(self.outbox.free()) {
            Ok(None) => return Ok(None),
            Ok(Some(Replay::Frame(n))) => {
                self.outbox.commit(n);
                return Ok(Some(()));
            }
            Ok(Some(Replay::Stored(frame))) => {
                if self.outbox.queue_copy(frame) {
                    return Ok(Some(()));
                }
                frame
            }
            Err(SessionError::Encode(EncodeError::BufferTooSmall { .. })) if had_queued => &[],
            Err(e) => return Err(e.into()),
        };
        self.outbox
            .write_out(transport, extra)
            .await
            .map_err(WriteFailed::into_error)?;
        Ok(Some(()))
    }

    /// The connection is gone: close it, keep the session, report `reason` next.
    pub async fn link_lost(&mut self, reason: DisconnectReason) {
        self.wire().link_lost(reason).await;
    }

    /// The parts that write to the connection, borrowed apart from the rest.
    pub fn wire(&mut self) -> Wire<'_, 'b, Pf::Transport, Pf::Clock> {
        let parts = self.platform.parts();
        Wire {
            session: &mut self.session,
            outbox: &mut self.outbox,
            pending: &mut self.pending,
            transport: parts.transport,
            clock: parts.clock,
        }
    }

    /// A write future was dropped half-way: the stream is unusable.
    pub async fn check_interrupted(&mut self) {
        if self.outbox.is_dirty() && self.session.is_connected() {
            self.link_lost(DisconnectReason::WriteInterrupted).await;
        }
    }

    /// Writes out what waits in the transmit buffer, then `extra`; see
    /// [`Wire::write_out`].
    pub async fn write_out(&mut self, extra: &[u8]) -> Result<(), WriteFailed<TransportError<Pf>>> {
        self.wire().write_out(extra).await
    }

    /// Writes out what waits; a failure is reported as [`Event::Disconnected`] only.
    async fn write_out_quietly(&mut self) {
        let _ = self.write_out(&[]).await;
    }

    /// The publish of `topic` with `payload`, checked against the cloud's limits, queued
    /// behind what waits in the transmit buffer, and written out at once when `now`.
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        now: bool,
    ) -> Result<Option<PacketId>, DeviceError<Pf>> {
        self.check_interrupted().await;
        let limits = self.provider.limits();
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
        self.wire().publish(topic, payload, qos, retain, now).await
    }

    /// Subscribes to topic filters and writes the SUBSCRIBE out.
    pub async fn subscribe(&mut self, topics: &[(&str, QoS)]) -> Result<PacketId, DeviceError<Pf>> {
        self.check_interrupted().await;
        let limits = self.provider.limits();
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
        // Behind what waits, or after writing that out when the rest of the buffer is too
        // small (a failed write empties the buffer: the second try then reports the error).
        let (id, n) = loop {
            match self.session.subscribe(&list, self.outbox.free()) {
                Err(SessionError::Encode(EncodeError::BufferTooSmall { .. }))
                    if self.outbox.queued() > 0 =>
                {
                    self.write_out_quietly().await
                }
                other => break other?,
            }
        };
        #[cfg(any(feature = "log", feature = "defmt"))]
        for topic in &list {
            debug!(
                "SUBSCRIBE {} (QoS {:?}) as packet {}",
                topic.filter.as_str(),
                topic.qos,
                id.get()
            );
        }
        self.outbox.commit(n);
        self.write_out_quietly().await;
        Ok(id)
    }

    /// Removes subscriptions and writes the UNSUBSCRIBE out.
    pub async fn unsubscribe(&mut self, filters: &[&str]) -> Result<PacketId, DeviceError<Pf>> {
        self.check_interrupted().await;
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
        // Behind what waits, or after writing that out when the rest of the buffer is too
        // small (a failed write empties the buffer: the second try then reports the error).
        let (id, n) = loop {
            match self.session.unsubscribe(&list, self.outbox.free()) {
                Err(SessionError::Encode(EncodeError::BufferTooSmall { .. }))
                    if self.outbox.queued() > 0 =>
                {
                    self.write_out_quietly().await
                }
                other => break other?,
            }
        };
        debug!("UNSUBSCRIBE {} filters as packet {}", list.len(), id.get());
        self.outbox.commit(n);
        self.write_out_quietly().await;
        Ok(id)
    }

    /// Writes out everything queued. A failure ends the connection: it is returned, and
    /// reported as [`Event::Disconnected`].
    pub async fn flush(&mut self) -> Result<(), DeviceError<Pf>> {
        self.check_interrupted().await;
        if !self.session.is_connected() {
            return if self.outbox.is_pending() {
                Err(Error::NotConnected)
            } else {
                Ok(())
            };
        }
        self.write_out(&[]).await.map_err(WriteFailed::into_error)
    }

    /// Waits for the next event.
    pub async fn next_event(&mut self) -> Result<Event<'_>, DeviceError<Pf>> {
        self.inbox.consume();
        self.check_interrupted().await;
        let frame_len = loop {
            if let Some(pending) = self.pending.take() {
                return Ok(pending.into_event());
            }
            if let Some(packet_id) = self.session.take_dropped() {
                return Ok(Event::Dropped { packet_id });
            }
            if !self.session.is_connected() {
                return Err(Error::NotConnected);
            }
            if let Some(len) = self.step().await? {
                break len;
            }
        };
        self.expose(frame_len)
    }

    /// Makes progress: handles one complete packet or reads more bytes. Returns the length
    /// of a frame at the start of the receive buffer to hand to the application, or `None`
    /// to go on.
    pub async fn step(&mut self) -> Result<Option<usize>, DeviceError<Pf>> {
        // Queued and re-sent messages beyond the replay window go out as the window frees.
        if self.session.replay_pending() {
            match self.replay_one().await {
                Ok(Some(())) => return Ok(None),
                Ok(None) => {}
                Err(e @ (Error::Transport(_) | Error::PeerClosed)) => {
                    let reason = match e {
                        Error::Transport(e) => DisconnectReason::Transport(e.kind()),
                        _ => DisconnectReason::PeerClosed,
                    };
                    self.link_lost(reason).await;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        if self.inbox.skip_discarded() {
            self.read_more().await?;
            return Ok(None);
        }
        match self.inbox.frame() {
            Err(e) => {
                self.link_lost(DisconnectReason::Protocol(e.into())).await;
                return Ok(None);
            }
            // A packet larger than the receive buffer: acknowledge it if it is a PUBLISH
            // whose header can be read, skip its bytes, and report it.
            Ok(Framed::Oversized { header_len, total }) => {
                let capacity = self.inbox.capacity();
                // The frame's header was read: its first byte is there.
                let first = self.inbox.received().first().copied().unwrap_or_default();
                if first >> 4 == PacketType::Publish as u8 {
                    let flags = first & 0x0f;
                    let id_len = if flags & 0b0110 != 0 { 2 } else { 0 };
                    let have = self.inbox.after(header_len);
                    let needed = match have {
                        [hi, lo, ..] => 2 + usize::from(u16::from_be_bytes([*hi, *lo])) + id_len,
                        _ => 2,
                    };
                    if have.len() < needed && header_len + needed <= capacity {
                        self.read_more().await?;
                        return Ok(None);
                    }
                    if have.len() >= needed {
                        if self.outbox.must_write_for(ACK_LEN) && self.write_out(&[]).await.is_err()
                        {
                            return Ok(None);
                        }
                        let now = self.platform.clock().now_ms();
                        let have = self.inbox.after(header_len);
                        match Publish::parse(flags, have.get(..needed).unwrap_or(have)) {
                            Ok(p) => {
                                let r = self.session.handle(
                                    &Packet::Publish(p),
                                    now,
                                    self.outbox.free(),
                                )?;
                                self.outbox.commit(r.reply);
                                // Acknowledged before the application hears of it, as a message
                                // that fits would be.
                                self.write_out_quietly().await;
                            }
                            Err(e) => {
                                self.link_lost(DisconnectReason::Protocol(e.into())).await;
                                return Ok(None);
                            }
                        }
                    }
                }
                self.inbox.discard_packet(total);
                return Err(Error::IncomingTooLarge {
                    len: total,
                    capacity,
                });
            }
            // The complete packet of `total` bytes at the start of the receive buffer,
            // handled here rather than in a future of its own.
            Ok(Framed::Complete(total)) => {
                if self.outbox.must_write_for(ACK_LEN) && self.write_out(&[]).await.is_err() {
                    return Ok(None);
                }
                let now = self.platform.clock().now_ms();
                let reaction = match Packet::decode_from_broker(self.inbox.head(total)) {
                    Ok(Some((packet, _))) => self.session.handle(&packet, now, self.outbox.free()),
                    Ok(None) => return Ok(None),
                    Err(e) => {
                        self.link_lost(DisconnectReason::Protocol(e)).await;
                        return Ok(None);
                    }
                };
                let reaction = match reaction {
                    Ok(r) => r,
                    Err(SessionError::Protocol(p)) if p.is_fatal() => {
                        self.link_lost(DisconnectReason::Protocol(p)).await;
                        return Ok(None);
                    }
                    Err(e) => {
                        // Not fatal: drop the packet (an unacknowledged QoS 2 message comes again
                        // on the next connection) and report.
                        self.inbox.hand_out(total);
                        return Err(e.into());
                    }
                };
                self.outbox.commit(reaction.reply);
                #[cfg(feature = "ota")]
                if matches!(reaction.event, SessionEvent::Deliver)
                    && !self.inspect_ota(total).await?
                {
                    return Ok(None);
                }
                return Ok(match reaction.event {
                    SessionEvent::Deliver | SessionEvent::Subscribed(_) => {
                        // The acknowledgement goes out before the application gets the message,
                        // unless more messages are already here: theirs go out together.
                        if reaction.reply > 0
                            && !matches!(self.inbox.frame_at(total), Ok(Framed::Complete(_)))
                        {
                            self.write_out_quietly().await;
                        }
                        self.inbox.hand_out(total);
                        Some(total)
                    }
                    other => {
                        self.inbox.drop_front(total);
                        match other {
                            SessionEvent::Published(id) => {
                                debug!("packet {} acknowledged", id.get());
                                self.pending = self.pending.or(Some(Pending::Published(id)));
                            }
                            SessionEvent::Unsubscribed(id) => {
                                debug!("UNSUBACK for packet {}", id.get());
                                self.pending = self.pending.or(Some(Pending::Unsubscribed(id)));
                            }
                            _ => {}
                        }
                        None
                    }
                });
            }
            Ok(Framed::Incomplete) => {}
        }
        self.read_more().await?;
        Ok(None)
    }

    /// Writes out what waits, then waits for bytes or for the keep-alive deadline,
    /// whichever comes first.
    async fn read_more(&mut self) -> Result<(), DeviceError<Pf>> {
        if self.inbox.free().is_empty() {
            // Cannot happen: a frame that fits was dispatched, one that does not is
            // discarded. Refuse rather than read into an empty slice.
            return Err(Error::IncomingTooLarge {
                len: self.inbox.capacity() + 1,
                capacity: self.inbox.capacity(),
            });
        }
        if self.write_out(&[]).await.is_err() {
            return Ok(());
        }
        let deadline = self.session.poll_at();
        let Parts {
            transport, clock, ..
        } = self.platform.parts();
        // The link lost for this reason, or (`None`) a PINGREQ to write out.
        let lost = match self.inbox.read(transport, clock, deadline).await {
            Read::Bytes => return Ok(()),
            Read::Closed => Some(DisconnectReason::PeerClosed),
            Read::Failed(e) => Some(DisconnectReason::Transport(e.kind())),
            Read::Deadline => {
                let now = clock.now_ms();
                match self.session.poll(now, self.outbox.free())? {
                    Poll::Idle => return Ok(()),
                    Poll::Ping(n) => {
                        debug!("PINGREQ");
                        self.outbox.commit(n);
                        None
                    }
                    Poll::Dead => Some(DisconnectReason::KeepAliveTimeout),
                }
            }
        };
        match lost {
            Some(reason) => self.link_lost(reason).await,
            None => self.write_out_quietly().await,
        }
        Ok(())
    }

    /// Builds the event for the frame of `len` bytes at the start of the receive buffer.
    pub fn expose(&mut self, len: usize) -> Result<Event<'_>, DeviceError<Pf>> {
        #[cfg(feature = "ota")]
        if let Some(event) = self.ota.take_event() {
            return Ok(event);
        }
        match Packet::decode_from_broker(self.inbox.head(len))? {
            Some((Packet::Publish(p), _)) => {
                debug!(
                    "PUBLISH received on {} (QoS {:?}, {} bytes)",
                    p.topic.as_str(),
                    p.qos.qos(),
                    p.payload.len()
                );
                #[cfg(feature = "data")]
                if let Some(event) = super::data::data_event(
                    &mut self.data,
                    &self.provider,
                    self.platform.clock(),
                    p.topic.as_str(),
                    p.payload,
                ) {
                    return Ok(event);
                }
                Ok(Event::Message(Message {
                    topic: p.topic.as_str(),
                    payload: p.payload,
                    qos: p.qos.qos(),
                    retain: p.retain,
                    dup: p.dup,
                }))
            }
            Some((Packet::Suback(s), _)) => {
                debug!("SUBACK for packet {}", s.packet_id.get());
                Ok(Event::Subscribed {
                    packet_id: s.packet_id,
                    codes: s.codes,
                })
            }
            Some((other, _)) => Err(ProtocolError::UnexpectedPacket(other.packet_type()).into()),
            None => Err(Error::NotConnected),
        }
    }

    /// DISCONNECT after what waits, wait (up to the connect timeout) for the broker to
    /// close, then close.
    pub async fn disconnect(&mut self) {
        if self.session.is_connected() && !self.outbox.is_dirty() {
            info!("disconnecting");
            // `None`: no room behind what waits, which is written out first.
            match self.session.disconnect(self.outbox.free()).ok() {
                Some(n) => self.outbox.commit(n),
                None => {
                    let transport = self.platform.parts().transport;
                    let _ = self.outbox.write_out(transport, &[]).await;
                    let _ = self
                        .session
                        .disconnect(self.outbox.free())
                        .map(|n| self.outbox.commit(n));
                }
            }
            let Parts {
                transport, clock, ..
            } = self.platform.parts();
            if self.outbox.write_out(transport, &[]).await.is_ok() {
                // The broker closes the connection once it has read the DISCONNECT, so
                // everything before it. Closing first, with bytes from the broker still
                // unread, makes TCP stacks reset the connection, and the broker then loses
                // what it had received but not yet read: the last QoS 0 messages above all.
                let deadline = clock.now_ms().saturating_add(self.connect_timeout_ms);
                self.inbox.reset();
                while let Read::Bytes = self.inbox.read(transport, clock, Some(deadline)).await {
                    self.inbox.reset();
                }
            }
        }
        self.session.link_down();
        self.outbox.reset();
        self.platform.parts().transport.close().await;
        self.pending = None;
    }
}

/// What writes to the connection: the session, the transmit buffer and the transport,
/// borrowed apart from the receive buffer and the provider (whose memory a message the
/// device words is built in).
pub(super) struct Wire<'a, 'b, T, C> {
    pub session: &'a mut Session<'b>,
    pub outbox: &'a mut Outbox<'b>,
    pub pending: &'a mut Option<Pending>,
    pub transport: &'a mut T,
    pub clock: &'a C,
}

impl<T: Transport, C: Clock> Wire<'_, '_, T, C> {
    /// The connection is gone: close it, keep the session, report `reason` next.
    pub async fn link_lost(&mut self, reason: DisconnectReason) {
        info!("connection lost: {:?}", reason);
        self.session.link_down();
        // Before the await, so the reason need not be kept in the future.
        *self.pending = Some(Pending::Disconnected(reason));
        self.outbox.reset();
        self.transport.close().await;
    }

    /// Writes out what waits in the transmit buffer, then `extra`. A failure marks the
    /// link lost (the session keeps what must be re-sent; the loss is reported as
    /// [`Event::Disconnected`]) and is returned.
    pub async fn write_out(&mut self, extra: &[u8]) -> Result<(), WriteFailed<T::Error>> {
        if !self.outbox.is_pending() && extra.is_empty() {
            return Ok(());
        }
        match self.outbox.write_out(self.transport, extra).await {
            Ok(()) => {
                self.session.sent(self.clock.now_ms());
                Ok(())
            }
            Err(e) => {
                self.link_lost(e.reason()).await;
                Err(e)
            }
        }
    }

    /// Publishes `payload` to `topic` (already checked against the cloud's limits): QoS 1
    /// and 2 into the session, every frame into the transmit buffer behind what waits there,
    /// written out at once when `now`, when the buffer is full, or when the message is
    /// larger than the buffer.
    pub async fn publish(
        &mut self,
        topic: TopicName<'_>,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        now: bool,
    ) -> Result<Option<PacketId>, Error<T::Error>> {
        // A message that fits the buffer but not what is left of it: write out what waits
        // first, so that it goes out in one piece with what follows.
        let probe = Publish {
            topic,
            qos: QosPid::from_parts(qos, PacketId::new(1)).unwrap_or(QosPid::AtMostOnce),
            dup: false,
            retain,
            payload,
        };
        let len = probe.frame_len().unwrap_or(usize::MAX);
        if self.session.is_connected() && self.outbox.must_write_for(len) {
            let lost = self.write_out(&[]).await.err();
            if let (Some(e), QoS::AtMostOnce) = (lost, qos) {
                return Err(e.into_error());
            }
        }
        // What goes out after the queued bytes: nothing, the payload after its header, or a
        // stored frame that did not fit the buffer. One write for every case.
        let (id, extra): (_, Option<&[u8]>) =
            match self
                .session
                .publish(topic, payload, qos, retain, self.outbox.free())?
            {
                Outgoing::Frame(n) => {
                    self.outbox.commit(n);
                    (None, None)
                }
                Outgoing::HeaderThenPayload(n) => {
                    self.outbox.commit(n);
                    (None, Some(payload))
                }
                Outgoing::Stored { packet_id, frame } => (
                    Some(packet_id),
                    (!self.outbox.queue_copy(frame)).then_some(frame),
                ),
                Outgoing::Queued { packet_id } => {
                    debug!(
                        "PUBLISH {} (QoS {:?}, {} bytes) queued as packet {}",
                        topic.as_str(),
                        qos,
                        payload.len(),
                        packet_id.get()
                    );
                    return Ok(Some(packet_id));
                }
            };
        match id {
            Some(_id) => debug!(
                "PUBLISH {} (QoS {:?}, {} bytes) as packet {}",
                topic.as_str(),
                qos,
                payload.len(),
                _id.get()
            ),
            None => debug!(
                "PUBLISH {} (QoS {:?}, {} bytes)",
                topic.as_str(),
                qos,
                payload.len()
            ),
        }
        let extra = match extra {
            Some(extra) => extra,
            None if now => &[],
            None => return Ok(id),
        };
        let written = self.outbox.write_out(self.transport, extra).await;
        match written {
            Ok(()) => {
                self.session.sent(self.clock.now_ms());
                Ok(id)
            }
            Err(e) => {
                self.link_lost(e.reason()).await;
                // A stored message is re-sent after the next connect; a QoS 0 one is gone.
                match id {
                    Some(id) => Ok(Some(id)),
                    None => Err(e.into_error()),
                }
            }
        }
    }
}
