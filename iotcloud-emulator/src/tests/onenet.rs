use serde_json::{Value, json};

use super::client::post;
use crate::sign::onenet_token;
use crate::{Accounts, Emulator, OneNetDevice, OneNetProduct, OneNetUser};

// luatos-iotcloud.md §6 "OneNET registration token".
const UID: &str = "226691";
const KEY: &str =
    "pk1M3FKXBvvmjF8If/xDfSFFmr96NZCEg00sxlLBMjjh9vOD5hpIs42rmAYnMh5b3m9B1+0rmYdqzUyoQVrxow==";
const VECTOR_TOKEN: &str = "version=2022-05-01&res=userid%2F226691&et=2051193600&method=SHA256&sign=B9kBGKNvGydawltWLW8wfF9PNKdU2Ygzxt6foq7AI9Q%3D";
const PID: &str = "Ck2AF9QD2K";
const PRODUCT_KEY: &str = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
const NOW: u64 = 1_700_000_000;

fn emulator() -> Emulator {
    let mut product = OneNetProduct::new(PID).with_device(OneNetDevice {
        name: "existing".into(),
        did: 1,
        sec_key: "c2Vj".into(),
    });
    product.access_key = Some(PRODUCT_KEY.into());
    Emulator::start(Accounts {
        onenet: vec![
            OneNetUser::new(UID, KEY).with_product(product),
            OneNetUser::new("999", KEY).with_product(OneNetProduct::new("OTHERPID")),
        ],
        now: Some(NOW),
        ..Accounts::default()
    })
}

fn create(emu: &Emulator, token: Option<&str>, body: &Value) -> Value {
    let mut headers = vec![("Content-Type", "application/json;charset=UTF-8")];
    if let Some(token) = token {
        headers.push(("authorization", token));
    }
    let answer = post(emu, "/device/create", &headers, body.to_string().as_bytes());
    assert_eq!(answer.status, 200);
    answer.json()
}

fn body(dn: &str) -> Value {
    json!({"product_id": PID, "device_name": dn})
}

#[test]
fn the_luatos_vector_token_creates_a_device_and_gets_its_sec_key() {
    let emu = emulator();
    let v = create(&emu, Some(VECTOR_TOKEN), &body("869329069169988"));
    assert_eq!(v["code"], 0);
    assert_eq!(v["msg"], "succ");
    let data = &v["data"];
    assert!(data["did"].is_u64());
    assert_eq!(data["pid"], PID);
    assert_eq!(data["name"], "869329069169988");
    let sec_key = data["sec_key"].as_str().unwrap();
    assert_eq!(sec_key.len(), 44);

    let mut accounts = emu.accounts();
    let product = accounts.onenet_user(UID).unwrap().product(PID).unwrap();
    let device = product.device("869329069169988").unwrap();
    assert_eq!(device.sec_key, sec_key);
    assert_eq!(Some(device.did), data["did"].as_u64());
}

#[test]
fn creating_an_existing_device_fails() {
    let emu = emulator();
    assert_eq!(
        create(&emu, Some(VECTOR_TOKEN), &body("existing"))["code"],
        10406
    );
    assert_eq!(create(&emu, Some(VECTOR_TOKEN), &body("d1"))["code"], 0);
    let again = create(&emu, Some(VECTOR_TOKEN), &body("d1"));
    assert_eq!(again["code"], 10406);
    assert!(again["msg"].is_string());
}

#[test]
fn a_fixed_sec_key_is_handed_out() {
    let emu = emulator();
    emu.with_accounts(|a| {
        a.onenet_user(UID).unwrap().product(PID).unwrap().sec_key = Some("Zml4ZWQ=".into());
    });
    assert_eq!(
        create(&emu, Some(VECTOR_TOKEN), &body("d1"))["data"]["sec_key"],
        "Zml4ZWQ="
    );
}

#[test]
fn an_expired_token_is_refused() {
    let emu = emulator();
    emu.set_now(Some(2_051_193_600));
    let v = create(&emu, Some(VECTOR_TOKEN), &body("d1"));
    assert_eq!(v["code"], 10402);
    assert!(v["msg"].is_string());
}

#[test]
fn bad_tokens_are_refused() {
    let emu = emulator();
    let tampered = VECTOR_TOKEN.replace("et=2051193600", "et=2051193601");
    let other_user = onenet_token(KEY, "2022-05-01", "userid/1", "2051193600", "sha256").unwrap();
    let old_version =
        onenet_token(KEY, "2018-10-31", "userid/226691", "2051193600", "sha256").unwrap();
    let bad_method = "version=2022-05-01&res=userid%2F226691&et=2051193600&method=sha512&sign=x";
    for token in [
        None,
        Some(""),
        Some(tampered.as_str()),
        Some(&other_user),
        Some(&old_version),
        Some(bad_method),
    ] {
        assert_eq!(create(&emu, token, &body("d1"))["code"], 10401, "{token:?}");
    }
}

#[test]
fn any_method_case_is_accepted_when_signed_as_sent() {
    let emu = emulator();
    for (i, method) in ["md5", "sha1", "sha256", "SHA1"].iter().enumerate() {
        let token = onenet_token(KEY, "2022-05-01", "userid/226691", "2051193600", method).unwrap();
        assert_eq!(
            create(&emu, Some(&token), &body(&format!("d{i}")))["code"],
            0,
            "{method}"
        );
    }
}

#[test]
fn a_product_level_token_creates_devices_in_its_own_product_only() {
    let emu = emulator();
    let token = onenet_token(
        PRODUCT_KEY,
        "2022-05-01",
        "products/Ck2AF9QD2K",
        "2051193600",
        "sha256",
    )
    .unwrap();
    assert_eq!(create(&emu, Some(&token), &body("d1"))["code"], 0);
    let elsewhere = json!({"product_id": "OTHERPID", "device_name": "d2"});
    assert_eq!(create(&emu, Some(&token), &elsewhere)["code"], 10404);
}

#[test]
fn unknown_products_and_bad_bodies_are_reported() {
    let emu = emulator();
    let other = json!({"product_id": "OTHERPID", "device_name": "d"});
    assert_eq!(
        create(&emu, Some(VECTOR_TOKEN), &other)["code"],
        10404,
        "another user's product"
    );
    let missing = json!({"product_id": PID});
    assert_eq!(create(&emu, Some(VECTOR_TOKEN), &missing)["code"], 10001);
    let answer = post(
        &emu,
        "/device/create",
        &[("authorization", VECTOR_TOKEN)],
        b"[",
    );
    assert_eq!(answer.json()["code"], 10001);
}
