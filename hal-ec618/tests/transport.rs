#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The network adapter binding against the fake SDK: connect, DNS/TCP/TLS failures, I/O,
//! close, and events that arrive from another thread.

use embedded_io::Error as _;
use embedded_io_async::{Read, Write};
use hal_ec618::fake::stage;
use hal_ec618::fake::{self, ConnectPlan};
use hal_ec618::{AdapterTransport, NetError, block_on};
use iotcloud_core::transport::{ClientIdentity, Endpoint, ServerAuth, Tls, Transport};

const CA: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn run<F: Future>(f: F) -> F::Output {
    block_on(f).unwrap()
}

#[test]
fn plain_tcp_connects_writes_reads_and_closes() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(async {
        t.connect(&Endpoint::tcp("broker.example.com", 1883))
            .await
            .unwrap();
        assert!(t.is_connected());
        assert_eq!(t.write(b"hello").await.unwrap(), 5);
        t.flush().await.unwrap();
        fake::push_rx(b"world!");
        let mut buf = [0u8; 4];
        // The first read waits for the event from the "tcpip thread".
        assert_eq!(t.read(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf, b"worl");
        assert_eq!(t.read(&mut buf).await.unwrap(), 2);
        assert_eq!(&buf[..2], b"d!");
        t.close().await;
    });
    assert!(!t.is_connected());
    fake::with(|s| {
        assert_eq!(s.tx, b"hello");
        assert_eq!(s.connects[0].domain, "broker.example.com");
        assert_eq!(s.connects[0].port, 1883);
        assert_eq!(s.connects[0].ip, None);
        assert!(s.calls.contains(&"network_close"));
        assert_eq!(s.sockets_open(), 0, "socket left open after close");
        assert_eq!(
            s.ctrls_in_use(),
            1,
            "control block kept for the next connect"
        );
        assert!(!s.calls.iter().any(|c| c.starts_with("network_init_tls")));
    });
    drop(t);
    fake::with(|s| assert_eq!(s.ctrls_in_use(), 0, "control block kept after drop"));
}

#[test]
fn a_read_waits_until_the_callback_wakes_it() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(async {
        t.connect(&Endpoint::tcp("h", 1)).await.unwrap();
        std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            fake::push_rx(b"late");
        });
        let start = std::time::Instant::now();
        let mut buf = [0u8; 8];
        let n = t.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"late");
        assert!(start.elapsed() >= std::time::Duration::from_millis(40));
    });
}

#[test]
fn the_peer_closing_ends_the_stream_after_buffered_data() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(async {
        t.connect(&Endpoint::tcp("h", 1)).await.unwrap();
        fake::push_rx(b"bye");
        fake::peer_close();
        let mut buf = [0u8; 8];
        assert_eq!(t.read(&mut buf).await.unwrap(), 3);
        assert_eq!(t.read(&mut buf).await.unwrap(), 0);
        let err = t.write(b"x").await.unwrap_err();
        assert!(matches!(err, NetError::Send { .. }), "{err:?}");
    });
}

#[test]
fn dns_failure_is_named_and_frees_the_socket() {
    let _g = fake::lock();
    fake::with(|s| s.connect_plan = ConnectPlan::FailIn(stage::DNS));
    let mut t = AdapterTransport::new().unwrap();
    let err = run(t.connect(&Endpoint::tcp("nowhere.invalid", 1883))).unwrap_err();
    assert_eq!(err, NetError::Dns);
    assert_eq!(err.kind(), embedded_io::ErrorKind::NotFound);
    assert!(!t.is_connected());
    fake::with(|s| assert_eq!(s.sockets_open(), 0));
    // The next attempt goes through (the adapter refuses a ctrl that still has a socket).
    fake::with(|s| s.connect_plan = ConnectPlan::Succeed);
    run(t.connect(&Endpoint::tcp("nowhere.invalid", 1883))).unwrap();
}

