//! MQTT CONNECT checks, one per cloud, written from each cloud's documentation
//! (clouds-official §1.4, §1.5.2, §2.2, §3.2, §4.2, §5.3, §6.2, §7): client id, user name
//! and password formulas, the timestamp windows the clouds have, and keep-alive ranges.
//!
//! Refusals use the MQTT 3.1.1 CONNACK codes: 1 for a protocol other than 3.1.1, 2 when the
//! client id is malformed, names another device than the login, or the keep-alive is out of
//! the cloud's range, 4 when the user name or password is wrong (unknown product or device,
//! bad signature, expired timestamp), 5 when the login is right but the device may not do
//! what it asks (register again after activation, register without pre-registration).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use crate::Cloud;
use crate::accounts::Accounts;
use crate::encoding::{hex, hour_stamp, pair, parse_pairs};
use crate::sign::{Algorithm, aliyun_register_sign, derive_hex, onenet_sign};
use crate::wire::Connect;

/// Which device a connection is: its cloud and the names its topics are built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The cloud.
    pub cloud: Cloud,
    /// The product (Aliyun ProductKey, Tencent/OneNET/Tuya product id, Baidu IoT Core id,
    /// Huawei product id; empty for Tlink).
    pub product: String,
    /// The device (device name, Huawei device id, Tuya device id, Baidu device key, Tlink
    /// serial).
    pub device: String,
}

/// What an accepted CONNECT is.
#[derive(Debug)]
pub(crate) enum Login {
    /// A device session.
    Device(Identity),
    /// Aliyun dynamic registration over MQTT: answer with this message, then close.
    AliyunRegistration {
        topic: &'static str,
        payload: String,
    },
}

/// A refused CONNECT: the CONNACK code and why (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// CONNACK return code, 1 to 5.
    pub code: u8,
    /// What was wrong, for the emulator's log.
    pub reason: String,
}

fn refuse<T>(code: u8, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        reason: reason.into(),
    })
}

const BAD_ID: u8 = 2;
const BAD_LOGIN: u8 = 4;
const NOT_AUTHORISED: u8 = 5;

/// Baidu's documented window for a timestamp in the user name: 10 minutes.
pub const BAIDU_WINDOW_SECS: u64 = 600;

/// Checks `connect` for `cloud` against what `accounts` know at `now` (unix seconds).
pub(crate) fn check(
    cloud: Cloud,
    connect: &Connect,
    accounts: &mut Accounts,
    now: u64,
) -> Result<Login, Refusal> {
    if connect.protocol != "MQTT" || connect.level != 4 {
        return refuse(1, "only MQTT 3.1.1 is served");
    }
    let user = connect.username.as_deref().unwrap_or("");
    let password = connect
        .password
        .as_deref()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    match cloud {
        Cloud::Aliyun => aliyun(connect, user, &password, accounts),
        Cloud::Tencent => tencent(connect, user, &password, accounts, now),
        Cloud::OneNet => onenet(connect, user, &password, accounts, now),
        Cloud::Huawei => huawei(connect, user, &password, accounts, now),
        Cloud::Tuya => tuya(connect, user, &password, accounts),
        Cloud::Baidu => baidu(connect, user, &password, accounts, now),
        Cloud::Tlink => tlink(connect, user, &password, accounts),
    }
    .map(|login| match login {
        Ok(identity) => Login::Device(identity),
        Err(registration) => registration,
    })
}

/// A device identity, or (Aliyun only) a registration answer.
type Checked = Result<Identity, Login>;

fn keep_alive(connect: &Connect, range: std::ops::RangeInclusive<u16>) -> Result<(), Refusal> {
    if range.contains(&connect.keep_alive) {
        Ok(())
    } else {
        refuse(
            BAD_ID,
            format!(
                "keep-alive {} s is outside {}..={} s",
                connect.keep_alive,
                range.start(),
                range.end()
            ),
        )
    }
}

fn same_hex(expected: &[u8], got: &str) -> bool {
    hex(expected).eq_ignore_ascii_case(got)
}

fn identity(cloud: Cloud, product: &str, device: &str) -> Checked {
    Ok(Identity {
        cloud,
        product: product.into(),
        device: device.into(),
    })
}

/// `{clientId}|k=v,k=v|` → the client id and its parameters (`lan`-like flags have no value).
/// A client id's parameters, `name=value` (flags have an empty value).
type Params<'a> = Vec<(&'a str, &'a str)>;

