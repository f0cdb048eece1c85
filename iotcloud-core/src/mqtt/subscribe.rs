//! SUBSCRIBE (§3.8) and SUBACK (§3.9).

use super::wire::{Reader, Writer, field_len, frame_len, split_packet_id};
use super::{DecodeError, EncodeError, PacketId, PacketType, QoS, TopicFilter};

/// One topic filter of a SUBSCRIBE with the maximum QoS asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeTopic<'a> {
    /// The filter.
    pub filter: TopicFilter<'a>,
    /// Highest QoS the subscriber wants.
    pub qos: QoS,
}

/// The topic filters of a SUBSCRIBE: a slice when encoding, the validated wire bytes when
/// decoded. Either way [`SubscribeTopics::iter`] yields them.
#[derive(Clone, Copy)]
pub enum SubscribeTopics<'a> {
    /// Filters given by the caller.
    List(&'a [SubscribeTopic<'a>]),
    /// Validated wire encoding (from [`Subscribe::parse`]).
    Wire(&'a [u8]),
}

impl<'a> SubscribeTopics<'a> {
    /// The filters in order.
    pub fn iter(&self) -> impl Iterator<Item = SubscribeTopic<'a>> + 'a {
        let (list, wire) = match *self {
            SubscribeTopics::List(l) => (l, &[][..]),
            SubscribeTopics::Wire(w) => (&[][..], w),
        };
        let mut r = Reader::new(wire);
        list.iter().copied().chain(core::iter::from_fn(move || {
            if r.remaining() == 0 {
                return None;
            }
            // Validated by `Subscribe::parse`; a failure here cannot happen and ends the
            // iteration rather than panicking.
            let filter = TopicFilter::new(r.str().ok()?).ok()?;
            let qos = QoS::from_bits(r.u8().ok()?).ok()?;
            Some(SubscribeTopic { filter, qos })
        }))
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none (never true for a valid packet).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl core::fmt::Debug for SubscribeTopics<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for SubscribeTopics<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubscribeTopics<'_> {}

/// A SUBSCRIBE packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Identifier the SUBACK will carry.
    pub packet_id: PacketId,
    /// One or more filters.
    pub topics: SubscribeTopics<'a>,
}

impl<'a> Subscribe<'a> {
    /// A SUBSCRIBE for `topics`.
    pub fn new(packet_id: PacketId, topics: &'a [SubscribeTopic<'a>]) -> Self {
        Subscribe {
            packet_id,
            topics: SubscribeTopics::List(topics),
        }
    }

    /// Parses a SUBSCRIBE body, validating every filter.
    pub fn parse(body: &'a [u8]) -> Result<Subscribe<'a>, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = PacketId::parse(&mut r)?;
        let rest = r.rest();
        let mut r = Reader::new(rest);
        if r.remaining() == 0 {
            return Err(DecodeError::NoTopicFilters); // [MQTT-3.8.3-3]
        }
        while r.remaining() > 0 {
            TopicFilter::new(r.str()?)?;
            let options = r.u8()?;
            if options & 0xfc != 0 {
                return Err(DecodeError::InvalidSubscribeOptions(options)); // [MQTT-3-8.3-4]
            }
            QoS::from_bits(options)?;
        }
        Ok(Subscribe {
            packet_id,
            topics: SubscribeTopics::Wire(rest),
        })
    }

    /// Size of the body.
    pub fn body_len(&self) -> Result<usize, EncodeError> {
        let mut len = 2;
        let mut any = false;
        for t in self.topics.iter() {
            len += field_len(t.filter.as_str().len())? + 1;
            any = true;
        }
        if any {
            Ok(len)
        } else {
            Err(EncodeError::EmptyList)
        }
    }

