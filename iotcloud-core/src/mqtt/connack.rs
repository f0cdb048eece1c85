//! CONNACK (§3.2).

use super::wire::{Reader, Writer};
use super::{DecodeError, EncodeError, PacketType};

/// The broker's answer to CONNECT (table 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectReturnCode {
    /// 0: connection accepted.
    #[error("accepted")]
    Accepted,
    /// 1: the broker does not speak MQTT 3.1.1.
    #[error("unacceptable protocol version")]
    UnacceptableProtocolVersion,
    /// 2: the client identifier is well-formed UTF-8 but not allowed by the broker.
    #[error("client identifier rejected")]
    IdentifierRejected,
    /// 3: the MQTT service is unavailable.
    #[error("server unavailable")]
    ServerUnavailable,
    /// 4: the user name or password is malformed or wrong.
    #[error("bad user name or password")]
    BadUsernameOrPassword,
    /// 5: the client is not authorised to connect.
    #[error("not authorized")]
    NotAuthorized,
}

impl ConnectReturnCode {
    /// Decodes the return-code byte.
    pub fn from_u8(code: u8) -> Result<Self, DecodeError> {
        use ConnectReturnCode::*;
        Ok(match code {
            0 => Accepted,
            1 => UnacceptableProtocolVersion,
            2 => IdentifierRejected,
            3 => ServerUnavailable,
            4 => BadUsernameOrPassword,
            5 => NotAuthorized,
            other => return Err(DecodeError::InvalidReturnCode(other)),
        })
    }

    /// The return-code byte.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether the broker refused the credentials (codes 2, 4 and 5): retrying soon with the
    /// same credentials will fail again.
    pub fn is_auth_failure(self) -> bool {
        matches!(
            self,
            ConnectReturnCode::IdentifierRejected
                | ConnectReturnCode::BadUsernameOrPassword
                | ConnectReturnCode::NotAuthorized
        )
    }
}

/// A CONNACK packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Connack {
    /// The broker kept a session for this client ([MQTT-3.2.2-2]).
    pub session_present: bool,
    /// Accepted or why not.
    pub code: ConnectReturnCode,
}

impl Connack {
    /// Parses a CONNACK body (exactly two bytes).
    pub fn parse(body: &[u8]) -> Result<Connack, DecodeError> {
        let mut r = Reader::new(body);
        let flags = r.u8()?;
        let code = ConnectReturnCode::from_u8(r.u8()?)?;
        r.finish()?;
        let session_present = flags & 0x01 != 0;
        // [MQTT-3.2.2-4]: a refusal never reports a session.
        if flags & 0xfe != 0 || (session_present && code != ConnectReturnCode::Accepted) {
            return Err(DecodeError::InvalidConnackFlags(flags));
        }
        Ok(Connack {
            session_present,
            code,
        })
    }

    /// Encodes the CONNACK at the start of `buf`; see [`Packet::emit`](super::Packet::emit).
    pub(crate) fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::frame(buf, PacketType::Connack.first_byte(), 2)?;
        w.put_u8(u8::from(self.session_present));
        w.put_u8(self.code.as_u8());
        Ok(w.position())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Packet;
    use super::*;

    #[test]
    fn every_return_code_round_trips() {
        for code in 0..=5u8 {
            let c = Connack {
                session_present: false,
                code: ConnectReturnCode::from_u8(code).unwrap(),
            };
            let mut buf = [0u8; 4];
            assert_eq!(Packet::Connack(c).emit(&mut buf), Ok(4));
            assert_eq!(buf, [0x20, 0x02, 0x00, code]);
            assert_eq!(Packet::decode(&buf).unwrap().unwrap().0, Packet::Connack(c));
        }
    }

    #[test]
    fn auth_refusals_are_marked() {
        let auth: [u8; 3] = [2, 4, 5];
        for code in 1..=5u8 {
            let c = ConnectReturnCode::from_u8(code).unwrap();
            assert_eq!(c.is_auth_failure(), auth.contains(&code), "{c:?}");
        }
    }

    #[test]
    fn malformed_connacks_are_refused() {
        assert_eq!(
            Packet::decode(&[0x20, 0x02, 0x00, 0x06]),
            Err(DecodeError::InvalidReturnCode(6))
        );
        assert_eq!(
            Packet::decode(&[0x20, 0x02, 0x02, 0x00]),
            Err(DecodeError::InvalidConnackFlags(2))
        );
        assert_eq!(
            Packet::decode(&[0x20, 0x02, 0x01, 0x05]),
            Err(DecodeError::InvalidConnackFlags(1))
        );
        assert_eq!(
            Packet::decode(&[0x20, 0x03, 0x00, 0x00, 0x00]),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(
            Packet::decode(&[0x20, 0x01, 0x00]),
            Err(DecodeError::Truncated)
        );
    }
}