fn aliyun_client_id(id: &str) -> Result<(&str, Params<'_>), Refusal> {
    let Some((cid, rest)) = id.split_once('|') else {
        return refuse(BAD_ID, "client id without `|…|` parameters");
    };
    let Some(params) = rest.strip_suffix('|') else {
        return refuse(BAD_ID, "client id parameters do not end with `|`");
    };
    if cid.is_empty() || cid.len() > 64 || params.contains('|') {
        return refuse(
            BAD_ID,
            "client id is empty, over 64 characters or has extra `|`",
        );
    }
    let pairs = params
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    Ok((cid, pairs))
}

fn aliyun(
    connect: &Connect,
    user: &str,
    password: &str,
    accounts: &mut Accounts,
) -> Result<Checked, Refusal> {
    let (cid, params) = aliyun_client_id(&connect.client_id)?;
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let Some((dn, pk)) = user.split_once('&') else {
        return refuse(BAD_LOGIN, "user name is not `{deviceName}&{productKey}`");
    };
    let securemode = param("securemode").unwrap_or("");
    match param("authType") {
        Some(flow @ ("register" | "regnwl")) => {
            return aliyun_register(flow, securemode, &param, pk, dn, password, accounts);
        }
        Some("connwl") => {
            let Some(product) = accounts.aliyun_product(pk) else {
                return refuse(BAD_LOGIN, "unknown product");
            };
            let Some(device) = product.device(dn) else {
                return refuse(BAD_LOGIN, "unknown device");
            };
            let Some((issued_cid, token)) = &device.token else {
                return refuse(BAD_LOGIN, "no device token was issued to this device");
            };
            if issued_cid != cid {
                return refuse(BAD_ID, "client id is not the one registration issued");
            }
            if token != password {
                return refuse(BAD_LOGIN, "wrong device token");
            }
            device.activated = true;
            return Ok(identity(Cloud::Aliyun, pk, dn));
        }
        Some(other) => return refuse(BAD_ID, format!("unknown authType `{other}`")),
        None => {}
    }
    if !matches!(securemode, "2" | "3") {
        return refuse(BAD_ID, "securemode must be 2 (TLS) or 3 (TCP)");
    }
    keep_alive(connect, 30..=1200)?;
    let Some(alg) = param("signmethod").and_then(Algorithm::from_hmac_name) else {
        return refuse(
            BAD_LOGIN,
            "signmethod is not hmacmd5, hmacsha1 or hmacsha256",
        );
    };
    let Some(product) = accounts.aliyun_product(pk) else {
        return refuse(BAD_LOGIN, "unknown product");
    };
    let Some(device) = product.device(dn) else {
        return refuse(BAD_LOGIN, "unknown device");
    };
    if device.device_secret.is_empty() {
        return refuse(BAD_LOGIN, "the device has no secret yet (register first)");
    }
    // Parameters sorted by name; `signmethod` and `securemode` are not signed.
    let mut content = format!("clientId{cid}deviceName{dn}productKey{pk}");
    if let Some(ts) = param("timestamp") {
        content.push_str("timestamp");
        content.push_str(ts);
    }
    let expected = alg.hmac(device.device_secret.as_bytes(), content.as_bytes());
    if !same_hex(&expected, password) {
        return refuse(BAD_LOGIN, "wrong password (signature)");
    }
    device.activated = true;
    Ok(identity(Cloud::Aliyun, pk, dn))
}

