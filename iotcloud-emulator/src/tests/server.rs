use std::net::TcpStream;
use std::time::Duration;

use super::client::{parse, post, raw, request};
use crate::{Accounts, AliyunDevice, AliyunProduct, Emulator, Fault};

fn emulator() -> Emulator {
    Emulator::start(Accounts {
        aliyun: vec![AliyunProduct::new("pk", "ps").with_device(AliyunDevice::new("dn", "ds"))],
        ..Accounts::default()
    })
}

#[test]
fn url_and_port_name_the_loopback_listener() {
    let emu = emulator();
    assert_eq!(emu.url(), format!("http://127.0.0.1:{}", emu.port()));
    assert!(emu.addr().ip().is_loopback());
}

#[test]
fn every_request_is_recorded_with_method_path_headers_and_body() {
    let emu = emulator();
    post(&emu, "/nowhere?x=1", &[("X-Test", "yes")], b"hello");
    let seen = emu.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/nowhere?x=1");
    assert_eq!(seen[0].header("x-test"), Some("yes"));
    assert_eq!(seen[0].body, b"hello");
}

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let emu = emulator();
    assert_eq!(post(&emu, "/nowhere", &[], b"").status, 404);
    assert_eq!(
        request(&emu, "GET", "/auth/register/device", &[], b"").status,
        405
    );
    assert_eq!(
        request(&emu, "PUT", "/v5/iot/p/devices", &[], b"").status,
        405
    );
}

#[test]
fn malformed_requests_get_400_and_the_server_keeps_serving() {
    let emu = emulator();
    for bytes in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
    ] {
        let answer = parse(&raw(&emu, bytes));
        assert_eq!(answer.status, 400);
    }
    assert_eq!(
        parse(&raw(
            &emu,
            b"POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"
        ))
        .status,
        413
    );
    assert!(emu.requests().is_empty());
    assert_eq!(post(&emu, "/nowhere", &[], b"").status, 404);
}

#[test]
fn requests_are_served_concurrently() {
    let emu = emulator();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| assert_eq!(post(&emu, "/nowhere", &[], b"x").status, 404));
        }
    });
    assert_eq!(emu.requests().len(), 8);
}

#[test]
fn faults_replace_one_answer_each_in_order() {
    let emu = emulator();
    emu.fail_next(Fault::non_json());
    emu.fail_next(Fault::Huge { len: 100_000 });
    let html = post(&emu, "/auth/register/device", &[], b"");
    assert_eq!(
        (html.status, html.header("Content-Type")),
        (200, Some("text/html"))
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&html.body).is_err());
    let huge = post(&emu, "/auth/register/device", &[], b"");
    assert_eq!(huge.body.len(), 100_000);
    // The queue is empty again: a normal answer.
    assert_eq!(
        post(&emu, "/auth/register/device", &[], b"").json()["code"],
        460
    );
    assert_eq!(emu.requests().len(), 3, "faulted requests are recorded too");
}

#[test]
fn a_truncated_answer_announces_more_than_it_sends() {
    let emu = emulator();
    emu.fail_next(Fault::truncated());
    let bytes = raw(
        &emu,
        b"POST /device/create HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("Content-Length: 100"));
    assert!(body.len() < 100);
}

#[test]
fn raw_close_and_stall_faults() {
    let emu = emulator();
    emu.fail_next(Fault::Raw(b"HTTP/1.1 200 OK\r\n\r\n{\"code\":0".to_vec()));
    emu.fail_next(Fault::Close);
    emu.fail_next(Fault::Stall(Duration::from_millis(50)));
    let req = b"POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(raw(&emu, req), b"HTTP/1.1 200 OK\r\n\r\n{\"code\":0");
    assert!(raw(&emu, req).is_empty());
    let started = std::time::Instant::now();
    assert!(raw(&emu, req).is_empty());
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[test]
fn a_fault_for_a_path_waits_for_that_path() {
    let emu = emulator();
    emu.fail_next_on("/v5/iot/", Fault::non_json());
    assert_eq!(post(&emu, "/v3/auth/tokens", &[], b"{").status, 400);
    let faulted = post(&emu, "/v5/iot/p/devices", &[], b"");
    assert_eq!(faulted.header("Content-Type"), Some("text/html"));
}

#[test]
fn dropping_the_emulator_stops_the_listener() {
    let emu = emulator();
    let addr = emu.addr();
    drop(emu);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

/// A refused CONNECT is logged with the client id as received, its control characters
/// escaped: a client id cannot clear the operator's terminal or forge a log line.
#[test]
fn client_ids_reach_the_log_escaped() {
    use std::io::{Read as _, Write as _};
    use std::sync::{Arc, Mutex};

    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let emu = crate::CloudEmulator::start_logged(
        crate::Accounts::default(),
        &[crate::Cloud::Tlink],
        move |line| sink.lock().unwrap().push(line.to_owned()),
    )
    .unwrap();
    let port = emu.mqtt_port(crate::Cloud::Tlink).unwrap();
    let id = b"evil\x1b[2J\r\nfake line";
    let mut connect = vec![0x10, (12 + id.len()) as u8];
    connect.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60]);
    connect.extend_from_slice(&[0, id.len() as u8]);
    connect.extend_from_slice(id);
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(&connect).unwrap();
    let mut connack = [0u8; 4];
    tcp.read_exact(&mut connack).unwrap();
    assert_ne!(connack[3], 0, "refused");
    let logged = lines.lock().unwrap().join("\n");
    assert!(
        logged.contains("evil\\u{1b}[2J\\u{d}\\u{a}fake line"),
        "{logged}"
    );
    assert!(
        !logged.contains('\u{1b}') && !logged.contains('\r'),
        "{logged}"
    );
}

/// Idle connections beyond [`crate::MAX_CONNECTIONS`] are closed at once, and the broker
/// serves again once they are gone.
#[test]
fn a_flood_of_idle_connections_is_capped() {
    use std::io::{Read as _, Write as _};

    let emu = crate::CloudEmulator::start(Accounts::default(), &[crate::Cloud::Tlink]).unwrap();
    let port = emu.mqtt_port(crate::Cloud::Tlink).unwrap();
    let mut idle: Vec<TcpStream> = (0..crate::MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // Give the accept thread time to take them all.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(("127.0.0.1", port)).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut byte = [0u8; 1];
    // Closed (not merely silent, which would end in a timeout after 2 s).
    match extra.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the connection over the cap is still open: {other:?}"),
    }
    idle.clear();
    std::thread::sleep(Duration::from_millis(300));
    // Served again: a CONNECT gets its CONNACK (a refusal: the device is unknown).
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(&[
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'x',
    ])
    .unwrap();
    let mut connack = [0u8; 4];
    tcp.read_exact(&mut connack).unwrap();
    assert_eq!(connack[0], 0x20);
}
