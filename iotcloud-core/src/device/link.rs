//! The I/O driver under the typestate: moves bytes between the transport, the receive and
//! transmit buffers and the session engine.

use embedded_io::Error as _;

use super::{DeviceOptions, DisconnectReason, Event, Message};
use core::ops::Range;

use crate::clock::{Clock, with_deadline};
use crate::error::{Error, ProtocolError};
use crate::kv::KvStore;
#[cfg(feature = "registration")]
use crate::kv::StoreError;
use crate::mqtt::{
    Connect, FrameStatus, Packet, PacketId, PacketType, Publish, QoS, TopicName, frame_status,
};
#[cfg(feature = "ota")]
use crate::ota::{Firmware, Notice, OtaContext, OtaJob, OtaNoticeError, OtaStatus, OtaSupport};
#[cfg(not(feature = "registration"))]
use crate::provider::ProviderError;
#[cfg(feature = "ota")]
use crate::provider::Publication;
use crate::provider::{Provider, SignContext};
use crate::register::RegisterError;
#[cfg(feature = "registration")]
use crate::register::{self, RegisterIo};
use crate::scratch::Scratch;
use crate::session::{Outgoing, Poll, Session, SessionError, SessionEvent};
use crate::transport::Transport;

/// An event decided on before it can be returned.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pending {
    Connected { session_present: bool },
    Published(PacketId),
    Unsubscribed(PacketId),
    Disconnected(DisconnectReason),
}

/// What the frame being handed to the application turned out to be for OTA.
#[cfg(feature = "ota")]
#[derive(Debug, Clone, Copy)]
pub(super) enum OtaPending {
    /// An upgrade job, now in the job buffer.
    Job,
    /// An upgrade notice that was not taken.
    Rejected(OtaNoticeError),
}

/// A message the device sends on its own behalf.
#[cfg(feature = "ota")]
#[derive(Debug, Clone, Copy)]
pub(super) enum SystemMessage {
    VersionReport,
    JobRequest,
    Report(OtaStatus),
}

pub(super) struct Core<'b, P, T, C, S> {
    pub provider: P,
    pub transport: T,
    pub clock: C,
    pub store: S,
    pub session: Session<'b>,
    rx: &'b mut [u8],
    pub tx: &'b mut [u8],
    /// Valid bytes at the start of `rx`.
    rx_len: usize,
    /// Bytes at the start of `rx` that belong to the event last returned; dropped on the
    /// next call.
    rx_consume: usize,
    /// Bytes of an oversized incoming packet still to skip.
    discard: usize,
    pub pending: Option<Pending>,
    /// A write started and did not finish: the stream may hold half a packet.
    pub tx_dirty: bool,
    /// [`DeviceOptions::connect_timeout_ms`]; the session keeps the other timings.
    connect_timeout_ms: u64,
    /// [`DeviceOptions::seed`] was given: the random sequence is not mixed with anything.
    seeded: bool,
    rng: u64,
    /// Credentials memory: a sealed registration record (see `crate::register`).
    creds: &'b mut [u8],
    /// Where the provider's record is in `creds`, once registered or loaded.
    pub record: Option<Range<usize>>,
    /// Length of the sealed record in `creds`.
    sealed_len: usize,
    /// The record was obtained but not yet stored.
    pub unsaved: bool,
    /// The running firmware, once OTA is enabled.
    #[cfg(feature = "ota")]
    pub firmware: Option<Firmware<'b>>,
    /// The current upgrade job, encoded (`job_buf[..job_len]`; `job_len == 0`: none).
    #[cfg(feature = "ota")]
    pub job_buf: &'b mut [u8],
    #[cfg(feature = "ota")]
    pub job_len: usize,
    /// A download is running: new jobs are refused.
    #[cfg(feature = "ota")]
    pub ota_busy: bool,
    /// What the frame handed out last is, for OTA.
    #[cfg(feature = "ota")]
    pub ota_pending: Option<OtaPending>,
    /// Id of the next message the device sends on its own behalf.
    #[cfg(feature = "ota")]
    message_id: u32,
}

