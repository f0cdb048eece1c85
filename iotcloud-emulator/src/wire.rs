//! The broker's own MQTT 3.1.1 framing: reads the packets a device sends and writes the
//! ones a broker answers with. Written from the MQTT 3.1.1 specification, independently of
//! the SDK's codec, so that a codec bug on one side is not mirrored on the other.

use std::io::{self, Read, Write};

/// Largest packet the broker accepts (remaining length), 1 MiB: Huawei's documented
/// message limit, and more than the other clouds allow.
pub(crate) const MAX_PACKET: usize = 1024 * 1024;

/// The CONNECT fields the broker needs.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Connect {
    /// Protocol name as sent (`MQTT` for 3.1.1).
    pub protocol: String,
    /// Protocol level (4 for 3.1.1).
    pub level: u8,
    pub clean_session: bool,
    pub keep_alive: u16,
    pub client_id: String,
    /// Whether a will message was given.
    pub will: bool,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

/// A packet from a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inbound {
    Connect(Connect),
    Publish {
        topic: String,
        qos: u8,
        retain: bool,
        packet_id: Option<u16>,
        payload: Vec<u8>,
    },
    Puback(u16),
    Subscribe {
        packet_id: u16,
        filters: Vec<(String, u8)>,
    },
    Unsubscribe {
        packet_id: u16,
        filters: Vec<String>,
    },
    Pingreq,
    Disconnect,
}

/// Why no packet could be read.
#[derive(Debug)]
pub(crate) enum WireError {
    /// The connection closed, failed or timed out.
    Io(io::Error),
    /// The bytes break MQTT 3.1.1 (the broker closes the connection, [MQTT-4.8.0-1]).
    Malformed(&'static str),
}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        WireError::Io(e)
    }
}

/// Reads one packet.
pub(crate) fn read_packet(r: &mut impl Read) -> Result<Inbound, WireError> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first)?;
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        len |= usize::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 21 {
            return Err(WireError::Malformed("remaining length over four bytes"));
        }
    }
    if len > MAX_PACKET {
        return Err(WireError::Malformed("packet over the broker's size limit"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    parse(first[0], &body)
}

/// A cursor over a packet body.
struct Body<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Body<'a> {
    fn u8(&mut self) -> Result<u8, WireError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or(WireError::Malformed("packet ends early"))?;
        self.at += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }

    fn binary(&mut self) -> Result<&'a [u8], WireError> {
        let len = usize::from(self.u16()?);
        let end = self.at + len;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or(WireError::Malformed("field longer than the packet"))?;
        self.at = end;
        Ok(out)
    }

    fn string(&mut self) -> Result<String, WireError> {
        let raw = self.binary()?;
        // [MQTT-1.5.3-1], [MQTT-1.5.3-2]: UTF-8 without U+0000.
        let s = std::str::from_utf8(raw).map_err(|_| WireError::Malformed("string not UTF-8"))?;
        if s.contains('\0') {
            return Err(WireError::Malformed("string holds U+0000"));
        }
        Ok(s.to_owned())
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at.min(self.bytes.len())..]
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

fn parse(first: u8, bytes: &[u8]) -> Result<Inbound, WireError> {
    let kind = first >> 4;
    let flags = first & 0x0f;
    let mut b = Body { bytes, at: 0 };
    let fixed_flags = |want: u8| {
        if flags == want {
            Ok(())
        } else {
            Err(WireError::Malformed("reserved header flags"))
        }
    };
    match kind {
        1 => {
            fixed_flags(0)?;
            parse_connect(&mut b).map(Inbound::Connect)
        }
        3 => {
            let qos = (flags >> 1) & 3;
            if qos == 3 {
                return Err(WireError::Malformed("PUBLISH with QoS 3"));
            }
            let topic = b.string()?;
            let packet_id = if qos > 0 { Some(b.u16()?) } else { None };
            if packet_id == Some(0) {
                return Err(WireError::Malformed("packet identifier 0"));
            }
            Ok(Inbound::Publish {
                topic,
                qos,
                retain: flags & 1 == 1,
                packet_id,
                payload: b.rest().to_vec(),
            })
        }
        4 => {
            fixed_flags(0)?;
            Ok(Inbound::Puback(b.u16()?))
        }
        8 => {
            fixed_flags(2)?;
            let packet_id = b.u16()?;
            let mut filters = Vec::new();
            while !b.done() {
                let filter = b.string()?;
                let qos = b.u8()?;
                if qos > 2 {
                    return Err(WireError::Malformed("SUBSCRIBE with QoS over 2"));
                }
                filters.push((filter, qos));
            }
            if filters.is_empty() {
                return Err(WireError::Malformed("SUBSCRIBE without filters"));
            }
            Ok(Inbound::Subscribe { packet_id, filters })
        }
        10 => {
            fixed_flags(2)?;
            let packet_id = b.u16()?;
            let mut filters = Vec::new();
            while !b.done() {
                filters.push(b.string()?);
            }
            if filters.is_empty() {
                return Err(WireError::Malformed("UNSUBSCRIBE without filters"));
            }
            Ok(Inbound::Unsubscribe { packet_id, filters })
        }
        12 => {
            fixed_flags(0)?;
            Ok(Inbound::Pingreq)
        }
        14 => {
            fixed_flags(0)?;
            Ok(Inbound::Disconnect)
        }
        _ => Err(WireError::Malformed("a packet type a client does not send")),
    }
}

