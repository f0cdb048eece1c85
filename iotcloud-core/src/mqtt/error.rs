//! Errors of the MQTT codec.

use super::PacketType;

/// Why a byte sequence is not a valid MQTT 3.1.1 packet.
///
/// Every variant means the peer broke the protocol; the spec says to close the network
/// connection ([MQTT-4.8.0-1]). None of them is worth retrying on the same connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DecodeError {
    /// The first nibble is 0 or 15, which MQTT 3.1.1 reserves.
    #[error("reserved packet type {0}")]
    InvalidPacketType(u8),
    /// The fixed-header flags are not the ones the packet type requires ([MQTT-2.2.2-2]).
    #[error("invalid fixed-header flags {flags:#06b} for {packet_type:?}")]
    InvalidFlags {
        /// Packet type of the frame.
        packet_type: PacketType,
        /// The four low bits of the first byte.
        flags: u8,
    },
    /// The remaining length uses more than four bytes.
    #[error("remaining length longer than four bytes")]
    MalformedRemainingLength,
    /// A field claims more bytes than the packet holds.
    #[error("packet body ends inside a field")]
    Truncated,
    /// Bytes remain after the last field of a packet whose length is fixed by its fields.
    #[error("unexpected bytes after the last field")]
    TrailingBytes,
    /// A string is not well-formed UTF-8 ([MQTT-1.5.3-1]).
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A string contains U+0000 ([MQTT-1.5.3-2]).
    #[error("string contains U+0000")]
    NulInString,
    /// A QoS field holds 3 ([MQTT-3.3.1-4]).
    #[error("invalid QoS value {0}")]
    InvalidQos(u8),
    /// A packet identifier is zero ([MQTT-2.3.1-1]).
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// A QoS 0 PUBLISH has the DUP flag set ([MQTT-3.3.1-2]).
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupOnQos0,
    /// CONNECT names a protocol other than "MQTT".
    #[error("protocol name is not \"MQTT\"")]
    InvalidProtocolName,
    /// CONNECT asks for a protocol level other than 4 (MQTT 3.1.1).
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolLevel(u8),
    /// CONNECT flags break [MQTT-3.1.2-3], -13, -15 or -22.
    #[error("invalid CONNECT flags {0:#010b}")]
    InvalidConnectFlags(u8),
    /// An empty client identifier without clean session ([MQTT-3.1.3-7]).
    #[error("empty client identifier requires clean session")]
    EmptyClientIdWithoutCleanSession,
    /// CONNACK flags other than session-present are set, or session-present is set on a
    /// refusal ([MQTT-3.2.2-4]).
    #[error("invalid CONNACK flags {0:#010b}")]
    InvalidConnackFlags(u8),
    /// CONNACK return code above 5.
    #[error("invalid CONNACK return code {0}")]
    InvalidReturnCode(u8),
    /// A topic name or filter breaks the rules of [MQTT-4.7].
    #[error("invalid topic: {0}")]
    InvalidTopic(#[from] crate::mqtt::TopicError),
    /// SUBSCRIBE or UNSUBSCRIBE without a single topic filter ([MQTT-3.8.3-3], [MQTT-3.10.3-2]).
    #[error("no topic filters")]
    NoTopicFilters,
    /// The reserved bits of a requested QoS byte are set ([MQTT-3-8.3-4]).
    #[error("invalid requested QoS byte {0:#04x}")]
    InvalidSubscribeOptions(u8),
    /// A SUBACK return code other than 0x00, 0x01, 0x02 or 0x80 ([MQTT-3.9.3-2]).
    #[error("invalid SUBACK return code {0:#04x}")]
    InvalidSubackCode(u8),
}

/// Why a packet cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is smaller than the encoded packet. Nothing was written that the
    /// caller should use; retry with a buffer of at least `needed` bytes.
    #[error("buffer too small: the packet needs {needed} bytes, the buffer has {available}")]
    BufferTooSmall {
        /// Encoded size of the packet.
        needed: usize,
        /// Size of the buffer that was given.
        available: usize,
    },
    /// A string or binary field is longer than 65,535 bytes.
    #[error("field of {0} bytes exceeds the 65,535-byte limit")]
    FieldTooLong(usize),
    /// The packet's remaining length would exceed 268,435,455 bytes.
    #[error("packet of {0} bytes exceeds the MQTT maximum remaining length")]
    PacketTooLong(usize),
    /// A password without a user name ([MQTT-3.1.2-22]).
    #[error("password given without a user name")]
    PasswordWithoutUsername,
    /// An empty client identifier without clean session ([MQTT-3.1.3-7]).
    #[error("empty client identifier requires clean session")]
    EmptyClientIdWithoutCleanSession,
    /// A string contains U+0000 ([MQTT-1.5.3-2]).
    #[error("string contains U+0000")]
    NulInString,
    /// SUBSCRIBE, SUBACK or UNSUBSCRIBE with an empty list.
    #[error("empty topic or return-code list")]
    EmptyList,
}
