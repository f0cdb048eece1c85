//! The observer of every throughput run: a bare MQTT 3.1.1 subscriber on a blocking socket that only
//! counts PUBLISH packets, so that it costs as little CPU as possible and is the same for
//! every publisher measured.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What the subscriber saw.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// PUBLISH packets received.
    pub count: u64,
    /// When the last of the expected messages arrived (`None` if some never did).
    pub all_at: Option<Instant>,
}

/// A connected, subscribed counter.
pub struct Subscriber {
    stream: TcpStream,
}

/// Appends MQTT's variable-length "remaining length".
fn push_len(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return;
        }
    }
}

/// Appends a length-prefixed string.
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    push_len(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl Subscriber {
    /// Connects as `client_id` and subscribes to `topic` at QoS 0; returns once SUBACK came.
    pub fn connect(port: u16, client_id: &str, topic: &str) -> io::Result<Subscriber> {
        if client_id.len() > 1000 || topic.len() > 1000 {
            return Err(invalid("client id or topic too long"));
        }
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        // CONNECT: protocol "MQTT" level 4, clean session, keep-alive off.
        let mut body = Vec::new();
        push_str(&mut body, "MQTT");
        body.extend_from_slice(&[4, 0x02, 0, 0]);
        push_str(&mut body, client_id);
        stream.write_all(&packet(0x10, &body))?;
        let mut connack = [0u8; 4];
        stream.read_exact(&mut connack)?;
        if connack != [0x20, 2, 0, 0] {
            return Err(invalid("the broker refused the subscriber's connection"));
        }
        // SUBSCRIBE, packet id 1, one filter at QoS 0.
        let mut body = vec![0, 1];
        push_str(&mut body, topic);
        body.push(0);
        stream.write_all(&packet(0x82, &body))?;
        let mut suback = [0u8; 5];
        stream.read_exact(&mut suback)?;
        if suback != [0x90, 3, 0, 1, 0] {
            return Err(invalid("the broker refused the subscription"));
        }
        Ok(Subscriber { stream })
    }

    /// Counts PUBLISH packets until `expected` have arrived, or until nothing arrived for
    /// `idle` (then the count says how many were lost).
    pub fn count(mut self, expected: u64, idle: Duration) -> io::Result<Received> {
        self.stream.set_read_timeout(Some(idle))?;
        let mut buf = vec![0u8; 256 * 1024];
        let (mut start, mut end) = (0usize, 0usize);
        let mut count = 0u64;
        loop {
            // Every complete packet in buf[start..end].
            while let Some((header, body)) = frame(&buf[start..end])? {
                if buf[start] >> 4 == 3 {
                    count += 1;
                    if count == expected {
                        return Ok(Received {
                            count,
                            all_at: Some(Instant::now()),
                        });
                    }
                }
                start += header + body;
            }
            if start == end {
                (start, end) = (0, 0);
            } else if end == buf.len() {
                if start == 0 {
                    return Err(invalid("a packet larger than the subscriber's buffer"));
                }
                buf.copy_within(start..end, 0);
                (start, end) = (0, end - start);
            }
            match self.stream.read(&mut buf[end..]) {
                Ok(0) => return Err(invalid("the broker closed the subscriber's connection")),
                Ok(n) => end += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(Received {
                        count,
                        all_at: None,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Header and body length of the packet at the start of `bytes`, once it is complete.
pub(crate) fn frame(bytes: &[u8]) -> io::Result<Option<(usize, usize)>> {
    let mut len = 0usize;
    for i in 0..4 {
        let Some(&b) = bytes.get(1 + i) else {
            return Ok(None);
        };
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let header = 2 + i;
            return Ok((bytes.len() >= header + len).then_some((header, len)));
        }
    }
    Err(invalid("malformed remaining length"))
}
