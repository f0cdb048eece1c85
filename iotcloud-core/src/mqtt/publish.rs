//! PUBLISH (§3.3).

use super::wire::{
    MAX_REMAINING_LENGTH, Writer, field_len, frame_len, split_packet_id, split_u16, varint_len,
};
use super::{DecodeError, EncodeError, PacketType, QoS, QosPid, TopicName};

const FLAG_DUP: u8 = 0x08;
const FLAG_RETAIN: u8 = 0x01;

/// A PUBLISH packet: an application message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    /// Where the message goes; never contains wildcards.
    pub topic: TopicName<'a>,
    /// QoS and, for QoS 1 and 2, the packet identifier.
    pub qos: QosPid,
    /// This is a re-delivery of an earlier attempt ([MQTT-3.3.1-1]).
    pub dup: bool,
    /// The broker keeps the message for future subscribers.
    pub retain: bool,
    /// The message body, any bytes.
    pub payload: &'a [u8],
}

impl<'a> Publish<'a> {
    /// Parses a PUBLISH body with the fixed-header `flags` of its frame.
    pub fn parse(flags: u8, body: &'a [u8]) -> Result<Publish<'a>, DecodeError> {
        let qos = QoS::from_bits((flags >> 1) & 0b11)?;
        let dup = flags & FLAG_DUP != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupOnQos0); // [MQTT-3.3.1-2]
        }
        // Cut by hand, as `Reader::str` and `PacketId::parse` would, with the same errors.
        let (len, rest) = split_u16(body)?;
        let (topic, rest) = rest
            .split_at_checked(usize::from(len))
            .ok_or(DecodeError::Truncated)?;
        let topic = core::str::from_utf8(topic).map_err(|_| DecodeError::InvalidUtf8)?;
        if topic.as_bytes().contains(&0) {
            return Err(DecodeError::NulInString);
        }
        let topic = TopicName::new(topic)?;
        let (qos, payload) = match qos {
            QoS::AtMostOnce => (QosPid::AtMostOnce, rest),
            QoS::AtLeastOnce | QoS::ExactlyOnce => {
                let (id, payload) = split_packet_id(rest)?;
                let qos = if qos == QoS::AtLeastOnce {
                    QosPid::AtLeastOnce(id)
                } else {
                    QosPid::ExactlyOnce(id)
                };
                (qos, payload)
            }
        };
        Ok(Publish {
            topic,
            qos,
            dup,
            retain: flags & FLAG_RETAIN != 0,
            payload,
        })
    }

    /// The first byte of the frame: type and flags.
    pub fn first_byte(&self) -> u8 {
        let mut b = (PacketType::Publish as u8) << 4 | (self.qos.qos() as u8) << 1;
        if self.dup {
            b |= FLAG_DUP;
        }
        if self.retain {
            b |= FLAG_RETAIN;
        }
        b
    }

    fn variable_header_len(&self) -> Result<usize, EncodeError> {
        let id = if self.qos.packet_id().is_some() { 2 } else { 0 };
        Ok(field_len(self.topic.as_str().len())? + id)
    }

    /// Size of the body (topic, packet identifier, payload).
    pub fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(self.variable_header_len()? + self.payload.len())
    }

    /// Size of everything before the payload: fixed header, topic and packet identifier.
    ///
    /// With [`Publish::emit_header`] this lets a caller send a large payload straight from
    /// its own memory without copying it into a transmit buffer.
    pub fn header_len(&self) -> Result<usize, EncodeError> {
        let body = self.body_len()?;
        Ok(frame_len(body)? - self.payload.len())
    }

    /// Writes the fixed header, topic and packet identifier — everything but the payload —
    /// and returns how many bytes that took.
    pub fn emit_header(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let body = self.body_len()?;
        let needed = 1 + varint_len(body) + self.variable_header_len()?;
        if buf.len() < needed {
            return Err(EncodeError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        if body > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLong(body));
        }
        let mut w = Writer::new(buf);
        w.put_u8(self.first_byte());
        w.put_varint(body);
        self.put_variable_header(&mut w);
        Ok(w.position())
    }

    /// The topic (valid, so its length fits) and the packet identifier.
    fn put_variable_header(&self, w: &mut Writer<'_>) {
        w.put_binary(self.topic.as_str().as_bytes());
        if let Some(id) = self.qos.packet_id() {
            w.put_u16(id.get());
        }
    }

    /// Size of the whole frame.
    pub(crate) fn frame_len(&self) -> Result<usize, EncodeError> {
        frame_len(self.body_len()?)
    }

    /// Encodes the PUBLISH at the start of `buf`; see [`Packet::emit`](super::Packet::emit).
    pub(crate) fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::frame(buf, self.first_byte(), self.body_len()?)?;
        self.put_variable_header(&mut w);
        w.put(self.payload);
        Ok(w.position())
    }
}

