//! A checked view over one framed packet: fixed header plus body (§2.2).

use super::wire::decode_varint;
use super::{DecodeError, PacketType};

/// What the start of a byte buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// Not enough bytes to know the frame's length yet.
    NeedHeader,
    /// The fixed header is complete: the frame is `header_len + body_len` bytes long, of
    /// which the buffer may hold only a part.
    Header {
        /// Bytes of the fixed header (2 to 5).
        header_len: usize,
        /// Remaining length: bytes of the body.
        body_len: usize,
    },
}

impl FrameStatus {
    /// Whole frame length, once the header is known.
    pub fn frame_len(self) -> Option<usize> {
        match self {
            FrameStatus::NeedHeader => None,
            FrameStatus::Header {
                header_len,
                body_len,
            } => Some(header_len + body_len),
        }
    }
}

/// Reads the fixed header at the start of `buf`, checking the packet type and its flags.
pub fn frame_status(buf: &[u8]) -> Result<FrameStatus, DecodeError> {
    Ok(match fixed_header(buf)? {
        None => FrameStatus::NeedHeader,
        Some(h) => FrameStatus::Header {
            header_len: h.header_len,
            body_len: h.body_len,
        },
    })
}

/// A checked fixed header.
pub(crate) struct FixedHeader {
    pub packet_type: PacketType,
    /// The four low bits of the first byte.
    pub flags: u8,
    pub header_len: usize,
    pub body_len: usize,
}

/// Reads the fixed header at the start of `buf`, as [`frame_status`] does; `None` while
/// it is incomplete.
pub(crate) fn fixed_header(buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let packet_type = PacketType::from_nibble(first >> 4)?;
    let flags = first & 0x0f;
    if let Some(required) = packet_type.required_flags()
        && flags != required
    {
        return Err(DecodeError::InvalidFlags { packet_type, flags });
    }
    Ok(decode_varint(rest)?.map(|(body_len, n)| FixedHeader {
        packet_type,
        flags,
        header_len: 1 + n,
        body_len,
    }))
}

/// A view over a buffer that starts with one whole MQTT frame.
///
/// Built with [`Frame::new_checked`], every accessor is infallible.
#[derive(Debug, Clone, Copy)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
    packet_type: PacketType,
    header_len: usize,
    body_len: usize,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks that `buffer` starts with a complete frame whose fixed header is valid.
    ///
    /// Returns `Ok(None)` when the buffer is a valid but incomplete prefix of a frame.
    /// Bytes after the frame (the start of the next one) are allowed and ignored.
    pub fn new_checked(buffer: T) -> Result<Option<Frame<T>>, DecodeError> {
        let bytes = buffer.as_ref();
        match fixed_header(bytes)? {
            Some(h) if bytes.len() >= h.header_len + h.body_len => Ok(Some(Frame {
                buffer,
                packet_type: h.packet_type,
                header_len: h.header_len,
                body_len: h.body_len,
            })),
            _ => Ok(None),
        }
    }

    /// The packet type.
    pub fn packet_type(&self) -> PacketType {
        self.packet_type
    }

    /// The four flag bits of the fixed header.
    pub fn flags(&self) -> u8 {
        // A checked frame is never empty.
        self.buffer.as_ref().first().copied().unwrap_or_default() & 0x0f
    }

    /// Length of the whole frame in bytes.
    pub fn len(&self) -> usize {
        self.header_len + self.body_len
    }

    /// Whether the frame is empty (never: a frame has at least a two-byte header).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The variable header and payload.
    pub fn body(&self) -> &[u8] {
        // In range: checked by `new_checked`.
        self.buffer
            .as_ref()
            .get(self.header_len..self.len())
            .unwrap_or_default()
    }

    /// Gives the underlying buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_followed_by_the_next_one_is_cut_at_its_end() {
        // PINGRESP then the start of a PUBACK.
        let bytes = [0xd0, 0x00, 0x40, 0x02];
        let frame = Frame::new_checked(&bytes[..]).unwrap().unwrap();
        assert_eq!(frame.packet_type(), PacketType::Pingresp);
        assert_eq!(frame.len(), 2);
        assert!(frame.body().is_empty());
    }

    #[test]
    fn an_incomplete_frame_is_not_an_error() {
        assert!(
            Frame::new_checked(&[0x30, 0x05, 0x00][..])
                .unwrap()
                .is_none()
        );
        assert_eq!(frame_status(&[0x30]), Ok(FrameStatus::NeedHeader));
        assert_eq!(
            frame_status(&[0x30, 0xff, 0xff, 0xff, 0x7f]),
            Ok(FrameStatus::Header {
                header_len: 5,
                body_len: 268_435_455
            })
        );
    }

    #[test]
    fn reserved_types_and_wrong_flags_are_refused() {
        assert_eq!(
            frame_status(&[0x00, 0x00]),
            Err(DecodeError::InvalidPacketType(0))
        );
        assert_eq!(
            frame_status(&[0xf0, 0x00]),
            Err(DecodeError::InvalidPacketType(15))
        );
        assert_eq!(
            frame_status(&[0x80, 0x00]),
            Err(DecodeError::InvalidFlags {
                packet_type: PacketType::Subscribe,
                flags: 0
            })
        );
        assert_eq!(
            frame_status(&[0x41, 0x02]),
            Err(DecodeError::InvalidFlags {
                packet_type: PacketType::Puback,
                flags: 1
            })
        );
    }
}
