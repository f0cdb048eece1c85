//! Registration: the published vectors, the request, and every kind of answer
//! (hand-written bodies, and payloads encrypted here with Tencent's cipher), and the whole
//! exchange run by a device over a scripted transport.

use std::collections::BTreeMap;
use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use cbc::cipher::BlockModeEncrypt;
use iotcloud_core::platform::Composed;
use iotcloud_core::provider::SignContext;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::{
    Clock, Device, Error, KvStore, Memory, Provider, StoreError, TlsChoice, Transport,
};

use super::*;
use crate::{CA_PEM, PLAIN_PORT, Region, TLS_PORT, Tencent};

// luatos-iotcloud §6 "Tencent registration signature" and "… payload decryption".
const PID: &str = "ZAJCHA24SH";
const DN: &str = "869329069169988";
const SECRET: &str = "vGGwnSkyM4eD5ddbNrQoGJox";
const PAYLOAD: &str =
    "Iz78oEUYqS/KeCpEONRHLnMNimI12TmctcvQdPwKARalfznUB8bABRPgZw7MXto2U4AwnXeR2fR8JSJnj9a+kg==";
const PSK: &str = "xNWcxDX0qzSM74oFteehvw==";

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n";

fn dynamic() -> Tencent<'static> {
    Tencent::registering(PID, DN, SECRET).unwrap()
}

fn reg<'a>(t: &Tencent<'a>) -> RegisterConfig<'a> {
    t.registration_config().unwrap()
}

/// Encrypts `plain` as Tencent does: zero padding, AES-128-CBC, base64.
fn encrypt(secret: &str, plain: &[u8]) -> String {
    let mut buf = plain.to_vec();
    buf.resize(plain.len().div_ceil(16) * 16, 0);
    let ct = cbc::Encryptor::<Aes128>::new(&payload_key(secret).into(), &IV.into())
        .encrypt_padded::<NoPadding>(&mut buf, plain.len().div_ceil(16) * 16)
        .unwrap()
        .to_vec();
    format!("{}", Base64(&ct))
}

