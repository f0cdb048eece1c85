//! `iotcloud pub` and `iotcloud sub` against a local mosquitto that is restarted while
//! messages flow: `pub` exits 0 only once every message is acknowledged, `sub` prints what
//! arrives, and `pub` gives up with a clear error when no broker ever answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use iotcloud_testkit::Broker;

fn iotcloud(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_iotcloud"));
    c.args(args);
    c
}

#[test]
fn pub_survives_a_broker_restart_and_sub_prints_what_arrives() {
    let mut broker = Broker::start();
    let port = format!("port={}", broker.port);
    let store = tempfile::tempdir().unwrap();
    let store = format!("store={}", store.path().display());
    let common = |name: &'static str| {
        vec![
            "aliyun".to_string(),
            "product_id=a1PubSub".into(),
            format!("device_name={name}"),
            "device_secret=s3cret".into(),
            "host=127.0.0.1".into(),
            port.clone(),
            "tls=false".into(),
            store.clone(),
            "floor_ms=50".into(),
            "cap_ms=400".into(),
        ]
    };

    let mut sub_args = vec!["sub".to_string()];
    sub_args.extend(common("listener"));
    sub_args.extend(["topic=cli/seq/#".into(), "seconds=4".into()]);
    let mut sub = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(&sub_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the subscriber to be connected before publishing.
    let (tx, rx) = mpsc::channel();
    let sub_err = sub.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(sub_err).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    loop {
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        if line.starts_with("connected") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(200));

    let mut pub_args = vec!["pub".to_string()];
    pub_args.extend(common("sender"));
    pub_args.extend([
        "topic=cli/seq/a".into(),
        "count=150".into(),
        "qos=1".into(),
        "interval=10".into(),
        "payload=n={seq}".into(),
    ]);
    let publisher = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(&pub_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    broker.stop();
    std::thread::sleep(Duration::from_millis(300));
    broker.start_again();

    let out = publisher.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with(r#"{"published":150,"acknowledged":150,"seconds":"#),
        "{stdout}"
    );
    // It saw the broker go, tried again, and came back.
    assert!(stderr.contains("disconnected: "), "{stderr}");
    assert!(stderr.contains("connecting: attempt "), "{stderr}");
    assert!(
        stderr.matches("connected session_present=").count() >= 2,
        "{stderr}"
    );

    let sub_out = sub.wait_with_output().unwrap();
    assert!(sub_out.status.success());
    let printed = String::from_utf8_lossy(&sub_out.stdout);
    let seqs: Vec<u32> = printed
        .lines()
        .map(|l| {
            let rest = l
                .strip_prefix("cli/seq/a n=")
                .unwrap_or_else(|| panic!("{l}"));
            rest.parse().unwrap()
        })
        .collect();
    // Before the restart and long after it: the subscriber came back too.
    assert!(seqs.contains(&0), "{seqs:?}");
    assert!(seqs.contains(&149), "{seqs:?}");
}

#[test]
fn pub_gives_up_with_a_clear_error_when_no_broker_answers() {
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = tempfile::tempdir().unwrap();
    let out = iotcloud(&[
        "pub",
        "tlink",
        "product_id=user",
        "product_secret=pw",
        "device_name=SN123",
        "host=127.0.0.1",
        &format!("port={port}"),
        "tls=false",
        &format!("store={}", store.path().display()),
        "topic=SN123",
        "count=3",
        "seconds=1",
        "floor_ms=100",
        "cap_ms=200",
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("gave up after 1 s: 0 of 3 published, 0 acknowledged (never connected)"),
        "{stderr}"
    );
    assert!(stderr.contains("connect attempt 1 failed: "), "{stderr}");
    assert!(stderr.contains("connect attempt 3 failed: "), "{stderr}");
    assert!(!stderr.contains("pw"), "{stderr}");
}

/// `iotcloud sub` as a Tlink device on the local broker, for one message on `topic`;
/// returns once it is connected, with its stderr lines.
fn spawn_sub(
    port: u16,
    device: &str,
    topic: &str,
) -> (std::process::Child, mpsc::Receiver<String>) {
    spawn_connected(&[
        "sub",
        "tlink",
        "product_id=user",
        "product_secret=pw",
        &format!("device_name={device}"),
        "host=127.0.0.1",
        &format!("port={port}"),
        "tls=false",
        &format!("topic={topic}"),
        "count=1",
        "seconds=10",
    ])
}

/// `iotcloud sub` with `args`; returns once it says it is subscribed (so that what is sent
/// from then on arrives), with its stderr lines.
fn spawn_connected(args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = iotcloud(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    while !rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .starts_with("subscribed ")
    {}
    (child, rx)
}

/// Publishes `messages` at QoS 0 from a device of the test's own.
fn send(port: u16, messages: &[(&str, &[u8])]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut sender = iotcloud_testkit::connect(
            iotcloud_testkit::provider(port, "cli-test-sender"),
            iotcloud_testkit::memory(1024, 32 * 1024, 1024),
        )
        .await;
        for (topic, payload) in messages {
            sender
                .publish(topic, payload, iotcloud_core::QoS::AtMostOnce)
                .await
                .unwrap();
        }
        sender.disconnect().await;
    });
}

/// One message too large for `sub`'s receive buffer is skipped with a line on stderr; `sub`
/// stays connected and prints what comes after.
#[test]
fn sub_skips_an_oversized_message_and_goes_on() {
    let broker = Broker::start();
    let (sub, rx) = spawn_sub(broker.port, "BIG1", "cli/big");
    let big = vec![b'x'; 17_000];
    send(broker.port, &[("cli/big", &big), ("cli/big", b"after")]);
    let out = sub.wait_with_output().unwrap();
    let stderr: Vec<String> = rx.try_iter().collect();
    assert_eq!(out.status.code(), Some(0), "{stderr:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cli/big after\n");
    assert!(
        stderr
            .iter()
            .any(|l| l.starts_with("skipped: incoming packet of 17")),
        "{stderr:?}"
    );
}

/// Topics and payloads reach the terminal with their control characters escaped: a
/// message cannot clear the screen, recolour it or forge a line of output.
#[test]
fn sub_escapes_what_could_act_on_a_terminal() {
    let broker = Broker::start();
    let (sub, rx) = spawn_sub(broker.port, "ESC1", "cli/esc/#");
    send(
        broker.port,
        // mosquitto refuses control characters in topics (a hostile broker need not):
        // the topic carries a right-to-left override instead.
        &[("cli/esc/\u{202e}gpj.exe", b"\x1b[31mred\rforged line\n\x07")],
    );
    let out = sub.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr: Vec<String> = rx.try_iter().collect();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {stderr:?}\n{}",
        broker.log()
    );
    assert_eq!(
        stdout,
        "cli/esc/\\u{202e}gpj.exe \\u{1b}[31mred\\u{d}forged line\\u{a}\\u{7}\n",
        "{stderr:?}\n{}",
        broker.log()
    );
}

