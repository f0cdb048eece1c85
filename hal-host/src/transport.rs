//! [`Transport`] over tokio TCP, with TLS by rustls (ring), and TLS-PSK by OpenSSL with the
//! `psk` feature.

use std::io;
use std::sync::Arc;

use iotcloud_core::transport::{ClientIdentity, Endpoint, ServerAuth, Tls, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// Writes are collected up to this size and sent on `flush`.
const WRITE_BUFFER: usize = 64 * 1024;

/// Why the host transport failed. Messages name the step that failed (DNS, TCP, TLS) and
/// never include key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The host name did not resolve.
    #[error("DNS lookup of {host} failed: {source}")]
    Dns {
        /// Host name.
        host: String,
        /// Resolver error.
        source: io::Error,
    },
    /// Connecting, reading or writing failed.
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// The TLS handshake failed (certificate not trusted, no common cipher, …).
    #[error("TLS handshake with {host} failed: {source}")]
    TlsHandshake {
        /// Host name.
        host: String,
        /// What rustls or the peer reported.
        source: io::Error,
    },
    /// A CA certificate, client certificate or key could not be read.
    #[error("invalid TLS material: {0}")]
    TlsMaterial(&'static str),
    /// The host is not a valid TLS server name.
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    /// Read or write without a connection.
    #[error("not connected")]
    NotConnected,
    /// The endpoint asks for TLS with a pre-shared key
    /// ([`ServerAuth::Psk`]) and this build has no TLS-PSK: build hal-host with its `psk`
    /// feature, or choose another security (plain TCP where the cloud offers it).
    #[error("TLS with a pre-shared key needs hal-host's `psk` feature")]
    PskUnsupported,
}

impl embedded_io::Error for HostError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            HostError::Dns { .. } => embedded_io::ErrorKind::NotFound,
            HostError::Io(e) => e.kind().into(),
            HostError::TlsHandshake { .. }
            | HostError::TlsMaterial(_)
            | HostError::ServerName(_) => embedded_io::ErrorKind::InvalidData,
            HostError::NotConnected => embedded_io::ErrorKind::NotConnected,
            HostError::PskUnsupported => embedded_io::ErrorKind::Unsupported,
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    #[cfg(feature = "psk")]
    Psk(Box<tokio_openssl::SslStream<TcpStream>>),
}

/// A TCP or TLS connection made by tokio and rustls (and, with the `psk` feature, TLS-PSK
/// made by OpenSSL). Must be used inside a tokio runtime.
///
/// Writes are buffered until `flush`, so that what the device writes in pieces (a header
/// and its payload, a transmit buffer and a frame from session memory) leaves together.
pub struct TcpTransport {
    stream: Option<Stream>,
    /// Bytes written and not yet on the socket, of which the first `sent` are.
    out: Vec<u8>,
    sent: usize,
    nodelay: bool,
}

impl core::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("connected", &self.stream.is_some())
            .field("nodelay", &self.nodelay)
            .finish_non_exhaustive()
    }
}

impl Default for TcpTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpTransport {
    /// A transport with no connection yet.
    pub fn new() -> Self {
        TcpTransport {
            stream: None,
            out: Vec::with_capacity(1024),
            sent: 0,
            nodelay: true,
        }
    }

    /// Whether to set `TCP_NODELAY` (default: yes, packets leave at once).
    pub fn with_nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Writes the buffered bytes to the socket. Cancel-safe: the bytes the socket took
    /// are counted after each write (tokio's and rustls' writes take nothing if dropped), so
    /// a dropped call goes on where it stopped the next time.
    async fn write_out(&mut self) -> Result<(), HostError> {
        let result = self.write_buffered().await;
        if result.is_err() {
            // The connection is unusable: what was buffered is for no one.
            self.out.clear();
            self.sent = 0;
        }
        result
    }

