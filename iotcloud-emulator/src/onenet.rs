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