/// `mqtt` is a cloud like the others: `pub` to a standard broker, signed in with a user
/// name and password, and `sub` receives it.
#[test]
fn pub_and_sub_work_against_a_plain_broker() {
    let broker = Broker::start();
    let port = format!("port={}", broker.port);
    let (sub, _stderr) = spawn_connected(&[
        "sub",
        "mqtt",
        "host=127.0.0.1",
        &port,
        "tls=false",
        "client_id=plain-sub",
        "topic=plain/t",
        "count=2",
        "seconds=10",
    ]);
    let out = iotcloud(&[
        "pub",
        "mqtt",
        "host=127.0.0.1",
        &port,
        "tls=false",
        "client_id=plain-pub",
        "username=alice",
        "password=s3cret",
        "topic=plain/t",
        "count=2",
        "qos=1",
        "payload=n={seq}",
    ])
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"acknowledged\":2"));
    let got = sub.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        "plain/t n=0\nplain/t n=1\n"
    );
    assert!(broker.log().contains("u'alice'"), "{}", broker.log());
}

#[test]
fn sub_prints_one_json_object_per_message_with_every_control_character_escaped() {
    let broker = Broker::start();
    let port = broker.port.to_string();
    let (child, _stderr) = spawn_connected(&[
        "sub",
        "tlink",
        "product_id=user",
        "product_secret=pw",
        "device_name=json-sub",
        "host=127.0.0.1",
        &format!("port={port}"),
        "tls=false",
        "topic=json-sub/#",
        "count=2",
        "seconds=10",
        "format=json",
    ]);
    send(
        broker.port,
        &[
            ("json-sub/a", "hi \u{1b}[2J\u{7f}\u{85}".as_bytes()),
            ("json-sub/b", &[0xff, 0x00, 0x41]),
        ],
    );
    let out = child.wait_with_output().unwrap();
    let stdout = out.stdout.clone();
    assert!(
        !stdout.iter().any(|&b| b == 0x1b || b == 0x7f),
        "{stdout:?}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["topic"], "json-sub/a");
    assert_eq!(lines[0]["payload"], "hi \u{1b}[2J\u{7f}\u{85}");
    assert_eq!(lines[0]["qos"], 0);
    assert_eq!(lines[1]["payload_hex"], "ff0041");
    assert!(lines[1].get("payload").is_none());
}
