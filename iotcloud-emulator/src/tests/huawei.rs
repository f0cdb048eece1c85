use serde_json::{Value, json};

use super::client::{Answer, post};
use crate::huawei::TOKEN_LIFETIME;
use crate::{Accounts, Emulator, HuaweiAccount, HuaweiDevice, HuaweiProduct};

const PROJECT: &str = "0a1b2c3d4e5f";
const PRODUCT: &str = "6203cc94c7fb24029b110408";
const NOW: u64 = 1_700_000_000;

fn emulator() -> Emulator {
    let mut prefixed = HuaweiProduct::new("prefixed");
    prefixed.device_id_prefix = Some("cloud-chosen-".into());
    prefixed.secret = Some("fixed-secret-123".into());
    Emulator::start(Accounts {
        huawei: vec![
            HuaweiAccount::new("acme", "iot-user", "pa55word", "cn-north-4", PROJECT)
                .with_product(HuaweiProduct::new(PRODUCT))
                .with_product(prefixed)
                .with_device(HuaweiDevice {
                    device_id: format!("{PRODUCT}_taken"),
                    node_id: "taken".into(),
                    product_id: PRODUCT.into(),
                    secret: "s3cr3t-s3cr3t".into(),
                }),
            HuaweiAccount::new("other", "u", "p", "cn-east-3", "otherproject"),
        ],
        now: Some(NOW),
        ..Accounts::default()
    })
}

fn iam_body(domain: &str, user: &str, password: &str, region: &str) -> Vec<u8> {
    // luatos-iotcloud §3.4 body shape.
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "domain": {"name": domain}, "name": user, "password": password}}},
        "scope": {"project": {"name": region}}
    }})
    .to_string()
    .into_bytes()
}

fn token_answer(emu: &Emulator, body: &[u8]) -> Answer {
    post(
        emu,
        "/v3/auth/tokens",
        &[("Content-Type", "application/json;charset=UTF-8")],
        body,
    )
}

fn token(emu: &Emulator) -> String {
    let answer = token_answer(emu, &iam_body("acme", "iot-user", "pa55word", "cn-north-4"));
    assert_eq!(answer.status, 201);
    answer.header("X-Subject-Token").unwrap().to_owned()
}

fn create(emu: &Emulator, token: &str, project: &str, body: &Value) -> Answer {
    let path = format!("/v5/iot/{project}/devices");
    post(
        emu,
        &path,
        &[("X-Auth-Token", token)],
        body.to_string().as_bytes(),
    )
}

fn error_code(answer: &Answer) -> String {
    answer.json()["error_code"].as_str().unwrap().to_owned()
}

#[test]
fn iam_issues_a_token_in_the_subject_token_header() {
    let emu = emulator();
    let answer = token_answer(
        &emu,
        &iam_body("acme", "iot-user", "pa55word", "cn-north-4"),
    );
    assert_eq!(answer.status, 201);
    assert!(answer.header("x-subject-token").unwrap().starts_with("MII"));
    let v = answer.json();
    assert_eq!(v["token"]["project"]["id"], PROJECT);
    assert_eq!(v["token"]["expires_at"], "2023-11-15T22:13:20.000000Z");
}

#[test]
fn iam_refuses_bad_credentials_and_bad_bodies() {
    let emu = emulator();
    for body in [
        iam_body("acme", "iot-user", "wrong", "cn-north-4"),
        iam_body("acme", "nobody", "pa55word", "cn-north-4"),
        iam_body("acme", "iot-user", "pa55word", "cn-east-3"),
    ] {
        let answer = token_answer(&emu, &body);
        assert_eq!(answer.status, 401);
        assert!(answer.header("X-Subject-Token").is_none());
        assert_eq!(answer.json()["error"]["code"], "401");
    }
    let no_scope = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": "acme"}, "name": "iot-user", "password": "pa55word"}}}}});
    for body in [b"{".to_vec(), no_scope.to_string().into_bytes()] {
        assert_eq!(token_answer(&emu, &body).status, 400);
    }
}

