//! MQTT's primitive field encodings: the remaining-length varint, big-endian integers,
//! length-prefixed strings and binary data (MQTT 3.1.1 §1.5 and §2.2.3).

use super::{DecodeError, EncodeError};

/// Largest remaining length a fixed header can express (§2.2.3).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Largest string or binary field: the length prefix is 16 bits.
pub const MAX_FIELD_LENGTH: usize = u16::MAX as usize;

/// Decodes a remaining-length varint from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` ends before the varint does, and `Ok(Some((value, used)))`
/// otherwise. A fifth continuation byte is an error: four bytes reach 268,435,455. So is a
/// non-minimal encoding (a last byte of 0 after a continuation, as in `80 00`): no broker
/// sends one, and refusing it gives every frame exactly one encoding.
pub fn decode_varint(buf: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let mut value = 0usize;
    for (i, &byte) in buf.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(DecodeError::MalformedRemainingLength);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        Err(DecodeError::MalformedRemainingLength)
    } else {
        Ok(None)
    }
}

/// Number of bytes the varint encoding of `value` takes (1 to 4).
pub const fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Total frame size for a body of `body_len` bytes: one type byte, the varint, the body.
pub fn frame_len(body_len: usize) -> Result<usize, EncodeError> {
    if body_len > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLong(body_len));
    }
    Ok(1 + varint_len(body_len) + body_len)
}

/// Size of a length-prefixed string or binary field, checking the 16-bit limit.
pub fn field_len(len: usize) -> Result<usize, EncodeError> {
    if len > MAX_FIELD_LENGTH {
        Err(EncodeError::FieldTooLong(len))
    } else {
        Ok(2 + len)
    }
}

/// Checks the string rules every MQTT string shares: no U+0000 ([MQTT-1.5.3-2]).
pub fn check_str(s: &str) -> Result<(), EncodeError> {
    if s.as_bytes().contains(&0) {
        Err(EncodeError::NulInString)
    } else {
        Ok(())
    }
}

/// A big-endian 16-bit integer at the start of `bytes`, and the bytes after it; what
/// [`Reader::u16`] reads, for the decoders that cut a body by hand.
pub(crate) fn split_u16(bytes: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    match bytes {
        [hi, lo, rest @ ..] => Ok((u16::from_be_bytes([*hi, *lo]), rest)),
        _ => Err(DecodeError::Truncated),
    }
}

/// A packet identifier at the start of `bytes` ([`PacketId::parse`]), and the bytes
/// after it.
///
/// [`PacketId::parse`]: super::PacketId
pub(crate) fn split_packet_id(bytes: &[u8]) -> Result<(super::PacketId, &[u8]), DecodeError> {
    let (id, rest) = split_u16(bytes)?;
    let id = super::PacketId::new(id).ok_or(DecodeError::ZeroPacketId)?;
    Ok((id, rest))
}

/// A cursor that reads MQTT fields from a packet body and never reads past it.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let out = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    /// Reads a big-endian 16-bit integer.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Reads a 16-bit length-prefixed binary field.
    pub fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.bytes(usize::from(len))
    }

    /// Reads a 16-bit length-prefixed UTF-8 string ([MQTT-1.5.3-1], [MQTT-1.5.3-2]).
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let raw = self.binary()?;
        let s = core::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8)?;
        if raw.contains(&0) {
            return Err(DecodeError::NulInString);
        }
        Ok(s)
    }

    /// Everything not yet read.
    pub fn rest(&mut self) -> &'a [u8] {
        // `pos` never passes the end.
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless everything was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

