//! `--verbose`: the device's trace (the SDK's `log` feature) on standard error, as the
//! binary prints it against a local mosquitto — the connect, the CONNACK, subscriptions,
//! publish ids and their acknowledgements, a loss and the reconnect — and never a password,
//! a user name, a device secret, a signature or a payload.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use iotcloud_testkit::Broker;

fn iotcloud(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(args)
        .output()
        .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_string()).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The longest run of hexadecimal digits in `text`: a signature or a key would be one.
fn longest_hex_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[test]
fn verbose_traces_a_publish_and_never_the_login() {
    let broker = Broker::start();
    let port = broker.port;
    let mut args = strings(&[
        "pub",
        "mqtt",
        "host=127.0.0.1",
        "tls=false",
        "client_id=tracer",
        "username=alice-token",
        "password=hunter2-secret",
        "topic=trace/t",
        "payload=confidential",
        "count=2",
    ]);
    args.push(format!("port={port}"));
    let quiet = iotcloud(&args);
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    assert!(
        !stderr(&quiet).contains("trace:"),
        "a trace without --verbose: {}",
        stderr(&quiet)
    );

    args.push("-v".into());
    let out = iotcloud(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for expected in [
        format!("trace: connecting to 127.0.0.1:{port} (TCP)"),
        "trace: CONNECT as client tracer, keep-alive".into(),
        "trace: CONNACK Accepted, session present: false".into(),
        "trace: PUBLISH trace/t (QoS AtLeastOnce, 12 bytes) as packet 1".into(),
        "trace: PUBLISH trace/t (QoS AtLeastOnce, 12 bytes) as packet 2".into(),
        "trace: packet 1 acknowledged".into(),
        "trace: packet 2 acknowledged".into(),
        "trace: disconnecting".into(),
    ] {
        assert!(err.contains(&expected), "no `{expected}` in:\n{err}");
    }
    for secret in ["hunter2", "alice-token", "confidential"] {
        assert!(!err.contains(secret), "`{secret}` in the trace:\n{err}");
    }
}

#[test]
fn verbose_never_shows_a_cloud_secret_or_signature() {
    let broker = Broker::start();
    let store = tempfile::tempdir().unwrap();
    let mut args = strings(&[
        "pub",
        "aliyun",
        "product_id=a1TraceKey",
        "device_name=tracer",
        "device_secret=0123456789abcdefSECRETvalue",
        "host=127.0.0.1",
        "tls=false",
        "topic=/a1TraceKey/tracer/user/update",
        "payload=1",
        "-v",
    ]);
    args.push(format!("port={}", broker.port));
    args.push(format!("store={}", store.path().display()));
    let out = iotcloud(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("trace: CONNACK Accepted"), "{err}");
    // The client id is traced; Aliyun's names its sign method, not the signature.
    assert!(
        err.contains("trace: CONNECT as client a1TraceKey.tracer|"),
        "{err}"
    );
    assert!(!err.contains("SECRETvalue"), "the device secret in:\n{err}");
    // An HMAC-SHA256 signature is 64 hex digits; the longest run here is a timestamp.
    assert!(
        longest_hex_run(&err) < 20,
        "a signature-like run in:\n{err}"
    );
}

#[test]
fn verbose_traces_subscriptions_a_loss_and_the_reconnect() {
    let mut broker = Broker::start();
    let mut args = strings(&[
        "sub",
        "mqtt",
        "host=127.0.0.1",
        "tls=false",
        "client_id=trace-sub",
        "topic=trace/#",
        "seconds=8",
        "floor_ms=50",
        "cap_ms=200",
        "-v",
    ]);
    args.push(format!("port={}", broker.port));
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |wanted: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!("no `{wanted}` in:\n{}", seen.join("\n"));
            };
            let found = line.contains(wanted);
            seen.push(line);
            if found {
                return;
            }
        }
    };
    wait_for("trace: SUBSCRIBE trace/# (QoS AtLeastOnce) as packet 1");
    wait_for("trace: SUBACK for packet 1");
    broker.restart();
    wait_for("trace: connection lost: PeerClosed");
    wait_for("trace: connection attempt 2 (Lost(PeerClosed))");
    wait_for("trace: CONNACK Accepted");
    let _ = child.kill();
    let _ = child.wait();
}
