//! `iotcloud register` against the local registration emulator, and `iotcloud sign` with
//! what it stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use iotcloud_emulator::{Accounts, AliyunDevice, AliyunProduct, Emulator};
use serde_json::Value;

const PK: &str = "a1B2c3D4e5f";
const PS: &str = "AbCdEfGhIjKlMnOp";

fn iotcloud(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn emulator() -> Emulator {
    Emulator::start(Accounts {
        aliyun: vec![
            AliyunProduct::new(PK, PS).with_device(AliyunDevice::new("dev1", "the-device-secret")),
        ],
        ..Accounts::default()
    })
}

fn keys(emu: &Emulator, store: &std::path::Path, secret: &str) -> Vec<String> {
    vec![
        format!("product_id={PK}"),
        "device_name=dev1".into(),
        format!("product_secret={secret}"),
        "register_flow=https".into(),
        format!("register_url={}/auth/register/device", emu.url()),
        "tls=false".into(),
        format!("store={}", store.display()),
    ]
}

fn run(cmd: &str, args: &[String]) -> (i32, String, String) {
    let mut all = vec![cmd, "aliyun"];
    all.extend(args.iter().map(String::as_str));
    iotcloud(&all)
}

#[test]
fn register_stores_the_secret_and_sign_uses_it() {
    let emu = emulator();
    let store = tempfile::tempdir().unwrap();
    let args = keys(&emu, store.path(), PS);

    // Before registering, sign says what to do.
    let (code, _, err) = run("sign", &args);
    assert_eq!(code, 2);
    assert!(err.contains("not registered yet"), "{err}");

    let (code, out, err) = run("register", &args);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["credentials"]["deviceSecret"], "the-device-secret");
    let stored = v["stored"].as_str().unwrap();
    assert!(std::path::Path::new(stored).starts_with(store.path()));
    assert_eq!(emu.requests().len(), 1);

    // Registering again loads the stored record: no second request.
    let (code, out2, _) = run("register", &args);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out2).unwrap(), v);
    assert_eq!(emu.requests().len(), 1);

    // sign uses the stored secret: the same as signing with it directly.
    let fixed = [&args[..], &["timestamp=1700000000".to_string()]].concat();
    let (code, out, err) = run("sign", &fixed);
    assert_eq!(code, 0, "{err}");
    let direct = [
        format!("product_id={PK}"),
        "device_name=dev1".into(),
        "device_secret=the-device-secret".into(),
        "tls=false".into(),
        "timestamp=1700000000".into(),
    ];
    let (_, expected, _) = run("sign", &direct);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::from_str::<Value>(&expected).unwrap()
    );

    // A damaged record is detected and not used.
    for entry in std::fs::read_dir(store.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let (code, _, err) = run("sign", &fixed);
    assert_eq!(code, 2);
    assert!(err.contains("corrupt"), "{err}");
}

#[test]
fn refusals_and_misuse_are_named() {
    let emu = emulator();
    let store = tempfile::tempdir().unwrap();
    let (code, _, err) = run("register", &keys(&emu, store.path(), "wrong-secret-000"));
    assert_eq!(code, 2);
    assert!(err.contains("signature or credentials refused"), "{err}");
    assert!(!err.contains("wrong-secret"), "{err}");
    assert_eq!(std::fs::read_dir(store.path()).unwrap().count(), 0);

    // Plain HTTP only with tls=false.
    let args: Vec<String> = keys(&emu, store.path(), PS)
        .into_iter()
        .filter(|a| a != "tls=false")
        .collect();
    let (code, _, err) = run("register", &args);
    assert_eq!(code, 2);
    assert!(err.contains("`register_url`"), "{err}");

    // A configuration with its own secret has nothing to register.
    let (code, _, err) = iotcloud(&[
        "register",
        "aliyun",
        "product_id=a1B2c3D4e5f",
        "device_name=dev1",
        "device_secret=s",
        &format!("store={}", store.path().display()),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("nothing to register"), "{err}");
}