fn aliyun_register<'p>(
    flow: &str,
    securemode: &str,
    param: &impl Fn(&str) -> Option<&'p str>,
    pk: &str,
    dn: &str,
    password: &str,
    accounts: &mut Accounts,
) -> Result<Checked, Refusal> {
    match (securemode, param("instanceId")) {
        ("2", None) | ("-2", Some(_)) => {}
        _ => {
            return refuse(
                BAD_ID,
                "registration needs securemode=2 (old public instance) or -2 with instanceId",
            );
        }
    }
    let (Some(random), Some(alg)) = (
        param("random").filter(|r| !r.is_empty()),
        param("signmethod").and_then(Algorithm::from_hmac_name),
    ) else {
        return refuse(BAD_LOGIN, "registration needs random and signmethod");
    };
    let Some(product) = accounts.aliyun_product(pk) else {
        return refuse(BAD_LOGIN, "unknown product");
    };
    let expected = aliyun_register_sign(alg, &product.product_secret, pk, dn, random);
    if !expected.eq_ignore_ascii_case(password) {
        return refuse(BAD_LOGIN, "wrong password (product signature)");
    }
    if !product.dynamic_registration {
        return refuse(BAD_LOGIN, "dynamic registration is off for the product");
    }
    if flow == "register" {
        let Some(device) = product.device(dn) else {
            return refuse(NOT_AUTHORISED, "device not pre-registered");
        };
        if device.activated {
            return refuse(NOT_AUTHORISED, "device already active");
        }
        device.registrations += 1;
        let payload =
            json!({"productKey": pk, "deviceName": dn, "deviceSecret": device.device_secret});
        return Ok(Err(Login::AliyunRegistration {
            topic: "/ext/register",
            payload: payload.to_string(),
        }));
    }
    if !product.regnwl {
        return refuse(
            NOT_AUTHORISED,
            "registration without pre-registration is off",
        );
    }
    if product.device(dn).is_none() {
        product.devices.push(crate::AliyunDevice::generated(pk, dn));
    }
    let Some(device) = product.device(dn) else {
        return refuse(3, "device could not be created");
    };
    if device.activated {
        return refuse(NOT_AUTHORISED, "device already active");
    }
    device.registrations += 1;
    let client_id = derive_hex(&["aliyun-cid", pk, dn], 8);
    let token = derive_hex(
        &["aliyun-token", pk, dn, &device.registrations.to_string()],
        16,
    );
    device.token = Some((client_id.clone(), token.clone()));
    let payload =
        json!({"clientId": client_id, "productKey": pk, "deviceName": dn, "deviceToken": token});
    Ok(Err(Login::AliyunRegistration {
        topic: "/ext/regnwl",
        payload: payload.to_string(),
    }))
}

fn tencent(
    connect: &Connect,
    user: &str,
    password: &str,
    accounts: &mut Accounts,
    now: u64,
) -> Result<Checked, Refusal> {
    keep_alive(connect, 0..=900)?;
    let fields: Vec<&str> = user.split(';').collect();
    let [login_id, app_id, conn_id, expiry] = fields[..] else {
        return refuse(
            BAD_LOGIN,
            "user name is not `{clientId};{sdkappid};{connid};{expiry}`",
        );
    };
    if login_id != connect.client_id {
        return refuse(BAD_ID, "client id differs from the user name's");
    }
    if app_id.is_empty() || !app_id.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(BAD_LOGIN, "sdkappid is not a number");
    }
    if conn_id.len() != 5 || !conn_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return refuse(BAD_LOGIN, "connid is not 5 letters or digits");
    }
    let Ok(expiry) = expiry.parse::<u64>() else {
        return refuse(BAD_LOGIN, "expiry is not unix seconds");
    };
    if expiry < now {
        return refuse(BAD_LOGIN, "credentials expired");
    }
    let Some((sig, method)) = password.split_once(';') else {
        return refuse(BAD_LOGIN, "password is not `{hex};{method}`");
    };
    let alg = match method {
        "hmacsha1" => Algorithm::Sha1,
        "hmacsha256" => Algorithm::Sha256,
        _ => return refuse(BAD_LOGIN, "password method is not hmacsha1 or hmacsha256"),
    };
    // The client id is `{ProductId}{DeviceName}`: find the product it starts with.
    let found = accounts.tencent.iter_mut().find_map(|p| {
        let name = login_id.strip_prefix(p.product_id.as_str())?;
        let pid = p.product_id.clone();
        p.device(name).map(|d| (pid, d))
    });
    let Some((pid, device)) = found else {
        return refuse(BAD_LOGIN, "unknown device");
    };
    let Ok(key) = B64.decode(&device.psk) else {
        return refuse(
            BAD_LOGIN,
            "the device has no key (certificate devices need TLS)",
        );
    };
    if device.psk.is_empty() || !same_hex(&alg.hmac(&key, user.as_bytes()), sig) {
        return refuse(BAD_LOGIN, "wrong password (signature)");
    }
    device.activated = true;
    let name = device.name.clone();
    Ok(identity(Cloud::Tencent, &pid, &name))
}

/// The device-token `version` OneNET's MQTT login uses.
const ONENET_DEVICE_VERSION: &str = "2018-10-31";