    async fn write_buffered(&mut self) -> Result<(), HostError> {
        let stream = self.stream.as_mut().ok_or(HostError::NotConnected)?;
        while self.sent < self.out.len() {
            let rest = &self.out[self.sent..];
            let n = match stream {
                Stream::Plain(s) => s.write(rest).await,
                Stream::Tls(s) => s.write(rest).await,
                #[cfg(feature = "psk")]
                Stream::Psk(s) => s.write(rest).await,
            }
            .map_err(HostError::Io)?;
            if n == 0 {
                return Err(HostError::Io(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        match stream {
            Stream::Plain(_) => {}
            Stream::Tls(s) => s.flush().await.map_err(HostError::Io)?,
            #[cfg(feature = "psk")]
            Stream::Psk(s) => s.flush().await.map_err(HostError::Io)?,
        }
        self.out.clear();
        self.sent = 0;
        Ok(())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration for `tls`. [`ServerAuth::Psk`] is refused with
/// [`HostError::PskUnsupported`]: rustls has no TLS-PSK (the `psk` feature does it with
/// OpenSSL instead).
pub fn client_config(
    server: ServerAuth<'_>,
    client: Option<ClientIdentity<'_>>,
) -> Result<ClientConfig, HostError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|_| HostError::TlsMaterial("no usable TLS version"))?;
    let builder = match server {
        ServerAuth::CaPem(pem) => {
            let mut roots = RootCertStore::empty();
            let mut any = false;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert =
                    cert.map_err(|_| HostError::TlsMaterial("CA certificate is not valid PEM"))?;
                roots.add(cert).map_err(|_| {
                    HostError::TlsMaterial("CA certificate is not a valid X.509 certificate")
                })?;
                any = true;
            }
            if !any {
                return Err(HostError::TlsMaterial("no CA certificate in the PEM data"));
            }
            builder.with_root_certificates(roots)
        }
        ServerAuth::DefaultRoots => {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots)
        }
        ServerAuth::NoVerification => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoServerVerification(provider()))),
        ServerAuth::Psk(_) => return Err(HostError::PskUnsupported),
    };
    match client {
        None => Ok(builder.with_no_client_auth()),
        Some(id) => {
            let chain = CertificateDer::pem_slice_iter(id.cert_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| HostError::TlsMaterial("client certificate is not valid PEM"))?;
            if chain.is_empty() {
                return Err(HostError::TlsMaterial(
                    "no client certificate in the PEM data",
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(id.key_pem)
                .map_err(|_| HostError::TlsMaterial("client key is not a valid PEM private key"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|_| HostError::TlsMaterial("client certificate and key do not match"))
        }
    }
}

/// Accepts any server certificate while still checking the handshake signatures: the
/// LuatOS-compatible "TLS without verification", chosen explicitly with
/// [`ServerAuth::NoVerification`].
#[derive(Debug)]
struct NoServerVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoServerVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl embedded_io::ErrorType for TcpTransport {
    type Error = HostError;
}

impl embedded_io_async::Read for TcpTransport {
    /// Cancel-safe: tokio's and rustls' reads keep unread data buffered.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        let result = match self.stream.as_mut().ok_or(HostError::NotConnected)? {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            #[cfg(feature = "psk")]
            Stream::Psk(s) => s.read(buf).await,
        };
        result.map_err(HostError::Io)
    }
}

impl embedded_io_async::Write for TcpTransport {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, HostError> {
        if self.stream.is_none() {
            return Err(HostError::NotConnected);
        }
        if self.out.len() + buf.len() > WRITE_BUFFER && !self.out.is_empty() {
            self.write_out().await?;
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), HostError> {
        if self.out.is_empty() {
            return Ok(());
        }
        self.write_out().await
    }
}

impl Transport for TcpTransport {
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<(), HostError> {
        self.stream = None;
        self.out.clear();
        self.sent = 0;
        if let Some(Tls {
            server: ServerAuth::Psk(_),
            ..
        }) = endpoint.tls
            && !self.supports_psk()
        {
            // Refused before any connection is made: never plain TCP instead.
            return Err(HostError::PskUnsupported);
        }
        let host = endpoint.host;
        let mut addrs = tokio::net::lookup_host((host, endpoint.port))
            .await
            .map_err(|source| HostError::Dns {
                host: host.into(),
                source,
            })?;
        let mut last = None;
        let tcp = loop {
            let Some(addr) = addrs.next() else {
                return Err(last.map_or_else(
                    || HostError::Dns {
                        host: host.into(),
                        source: io::Error::new(io::ErrorKind::NotFound, "no address"),
                    },
                    HostError::Io,
                ));
            };
            match TcpStream::connect(addr).await {
                Ok(s) => break s,
                Err(e) => last = Some(e),
            }
        };
        tcp.set_nodelay(self.nodelay)?;
        self.stream = Some(match endpoint.tls {
            None => Stream::Plain(tcp),
            #[cfg(feature = "psk")]
            Some(Tls {
                server: ServerAuth::Psk(psk),
                server_name,
                ..
            }) => {
                let name = server_name.unwrap_or(host);
                Stream::Psk(Box::new(crate::psk::connect(tcp, host, name, psk).await?))
            }
            Some(tls) => {
                let config = client_config(tls.server, tls.client)?;
                let name = tls.server_name.unwrap_or(host);
                let server_name = ServerName::try_from(name.to_owned())
                    .map_err(|_| HostError::ServerName(name.into()))?;
                let stream = TlsConnector::from(Arc::new(config))
                    .connect(server_name, tcp)
                    .await
                    .map_err(|source| HostError::TlsHandshake {
                        host: host.into(),
                        source,
                    })?;
                Stream::Tls(Box::new(stream))
            }
        });
        Ok(())
    }

    /// True with the `psk` feature (TLS-PSK through OpenSSL), false without it.
    fn supports_psk(&self) -> bool {
        cfg!(feature = "psk")
    }

    async fn close(&mut self) {
        if let Some(stream) = self.stream.take() {
            match stream {
                Stream::Plain(mut s) => {
                    let _ = s.shutdown().await;
                }
                Stream::Tls(mut s) => {
                    let _ = s.shutdown().await;
                }
                #[cfg(feature = "psk")]
                Stream::Psk(mut s) => {
                    let _ = s.shutdown().await;
                }
            }
        }
        self.out.clear();
        self.sent = 0;
    }
}