#[test]
fn a_refused_tcp_connection_is_not_a_tls_failure() {
    let _g = fake::lock();
    fake::with(|s| s.connect_plan = ConnectPlan::FailIn(stage::CONNECTING));
    let mut t = AdapterTransport::new().unwrap();
    let ep = Endpoint::tls("h", 8883, ServerAuth::CaPem(CA));
    let err = run(t.connect(&ep)).unwrap_err();
    assert_eq!(err, NetError::ConnectionRefused);
    assert_eq!(err.kind(), embedded_io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_tls_handshake_failure_is_reported_with_the_verification_flags() {
    let _g = fake::lock();
    fake::with(|s| {
        s.connect_plan = ConnectPlan::FailIn(stage::HANDSHAKE);
        s.verify_flags = 0x08; // MBEDTLS_X509_BADCERT_NOT_TRUSTED
    });
    let mut t = AdapterTransport::new().unwrap();
    let err = run(t.connect(&Endpoint::tls("h", 8883, ServerAuth::CaPem(CA)))).unwrap_err();
    assert_eq!(err, NetError::TlsHandshake { verify_flags: 0x08 });
    assert_eq!(err.kind(), embedded_io::ErrorKind::InvalidData);
    // The failed handshake left its socket behind in the adapter; it is closed, and the
    // next attempt reuses the configured control block.
    fake::with(|s| {
        assert_eq!(s.sockets_open(), 0);
        s.connect_plan = ConnectPlan::Succeed;
    });
    run(t.connect(&Endpoint::tls("h", 8883, ServerAuth::CaPem(CA)))).unwrap();
    fake::with(|s| assert_eq!(s.ca_seen.len(), 1, "CA parsed again for a retry"));
}

#[test]
fn link_down_during_connect_is_network_not_ready() {
    let _g = fake::lock();
    fake::with(|s| s.connect_plan = ConnectPlan::FailIn(stage::LINK_OFF));
    let mut t = AdapterTransport::new().unwrap();
    assert_eq!(
        run(t.connect(&Endpoint::tcp("h", 1))).unwrap_err(),
        NetError::NetworkNotReady
    );
}

#[test]
fn connect_without_a_network_fails_at_once() {
    let _g = fake::lock();
    fake::with(|s| s.ready = false);
    let mut t = AdapterTransport::new().unwrap();
    assert_eq!(
        run(t.connect(&Endpoint::tcp("h", 1))).unwrap_err(),
        NetError::NetworkNotReady
    );
    fake::with(|s| assert!(!s.calls.contains(&"network_connect")));
}

#[test]
fn an_immediate_connect_error_keeps_its_code() {
    let _g = fake::lock();
    fake::with(|s| s.connect_plan = ConnectPlan::Immediate(-1));
    let mut t = AdapterTransport::new().unwrap();
    assert_eq!(
        run(t.connect(&Endpoint::tcp("h", 1))).unwrap_err(),
        NetError::ConnectFailed { code: -1 }
    );
}

#[test]
fn a_connect_that_never_answers_times_out() {
    let _g = fake::lock();
    fake::with(|s| s.connect_plan = ConnectPlan::Never);
    let mut t = AdapterTransport::new().unwrap().with_connect_timeout_ms(30);
    assert_eq!(
        run(t.connect(&Endpoint::tcp("h", 1))).unwrap_err(),
        NetError::Timeout
    );
    fake::with(|s| assert_eq!(s.sockets_open(), 0));
}

#[test]
fn tls_gets_the_ca_and_client_identity_nul_terminated_and_wipes_the_copies() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    let ep = Endpoint {
        host: "iot.example.com",
        port: 8883,
        tls: Some(Tls {
            server: ServerAuth::CaPem(CA),
            server_name: None,
            client: Some(ClientIdentity {
                cert_pem: b"CERT",
                key_pem: b"SECRET-KEY",
            }),
        }),
    };
    run(t.connect(&ep)).unwrap();
    fake::with(|s| {
        assert!(s.cert_nul_ok, "PEM passed without a counted NUL");
        assert_eq!(s.ca_seen, vec![CA.to_vec()]);
        assert_eq!(
            s.client_seen,
            vec![(b"CERT".to_vec(), b"SECRET-KEY".to_vec())]
        );
        assert_eq!(s.heap_in_use(), 0);
        assert_eq!(s.freed_zeroed, vec![true, true, true]);
        let base = s
            .calls
            .iter()
            .position(|c| *c == "network_set_base_mode")
            .unwrap();
        let tls = s
            .calls
            .iter()
            .position(|c| *c == "network_init_tls(required)")
            .unwrap();
        assert!(base < tls, "base mode must come before TLS");
    });
}

#[cfg(not(feature = "public-roots"))]
#[test]
fn no_verification_uses_verify_none_and_default_roots_are_refused() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(t.connect(&Endpoint::tls("h", 1, ServerAuth::NoVerification))).unwrap();
    fake::with(|s| assert!(s.calls.contains(&"network_init_tls(none)")));
    let err = run(t.connect(&Endpoint::tls("h", 1, ServerAuth::DefaultRoots))).unwrap_err();
    assert_eq!(err, NetError::NoDefaultRoots);
    fake::with(|s| {
        let allocs = s.calls.iter().filter(|c| **c == "network_alloc_ctrl");
        assert_eq!(
            allocs.count(),
            1,
            "a control block taken for an endpoint refused"
        );
        assert_eq!(s.sockets_open(), 0);
    });
}

