//! The MQTT session engine, free of I/O.
//!
//! [`Session`] keeps what MQTT 3.1.1 calls the client's session state (§4.1): outgoing QoS 1
//! and 2 messages not yet acknowledged, incoming QoS 2 messages not yet released, and the
//! subscriptions. It takes parsed packets and the current time in, writes the packets to send
//! into a caller buffer, and never reads a clock or touches a socket; [`Session::poll_at`]
//! says when it next needs to be polled. The state lives in a caller-owned byte slice and
//! survives the loss of a connection: after the next CONNACK, [`Session::next_replay`] yields
//! the subscriptions to restore and the in-flight messages to re-send, with DUP set.
//!
//! ```
//! use iotcloud_core::mqtt::{Connack, Connect, ConnectReturnCode, Packet, QoS, TopicName};
//! use iotcloud_core::session::{Outgoing, Session, SessionEvent};
//!
//! let mut memory = [0u8; 256];
//! let mut session = Session::new(&mut memory);
//! let mut tx = [0u8; 128];
//! let connect = Connect { client_id: "dev", keep_alive: 60, clean_session: true,
//!                         will: None, username: None, password: None };
//! let n = session.connect(&connect, 0, &mut tx).unwrap();
//! assert_eq!(tx[0], 0x10); // CONNECT, to be written to the network
//! # let _ = n;
//! session.on_connack(&Connack { session_present: false, code: ConnectReturnCode::Accepted }, 5).unwrap();
//! while session.next_replay(&mut tx).unwrap().is_some() {}
//!
//! let topic = TopicName::new("t").unwrap();
//! let id = match session.publish(topic, b"x", QoS::AtLeastOnce, false, &mut tx).unwrap() {
//!     Outgoing::Stored { packet_id, .. } => packet_id, // the frame to write is in the store
//!     _ => unreachable!(),
//! };
//! let reaction = session.handle(&Packet::Puback(id), 10, &mut tx).unwrap();
//! assert_eq!(reaction.event, SessionEvent::Published(id));
//! ```

mod records;

use records::{Full, Records, Tag};

use crate::error::ProtocolError;
use crate::mqtt::{
    Connack, Connect, ConnectReturnCode, EncodeError, Packet, PacketId, PacketType, Publish, QoS,
    QosPid, SubackCode, Subscribe, SubscribeTopic, TopicFilter, TopicName, Unsubscribe, emit_empty,
    emit_packet_id,
};

const SUB_CONFIRMED: u8 = 0x80;
const SUB_QOS_MASK: u8 = 0x03;
/// In the meta byte of an outgoing message (`OutPublish`, `OutPubrel`): its QoS.
const OUT_QOS_MASK: u8 = 0x03;
/// ... and whether it was written on the current connection.
const OUT_SENT: u8 = 0x40;
/// ... and whether it was ever written (a re-send then carries DUP).
const OUT_EVER_SENT: u8 = 0x20;

/// Default for [`Session::set_replay_window`].
pub const DEFAULT_REPLAY_WINDOW: u16 = 16;

/// Why the session could not do what was asked. Nothing was changed when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SessionError {
    /// The packet does not fit the transmit buffer, or a field breaks an encoding rule.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The session memory has no room for another in-flight message or subscription.
    /// Wait for acknowledgements (they free memory) or give the session more memory.
    #[error("session memory full: {needed} bytes needed, {free} free")]
    Full {
        /// Bytes the new record needs.
        needed: usize,
        /// Bytes left.
        free: usize,
    },
    /// The operation needs a live connection.
    #[error("not connected")]
    NotConnected,
    /// Every packet identifier is taken by an in-flight message.
    #[error("all packet identifiers are in use")]
    NoPacketIds,
    /// The broker refused the connection.
    #[error("connection refused: {0}")]
    Refused(ConnectReturnCode),
    /// The broker broke the protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl From<Full> for SessionError {
    fn from(f: Full) -> Self {
        SessionError::Full {
            needed: f.needed,
            free: f.free,
        }
    }
}

/// What a handled packet means for the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SessionEvent {
    /// Nothing to report.
    None,
    /// The PUBLISH just handled is new: hand it to the application.
    Deliver,
    /// The PUBLISH just handled is a QoS 2 re-delivery of a message already delivered.
    Duplicate,
    /// An outgoing QoS 1 or 2 message completed its handshake.
    Published(PacketId),
    /// A SUBSCRIBE was answered.
    Subscribed(PacketId),
    /// An UNSUBSCRIBE was answered.
    Unsubscribed(PacketId),
}

