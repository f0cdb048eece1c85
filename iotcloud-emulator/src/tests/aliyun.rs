use serde_json::Value;

use super::client::post;
use crate::sign::{Algorithm, aliyun_register_sign};
use crate::{Accounts, AliyunDevice, AliyunProduct, Emulator};

// luatos-iotcloud.md §6 "Aliyun registration password" inputs.
const PK: &str = "a1B2c3D4e5f";
const SECRET: &str = "AbCdEfGhIjKlMnOp";
const DN: &str = "869329069169988";
const DS: &str = "0123456789abcdef0123456789abcdef";

fn emulator(activate_on_register: bool) -> Emulator {
    Emulator::start(Accounts {
        aliyun: vec![AliyunProduct::new(PK, SECRET).with_device(AliyunDevice::new(DN, DS))],
        activate_on_register,
        ..Accounts::default()
    })
}

fn register_with(emu: &Emulator, method: &str, secret: &str, dn: &str) -> Value {
    let alg = Algorithm::from_hmac_name(method).unwrap_or(Algorithm::Sha256);
    let sign = aliyun_register_sign(alg, secret, PK, dn, "123");
    let form =
        format!("productKey={PK}&deviceName={dn}&random=123&sign={sign}&signMethod={method}");
    form_post(emu, &form)
}

fn form_post(emu: &Emulator, form: &str) -> Value {
    let answer = post(
        emu,
        "/auth/register/device",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(answer.status, 200);
    answer.json()
}

fn register(emu: &Emulator) -> Value {
    register_with(emu, "hmacsha256", SECRET, DN)
}

#[test]
fn registration_hands_out_the_device_secret() {
    let emu = emulator(false);
    let v = register(&emu);
    assert_eq!(
        v,
        serde_json::json!({"code": 200, "message": "success",
            "data": {"productKey": PK, "deviceName": DN, "deviceSecret": DS}})
    );
    let mut accounts = emu.accounts();
    assert_eq!(
        accounts
            .aliyun_product(PK)
            .unwrap()
            .device(DN)
            .unwrap()
            .registrations,
        1
    );
}

#[test]
fn registration_accepts_the_luatos_sha1_vector_and_md5() {
    let emu = emulator(false);
    // luatos-iotcloud.md §6: this sign for random 123.
    let form = format!(
        "productKey={PK}&deviceName={DN}&random=123&sign=b0dda928277474ce8dc1e79579c407d8863881e6&signMethod=hmacsha1"
    );
    assert_eq!(form_post(&emu, &form)["code"], 200);
    assert_eq!(register_with(&emu, "hmacmd5", SECRET, DN)["code"], 200);
    assert_eq!(register_with(&emu, "HMACSHA256", SECRET, DN)["code"], 200);
}

#[test]
fn registration_reports_each_failure_with_its_code() {
    let emu = emulator(false);
    assert_eq!(
        register_with(&emu, "hmacsha256", "wrong-secret", DN)["code"],
        6203
    );
    assert_eq!(
        register_with(&emu, "hmacsha256", SECRET, "not-pre-registered")["code"],
        6100
    );
    assert_eq!(register_with(&emu, "hmacsha512", SECRET, DN)["code"], 460);
    assert_eq!(
        form_post(&emu, "productKey=a1B2c3D4e5f&deviceName=x")["code"],
        460
    );
    assert_eq!(form_post(&emu, "productKey=%zz")["code"], 460);
    let unknown = form_post(
        &emu,
        "productKey=nope&deviceName=d&random=1&sign=00&signMethod=hmacsha1",
    );
    assert_eq!(unknown["code"], 6250);
    assert!(unknown["message"].is_string());

    emu.with_accounts(|a| a.aliyun_product(PK).unwrap().dynamic_registration = false);
    assert_eq!(register(&emu)["code"], 6288);
}

#[test]
fn a_pre_registered_device_may_register_until_activated() {
    let emu = emulator(false);
    assert_eq!(register(&emu)["code"], 200);
    assert_eq!(register(&emu)["code"], 200);
    emu.with_accounts(|a| a.aliyun_product(PK).unwrap().device(DN).unwrap().activated = true);
    assert_eq!(register(&emu)["code"], 6289);

    let emu = emulator(true);
    assert_eq!(register(&emu)["code"], 200);
    assert_eq!(register(&emu)["code"], 6289);
}
