//! A bump allocator for text over a caller's byte slice: providers write credentials and
//! topics into it without allocating, and get `&str`s that live as long as the slice.

use core::fmt::{self, Write};

/// The scratch space ran out: the buffer it was built on is too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[error("scratch buffer too small ({available} bytes left)")]
pub struct ScratchFull {
    /// Bytes that were left when the write failed.
    pub available: usize,
}

/// Hands out pieces of a byte slice, front to back.
pub struct Scratch<'s> {
    buf: &'s mut [u8],
}

impl<'s> Scratch<'s> {
    /// Scratch space over `buf`.
    pub fn new(buf: &'s mut [u8]) -> Self {
        Scratch { buf }
    }

    /// Bytes still free.
    pub fn available(&self) -> usize {
        self.buf.len()
    }

    /// Builds a string with `f` and keeps it. On failure nothing is used up.
    pub fn text(
        &mut self,
        f: impl FnOnce(&mut TextWriter<'_>) -> fmt::Result,
    ) -> Result<&'s str, ScratchFull> {
        let buf = core::mem::take(&mut self.buf);
        let available = buf.len();
        let mut w = TextWriter { buf, len: 0 };
        let result = f(&mut w);
        let (buf, len) = (w.buf, w.len);
        if result.is_err() {
            self.buf = buf;
            return Err(ScratchFull { available });
        }
        let (used, rest) = buf.split_at_mut(len);
        self.buf = rest;
        // Only `&str`s were written, so this cannot fail.
        core::str::from_utf8(used).map_err(|_| ScratchFull { available })
    }

    /// Keeps a copy of `s`.
    pub fn copy(&mut self, s: &str) -> Result<&'s str, ScratchFull> {
        self.text(|w| w.write_str(s))
    }

    /// Keeps `pieces`, joined. Cheaper than [`Scratch::format`] where nothing needs
    /// formatting.
    pub fn concat(&mut self, pieces: &[&str]) -> Result<&'s str, ScratchFull> {
        self.text(|w| w.write_all(pieces))
    }

    /// Formats `args` and keeps the result.
    pub fn format(&mut self, args: fmt::Arguments<'_>) -> Result<&'s str, ScratchFull> {
        self.text(|w| w.write_fmt(args))
    }

    /// Keeps a copy of raw bytes (for binary fields such as a key decoded from base64).
    pub fn bytes(
        &mut self,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, ScratchFull>,
    ) -> Result<&'s [u8], ScratchFull> {
        let buf = core::mem::take(&mut self.buf);
        let available = buf.len();
        if len > available {
            self.buf = buf;
            return Err(ScratchFull { available });
        }
        match fill(&mut buf[..len]) {
            Ok(n) if n <= len => {
                let (used, rest) = buf.split_at_mut(n);
                self.buf = rest;
                Ok(used)
            }
            _ => {
                self.buf = buf;
                Err(ScratchFull { available })
            }
        }
    }
}

/// A [`fmt::Write`] into the front of a [`Scratch`]'s free space.
pub struct TextWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> TextWriter<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        TextWriter { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `pieces` one after another.
    pub fn write_all(&mut self, pieces: &[&str]) -> fmt::Result {
        pieces.iter().try_for_each(|p| self.write_str(p))
    }

    /// Writes `bytes` in hexadecimal, two digits each, upper-case if `upper`.
    pub fn write_hex(&mut self, bytes: &[u8], upper: bool) -> fmt::Result {
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let end = bytes
            .len()
            .checked_mul(2)
            .and_then(|n| n.checked_add(self.len))
            .ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        for (pair, b) in dst.chunks_exact_mut(2).zip(bytes) {
            pair[0] = digits[usize::from(b >> 4)];
            pair[1] = digits[usize::from(b & 0x0f)];
        }
        // Only ASCII digits were written: the text stays UTF-8.
        self.len = end;
        Ok(())
    }

    /// What has been written so far.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_handed_out_back_to_back_and_failures_use_nothing() {
        let mut buf = [0u8; 16];
        let mut s = Scratch::new(&mut buf);
        let a = s.format(format_args!("{}-{}", "ab", 12)).unwrap();
        assert_eq!(
            s.text(|w| w.write_str("0123456789abcdef")),
            Err(ScratchFull { available: 11 })
        );
        let b = s.copy("xyz").unwrap();
        assert_eq!((a, b), ("ab-12", "xyz"));
        assert_eq!(s.available(), 8);
    }

    #[test]
    fn concat_and_hex_write_whole_or_nothing() {
        let mut buf = [0u8; 12];
        let mut s = Scratch::new(&mut buf);
        let a = s.concat(&["a/", "", "bc"]).unwrap();
        let h = s
            .text(|w| {
                w.write_hex(&[0x0f, 0xa0], true)?;
                w.write_hex(&[0xbe], false)
            })
            .unwrap();
        assert_eq!(
            s.text(|w| w.write_hex(&[1, 2, 3], false)),
            Err(ScratchFull { available: 2 })
        );
        assert_eq!(s.concat(&["xyz"]), Err(ScratchFull { available: 2 }));
        assert_eq!((a, h), ("a/bc", "0FA0be"));
        assert_eq!(s.concat(&["", "9"]), Ok("9"));
    }
}