/// The result of [`Session::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaction {
    /// Bytes at the start of the transmit buffer to send now (0: nothing to send).
    pub reply: usize,
    /// What to tell the application.
    pub event: SessionEvent,
}

/// What [`Session::publish`] wants written.
#[derive(Debug, PartialEq, Eq)]
pub enum Outgoing<'s> {
    /// QoS 0: write the first this many bytes of the transmit buffer.
    Frame(usize),
    /// QoS 0 whose frame is larger than the transmit buffer: write the first this many
    /// bytes of it (the header), then the payload from the caller's own memory.
    HeaderThenPayload(usize),
    /// QoS 1 or 2: the message is kept in the session until acknowledged; write this frame.
    Stored {
        /// Identifier the acknowledgement will carry.
        packet_id: PacketId,
        /// The frame, held in session memory.
        frame: &'s [u8],
    },
    /// QoS 1 or 2 while disconnected: kept, and sent after the next CONNACK.
    Queued {
        /// Identifier the acknowledgement will carry.
        packet_id: PacketId,
    },
}

/// What [`Session::next_replay`] wants written.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay<'s> {
    /// A SUBSCRIBE, UNSUBSCRIBE or PUBREL: write the first this many bytes of the transmit
    /// buffer.
    Frame(usize),
    /// A stored PUBLISH: write this frame, held in session memory.
    Stored(&'s [u8]),
}

/// The result of [`Session::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Nothing due.
    Idle,
    /// A PINGREQ of this many bytes is at the start of the transmit buffer: send it.
    Ping(usize),
    /// No PINGRESP came in time: the connection is dead and has been marked down.
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Down,
    Connecting,
    Up,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplayPhase {
    Subscriptions,
    Messages,
    Done,
}

/// What [`Session::publish`] does with a QoS 1 message while the link is down and the
/// session memory is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WhenFull {
    /// Refuse the new message ([`SessionError::Full`]); everything queued is kept.
    #[default]
    RefuseNew,
    /// Drop the oldest queued QoS 1 messages until the new one fits, and report each
    /// ([`Session::take_dropped`]). QoS 2 messages are never dropped (the broker may hold
    /// state for them), nor is anything dropped while the link is up: a message already
    /// on the wire could be acknowledged after its identifier was reused. When nothing
    /// can be dropped, or [`MAX_UNREPORTED_DROPS`] drops wait to be reported, the new
    /// message is refused as with [`WhenFull::RefuseNew`].
    DropOldest,
}

/// Most dropped messages the session remembers until they are reported
/// ([`Session::take_dropped`]).
pub const MAX_UNREPORTED_DROPS: usize = 8;

/// The client side of an MQTT 3.1.1 session. See the [module docs](self).
pub struct Session<'s> {
    records: Records<'s>,
    when_full: WhenFull,
    dropped: heapless::Deque<PacketId, MAX_UNREPORTED_DROPS>,
    replay_window: u16,
    next_id: u16,
    /// How many packet identifiers from `next_id` on (wrapping from 65,535 to 1) are known
    /// to be free. New identifiers only come from `alloc_id`, which hands them out in
    /// order, and acknowledgements only free them, so what was free stays free until it
    /// is handed out: one scan of the records finds room for many messages.
    free_ahead: u16,
    keep_alive_ms: u64,
    ping_timeout_ms: Option<u64>,
    link: Link,
    last_tx_ms: u64,
    ping_sent_ms: Option<u64>,
    replay: (ReplayPhase, usize),
    /// Bytes of memory stored messages may not take; see [`Session::set_reserve`].
    reserve: usize,
}

impl<'s> Session<'s> {
    /// A session keeping its state in `memory`. Each in-flight message takes its encoded
    /// size plus 8 bytes; each subscription its filter length plus 8.
    pub fn new(memory: &'s mut [u8]) -> Self {
        Session {
            records: Records::new(memory),
            when_full: WhenFull::RefuseNew,
            dropped: heapless::Deque::new(),
            replay_window: DEFAULT_REPLAY_WINDOW,
            next_id: 1,
            free_ahead: 0,
            keep_alive_ms: 0,
            ping_timeout_ms: None,
            link: Link::Down,
            last_tx_ms: 0,
            ping_sent_ms: None,
            replay: (ReplayPhase::Done, 0),
            reserve: 0,
        }
    }