/// A cursor that writes MQTT fields into a buffer whose size the caller checked beforehand.
///
/// Writes past the end return [`EncodeError::BufferTooSmall`] instead of panicking, so a
/// mistake in a `buffer_len` computation shows up as an error, never as memory corruption.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Starts writing at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Writes raw bytes.
    pub fn bytes(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        let available = self.buf.len();
        let end = self.pos + data.len();
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall {
                needed: end,
                available,
            })?;
        dst.copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    /// Writes one byte.
    pub fn u8(&mut self, v: u8) -> Result<(), EncodeError> {
        self.bytes(&[v])
    }

    /// Writes a big-endian 16-bit integer.
    pub fn u16(&mut self, v: u16) -> Result<(), EncodeError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes a remaining-length varint.
    pub fn varint(&mut self, mut value: usize) -> Result<(), EncodeError> {
        if value > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLong(value));
        }
        loop {
            let mut byte = (value % 128) as u8;
            value /= 128;
            if value > 0 {
                byte |= 0x80;
            }
            self.u8(byte)?;
            if value == 0 {
                return Ok(());
            }
        }
    }

    /// Writes a 16-bit length-prefixed binary field.
    pub fn binary(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        let len = u16::try_from(data.len()).map_err(|_| EncodeError::FieldTooLong(data.len()))?;
        self.u16(len)?;
        self.bytes(data)
    }

    /// Writes a 16-bit length-prefixed string.
    pub fn str(&mut self, s: &str) -> Result<(), EncodeError> {
        check_str(s)?;
        self.binary(s.as_bytes())
    }

    // The packet encoders check the frame's size, and every field's, before writing a
    // byte; they write with the infallible methods below. A write that would not fit is
    // skipped (the position still advances, so a size mistake shows as a position past the
    // end of the buffer, never as a panic), which spares every field the error path.

    /// Writes raw bytes, or skips them if they do not fit.
    pub(crate) fn put(&mut self, data: &[u8]) {
        let end = self.pos + data.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(data);
        }
        self.pos = end;
    }

    /// Writes one byte, or skips it if it does not fit.
    pub(crate) fn put_u8(&mut self, v: u8) {
        if let Some(dst) = self.buf.get_mut(self.pos) {
            *dst = v;
        }
        self.pos += 1;
    }

    /// Writes a big-endian 16-bit integer, or skips it if it does not fit.
    pub(crate) fn put_u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }

    /// Writes a 16-bit length-prefixed field whose length the caller checked against
    /// [`MAX_FIELD_LENGTH`].
    pub(crate) fn put_binary(&mut self, data: &[u8]) {
        self.put_u16(data.len() as u16);
        self.put(data);
    }

    /// Writes the fixed header of a frame with a body of `body_len` bytes, after checking
    /// that the whole frame fits the buffer; the body is then written with the `put`
    /// methods.
    pub(crate) fn frame(
        buf: &'a mut [u8],
        first_byte: u8,
        body_len: usize,
    ) -> Result<Writer<'a>, EncodeError> {
        let needed = frame_len(body_len)?;
        if buf.len() < needed {
            return Err(EncodeError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        let mut w = Writer::new(buf);
        w.put_u8(first_byte);
        w.put_varint(body_len);
        Ok(w)
    }

    /// Writes a remaining-length varint the caller checked against
    /// [`MAX_REMAINING_LENGTH`].
    pub(crate) fn put_varint(&mut self, mut value: usize) {
        loop {
            let byte = (value % 128) as u8;
            value /= 128;
            if value == 0 {
                self.put_u8(byte);
                return;
            }
            self.put_u8(byte | 0x80);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: usize) -> ([u8; 4], usize) {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.varint(value).unwrap();
        let n = w.position();
        (buf, n)
    }

    #[test]
    fn varint_boundaries_from_the_spec_table() {
        // MQTT 3.1.1 table 2.4: the smallest and largest value of each encoded size.
        let cases: [(usize, &[u8]); 8] = [
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xff, 0xff, 0x7f]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
        ];
        for (value, bytes) in cases {
            let (buf, n) = encode(value);
            assert_eq!(&buf[..n], bytes, "encoding {value}");
            assert_eq!(varint_len(value), n);
            assert_eq!(decode_varint(bytes), Ok(Some((value, n))));
        }
    }

    #[test]
    fn varint_over_the_limit_is_refused_both_ways() {
        let mut buf = [0u8; 8];
        assert_eq!(
            Writer::new(&mut buf).varint(MAX_REMAINING_LENGTH + 1),
            Err(EncodeError::PacketTooLong(MAX_REMAINING_LENGTH + 1))
        );
        assert_eq!(
            decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(DecodeError::MalformedRemainingLength)
        );
    }

    #[test]
    fn non_minimal_varints_are_refused() {
        assert_eq!(
            decode_varint(&[0x80, 0x00]),
            Err(DecodeError::MalformedRemainingLength)
        );
        assert_eq!(
            decode_varint(&[0xff, 0x80, 0x00]),
            Err(DecodeError::MalformedRemainingLength)
        );
    }

    #[test]
    fn varint_cut_short_asks_for_more() {
        assert_eq!(decode_varint(&[]), Ok(None));
        assert_eq!(decode_varint(&[0x80]), Ok(None));
        assert_eq!(decode_varint(&[0xff, 0xff, 0xff]), Ok(None));
    }

    #[test]
    fn reader_refuses_to_read_past_the_end() {
        let mut r = Reader::new(&[0x00, 0x05, b'a', b'b']);
        assert_eq!(r.str(), Err(DecodeError::Truncated));
        let mut r = Reader::new(&[0x00, 0x02, b'a', 0x00]);
        assert_eq!(r.str(), Err(DecodeError::NulInString));
        let mut r = Reader::new(&[0x00, 0x01, 0xff]);
        assert_eq!(r.str(), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn writer_reports_overflow_instead_of_panicking() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(
            w.str("abcd"),
            Err(EncodeError::BufferTooSmall {
                needed: 6,
                available: 3
            })
        );
    }
}
