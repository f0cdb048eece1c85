//! OneNET OpenAPI device creation: `POST /device/create` (clouds-official §3.2–3.3,
//! luatos-iotcloud §3.3).

use serde_json::{Value, json};

use crate::encoding::{pair, parse_pairs};
use crate::http::{Recorded, Response};
use crate::sign::{derive_base64, onenet_sign};
use crate::state::State;

/// The token `version` of the OpenAPI (device logins use `2018-10-31`).
pub const API_VERSION: &str = "2022-05-01";

/// A OneNET user: the user-level access key and the user's products.
#[derive(Clone)]
pub struct OneNetUser {
    /// The numeric user id, as it appears in `res=userid/{user_id}`.
    pub user_id: String,
    /// The user access key (base64).
    pub access_key: String,
    /// The user's products.
    pub products: Vec<OneNetProduct>,
}

impl OneNetUser {
    /// A user without products.
    pub fn new(user_id: &str, access_key: &str) -> Self {
        Self {
            user_id: user_id.into(),
            access_key: access_key.into(),
            products: Vec::new(),
        }
    }

    /// Adds a product.
    pub fn with_product(mut self, product: OneNetProduct) -> Self {
        self.products.push(product);
        self
    }

    /// The product `product_id`, for inspection or changes.
    pub fn product(&mut self, product_id: &str) -> Option<&mut OneNetProduct> {
        self.products
            .iter_mut()
            .find(|p| p.product_id == product_id)
    }
}

/// A OneNET product and its devices.
#[derive(Clone, Default)]
pub struct OneNetProduct {
    /// The product id, e.g. `Ck2AF9QD2K`.
    pub product_id: String,
    /// A product-level access key (base64). When set, a token with `res=products/{id}`
    /// signed with it may create devices in this product.
    pub access_key: Option<String>,
    /// The `sec_key` handed to every device created; `None` derives one per device.
    pub sec_key: Option<String>,
    /// The devices that exist.
    pub devices: Vec<OneNetDevice>,
}

impl OneNetProduct {
    /// A product without devices, product key or fixed `sec_key`.
    pub fn new(product_id: &str) -> Self {
        Self {
            product_id: product_id.into(),
            ..Self::default()
        }
    }

    /// Adds an existing device.
    pub fn with_device(mut self, device: OneNetDevice) -> Self {
        self.devices.push(device);
        self
    }

    /// The device `name`, for inspection.
    pub fn device(&self, name: &str) -> Option<&OneNetDevice> {
        self.devices.iter().find(|d| d.name == name)
    }
}

/// A OneNET device.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OneNetDevice {
    /// The device name.
    pub name: String,
    /// The numeric device id.
    pub did: u64,
    /// The device key (base64).
    pub sec_key: String,
}

/// Codes of failed calls (emulator-chosen, see README).
mod code {
    pub const BAD_PARAMETER: i64 = 10001;
    pub const AUTH_FAILED: i64 = 10401;
    pub const TOKEN_EXPIRED: i64 = 10402;
    pub const PRODUCT_NOT_FOUND: i64 = 10404;
    pub const DEVICE_EXISTS: i64 = 10406;
}

type Failure = (i64, &'static str);

/// Whom a verified token speaks for.
enum Principal {
    User(String),
    Product(String),
}

impl Principal {
    /// A user token reaches the user's products; a product token only its own product.
    fn may_create_in(&self, user: &OneNetUser, product_id: &str) -> bool {
        match self {
            Self::User(id) => *id == user.user_id,
            Self::Product(p) => p == product_id,
        }
    }
}

/// `POST /device/create`.
pub(crate) fn create(state: &mut State, req: &Recorded) -> Response {
    let request_id = state.request_id();
    let value = match create_device(state, req) {
        Ok(device) => json!({
            "code": 0,
            "msg": "succ",
            "request_id": request_id,
            "data": {
                "did": device.did,
                "pid": device.pid,
                "name": device.name,
                "desc": "",
                "status": 0,
                "sec_key": device.sec_key,
            },
        }),
        Err((code, msg)) => json!({"code": code, "msg": msg, "request_id": request_id}),
    };
    Response::json(200, &value)
}

struct Created {
    did: u64,
    pid: String,
    name: String,
    sec_key: String,
}

fn create_device(state: &mut State, req: &Recorded) -> Result<Created, Failure> {
    let principal = authorize(state, req.header("authorization"))?;
    const BAD: Failure = (code::BAD_PARAMETER, "invalid parameter");
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| BAD)?;
    let field = |name| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (Some(pid), Some(name)) = (field("product_id"), field("device_name")) else {
        return Err(BAD);
    };
    let did = 2_000_000_000 + state.next_serial();
    let product = state
        .accounts
        .onenet
        .iter_mut()
        .filter(|u| principal.may_create_in(u, pid))
        .find_map(|u| u.product(pid))
        .ok_or((code::PRODUCT_NOT_FOUND, "product not exist"))?;
    if product.device(name).is_some() {
        return Err((code::DEVICE_EXISTS, "device exist"));
    }
    let sec_key = product
        .sec_key
        .clone()
        .unwrap_or_else(|| derive_base64(&["onenet", pid, name], 32));
    product.devices.push(OneNetDevice {
        name: name.into(),
        did,
        sec_key: sec_key.clone(),
    });
    Ok(Created {
        did,
        pid: pid.into(),
        name: name.into(),
        sec_key,
    })
}