#[test]
fn creating_a_device_returns_its_id_and_secret() {
    let emu = emulator();
    let token = token(&emu);
    let answer = create(
        &emu,
        &token,
        PROJECT,
        &json!({"node_id": "88888888", "product_id": PRODUCT}),
    );
    assert_eq!(answer.status, 201);
    let v = answer.json();
    assert_eq!(v["device_id"], format!("{PRODUCT}_88888888"));
    assert_eq!(v["node_id"], "88888888");
    assert_eq!(v["auth_info"]["auth_type"], "SECRET");
    let secret = v["auth_info"]["secret"].as_str().unwrap();
    assert!((8..=32).contains(&secret.len()));
    let mut accounts = emu.accounts();
    let device = accounts
        .huawei_account(PROJECT)
        .unwrap()
        .device_by_node("88888888")
        .unwrap();
    assert_eq!(device.secret, secret);
}

#[test]
fn the_device_id_and_secret_can_be_chosen_by_request_or_by_the_product() {
    let emu = emulator();
    let token = token(&emu);
    let given = json!({"node_id": "n1", "product_id": PRODUCT, "device_id": "my-id",
        "auth_info": {"auth_type": "SECRET", "secret": "given-secret"}});
    let v = create(&emu, &token, PROJECT, &given).json();
    assert_eq!(
        (v["device_id"].as_str(), v["auth_info"]["secret"].as_str()),
        (Some("my-id"), Some("given-secret"))
    );

    let v = create(
        &emu,
        &token,
        PROJECT,
        &json!({"node_id": "n2", "product_id": "prefixed"}),
    )
    .json();
    assert_eq!(v["device_id"], "cloud-chosen-n2");
    assert_eq!(v["auth_info"]["secret"], "fixed-secret-123");
}

#[test]
fn creating_a_device_needs_a_valid_token_for_the_project() {
    let emu = emulator();
    let body = json!({"node_id": "n1", "product_id": PRODUCT});
    for bad in ["", "MIIforged"] {
        let answer = create(&emu, bad, PROJECT, &body);
        assert_eq!(answer.status, 401);
        assert!(error_code(&answer).starts_with("IOTDA."));
    }
    let token = token(&emu);
    assert_eq!(create(&emu, &token, "otherproject", &body).status, 403);
    emu.set_now(Some(NOW + TOKEN_LIFETIME));
    assert_eq!(
        create(&emu, &token, PROJECT, &body).status,
        401,
        "expired after 24 h"
    );
}

#[test]
fn an_existing_node_id_or_device_id_is_a_conflict() {
    let emu = emulator();
    let token = token(&emu);
    let answer = create(
        &emu,
        &token,
        PROJECT,
        &json!({"node_id": "taken", "product_id": PRODUCT}),
    );
    assert_eq!(answer.status, 409);
    assert_eq!(error_code(&answer), "IOTDA.010002");
    assert!(answer.json()["error_msg"].is_string());

    let body = json!({"node_id": "n1", "product_id": PRODUCT});
    assert_eq!(create(&emu, &token, PROJECT, &body).status, 201);
    assert_eq!(
        create(&emu, &token, PROJECT, &body).status,
        409,
        "remembered"
    );
    let same_id =
        json!({"node_id": "n9", "product_id": PRODUCT, "device_id": format!("{PRODUCT}_n1")});
    assert_eq!(
        error_code(&create(&emu, &token, PROJECT, &same_id)),
        "IOTDA.010003"
    );
}

#[test]
fn bad_bodies_and_unknown_products_are_reported() {
    let emu = emulator();
    let token = token(&emu);
    for body in [
        json!({"product_id": PRODUCT}),
        json!({"node_id": "n1"}),
        json!({"node_id": "bad id!", "product_id": PRODUCT}),
        json!({"node_id": "n1", "product_id": PRODUCT, "device_id": 5}),
        json!({"node_id": "n1", "product_id": PRODUCT, "auth_info": {"secret": "short"}}),
        json!({"node_id": "n1", "product_id": PRODUCT, "auth_info": {"auth_type": "CERTIFICATES"}}),
        json!([1]),
    ] {
        let answer = create(&emu, &token, PROJECT, &body);
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(error_code(&answer), "IOTDA.000006");
    }
    let answer = post(
        &emu,
        &format!("/v5/iot/{PROJECT}/devices"),
        &[("X-Auth-Token", &token)],
        b"{",
    );
    assert_eq!(answer.status, 400);
    let unknown = create(
        &emu,
        &token,
        PROJECT,
        &json!({"node_id": "n1", "product_id": "nope"}),
    );
    assert_eq!(unknown.status, 404);
}
