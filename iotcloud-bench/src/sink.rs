//! Row 1b's far end: an MQTT endpoint that accepts one client, acknowledges what it must
//! (CONNACK, PUBACK, PINGRESP) and counts PUBLISH packets, forwarding nothing. Against it a
//! client runs as fast as it can itself, where against mosquitto (single-threaded, near a
//! full core in row 1) both Rust clients wait on the broker.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::error::{Context, Result, fail};
use crate::subscriber::frame;

/// What the sink saw of one client.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// PUBLISH packets received.
    pub count: u64,
    /// When the `expected`-th arrived.
    pub all_at: Option<Instant>,
}

/// A sink listening on a loopback port for one client.
pub struct Sink {
    /// Its port.
    pub port: u16,
    thread: JoinHandle<Result<Seen>>,
}

impl Sink {
    /// Listens on a free loopback port; the client must connect within 10 s.
    pub fn start(expected: u64) -> Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").ctx("binding the sink")?;
        let port = listener.local_addr().ctx("the sink's address")?.port();
        let thread = thread::spawn(move || serve(&listener, expected));
        Ok(Sink { port, thread })
    }

    /// Waits until the client has disconnected (or closed) and says what was seen.
    pub fn finish(self) -> Result<Seen> {
        match self.thread.join() {
            Ok(seen) => seen,
            Err(_) => fail("the sink's thread panicked"),
        }
    }
}

fn serve(listener: &TcpListener, expected: u64) -> Result<Seen> {
    listener
        .set_nonblocking(true)
        .ctx("making the sink's listener non-blocking")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return fail("no client came to the sink within 10 s");
                }
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return fail(format!("accepting at the sink: {e}")),
        }
    };
    stream
        .set_nonblocking(false)
        .ctx("making the sink's socket blocking")?;
    stream.set_nodelay(true).ctx("TCP_NODELAY at the sink")?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ctx("the sink's read timeout")?;
    pump(stream, expected)
}

/// Reads packets until DISCONNECT or the end of the stream, answering each read's worth of
/// acknowledgements with one write.
fn pump(mut stream: TcpStream, expected: u64) -> Result<Seen> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut filled = 0;
    let mut answers = Vec::with_capacity(64 * 1024);
    let mut seen = Seen {
        count: 0,
        all_at: None,
    };
    loop {
        if filled == buf.len() {
            return fail("a packet larger than the sink's buffer");
        }
        let n = stream
            .read(&mut buf[filled..])
            .ctx("reading at the sink (10 s without data)")?;
        if n == 0 {
            return Ok(seen);
        }
        filled += n;
        let mut at = 0;
        let mut disconnected = false;
        while let Some((header, body)) =
            frame(&buf[at..filled]).ctx("a malformed length at the sink")?
        {
            let packet = &buf[at + header..at + header + body];
            match buf[at] >> 4 {
                1 => answers.extend_from_slice(&[0x20, 0x02, 0x00, 0x00]),
                3 => {
                    seen.count += 1;
                    if seen.count == expected {
                        seen.all_at = Some(Instant::now());
                    }
                    if (buf[at] >> 1) & 0x03 == 1 {
                        let topic_len = packet
                            .get(..2)
                            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                            .ctx("a PUBLISH without its topic")?;
                        let id = packet
                            .get(2 + topic_len..4 + topic_len)
                            .ctx("a QoS 1 PUBLISH without its packet id")?;
                        answers.extend_from_slice(&[0x40, 0x02, id[0], id[1]]);
                    }
                }
                12 => answers.extend_from_slice(&[0xD0, 0x00]),
                14 => disconnected = true,
                _ => {}
            }
            at += header + body;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if !answers.is_empty() {
            stream.write_all(&answers).ctx("answering at the sink")?;
            answers.clear();
        }
        if disconnected {
            return Ok(seen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_whole_or_not_at_all() {
        assert_eq!(frame(&[0xE0, 0x00]).unwrap(), Some((2, 0)));
        assert_eq!(frame(&[0x30, 0x03, 1, 2]).unwrap(), None);
        assert_eq!(frame(&[0x30, 0x03, 1, 2, 3, 9]).unwrap(), Some((2, 3)));
        // 200 = 0xC8 0x01.
        let mut long = vec![0x30, 0xC8, 0x01];
        long.resize(3 + 199, 0);
        assert_eq!(frame(&long).unwrap(), None);
        long.push(0);
        assert_eq!(frame(&long).unwrap(), Some((3, 200)));
    }

    #[test]
    fn the_sink_acknowledges_and_counts() {
        let sink = Sink::start(2).unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", sink.port)).unwrap();
        // CONNECT (body contents are not read), a QoS 0 and a QoS 1 PUBLISH, DISCONNECT.
        s.write_all(&[0x10, 0x02, 0, 0]).unwrap();
        s.write_all(&[0x30, 0x04, 0, 1, b't', b'x']).unwrap();
        s.write_all(&[0x32, 0x06, 0, 1, b't', 0x12, 0x34, b'x'])
            .unwrap();
        s.write_all(&[0xE0, 0x00]).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, [0x20, 0x02, 0, 0, 0x40, 0x02, 0x12, 0x34]);
        let seen = sink.finish().unwrap();
        assert_eq!(seen.count, 2);
        assert!(seen.all_at.is_some());
    }
}
