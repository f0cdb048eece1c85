//! Deliberate misbehaviour, so device-side code can be tested against broken answers.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use crate::http::{Recorded, Response, reason};
use crate::sign::tencent_encrypt_payload;

/// A broken answer played instead of the normal one; queue it with
/// [`Emulator::fail_next`](crate::Emulator::fail_next).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Write these bytes verbatim, then close.
    Raw(Vec<u8>),
    /// Close the connection without writing a byte.
    Close,
    /// Read the request, wait this long without answering, then close.
    Stall(Duration),
    /// Answer `200` with a JSON body, one byte at a time, this long apart.
    Trickle(Duration),
    /// A well-framed answer with any status, content type and body.
    Body {
        /// HTTP status.
        status: u16,
        /// `Content-Type` value.
        content_type: String,
        /// The body.
        body: Vec<u8>,
    },
    /// A head announcing `declared_len` body bytes, only `body` of them, then close.
    Truncated {
        /// The `Content-Length` announced.
        declared_len: usize,
        /// The bytes actually sent.
        body: Vec<u8>,
    },
    /// A 200 JSON answer whose body is `len` bytes long (a JSON object padded with `x`).
    Huge {
        /// Body length in bytes.
        len: usize,
    },
    /// A Tencent success answer, in the format of the endpoint hit (`/register/dev` or
    /// `/device/register`), carrying this `payload` and `len` instead of real ones.
    TencentPayload {
        /// The `Payload` / `payload` text.
        payload: String,
        /// The `Len` / `len` number.
        len: usize,
    },
}

impl Fault {
    /// A 200 answer with an HTML body, as a captive portal or proxy would give.
    pub fn non_json() -> Self {
        Self::Body {
            status: 200,
            content_type: "text/html".into(),
            body: b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        }
    }

    /// A JSON body cut short: `Content-Length` 100, 20 bytes sent, then close.
    pub fn truncated() -> Self {
        Self::Truncated {
            declared_len: 100,
            body: br#"{"code":0,"data":{"d"#.to_vec(),
        }
    }

    /// A Tencent payload whose ciphertext is 12 bytes, not a multiple of the AES block.
    pub fn tencent_payload_partial_block() -> Self {
        Self::TencentPayload {
            payload: "AAAAAAAAAAAAAAAA".into(),
            len: 12,
        }
    }

    /// A Tencent payload encrypted under another key: it decrypts, to garbage.
    pub fn tencent_payload_wrong_key() -> Self {
        let plain = br#"{"encryptionType":2,"psk":"AAAAAAAAAAAAAAAAAAAAAA=="}"#;
        Self::TencentPayload {
            payload: tencent_encrypt_payload("not-the-product-secret", plain),
            len: plain.len(),
        }
    }

    /// A Tencent payload that is not base64.
    pub fn tencent_payload_not_base64() -> Self {
        Self::TencentPayload {
            payload: "%%% not base64 %%%".into(),
            len: 4,
        }
    }

    /// Plays the fault on `stream` in answer to `req`.
    pub(crate) fn play(&self, req: &Recorded, stream: &mut TcpStream) {
        // The peer may already be gone; a failed write is part of the game.
        let _ = match self {
            Self::Raw(bytes) => stream.write_all(bytes),
            Self::Close => Ok(()),
            Self::Stall(pause) => {
                std::thread::sleep(*pause);
                Ok(())
            }
            Self::Trickle(gap) => {
                let body = padded_json(256);
                let head = format!(
                    "HTTP/1.1 200 {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    reason(200),
                    body.len()
                );
                let mut answer = head.into_bytes();
                answer.extend_from_slice(&body);
                answer.iter().try_for_each(|b| {
                    std::thread::sleep(*gap);
                    stream.write_all(std::slice::from_ref(b))
                })
            }
            Self::Body {
                status,
                content_type,
                body,
            } => Response {
                status: *status,
                headers: vec![("Content-Type".into(), content_type.clone())],
                body: body.clone(),
            }
            .write_to(stream),
            Self::Truncated { declared_len, body } => {
                let head = format!(
                    "HTTP/1.1 200 {}\r\nContent-Type: application/json\r\nContent-Length: {declared_len}\r\nConnection: close\r\n\r\n",
                    reason(200)
                );
                stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(body))
            }
            Self::Huge { len } => Response {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: padded_json(*len),
            }
            .write_to(stream),
            Self::TencentPayload { payload, len } => {
                let value = if req.path_only() == "/register/dev" {
                    serde_json::json!({"code": 0, "message": "", "len": len, "payload": payload})
                } else {
                    serde_json::json!({"Response": {
                        "Len": len, "Payload": payload, "RequestId": "e0e0e0e0-fault"
                    }})
                };
                Response::json(200, &value).write_to(stream)
            }
        };
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// `{"pad":"xxx…"}` of exactly `len` bytes (just `x`s when `len` is too small for the frame).
fn padded_json(len: usize) -> Vec<u8> {
    const FRAME: &[u8] = br#"{"pad":""}"#;
    if len < FRAME.len() {
        return vec![b'x'; len];
    }
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(&FRAME[..8]);
    body.resize(len - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_json_has_the_exact_length_and_parses() {
        for len in [0, 5, 10, 11, 4096] {
            let body = padded_json(len);
            assert_eq!(body.len(), len);
            if len >= 10 {
                serde_json::from_slice::<serde_json::Value>(&body).unwrap();
            }
        }
    }
}
