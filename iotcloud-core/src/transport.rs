//! The byte stream the device talks over, and where it connects to.

use core::fmt;

/// A reconnectable byte stream: TCP, or TLS over TCP, to one endpoint at a time.
///
/// Contract:
/// - [`Transport::connect`] opens a connection to the endpoint (resolving the host name and
///   doing the TLS handshake the endpoint asks for), closing any previous one first.
/// - `read` returns `Ok(0)` only at end of stream (the peer closed). `read` must be
///   cancel-safe: if its future is dropped before completing, no received byte is lost.
///   The device relies on this to wait for data and a timer at once.
/// - `write` may accept fewer bytes than given; `flush` pushes buffered bytes to the network.
///   `write` must be cancel-safe too: if its future is dropped before it returns, it accepted
///   none of the bytes, and a dropped `flush` can simply be called again. The device counts
///   what each `write` accepted, so a write-out dropped half-way (a `select!` with a timer or
///   a channel) resumes on the next call instead of breaking the stream.
/// - `read` and `write` on a closed transport return an error.
#[allow(async_fn_in_trait)]
pub trait Transport: embedded_io_async::Read + embedded_io_async::Write {
    /// Opens a connection to `endpoint`.
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<(), Self::Error>;

    /// Closes the connection, if any. Never fails: there is nothing a caller could do.
    async fn close(&mut self);

    /// Whether [`Transport::connect`] can do TLS with a pre-shared key
    /// ([`ServerAuth::Psk`]). Default: no.
    ///
    /// A provider consults this (through [`TransportCaps`]) to choose a cloud's default
    /// security: Tencent's key-authenticated devices use TLS-PSK on port 8883 where the
    /// transport has it, and plain TCP on port 1883 where it does not. A transport that says
    /// no must still refuse a [`ServerAuth::Psk`] endpoint with an error of its own, never
    /// fall back to plain TCP or to certificate-checked TLS.
    fn supports_psk(&self) -> bool {
        false
    }
}

/// What a transport can do beyond plain TCP and certificate-checked TLS: the input a
/// provider's [`endpoint_for`](crate::Provider::endpoint_for) chooses a cloud's default
/// security from. The device builds it from its transport with [`TransportCaps::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TransportCaps {
    /// TLS with a pre-shared key ([`ServerAuth::Psk`]).
    pub psk: bool,
}

impl TransportCaps {
    /// Nothing beyond plain TCP and certificate-checked TLS: what
    /// [`Provider::endpoint`](crate::Provider::endpoint) assumes.
    pub const NONE: TransportCaps = TransportCaps { psk: false };

    /// TLS-PSK as well.
    pub const PSK: TransportCaps = TransportCaps { psk: true };

    /// What `transport` says it can do.
    pub fn of<T: Transport + ?Sized>(transport: &T) -> Self {
        TransportCaps {
            psk: transport.supports_psk(),
        }
    }
}

/// Where to connect: host, port and TLS settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// Host name or IP address.
    pub host: &'a str,
    /// TCP port.
    pub port: u16,
    /// TLS settings; `None` for plain TCP.
    pub tls: Option<Tls<'a>>,
}

impl<'a> Endpoint<'a> {
    /// Plain TCP to `host:port`.
    pub const fn tcp(host: &'a str, port: u16) -> Self {
        Endpoint {
            host,
            port,
            tls: None,
        }
    }

    /// TLS to `host:port`, verifying the server against `server`.
    pub const fn tls(host: &'a str, port: u16, server: ServerAuth<'a>) -> Self {
        Endpoint {
            host,
            port,
            tls: Some(Tls {
                server,
                server_name: None,
                client: None,
            }),
        }
    }
}

/// TLS settings of an [`Endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls<'a> {
    /// How to check the server's certificate.
    pub server: ServerAuth<'a>,
    /// Name to verify and send in SNI, if not the endpoint's host.
    pub server_name: Option<&'a str>,
    /// Client certificate and key, for clouds that authenticate devices by certificate.
    pub client: Option<ClientIdentity<'a>>,
}

