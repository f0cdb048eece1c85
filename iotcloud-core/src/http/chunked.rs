//! Decoding of `Transfer-Encoding: chunked` bodies (RFC 9112 §7.1), free of I/O.

/// Why a chunked body is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// A chunk size is not hexadecimal or does not fit 64 bits.
    BadSize,
    /// A line does not end with CRLF where the format requires one.
    BadLineEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size; `digits` counts digits seen.
    Size {
        size: u64,
        digits: u8,
    },
    /// Skipping a chunk extension up to CR.
    Extension {
        size: u64,
    },
    /// Expecting the LF after a size line.
    SizeLf {
        size: u64,
    },
    /// Copying chunk data.
    Data {
        left: u64,
    },
    /// Expecting CR then LF after chunk data.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer field line, skipping to LF.
    TrailerLine,
    /// Expecting the LF of the final empty line.
    EndLf,
    Done,
}

/// Turns a chunked byte stream into body bytes, one input slice at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub const fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
        }
    }

    /// Whether the final chunk and trailer have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input` into `output`; returns `(consumed, produced)`. Stops when the
    /// output is full, the input is used up, or the body ended.
    pub fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), ChunkError> {
        let (mut i, mut o) = (0, 0);
        while i < input.len() {
            let b = input[i];
            self.state = match self.state {
                State::Size { size, digits } => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let d = u64::from(char::from(b).to_digit(16).unwrap_or(0));
                        if digits >= 16 {
                            return Err(ChunkError::BadSize);
                        }
                        State::Size {
                            size: size << 4 | d,
                            digits: digits + 1,
                        }
                    }
                    b';' | b' ' | b'\t' if digits > 0 => State::Extension { size },
                    b'\r' if digits > 0 => State::SizeLf { size },
                    b'\n' if digits > 0 => return Err(ChunkError::BadLineEnd),
                    _ => return Err(ChunkError::BadSize),
                },
                State::Extension { size } => match b {
                    b'\r' => State::SizeLf { size },
                    b'\n' => return Err(ChunkError::BadLineEnd),
                    _ => State::Extension { size },
                },
                State::SizeLf { size } => match (b, size) {
                    (b'\n', 0) => State::TrailerStart,
                    (b'\n', left) => State::Data { left },
                    _ => return Err(ChunkError::BadLineEnd),
                },
                State::Data { left } => {
                    let room = output.len() - o;
                    if room == 0 {
                        break;
                    }
                    let avail = input.len() - i;
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(room)
                        .min(avail);
                    output[o..o + n].copy_from_slice(&input[i..i + n]);
                    o += n;
                    i += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { left }
                    };
                    continue;
                }
                State::DataCr => match b {
                    b'\r' => State::DataLf,
                    _ => return Err(ChunkError::BadLineEnd),
                },
                State::DataLf => match b {
                    b'\n' => State::Size { size: 0, digits: 0 },
                    _ => return Err(ChunkError::BadLineEnd),
                },
                State::TrailerStart => match b {
                    b'\r' => State::EndLf,
                    b'\n' => return Err(ChunkError::BadLineEnd),
                    _ => State::TrailerLine,
                },
                State::TrailerLine => match b {
                    b'\n' => State::TrailerStart,
                    _ => State::TrailerLine,
                },
                State::EndLf => match b {
                    b'\n' => State::Done,
                    _ => return Err(ChunkError::BadLineEnd),
                },
                State::Done => break,
            };
            i += 1;
        }
        Ok((i, o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn decode_all(
        input: &[u8],
        step: usize,
        out_step: usize,
    ) -> Result<(Vec<u8>, bool), ChunkError> {
        let mut d = ChunkedDecoder::new();
        let mut body = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for piece in input.chunks(step.max(1)) {
            pending.extend_from_slice(piece);
            loop {
                let mut out = std::vec![0u8; out_step];
                let (used, made) = d.decode(&pending, &mut out)?;
                body.extend_from_slice(&out[..made]);
                pending.drain(..used);
                if used == 0 && made == 0 {
                    break;
                }
            }
        }
        Ok((body, d.is_done()))
    }

    const WIRE: &[u8] =
        b"4\r\nWiki\r\n7;name=v\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";

    #[test]
    fn the_rfc_example_decodes_in_any_split() {
        for step in [1, 2, 3, 7, 100] {
            for out_step in [1, 4, 64] {
                let (body, done) = decode_all(WIRE, step, out_step).unwrap();
                assert_eq!(body, b"Wikipedia in \r\nchunks.");
                assert!(done, "step {step}/{out_step}");
            }
        }
    }

    #[test]
    fn decoding_stops_at_the_end_and_leaves_what_follows() {
        let mut wire = b"3\r\nabc\r\n0\r\n\r\n".to_vec();
        wire.extend_from_slice(b"NEXT");
        let mut d = ChunkedDecoder::new();
        let mut out = [0u8; 16];
        let (used, made) = d.decode(&wire, &mut out).unwrap();
        assert_eq!((&out[..made], &wire[used..]), (&b"abc"[..], &b"NEXT"[..]));
        assert!(d.is_done());
    }

    #[test]
    fn malformed_sizes_and_line_ends_are_errors() {
        assert_eq!(decode_all(b"zz\r\n", 100, 8), Err(ChunkError::BadSize));
        assert_eq!(decode_all(b"\r\n", 100, 8), Err(ChunkError::BadSize));
        assert_eq!(
            decode_all(b"11111111111111111\r\n", 100, 8),
            Err(ChunkError::BadSize)
        );
        assert_eq!(
            decode_all(b"3\r\nabcX", 100, 8),
            Err(ChunkError::BadLineEnd)
        );
        assert_eq!(decode_all(b"3\nabc", 100, 8), Err(ChunkError::BadLineEnd));
    }
}
