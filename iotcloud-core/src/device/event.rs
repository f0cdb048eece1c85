//! What [`Device::next_event`](super::Device::next_event) reports.

use core::fmt;

#[cfg(feature = "data")]
use crate::data::{Command, DataError, Properties, Reply, TimeSynced};
use crate::error::ProtocolError;
use crate::mqtt::{PacketId, QoS, SubackCodes};
use crate::ota::{OtaJob, OtaNoticeError};

/// One thing that happened on the connection. Borrowed parts point into the device's
/// receive buffer and are valid until the next call to `next_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The connection is established: first event after every successful connect.
    Connected {
        /// The broker resumed a previous session.
        session_present: bool,
    },
    /// A message arrived on a subscribed topic. QoS 1 and 2 messages have already been
    /// acknowledged; a QoS 2 message is reported once even if the broker re-sends it.
    Message(Message<'a>),
    /// An outgoing QoS 1 or 2 message was acknowledged by the broker (PUBACK or PUBCOMP).
    Published {
        /// Identifier returned by `publish`.
        packet_id: PacketId,
    },
    /// The broker answered a SUBSCRIBE, including those the device sends to restore
    /// subscriptions after a reconnect.
    Subscribed {
        /// Identifier returned by `subscribe`.
        packet_id: PacketId,
        /// One code per filter, in the order they were given.
        codes: SubackCodes<'a>,
    },
    /// The broker answered an UNSUBSCRIBE.
    Unsubscribed {
        /// Identifier returned by `unsubscribe`.
        packet_id: PacketId,
    },
    /// The cloud announced a firmware upgrade (OTA must be enabled: `Device::with_ota`).
    /// The job stays in the device until the next one; the application decides when to
    /// download it (`Device::download_ota`) and when to apply it.
    Ota(OtaJob<'a>),
    /// An upgrade notice arrived that could not be taken: unreadable, incomplete, too
    /// large for the job buffer, or during another download.
    OtaRejected(OtaNoticeError),
    /// A queued QoS 1 message was dropped to make room for a newer one
    /// ([`WhenFull::DropOldest`](crate::session::WhenFull::DropOldest)). It will never be
    /// sent, and no [`Event::Published`] will come for it.
    Dropped {
        /// Identifier `publish` returned for it.
        packet_id: PacketId,
    },
    /// Property values from the cloud (data model: `Device::with_data`): a set to apply
    /// and answer (`Device::answer`), or the desired values.
    #[cfg(feature = "data")]
    Properties(Properties<'a>),
    /// A command from the cloud to run and answer (`Device::answer`).
    #[cfg(feature = "data")]
    Command(Command<'a>),
    /// The cloud's reply to a report or an event the device sent.
    #[cfg(feature = "data")]
    Reply(Reply<'a>),
    /// The cloud told the time, asked for on connect or by `sync_time`.
    #[cfg(feature = "data")]
    TimeSynced(TimeSynced),
    /// A data message from the cloud that could not be taken: malformed, an id too long to
    /// answer, a time answer to no request.
    #[cfg(feature = "data")]
    DataRejected(DataError),
    /// The connection is gone. Session state (in-flight messages, subscriptions) is kept:
    /// call `disconnect` and `connect` again, or let a supervisor do it.
    Disconnected(DisconnectReason),
}

/// An application message received from the broker.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Topic it was published to.
    pub topic: &'a str,
    /// Body.
    pub payload: &'a [u8],
    /// QoS it was delivered with.
    pub qos: QoS,
    /// It was a retained message.
    pub retain: bool,
    /// The broker marked it as a possible re-delivery.
    pub dup: bool,
}

impl<'a> Message<'a> {
    /// Topic it was published to.
    pub fn topic(&self) -> &'a str {
        self.topic
    }

    /// Body.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("topic", &self.topic)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .field("dup", &self.dup)
            .finish()
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The peer closed the connection.
    PeerClosed,
    /// No PINGRESP came back in time.
    KeepAliveTimeout,
    /// Reading or writing failed.
    Transport(embedded_io::ErrorKind),
    /// The broker broke the protocol and the connection was closed.
    Protocol(ProtocolError),
    /// A write was cancelled half-way (its future dropped), leaving a partial packet on the
    /// wire; the connection could not be used any more.
    WriteInterrupted,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::PeerClosed => f.write_str("closed by the peer"),
            DisconnectReason::KeepAliveTimeout => f.write_str("keep-alive timeout"),
            DisconnectReason::Transport(kind) => write!(f, "transport error ({kind:?})"),
            DisconnectReason::Protocol(e) => write!(f, "protocol error: {e}"),
            DisconnectReason::WriteInterrupted => f.write_str("write interrupted"),
        }
    }
}