#[test]
fn tls_setup_errors_are_named() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    let ep = Endpoint::tls("h", 1, ServerAuth::CaPem(CA));
    fake::with(|s| s.init_tls_ret = -3);
    assert_eq!(
        run(t.connect(&ep)).unwrap_err(),
        NetError::TlsSetup { code: -3 }
    );
    fake::with(|s| {
        s.init_tls_ret = 0;
        s.server_cert_ret = -4;
    });
    assert_eq!(
        run(t.connect(&ep)).unwrap_err(),
        NetError::CaCertificate { code: -4 }
    );
    fake::with(|s| {
        s.server_cert_ret = 0;
        s.client_cert_ret = -1;
    });
    let with_client = Endpoint {
        tls: Some(Tls {
            client: Some(ClientIdentity {
                cert_pem: b"C",
                key_pem: b"SECRET-KEY",
            }),
            ..ep.tls.unwrap()
        }),
        ..ep
    };
    let err = run(t.connect(&with_client)).unwrap_err();
    assert_eq!(err, NetError::ClientCertificate { code: -1 });
    assert!(!format!("{err} {err:?}").contains("SECRET"));
    fake::with(|s| {
        s.client_cert_ret = 0;
        s.malloc_fail = true;
    });
    assert_eq!(run(t.connect(&ep)).unwrap_err(), NetError::OutOfMemory);
    fake::with(|s| {
        assert_eq!(s.heap_in_use(), 0);
        assert_eq!(s.ctrls_in_use(), 0);
    });
}

#[test]
fn a_server_name_other_than_the_host_needs_an_ipv4_host() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    let tls = Tls {
        server: ServerAuth::CaPem(CA),
        server_name: Some("cloud.example.com"),
        client: None,
    };
    let by_ip = Endpoint {
        host: "10.1.2.3",
        port: 8883,
        tls: Some(tls),
    };
    run(t.connect(&by_ip)).unwrap();
    fake::with(|s| {
        assert_eq!(s.connects[0].domain, "cloud.example.com");
        assert_eq!(s.connects[0].ip, Some([10, 1, 2, 3]));
    });
    let by_name = Endpoint {
        host: "other.example.com",
        ..by_ip
    };
    assert_eq!(
        run(t.connect(&by_name)).unwrap_err(),
        NetError::ServerNameUnsupported
    );
}

#[test]
fn bad_hosts_are_rejected_before_the_sdk() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    assert_eq!(
        run(t.connect(&Endpoint::tcp("", 1))).unwrap_err(),
        NetError::InvalidHost
    );
    let long = "a".repeat(256);
    assert_eq!(
        run(t.connect(&Endpoint::tcp(&long, 1))).unwrap_err(),
        NetError::InvalidHost
    );
    fake::with(|s| assert!(!s.calls.contains(&"network_alloc_ctrl")));
}

#[test]
fn io_without_a_connection_is_not_connected() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(run(t.read(&mut buf)).unwrap_err(), NetError::NotConnected);
    assert_eq!(run(t.write(b"x")).unwrap_err(), NetError::NotConnected);
    assert_eq!(run(t.flush()).unwrap_err(), NetError::NotConnected);
    run(t.close()); // harmless
}