fn current_ok(payload: &str, len: usize) -> String {
    format!(r#"{{"Response":{{"Len":{len},"Payload":"{payload}","RequestId":"r-1"}}}}"#)
}

fn legacy_ok(payload: &str, len: usize) -> String {
    format!(r#"{{"code":0,"message":"","len":{len},"payload":"{payload}"}}"#)
}

/// Runs `read_answer` on `body` with the configuration `t`; the record on success. What
/// follows the body in its buffer is never touched.
fn answer(t: &Tencent<'_>, status: u16, body: &str) -> Result<Vec<u8>, AnswerError> {
    let mut buf = body.as_bytes().to_vec();
    buf.resize(body.len() + 16, 0xee);
    let mut record = [0u8; 1024];
    let result = read_answer(status, &mut buf[..body.len()], &reg(t), &mut record);
    assert!(buf[body.len()..].iter().all(|&b| b == 0xee));
    let n = result?;
    Ok(record[..n].to_vec())
}

fn rejection(result: Result<Vec<u8>, AnswerError>) -> (Rejection, String) {
    match result {
        Err(RegisterError::Rejected { reason, code }) => (reason, code.as_str().into()),
        other => panic!("not a refusal: {other:?}"),
    }
}

#[test]
fn the_legacy_signature_matches_the_luatos_vector() {
    let mac = legacy_mac(SECRET, PID, DN, 42, 1_700_000_000).unwrap();
    let mut hex = [0u8; 64];
    assert_eq!(
        hex_into(mac.as_bytes(), &mut hex),
        b"b3bf89ca5659506b9da9d9c463a1525ab0a9fcd5"
    );
    let t = dynamic().with_register_api(RegisterApi::Legacy);
    let mut buf = [0u8; 512];
    let signed = sign_request(&reg(&t), 1_700_000_000, 42, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(
        signed.signature,
        "YjNiZjg5Y2E1NjU5NTA2YjlkYTlkOWM0NjNhMTUyNWFiMGE5ZmNkNQ=="
    );
    assert_eq!(
        signed.body,
        r#"{"deviceName":"869329069169988","nonce":42,"productId":"ZAJCHA24SH","timestamp":1700000000,"signature":"YjNiZjg5Y2E1NjU5NTA2YjlkYTlkOWM0NjNhMTUyNWFiMGE5ZmNkNQ=="}"#
    );
}

#[test]
fn the_current_signature_is_the_base64_hmac_of_the_seven_lines() {
    // Recomputed independently (Python hmac/hashlib) from clouds-official §2.3.1.
    let t = dynamic();
    let mut buf = [0u8; 512];
    let signed = sign_request(&reg(&t), 1_700_000_000, 42, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(
        signed.body,
        r#"{"ProductId":"ZAJCHA24SH","DeviceName":"869329069169988"}"#
    );
    assert_eq!((signed.timestamp, signed.nonce), ("1700000000", "42"));
    assert_eq!(
        signed.signature,
        "bWMqr0IPPwwNoFG1w7BDraAevxj58FD+8IqD7FXlchU="
    );

    let t = dynamic().with_sign_method(SignMethod::HmacSha1);
    let signed = sign_request(&reg(&t), 1_700_000_000, 42, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(signed.signature, "t5S8cIyjGAsqbDFYcKqYa/fU5kI=");

    // Another host and port: the host line is the Host header, port included.
    let t = dynamic()
        .with_register_url("http://127.0.0.1:8080")
        .unwrap();
    let signed = sign_request(&reg(&t), 1_700_000_000, 42, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(
        signed.signature,
        "5tRQf5EG+5j0ARSNzSvoOdI+mhNsPNlGSMSv/wpAF7c="
    );
}

#[test]
fn the_luatos_payload_vector_decrypts_to_the_psk() {
    let mut buf = PAYLOAD.as_bytes().to_vec();
    let plain = decrypt_in_place(SECRET, &mut buf, None).unwrap();
    assert_eq!(
        plain,
        br#"{"encryptionType":2,"psk":"xNWcxDX0qzSM74oFteehvw=="}"#
    );
    let mut buf = PAYLOAD.as_bytes().to_vec();
    assert_eq!(
        decrypt_in_place(SECRET, &mut buf, Some(53)).unwrap().len(),
        53
    );
}

#[test]
fn tencents_documented_payload_example_decrypts_too() {
    // cloud.tencent.com/document/product/1081/47612, "Payload data parsing sample".
    let payload =
        "s6FB3a1BA/YYbcmSE12XpeDVmQNDcf1QgVD141RRbmmAnFwQfp1ECAu5O016mCOvYlJJ6V59yM4OqQSiWphfTg==";
    let mut buf = payload.as_bytes().to_vec();
    let plain = decrypt_in_place("hzvf5LF9S0isvBhDSauWMaIk", &mut buf, None).unwrap();
    assert_eq!(
        plain,
        br#"{"encryptionType":2,"psk":"lDZ6Uqt+I9E0wW7rvDUs7Q=="}"#
    );
}

#[test]
fn a_current_answer_with_a_psk_becomes_a_psk_record() {
    let record = answer(&dynamic(), 200, &current_ok(PAYLOAD, 53)).unwrap();
    assert_eq!(
        Registered::parse(&record),
        Some(Registered::Psk(Secret::new(PSK)))
    );
    let fields: Vec<&[u8]> = Fields::read(&record).collect();
    assert_eq!(fields, [&b"psk"[..], PSK.as_bytes()]);
}

#[test]
fn a_legacy_answer_parses_the_same_way_and_json_escapes_are_undone() {
    let t = dynamic().with_register_api(RegisterApi::Legacy);
    let record = answer(&t, 200, &legacy_ok(PAYLOAD, 53)).unwrap();
    assert_eq!(
        Registered::parse(&record),
        Some(Registered::Psk(Secret::new(PSK)))
    );
    // `\/` in the base64 payload (some JSON writers escape the slash), and no `len`.
    let escaped = PAYLOAD.replace('/', "\\/");
    let body = format!(r#"{{"code":0,"message":"","payload":"{escaped}"}}"#);
    let record = answer(&t, 200, &body).unwrap();
    assert_eq!(
        Registered::parse(&record),
        Some(Registered::Psk(Secret::new(PSK)))
    );
}

#[test]
fn a_certificate_answer_is_unescaped_into_the_record() {
    let plain = format!(
        r#"{{"encryptionType":1,"clientCert":"{}","clientKey":"{}"}}"#,
        CERT.replace('\n', "\\n"),
        KEY.replace('\n', "\\n")
    );
    let t = dynamic().with_registered_auth(AuthMode::Certificate);
    let body = current_ok(&encrypt(SECRET, plain.as_bytes()), plain.len());
    let record = answer(&t, 200, &body).unwrap();
    let expected = ClientIdentity {
        cert_pem: CERT.as_bytes(),
        key_pem: KEY.as_bytes(),
    };
    assert_eq!(
        Registered::parse(&record),
        Some(Registered::Certificate(expected))
    );
    assert_eq!(t.identity(&record), Some(expected));
    // A record too small for the PEM is said, not truncated.
    let mut buf = body.clone().into_bytes();
    let mut small = [0u8; 64];
    assert!(matches!(
        read_answer(200, &mut buf, &reg(&t), &mut small),
        Err(RegisterError::RecordTooLarge { capacity: 64, .. })
    ));
}

#[test]
fn an_answer_of_the_other_kind_is_a_configuration_error() {
    // The product hands out keys, the device expects a certificate.
    let t = dynamic().with_registered_auth(AuthMode::Certificate);
    assert!(matches!(
        answer(&t, 200, &current_ok(PAYLOAD, 53)),
        Err(RegisterError::Provider(ProviderError::InvalidValue {
            key: "registered_auth",
            ..
        }))
    ));
}

#[test]
fn payloads_that_do_not_decrypt_are_decrypt_errors() {
    let t = dynamic();
    let not_base64 = current_ok("not*base64!", 10);
    assert!(matches!(
        answer(&t, 200, &not_base64),
        Err(RegisterError::Decrypt("the payload is not valid base64"))
    ));
    // 20 bytes: not whole blocks.
    let partial = current_ok(&format!("{}", Base64(&[7u8; 20])), 20);
    assert!(matches!(
        answer(&t, 200, &partial),
        Err(RegisterError::Decrypt(
            "the payload is not a whole number of 16-byte AES blocks"
        ))
    ));
    let empty = current_ok("", 0);
    assert!(matches!(
        answer(&t, 200, &empty),
        Err(RegisterError::Decrypt(_))
    ));
    // Encrypted under another product secret: garbage, not JSON.
    let wrong_key = current_ok(
        &encrypt(
            "AnotherSecret123456789",
            br#"{"encryptionType":2,"psk":"xNWcxDX0qzSM74oFteehvw=="}"#,
        ),
        53,
    );
    assert!(matches!(
        answer(&t, 200, &wrong_key),
        Err(RegisterError::Decrypt(
            "the payload does not decrypt to JSON (wrong product secret?)"
        ))
    ));
    let long_len = current_ok(PAYLOAD, 65);
    assert!(matches!(
        answer(&t, 200, &long_len),
        Err(RegisterError::Decrypt(_))
    ));
}

#[test]
fn plaintexts_without_the_expected_fields_are_bad_responses() {
    let t = dynamic();
    for (plain, why) in [
        (
            r#"{"encryptionType":3,"psk":"xNWcxDX0qzSM74oFteehvw=="}"#,
            "unknown `encryptionType`",
        ),
        (r#"{"encryptionType":2}"#, "no `psk` in the payload"),
        (
            r#"{"encryptionType":2,"psk":"not base64!"}"#,
            "`psk` is not the base64 of a key",
        ),
    ] {
        let body = current_ok(&encrypt(SECRET, plain.as_bytes()), plain.len());
        assert!(
            matches!(answer(&t, 200, &body), Err(RegisterError::BadResponse(w)) if w == why),
            "{plain}"
        );
    }
    let t = dynamic().with_registered_auth(AuthMode::Certificate);
    let plain = r#"{"encryptionType":1,"clientCert":"-----BEGIN CERTIFICATE-----"}"#;
    let body = current_ok(&encrypt(SECRET, plain.as_bytes()), plain.len());
    assert!(matches!(
        answer(&t, 200, &body),
        Err(RegisterError::BadResponse(_))
    ));
    let plain = r#"{"encryptionType":1,"clientCert":"cert","clientKey":"key"}"#;
    let body = current_ok(&encrypt(SECRET, plain.as_bytes()), plain.len());
    assert!(matches!(
        answer(&t, 200, &body),
        Err(RegisterError::BadResponse(
            "`clientCert` or `clientKey` is not PEM"
        ))
    ));
}

#[test]
fn envelopes_that_are_not_tencents_are_bad_responses_or_statuses() {
    let t = dynamic();
    assert!(matches!(
        answer(&t, 200, "<html>gateway</html>"),
        Err(RegisterError::BadResponse("the answer is not JSON"))
    ));
    assert!(matches!(
        answer(&t, 502, "<html>bad gateway</html>"),
        Err(RegisterError::Status(502))
    ));
    assert!(matches!(
        answer(&t, 200, r#"{"hello":1}"#),
        Err(RegisterError::BadResponse(_))
    ));
    assert!(matches!(
        answer(&t, 404, r#"{"hello":1}"#),
        Err(RegisterError::Status(404))
    ));
    assert!(matches!(
        answer(&t, 200, r#"{"Response":{"RequestId":"x"}}"#),
        Err(RegisterError::BadResponse("the answer has no payload"))
    ));
    // A payload under an error status is not trusted.
    assert!(matches!(
        answer(&t, 500, &current_ok(PAYLOAD, 53)),
        Err(RegisterError::Status(500))
    ));
}

#[test]
fn tencents_error_answers_map_to_rejections() {
    let t = dynamic();
    for (code, reason) in [
        ("AuthFailure.SignatureExpire", Rejection::ClockSkew),
        ("AuthFailure.SignatureFailure", Rejection::BadCredentials),
        ("ResourceNotFound.ProductNotExist", Rejection::NotFound),
        ("ResourceNotFound.DeviceNotExist", Rejection::NotFound),
        (
            "UnauthorizedOperation.DynamicRegisterDisabled",
            Rejection::Disabled,
        ),
        (
            "FailedOperation.DeviceAlreadyActivated",
            Rejection::AlreadyActivated,
        ),
        ("InvalidParameterValue", Rejection::Other),
    ] {
        let body = format!(
            r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"m"}},"RequestId":"r"}}}}"#
        );
        // The core keeps the first 32 bytes of the code.
        let kept = &code[..code.len().min(iotcloud_core::register::MAX_CODE_LEN)];
        assert_eq!(
            rejection(answer(&t, 200, &body)),
            (reason, kept.into()),
            "{code}"
        );
        // The same under an error status.
        assert_eq!(rejection(answer(&t, 400, &body)).0, reason);
    }
    // The legacy API: a number, and a message to read.
    for (code, message, reason) in [
        (
            1003,
            "the timestamp is outside the allowed window",
            Rejection::ClockSkew,
        ),
        (
            1002,
            "signature verification failed",
            Rejection::BadCredentials,
        ),
        (1004, "the product does not exist", Rejection::NotFound),
        (1005, "设备不存在", Rejection::NotFound),
        (
            1006,
            "dynamic registration is not enabled",
            Rejection::Disabled,
        ),
        (
            1007,
            "the device is already activated",
            Rejection::AlreadyActivated,
        ),
        (-1, "", Rejection::Other),
    ] {
        let body = format!(r#"{{"code":{code},"message":"{message}"}}"#);
        assert_eq!(
            rejection(answer(&t, 200, &body)),
            (reason, format!("{code}")),
            "{message}"
        );
    }
}

#[test]
fn a_dynamic_device_signs_with_its_record_as_a_key_device_would() {
    let t = dynamic();
    let record = answer(&t, 200, &current_ok(PAYLOAD, 53)).unwrap();
    let key = Tencent::with_secret(PID, DN, PSK).unwrap();
    let mut a = [0u8; 512];
    let mut b = [0u8; 512];
    let ctx = SignContext {
        unix_time_ms: Some(1_700_000_000_000),
        random: 12345,
        registered: Some(&record),
    };
    let with_record = t.sign(&ctx, &mut Scratch::new(&mut a)).unwrap();
    let as_key = key
        .sign(
            &SignContext {
                registered: None,
                ..ctx
            },
            &mut Scratch::new(&mut b),
        )
        .unwrap();
    assert_eq!(with_record, as_key);
    assert!(with_record.password.unwrap().ends_with(";hmacsha256"));
    assert_eq!(t.identity(&record), None);
    // Plain TCP on 1883, like a key device, where the transport has no TLS-PSK.
    let mut host = [0u8; 256];
    let e = t.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(
        (e.host, e.port, e.tls),
        ("ZAJCHA24SH.iotcloud.tencentdevices.com", PLAIN_PORT, None)
    );
    let mut host = [0u8; 256];
    let none = TransportCaps::NONE;
    assert_eq!(
        t.registered_endpoint(&record, none, &mut Scratch::new(&mut host)),
        Ok(None)
    );
    // Where it has TLS-PSK: the key device's endpoint, keyed with the obtained secret.
    let psk = TransportCaps::PSK;
    let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
    let registered = t
        .registered_endpoint(&record, psk, &mut Scratch::new(&mut a))
        .unwrap()
        .unwrap();
    let as_key = key.endpoint_for(&mut Scratch::new(&mut b), psk).unwrap();
    assert_eq!(registered, as_key);
    assert_eq!(registered.port, TLS_PORT);
    let Some(iotcloud_core::transport::Tls {
        server: ServerAuth::Psk(p),
        ..
    }) = registered.tls
    else {
        panic!("not TLS-PSK: {registered:?}");
    };
    assert_eq!(p.identity(), format!("{PID}{DN}"));
    // An explicit TLS choice is kept: no PSK behind the user's back.
    let off = dynamic().with_overrides(iotcloud_core::EndpointOverrides {
        tls: TlsChoice::Off,
        ..Default::default()
    });
    let mut host = [0u8; 256];
    assert_eq!(
        off.registered_endpoint(&record, psk, &mut Scratch::new(&mut host)),
        Ok(None)
    );
    // A key device in the configuration has no registered endpoint.
    let mut host = [0u8; 256];
    assert_eq!(
        key.registered_endpoint(&record, psk, &mut Scratch::new(&mut host)),
        Ok(None)
    );
}

#[test]
fn a_dynamic_certificate_device_signs_and_connects_as_a_certificate_device_would() {
    let identity = ClientIdentity {
        cert_pem: CERT.as_bytes(),
        key_pem: KEY.as_bytes(),
    };
    let mut record = [0u8; 256];
    let n = Fields::write(
        &mut record,
        &[b"clientCert", CERT.as_bytes(), b"clientKey", KEY.as_bytes()],
    )
    .unwrap();
    let record = &record[..n];
    let t = dynamic().with_registered_auth(AuthMode::Certificate);
    let cert = Tencent::with_certificate(PID, DN, identity).unwrap();
    let ctx = SignContext {
        unix_time_ms: Some(1_700_000_000_000),
        random: 99,
        registered: Some(record),
    };
    let (mut a, mut b) = ([0u8; 512], [0u8; 512]);
    assert_eq!(
        t.sign(&ctx, &mut Scratch::new(&mut a)).unwrap(),
        cert.sign(&ctx, &mut Scratch::new(&mut b)).unwrap()
    );
    // TLS on 8883 against the bundled roots; the client certificate comes from the record.
    let mut host = [0u8; 256];
    let e = t.endpoint(&mut Scratch::new(&mut host)).unwrap();
    assert_eq!(e.port, TLS_PORT);
    let tls = e.tls.unwrap();
    assert_eq!((tls.server, tls.client), (ServerAuth::CaPem(CA_PEM), None));
    assert_eq!(t.identity(record), Some(identity));
    // A key device presents nothing from a record.
    assert_eq!(cert.identity(record), None);
}

#[test]
fn signing_without_a_usable_record_is_a_named_error() {
    let t = dynamic();
    let mut buf = [0u8; 512];
    let mut ctx = SignContext {
        unix_time_ms: Some(1_700_000_000_000),
        random: 1,
        registered: None,
    };
    assert!(matches!(
        t.sign(&ctx, &mut Scratch::new(&mut buf)),
        Err(ProviderError::InvalidValue {
            key: "registration",
            ..
        })
    ));
    ctx.registered = Some(b"garbage");
    assert!(matches!(
        t.sign(&ctx, &mut Scratch::new(&mut buf)),
        Err(ProviderError::InvalidValue {
            key: "registration",
            ..
        })
    ));
    let mut record = [0u8; 64];
    let n = Fields::write(&mut record, &[b"psk", PSK.as_bytes()]).unwrap();
    ctx.registered = Some(&record[..n]);
    let t = t.with_registered_auth(AuthMode::Certificate);
    assert!(matches!(
        t.sign(&ctx, &mut Scratch::new(&mut buf)),
        Err(ProviderError::InvalidValue {
            key: "registered_auth",
            ..
        })
    ));
}

#[test]
fn the_constructor_checks_the_product_secret_and_names() {
    assert!(matches!(
        Tencent::registering(PID, DN, ""),
        Err(ProviderError::MissingKey("product_secret"))
    ));
    assert!(matches!(
        Tencent::registering(PID, DN, "fifteen-chars!!"),
        Err(ProviderError::InvalidValue {
            key: "product_secret",
            ..
        })
    ));
    assert!(Tencent::registering(PID, DN, "sixteen-chars!!!").is_ok());
    assert!(matches!(
        Tencent::registering(PID, "a\"b", SECRET),
        Err(ProviderError::InvalidValue {
            key: "device_name",
            ..
        })
    ));
    assert!(matches!(
        Tencent::registering("", DN, SECRET),
        Err(ProviderError::MissingKey("product_id"))
    ));
    let t = dynamic();
    assert!(t.is_dynamic());
    assert_eq!(t.auth_mode(), AuthMode::Key);
    assert_eq!(
        t.registration().map(Registration::id),
        Some(RegistrationId {
            product: PID,
            device: DN
        })
    );
    assert!(
        Tencent::with_secret(PID, DN, PSK)
            .unwrap()
            .registration()
            .is_none()
    );
    // The product secret never shows.
    let debug = format!("{t:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("vGGwnSky"), "{debug}");
}

#[test]
fn the_registration_url_follows_api_region_and_override() {
    let url = |t: &Tencent<'_>| {
        let u = t.register_url();
        format!("{:?}://{}:{}{}", u.scheme, u.host, u.port, u.path)
    };
    let t = dynamic();
    assert_eq!(
        url(&t),
        "Https://ap-guangzhou.gateway.tencentdevices.com:443/device/register"
    );
    let t = t.with_register_api(RegisterApi::Legacy);
    assert_eq!(
        url(&t),
        "Https://gateway.tencentdevices.com:443/register/dev"
    );
    let t = t.with_region(Region::Europe).unwrap();
    assert_eq!(
        url(&t),
        "Https://europe.gateway.tencentdevices.com:443/register/dev"
    );
    let t = t.with_register_region(Region::Bangkok);
    assert_eq!(
        url(&t),
        "Https://ap-bangkok.gateway.tencentdevices.com:443/register/dev"
    );
    let t = t.with_register_url("http://127.0.0.1:8080").unwrap();
    assert_eq!(url(&t), "Http://127.0.0.1:8080/register/dev");
    let t = t.with_register_url("http://127.0.0.1:8080/custom").unwrap();
    assert_eq!(url(&t), "Http://127.0.0.1:8080/custom");
    assert!(matches!(
        dynamic().with_register_url("ftp://x"),
        Err(ProviderError::InvalidValue {
            key: "register_url",
            ..
        })
    ));
    // The current API is checked against public roots, as its published clients do; the
    // legacy one against the private root its C SDK pins; an explicit choice wins either way.
    assert_eq!(reg(&dynamic()).server, ServerAuth::DefaultRoots);
    let legacy = dynamic().with_register_api(RegisterApi::Legacy);
    assert_eq!(reg(&legacy).server, ServerAuth::CaPem(CA_PEM));
    let pinned = dynamic().with_register_server(ServerAuth::CaPem(CA_PEM));
    assert_eq!(reg(&pinned).server, ServerAuth::CaPem(CA_PEM));
    let public = legacy.with_register_server(ServerAuth::DefaultRoots);
    assert_eq!(reg(&public).server, ServerAuth::DefaultRoots);
    // Key devices keep plain TCP even with a TLS override, as `Tencent::with_secret` does.
    let o = iotcloud_core::EndpointOverrides {
        tls: TlsChoice::On(ServerAuth::DefaultRoots),
        ..Default::default()
    };
    assert!(
        dynamic()
            .with_overrides(o)
            .endpoint(&mut Scratch::new(&mut [0u8; 256]))
            .is_err()
    );
}

#[test]
fn classification_reads_code_then_message() {
    assert_eq!(classify("", ""), Rejection::Other);
    assert_eq!(classify("X", "签名错误"), Rejection::BadCredentials);
    assert_eq!(classify("X", "设备已激活"), Rejection::AlreadyActivated);
    assert_eq!(classify("X", "时间戳过期"), Rejection::ClockSkew);
    assert_eq!(classify("X", "产品未开启动态注册"), Rejection::Disabled);
    assert_eq!(
        classify(
            "FailedOperation.DeviceAlreadyActivated",
            "dynamic registration"
        ),
        Rejection::AlreadyActivated
    );
}

// ---------------------------------------------------------------------------------------
// The request, and the whole exchange run by a device over a scripted transport.

fn request_at<'s>(
    t: &'s Tencent<'_>,
    unix_time_ms: Option<u64>,
    random: u64,
    scratch: &mut Scratch<'s>,
) -> Result<HttpRequest<'s>, ProviderError> {
    let ctx = RegisterContext {
        unix_time_ms,
        random,
    };
    match t.request(0, &[], &ctx, scratch)? {
        RegisterRequest::Http(request) => Ok(request),
        other => panic!("not over HTTP: {other:?}"),
    }
}

#[test]
fn the_request_is_the_signed_post_with_the_x_tc_headers() {
    let t = dynamic();
    let mut buf = [0u8; 512];
    let request = request_at(&t, Some(1_700_000_000_123), 41, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(request.method, iotcloud_core::http::Method::Post);
    assert_eq!(request.url, t.register_url());
    assert_eq!(
        (request.url.host, request.url.port, request.url.path),
        (
            "ap-guangzhou.gateway.tencentdevices.com",
            443,
            "/device/register"
        )
    );
    assert_eq!(request.server, ServerAuth::DefaultRoots);
    assert_eq!(
        request.headers.as_slice(),
        [
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
            ("X-TC-Algorithm", "hmacsha256"),
            ("X-TC-Timestamp", "1700000000"),
            // nonce = 1 + random.
            ("X-TC-Nonce", "42"),
            (
                "X-TC-Signature",
                "bWMqr0IPPwwNoFG1w7BDraAevxj58FD+8IqD7FXlchU="
            ),
        ]
    );
    assert_eq!(
        request.body,
        br#"{"ProductId":"ZAJCHA24SH","DeviceName":"869329069169988"}"#
    );
    // The legacy API: the signature is in the body.
    let t = dynamic()
        .with_register_api(RegisterApi::Legacy)
        .with_register_url("http://127.0.0.1:8080")
        .unwrap();
    let mut buf = [0u8; 512];
    let request = request_at(&t, Some(1_700_000_000_999), 41, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(
        (request.url.host, request.url.port, request.url.path),
        ("127.0.0.1", 8080, "/register/dev")
    );
    assert_eq!(
        request.headers.as_slice(),
        [
            ("Content-Type", "application/json;charset=UTF-8"),
            ("Accept", "application/json"),
        ]
    );
    assert!(
        request.body.ends_with(br#""nonce":42,"productId":"ZAJCHA24SH","timestamp":1700000000,"signature":"YjNiZjg5Y2E1NjU5NTA2YjlkYTlkOWM0NjNhMTUyNWFiMGE5ZmNkNQ=="}"#),
        "{}",
        String::from_utf8_lossy(request.body)
    );
}

#[test]
fn a_request_needs_the_time_a_registering_device_and_a_ca_for_https() {
    let mut buf = [0u8; 512];
    assert!(matches!(
        request_at(&dynamic(), None, 41, &mut Scratch::new(&mut buf)),
        Err(ProviderError::TimeUnknown)
    ));
    // A device with its own credentials does not register.
    let key = Tencent::with_secret(PID, DN, PSK).unwrap();
    assert!(matches!(
        request_at(&key, Some(1), 41, &mut Scratch::new(&mut buf)),
        Err(ProviderError::Unsupported(_))
    ));
    // HTTPS against an empty bundle (a build without `roots`) is refused before signing.
    let unbundled = dynamic().with_register_server(ServerAuth::CaPem(b""));
    assert!(matches!(
        request_at(&unbundled, Some(1), 41, &mut Scratch::new(&mut buf)),
        Err(ProviderError::Unsupported(_))
    ));
    // The scratch memory too small is said, not truncated.
    assert!(matches!(
        request_at(&dynamic(), Some(1), 41, &mut Scratch::new(&mut [0u8; 40])),
        Err(ProviderError::ScratchFull(_))
    ));
}

#[derive(Debug)]
struct MockError;

impl core::fmt::Display for MockError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("mock")
    }
}

impl core::error::Error for MockError {}

impl embedded_io::Error for MockError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// A transport that records what is written and answers with `response`.
struct Scripted {
    written: Vec<u8>,
    response: Vec<u8>,
    at: usize,
    endpoint: Option<(String, u16, bool)>,
}

impl Scripted {
    fn new(response: &str) -> Self {
        Scripted {
            written: vec![],
            response: response.as_bytes().to_vec(),
            at: 0,
            endpoint: None,
        }
    }
}

impl embedded_io::ErrorType for Scripted {
    type Error = MockError;
}

impl embedded_io_async::Read for Scripted {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, MockError> {
        // A few bytes at a time, to exercise reassembly.
        let n = buf.len().min(7).min(self.response.len() - self.at);
        buf[..n].copy_from_slice(&self.response[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl embedded_io_async::Write for Scripted {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, MockError> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), MockError> {
        Ok(())
    }
}

impl Transport for Scripted {
    async fn connect(&mut self, endpoint: &iotcloud_core::Endpoint<'_>) -> Result<(), MockError> {
        self.endpoint = Some((endpoint.host.into(), endpoint.port, endpoint.tls.is_some()));
        Ok(())
    }
    async fn close(&mut self) {}
}

struct FixedClock(Option<u64>);

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        0
    }
    fn unix_time_ms(&self) -> Option<u64> {
        self.0
    }
    async fn sleep_until(&self, _deadline_ms: u64) {
        core::future::pending::<()>().await;
    }
}

/// A store in memory.
#[derive(Default)]
struct Kept(BTreeMap<String, Vec<u8>>);

impl KvStore for Kept {
    async fn get(&mut self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        let Some(value) = self.0.get(key) else {
            return Ok(None);
        };
        buf[..value.len()].copy_from_slice(value);
        Ok(Some(value.len()))
    }
    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.insert(key.into(), value.to_vec());
        Ok(())
    }
    async fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        self.0.remove(key);
        Ok(())
    }
}

fn http_200(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A device of `t` registers over `transport` at `time`: the record it obtained (none for
/// a device that does not register), and the transport.
async fn run(
    t: &Tencent<'_>,
    transport: Scripted,
    time: Option<u64>,
) -> (Result<Option<Vec<u8>>, Error<MockError>>, Scripted) {
    let (mut rx, mut tx, mut session, mut credentials) =
        ([0u8; 2048], [0u8; 1024], [0u8; 256], [0u8; 512]);
    let memory = Memory {
        rx: &mut rx,
        tx: &mut tx,
        session: &mut session,
        credentials: &mut credentials,
        ..Memory::default()
    };
    let platform = Composed::new(transport, FixedClock(time)).with_store(Kept::default());
    match Device::new(t, platform, memory).register().await {
        Ok(dev) => {
            let record = dev.registration_record().map(<[u8]>::to_vec);
            (Ok(record), dev.into_parts().1.transport)
        }
        Err(failed) => {
            let (e, dev) = failed.into_parts();
            (Err(e), dev.into_parts().1.transport)
        }
    }
}

/// The value of header `name` in a request written on the wire.
fn header<'r>(request: &'r str, name: &str) -> &'r str {
    request
        .split("\r\n")
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {name} in {request}"))
}

#[tokio::test]
async fn registering_posts_the_signed_request_and_keeps_the_psk() {
    let t = dynamic();
    let transport = Scripted::new(&http_200(&current_ok(PAYLOAD, 53)));
    let (record, transport) = run(&t, transport, Some(1_700_000_000_123)).await;
    let record = record.unwrap().unwrap();
    assert_eq!(
        Registered::parse(&record),
        Some(Registered::Psk(Secret::new(PSK)))
    );
    assert_eq!(
        transport.endpoint,
        Some(("ap-guangzhou.gateway.tencentdevices.com".into(), 443, true))
    );
    let request = String::from_utf8(transport.written).unwrap();
    assert!(
        request.starts_with("POST /device/register HTTP/1.1\r\n"),
        "{request}"
    );
    for line in [
        "Host: ap-guangzhou.gateway.tencentdevices.com\r\n",
        "Content-Type: application/json\r\n",
        "X-TC-Algorithm: hmacsha256\r\n",
        "X-TC-Timestamp: 1700000000\r\n",
    ] {
        assert!(request.contains(line), "{line} in {request}");
    }
    // The nonce is the device's random value; the signature is the one made with it.
    let nonce: u64 = header(&request, "X-TC-Nonce").parse().unwrap();
    assert!((1..=2_147_483_646).contains(&nonce), "{nonce}");
    let mut buf = [0u8; 512];
    let signed = sign_request(&reg(&t), 1_700_000_000, nonce, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(header(&request, "X-TC-Signature"), signed.signature);
    assert!(
        request
            .ends_with("\r\n\r\n{\"ProductId\":\"ZAJCHA24SH\",\"DeviceName\":\"869329069169988\"}")
    );
    assert!(!request.contains(SECRET));
}

#[tokio::test]
async fn registering_with_the_legacy_api_puts_the_signature_in_the_body() {
    let t = dynamic()
        .with_register_api(RegisterApi::Legacy)
        .with_register_url("http://127.0.0.1:8080")
        .unwrap();
    let transport = Scripted::new(&http_200(&legacy_ok(PAYLOAD, 53)));
    let (record, transport) = run(&t, transport, Some(1_700_000_000_999)).await;
    let record = record.unwrap().unwrap();
    assert_eq!(
        Registered::parse(&record).map(|r| r.mode()),
        Some(AuthMode::Key)
    );
    assert_eq!(transport.endpoint, Some(("127.0.0.1".into(), 8080, false)));
    let request = String::from_utf8(transport.written).unwrap();
    assert!(request.starts_with("POST /register/dev HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
    // The body, signed with the device's nonce, is the one `sign_request` makes.
    let (_, body) = request.split_once("\r\n\r\n").unwrap();
    let doc = Value::parse(body.as_bytes()).unwrap();
    let nonce = doc.get("nonce").and_then(|n| n.as_u64()).unwrap();
    let mut buf = [0u8; 512];
    let signed = sign_request(&reg(&t), 1_700_000_000, nonce, &mut Scratch::new(&mut buf)).unwrap();
    assert_eq!(body, signed.body);
    assert!(
        body.contains(r#""productId":"ZAJCHA24SH","timestamp":1700000000,"signature":""#),
        "{body}"
    );
}

#[tokio::test]
async fn registering_needs_the_time() {
    let (result, transport) = run(&dynamic(), Scripted::new(""), None).await;
    assert!(matches!(
        result,
        Err(Error::Registration(RegisterError::Provider(
            ProviderError::TimeUnknown
        )))
    ));
    assert!(
        transport.written.is_empty() && transport.endpoint.is_none(),
        "nothing is sent without a time"
    );
    // A device with its own credentials does not register.
    let key = Tencent::with_secret(PID, DN, PSK).unwrap();
    let (result, transport) = run(&key, Scripted::new(""), Some(1)).await;
    assert!(matches!(result, Ok(None)), "{result:?}");
    assert!(transport.written.is_empty());
}

/// A registering key device's key is in its record, which the endpoint does not see: it
/// stays on plain TCP on 1883 even where the transport has TLS-PSK.
#[test]
fn a_registering_key_device_stays_on_plain_tcp_with_a_psk_transport() {
    use iotcloud_core::transport::TransportCaps;
    let t = dynamic();
    let mut buf = [0u8; 256];
    let e = t
        .endpoint_for(&mut Scratch::new(&mut buf), TransportCaps::PSK)
        .unwrap();
    assert_eq!((e.port, e.tls), (1883, None));
}
