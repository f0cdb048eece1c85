//! TLS through rustls against mosquitto with a test CA.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hal_host::HostError;
use iotcloud_core::transport::{ClientIdentity, ServerAuth, Tls};
use iotcloud_core::{Error, QoS};
use iotcloud_testkit::{Broker, Ev, ListenerExtra, connect, memory, next, provider};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: &'static str,
    other_ca_pem: &'static str,
    client_cert: &'static str,
    client_key: &'static str,
}

fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn pki() -> Pki {
    let ca = ca();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "device-7");
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        dir,
        ca_pem: leak(ca.pem()),
        other_ca_pem: leak(self::ca().pem()),
        client_cert: leak(client.pem()),
        client_key: leak(client_key.serialize_pem()),
    }
}

fn tls_broker(pki: &Pki, require_client_cert: bool) -> Broker {
    let d = pki.dir.path();
    let mut lines = vec![
        format!("cafile {}", d.join("ca.pem").display()),
        format!("certfile {}", d.join("server.pem").display()),
        format!("keyfile {}", d.join("server.key").display()),
    ];
    if require_client_cert {
        lines.push("require_certificate true".into());
        lines.push("use_identity_as_username true".into());
    }
    Broker::start_with(ListenerExtra(lines))
}

fn tls(server: ServerAuth<'static>) -> Tls<'static> {
    Tls {
        server,
        server_name: Some("localhost"),
        client: None,
    }
}

#[tokio::test]
async fn a_server_signed_by_the_given_ca_is_trusted() {
    let pki = pki();
    let broker = tls_broker(&pki, false);
    let p = provider(broker.port, "tls-ok")
        .with_tls_settings(tls(ServerAuth::CaPem(pki.ca_pem.as_bytes())));
    let mut dev = connect(p, memory(1024, 256, 1024)).await;
    let id = dev
        .publish("tls/t", b"secret", QoS::AtLeastOnce)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next(&mut dev, 5_000).await, Some(Ev::Published(id.get())));
}

#[tokio::test]
async fn a_server_from_another_ca_is_refused_unless_verification_is_off() {
    let pki = pki();
    let broker = tls_broker(&pki, false);
    let wrong = tls(ServerAuth::CaPem(pki.other_ca_pem.as_bytes()));
    let p = provider(broker.port, "tls-wrong-ca").with_tls_settings(wrong);
    let dev = iotcloud_testkit::device(p, memory(1024, 256, 1024))
        .register()
        .await
        .unwrap();
    let (err, _) = dev
        .connect()
        .await
        .expect_err("untrusted server accepted")
        .into_parts();
    match &err {
        Error::Transport(HostError::TlsHandshake { source, .. }) => {
            assert!(
                source.to_string().contains("invalid peer certificate"),
                "{source}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The web PKI roots do not know the test CA either.
    let p = provider(broker.port, "tls-webpki").with_tls_settings(tls(ServerAuth::DefaultRoots));
    let dev = iotcloud_testkit::device(p, memory(1024, 256, 1024))
        .register()
        .await
        .unwrap();
    assert!(matches!(
        dev.connect().await.err().unwrap().into_error(),
        Error::Transport(HostError::TlsHandshake { .. })
    ));
    // Explicitly unverified TLS (what LuatOS does) connects.
    let p =
        provider(broker.port, "tls-noverify").with_tls_settings(tls(ServerAuth::NoVerification));
    connect(p, memory(1024, 256, 1024)).await;
}

#[tokio::test]
async fn a_broker_requiring_client_certificates_accepts_the_device_certificate() {
    let pki = pki();
    let broker = tls_broker(&pki, true);
    let mut settings = tls(ServerAuth::CaPem(pki.ca_pem.as_bytes()));
    let p = provider(broker.port, "tls-nocert").with_tls_settings(settings);
    let dev = iotcloud_testkit::device(p, memory(1024, 256, 1024))
        .register()
        .await
        .unwrap();
    assert!(
        dev.connect().await.is_err(),
        "no client certificate, yet connected"
    );

    settings.client = Some(ClientIdentity {
        cert_pem: pki.client_cert.as_bytes(),
        key_pem: pki.client_key.as_bytes(),
    });
    let p = provider(broker.port, "tls-cert").with_tls_settings(settings);
    let mut dev = connect(p, memory(1024, 256, 1024)).await;
    let id = dev
        .publish("tls/c", b"x", QoS::AtLeastOnce)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next(&mut dev, 5_000).await, Some(Ev::Published(id.get())));
    assert!(broker.log().contains("u'device-7'"), "{}", broker.log());
}

#[test]
fn bad_tls_material_is_a_named_error() {
    let e = hal_host::transport::client_config(ServerAuth::CaPem(b"not a pem"), None).unwrap_err();
    assert!(e.to_string().contains("no CA certificate"), "{e}");
    let pki = pki();
    let e = hal_host::transport::client_config(
        ServerAuth::DefaultRoots,
        Some(ClientIdentity {
            cert_pem: pki.client_cert.as_bytes(),
            key_pem: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        }),
    )
    .unwrap_err();
    assert!(matches!(e, HostError::TlsMaterial(_)), "{e:?}");
    assert!(!e.to_string().contains("AAAA"));
}

/// Without the `psk` feature, a TLS-PSK endpoint is refused by name before any connection
/// is made: never plain TCP instead.
#[cfg(not(feature = "psk"))]
#[tokio::test]
async fn a_psk_endpoint_is_refused_without_the_psk_feature() {
    use iotcloud_core::transport::{Psk, Transport};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut transport = hal_host::TcpTransport::new();
    assert!(!transport.supports_psk());
    let mut psk_buf = [0u8; 128];
    let psk = Psk::write(&mut psk_buf, "LD8S5J1L07test", b"0123456789abcdef").unwrap();
    let endpoint = iotcloud_core::Endpoint::tls("127.0.0.1", port, ServerAuth::Psk(psk));
    let err = transport.connect(&endpoint).await.unwrap_err();
    assert!(matches!(err, HostError::PskUnsupported), "{err:?}");
    assert!(err.to_string().contains("`psk` feature"), "{err}");
    assert!(listener.accept().is_err(), "a connection was made");
    assert!(!transport.is_connected());
}