    /// Session memory a subscription to `filter` takes.
    pub const fn subscription_len(filter: &str) -> usize {
        records::HEADER + filter.len()
    }

    /// Keeps `bytes` of the session memory for subscriptions: QoS 1 and 2 messages may
    /// not use them, queued or in flight. A device reserves what its provider's system
    /// subscriptions take ([`Session::subscription_len`]), so that an offline queue filled
    /// during an outage never keeps the next connection from subscribing to them.
    pub fn set_reserve(&mut self, bytes: usize) {
        self.reserve = bytes;
    }

    /// The bytes kept for subscriptions ([`Session::set_reserve`]).
    pub fn reserve(&self) -> usize {
        self.reserve
    }

    /// How long to wait for PINGRESP before declaring the connection dead; by default one
    /// keep-alive interval.
    pub fn set_ping_timeout_ms(&mut self, timeout: Option<u64>) {
        self.ping_timeout_ms = timeout;
    }

    /// What to do with a QoS 1 message published while the link is down and the memory
    /// is full (by default [`WhenFull::RefuseNew`]).
    pub fn set_when_full(&mut self, policy: WhenFull) {
        self.when_full = policy;
    }

    /// How many re-sent or queued messages may await their acknowledgement at once after
    /// a reconnect (default [`DEFAULT_REPLAY_WINDOW`]; at least 1). A backlog larger than
    /// the window goes out as acknowledgements come back, so a link that breaks after a
    /// few kilobytes still makes progress instead of re-sending the same head forever.
    pub fn set_replay_window(&mut self, window: u16) {
        self.replay_window = window.max(1);
    }

    /// Whether queued or re-sent messages are still to go out on this connection
    /// ([`Session::next_replay`] has more to give once acknowledgements free the window).
    pub fn replay_pending(&self) -> bool {
        self.link == Link::Up && self.replay.0 != ReplayPhase::Done
    }

    /// The policy set with [`Session::set_when_full`].
    pub fn when_full(&self) -> WhenFull {
        self.when_full
    }

    /// The identifier of a message [`WhenFull::DropOldest`] dropped, oldest first; each is
    /// returned once. A dropped message is never sent and never acknowledged.
    pub fn take_dropped(&mut self) -> Option<PacketId> {
        self.dropped.pop_front()
    }

    /// Whether dropped messages wait to be reported ([`Session::take_dropped`]).
    pub fn has_dropped(&self) -> bool {
        !self.dropped.is_empty()
    }

    /// Whether the link is down, or a connection is being established: what is published
    /// now is queued.
    fn queueing(&self) -> bool {
        self.link != Link::Up
    }

    /// Under [`WhenFull::DropOldest`] and while queueing, drops the oldest queued QoS 1
    /// messages until `needed` bytes are free. Either frees enough or changes nothing.
    fn make_room(&mut self, needed: usize) -> bool {
        if self.when_full != WhenFull::DropOldest || !self.queueing() {
            return false;
        }
        let free = self.records.capacity() - self.records.used();
        let mut gain = 0;
        let mut count = 0;
        for r in self.records.iter() {
            if free + gain >= needed {
                break;
            }
            if r.tag == Tag::OutPublish && r.meta & OUT_QOS_MASK == QoS::AtLeastOnce as u8 {
                gain += r.end() - r.offset;
                count += 1;
            }
        }
        if free + gain < needed || self.dropped.len() + count > MAX_UNREPORTED_DROPS {
            return false;
        }
        for _ in 0..count {
            let Some(offset) = self.find_out(Tag::OutPublish, None, Some(QoS::AtLeastOnce)) else {
                break;
            };
            let pid = self.records.get(offset).map_or(0, |r| r.pid);
            self.records.remove(offset);
            if let Some(id) = PacketId::new(pid) {
                // Room was checked above.
                let _ = self.dropped.push_back(id);
            }
        }
        true
    }

    /// Whether a connection is established (CONNACK accepted and not lost since).
    pub fn is_connected(&self) -> bool {
        self.link == Link::Up
    }

    /// Outgoing QoS 1 and 2 messages not yet completely acknowledged.
    pub fn in_flight(&self) -> usize {
        self.records
            .iter()
            .filter(|r| matches!(r.tag, Tag::OutPublish | Tag::OutPubrel))
            .count()
    }