#[test]
fn send_and_receive_errors_are_named() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(async {
        t.connect(&Endpoint::tcp("h", 1)).await.unwrap();
        fake::with(|s| s.tx_result = -1);
        t.write(b"abc").await.unwrap();
        let err = t.flush().await.unwrap_err();
        assert!(matches!(err, NetError::Send { code: -1 }), "{err:?}");
        assert_eq!(err.kind(), embedded_io::ErrorKind::BrokenPipe);

        t.connect(&Endpoint::tcp("h", 1)).await.unwrap();
        fake::with(|s| s.tx_ret = -1);
        assert_eq!(
            t.write(b"abc").await.unwrap_err(),
            NetError::Send { code: -1 }
        );

        fake::with(|s| s.tx_ret = 1);
        t.connect(&Endpoint::tcp("h", 1)).await.unwrap();
        fake::with(|s| s.rx_ret = -1);
        let mut buf = [0u8; 4];
        assert_eq!(
            t.read(&mut buf).await.unwrap_err(),
            NetError::Receive { code: -1 }
        );
    });
}

#[test]
fn writes_wait_for_acknowledgement_past_the_window() {
    let _g = fake::lock();
    fake::with(|s| s.tx_auto_ack = false);
    let mut t = AdapterTransport::new().unwrap();
    let chunk = [7u8; 4096];
    run(async {
        t.connect(&Endpoint::tcp("h", 1)).await.unwrap();
        t.write(&chunk).await.unwrap();
        t.write(&chunk).await.unwrap();
        // 8 KiB unacknowledged and no acknowledgement coming: the third write must wait.
        let third =
            embassy_futures::select::select(t.write(&chunk), hal_ec618::time::sleep_ms(15)).await;
        assert!(
            matches!(third, embassy_futures::select::Either::Second(())),
            "the third write did not wait"
        );
    });
    fake::with(|s| assert_eq!(s.tx.len(), 8192));
}

#[test]
fn close_gives_up_waiting_after_its_timeout() {
    let _g = fake::lock();
    fake::with(|s| s.close_event = false);
    let mut t = AdapterTransport::new().unwrap().with_close_timeout_ms(20);
    run(async {
        t.connect(&Endpoint::tcp("h", 1)).await.unwrap();
        t.close().await;
    });
    fake::with(|s| {
        assert_eq!(s.sockets_open(), 0);
        assert!(s.calls.contains(&"network_force_close_socket"));
    });
}

#[test]
fn there_are_at_most_eight_transports() {
    let _g = fake::lock();
    let all: Vec<_> = (0..8).map(|_| AdapterTransport::new().unwrap()).collect();
    assert_eq!(AdapterTransport::new().unwrap_err(), NetError::NoSocket);
    drop(all);
    assert!(AdapterTransport::new().is_ok());
}

#[test]
fn dropping_a_connected_transport_releases_the_socket() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(t.connect(&Endpoint::tcp("h", 1))).unwrap();
    fake::with(|s| assert_eq!(s.ctrls_in_use(), 1));
    drop(t);
    fake::with(|s| assert_eq!(s.ctrls_in_use(), 0));
}

fn mutual_tls(key_pem: &'static [u8]) -> Endpoint<'static> {
    Endpoint {
        host: "iot.example.com",
        port: 8883,
        tls: Some(Tls {
            server: ServerAuth::CaPem(CA),
            server_name: None,
            client: Some(ClientIdentity {
                cert_pem: b"CERT",
                key_pem,
            }),
        }),
    }
}

#[test]
fn a_client_certificate_is_set_once_per_control_block_across_reconnects() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    let ep = mutual_tls(b"SECRET-KEY");
    run(async {
        for _ in 0..5 {
            t.connect(&ep).await.unwrap();
            t.close().await;
        }
        // A dropped link and a failed attempt reconnect through the same block too.
        t.connect(&ep).await.unwrap();
        fake::peer_close();
        fake::with(|s| s.connect_plan = ConnectPlan::FailIn(stage::CONNECTING));
        assert_eq!(
            t.connect(&ep).await.unwrap_err(),
            NetError::ConnectionRefused
        );
        fake::with(|s| s.connect_plan = ConnectPlan::Succeed);
        t.connect(&ep).await.unwrap();
    });
    fake::with(|s| {
        // On the module each of these would leak a parsed certificate and key for good.
        assert_eq!(s.client_identities_leaked, 1, "identity set on a reconnect");
        assert_eq!(s.identities_per_ctrl(), vec![1]);
        assert_eq!(s.tls_contexts_leaked, 0);
        assert_eq!(s.heap_in_use(), 0);
        let allocs = s.calls.iter().filter(|c| **c == "network_alloc_ctrl");
        assert_eq!(allocs.count(), 1);
    });
}

