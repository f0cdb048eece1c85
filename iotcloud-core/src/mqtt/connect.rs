//! CONNECT (§3.1).

use core::fmt;

use super::wire::{Reader, Writer, check_str, field_len};
use super::{DecodeError, EncodeError, PacketType, QoS, TopicName};

const PROTOCOL_NAME: &[u8] = b"\x00\x04MQTT";
const PROTOCOL_LEVEL: u8 = 4;

const FLAG_USERNAME: u8 = 0x80;
const FLAG_PASSWORD: u8 = 0x40;
const FLAG_WILL_RETAIN: u8 = 0x20;
const FLAG_WILL_QOS_SHIFT: u8 = 3;
const FLAG_WILL: u8 = 0x04;
const FLAG_CLEAN_SESSION: u8 = 0x02;
const FLAG_RESERVED: u8 = 0x01;

/// The will message the broker publishes if the client vanishes (§3.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a> {
    /// Where the will is published.
    pub topic: TopicName<'a>,
    /// What is published.
    pub payload: &'a [u8],
    /// QoS of the will publication.
    pub qos: QoS,
    /// Whether the will is retained.
    pub retain: bool,
}

/// A CONNECT packet. The password is never shown by `Debug`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Client identifier; may be longer than the 23 bytes the spec guarantees, as the
    /// clouds' signed identifiers are.
    pub client_id: &'a str,
    /// Keep-alive interval in seconds; 0 turns keep-alive off.
    pub keep_alive: u16,
    /// Start a new session instead of resuming one.
    pub clean_session: bool,
    /// Optional will message.
    pub will: Option<Will<'a>>,
    /// Optional user name.
    pub username: Option<&'a str>,
    /// Optional password; requires a user name ([MQTT-3.1.2-22]).
    pub password: Option<&'a [u8]>,
}

impl fmt::Debug for Connect<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connect")
            .field("client_id", &self.client_id)
            .field("keep_alive", &self.keep_alive)
            .field("clean_session", &self.clean_session)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &self.password.map(|_| "<redacted>"))
            .finish()
    }
}

