use serde_json::{Value, json};

use super::client::{Answer, host, post};
use crate::sign::{tencent_decrypt_payload, tencent_legacy_signature, tencent_register_signature};
use crate::{Accounts, Emulator, Fault, TencentAuthMode, TencentDevice, TencentProduct};

// The LuatOS demo product (luatos-iotcloud.md §6).
const PID: &str = "ZAJCHA24SH";
const SECRET: &str = "vGGwnSkyM4eD5ddbNrQoGJox";
const DN: &str = "869329069169988";
const PSK: &str = "xNWcxDX0qzSM74oFteehvw==";
const NOW: u64 = 1_700_000_000;

fn product() -> TencentProduct {
    TencentProduct::new(PID, SECRET).with_device(TencentDevice::new(DN, PSK))
}

fn emulator(product: TencentProduct) -> Emulator {
    Emulator::start(Accounts {
        tencent: vec![product],
        now: Some(NOW),
        ..Accounts::default()
    })
}

/// A correctly signed `/device/register` call, with knobs to break it.
fn register_with(
    emu: &Emulator,
    algorithm: &str,
    timestamp: u64,
    secret: &str,
    dn: &str,
) -> Answer {
    let body = json!({"ProductId": PID, "DeviceName": dn}).to_string();
    let ts = timestamp.to_string();
    let sig = tencent_register_signature(secret, &host(emu), algorithm, &ts, "7", body.as_bytes())
        .unwrap();
    let headers = [
        ("Content-Type", "application/json"),
        ("X-TC-Algorithm", algorithm),
        ("X-TC-Timestamp", ts.as_str()),
        ("X-TC-Nonce", "7"),
        ("X-TC-Signature", sig.as_str()),
    ];
    post(emu, "/device/register", &headers, body.as_bytes())
}

fn register(emu: &Emulator) -> Answer {
    register_with(emu, "hmacsha256", NOW, SECRET, DN)
}

