//! [`NetError`]: every way the embassy-net transport can fail, as one type.

use embassy_net::{dns, tcp};
use embedded_io::ErrorKind;

/// Why the embassy-net transport failed: the one error type of [`NetTransport`]'s
/// `connect`, `read` and `write`, and so the `T` of a device's
/// [`iotcloud_core::Error<T>`](iotcloud_core::Error) on this platform.
///
/// Each variant says whether trying again can help. None carries key material: the
/// transport never sees credentials except inside the bytes it carries.
///
/// [`NetTransport`]: crate::NetTransport
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum NetError {
    /// The host name is not a valid DNS name, or is longer than embassy-net accepts. Fix the
    /// endpoint; retrying does not help.
    #[error("invalid host name")]
    InvalidHost,
    /// The DNS lookup failed: no DNS server configured (static configuration without
    /// `dns_servers`, or DHCP not done yet), no answer, or no IPv4 address for the name.
    /// Worth retrying with backoff.
    #[error("DNS lookup failed")]
    Dns,
    /// The server refused the connection (TCP reset). Worth retrying with backoff.
    #[error("connection refused")]
    Refused,
    /// Connecting took longer than the socket's timeout ([`NetTransport::with_timeout`]).
    /// Worth retrying.
    ///
    /// [`NetTransport::with_timeout`]: crate::NetTransport::with_timeout
    #[error("connection timed out")]
    TimedOut,
    /// No route to the host: the stack has no address or gateway yet (link down, DHCP not
    /// done). Worth retrying once the stack is up.
    #[error("no route to host")]
    NoRoute,
    /// The connection was reset or timed out while in use. Reconnect.
    #[error("connection reset")]
    Reset,
    /// `read`, `write` or `flush` without an open connection.
    #[error("not connected")]
    NotConnected,
    /// The endpoint asks for TLS, and this transport has none: it carries plain TCP only
    /// (see the crate documentation for why). Choose a plain-TCP endpoint where the cloud
    /// offers one; retrying does not help. Never answered by connecting without TLS.
    #[error("TLS is not available on the embassy-net transport")]
    TlsUnsupported,
}

impl embedded_io::Error for NetError {
    fn kind(&self) -> ErrorKind {
        match self {
            NetError::InvalidHost => ErrorKind::InvalidInput,
            NetError::Dns => ErrorKind::NotFound,
            NetError::Refused => ErrorKind::ConnectionRefused,
            NetError::TimedOut => ErrorKind::TimedOut,
            NetError::NoRoute => ErrorKind::AddrNotAvailable,
            NetError::Reset => ErrorKind::ConnectionReset,
            NetError::NotConnected => ErrorKind::NotConnected,
            NetError::TlsUnsupported => ErrorKind::Unsupported,
        }
    }
}

impl From<dns::Error> for NetError {
    fn from(e: dns::Error) -> Self {
        match e {
            dns::Error::InvalidName | dns::Error::NameTooLong => NetError::InvalidHost,
            dns::Error::Failed => NetError::Dns,
        }
    }
}

impl From<tcp::ConnectError> for NetError {
    fn from(e: tcp::ConnectError) -> Self {
        match e {
            tcp::ConnectError::ConnectionReset => NetError::Refused,
            tcp::ConnectError::TimedOut => NetError::TimedOut,
            tcp::ConnectError::NoRoute => NetError::NoRoute,
            // The socket is aborted and flushed before every connect, so it is closed; a
            // socket still busy is as good as one that is not connected.
            tcp::ConnectError::InvalidState => NetError::NotConnected,
        }
    }
}

impl From<tcp::Error> for NetError {
    fn from(e: tcp::Error) -> Self {
        match e {
            tcp::Error::ConnectionReset => NetError::Reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_io::Error as _;

    #[test]
    fn every_failure_has_the_kind_a_caller_retries_on() {
        assert_eq!(NetError::from(dns::Error::Failed), NetError::Dns);
        assert_eq!(
            NetError::from(dns::Error::NameTooLong),
            NetError::InvalidHost
        );
        assert_eq!(
            NetError::from(tcp::ConnectError::ConnectionReset).kind(),
            ErrorKind::ConnectionRefused
        );
        assert_eq!(
            NetError::from(tcp::Error::ConnectionReset).kind(),
            ErrorKind::ConnectionReset
        );
        assert_eq!(NetError::TlsUnsupported.kind(), ErrorKind::Unsupported);
    }
}
