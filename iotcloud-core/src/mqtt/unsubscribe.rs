//! UNSUBSCRIBE (§3.10). Its acknowledgement, UNSUBACK, carries only a packet identifier.

use super::wire::{Reader, Writer, field_len, frame_len};
use super::{DecodeError, EncodeError, PacketId, PacketType, TopicFilter};

/// The filters of an UNSUBSCRIBE: a slice when encoding, validated wire bytes when decoded.
#[derive(Clone, Copy)]
pub enum UnsubscribeFilters<'a> {
    /// Filters given by the caller.
    List(&'a [TopicFilter<'a>]),
    /// Validated wire encoding (from [`Unsubscribe::parse`]).
    Wire(&'a [u8]),
}

impl<'a> UnsubscribeFilters<'a> {
    /// The filters in order.
    pub fn iter(&self) -> impl Iterator<Item = TopicFilter<'a>> + 'a {
        let (list, wire) = match *self {
            UnsubscribeFilters::List(l) => (l, &[][..]),
            UnsubscribeFilters::Wire(w) => (&[][..], w),
        };
        let mut r = Reader::new(wire);
        list.iter().copied().chain(core::iter::from_fn(move || {
            if r.remaining() == 0 {
                return None;
            }
            TopicFilter::new(r.str().ok()?).ok()
        }))
    }
}

impl core::fmt::Debug for UnsubscribeFilters<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for UnsubscribeFilters<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for UnsubscribeFilters<'_> {}

/// An UNSUBSCRIBE packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Identifier the UNSUBACK will carry.
    pub packet_id: PacketId,
    /// One or more filters to remove.
    pub filters: UnsubscribeFilters<'a>,
}

impl<'a> Unsubscribe<'a> {
    /// An UNSUBSCRIBE for `filters`.
    pub fn new(packet_id: PacketId, filters: &'a [TopicFilter<'a>]) -> Self {
        Unsubscribe {
            packet_id,
            filters: UnsubscribeFilters::List(filters),
        }
    }

    /// Parses an UNSUBSCRIBE body, validating every filter.
    pub fn parse(body: &'a [u8]) -> Result<Unsubscribe<'a>, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = PacketId::parse(&mut r)?;
        let rest = r.rest();
        let mut r = Reader::new(rest);
        if r.remaining() == 0 {
            return Err(DecodeError::NoTopicFilters); // [MQTT-3.10.3-2]
        }
        while r.remaining() > 0 {
            TopicFilter::new(r.str()?)?;
        }
        Ok(Unsubscribe {
            packet_id,
            filters: UnsubscribeFilters::Wire(rest),
        })
    }

    /// Size of the body.
    pub fn body_len(&self) -> Result<usize, EncodeError> {
        let mut len = 2;
        let mut any = false;
        for f in self.filters.iter() {
            len += field_len(f.as_str().len())?;
            any = true;
        }
        if any {
            Ok(len)
        } else {
            Err(EncodeError::EmptyList)
        }
    }

    /// Encodes the UNSUBSCRIBE at the start of `buf`; see
    /// [`Packet::emit`](super::Packet::emit).
    pub(crate) fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::frame(buf, PacketType::Unsubscribe.first_byte(), self.body_len()?)?;
        w.put_u16(self.packet_id.get());
        for f in self.filters.iter() {
            w.put_binary(f.as_str().as_bytes());
        }
        Ok(w.position())
    }

    /// Size of the frame of an UNSUBSCRIBE for `filters`, as [`Subscribe::list_frame_len`]
    /// is for a SUBSCRIBE.
    ///
    /// [`Subscribe::list_frame_len`]: super::Subscribe::list_frame_len
    pub(crate) fn list_frame_len(filters: &[TopicFilter<'_>]) -> Result<usize, EncodeError> {
        frame_len(list_body_len(filters)?)
    }

    /// Encodes an UNSUBSCRIBE for `filters` at the start of `buf`, as [`Unsubscribe::new`]
    /// and [`Packet::emit`](super::Packet::emit) would.
    pub(crate) fn emit_list(
        packet_id: PacketId,
        filters: &[TopicFilter<'_>],
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let body_len = list_body_len(filters)?;
        let mut w = Writer::frame(buf, PacketType::Unsubscribe.first_byte(), body_len)?;
        w.put_u16(packet_id.get());
        for f in filters {
            w.put_binary(f.as_str().as_bytes());
        }
        Ok(w.position())
    }
}

/// Size of the body of an UNSUBSCRIBE for `filters`.
fn list_body_len(filters: &[TopicFilter<'_>]) -> Result<usize, EncodeError> {
    if filters.is_empty() {
        return Err(EncodeError::EmptyList);
    }
    // A valid filter's length fits its prefix.
    Ok(2 + filters.iter().map(|f| 2 + f.as_str().len()).sum::<usize>())
}

#[cfg(test)]
mod tests {
    use super::super::Packet;
    use super::*;

    #[test]
    fn unsubscribe_round_trips() {
        let filters = [
            TopicFilter::new("a/#").unwrap(),
            TopicFilter::new("b").unwrap(),
        ];
        let u = Unsubscribe::new(PacketId::new(3).unwrap(), &filters);
        let mut buf = [0u8; 32];
        let n = Packet::Unsubscribe(u).emit(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &[0xa2, 10, 0, 3, 0, 3, b'a', b'/', b'#', 0, 1, b'b']
        );
        assert_eq!(
            Packet::decode(&buf[..n]).unwrap().unwrap().0,
            Packet::Unsubscribe(u)
        );
        // The session's encoder of a list gives the same frame, and the same errors.
        let mut list = [0u8; 32];
        assert_eq!(Unsubscribe::list_frame_len(&filters), Ok(n));
        assert_eq!(
            Unsubscribe::emit_list(u.packet_id, &filters, &mut list),
            Ok(n)
        );
        assert_eq!(list, buf);
        for short in [0, 1, n - 1] {
            let expected = Packet::Unsubscribe(u).emit(&mut buf[..short]);
            assert_eq!(
                Unsubscribe::emit_list(u.packet_id, &filters, &mut list[..short]),
                expected
            );
        }
        let none = Unsubscribe::new(u.packet_id, &[]);
        assert_eq!(
            Unsubscribe::list_frame_len(&[]),
            Packet::Unsubscribe(none).buffer_len()
        );
        assert_eq!(
            Unsubscribe::emit_list(u.packet_id, &[], &mut list),
            Packet::Unsubscribe(none).emit(&mut buf)
        );
    }

    #[test]
    fn unsubscribe_without_filters_is_refused() {
        assert_eq!(
            Packet::decode(&[0xa2, 2, 0, 3]),
            Err(DecodeError::NoTopicFilters)
        );
        assert_eq!(
            Packet::decode(&[0xa2, 6, 0, 3, 0, 2, b'a', b'#']),
            Err(DecodeError::InvalidTopic(
                crate::mqtt::TopicError::MisplacedWildcard
            ))
        );
        assert_eq!(
            Packet::decode(&[0xa2, 5, 0, 3, 0, 2, b'a']),
            Err(DecodeError::Truncated)
        );
    }
}