/// Verifies the `authorization` token: fields, signature, expiry.
fn authorize(state: &State, token: Option<&str>) -> Result<Principal, Failure> {
    const AUTH: Failure = (code::AUTH_FAILED, "auth failed");
    let fields = parse_pairs(token.ok_or(AUTH)?, false).ok_or(AUTH)?;
    let get = |name| pair(&fields, name).ok_or(AUTH);
    let (version, res, et, method, sign) = (
        get("version")?,
        get("res")?,
        get("et")?,
        get("method")?,
        get("sign")?,
    );
    if version != API_VERSION {
        return Err(AUTH);
    }
    let (principal, key) = if let Some(uid) = res.strip_prefix("userid/") {
        let user = state
            .accounts
            .onenet
            .iter()
            .find(|u| u.user_id == uid)
            .ok_or(AUTH)?;
        (Principal::User(uid.into()), user.access_key.clone())
    } else if let Some(pid) = res.strip_prefix("products/") {
        let key = state
            .accounts
            .onenet
            .iter()
            .flat_map(|u| &u.products)
            .find(|p| p.product_id == pid)
            .and_then(|p| p.access_key.clone())
            .ok_or(AUTH)?;
        (Principal::Product(pid.into()), key)
    } else {
        return Err(AUTH);
    };
    let expected = onenet_sign(&key, version, res, et, method).ok_or(AUTH)?;
    if expected != sign {
        return Err(AUTH);
    }
    let et: u64 = et.parse().map_err(|_| AUTH)?;
    if et <= state.now() {
        return Err((code::TOKEN_EXPIRED, "token expired"));
    }
    Ok(principal)
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for OneNetUser {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OneNetUser")
            .field("user_id", &self.user_id)
            .field("products", &self.products)
            .finish_non_exhaustive()
    }
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for OneNetProduct {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OneNetProduct")
            .field("product_id", &self.product_id)
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for OneNetDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OneNetDevice")
            .field("name", &self.name)
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

/// A OneNET OTA task (clouds-official §3.4): what `check` answers and `download` serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtaTask {
    pub product_id: String,
    pub device: String,
    pub tid: u64,
    pub target: String,
    pub size: usize,
    pub md5: String,
    /// Where the firmware server keeps the image.
    pub image_path: String,
    /// Upgraded (step 201) or failed: no longer offered.
    pub ended: bool,
}

/// The codes of OneNET's OTA API (clouds-official §3.4).
mod ota_code {
    pub const DEVICE_NOT_FOUND: i64 = 1;
    pub const BAD_PARAMETER: i64 = 2;
    pub const TOKEN_MISMATCH: i64 = 4;
    pub const NO_TASK: i64 = 11;
    pub const TOKEN_EXPIRED: i64 = 12;
    pub const TASK_ENDED: i64 = 20;
}

/// What a call of the OTA API did, for the emulator to record.
pub(crate) enum OtaApiEvent {
    Version(String),
    Step(u16),
}

/// Serves OneNET's HTTP OTA API under `/fuse-ota`: the version report, the task check,
/// the download (handed to the firmware server as the task's image, `Range` included)
/// and the status report. Every call needs the device token (the MQTT password) as
/// `Authorization`. Returns `None` for paths that are not the API's; `record` gets what a
/// device reported.
pub(crate) fn ota_api(
    req: &Recorded,
    state: &crate::server::Shared,
    tasks: &std::sync::Mutex<Vec<OtaTask>>,
    record: impl FnOnce(&str, &str, OtaApiEvent),
) -> Option<crate::firmware::ApiAnswer> {
    use crate::firmware::ApiAnswer;
    let path = req.path_only().strip_prefix("/fuse-ota/")?;
    let parts: Vec<&str> = path.split('/').collect();
    let answer = |code: i64, msg: &str, data: Option<Value>| {
        let mut body = json!({"code": code, "msg": msg, "request_id": "emulator"});
        if let Some(d) = data {
            body["data"] = d;
        }
        Some(ApiAnswer::Reply(Response::json(200, &body)))
    };
    let (pid, dn) = (*parts.first()?, *parts.get(1)?);
    {
        let mut state = state.lock();
        if let Err((code, msg)) =
            check_device_token(&mut state, pid, dn, req.header("authorization"))
        {
            return answer(code, msg, None);
        }
    }
    let mut tasks = tasks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let task_of = |tid: &str, tasks: &[OtaTask]| {
        tasks
            .iter()
            .position(|t| t.product_id == pid && t.device == dn && t.tid.to_string() == tid)
    };
    match (req.method.as_str(), &parts[2..]) {
        ("POST", ["version"]) => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let version = body["f_version"].as_str().or(body["s_version"].as_str());
            let Some(version) = version else {
                return answer(
                    ota_code::BAD_PARAMETER,
                    "f_version or s_version missing",
                    None,
                );
            };
            record(pid, dn, OtaApiEvent::Version(version.to_owned()));
            answer(0, "succ", None)
        }
        ("GET", ["check"]) => {
            let query = req.path.split_once('?').map_or("", |(_, q)| q);
            let pairs = parse_pairs(query, false).unwrap_or_default();
            let (Some(kind), Some(current)) = (pair(&pairs, "type"), pair(&pairs, "version"))
            else {
                return answer(ota_code::BAD_PARAMETER, "type or version missing", None);
            };
            if kind != "1" && kind != "2" {
                return answer(ota_code::BAD_PARAMETER, "type is not 1 or 2", None);
            }
            match tasks
                .iter()
                .find(|t| t.product_id == pid && t.device == dn && !t.ended && t.target != current)
            {
                Some(t) => answer(
                    0,
                    "succ",
                    Some(json!({"target": t.target, "tid": t.tid, "size": t.size,
                        "md5": t.md5, "status": 1, "type": 1})),
                ),
                None => answer(ota_code::NO_TASK, "not exist", None),
            }
        }
        ("GET", [tid, "download"]) => match task_of(tid, &tasks) {
            Some(i) => Some(ApiAnswer::Image(tasks[i].image_path.clone())),
            None => answer(ota_code::NO_TASK, "not exist", None),
        },
        ("POST", [tid, "status"]) => {
            let Some(i) = task_of(tid, &tasks) else {
                return answer(ota_code::NO_TASK, "not exist", None);
            };
            if tasks[i].ended {
                return answer(ota_code::TASK_ENDED, "task finish", None);
            }
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let step = body["step"].as_u64().and_then(|s| u16::try_from(s).ok());
            match step {
                Some(s @ (0..=101 | 102..=107 | 201..=208)) => {
                    if s > 101 {
                        tasks[i].ended = true;
                    }
                    record(pid, dn, OtaApiEvent::Step(s));
                    answer(0, "succ", None)
                }
                _ => answer(ota_code::BAD_PARAMETER, "step is not a known step", None),
            }
        }
        _ => Some(ApiAnswer::Reply(Response::text(404, "no such OTA call"))),
    }
}