fn parse_connect(b: &mut Body<'_>) -> Result<Connect, WireError> {
    let protocol = b.string()?;
    let level = b.u8()?;
    let flags = b.u8()?;
    if flags & 1 != 0 {
        return Err(WireError::Malformed("CONNECT reserved flag set"));
    }
    let keep_alive = b.u16()?;
    let client_id = b.string()?;
    let will = flags & 0x04 != 0;
    if will {
        let _topic = b.string()?;
        let _message = b.binary()?;
    }
    let username = if flags & 0x80 != 0 {
        Some(b.string()?)
    } else {
        None
    };
    let password = if flags & 0x40 != 0 {
        Some(b.binary()?.to_vec())
    } else {
        None
    };
    Ok(Connect {
        protocol,
        level,
        clean_session: flags & 0x02 != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
    })
}

fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first);
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// CONNACK with `code` (0 accepted, 1–5 the refusals of MQTT 3.1.1 §3.2.2.3).
pub(crate) fn connack(session_present: bool, code: u8) -> Vec<u8> {
    frame(0x20, &[u8::from(session_present), code])
}

/// PUBLISH to a device.
pub(crate) fn publish(topic: &str, qos: u8, packet_id: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 4);
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&packet_id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    frame(0x30 | (qos << 1), &body)
}

/// PUBACK.
pub(crate) fn puback(packet_id: u16) -> Vec<u8> {
    frame(0x40, &packet_id.to_be_bytes())
}

/// SUBACK with one return code per filter (0x80: refused).
pub(crate) fn suback(packet_id: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    body.extend_from_slice(codes);
    frame(0x90, &body)
}

/// UNSUBACK.
pub(crate) fn unsuback(packet_id: u16) -> Vec<u8> {
    frame(0xb0, &packet_id.to_be_bytes())
}

/// PINGRESP.
pub(crate) fn pingresp() -> Vec<u8> {
    frame(0xd0, &[])
}

/// Writes `bytes` whole.
pub(crate) fn send(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(bytes)?;
    w.flush()
}

/// Whether `topic` matches `filter` ([MQTT-4.7]: `+` one level, `#` the rest; filters
/// starting with a wildcard do not match topics starting with `$`, [MQTT-4.7.2-1]).
pub(crate) fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether `filter` is a valid topic filter ([MQTT-4.7.1]).
pub(crate) fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, level)| match *level {
        "#" => i == levels.len() - 1,
        "+" => true,
        l => !l.contains('#') && !l.contains('+'),
    })
}

/// Whether `topic` is a valid topic name: not empty, no wildcards ([MQTT-3.3.2-2]).
pub(crate) fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains('#') && !topic.contains('+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_with_login_is_read() {
        // MQTT 3.1.1 CONNECT: clean session, user name and password, keep-alive 60.
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0xc2, 0, 60];
        for field in [&b"dev"[..], b"user", b"pw"] {
            body.extend_from_slice(&(field.len() as u16).to_be_bytes());
            body.extend_from_slice(field);
        }
        let bytes = frame(0x10, &body);
        let Inbound::Connect(c) = read_packet(&mut &bytes[..]).unwrap() else {
            panic!("not a CONNECT");
        };
        assert_eq!((c.level, c.keep_alive, c.clean_session), (4, 60, true));
        assert_eq!(c.client_id, "dev");
        assert_eq!(c.username.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some(&b"pw"[..]));
        assert!(!format!("{c:?}").contains("pw\""));
    }

    #[test]
    fn a_publish_round_trips_and_bad_frames_are_named() {
        let bytes = publish("a/b", 1, 7, b"hi");
        let p = read_packet(&mut &bytes[..]).unwrap();
        assert_eq!(
            p,
            Inbound::Publish {
                topic: "a/b".into(),
                qos: 1,
                retain: false,
                packet_id: Some(7),
                payload: b"hi".to_vec()
            }
        );
        // SUBSCRIBE with the reserved flags wrong, a five-byte length, a truncated string.
        for bad in [
            &[0x80, 3, 0, 1, 0][..],
            &[0x30, 0xff, 0xff, 0xff, 0xff, 0x01],
            &[0x82, 4, 0, 1, 0, 9],
        ] {
            assert!(matches!(
                read_packet(&mut &bad[..]),
                Err(WireError::Malformed(_) | WireError::Io(_))
            ));
        }
        assert!(matches!(
            read_packet(&mut &[0x30, 0xff, 0xff, 0xff, 0xff, 0x01][..]),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn lengths_over_127_use_more_bytes() {
        let payload = vec![7u8; 300];
        let bytes = publish("t", 0, 0, &payload);
        // 2 (topic length) + 1 (topic) + 300 = 303 = 0x2f + 2 × 128.
        assert_eq!(&bytes[1..3], &[0xaf, 0x02]);
        let Inbound::Publish { payload: p, .. } = read_packet(&mut &bytes[..]).unwrap() else {
            panic!()
        };
        assert_eq!(p, payload);
    }

    #[test]
    fn filters_match_like_the_specification_says() {
        assert!(matches("a/+/c", "a/b/c"));
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(!matches("a/+", "a/b/c"));
        assert!(!matches("#", "$sys/x"));
        assert!(matches("$sys/#", "$sys/x"));
        assert!(valid_filter("a/+/#"));
        assert!(!valid_filter("a/#/b"));
        assert!(!valid_filter("a/b#"));
        assert!(!valid_topic("a/+"));
    }
}
