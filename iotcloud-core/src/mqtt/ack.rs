//! The packets whose body is a packet identifier alone: PUBACK, PUBREC, PUBREL, PUBCOMP
//! (§3.4–3.7) and UNSUBACK (§3.11).

use super::wire::split_packet_id;
use super::{DecodeError, PacketId};

/// Parses a body that must be exactly one non-zero packet identifier.
pub(crate) fn parse_packet_id(body: &[u8]) -> Result<PacketId, DecodeError> {
    match split_packet_id(body)? {
        (id, []) => Ok(id),
        _ => Err(DecodeError::TrailingBytes),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Packet;
    use super::*;

    #[test]
    fn each_ack_has_its_type_and_flags() {
        let id = PacketId::new(0x1234).unwrap();
        let cases = [
            (Packet::Puback(id), 0x40),
            (Packet::Pubrec(id), 0x50),
            (Packet::Pubrel(id), 0x62),
            (Packet::Pubcomp(id), 0x70),
            (Packet::Unsuback(id), 0xb0),
        ];
        for (packet, first) in cases {
            let mut buf = [0u8; 4];
            assert_eq!(packet.emit(&mut buf), Ok(4));
            assert_eq!(buf, [first, 2, 0x12, 0x34]);
            assert_eq!(Packet::decode(&buf).unwrap().unwrap(), (packet, 4));
        }
    }

    #[test]
    fn acks_with_a_wrong_length_or_a_zero_id_are_refused() {
        assert_eq!(
            Packet::decode(&[0x40, 2, 0, 0]),
            Err(DecodeError::ZeroPacketId)
        );
        assert_eq!(
            Packet::decode(&[0x40, 3, 0, 1, 0]),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(Packet::decode(&[0x40, 1, 0]), Err(DecodeError::Truncated));
        assert_eq!(
            Packet::decode(&[0x60, 2, 0, 1]),
            Err(DecodeError::InvalidFlags {
                packet_type: crate::mqtt::PacketType::Pubrel,
                flags: 0
            })
        );
    }
}