fn onenet(
    connect: &Connect,
    user: &str,
    password: &str,
    accounts: &mut Accounts,
    now: u64,
) -> Result<Checked, Refusal> {
    keep_alive(connect, 10..=1800)?;
    let (pid, dn) = (user, connect.client_id.as_str());
    let Some(fields) = parse_pairs(password, false) else {
        return refuse(BAD_LOGIN, "password is not a token");
    };
    let get = |name| pair(&fields, name);
    let (Some(version), Some(res), Some(et), Some(method), Some(sign)) = (
        get("version"),
        get("res"),
        get("et"),
        get("method"),
        get("sign"),
    ) else {
        return refuse(BAD_LOGIN, "token lacks version, res, et, method or sign");
    };
    if version != ONENET_DEVICE_VERSION {
        return refuse(BAD_LOGIN, "token version is not 2018-10-31");
    }
    let Some(product) = accounts.onenet.iter_mut().find_map(|u| u.product(pid)) else {
        return refuse(BAD_LOGIN, "unknown product");
    };
    let key = match res
        .strip_prefix("products/")
        .map(|r| r.split_once("/devices/"))
    {
        Some(Some((rp, rd))) => {
            if rp != pid || rd != dn {
                return refuse(BAD_ID, "the token is for another device");
            }
            match product.device(dn) {
                Some(d) => d.sec_key.clone(),
                None => return refuse(BAD_LOGIN, "unknown device"),
            }
        }
        Some(None) if res == format!("products/{pid}") => match &product.access_key {
            Some(k) => k.clone(),
            None => return refuse(BAD_LOGIN, "the product has no product-level key"),
        },
        _ => return refuse(BAD_LOGIN, "token res is not this product's"),
    };
    let Some(expected) = onenet_sign(&key, version, res, et, method) else {
        return refuse(BAD_LOGIN, "token method is not md5, sha1 or sha256");
    };
    if expected != sign {
        return refuse(BAD_LOGIN, "wrong token signature");
    }
    match et.parse::<u64>() {
        Ok(et) if et > now => {}
        _ => return refuse(BAD_LOGIN, "token expired (et is not in the future)"),
    }
    if product.device(dn).is_none() {
        // A product-level login of a new device: auto-registration creates it.
        let sec_key = crate::sign::derive_base64(&["onenet", pid, dn], 32);
        product.devices.push(crate::OneNetDevice {
            name: dn.into(),
            did: 3_000_000_000 + product.devices.len() as u64,
            sec_key,
        });
    }
    Ok(identity(Cloud::OneNet, pid, dn))
}

fn huawei(
    connect: &Connect,
    user: &str,
    password: &str,
    accounts: &mut Accounts,
    now: u64,
) -> Result<Checked, Refusal> {
    keep_alive(connect, 30..=1200)?;
    // {device_id}_0_{sign_type}_{YYYYMMDDHH}; device ids may hold `_`.
    let mut parts = connect.client_id.rsplitn(4, '_');
    let (Some(stamp), Some(sign_type), Some("0"), Some(device_id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return refuse(
            BAD_ID,
            "client id is not `{device_id}_0_{sign_type}_{timestamp}`",
        );
    };
    if stamp.len() != 10 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(BAD_ID, "timestamp is not YYYYMMDDHH");
    }
    if device_id != user {
        return refuse(BAD_ID, "client id names another device than the user name");
    }
    match sign_type {
        "0" => {}
        // The tolerance is undocumented: the hour before, this hour and the next.
        "1" => {
            let near = [now.saturating_sub(3600), now, now + 3600].map(hour_stamp);
            if !near.iter().any(|s| s == stamp) {
                return refuse(
                    BAD_LOGIN,
                    "timestamp is not within an hour of platform time",
                );
            }
        }
        _ => return refuse(BAD_ID, "sign type is not 0 or 1"),
    }
    let Some(device) = accounts
        .huawei
        .iter()
        .flat_map(|a| a.devices.iter())
        .find(|d| d.device_id == device_id)
    else {
        return refuse(BAD_LOGIN, "unknown device");
    };
    // The key is the timestamp and the message the secret (clouds-official §0.2).
    let expected = Algorithm::Sha256.hmac(stamp.as_bytes(), device.secret.as_bytes());
    if !same_hex(&expected, password) {
        return refuse(BAD_LOGIN, "wrong password (signature)");
    }
    let product = device.product_id.clone();
    Ok(identity(Cloud::Huawei, &product, device_id))
}