impl<'a> Connect<'a> {
    /// Parses a CONNECT body.
    pub fn parse(body: &'a [u8]) -> Result<Connect<'a>, DecodeError> {
        let mut r = Reader::new(body);
        if r.bytes(PROTOCOL_NAME.len())? != PROTOCOL_NAME {
            return Err(DecodeError::InvalidProtocolName);
        }
        let level = r.u8()?;
        if level != PROTOCOL_LEVEL {
            return Err(DecodeError::UnsupportedProtocolLevel(level));
        }
        let flags = r.u8()?;
        let will_flag = flags & FLAG_WILL != 0;
        let will_qos_bits = (flags >> FLAG_WILL_QOS_SHIFT) & 0b11;
        let invalid = flags & FLAG_RESERVED != 0 // [MQTT-3.1.2-3]
            || will_qos_bits == 3
            || (!will_flag && (will_qos_bits != 0 || flags & FLAG_WILL_RETAIN != 0)) // [MQTT-3.1.2-13], [MQTT-3.1.2-15]
            || (flags & FLAG_USERNAME == 0 && flags & FLAG_PASSWORD != 0); // [MQTT-3.1.2-22]
        if invalid {
            return Err(DecodeError::InvalidConnectFlags(flags));
        }
        let keep_alive = r.u16()?;
        let client_id = r.str()?;
        let clean_session = flags & FLAG_CLEAN_SESSION != 0;
        if client_id.is_empty() && !clean_session {
            return Err(DecodeError::EmptyClientIdWithoutCleanSession);
        }
        let will = if will_flag {
            let topic = TopicName::new(r.str()?)?;
            let payload = r.binary()?;
            Some(Will {
                topic,
                payload,
                qos: QoS::from_bits(will_qos_bits)?,
                retain: flags & FLAG_WILL_RETAIN != 0,
            })
        } else {
            None
        };
        let username = if flags & FLAG_USERNAME != 0 {
            Some(r.str()?)
        } else {
            None
        };
        let password = if flags & FLAG_PASSWORD != 0 {
            Some(r.binary()?)
        } else {
            None
        };
        r.finish()?;
        Ok(Connect {
            client_id,
            keep_alive,
            clean_session,
            will,
            username,
            password,
        })
    }

    /// Size of the body (variable header and payload) once encoded.
    pub fn body_len(&self) -> Result<usize, EncodeError> {
        if self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::PasswordWithoutUsername);
        }
        if self.client_id.is_empty() && !self.clean_session {
            return Err(EncodeError::EmptyClientIdWithoutCleanSession);
        }
        let mut len = PROTOCOL_NAME.len() + 1 + 1 + 2 + field_len(self.client_id.len())?;
        if let Some(will) = &self.will {
            len += field_len(will.topic.as_str().len())? + field_len(will.payload.len())?;
        }
        if let Some(username) = self.username {
            len += field_len(username.len())?;
        }
        if let Some(password) = self.password {
            len += field_len(password.len())?;
        }
        Ok(len)
    }

    /// Writes the body; `w` must have room for [`Connect::body_len`] bytes.
    /// Encodes the CONNECT at the start of `buf`; see [`Packet::emit`](super::Packet::emit).
    pub(crate) fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let body_len = self.body_len()?;
        let mut w = Writer::frame(buf, PacketType::Connect.first_byte(), body_len)?;
        // `body_len` checked every field's length; the strings may still hold U+0000.
        check_str(self.client_id)?;
        if let Some(username) = self.username {
            check_str(username)?;
        }
        let mut flags = 0;
        if self.clean_session {
            flags |= FLAG_CLEAN_SESSION;
        }
        if let Some(will) = &self.will {
            flags |= FLAG_WILL | ((will.qos as u8) << FLAG_WILL_QOS_SHIFT);
            if will.retain {
                flags |= FLAG_WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= FLAG_USERNAME;
        }
        if self.password.is_some() {
            flags |= FLAG_PASSWORD;
        }
        w.put(PROTOCOL_NAME);
        w.put_u8(PROTOCOL_LEVEL);
        w.put_u8(flags);
        w.put_u16(self.keep_alive);
        w.put_binary(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            w.put_binary(will.topic.as_str().as_bytes());
            w.put_binary(will.payload);
        }
        if let Some(username) = self.username {
            w.put_binary(username.as_bytes());
        }
        if let Some(password) = self.password {
            w.put_binary(password);
        }
        Ok(w.position())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Packet;
    use super::*;

    #[test]
    fn minimal_connect_matches_the_spec_layout() {
        let c = Connect {
            client_id: "c",
            keep_alive: 60,
            clean_session: true,
            will: None,
            username: None,
            password: None,
        };
        let mut buf = [0u8; 32];
        let n = Packet::Connect(c).emit(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &[
                0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'c'
            ]
        );
    }

    #[test]
    fn full_connect_round_trips_and_hides_the_password() {
        let c = Connect {
            client_id: "dev",
            keep_alive: 240,
            clean_session: false,
            will: Some(Will {
                topic: TopicName::new("w/t").unwrap(),
                payload: b"gone",
                qos: QoS::AtLeastOnce,
                retain: true,
            }),
            username: Some("user"),
            password: Some(b"s3cret"),
        };
        let mut buf = [0u8; 64];
        let n = Packet::Connect(c).emit(&mut buf).unwrap();
        // flags: user, password, will retain, will QoS 1, will, no clean session
        assert_eq!(buf[9], 0b1110_1100);
        let (p, used) = Packet::decode(&buf[..n]).unwrap().unwrap();
        assert_eq!(used, n);
        assert_eq!(p, Packet::Connect(c));
        let shown = std::format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn client_ids_far_beyond_23_bytes_are_carried() {
        let id = std::string::String::from("x").repeat(300);
        let c = Connect {
            client_id: &id,
            keep_alive: 0,
            clean_session: true,
            will: None,
            username: None,
            password: None,
        };
        let mut buf = [0u8; 400];
        let n = Packet::Connect(c).emit(&mut buf).unwrap();
        assert_eq!(
            Packet::decode(&buf[..n]).unwrap().unwrap().0,
            Packet::Connect(c)
        );
    }

    #[test]
    fn bad_flags_and_levels_are_refused() {
        let base = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0];
        let with = |i: usize, v: u8| {
            let mut b = base;
            b[i] = v;
            Packet::decode(&b).map(|_| ())
        };
        assert_eq!(with(8, 3), Err(DecodeError::UnsupportedProtocolLevel(3)));
        assert_eq!(with(7, b'X'), Err(DecodeError::InvalidProtocolName));
        assert_eq!(with(9, 0x03), Err(DecodeError::InvalidConnectFlags(0x03)));
        assert_eq!(with(9, 0x42), Err(DecodeError::InvalidConnectFlags(0x42)));
        assert_eq!(with(9, 0x22), Err(DecodeError::InvalidConnectFlags(0x22)));
        assert_eq!(with(9, 0x1e), Err(DecodeError::InvalidConnectFlags(0x1e)));
        assert_eq!(
            with(9, 0x00),
            Err(DecodeError::EmptyClientIdWithoutCleanSession)
        );
    }

    #[test]
    fn encoding_refuses_what_decoding_would_refuse() {
        let mut c = Connect {
            client_id: "",
            keep_alive: 0,
            clean_session: false,
            will: None,
            username: None,
            password: None,
        };
        let mut buf = [0u8; 64];
        assert_eq!(
            Packet::Connect(c).emit(&mut buf),
            Err(EncodeError::EmptyClientIdWithoutCleanSession)
        );
        c.clean_session = true;
        c.password = Some(b"p");
        assert_eq!(
            Packet::Connect(c).emit(&mut buf),
            Err(EncodeError::PasswordWithoutUsername)
        );
        // U+0000 in a string: refused, after the size checks.
        c.username = Some("u\0");
        assert_eq!(
            Packet::Connect(c).emit(&mut buf),
            Err(EncodeError::NulInString)
        );
        assert!(matches!(
            Packet::Connect(c).emit(&mut buf[..4]),
            Err(EncodeError::BufferTooSmall { .. })
        ));
        c.username = Some("u");
        c.client_id = "a\0";
        assert_eq!(
            Packet::Connect(c).emit(&mut buf),
            Err(EncodeError::NulInString)
        );
    }
}
