//! Just enough HTTP/1.1 for a loopback test server: one request per connection,
//! bodies framed by `Content-Length`, answers with `Connection: close`.

use std::io::{self, Read, Write};

/// Largest request head (request line plus headers) the emulator reads.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body the emulator accepts.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
const MAX_HEADERS: usize = 64;

/// One request the emulator received, as the device sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The request target as sent, including any query string.
    pub path: String,
    /// Header names and values in the order they arrived (names as sent).
    pub headers: Vec<(String, String)>,
    /// The body, exactly `Content-Length` bytes.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy for non-UTF-8 bytes).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path
            .split_once('?')
            .map_or(self.path.as_str(), |(p, _)| p)
    }
}

/// Why no request could be read from a connection.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed (or timed out) before sending anything useful; nothing to answer.
    Gone,
    /// The request is malformed; answer with this status and reason.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        Self::Gone
    }
}

/// Reads one request: the head through httparse, then `Content-Length` body bytes.
pub(crate) fn read_request(stream: &mut impl Read) -> Result<Recorded, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                ReadError::Gone
            } else {
                ReadError::Bad(400, "connection closed inside the request head")
            });
        }
        buf.extend_from_slice(&chunk[..n]);

        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let recorded = head(&req)?;
                let body_len = content_length(&recorded)?;
                let mut body = buf[head_len..].to_vec();
                if body.len() < body_len {
                    let missing = body_len - body.len();
                    let mut rest = vec![0u8; missing];
                    stream
                        .read_exact(&mut rest)
                        .map_err(|_| ReadError::Bad(400, "body shorter than Content-Length"))?;
                    body.extend_from_slice(&rest);
                }
                // Bytes past Content-Length would be a second request; one per connection.
                body.truncate(body_len);
                return Ok(Recorded { body, ..recorded });
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(ReadError::Bad(431, "request head too large"));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ReadError::Bad(431, "too many headers"));
            }
            Err(_) => return Err(ReadError::Bad(400, "malformed request head")),
        }
    }
}

fn head(req: &httparse::Request<'_, '_>) -> Result<Recorded, ReadError> {
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return Err(ReadError::Bad(400, "incomplete request line"));
    };
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| ReadError::Bad(400, "header value is not UTF-8"))?;
        headers.push((h.name.to_owned(), value.to_owned()));
    }
    Ok(Recorded {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body: Vec::new(),
    })
}

fn content_length(req: &Recorded) -> Result<usize, ReadError> {
    if req.header("transfer-encoding").is_some() {
        return Err(ReadError::Bad(
            411,
            "only Content-Length bodies are supported",
        ));
    }
    let mut lengths = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim());
    let Some(first) = lengths.next() else {
        return Ok(0);
    };
    if lengths.any(|other| other != first) {
        return Err(ReadError::Bad(400, "conflicting Content-Length headers"));
    }
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReadError::Bad(400, "invalid Content-Length"));
    }
    match first.parse::<usize>() {
        Ok(n) if n <= MAX_BODY => Ok(n),
        _ => Err(ReadError::Bad(413, "request body too large")),
    }
}

/// An answer: status, extra headers, body. `Content-Length` and `Connection` are added on write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON answer.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            )],
            body: value.to_string().into_bytes(),
        }
    }

    /// A plain-text answer, for errors outside any cloud's format.
    pub fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "text/plain;charset=UTF-8".into())],
            body: text.as_bytes().to_vec(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The full wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// Writes the wire form to `w`.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.to_bytes())?;
        w.flush()
    }
}

/// The reason phrase for the statuses the emulator uses.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Recorded, ReadError> {
        read_request(&mut &bytes[..])
    }

    #[test]
    fn reads_head_and_content_length_body() {
        let req =
            read(b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcEXTRA").unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/a?b=1");
        assert_eq!(req.path_only(), "/a");
        assert_eq!(req.header("HOST"), Some("x"));
        assert_eq!(req.body, b"abc");
    }

    #[test]
    fn a_request_without_content_length_has_an_empty_body() {
        let req = read(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert!(req.body.is_empty());
    }

    #[test]
    fn malformed_requests_are_answered_not_panicked_on() {
        let cases: &[(&[u8], u16)] = &[
            (b"\x00\x01garbage\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                413,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                411,
            ),
            (b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 400),
            (b"POST / HTTP/1.1\r\nHost", 400),
        ];
        for (bytes, status) in cases {
            match read(bytes) {
                Err(ReadError::Bad(s, _)) => {
                    assert_eq!(s, *status, "{:?}", String::from_utf8_lossy(bytes))
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
            }
        }
        assert!(matches!(read(b""), Err(ReadError::Gone)));
    }

    #[test]
    fn too_many_headers_is_431() {
        let mut req = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            req.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        assert!(matches!(read(&req), Err(ReadError::Bad(431, _))));
    }

    #[test]
    fn responses_carry_length_and_close() {
        let bytes = Response::text(404, "no").with_header("X-A", "b").to_bytes();
        assert_eq!(
            bytes,
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain;charset=UTF-8\r\nX-A: b\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
        );
    }
}