fn tuya(
    connect: &Connect,
    user: &str,
    password: &str,
    accounts: &mut Accounts,
) -> Result<Checked, Refusal> {
    keep_alive(connect, 30..=1200)?;
    let Some(id) = connect.client_id.strip_prefix("tuyalink_") else {
        return refuse(BAD_ID, "client id is not `tuyalink_{deviceId}`");
    };
    let Some((login_id, params)) = user.split_once('|') else {
        return refuse(BAD_LOGIN, "user name is not `{deviceId}|…`");
    };
    if login_id != id {
        return refuse(BAD_ID, "client id names another device than the user name");
    }
    let pairs: Vec<(&str, &str)> = params
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let param = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let alg = match param("signMethod") {
        Some(m) if m.eq_ignore_ascii_case("hmacSha256") => Algorithm::Sha256,
        Some(m) if m.eq_ignore_ascii_case("hmacSha1") => Algorithm::Sha1,
        _ => return refuse(BAD_LOGIN, "signMethod is not hmacSha256 or hmacSha1"),
    };
    if param("secureMode") != Some("1") || param("accessType") != Some("1") {
        return refuse(BAD_LOGIN, "secureMode and accessType must be 1");
    }
    let Some(ts) = param("timestamp") else {
        return refuse(BAD_LOGIN, "no timestamp");
    };
    // Only the form is checked: Tuya documents no window, its own SDK reconnects for as
    // long as it runs with the credentials it signed at start-up (so old timestamps log
    // in), and LuatOS logs in with the far-future 7258089600 (so future ones do).
    if !matches!(ts.len(), 10 | 13) || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(BAD_LOGIN, "timestamp is not 10 or 13 digits");
    }
    let Some(device) = accounts.tuya.iter().find(|d| d.device_id == id) else {
        return refuse(BAD_LOGIN, "unknown device");
    };
    let content = format!("deviceId={id},timestamp={ts},secureMode=1,accessType=1");
    let expected = alg.hmac(device.secret.as_bytes(), content.as_bytes());
    if !same_hex(&expected, password) {
        return refuse(BAD_LOGIN, "wrong password (signature)");
    }
    Ok(identity(Cloud::Tuya, &device.product_id, id))
}

fn baidu(
    connect: &Connect,
    user: &str,
    password: &str,
    accounts: &mut Accounts,
    now: u64,
) -> Result<Checked, Refusal> {
    keep_alive(connect, 30..=1200)?;
    let cid = &connect.client_id;
    if cid.is_empty()
        || cid.len() > 128
        || !cid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return refuse(BAD_ID, "client id is not 1 to 128 of [0-9a-zA-Z_-]");
    }
    let Some(rest) = user.strip_prefix("thingidp@") else {
        return refuse(BAD_LOGIN, "user name does not start with `thingidp@`");
    };
    let fields: Vec<&str> = rest.split('|').collect();
    let (core, key, ts, alg_name) = match fields[..] {
        [core, key, ts, alg] => (core, key, Some(ts), alg),
        [core, key, alg] => (core, key, None, alg),
        _ => {
            return refuse(
                BAD_LOGIN,
                "user name is not `thingidp@{core}|{key}|[ts|]{alg}`",
            );
        }
    };
    let alg = match alg_name {
        "MD5" => Algorithm::Md5,
        "SHA256" => Algorithm::Sha256,
        _ => return refuse(BAD_LOGIN, "algorithm is not MD5 or SHA256"),
    };
    if let Some(ts) = ts {
        match ts.parse::<u64>() {
            Ok(t) if t.abs_diff(now) <= BAIDU_WINDOW_SECS => {}
            _ => return refuse(BAD_LOGIN, "timestamp more than 10 minutes from server time"),
        }
    }
    let Some(device) = accounts
        .baidu
        .iter()
        .find(|d| d.core_id == core && d.device_key == key)
    else {
        return refuse(BAD_LOGIN, "unknown device");
    };
    let text = format!("{key}&{}&{alg_name}{}", ts.unwrap_or("0"), device.secret);
    if !same_hex(&alg.digest(text.as_bytes()), password) {
        return refuse(BAD_LOGIN, "wrong password (hash)");
    }
    Ok(identity(Cloud::Baidu, core, key))
}

