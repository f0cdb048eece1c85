//! TLS with a pre-shared key ([`ServerAuth::Psk`](iotcloud_core::ServerAuth::Psk)), through
//! OpenSSL: rustls has no TLS-PSK client.
//!
//! Only TLS 1.2 and only pre-shared-key cipher suites are offered, so no certificate is
//! exchanged and a server that does not know the key cannot complete the handshake. The
//! list has what Tencent's device SDK offers (`TLS_PSK_WITH_AES_128_CBC_SHA` and
//! `TLS_PSK_WITH_AES_256_CBC_SHA`, in its `platform/tls/mbedtls/HAL_TLS_mbedtls.c`) after
//! the stronger suites of the same kind, for servers that have those.

use std::ffi::CString;
use std::io;
use std::pin::Pin;

use iotcloud_core::transport::Psk;
use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::transport::HostError;

/// The cipher suites offered, in OpenSSL's names, strongest first.
pub const PSK_CIPHERS: &str = "ECDHE-PSK-AES256-CBC-SHA384:ECDHE-PSK-AES128-CBC-SHA256:\
PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256:PSK-AES256-CBC-SHA384:PSK-AES128-CBC-SHA256:\
ECDHE-PSK-AES256-CBC-SHA:ECDHE-PSK-AES128-CBC-SHA:PSK-AES256-CBC-SHA:PSK-AES128-CBC-SHA";

/// Longest identity OpenSSL takes (`PSK_MAX_IDENTITY_LEN`).
const MAX_IDENTITY_LEN: usize = 128;

/// Longest key OpenSSL takes (`PSK_MAX_PSK_LEN`).
const MAX_KEY_LEN: usize = 512;

/// A copy of the key for OpenSSL's callback, zeroed when the connection's context goes.
struct KeyCopy(Vec<u8>);

impl Drop for KeyCopy {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

/// A TLS 1.2 PSK handshake over `tcp`; `name`, when it is a host name, is sent as SNI.
pub async fn connect(
    tcp: TcpStream,
    host: &str,
    name: &str,
    psk: Psk<'_>,
) -> Result<SslStream<TcpStream>, HostError> {
    let setup = |what: &'static str| move |_| HostError::TlsMaterial(what);
    if psk.key().is_empty() || psk.key().len() > MAX_KEY_LEN {
        return Err(HostError::TlsMaterial("pre-shared key empty or too long"));
    }
    if psk.identity().is_empty() || psk.identity().len() > MAX_IDENTITY_LEN {
        return Err(HostError::TlsMaterial(
            "pre-shared key identity empty or longer than 128 bytes",
        ));
    }
    let identity = CString::new(psk.identity())
        .map_err(|_| HostError::TlsMaterial("pre-shared key identity contains a NUL byte"))?;
    let key = KeyCopy(psk.key().to_vec());
    let mut ctx = SslContext::builder(SslMethod::tls_client()).map_err(setup("OpenSSL setup"))?;
    ctx.set_min_proto_version(Some(SslVersion::TLS1_2))
        .and_then(|()| ctx.set_max_proto_version(Some(SslVersion::TLS1_2)))
        .map_err(setup("OpenSSL has no TLS 1.2"))?;
    ctx.set_cipher_list(PSK_CIPHERS)
        .map_err(setup("OpenSSL has no pre-shared-key cipher suite"))?;
    // No certificate is exchanged in these suites; the key authenticates the server.
    ctx.set_verify(SslVerifyMode::NONE);
    ctx.set_psk_client_callback(move |_ssl, _hint, identity_out, key_out| {
        let id = identity.as_bytes_with_nul();
        let (Some(id_dst), Some(key_dst)) = (
            identity_out.get_mut(..id.len()),
            key_out.get_mut(..key.0.len()),
        ) else {
            return Err(openssl::error::ErrorStack::get());
        };
        id_dst.copy_from_slice(id);
        key_dst.copy_from_slice(&key.0);
        Ok(key.0.len())
    });
    let ctx = ctx.build();
    let mut ssl = Ssl::new(&ctx).map_err(setup("OpenSSL setup"))?;
    if name.parse::<std::net::IpAddr>().is_err() {
        ssl.set_hostname(name)
            .map_err(|_| HostError::ServerName(name.into()))?;
    }
    let mut stream = SslStream::new(ssl, tcp).map_err(setup("OpenSSL setup"))?;
    Pin::new(&mut stream)
        .connect()
        .await
        .map_err(|e| HostError::TlsHandshake {
            host: host.into(),
            source: io::Error::other(handshake_failure(&e)),
        })?;
    Ok(stream)
}

/// What went wrong in a handshake, in OpenSSL's words (which never include the key).
fn handshake_failure(e: &openssl::ssl::Error) -> String {
    match e.ssl_error() {
        Some(stack) => format!("TLS-PSK: {stack}"),
        None => match e.io_error() {
            Some(io) => format!("TLS-PSK: {io}"),
            None => format!("TLS-PSK: {e}"),
        },
    }
}