/// Checks a device token (`version=2018-10-31`, device or product resource) for `pid`/`dn`.
fn check_device_token(
    state: &mut State,
    pid: &str,
    dn: &str,
    token: Option<&str>,
) -> Result<(), Failure> {
    let mismatch = (ota_code::TOKEN_MISMATCH, "token not match");
    let fields = token.and_then(|t| parse_pairs(t, false)).ok_or(mismatch)?;
    let get = |name| pair(&fields, name);
    let (Some(version), Some(res), Some(et), Some(method), Some(sign)) = (
        get("version"),
        get("res"),
        get("et"),
        get("method"),
        get("sign"),
    ) else {
        return Err(mismatch);
    };
    let now = state.now();
    let product = state
        .accounts
        .onenet
        .iter_mut()
        .find_map(|u| u.product(pid))
        .ok_or((ota_code::DEVICE_NOT_FOUND, "device not exist"))?;
    let device = product
        .device(dn)
        .ok_or((ota_code::DEVICE_NOT_FOUND, "device not exist"))?;
    let key = if res == format!("products/{pid}/devices/{dn}") {
        device.sec_key.clone()
    } else if res == format!("products/{pid}") {
        product.access_key.clone().ok_or(mismatch)?
    } else {
        return Err(mismatch);
    };
    if onenet_sign(&key, version, res, et, method).as_deref() != Some(sign) {
        return Err(mismatch);
    }
    match et.parse::<u64>() {
        Ok(et) if et > now => Ok(()),
        _ => Err((ota_code::TOKEN_EXPIRED, "token expired")),
    }
}