/// How a TLS client checks the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAuth<'a> {
    /// Trust these CA certificates (PEM, one or more concatenated).
    CaPem(&'a [u8]),
    /// Trust the HAL's default roots (the web PKI roots on a host).
    DefaultRoots,
    /// Encrypt without checking who the server is. This is what LuatOS does with `tls = true`;
    /// it does not protect against an impostor and exists only for compatibility.
    NoVerification,
    /// TLS with a pre-shared key (RFC 4279): only pre-shared-key cipher suites, no
    /// certificate either way; each side proves itself by knowing the key. What Tencent IoT
    /// Explorer's key-authenticated devices use on port 8883. A transport that cannot do it
    /// ([`Transport::supports_psk`] is false) fails the connect with an error that says so.
    /// The endpoint's client certificate, if any, is not used.
    Psk(Psk<'a>),
}

/// A TLS pre-shared key and the identity sent with it. `Debug` never shows the key.
///
/// Both are held in one slice (the identity's length in two bytes, the identity, the key),
/// so that a [`ServerAuth`] stays two words: every endpoint a device copies is that much
/// smaller, which on a Cortex-M3 is about 450 bytes of code for devices that never use a
/// PSK.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Psk<'a> {
    /// `[identity length, big-endian u16][identity][key]`, checked when made.
    encoded: &'a [u8],
}

impl<'a> Psk<'a> {
    /// Bytes [`Psk::write`] needs for `identity` and `key`.
    pub const fn encoded_len(identity: &str, key: &[u8]) -> usize {
        2 + identity.len() + key.len()
    }

    /// Writes `identity` (UTF-8 text, RFC 4279 §5.1; at most 65,535 bytes) and `key` into
    /// the front of `buf`, and returns the pair borrowing it. `buf` too small, or an
    /// identity too long, is [`ScratchFull`](crate::scratch::ScratchFull).
    pub fn write(
        buf: &'a mut [u8],
        identity: &str,
        key: &[u8],
    ) -> Result<Psk<'a>, crate::scratch::ScratchFull> {
        let available = buf.len();
        let full = crate::scratch::ScratchFull { available };
        let id_len = u16::try_from(identity.len()).map_err(|_| full)?;
        let len = Self::encoded_len(identity, key);
        let out = buf.get_mut(..len).ok_or(full)?;
        out[..2].copy_from_slice(&id_len.to_be_bytes());
        out[2..2 + identity.len()].copy_from_slice(identity.as_bytes());
        out[2 + identity.len()..].copy_from_slice(key);
        Ok(Psk { encoded: out })
    }

    /// Reads back what [`Psk::write`] wrote (`None`: not such bytes).
    pub fn from_encoded(encoded: &'a [u8]) -> Option<Psk<'a>> {
        let (len, rest) = encoded.split_first_chunk::<2>()?;
        let id = rest.get(..usize::from(u16::from_be_bytes(*len)))?;
        core::str::from_utf8(id).ok()?;
        Some(Psk { encoded })
    }

    fn id_len(&self) -> usize {
        match self.encoded {
            [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => 0,
        }
    }

    /// The PSK identity the client sends in its key exchange.
    pub fn identity(&self) -> &'a str {
        let bytes = self.encoded.get(2..2 + self.id_len()).unwrap_or_default();
        // Checked UTF-8 when made.
        core::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The key itself, raw bytes.
    pub fn key(&self) -> &'a [u8] {
        self.encoded.get(2 + self.id_len()..).unwrap_or_default()
    }
}

impl fmt::Debug for Psk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &self.identity())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A client certificate with its private key, both PEM. `Debug` never shows the key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClientIdentity<'a> {
    /// Certificate chain, PEM.
    pub cert_pem: &'a [u8],
    /// Private key, PEM.
    pub key_pem: &'a [u8],
}

impl fmt::Debug for ClientIdentity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_psk_is_one_slice_and_a_server_auth_stays_small() {
        let mut buf = [0u8; 32];
        let psk = Psk::write(&mut buf, "pid-dev", b"\x00key\xff").unwrap();
        assert_eq!(
            (psk.identity(), psk.key()),
            ("pid-dev", &b"\x00key\xff"[..])
        );
        let encoded = *b"\x00\x07pid-dev\x00key\xff";
        assert_eq!(Psk::from_encoded(&encoded), Some(psk));
        // A tag and a slice, as with only the certificate choices.
        assert_eq!(
            core::mem::size_of::<ServerAuth<'_>>(),
            core::mem::size_of::<(usize, &[u8])>()
        );
        assert!(Psk::write(&mut [0u8; 13], "pid-dev", b"\x00key\xff").is_err());
        // What was not written by `write` is refused, never read past its end.
        assert_eq!(Psk::from_encoded(&[0, 9, b'a']), None);
        assert_eq!(Psk::from_encoded(&[0, 1, 0xff, b'k']), None);
        assert_eq!(Psk::from_encoded(&[0]), None);
        let shown = std::format!("{psk:?}");
        assert!(
            shown.contains("pid-dev") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert!(!shown.contains("\\0") && !shown.contains("255"), "{shown}");
    }
}