    /// Encodes the SUBSCRIBE at the start of `buf`; see [`Packet::emit`](super::Packet::emit).
    pub(crate) fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::frame(buf, PacketType::Subscribe.first_byte(), self.body_len()?)?;
        w.put_u16(self.packet_id.get());
        for t in self.topics.iter() {
            put_topic(&mut w, &t);
        }
        Ok(w.position())
    }

    /// Size of the frame of a SUBSCRIBE for `topics`: [`Subscribe::new`] and
    /// [`Packet::buffer_len`](super::Packet::buffer_len) without going through the
    /// decoded form, which a client never has.
    pub(crate) fn list_frame_len(topics: &[SubscribeTopic<'_>]) -> Result<usize, EncodeError> {
        frame_len(list_body_len(topics)?)
    }

    /// Encodes a SUBSCRIBE for `topics` at the start of `buf`, as [`Subscribe::new`] and
    /// [`Packet::emit`](super::Packet::emit) would.
    pub(crate) fn emit_list(
        packet_id: PacketId,
        topics: &[SubscribeTopic<'_>],
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let body_len = list_body_len(topics)?;
        let mut w = Writer::frame(buf, PacketType::Subscribe.first_byte(), body_len)?;
        w.put_u16(packet_id.get());
        for t in topics {
            put_topic(&mut w, t);
        }
        Ok(w.position())
    }
}

/// Size of the body of a SUBSCRIBE for `topics`.
fn list_body_len(topics: &[SubscribeTopic<'_>]) -> Result<usize, EncodeError> {
    if topics.is_empty() {
        return Err(EncodeError::EmptyList);
    }
    // A valid filter's length fits its prefix.
    Ok(2 + topics
        .iter()
        .map(|t| 2 + t.filter.as_str().len() + 1)
        .sum::<usize>())
}

/// One filter of a SUBSCRIBE and its QoS byte.
fn put_topic(w: &mut Writer<'_>, t: &SubscribeTopic<'_>) {
    w.put_binary(t.filter.as_str().as_bytes());
    w.put_u8(t.qos as u8);
}

/// The broker's answer for one filter of a SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SubackCode {
    /// Subscribed; messages come at most at this QoS.
    Granted(QoS),
    /// 0x80: the broker refused the subscription.
    Failure,
}

impl SubackCode {
    /// Decodes one return code ([MQTT-3.9.3-2]).
    pub fn from_u8(code: u8) -> Result<SubackCode, DecodeError> {
        match code {
            0..=2 => Ok(SubackCode::Granted(QoS::from_bits(code)?)),
            0x80 => Ok(SubackCode::Failure),
            other => Err(DecodeError::InvalidSubackCode(other)),
        }
    }

    /// The return-code byte.
    pub fn as_u8(self) -> u8 {
        match self {
            SubackCode::Granted(q) => q as u8,
            SubackCode::Failure => 0x80,
        }
    }
}

/// The return codes of a SUBACK, one per filter of the SUBSCRIBE, in order.
#[derive(Clone, Copy)]
pub enum SubackCodes<'a> {
    /// Codes given by the caller.
    List(&'a [SubackCode]),
    /// Validated wire bytes.
    Wire(&'a [u8]),
}

impl<'a> SubackCodes<'a> {
    /// The codes in order.
    pub fn iter(&self) -> impl Iterator<Item = SubackCode> + 'a {
        let (list, wire) = match *self {
            SubackCodes::List(l) => (l, &[][..]),
            SubackCodes::Wire(w) => (&[][..], w),
        };
        list.iter().copied().chain(
            wire.iter()
                .map(|&b| SubackCode::from_u8(b).unwrap_or(SubackCode::Failure)),
        )
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        match self {
            SubackCodes::List(l) => l.len(),
            SubackCodes::Wire(w) => w.len(),
        }
    }

    /// The `index`th code, as [`SubackCodes::iter`] would give it.
    pub(crate) fn get(&self, index: usize) -> Option<SubackCode> {
        match self {
            SubackCodes::List(l) => l.get(index).copied(),
            SubackCodes::Wire(w) => w
                .get(index)
                .map(|&b| SubackCode::from_u8(b).unwrap_or(SubackCode::Failure)),
        }
    }

    /// Whether there are none (never true for a valid packet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl core::fmt::Debug for SubackCodes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for SubackCodes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubackCodes<'_> {}

/// A SUBACK packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suback<'a> {
    /// Identifier of the SUBSCRIBE being answered.
    pub packet_id: PacketId,
    /// One code per requested filter.
    pub codes: SubackCodes<'a>,
}

impl<'a> Suback<'a> {
    /// Parses a SUBACK body.
    pub fn parse(body: &'a [u8]) -> Result<Suback<'a>, DecodeError> {
        let (packet_id, codes) = split_packet_id(body)?;
        if codes.is_empty() {
            return Err(DecodeError::Truncated);
        }
        for &c in codes {
            SubackCode::from_u8(c)?;
        }
        Ok(Suback {
            packet_id,
            codes: SubackCodes::Wire(codes),
        })
    }

    /// Size of the body.
    pub fn body_len(&self) -> Result<usize, EncodeError> {
        if self.codes.is_empty() {
            Err(EncodeError::EmptyList)
        } else {
            Ok(2 + self.codes.len())
        }
    }

    /// Encodes the SUBACK at the start of `buf`; see [`Packet::emit`](super::Packet::emit).
    pub(crate) fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::frame(buf, PacketType::Suback.first_byte(), self.body_len()?)?;
        w.put_u16(self.packet_id.get());
        for c in self.codes.iter() {
            w.put_u8(c.as_u8());
        }
        Ok(w.position())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Packet;
    use super::*;

    #[test]
    fn subscribe_round_trips_with_several_filters() {
        let topics = [
            SubscribeTopic {
                filter: TopicFilter::new("a/+").unwrap(),
                qos: QoS::AtLeastOnce,
            },
            SubscribeTopic {
                filter: TopicFilter::new("#").unwrap(),
                qos: QoS::ExactlyOnce,
            },
        ];
        let s = Subscribe::new(PacketId::new(1).unwrap(), &topics);
        let mut buf = [0u8; 32];
        let n = Packet::Subscribe(s).emit(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &[0x82, 12, 0, 1, 0, 3, b'a', b'/', b'+', 1, 0, 1, b'#', 2]
        );
        let (p, _) = Packet::decode(&buf[..n]).unwrap().unwrap();
        assert_eq!(p, Packet::Subscribe(s));
        // The session's encoder of a list gives the same frame, and the same errors.
        let mut list = [0u8; 32];
        assert_eq!(Subscribe::list_frame_len(&topics), Ok(n));
        assert_eq!(Subscribe::emit_list(s.packet_id, &topics, &mut list), Ok(n));
        assert_eq!(list, buf);
        for short in [0, 1, n - 1] {
            let expected = Packet::Subscribe(s).emit(&mut buf[..short]);
            assert_eq!(
                Subscribe::emit_list(s.packet_id, &topics, &mut list[..short]),
                expected
            );
        }
        let none = Subscribe::new(s.packet_id, &[]);
        assert_eq!(
            Subscribe::list_frame_len(&[]),
            Packet::Subscribe(none).buffer_len()
        );
        assert_eq!(
            Subscribe::emit_list(s.packet_id, &[], &mut list),
            Packet::Subscribe(none).emit(&mut buf)
        );
    }

    #[test]
    fn subscribe_without_filters_or_with_reserved_bits_is_refused() {
        assert_eq!(
            Packet::decode(&[0x82, 2, 0, 1]),
            Err(DecodeError::NoTopicFilters)
        );
        assert_eq!(
            Packet::decode(&[0x82, 6, 0, 1, 0, 1, b'a', 0x04]),
            Err(DecodeError::InvalidSubscribeOptions(4))
        );
        assert_eq!(
            Packet::decode(&[0x82, 6, 0, 1, 0, 1, b'a', 0x03]),
            Err(DecodeError::InvalidQos(3))
        );
        let mut buf = [0u8; 8];
        assert_eq!(
            Packet::Subscribe(Subscribe::new(PacketId::new(1).unwrap(), &[])).emit(&mut buf),
            Err(EncodeError::EmptyList)
        );
    }

    #[test]
    fn suback_codes_round_trip_and_bad_codes_are_refused() {
        let codes = [
            SubackCode::Granted(QoS::AtMostOnce),
            SubackCode::Failure,
            SubackCode::Granted(QoS::ExactlyOnce),
        ];
        let s = Suback {
            packet_id: PacketId::new(9).unwrap(),
            codes: SubackCodes::List(&codes),
        };
        let mut buf = [0u8; 8];
        let n = Packet::Suback(s).emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[0x90, 5, 0, 9, 0, 0x80, 2]);
        assert_eq!(
            Packet::decode(&buf[..n]).unwrap().unwrap().0,
            Packet::Suback(s)
        );
        assert_eq!(
            Packet::decode(&[0x90, 3, 0, 9, 0x03]),
            Err(DecodeError::InvalidSubackCode(3))
        );
        assert_eq!(
            Packet::decode(&[0x90, 2, 0, 9]),
            Err(DecodeError::Truncated)
        );
    }
}