    /// The subscriptions the session restores after a reconnect, with their QoS and whether
    /// the broker has confirmed them on the current connection.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&str, QoS, bool)> {
        self.records.iter().filter_map(|r| {
            if r.tag != Tag::Subscription {
                return None;
            }
            let filter = core::str::from_utf8(r.data).ok()?;
            let qos = QoS::from_bits(r.meta & SUB_QOS_MASK).ok()?;
            Some((filter, qos, r.meta & SUB_CONFIRMED != 0))
        })
    }

    /// Bytes of session memory in use and in total.
    pub fn memory_usage(&self) -> (usize, usize) {
        (self.records.used(), self.records.capacity())
    }

    /// Forgets everything: in-flight messages, subscriptions, QoS 2 state.
    pub fn clear(&mut self) {
        self.records.clear();
    }

    /// Writes `connect` into `tx` to start a connection; the reply goes to
    /// [`Session::on_connack`].
    pub fn connect(
        &mut self,
        connect: &Connect<'_>,
        now_ms: u64,
        tx: &mut [u8],
    ) -> Result<usize, SessionError> {
        let n = connect.emit(tx)?;
        self.link_down();
        self.link = Link::Connecting;
        self.keep_alive_ms = u64::from(connect.keep_alive) * 1000;
        self.last_tx_ms = now_ms;
        Ok(n)
    }

    /// Takes the broker's CONNACK. On acceptance the session is up and
    /// [`Session::next_replay`] yields what must be re-sent.
    pub fn on_connack(&mut self, connack: &Connack, _now_ms: u64) -> Result<(), SessionError> {
        if self.link != Link::Connecting {
            return Err(ProtocolError::UnexpectedPacket(PacketType::Connack).into());
        }
        if connack.code != ConnectReturnCode::Accepted {
            self.link = Link::Down;
            return Err(SessionError::Refused(connack.code));
        }
        self.link = Link::Up;
        if !connack.session_present {
            // The broker starts afresh: it holds no subscriptions, no QoS 2 state of ours.
            self.records
                .retain(|r| !matches!(r.tag, Tag::InQos2 | Tag::Unsubscribe));
            let mut offset = 0;
            while let Some(r) = self.records.get(offset) {
                let (end, tag, meta) = (r.end(), r.tag, r.meta);
                if tag == Tag::Subscription {
                    self.records.set_meta(offset, meta & !SUB_CONFIRMED);
                }
                offset = end;
            }
        }
        self.replay = (ReplayPhase::Subscriptions, 0);
        Ok(())
    }

    /// The next packet to re-send after a CONNACK, or `None` when all is sent: first
    /// subscriptions the broker lacks and unanswered UNSUBSCRIBEs, then outgoing QoS 1/2
    /// messages in their original order, PUBLISH with DUP set or PUBREL
    /// ([MQTT-4.4.0-1], [MQTT-4.6.0-1]).
    pub fn next_replay<'a>(
        &'a mut self,
        tx: &mut [u8],
    ) -> Result<Option<Replay<'a>>, SessionError> {
        if self.link != Link::Up {
            return Ok(None);
        }
        loop {
            let (phase, offset) = self.replay;
            if phase == ReplayPhase::Messages {
                return self.next_message(tx);
            }
            let Some(r) = self.records.get(offset) else {
                self.replay = match phase {
                    ReplayPhase::Subscriptions => (ReplayPhase::Messages, 0),
                    _ => (ReplayPhase::Done, 0),
                };
                if self.replay.0 == ReplayPhase::Done {
                    return Ok(None);
                }
                continue;
            };
            let (end, tag, meta) = (r.end(), r.tag, r.meta);
            match (phase, tag) {
                // A subscription the broker lacks, or an unanswered UNSUBSCRIBE: asked again.
                (ReplayPhase::Subscriptions, Tag::Subscription | Tag::Unsubscribe)
                    if tag == Tag::Unsubscribe || meta & SUB_CONFIRMED == 0 =>
                {
                    let id = self.alloc_id()?;
                    let r = self.records.get(offset).ok_or(SessionError::NoPacketIds)?;
                    let filter = topic_filter(r.data)?;
                    let n = if tag == Tag::Subscription {
                        let topic = SubscribeTopic {
                            filter,
                            qos: QoS::from_bits(meta & SUB_QOS_MASK).unwrap_or(QoS::AtMostOnce),
                        };
                        Subscribe::emit_list(id, &[topic], tx)?
                    } else {
                        Unsubscribe::emit_list(id, &[filter], tx)?
                    };
                    self.records.set_pid(offset, id.get());
                    self.replay.1 = end;
                    return Ok(Some(Replay::Frame(n)));
                }
                (ReplayPhase::Messages, _) => return self.next_message(tx),
                _ => self.replay.1 = end,
            }
        }
    }

    /// The replay's message phase: the oldest outgoing message not yet written on this
    /// connection, while fewer than the window await their acknowledgement. A PUBLISH
    /// written before carries DUP; one queued while offline goes out as new.
    fn next_message<'a>(&'a mut self, tx: &mut [u8]) -> Result<Option<Replay<'a>>, SessionError> {
        // One pass: the oldest message not yet written, and how many written on this
        // connection await their acknowledgement.
        let mut unsent = None;
        let mut awaiting = 0;
        for r in self.records.iter() {
            if !matches!(r.tag, Tag::OutPublish | Tag::OutPubrel) {
                continue;
            }
            if r.meta & OUT_SENT != 0 {
                awaiting += 1;
            } else if unsent.is_none() {
                unsent = Some((r.offset, r.tag, r.meta, r.pid));
            }
        }
        let Some((offset, tag, meta, pid)) = unsent else {
            self.replay = (ReplayPhase::Done, 0);
            return Ok(None);
        };
        if awaiting >= usize::from(self.replay_window) {
            return Ok(None);
        }
        self.records
            .set_meta(offset, meta | OUT_SENT | OUT_EVER_SENT);
        if tag == Tag::OutPubrel {
            let id = PacketId::new(pid).ok_or(SessionError::NoPacketIds)?;
            let n = emit_packet_id(PacketType::Pubrel, id, tx)?;
            return Ok(Some(Replay::Frame(n)));
        }
        let frame = self.records.data_mut(offset).unwrap_or_default();
        if meta & OUT_EVER_SENT != 0 {
            crate::mqtt::publish_set_dup(frame);
        }
        Ok(Some(Replay::Stored(frame)))
    }

    /// Prepares a PUBLISH. QoS 1 and 2 messages are stored in session memory until
    /// acknowledged, and queued for the next connection when the link is down; QoS 0 needs
    /// a live link.
    pub fn publish<'a>(
        &'a mut self,
        topic: TopicName<'_>,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        tx: &mut [u8],
    ) -> Result<Outgoing<'a>, SessionError> {
        let mut publish = Publish {
            topic,
            qos: QosPid::AtMostOnce,
            dup: false,
            retain,
            payload,
        };
        if qos == QoS::AtMostOnce {
            if self.link != Link::Up {
                return Err(SessionError::NotConnected);
            }
            return if publish.frame_len()? <= tx.len() {
                Ok(Outgoing::Frame(publish.emit(tx)?))
            } else {
                Ok(Outgoing::HeaderThenPayload(publish.emit_header(tx)?))
            };
        }
        let id = self.alloc_id()?;
        publish.qos = QosPid::from_parts(qos, Some(id)).unwrap_or(QosPid::AtMostOnce);
        let len = publish.frame_len()?;
        // Written at once only when nothing older waits to go out: order is kept.
        let now = self.link == Link::Up && self.replay.0 == ReplayPhase::Done;
        let meta = if now {
            qos as u8 | OUT_SENT | OUT_EVER_SENT
        } else {
            qos as u8
        };
        // Messages stay out of the reserve; dropping old ones (if that is the policy) can
        // make room.
        let needed = records::HEADER + len;
        let free = (self.records.capacity() - self.records.used()).saturating_sub(self.reserve);
        if needed > free && !self.make_room(needed.saturating_add(self.reserve)) {
            return Err(Full { needed, free }.into());
        }
        let offset = self
            .records
            .append(Tag::OutPublish, meta, id.get(), len, |d| {
                publish.emit(d).map(|_| ())
            })??;
        if !now {
            return Ok(Outgoing::Queued { packet_id: id });
        }
        let frame = self.records.data_mut(offset).unwrap_or_default();
        Ok(Outgoing::Stored {
            packet_id: id,
            frame,
        })
    }

    /// Writes a SUBSCRIBE for `topics` into `tx` and remembers the subscriptions, so they
    /// are restored on later connections. Replaces an existing subscription to the same
    /// filter.
    pub fn subscribe(
        &mut self,
        topics: &[SubscribeTopic<'_>],
        tx: &mut [u8],
    ) -> Result<(PacketId, usize), SessionError> {
        if self.link != Link::Up {
            return Err(SessionError::NotConnected);
        }
        // Check every limit before changing anything.
        let frame_len = Subscribe::list_frame_len(topics)?;
        if frame_len > tx.len() {
            return Err(EncodeError::BufferTooSmall {
                needed: frame_len,
                available: tx.len(),
            }
            .into());
        }
        let needed: usize = topics
            .iter()
            .map(|t| records::HEADER + t.filter.as_str().len())
            .sum();
        let free = self.records.capacity() - self.records.used();
        if needed > free {
            return Err(SessionError::Full { needed, free });
        }
        let id = self.alloc_id()?;
        for t in topics {
            self.remove_subscription(t.filter.as_str());
        }
        for t in topics {
            let filter = t.filter.as_str().as_bytes();
            self.records.append(
                Tag::Subscription,
                t.qos as u8,
                id.get(),
                filter.len(),
                |d| {
                    d.copy_from_slice(filter);
                    Ok::<(), SessionError>(())
                },
            )??;
        }
        Ok((id, Subscribe::emit_list(id, topics, tx)?))
    }

    /// Writes an UNSUBSCRIBE for `filters` into `tx`; the subscriptions are forgotten at
    /// once, and the request is re-sent after a reconnect until the broker answers it.
    pub fn unsubscribe(
        &mut self,
        filters: &[TopicFilter<'_>],
        tx: &mut [u8],
    ) -> Result<(PacketId, usize), SessionError> {
        if self.link != Link::Up {
            return Err(SessionError::NotConnected);
        }
        let frame_len = Unsubscribe::list_frame_len(filters)?;
        if frame_len > tx.len() {
            return Err(EncodeError::BufferTooSmall {
                needed: frame_len,
                available: tx.len(),
            }
            .into());
        }
        let needed: usize = filters
            .iter()
            .map(|f| records::HEADER + f.as_str().len())
            .sum();
        let free = self.records.capacity() - self.records.used();
        if needed > free {
            return Err(SessionError::Full { needed, free });
        }
        let id = self.alloc_id()?;
        for f in filters {
            self.remove_subscription(f.as_str());
            let filter = f.as_str().as_bytes();
            self.records
                .append(Tag::Unsubscribe, 0, id.get(), filter.len(), |d| {
                    d.copy_from_slice(filter);
                    Ok::<(), SessionError>(())
                })??;
        }
        Ok((id, Unsubscribe::emit_list(id, filters, tx)?))
    }

    /// Takes a packet from the broker. The reply (an acknowledgement), if any, is written to
    /// the start of `tx`.
    ///
    /// Protocol errors for which [`ProtocolError::is_fatal`] is false (an acknowledgement
    /// for a packet identifier not in flight) leave the session usable.
    pub fn handle(
        &mut self,
        packet: &Packet<'_>,
        _now_ms: u64,
        tx: &mut [u8],
    ) -> Result<Reaction, SessionError> {
        if self.link != Link::Up {
            return Err(SessionError::NotConnected);
        }
        let none = Reaction {
            reply: 0,
            event: SessionEvent::None,
        };
        match *packet {
            Packet::Publish(p) => match p.qos {
                QosPid::AtMostOnce => Ok(Reaction {
                    reply: 0,
                    event: SessionEvent::Deliver,
                }),
                QosPid::AtLeastOnce(id) => Ok(Reaction {
                    reply: emit_packet_id(PacketType::Puback, id, tx)?,
                    event: SessionEvent::Deliver,
                }),
                QosPid::ExactlyOnce(id) => {
                    let seen = self.find_out(Tag::InQos2, Some(id), None).is_some();
                    // A PUBREC is four bytes.
                    let reply_len = 4;
                    if reply_len > tx.len() {
                        return Err(EncodeError::BufferTooSmall {
                            needed: reply_len,
                            available: tx.len(),
                        }
                        .into());
                    }
                    if !seen {
                        self.records
                            .append(Tag::InQos2, 0, id.get(), 0, |_| Ok::<(), ()>(()))?
                            .ok();
                    }
                    Ok(Reaction {
                        reply: emit_packet_id(PacketType::Pubrec, id, tx)?,
                        event: if seen {
                            SessionEvent::Duplicate
                        } else {
                            SessionEvent::Deliver
                        },
                    })
                }
            },
            // The end of an outgoing QoS 1 or 2 handshake.
            Packet::Puback(id) | Packet::Pubcomp(id) => {
                let (tag, qos) = match packet {
                    Packet::Puback(_) => (Tag::OutPublish, Some(QoS::AtLeastOnce)),
                    _ => (Tag::OutPubrel, None),
                };
                let r = self
                    .find_out(tag, Some(id), qos)
                    .ok_or(unknown(packet.packet_type(), id))?;
                self.records.remove(r);
                Ok(Reaction {
                    reply: 0,
                    event: SessionEvent::Published(id),
                })
            }
            Packet::Pubrec(id) => {
                let publish = self.find_out(Tag::OutPublish, Some(id), Some(QoS::ExactlyOnce));
                // Without the message, our PUBREL may have crossed a re-sent PUBREC:
                // answer it again.
                if publish.is_none() && self.find_out(Tag::OutPubrel, Some(id), None).is_none() {
                    return Err(unknown(PacketType::Pubrec, id).into());
                }
                let n = emit_packet_id(PacketType::Pubrel, id, tx)?;
                if let Some(r) = publish {
                    self.records.retag_without_data(r, Tag::OutPubrel);
                }
                Ok(Reaction {
                    reply: n,
                    event: SessionEvent::None,
                })
            }
            Packet::Pubrel(id) => {
                // Answer even without state: after a reconnect the state may be gone, and
                // the broker must still be allowed to finish ([MQTT-4.3.3-2]).
                let n = emit_packet_id(PacketType::Pubcomp, id, tx)?;
                self.remove_all(Tag::InQos2, id);
                Ok(Reaction {
                    reply: n,
                    event: SessionEvent::None,
                })
            }
            Packet::Suback(s) => {
                let id = s.packet_id;
                let mut matched = 0;
                while let Some(offset) = self.find_out(Tag::Subscription, Some(id), None) {
                    let meta = self.records.get(offset).map_or(0, |r| r.meta);
                    let code = s.codes.get(matched);
                    matched += 1;
                    match code {
                        Some(SubackCode::Granted(_)) => {
                            self.records.set_meta(offset, meta | SUB_CONFIRMED);
                            self.records.set_pid(offset, 0);
                        }
                        Some(SubackCode::Failure) => self.records.remove(offset),
                        None => self.records.set_pid(offset, 0),
                    }
                }
                if matched == 0 {
                    return Err(unknown(PacketType::Suback, id).into());
                }
                if matched != s.codes.len() {
                    return Err(ProtocolError::SubackMismatch {
                        expected: matched,
                        got: s.codes.len(),
                    }
                    .into());
                }
                Ok(Reaction {
                    reply: 0,
                    event: SessionEvent::Subscribed(id),
                })
            }
            Packet::Unsuback(id) => {
                let before = self.records.used();
                self.remove_all(Tag::Unsubscribe, id);
                if self.records.used() == before {
                    return Err(unknown(PacketType::Unsuback, id).into());
                }
                Ok(Reaction {
                    reply: 0,
                    event: SessionEvent::Unsubscribed(id),
                })
            }
            Packet::Pingresp => {
                self.ping_sent_ms = None;
                Ok(none)
            }
            ref other => Err(ProtocolError::UnexpectedPacket(other.packet_type()).into()),
        }
    }

    /// Records that a packet was written at `now_ms`: the keep-alive interval restarts.
    pub fn sent(&mut self, now_ms: u64) {
        self.last_tx_ms = self.last_tx_ms.max(now_ms);
    }

    /// When [`Session::poll`] next has something to do, in the caller's milliseconds.
    pub fn poll_at(&self) -> Option<u64> {
        if self.link != Link::Up || self.keep_alive_ms == 0 {
            return None;
        }
        Some(match self.ping_sent_ms {
            Some(sent) => sent + self.ping_timeout_ms.unwrap_or(self.keep_alive_ms),
            None => self.last_tx_ms + self.keep_alive_ms,
        })
    }

    /// Keep-alive: sends PINGREQ when the interval passed without traffic from us, and
    /// declares the connection dead when the PINGRESP is overdue ([MQTT-3.1.2-23]).
    pub fn poll(&mut self, now_ms: u64, tx: &mut [u8]) -> Result<Poll, SessionError> {
        match self.poll_at() {
            Some(at) if now_ms >= at => {}
            _ => return Ok(Poll::Idle),
        }
        if self.ping_sent_ms.is_some() {
            self.link_down();
            return Ok(Poll::Dead);
        }
        let n = emit_empty(PacketType::Pingreq, tx)?;
        self.ping_sent_ms = Some(now_ms);
        Ok(Poll::Ping(n))
    }

    /// Writes a DISCONNECT into `tx` and marks the link down.
    pub fn disconnect(&mut self, tx: &mut [u8]) -> Result<usize, SessionError> {
        let n = emit_empty(PacketType::Disconnect, tx)?;
        self.link_down();
        Ok(n)
    }

    /// The connection is gone. Session state stays for the next connection; requests that
    /// were waiting for an answer are asked again then.
    pub fn link_down(&mut self) {
        self.link = Link::Down;
        self.ping_sent_ms = None;
        self.replay = (ReplayPhase::Done, 0);
        let mut offset = 0;
        while let Some(r) = self.records.get(offset) {
            let (end, tag, meta) = (r.end(), r.tag, r.meta);
            match tag {
                Tag::Subscription | Tag::Unsubscribe => self.records.set_pid(offset, 0),
                Tag::OutPublish | Tag::OutPubrel => self.records.set_meta(offset, meta & !OUT_SENT),
                _ => {}
            }
            offset = end;
        }
    }

    /// The first record of `tag`, with packet identifier `id` and QoS `qos` where given.
    fn find_out(&self, tag: Tag, id: Option<PacketId>, qos: Option<QoS>) -> Option<usize> {
        self.records
            .find(|r| {
                r.tag == tag
                    && id.is_none_or(|id| r.pid == id.get())
                    && qos.is_none_or(|q| r.meta & OUT_QOS_MASK == q as u8)
            })
            .map(|r| r.offset)
    }

    /// Removes the records of `tag` for packet identifier `id`.
    fn remove_all(&mut self, tag: Tag, id: PacketId) {
        self.records
            .retain(|r| !(r.tag == tag && r.pid == id.get()));
    }

    fn remove_subscription(&mut self, filter: &str) {
        self.records
            .retain(|r| !(r.tag == Tag::Subscription && r.data == filter.as_bytes()));
    }

    /// The next free packet identifier, in order from the last one, skipping those still
    /// in use.
    fn alloc_id(&mut self) -> Result<PacketId, SessionError> {
        for _ in 0..u16::MAX {
            if self.free_ahead == 0 {
                self.free_ahead = self.free_from_next_id();
            }
            let id = self.next_id;
            self.next_id = if id == u16::MAX { 1 } else { id + 1 };
            if self.free_ahead > 0 {
                self.free_ahead -= 1;
                if let Some(id) = PacketId::new(id) {
                    return Ok(id);
                }
            }
        }
        Err(SessionError::NoPacketIds)
    }

    /// How many identifiers from `next_id` on are free: the distance to the nearest one in
    /// use (0 when `next_id` itself is), or all 65,535 when none is.
    fn free_from_next_id(&self) -> u16 {
        let from = self.next_id;
        let mut nearest = u16::MAX;
        for r in self.records.iter() {
            // Incoming QoS 2 records hold the broker's identifiers, not ours.
            if r.pid != 0 && r.tag != Tag::InQos2 {
                nearest = nearest.min(ids_between(from, r.pid));
            }
        }
        nearest
    }

    /// Makes `id` the next packet identifier tried (tests reach the wrap-around with it).
    #[cfg(test)]
    fn set_next_id(&mut self, id: u16) {
        self.next_id = id;
        self.free_ahead = 0;
    }
}

/// Steps from packet identifier `from` forward to `to`, counting 65,535 → 1 as one step
/// (identifiers are never 0).
fn ids_between(from: u16, to: u16) -> u16 {
    if to >= from {
        to - from
    } else {
        to + (u16::MAX - from)
    }
}

fn unknown(packet_type: PacketType, packet_id: PacketId) -> ProtocolError {
    ProtocolError::UnknownPacketId {
        packet_type,
        packet_id,
    }
}

fn topic_filter(data: &[u8]) -> Result<TopicFilter<'_>, SessionError> {
    core::str::from_utf8(data)
        .ok()
        .and_then(|s| TopicFilter::new(s).ok())
        .ok_or(SessionError::Encode(EncodeError::EmptyList))
}

#[cfg(test)]
mod tests;