fn error_code(answer: &Answer) -> String {
    assert_eq!(answer.status, 200);
    let v = answer.json();
    assert!(v["Response"]["RequestId"].is_string(), "{v}");
    v["Response"]["Error"]["Code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn decrypted(response: &Value) -> Value {
    let payload = response["Payload"].as_str().unwrap();
    let plain = tencent_decrypt_payload(SECRET, payload).unwrap();
    assert_eq!(response["Len"].as_u64(), Some(plain.len() as u64));
    serde_json::from_slice(&plain).unwrap()
}

#[test]
fn current_api_hands_out_the_psk_encrypted_with_the_product_secret() {
    let emu = emulator(product());
    let answer = register(&emu);
    assert_eq!(answer.status, 200);
    let v = answer.json();
    assert!(v["Response"]["RequestId"].is_string());
    assert!(v["Response"]["Error"].is_null());
    assert_eq!(
        decrypted(&v["Response"]),
        json!({"encryptionType": 2, "psk": PSK})
    );
    let mut accounts = emu.accounts();
    let device = accounts.tencent_product(PID).unwrap().device(DN).unwrap();
    assert_eq!(device.registrations, 1);
    assert!(!device.activated);
}

#[test]
fn current_api_accepts_hmacsha1_and_the_documented_camel_case_name() {
    let emu = emulator(product());
    assert_eq!(
        error_code(&register_with(&emu, "hmacsha1", NOW, SECRET, DN)),
        ""
    );
    assert_eq!(
        error_code(&register_with(&emu, "HmacSha256", NOW, SECRET, DN)),
        ""
    );
}

#[test]
fn current_api_hands_out_certificate_and_key_in_certificate_mode() {
    let mut p = TencentProduct::new(PID, SECRET).with_device(TencentDevice::with_certificate(
        DN,
        "CERT-PEM\n",
        "KEY-PEM\n",
    ));
    p.auth_mode = TencentAuthMode::Certificate;
    let emu = emulator(p);
    let v = register(&emu).json();
    assert_eq!(
        decrypted(&v["Response"]),
        json!({"encryptionType": 1, "clientCert": "CERT-PEM\n", "clientKey": "KEY-PEM\n"})
    );
}

#[test]
fn current_api_rejects_a_wrong_secret_or_a_different_host() {
    let emu = emulator(product());
    let wrong = register_with(&emu, "hmacsha256", NOW, "another-secret-16b", DN);
    assert_eq!(error_code(&wrong), "AuthFailure.SignatureFailure");

    let body = json!({"ProductId": PID, "DeviceName": DN}).to_string();
    let sig = tencent_register_signature(
        SECRET,
        "ap-guangzhou.gateway.tencentdevices.com",
        "hmacsha256",
        "1700000000",
        "7",
        body.as_bytes(),
    )
    .unwrap();
    let headers = [
        ("X-TC-Algorithm", "hmacsha256"),
        ("X-TC-Timestamp", "1700000000"),
        ("X-TC-Nonce", "7"),
        ("X-TC-Signature", sig.as_str()),
    ];
    let answer = post(&emu, "/device/register", &headers, body.as_bytes());
    assert_eq!(error_code(&answer), "AuthFailure.SignatureFailure");
}

#[test]
fn current_api_allows_300_seconds_of_clock_skew_and_no_more() {
    let emu = emulator(product());
    for ts in [NOW - 300, NOW + 300] {
        assert_eq!(
            error_code(&register_with(&emu, "hmacsha256", ts, SECRET, DN)),
            ""
        );
    }
    for ts in [NOW - 301, NOW + 301, 0] {
        let answer = register_with(&emu, "hmacsha256", ts, SECRET, DN);
        assert_eq!(error_code(&answer), "AuthFailure.SignatureExpire");
    }
}

#[test]
fn current_api_reports_unknown_products_and_devices() {
    let emu = Emulator::start(Accounts {
        tencent: vec![TencentProduct::new("OTHERPID00", SECRET)],
        now: Some(NOW),
        ..Accounts::default()
    });
    assert_eq!(
        error_code(&register(&emu)),
        "ResourceNotFound.ProductNotExist"
    );

    let emu = emulator(TencentProduct::new(PID, SECRET));
    assert_eq!(
        error_code(&register(&emu)),
        "ResourceNotFound.DeviceNotExist"
    );
}

#[test]
fn current_api_refuses_when_dynamic_registration_is_off() {
    let mut p = product();
    p.dynamic_registration = false;
    let emu = emulator(p);
    assert_eq!(
        error_code(&register(&emu)),
        "UnauthorizedOperation.DynamicRegisterDisabled"
    );
}

#[test]
fn a_device_registered_again_after_activation_is_refused() {
    let emu = emulator(product());
    assert_eq!(error_code(&register(&emu)), "");
    assert_eq!(
        error_code(&register(&emu)),
        "",
        "not yet activated: may register again"
    );
    emu.with_accounts(|a| {
        a.tencent_product(PID)
            .unwrap()
            .device(DN)
            .unwrap()
            .activated = true
    });
    assert_eq!(
        error_code(&register(&emu)),
        "FailedOperation.DeviceAlreadyActivated"
    );
    let mut accounts = emu.accounts();
    assert_eq!(
        accounts
            .tencent_product(PID)
            .unwrap()
            .device(DN)
            .unwrap()
            .registrations,
        2
    );
}

#[test]
fn with_activate_on_register_the_second_registration_is_refused() {
    let emu = Emulator::start(Accounts {
        tencent: vec![product()],
        now: Some(NOW),
        activate_on_register: true,
        ..Accounts::default()
    });
    assert_eq!(error_code(&register(&emu)), "");
    assert_eq!(
        error_code(&register(&emu)),
        "FailedOperation.DeviceAlreadyActivated"
    );
}

#[test]
fn automatic_creation_registers_unknown_device_names() {
    let mut p = TencentProduct::new(PID, SECRET);
    p.auto_create = true;
    let emu = emulator(p);
    let v = register_with(&emu, "hmacsha256", NOW, SECRET, "new-device").json();
    let plain = decrypted(&v["Response"]);
    assert_eq!(plain["encryptionType"], 2);
    assert_eq!(plain["psk"].as_str().unwrap().len(), 24);
    let mut accounts = emu.accounts();
    assert!(
        accounts
            .tencent_product(PID)
            .unwrap()
            .device("new-device")
            .is_some()
    );
}

#[test]
fn current_api_reports_missing_and_invalid_parameters() {
    let emu = emulator(product());
    let body = json!({"ProductId": PID, "DeviceName": DN}).to_string();
    let answer = post(
        &emu,
        "/device/register",
        &[("X-TC-Algorithm", "hmacsha256")],
        body.as_bytes(),
    );
    assert_eq!(error_code(&answer), "MissingParameter");

    let headers = [
        ("X-TC-Algorithm", "hmacmd5"),
        ("X-TC-Timestamp", "1700000000"),
        ("X-TC-Nonce", "7"),
        ("X-TC-Signature", "x"),
    ];
    let answer = post(&emu, "/device/register", &headers, body.as_bytes());
    assert_eq!(error_code(&answer), "InvalidParameterValue");
    let headers = [
        ("X-TC-Algorithm", "hmacsha256"),
        ("X-TC-Timestamp", "1700000000"),
        ("X-TC-Nonce", "7"),
        ("X-TC-Signature", "x"),
    ];
    let answer = post(&emu, "/device/register", &headers, b"not json");
    assert_eq!(error_code(&answer), "InvalidParameterValue");
}

/// A legacy `/register/dev` body signed with `secret`.
fn legacy_body(secret: &str, dn: &str, nonce: u64, timestamp: u64) -> Vec<u8> {
    let sig = tencent_legacy_signature(secret, dn, &nonce.to_string(), PID, &timestamp.to_string());
    json!({"deviceName": dn, "nonce": nonce, "productId": PID, "timestamp": timestamp, "signature": sig})
        .to_string()
        .into_bytes()
}

fn legacy(emu: &Emulator, body: &[u8]) -> Value {
    let answer = post(
        emu,
        "/register/dev",
        &[("Content-Type", "application/json;charset=UTF-8")],
        body,
    );
    assert_eq!(answer.status, 200);
    answer.json()
}

#[test]
fn legacy_api_accepts_the_luatos_vector_signature_and_answers_in_lower_case() {
    let emu = emulator(product());
    let body = legacy_body(SECRET, DN, 42, NOW);
    let sent: Value = serde_json::from_slice(&body).unwrap();
    // luatos-iotcloud.md §6: the exact signature LuatOS sends for these inputs.
    assert_eq!(
        sent["signature"],
        "YjNiZjg5Y2E1NjU5NTA2YjlkYTlkOWM0NjNhMTUyNWFiMGE5ZmNkNQ=="
    );
    let v = legacy(&emu, &body);
    assert_eq!(v["code"], 0);
    assert_eq!(v["message"], "");
    let plain = tencent_decrypt_payload(SECRET, v["payload"].as_str().unwrap()).unwrap();
    assert_eq!(v["len"].as_u64(), Some(plain.len() as u64));
    // luatos-iotcloud.md §6: the payload vector's plaintext.
    assert_eq!(
        plain,
        br#"{"encryptionType":2,"psk":"xNWcxDX0qzSM74oFteehvw=="}"#
    );
    assert_eq!(
        v["payload"],
        "Iz78oEUYqS/KeCpEONRHLnMNimI12TmctcvQdPwKARalfznUB8bABRPgZw7MXto2U4AwnXeR2fR8JSJnj9a+kg=="
    );
}

#[test]
fn legacy_api_reports_each_failure_with_its_code() {
    let emu = emulator(product());
    assert_eq!(
        legacy(&emu, &legacy_body("wrong-secret-xxxxxx", DN, 1, NOW))["code"],
        1002
    );
    assert_eq!(
        legacy(&emu, &legacy_body(SECRET, DN, 1, NOW - 301))["code"],
        1003
    );
    assert_eq!(
        legacy(&emu, &legacy_body(SECRET, "ghost", 1, NOW))["code"],
        1005
    );
    assert_eq!(legacy(&emu, b"{")["code"], 1001);
    assert_eq!(legacy(&emu, br#"{"deviceName":"x"}"#)["code"], 1001);
    let float_nonce = json!({"deviceName": DN, "nonce": 1.5, "productId": PID,
        "timestamp": NOW, "signature": "x"});
    assert_eq!(
        legacy(&emu, float_nonce.to_string().as_bytes())["code"],
        1001
    );
    assert!(
        legacy(&emu, b"{")["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    emu.with_accounts(|a| a.tencent_product(PID).unwrap().dynamic_registration = false);
    assert_eq!(legacy(&emu, &legacy_body(SECRET, DN, 1, NOW))["code"], 1006);
    emu.with_accounts(|a| {
        let p = a.tencent_product(PID).unwrap();
        p.dynamic_registration = true;
        p.device(DN).unwrap().activated = true;
    });
    assert_eq!(legacy(&emu, &legacy_body(SECRET, DN, 1, NOW))["code"], 1007);

    let other = Emulator::start(Accounts {
        now: Some(NOW),
        ..Accounts::default()
    });
    assert_eq!(
        legacy(&other, &legacy_body(SECRET, DN, 1, NOW))["code"],
        1004
    );
}

#[test]
fn legacy_api_tolerates_quoted_numbers() {
    let emu = emulator(product());
    let sig = tencent_legacy_signature(SECRET, DN, "42", PID, "1700000000");
    let body = json!({"deviceName": DN, "nonce": "42", "productId": PID,
        "timestamp": "1700000000", "signature": sig});
    assert_eq!(legacy(&emu, body.to_string().as_bytes())["code"], 0);
}

#[test]
fn payload_faults_use_the_format_of_the_endpoint_hit() {
    let emu = emulator(product());
    emu.fail_next(Fault::tencent_payload_partial_block());
    let v = legacy(&emu, &legacy_body(SECRET, DN, 1, NOW));
    assert_eq!(v["code"], 0);
    assert!(tencent_decrypt_payload(SECRET, v["payload"].as_str().unwrap()).is_err());

    emu.fail_next(Fault::tencent_payload_wrong_key());
    let v = register(&emu).json();
    let plain =
        tencent_decrypt_payload(SECRET, v["Response"]["Payload"].as_str().unwrap()).unwrap();
    assert!(serde_json::from_slice::<Value>(&plain).is_err());

    emu.fail_next(Fault::tencent_payload_not_base64());
    let v = register(&emu).json();
    assert!(tencent_decrypt_payload(SECRET, v["Response"]["Payload"].as_str().unwrap()).is_err());

    // Faults replace the answer, not the bookkeeping of a real registration.
    let mut accounts = emu.accounts();
    assert_eq!(
        accounts
            .tencent_product(PID)
            .unwrap()
            .device(DN)
            .unwrap()
            .registrations,
        0
    );
}