/// Writes `parts` back to back and flushes. `dirty` stays set if the future is dropped
/// half-way, so the device knows the stream is no longer usable.
pub(super) async fn send<T: Transport>(
    transport: &mut T,
    dirty: &mut bool,
    parts: &[&[u8]],
) -> Result<(), T::Error> {
    *dirty = true;
    for part in parts {
        if !part.is_empty() {
            transport.write_all(part).await?;
        }
    }
    transport.flush().await?;
    *dirty = false;
    Ok(())
}

/// Hands one PUBLISH (topic, payload, QoS, retain) to the session and writes what it wants
/// written. Returns the packet id (QoS 1 and 2) and how the write went; what a failed
/// write means is the caller's to decide.
pub(super) async fn write_publish<T: Transport>(
    session: &mut Session<'_>,
    transport: &mut T,
    tx: &mut [u8],
    dirty: &mut bool,
    (topic, payload, qos, retain): (TopicName<'_>, &[u8], QoS, bool),
    now: u64,
) -> Result<(Option<PacketId>, Result<(), T::Error>), SessionError> {
    let (parts, id): ([&[u8]; 2], _) = match session.publish(topic, payload, qos, retain, tx)? {
        Outgoing::Frame(f) => ([f, &[]], None),
        Outgoing::HeaderThenPayload(h) => ([h, payload], None),
        Outgoing::Stored { packet_id, frame } => ([frame, &[]], Some(packet_id)),
        Outgoing::Queued { packet_id } => return Ok((Some(packet_id), Ok(()))),
    };
    let written = send(transport, dirty, &parts).await;
    if written.is_ok() {
        session.sent(now);
    }
    Ok((id, written))
}

/// FNV-1a, to fold a client id into the random seed.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl<'b, P, T, C, S> Core<'b, P, T, C, S> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: P,
        transport: T,
        clock: C,
        store: S,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        session: Session<'b>,
        options: DeviceOptions,
    ) -> Self {
        Core {
            provider,
            transport,
            clock,
            store,
            session,
            rx,
            tx,
            rx_len: 0,
            rx_consume: 0,
            discard: 0,
            pending: None,
            tx_dirty: false,
            rng: options.seed.unwrap_or(0x853c_49e6_748f_ea9b),
            connect_timeout_ms: options.connect_timeout_ms,
            seeded: options.seed.is_some(),
            creds: &mut [],
            record: None,
            sealed_len: 0,
            unsaved: false,
            #[cfg(feature = "ota")]
            firmware: None,
            #[cfg(feature = "ota")]
            job_buf: &mut [],
            #[cfg(feature = "ota")]
            job_len: 0,
            #[cfg(feature = "ota")]
            ota_busy: false,
            #[cfg(feature = "ota")]
            ota_pending: None,
            #[cfg(feature = "ota")]
            message_id: 1,
        }
    }

    /// Gives the device memory for registration records.
    pub fn set_credentials_buffer(&mut self, creds: &'b mut [u8]) {
        self.creds = creds;
        self.record = None;
        self.sealed_len = 0;
        self.unsaved = false;
    }

    /// The provider's registration record, if registered or loaded.
    pub fn record(&self) -> Option<&[u8]> {
        self.record.clone().map(|r| &self.creds[r])
    }

    pub fn into_parts(self) -> (P, T, C, S) {
        (self.provider, self.transport, self.clock, self.store)
    }

    /// SplitMix64.
    pub fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Drops the frame behind the event returned last.
    pub fn consume(&mut self) {
        let n = core::mem::take(&mut self.rx_consume);
        self.drop_front(n);
    }

    /// Removes `n` bytes from the front of the receive buffer.
    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.rx_len);
        crate::bytes::shift_down(self.rx, n..self.rx_len, 0);
        self.rx_len -= n;
    }
}