fn tlink(
    connect: &Connect,
    user: &str,
    password: &str,
    accounts: &mut Accounts,
) -> Result<Checked, Refusal> {
    let Some(device) = accounts
        .tlink
        .iter()
        .find(|d| d.serial == connect.client_id)
    else {
        return refuse(BAD_LOGIN, "unknown serial number");
    };
    if device.username != user || device.password != password {
        return refuse(BAD_LOGIN, "wrong user name or password");
    }
    Ok(identity(Cloud::Tlink, "", &connect.client_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_spec;

    /// The server clock of these tests: 2023-11-14 22:13:20 UTC.
    const NOW: u64 = 1_700_000_000;

    fn accounts() -> Accounts {
        let mut accounts = Accounts::default();
        for spec in [
            "cloud=tuya,product=pid1,name=dev1,secret=0123456789abcdef",
            "cloud=tencent,product=PID0000001,name=dev1,secret=dGVuY2VudC1rZXktZGV2MQ==",
        ] {
            parse_spec(spec).unwrap().add_to(&mut accounts).unwrap();
        }
        accounts
    }

    fn connect(client_id: &str, username: &str, password: &str) -> Connect {
        Connect {
            protocol: "MQTT".into(),
            level: 4,
            clean_session: true,
            keep_alive: 60,
            client_id: client_id.into(),
            will: false,
            username: Some(username.into()),
            password: Some(password.as_bytes().to_vec()),
        }
    }

    fn tuya_login(ts: &str, password: &str) -> Result<Login, Refusal> {
        let user = format!("dev1|signMethod=hmacSha256,timestamp={ts},secureMode=1,accessType=1");
        check(
            Cloud::Tuya,
            &connect("tuyalink_dev1", &user, password),
            &mut accounts(),
            NOW,
        )
    }

    #[test]
    fn tuya_checks_the_timestamps_form_and_signature_but_no_window() {
        // Passwords computed independently (Python hmac) for device dev1.
        for (ts, password) in [
            // LuatOS's far-future value, as a device without a clock signs.
            (
                "7258089600",
                "aeeff13ec478fb1ae7f1f7b2384216d150f1e1a105de95bb35303cc344e3bf91",
            ),
            // Years old, as Tuya's SDK reconnects with the credentials of its start-up.
            (
                "1000000000",
                "cfd8923586fcbadd706390536691271922efe6dada101e2b84f5cac49ccefcf9",
            ),
            // Milliseconds.
            (
                "1700000000123",
                "229b13e5a6efad13fbc01b07bb3e45cb3927585432488042d97a4d12c9deb946",
            ),
        ] {
            match tuya_login(ts, password) {
                Ok(Login::Device(id)) => assert_eq!(id.device, "dev1"),
                other => panic!("{ts}: {other:?}"),
            }
        }
        let wrong = tuya_login(
            "7258089601",
            "aeeff13ec478fb1ae7f1f7b2384216d150f1e1a105de95bb35303cc344e3bf91",
        );
        assert_eq!(wrong.unwrap_err().reason, "wrong password (signature)");
        for bad in ["72580896", "7258089600x", "+258089600"] {
            assert_eq!(
                tuya_login(bad, "00").unwrap_err().reason,
                "timestamp is not 10 or 13 digits",
                "{bad}"
            );
        }
    }

    fn tencent_login(expiry: &str, password: &str) -> Result<Login, Refusal> {
        let user = format!("PID0000001dev1;21010406;abcde;{expiry}");
        check(
            Cloud::Tencent,
            &connect("PID0000001dev1", &user, &format!("{password};hmacsha256")),
            &mut accounts(),
            NOW,
        )
    }

    #[test]
    fn tencent_accepts_the_sdks_long_max_expiry_and_refuses_a_past_one() {
        // Signatures computed independently (Python hmac).
        let never = tencent_login(
            "9223372036854775807",
            "f9500279bc2a3fcf79ac599734e4878c49aadff0c5254e151b2c9a4e2c15ddf9",
        );
        assert!(matches!(never, Ok(Login::Device(_))), "{never:?}");
        let expired = tencent_login(
            "1699999999",
            "85002ca4b6cd5b727265497d7b322b640e2676ed579f5b24c58306ab4685b36c",
        );
        assert_eq!(
            expired.unwrap_err(),
            Refusal {
                code: BAD_LOGIN,
                reason: "credentials expired".into()
            }
        );
    }
}
