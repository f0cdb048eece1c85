//! MQTT 3.1.1 wire format: all fourteen control packets, decoded zero-copy from the caller's
//! buffer and encoded into the caller's buffer.
//!
//! Each packet has a representation with `parse` (from a frame body), `buffer_len` and
//! `emit`; [`Packet`] ties them together and [`Frame`] is a checked view over one framed
//! packet in a byte buffer. Section and rule numbers refer to the OASIS MQTT 3.1.1 standard.
//!
//! ```
//! use iotcloud_core::mqtt::{Packet, Publish, QoS, QosPid, PacketId, TopicName};
//!
//! let publish = Publish {
//!     topic: TopicName::new("a/b").unwrap(),
//!     qos: QosPid::AtLeastOnce(PacketId::new(7).unwrap()),
//!     dup: false,
//!     retain: false,
//!     payload: b"21.5",
//! };
//! let mut buf = [0u8; 32];
//! let n = Packet::Publish(publish).emit(&mut buf).unwrap();
//! let (decoded, used) = Packet::decode(&buf[..n]).unwrap().unwrap();
//! assert_eq!(used, n);
//! assert_eq!(decoded, Packet::Publish(publish));
//! ```

mod ack;
mod connack;
mod connect;
mod error;
mod frame;
mod packet;
mod publish;
mod subscribe;
mod topic;
mod unsubscribe;
pub mod wire;

pub use connack::{Connack, ConnectReturnCode};
pub use connect::{Connect, Will};
pub use error::{DecodeError, EncodeError};
pub use frame::{Frame, FrameStatus, frame_status};
pub use packet::Packet;
pub(crate) use packet::{emit_empty, emit_packet_id};
pub use publish::Publish;
pub(crate) use publish::set_dup as publish_set_dup;
pub use subscribe::{Suback, SubackCode, SubackCodes, Subscribe, SubscribeTopic, SubscribeTopics};
pub use topic::{TopicError, TopicFilter, TopicName};
pub use unsubscribe::{Unsubscribe, UnsubscribeFilters};

use core::num::NonZeroU16;

/// Quality of service of a message (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum QoS {
    /// Delivered at most once; no acknowledgement.
    AtMostOnce = 0,
    /// Delivered at least once; acknowledged with PUBACK.
    AtLeastOnce = 1,
    /// Delivered exactly once; PUBREC, PUBREL, PUBCOMP.
    ExactlyOnce = 2,
}

impl QoS {
    /// Decodes the two QoS bits; 3 is refused ([MQTT-3.3.1-4]).
    pub fn from_bits(bits: u8) -> Result<QoS, DecodeError> {
        match bits {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            other => Err(DecodeError::InvalidQos(other)),
        }
    }
}

/// A packet identifier: never zero ([MQTT-2.3.1-1]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// The largest identifier, 65,535.
    pub const MAX: PacketId = PacketId(NonZeroU16::MAX);

    /// `None` for 0.
    pub const fn new(id: u16) -> Option<PacketId> {
        match NonZeroU16::new(id) {
            Some(id) => Some(PacketId(id)),
            None => None,
        }
    }

    /// The identifier as a number.
    pub const fn get(self) -> u16 {
        self.0.get()
    }

    pub(crate) fn parse(r: &mut wire::Reader<'_>) -> Result<PacketId, DecodeError> {
        PacketId::new(r.u16()?).ok_or(DecodeError::ZeroPacketId)
    }
}

impl core::fmt::Display for PacketId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A QoS level together with the packet identifier it requires: QoS 0 has none, QoS 1 and 2
/// always have one, so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum QosPid {
    /// QoS 0.
    AtMostOnce,
    /// QoS 1 with its packet identifier.
    AtLeastOnce(PacketId),
    /// QoS 2 with its packet identifier.
    ExactlyOnce(PacketId),
}

impl QosPid {
    /// The QoS level.
    pub fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    /// The packet identifier, if the QoS has one.
    pub fn packet_id(self) -> Option<PacketId> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => Some(id),
        }
    }

    /// Combines a QoS with an identifier; `None` when QoS ≥ 1 comes without one.
    pub fn from_parts(qos: QoS, id: Option<PacketId>) -> Option<QosPid> {
        match (qos, id) {
            (QoS::AtMostOnce, _) => Some(QosPid::AtMostOnce),
            (QoS::AtLeastOnce, Some(id)) => Some(QosPid::AtLeastOnce(id)),
            (QoS::ExactlyOnce, Some(id)) => Some(QosPid::ExactlyOnce(id)),
            _ => None,
        }
    }
}

/// The fourteen control packet types (§2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum PacketType {
    /// Client request to connect.
    Connect = 1,
    /// Connect acknowledgement.
    Connack = 2,
    /// Application message.
    Publish = 3,
    /// QoS 1 acknowledgement.
    Puback = 4,
    /// QoS 2, part 1.
    Pubrec = 5,
    /// QoS 2, part 2.
    Pubrel = 6,
    /// QoS 2, part 3.
    Pubcomp = 7,
    /// Subscribe request.
    Subscribe = 8,
    /// Subscribe acknowledgement.
    Suback = 9,
    /// Unsubscribe request.
    Unsubscribe = 10,
    /// Unsubscribe acknowledgement.
    Unsuback = 11,
    /// Ping request.
    Pingreq = 12,
    /// Ping response.
    Pingresp = 13,
    /// Client is disconnecting.
    Disconnect = 14,
}

impl PacketType {
    /// Decodes the high nibble of the first byte; 0 and 15 are reserved.
    pub fn from_nibble(nibble: u8) -> Result<PacketType, DecodeError> {
        use PacketType::*;
        Ok(match nibble {
            1 => Connect,
            2 => Connack,
            3 => Publish,
            4 => Puback,
            5 => Pubrec,
            6 => Pubrel,
            7 => Pubcomp,
            8 => Subscribe,
            9 => Suback,
            10 => Unsubscribe,
            11 => Unsuback,
            12 => Pingreq,
            13 => Pingresp,
            14 => Disconnect,
            other => return Err(DecodeError::InvalidPacketType(other)),
        })
    }

    /// Fixed-header flags this type must carry; `None` for PUBLISH, whose flags vary.
    pub fn required_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            // [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]
            PacketType::Pubrel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// The first byte of a frame of this type, with its required flags (none for PUBLISH).
    pub(crate) fn first_byte(self) -> u8 {
        (self as u8) << 4 | self.required_flags().unwrap_or(0)
    }
}
