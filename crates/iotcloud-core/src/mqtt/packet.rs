//! Any of the fourteen control packets.

use super::ack::parse_packet_id;
use super::wire::{Writer, frame_len};
use super::{
    Connack, Connect, DecodeError, EncodeError, Frame, PacketId, PacketType, Publish, Suback,
    Subscribe, Unsubscribe,
};

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

    /// Parses the body of a checked frame.
    pub fn parse(frame: &Frame<&'a [u8]>) -> Result<Packet<'a>, DecodeError> {
        let body: &'a [u8] = &frame.into_inner()[frame.len() - frame.body().len()..frame.len()];
        let empty = |p: Packet<'a>| {
            if body.is_empty() {
                Ok(p)
            } else {
                Err(DecodeError::TrailingBytes)
            }
        };
        Ok(match frame.packet_type() {
            PacketType::Connect => Packet::Connect(Connect::parse(body)?),
            PacketType::Connack => Packet::Connack(Connack::parse(body)?),
            PacketType::Publish => Packet::Publish(Publish::parse(frame.flags(), body)?),
            PacketType::Puback => Packet::Puback(parse_packet_id(body)?),
            PacketType::Pubrec => Packet::Pubrec(parse_packet_id(body)?),
            PacketType::Pubrel => Packet::Pubrel(parse_packet_id(body)?),
            PacketType::Pubcomp => Packet::Pubcomp(parse_packet_id(body)?),
            PacketType::Subscribe => Packet::Subscribe(Subscribe::parse(body)?),
            PacketType::Suback => Packet::Suback(Suback::parse(body)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::parse(body)?),
            PacketType::Unsuback => Packet::Unsuback(parse_packet_id(body)?),
            PacketType::Pingreq => empty(Packet::Pingreq)?,
            PacketType::Pingresp => empty(Packet::Pingresp)?,
            PacketType::Disconnect => empty(Packet::Disconnect)?,
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

    fn first_byte(&self) -> u8 {
        match self {
            Packet::Publish(p) => p.first_byte(),
            other => {
                let t = other.packet_type();
                (t as u8) << 4 | t.required_flags().unwrap_or(0)
            }
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
        let body_len = self.body_len()?;
        let needed = frame_len(body_len)?;
        if buf.len() < needed {
            return Err(EncodeError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        let mut w = Writer::new(buf);
        w.u8(self.first_byte())?;
        w.varint(body_len)?;
        match self {
            Packet::Connect(c) => c.emit_body(&mut w)?,
            Packet::Connack(c) => c.emit_body(&mut w)?,
            Packet::Publish(p) => p.emit_body(&mut w)?,
            Packet::Puback(id)
            | Packet::Pubrec(id)
            | Packet::Pubrel(id)
            | Packet::Pubcomp(id)
            | Packet::Unsuback(id) => w.u16(id.get())?,
            Packet::Subscribe(s) => s.emit_body(&mut w)?,
            Packet::Suback(s) => s.emit_body(&mut w)?,
            Packet::Unsubscribe(u) => u.emit_body(&mut w)?,
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => {}
        }
        debug_assert_eq!(w.position(), needed);
        Ok(w.position())
    }
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
    fn the_largest_remaining_length_is_parsed_as_a_partial_frame() {
        // A PUBLISH announcing 268,435,455 bytes: the header is valid, the frame incomplete.
        assert_eq!(
            Packet::decode(&[0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, b't']),
            Ok(None)
        );
    }
}