impl<'b, P: Provider, T: Transport, C: Clock, S: KvStore> Core<'b, P, T, C, S> {
    /// Loads the stored registration record, or registers and stores the result. A record
    /// obtained but not stored is kept, so a retry only stores it.
    #[cfg(feature = "registration")]
    pub async fn register(&mut self) -> Result<(), Error<T::Error>> {
        let Some(id) = self.provider.registration() else {
            return Ok(());
        };
        let key = id.store_key(self.provider.cloud());
        if self.record.is_none() {
            match self.store.get(&key, self.creds).await {
                Ok(Some(n)) => {
                    let range = register::open(&self.creds[..n]).ok_or(StoreError::Corrupt)?;
                    self.record = Some(range);
                    self.sealed_len = n;
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => return Err(Error::Store(e)),
            }
            let unix_time_ms = self.clock.unix_time_ms();
            if !self.seeded {
                self.rng ^= self.clock.now_ms().rotate_left(17) ^ unix_time_ms.unwrap_or(0);
            }
            let random = self.random();
            let area = register::payload_area(self.creds.len());
            let io = RegisterIo {
                transport: &mut self.transport,
                clock: &self.clock,
                buf: self.rx,
                unix_time_ms,
                random,
            };
            let n = self
                .provider
                .register(io, &mut self.creds[area.clone()])
                .await
                .map_err(Error::Registration)?;
            let sealed = register::seal(self.creds, n).ok_or(Error::Registration(
                RegisterError::RecordTooLarge {
                    len: n.saturating_add(register::SEAL_OVERHEAD),
                    capacity: self.creds.len(),
                },
            ))?;
            self.record = Some(area.start..area.start + n);
            self.sealed_len = sealed;
            self.unsaved = true;
        }
        if self.unsaved {
            self.store.set(&key, &self.creds[..self.sealed_len]).await?;
            self.unsaved = false;
        }
        Ok(())
    }

    /// Without the `registration` feature: a configuration that registers is refused.
    /// (A separate function rather than a condition inside the one above, so that none of
    /// the registration code is compiled into the device's state machine.)
    #[cfg(not(feature = "registration"))]
    pub async fn register(&mut self) -> Result<(), Error<T::Error>> {
        match self.provider.registration() {
            None => Ok(()),
            Some(_) => Err(Error::Registration(RegisterError::Provider(
                ProviderError::Unsupported(
                    "dynamic registration (iotcloud-core built without its `registration` feature)",
                ),
            ))),
        }
    }

    /// Removes the registration record from memory and from the store.
    pub async fn forget_registration(&mut self) -> Result<(), Error<T::Error>> {
        self.record = None;
        self.sealed_len = 0;
        self.unsaved = false;
        if let Some(id) = self.provider.registration() {
            let key = id.store_key(self.provider.cloud());
            self.store.remove(&key).await?;
        }
        Ok(())
    }

    /// Opens the connection and restores the session; on failure the transport is closed
    /// and the session marked down.
    pub async fn connect(&mut self) -> Result<(), Error<T::Error>> {
        let result = match self.open().await {
            Ok(session_present) => self.restore(session_present).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.session.link_down();
            self.transport.close().await;
        }
        result
    }

    /// Signs, connects the transport, sends CONNECT and waits for CONNACK.
    async fn open(&mut self) -> Result<bool, Error<T::Error>> {
        self.rx_len = 0;
        self.rx_consume = 0;
        self.discard = 0;
        self.pending = None;
        self.tx_dirty = false;
        let now = self.clock.now_ms();
        let unix = self.clock.unix_time_ms();
        if !self.seeded {
            self.rng ^= now.rotate_left(29) ^ unix.unwrap_or(0);
        }
        let random = self.random();
        let registered = self.record.clone().map(|r| &self.creds[r]);
        let ctx = SignContext {
            unix_time_ms: unix,
            random,
            registered,
        };
        let options = self.provider.mqtt_options();
        let n = {
            let mut scratch = Scratch::new(self.rx);
            let creds = self.provider.sign(&ctx, &mut scratch)?;
            if !self.seeded {
                self.rng ^= fnv1a(creds.client_id);
            }
            let connect = Connect {
                client_id: creds.client_id,
                keep_alive: options.keep_alive_secs,
                clean_session: options.clean_session,
                will: self.provider.will(),
                username: creds.username,
                password: creds.password.map(str::as_bytes),
            };
            self.session.connect(&connect, now, self.tx)?
        };
        let deadline = now.saturating_add(self.connect_timeout_ms);
        // The host name, if the provider builds one, goes into the receive buffer, which
        // holds nothing until CONNACK.
        let mut host_scratch = Scratch::new(self.rx);
        let mut endpoint = self.provider.endpoint(&mut host_scratch)?;
        if let (Some(tls), Some(record)) = (endpoint.tls.as_mut(), registered)
            && tls.client.is_none()
        {
            tls.client = self.provider.registered_identity(record);
        }
        match with_deadline(&self.clock, deadline, self.transport.connect(&endpoint)).await {
            None => return Err(Error::Timeout),
            Some(Err(e)) => return Err(Error::Transport(e)),
            Some(Ok(())) => {}
        }
        send(&mut self.transport, &mut self.tx_dirty, &[&self.tx[..n]])
            .await
            .map_err(Error::Transport)?;
        loop {
            let decoded =
                Packet::decode_from_broker(&self.rx[..self.rx_len]).map_err(|e| match e {
                    ProtocolError::UnexpectedPacket(t) => ProtocolError::ExpectedConnack(t),
                    e => e,
                })?;
            if let Some((packet, used)) = decoded {
                let Packet::Connack(connack) = packet else {
                    return Err(ProtocolError::ExpectedConnack(packet.packet_type()).into());
                };
                self.session.on_connack(&connack, self.clock.now_ms())?;
                self.drop_front(used);
                return Ok(connack.session_present);
            }
            if self.rx_len == self.rx.len() {
                return Err(ProtocolError::ExpectedConnack(PacketType::Connack).into());
            }
            let read = self.transport.read(&mut self.rx[self.rx_len..]);
            match with_deadline(&self.clock, deadline, read).await {
                None => return Err(Error::Timeout),
                Some(Ok(0)) => return Err(Error::PeerClosed),
                Some(Ok(n)) => self.rx_len += n,
                Some(Err(e)) => return Err(Error::Transport(e)),
            }
        }
    }

    /// After CONNACK: re-sends what the session holds, then subscribes the provider's
    /// system topics the session does not have yet.
    async fn restore(&mut self, session_present: bool) -> Result<(), Error<T::Error>> {
        while let Some(bytes) = self.session.next_replay(self.tx)? {
            send(&mut self.transport, &mut self.tx_dirty, &[bytes])
                .await
                .map_err(Error::Transport)?;
        }
        for index in 0.. {
            let mut scratch = Scratch::new(&mut self.rx[self.rx_len..]);
            let Some(topic) = self.provider.system_subscription(index, &mut scratch)? else {
                break;
            };
            if self
                .session
                .subscriptions()
                .any(|(filter, _, _)| filter == topic.filter.as_str())
            {
                continue;
            }
            let (_, n) = self.session.subscribe(&[topic], self.tx)?;
            send(&mut self.transport, &mut self.tx_dirty, &[&self.tx[..n]])
                .await
                .map_err(Error::Transport)?;
        }
        self.session.sent(self.clock.now_ms());
        #[cfg(feature = "ota")]
        if self.firmware.is_some() && self.provider.ota_support() == OtaSupport::Supported {
            self.send_system(SystemMessage::VersionReport, None).await?;
            self.send_system(SystemMessage::JobRequest, None).await?;
        }
        self.pending = Some(Pending::Connected { session_present });
        Ok(())
    }

    /// Publishes a message the provider words (version report, job request, OTA report).
    /// `job` overrides the job buffer (a download works on its own copy). Nothing is sent
    /// when the provider has no such message. A lost link is reported as an event; QoS 1
    /// messages then wait in the session for the next connection.
    #[cfg(feature = "ota")]
    pub async fn send_system(
        &mut self,
        which: SystemMessage,
        job: Option<&OtaJob<'_>>,
    ) -> Result<(), Error<T::Error>> {
        let Some(firmware) = self.firmware else {
            return Ok(());
        };
        let ctx = OtaContext {
            firmware,
            message_id: self.message_id,
            unix_time_ms: self.clock.unix_time_ms(),
        };
        self.message_id = self.message_id.wrapping_add(1).max(1);
        let stored = (self.job_len > 0)
            .then(|| OtaJob::decode(&self.job_buf[..self.job_len]))
            .flatten();
        let job = job.or(stored.as_ref());
        let (_, free) = self.rx.split_at_mut(self.rx_len);
        let mut scratch = Scratch::new(free);
        let publication = match which {
            SystemMessage::VersionReport => self.provider.ota_version_report(&ctx, &mut scratch),
            SystemMessage::JobRequest => self.provider.ota_job_request(&ctx, &mut scratch),
            SystemMessage::Report(status) => {
                self.provider.ota_report(job, status, &ctx, &mut scratch)
            }
        }?;
        let Some(Publication {
            topic,
            payload,
            qos,
        }) = publication
        else {
            return Ok(());
        };
        let topic = TopicName::new(topic)?;
        let now = self.clock.now_ms();
        let (_, written) = write_publish(
            &mut self.session,
            &mut self.transport,
            self.tx,
            &mut self.tx_dirty,
            (topic, payload, qos, false),
            now,
        )
        .await?;
        if let Err(e) = written {
            self.link_lost(DisconnectReason::Transport(e.kind())).await;
        }
        Ok(())
    }

    /// Lets the provider look at the message in the first `total` bytes of `rx`. Returns
    /// whether it is for the application (`true`), or was consumed here.
    #[cfg(feature = "ota")]
    async fn inspect_ota(&mut self, total: usize) -> Result<bool, Error<T::Error>> {
        if self.firmware.is_none() {
            return Ok(true);
        }
        let notice = match Packet::decode_from_broker(&self.rx[..total]) {
            Ok(Some((Packet::Publish(p), _))) => {
                // While a download runs, a new job has nowhere to go.
                let job: &mut [u8] = if self.ota_busy {
                    &mut []
                } else {
                    &mut *self.job_buf
                };
                self.provider.ota_notice(p.topic.as_str(), p.payload, job)
            }
            _ => Notice::NotOta,
        };
        match notice {
            Notice::NotOta | Notice::Other => {}
            Notice::Job(len) => {
                self.job_len = len;
                self.ota_pending = Some(OtaPending::Job);
            }
            Notice::Invalid(OtaNoticeError::TooLarge { .. }) if self.ota_busy => {
                self.ota_pending = Some(OtaPending::Rejected(OtaNoticeError::Busy));
            }
            Notice::Invalid(e) => {
                // The provider may have written part of it over the previous job.
                if !self.ota_busy {
                    self.job_len = 0;
                }
                self.ota_pending = Some(OtaPending::Rejected(e));
            }
            Notice::VersionQuery => {
                self.drop_front(total);
                self.send_system(SystemMessage::VersionReport, None).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The connection is gone: close it, keep the session, report `reason` next.
    pub async fn link_lost(&mut self, reason: DisconnectReason) {
        self.session.link_down();
        // Before the await, so the reason need not be kept in the future.
        self.pending = Some(Pending::Disconnected(reason));
        self.tx_dirty = false;
        self.transport.close().await;
    }

    /// A write future was dropped half-way: the stream is unusable.
    pub async fn check_interrupted(&mut self) {
        if self.tx_dirty && self.session.is_connected() {
            self.link_lost(DisconnectReason::WriteInterrupted).await;
        }
    }

    /// Sends the first `n` bytes of `tx`. A failure marks the link lost (the session keeps
    /// what must be re-sent) and is reported as [`Event::Disconnected`].
    pub async fn send_tx(&mut self, n: usize, now: u64) {
        match send(&mut self.transport, &mut self.tx_dirty, &[&self.tx[..n]]).await {
            Ok(()) => self.session.sent(now),
            Err(e) => self.link_lost(DisconnectReason::Transport(e.kind())).await,
        }
    }

    /// Makes progress: handles one complete packet or reads more bytes. Returns the length
    /// of a frame at the start of `rx` to hand to the application, or `None` to go on.
    pub async fn step(&mut self) -> Result<Option<usize>, Error<T::Error>> {
        // Queued and re-sent messages beyond the replay window go out as the window frees.
        if self.session.replay_pending()
            && let Some(bytes) = self.session.next_replay(self.tx)?
        {
            match send(&mut self.transport, &mut self.tx_dirty, &[bytes]).await {
                Ok(()) => self.session.sent(self.clock.now_ms()),
                Err(e) => self.link_lost(DisconnectReason::Transport(e.kind())).await,
            }
            return Ok(None);
        }
        if self.discard > 0 {
            let n = self.discard.min(self.rx_len);
            self.drop_front(n);
            self.discard -= n;
            if self.discard > 0 {
                self.read_more().await?;
            }
            return Ok(None);
        }
        match frame_status(&self.rx[..self.rx_len]) {
            Err(e) => {
                self.link_lost(DisconnectReason::Protocol(e.into())).await;
                return Ok(None);
            }
            Ok(FrameStatus::Header {
                header_len,
                body_len,
            }) => {
                let total = header_len + body_len;
                if total > self.rx.len() {
                    return self.oversized(header_len, total).await;
                }
                if total <= self.rx_len {
                    return self.dispatch(total).await;
                }
            }
            Ok(FrameStatus::NeedHeader) => {}
        }
        self.read_more().await?;
        Ok(None)
    }

    /// Waits for bytes or for the keep-alive deadline, whichever comes first.
    async fn read_more(&mut self) -> Result<(), Error<T::Error>> {
        if self.rx_len == self.rx.len() {
            // Cannot happen: a frame that fits was dispatched, one that does not is
            // discarded. Refuse rather than read into an empty slice.
            return Err(Error::IncomingTooLarge {
                len: self.rx_len + 1,
                capacity: self.rx.len(),
            });
        }
        let deadline = self.session.poll_at();
        let read = self.transport.read(&mut self.rx[self.rx_len..]);
        let outcome = match deadline {
            Some(at) => with_deadline(&self.clock, at, read).await,
            None => Some(read.await),
        };
        match outcome {
            Some(Ok(0)) => self.link_lost(DisconnectReason::PeerClosed).await,
            Some(Ok(n)) => self.rx_len += n,
            Some(Err(e)) => self.link_lost(DisconnectReason::Transport(e.kind())).await,
            None => {
                let now = self.clock.now_ms();
                match self.session.poll(now, self.tx)? {
                    Poll::Idle => {}
                    Poll::Ping(n) => self.send_tx(n, now).await,
                    Poll::Dead => self.link_lost(DisconnectReason::KeepAliveTimeout).await,
                }
            }
        }
        Ok(())
    }

    /// Handles the complete packet of `total` bytes at the start of `rx`.
    async fn dispatch(&mut self, total: usize) -> Result<Option<usize>, Error<T::Error>> {
        let now = self.clock.now_ms();
        let reaction = match Packet::decode_from_broker(&self.rx[..total]) {
            Ok(Some((packet, _))) => self.session.handle(&packet, now, self.tx),
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
                self.rx_consume = total;
                return Err(e.into());
            }
        };
        if reaction.reply > 0 {
            // A failed acknowledgement still delivers the message; the disconnect follows.
            self.send_tx(reaction.reply, now).await;
        }
        #[cfg(feature = "ota")]
        if matches!(reaction.event, SessionEvent::Deliver) && !self.inspect_ota(total).await? {
            return Ok(None);
        }
        Ok(match reaction.event {
            SessionEvent::Deliver | SessionEvent::Subscribed(_) => {
                self.rx_consume = total;
                Some(total)
            }
            other => {
                self.drop_front(total);
                match other {
                    SessionEvent::Published(id) => {
                        self.pending = self.pending.or(Some(Pending::Published(id)));
                    }
                    SessionEvent::Unsubscribed(id) => {
                        self.pending = self.pending.or(Some(Pending::Unsubscribed(id)));
                    }
                    _ => {}
                }
                None
            }
        })
    }

    /// A packet larger than `rx`: acknowledge it if it is a PUBLISH whose header we can
    /// read, skip its bytes, and report it.
    async fn oversized(
        &mut self,
        header_len: usize,
        total: usize,
    ) -> Result<Option<usize>, Error<T::Error>> {
        let capacity = self.rx.len();
        let first = self.rx[0];
        if first >> 4 == PacketType::Publish as u8 {
            let flags = first & 0x0f;
            let id_len = if flags & 0b0110 != 0 { 2 } else { 0 };
            let have = &self.rx[header_len..self.rx_len];
            let needed = match have {
                [hi, lo, ..] => 2 + usize::from(u16::from_be_bytes([*hi, *lo])) + id_len,
                _ => 2,
            };
            if have.len() < needed && header_len + needed <= capacity {
                self.read_more().await?;
                return Ok(None);
            }
            if have.len() >= needed {
                let now = self.clock.now_ms();
                match Publish::parse(flags, &have[..needed]) {
                    Ok(p) => match self.session.handle(&Packet::Publish(p), now, self.tx) {
                        Ok(r) if r.reply > 0 => self.send_tx(r.reply, now).await,
                        Ok(_) => {}
                        Err(e) => return Err(e.into()),
                    },
                    Err(e) => {
                        self.link_lost(DisconnectReason::Protocol(e.into())).await;
                        return Ok(None);
                    }
                }
            }
        }
        self.discard = total - self.rx_len;
        self.rx_len = 0;
        Err(Error::IncomingTooLarge {
            len: total,
            capacity,
        })
    }

    /// Builds the event for the frame of `len` bytes at the start of `rx`.
    pub fn expose(&mut self, len: usize) -> Result<Event<'_>, Error<T::Error>> {
        #[cfg(feature = "ota")]
        match self.ota_pending.take() {
            Some(OtaPending::Job) => {
                if let Some(job) = OtaJob::decode(&self.job_buf[..self.job_len]) {
                    return Ok(Event::Ota(job));
                }
            }
            Some(OtaPending::Rejected(e)) => return Ok(Event::OtaRejected(e)),
            None => {}
        }
        match Packet::decode_from_broker(&self.rx[..len])? {
            Some((Packet::Publish(p), _)) => Ok(Event::Message(Message {
                topic: p.topic.as_str(),
                payload: p.payload,
                qos: p.qos.qos(),
                retain: p.retain,
                dup: p.dup,
            })),
            Some((Packet::Suback(s), _)) => Ok(Event::Subscribed {
                packet_id: s.packet_id,
                codes: s.codes,
            }),
            Some((other, _)) => Err(ProtocolError::UnexpectedPacket(other.packet_type()).into()),
            None => Err(Error::NotConnected),
        }
    }

    /// DISCONNECT, then close.
    pub async fn disconnect(&mut self) {
        if self.session.is_connected()
            && !self.tx_dirty
            && let Ok(n) = self.session.disconnect(self.tx)
        {
            let _ = send(&mut self.transport, &mut self.tx_dirty, &[&self.tx[..n]]).await;
        }
        self.session.link_down();
        self.transport.close().await;
        self.tx_dirty = false;
        self.pending = None;
    }
}
