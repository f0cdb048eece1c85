//! Any of the fourteen control packets.

use super::ack::parse_packet_id;
use super::frame::fixed_header;
use super::wire::{Writer, frame_len};
use super::{
    Connack, Connect, DecodeError, EncodeError, Frame, PacketId, PacketType, Publish, Suback,
    Subscribe, Unsubscribe,
};
use crate::error::ProtocolError;

/// `packet` if `body` is empty, as it must be for PINGREQ, PINGRESP and DISCONNECT.
fn empty_body<'a>(body: &[u8], packet: Packet<'a>) -> Result<Packet<'a>, DecodeError> {
    if body.is_empty() {
        Ok(packet)
    } else {
        Err(DecodeError::TrailingBytes)
    }
}

/// One MQTT 3.1.1 control packet, borrowing its strings and payload from the buffer it was
/// decoded from (or from the caller, when encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// CONNECT.
    Connect(Connect<'a>),
    /// CONNACK.
    Connack(Connack),
    /// PUBLISH.
    Publish(Publish<'a>),
    /// PUBACK.
    Puback(PacketId),
    /// PUBREC.
    Pubrec(PacketId),
    /// PUBREL.
    Pubrel(PacketId),
    /// PUBCOMP.
    Pubcomp(PacketId),
    /// SUBSCRIBE.
    Subscribe(Subscribe<'a>),
    /// SUBACK.
    Suback(Suback<'a>),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK.
    Unsuback(PacketId),
    /// PINGREQ.
    Pingreq,
    /// PINGRESP.
    Pingresp,
    /// DISCONNECT.
    Disconnect,
}

impl<'a> Packet<'a> {
    /// Decodes the packet at the start of `buf`.
    ///
    /// `Ok(None)` means `buf` holds only the beginning of a valid frame: read more and try
    /// again. `Ok(Some((packet, used)))` consumed the first `used` bytes; anything after
    /// them is the next frame. Never panics, whatever the bytes.
    pub fn decode(buf: &'a [u8]) -> Result<Option<(Packet<'a>, usize)>, DecodeError> {
        match Frame::new_checked(buf)? {
            None => Ok(None),
            Some(frame) => {
                let used = frame.len();
                Ok(Some((Packet::parse(&frame)?, used)))
            }
        }
    }

    /// Decodes the packet at the start of `buf`, as [`Packet::decode`] does, if it is of a
    /// type a broker sends. The types only a client sends (CONNECT, SUBSCRIBE, UNSUBSCRIBE,
    /// PINGREQ, DISCONNECT) are refused with [`ProtocolError::UnexpectedPacket`] unparsed,
    /// so a device does not link their parsers.
    pub fn decode_from_broker(buf: &'a [u8]) -> Result<Option<(Packet<'a>, usize)>, ProtocolError> {
        let Some(header) = fixed_header(buf)? else {
            return Ok(None);
        };
        let len = header.header_len + header.body_len;
        let Some(body) = buf.get(header.header_len..len) else {
            return Ok(None);
        };
        match Self::parse_from_broker(header.packet_type, header.flags, body) {
            Some(packet) => Ok(Some((packet?, len))),
            None => Err(ProtocolError::UnexpectedPacket(header.packet_type)),
        }
    }

    /// Parses the body of a checked frame.
    pub fn parse(frame: &Frame<&'a [u8]>) -> Result<Packet<'a>, DecodeError> {
        let body = Self::body_of(frame);
        let packet_type = frame.packet_type();
        if let Some(packet) = Self::parse_from_broker(packet_type, frame.flags(), body) {
            return packet;
        }
        match packet_type {
            PacketType::Connect => Connect::parse(body).map(Packet::Connect),
            PacketType::Subscribe => Subscribe::parse(body).map(Packet::Subscribe),
            PacketType::Unsubscribe => Unsubscribe::parse(body).map(Packet::Unsubscribe),
            PacketType::Pingreq => empty_body(body, Packet::Pingreq),
            _ => empty_body(body, Packet::Disconnect),
        }
    }

    /// The body of a checked frame, borrowed for as long as the frame's buffer.
    fn body_of(frame: &Frame<&'a [u8]>) -> &'a [u8] {
        // In range: the frame was checked.
        frame
            .into_inner()
            .get(frame.len() - frame.body().len()..frame.len())
            .unwrap_or_default()
    }

    /// Parses `body` if `packet_type` is one a broker sends; `None` for the others.
    fn parse_from_broker(
        packet_type: PacketType,
        flags: u8,
        body: &'a [u8],
    ) -> Option<Result<Packet<'a>, DecodeError>> {
        Some(match packet_type {
            PacketType::Connack => Connack::parse(body).map(Packet::Connack),
            PacketType::Publish => Publish::parse(flags, body).map(Packet::Publish),
            PacketType::Puback => parse_packet_id(body).map(Packet::Puback),
            PacketType::Pubrec => parse_packet_id(body).map(Packet::Pubrec),
            PacketType::Pubrel => parse_packet_id(body).map(Packet::Pubrel),
            PacketType::Pubcomp => parse_packet_id(body).map(Packet::Pubcomp),
            PacketType::Suback => Suback::parse(body).map(Packet::Suback),
            PacketType::Unsuback => parse_packet_id(body).map(Packet::Unsuback),
            PacketType::Pingresp => empty_body(body, Packet::Pingresp),
            PacketType::Connect
            | PacketType::Subscribe
            | PacketType::Unsubscribe
            | PacketType::Pingreq
            | PacketType::Disconnect => return None,
        })
    }

    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::Connack(_) => PacketType::Connack,
            Packet::Publish(_) => PacketType::Publish,
            Packet::Puback(_) => PacketType::Puback,
            Packet::Pubrec(_) => PacketType::Pubrec,
            Packet::Pubrel(_) => PacketType::Pubrel,
            Packet::Pubcomp(_) => PacketType::Pubcomp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::Suback(_) => PacketType::Suback,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::Unsuback(_) => PacketType::Unsuback,
            Packet::Pingreq => PacketType::Pingreq,
            Packet::Pingresp => PacketType::Pingresp,
            Packet::Disconnect => PacketType::Disconnect,
        }
    }

    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(match self {
            Packet::Connect(c) => c.body_len()?,
            Packet::Connack(_) => 2,
            Packet::Publish(p) => p.body_len()?,
            Packet::Puback(_)
            | Packet::Pubrec(_)
            | Packet::Pubrel(_)
            | Packet::Pubcomp(_)
            | Packet::Unsuback(_) => 2,
            Packet::Subscribe(s) => s.body_len()?,
            Packet::Suback(s) => s.body_len()?,
            Packet::Unsubscribe(u) => u.body_len()?,
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => 0,
        })
    }

    /// Size of the whole encoded frame.
    pub fn buffer_len(&self) -> Result<usize, EncodeError> {
        frame_len(self.body_len()?)
    }

    /// Encodes the packet at the start of `buf` and returns its length.
    ///
    /// A buffer that is too small gives [`EncodeError::BufferTooSmall`] with the size
    /// needed; nothing is ever cut short.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        // Each type's own encoder: a client links only those of the packets it sends.
        match self {
            Packet::Connect(c) => c.emit(buf),
            Packet::Connack(c) => c.emit(buf),
            Packet::Publish(p) => p.emit(buf),
            Packet::Puback(id)
            | Packet::Pubrec(id)
            | Packet::Pubrel(id)
            | Packet::Pubcomp(id)
            | Packet::Unsuback(id) => emit_packet_id(self.packet_type(), *id, buf),
            Packet::Subscribe(s) => s.emit(buf),
            Packet::Suback(s) => s.emit(buf),
            Packet::Unsubscribe(u) => u.emit(buf),
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => {
                emit_empty(self.packet_type(), buf)
            }
        }
    }
}