/// Sets the DUP flag in the first byte of an encoded QoS 1 or 2 PUBLISH frame, for a
/// re-delivery ([MQTT-3.3.1-1]).
pub(crate) fn set_dup(frame: &mut [u8]) {
    if let Some(first) = frame.first_mut() {
        *first |= FLAG_DUP;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Packet, PacketId};
    use super::*;

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn qos1_publish_matches_the_spec_layout() {
        let p = Publish {
            topic: TopicName::new("a/b").unwrap(),
            qos: QosPid::AtLeastOnce(id(10)),
            dup: true,
            retain: true,
            payload: b"hi",
        };
        let mut buf = [0u8; 16];
        let n = Packet::Publish(p).emit(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &[0x3b, 9, 0, 3, b'a', b'/', b'b', 0, 10, b'h', b'i']
        );
        assert_eq!(p.header_len(), Ok(9));
        let mut head = [0u8; 9];
        assert_eq!(p.emit_header(&mut head), Ok(9));
        assert_eq!(&head, &buf[..9]);
    }

    #[test]
    fn empty_payload_and_qos0_have_no_packet_id() {
        let p = Publish {
            topic: TopicName::new("t").unwrap(),
            qos: QosPid::AtMostOnce,
            dup: false,
            retain: false,
            payload: b"",
        };
        let mut buf = [0u8; 8];
        let n = Packet::Publish(p).emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[0x30, 3, 0, 1, b't']);
        assert_eq!(
            Packet::decode(&buf[..n]).unwrap().unwrap().0,
            Packet::Publish(p)
        );
    }

    #[test]
    fn invalid_publishes_are_refused() {
        // QoS 3
        assert_eq!(
            Packet::decode(&[0x36, 3, 0, 1, b't']),
            Err(DecodeError::InvalidQos(3))
        );
        // DUP on QoS 0
        assert_eq!(
            Packet::decode(&[0x38, 3, 0, 1, b't']),
            Err(DecodeError::DupOnQos0)
        );
        // wildcard in topic
        assert_eq!(
            Packet::decode(&[0x30, 3, 0, 1, b'#']),
            Err(DecodeError::InvalidTopic(
                crate::mqtt::TopicError::WildcardInName
            ))
        );
        // empty topic
        assert_eq!(
            Packet::decode(&[0x30, 2, 0, 0]),
            Err(DecodeError::InvalidTopic(crate::mqtt::TopicError::Empty))
        );
        // packet id 0
        assert_eq!(
            Packet::decode(&[0x32, 5, 0, 1, b't', 0, 0]),
            Err(DecodeError::ZeroPacketId)
        );
        // QoS 1 without room for the packet id
        assert_eq!(
            Packet::decode(&[0x32, 4, 0, 1, b't', 0]),
            Err(DecodeError::Truncated)
        );
        // no room for the topic's length, or for the topic
        assert_eq!(Packet::decode(&[0x30, 1, 0]), Err(DecodeError::Truncated));
        assert_eq!(
            Packet::decode(&[0x30, 3, 0, 2, b't']),
            Err(DecodeError::Truncated)
        );
        // a topic that is not UTF-8, or holds U+0000
        assert_eq!(
            Packet::decode(&[0x30, 3, 0, 1, 0xff]),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            Packet::decode(&[0x30, 4, 0, 2, b't', 0]),
            Err(DecodeError::NulInString)
        );
    }

    #[test]
    fn too_small_a_buffer_is_an_error_not_a_truncation() {
        let p = Publish {
            topic: TopicName::new("t").unwrap(),
            qos: QosPid::AtMostOnce,
            dup: false,
            retain: false,
            payload: &[7u8; 100],
        };
        let mut buf = [0u8; 50];
        assert_eq!(
            Packet::Publish(p).emit(&mut buf),
            Err(EncodeError::BufferTooSmall {
                needed: 105,
                available: 50
            })
        );
    }
}