#[test]
fn another_identity_takes_a_new_control_block() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(async {
        t.connect(&mutual_tls(b"KEY-ONE")).await.unwrap();
        t.connect(&mutual_tls(b"KEY-ONE")).await.unwrap();
        t.connect(&mutual_tls(b"KEY-TWO")).await.unwrap();
        t.connect(&Endpoint::tcp("iot.example.com", 1883))
            .await
            .unwrap();
    });
    fake::with(|s| {
        // One identity per block that had one: the SDK gives no way to free it.
        assert_eq!(s.client_identities_leaked, 2);
        assert_eq!(s.ctrls_in_use(), 1);
        assert_eq!(
            s.client_seen
                .iter()
                .map(|(_, k)| k.clone())
                .collect::<Vec<_>>(),
            vec![b"KEY-ONE".to_vec(), b"KEY-TWO".to_vec()]
        );
    });
}

const PSK_ID: &[u8] = b"LD8S5J1L07test";
const PSK_KEY: &[u8] = b"TOPSECRETKEY0123";

#[test]
fn tls_psk_offers_only_psk_suites_and_sets_the_key_once() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new()
        .unwrap()
        .with_psk(PSK_ID, PSK_KEY)
        .unwrap();
    // The endpoint's CA is not used: no certificate is exchanged in a PSK suite.
    let ep = Endpoint::tls(
        "LD8S5J1L07.iotcloud.tencentdevices.com",
        8883,
        ServerAuth::CaPem(CA),
    );
    run(async {
        for _ in 0..3 {
            t.connect(&ep).await.unwrap();
            t.close().await;
        }
    });
    fake::with(|s| {
        assert_eq!(s.psk_seen, vec![(PSK_ID.to_vec(), PSK_KEY.to_vec())]);
        assert!(s.psk_ctrls_offer_only_psk(), "certificate suites offered");
        assert!(s.calls.contains(&"network_init_tls(none)"));
        assert!(!s.calls.contains(&"network_set_server_cert"));
        assert!(!s.calls.contains(&"network_set_client_cert"));
        let init = s
            .calls
            .iter()
            .position(|c| c.starts_with("network_init_tls"));
        let psk = s.calls.iter().position(|c| *c == "network_set_psk_info");
        assert!(init < psk, "PSK set before TLS was initialised");
    });
}

#[test]
fn a_psk_does_not_touch_plain_tcp() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new()
        .unwrap()
        .with_psk(PSK_ID, PSK_KEY)
        .unwrap();
    run(t.connect(&Endpoint::tcp("h", 1883))).unwrap();
    fake::with(|s| {
        assert!(s.psk_seen.is_empty());
        assert!(!s.calls.iter().any(|c| c.starts_with("network_init_tls")));
    });
}