/// Encodes a packet whose body is `id` alone (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK).
pub(crate) fn emit_packet_id(
    packet_type: PacketType,
    id: PacketId,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut w = Writer::frame(buf, packet_type.first_byte(), 2)?;
    w.put_u16(id.get());
    Ok(w.position())
}

/// Encodes a packet without a body (PINGREQ, PINGRESP, DISCONNECT).
pub(crate) fn emit_empty(packet_type: PacketType, buf: &mut [u8]) -> Result<usize, EncodeError> {
    Writer::frame(buf, packet_type.first_byte(), 0).map(|w| w.position())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_packets_are_two_bytes_and_refuse_a_body() {
        for (p, first) in [
            (Packet::Pingreq, 0xc0),
            (Packet::Pingresp, 0xd0),
            (Packet::Disconnect, 0xe0),
        ] {
            let mut buf = [0u8; 2];
            assert_eq!(p.emit(&mut buf), Ok(2));
            assert_eq!(buf, [first, 0]);
            assert_eq!(Packet::decode(&buf), Ok(Some((p, 2))));
            assert_eq!(
                Packet::decode(&[first, 1, 0]),
                Err(DecodeError::TrailingBytes)
            );
        }
    }

    #[test]
    fn from_a_broker_only_broker_packets_are_parsed() {
        let from_broker: [&[u8]; 9] = [
            &[0x20, 2, 0, 0],
            &[0x30, 3, 0, 1, b't'],
            &[0x40, 2, 0, 7],
            &[0x50, 2, 0, 7],
            &[0x62, 2, 0, 7],
            &[0x70, 2, 0, 7],
            &[0x90, 3, 0, 7, 1],
            &[0xb0, 2, 0, 7],
            &[0xd0, 0],
        ];
        for bytes in from_broker {
            let decoded = Packet::decode(bytes).unwrap();
            assert!(decoded.is_some());
            assert_eq!(Packet::decode_from_broker(bytes), Ok(decoded));
        }
        // The types only a client sends are refused unparsed, even when malformed.
        let from_client: [(&[u8], PacketType); 5] = [
            (&[0x10, 1, 0], PacketType::Connect),
            (&[0x82, 6, 0, 1, 0, 1, b'a', 0], PacketType::Subscribe),
            (&[0xa2, 5, 0, 1, 0, 1, b'a'], PacketType::Unsubscribe),
            (&[0xc0, 0], PacketType::Pingreq),
            (&[0xe0, 1, 0], PacketType::Disconnect),
        ];
        for (bytes, packet_type) in from_client {
            assert_eq!(
                Packet::decode_from_broker(bytes),
                Err(ProtocolError::UnexpectedPacket(packet_type))
            );
        }
        assert_eq!(Packet::decode_from_broker(&[0x40, 2, 0]), Ok(None));
        assert_eq!(
            Packet::decode_from_broker(&[0xd0, 1, 0]),
            Err(ProtocolError::Malformed(DecodeError::TrailingBytes))
        );
    }

    #[test]
    fn the_largest_remaining_length_is_parsed_as_a_partial_frame() {
        // A PUBLISH announcing 268,435,455 bytes: the header is valid, the frame incomplete.
        assert_eq!(
            Packet::decode(&[0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, b't']),
            Ok(None)
        );
    }
}
