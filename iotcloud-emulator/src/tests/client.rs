//! A blocking one-request HTTP client for the unit tests.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use crate::Emulator;

/// A parsed answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The `Host` header value the client sends.
pub(crate) fn host(emu: &Emulator) -> String {
    emu.addr().to_string()
}

/// Writes `bytes` and reads until the server closes.
pub(crate) fn raw(emu: &Emulator, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(emu.addr()).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    tcp.write_all(bytes).unwrap();
    // Half-close, so a request cut short is seen as such instead of waiting for a timeout.
    tcp.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out);
    out
}

/// Sends a request and parses the answer, checking its framing.
pub(crate) fn request(
    emu: &Emulator,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", host(emu));
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    parse(&raw(emu, &bytes))
}

/// `POST` with a body.
pub(crate) fn post(emu: &Emulator, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    request(emu, "POST", path, headers, body)
}

/// Parses a complete answer and checks `Content-Length` and `Connection: close`.
pub(crate) fn parse(bytes: &[u8]) -> Answer {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = resp.parse(bytes).unwrap() else {
        panic!("incomplete answer: {:?}", String::from_utf8_lossy(bytes));
    };
    let answer = Answer {
        status: resp.code.unwrap(),
        headers: resp
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: bytes[head_len..].to_vec(),
    };
    let length: usize = answer.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(length, answer.body.len(), "Content-Length matches the body");
    assert_eq!(answer.header("Connection"), Some("close"));
    answer
}