#[test]
fn psk_limits_and_rejection_are_named_and_never_show_the_key() {
    let _g = fake::lock();
    let long_key = [b'k'; 33];
    let long_id = [b'i'; 129];
    for (id, key) in [
        (PSK_ID, &b""[..]),
        (PSK_ID, &long_key[..]),
        (&b""[..], PSK_KEY),
        (&long_id[..], PSK_KEY),
    ] {
        let err = AdapterTransport::new()
            .unwrap()
            .with_psk(id, key)
            .unwrap_err();
        assert_eq!(err, NetError::InvalidPsk);
    }
    let max = AdapterTransport::new()
        .unwrap()
        .with_psk(&[b'i'; 128], &[b'k'; 32]);
    assert!(max.is_ok());
    drop(max);

    fake::with(|s| s.psk_ret = -1);
    let mut t = AdapterTransport::new()
        .unwrap()
        .with_psk(PSK_ID, PSK_KEY)
        .unwrap();
    let err = run(t.connect(&Endpoint::tls("h", 8883, ServerAuth::NoVerification))).unwrap_err();
    assert_eq!(err, NetError::PskRejected { code: -6 });
    fake::with(|s| assert_eq!(s.ctrls_in_use(), 0));
    let shown = format!("{err} {err:?} {t:?}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

/// A Tencent key-authenticated device on this transport: the provider sees that the
/// transport does TLS-PSK and gives an endpoint on 8883 with Tencent's identity and the
/// decoded device secret, which go to `network_set_psk_info`.
#[test]
fn a_tencent_key_device_connects_with_the_endpoints_psk() {
    use iotcloud_core::Provider;
    use iotcloud_core::scratch::Scratch;
    use iotcloud_core::transport::TransportCaps;
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    assert!(t.supports_psk());
    let tencent =
        iotcloud_tencent::Tencent::with_secret("LD8S5J1L07", "test", "acyv3QDJrRa0fW5UE58KnQ==")
            .unwrap();
    let mut buf = [0u8; 256];
    let ep = tencent
        .endpoint_for(&mut Scratch::new(&mut buf), TransportCaps::of(&t))
        .unwrap();
    run(async {
        for _ in 0..2 {
            t.connect(&ep).await.unwrap();
            t.close().await;
        }
    });
    let key = [
        0x69, 0xcc, 0xaf, 0xdd, 0x00, 0xc9, 0xad, 0x16, 0xb4, 0x7d, 0x6e, 0x54, 0x13, 0x9f, 0x0a,
        0x9d,
    ];
    fake::with(|s| {
        // Set once: the control block is kept across reconnects with the same key.
        assert_eq!(s.psk_seen, vec![(PSK_ID.to_vec(), key.to_vec())]);
        assert!(s.psk_ctrls_offer_only_psk(), "certificate suites offered");
        assert!(s.calls.contains(&"network_init_tls(none)"));
        assert!(!s.calls.contains(&"network_set_server_cert"));
        let c = &s.connects[0];
        assert_eq!(
            (c.domain.as_str(), c.port),
            ("LD8S5J1L07.iotcloud.tencentdevices.com", 8883)
        );
    });
}

#[test]
fn the_endpoints_psk_is_used_instead_of_the_transports_own() {
    use iotcloud_core::transport::Psk;
    let _g = fake::lock();
    let mut t = AdapterTransport::new()
        .unwrap()
        .with_psk(b"transport-id", b"TRANSPORTKEY")
        .unwrap();
    let mut from_endpoint_buf = [0u8; 128];
    let from_endpoint = Psk::write(&mut from_endpoint_buf, "LD8S5J1L07test", PSK_KEY).unwrap();
    run(t.connect(&Endpoint::tls("h", 8883, ServerAuth::Psk(from_endpoint)))).unwrap();
    run(t.close());
    // A TLS endpoint without a key of its own gets the transport's: a new control block.
    run(t.connect(&Endpoint::tls("h", 8883, ServerAuth::NoVerification))).unwrap();
    fake::with(|s| {
        assert_eq!(
            s.psk_seen,
            vec![
                (PSK_ID.to_vec(), PSK_KEY.to_vec()),
                (b"transport-id".to_vec(), b"TRANSPORTKEY".to_vec())
            ]
        );
    });
    // An endpoint key too long for the SDK's mbedTLS is refused by name.
    let long = [b'k'; 33];
    let mut too_long_buf = [0u8; 128];
    let too_long = Psk::write(&mut too_long_buf, "LD8S5J1L07test", &long).unwrap();
    let err = run(t.connect(&Endpoint::tls("h", 8883, ServerAuth::Psk(too_long)))).unwrap_err();
    assert_eq!(err, NetError::InvalidPsk);
}

/// With `public-roots` (`cargo xtask test` runs this file with it), `DefaultRoots` is the
/// bundled set: the server is verified, against exactly those roots.
#[cfg(feature = "public-roots")]
#[test]
fn default_roots_are_the_bundled_public_roots() {
    let _g = fake::lock();
    let mut t = AdapterTransport::new().unwrap();
    run(t.connect(&Endpoint::tls("h", 1, ServerAuth::DefaultRoots))).unwrap();
    fake::with(|s| {
        assert!(s.calls.contains(&"network_init_tls(required)"));
        let bundle = hal_ec618::PUBLIC_ROOTS_PEM;
        let text = std::str::from_utf8(bundle).unwrap();
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert_eq!(s.ca_seen.last().map(Vec::as_slice), Some(bundle));
    });
}
