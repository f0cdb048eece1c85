//! Huawei Cloud: IAM password tokens (`POST /v3/auth/tokens`) and IoTDA device creation
//! (`POST /v5/iot/{project_id}/devices`) (clouds-official §4.3, luatos-iotcloud §3.4).

use serde_json::{Value, json};

use crate::encoding::iso8601;
use crate::http::{Recorded, Response};
use crate::sign::{derive_base64, derive_hex};
use crate::state::{IssuedToken, State};

/// How long an IAM token is valid, in seconds (24 h).
pub const TOKEN_LIFETIME: u64 = 24 * 3600;

/// A Huawei Cloud account: one IAM user, one region project, its IoTDA products and devices.
#[derive(Clone, Default)]
pub struct HuaweiAccount {
    /// The account (IAM domain) name.
    pub domain: String,
    /// The IAM user name.
    pub user: String,
    /// The IAM user's password.
    pub password: String,
    /// The region, which is also the project name in the token scope, e.g. `cn-north-4`.
    pub region: String,
    /// The project id in IoTDA paths.
    pub project_id: String,
    /// The IoTDA products of the project.
    pub products: Vec<HuaweiProduct>,
    /// The devices of the project.
    pub devices: Vec<HuaweiDevice>,
}

impl HuaweiAccount {
    /// An account without products or devices.
    pub fn new(domain: &str, user: &str, password: &str, region: &str, project_id: &str) -> Self {
        Self {
            domain: domain.into(),
            user: user.into(),
            password: password.into(),
            region: region.into(),
            project_id: project_id.into(),
            ..Self::default()
        }
    }

    /// Adds a product.
    pub fn with_product(mut self, product: HuaweiProduct) -> Self {
        self.products.push(product);
        self
    }

    /// Adds an existing device.
    pub fn with_device(mut self, device: HuaweiDevice) -> Self {
        self.devices.push(device);
        self
    }

    /// The device with `node_id`, for inspection.
    pub fn device_by_node(&self, node_id: &str) -> Option<&HuaweiDevice> {
        self.devices.iter().find(|d| d.node_id == node_id)
    }
}

/// An IoTDA product and what device creation hands out for it.
#[derive(Clone, Default)]
pub struct HuaweiProduct {
    /// The product id.
    pub product_id: String,
    /// The secret handed to devices created without `auth_info.secret`; `None` derives one.
    pub secret: Option<String>,
    /// When set, generated device ids are `{prefix}{node_id}` instead of
    /// `{product_id}_{node_id}`, to test that a device uses the id the cloud returns.
    pub device_id_prefix: Option<String>,
}

impl HuaweiProduct {
    /// A product with derived secrets and the default device id rule.
    pub fn new(product_id: &str) -> Self {
        Self {
            product_id: product_id.into(),
            ..Self::default()
        }
    }
}

/// An IoTDA device.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HuaweiDevice {
    /// The device id, used as MQTT user name.
    pub device_id: String,
    /// The node id (e.g. the IMEI).
    pub node_id: String,
    /// The product id.
    pub product_id: String,
    /// The device secret.
    pub secret: String,
}

fn iam_error(status: u16, title: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"error": {"code": status.to_string(), "title": title, "message": message}}),
    )
}

/// `POST /v3/auth/tokens`.
pub(crate) fn issue_token(state: &mut State, req: &Recorded) -> Response {
    let bad = || iam_error(400, "Bad Request", "The request body is invalid.");
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bad();
    };
    let identity = &body["auth"]["identity"];
    let user = &identity["password"]["user"];
    let uses_password = identity["methods"]
        .as_array()
        .is_some_and(|m| m.iter().any(|v| v == "password"));
    let (Some(domain), Some(name), Some(password)) = (
        user["domain"]["name"].as_str(),
        user["name"].as_str(),
        user["password"].as_str(),
    ) else {
        return bad();
    };
    let project = &body["auth"]["scope"]["project"];
    let (scope_name, scope_id) = (project["name"].as_str(), project["id"].as_str());
    if !uses_password || (scope_name.is_none() && scope_id.is_none()) {
        return bad();
    }
    let Some(account) = state
        .accounts
        .huawei
        .iter()
        .find(|a| a.domain == domain && a.user == name && a.password == password)
        .cloned()
    else {
        return iam_error(401, "Unauthorized", "The username or password is wrong.");
    };
    if scope_name.is_some_and(|n| n != account.region)
        || scope_id.is_some_and(|id| id != account.project_id)
    {
        return iam_error(
            401,
            "Unauthorized",
            "The project in the scope does not belong to the user.",
        );
    }
    let now = state.now();
    let serial = state.next_serial().to_string();
    let token = format!(
        "MIIemu{}",
        derive_base64(&["huawei-token", &serial, domain, name], 45)
    );
    state.huawei_tokens.push(IssuedToken {
        token: token.clone(),
        project_id: account.project_id.clone(),
        expires_at: now + TOKEN_LIFETIME,
    });
    Response::json(
        201,
        &json!({"token": {
            "methods": ["password"],
            "issued_at": iso8601(now),
            "expires_at": iso8601(now + TOKEN_LIFETIME),
            "project": {"id": account.project_id, "name": account.region},
            "user": {"domain": {"name": account.domain}, "name": account.user},
        }}),
    )
    .with_header("X-Subject-Token", &token)
}

fn iotda_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, &json!({"error_code": code, "error_msg": message}))
}

fn valid_id(id: &str, max: usize) -> bool {
    !id.is_empty()
        && id.len() <= max
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `POST /v5/iot/{project_id}/devices`.
pub(crate) fn create_device(state: &mut State, req: &Recorded, project_id: &str) -> Response {
    let now = state.now();
    let token_ok = req.header("X-Auth-Token").and_then(|t| {
        state
            .huawei_tokens
            .iter()
            .find(|issued| issued.token == t && issued.expires_at > now)
    });
    let Some(token) = token_ok else {
        return iotda_error(
            401,
            "IOTDA.000002",
            "The token is missing, invalid or expired.",
        );
    };
    if token.project_id != project_id {
        return iotda_error(
            403,
            "IOTDA.000004",
            "The token is not valid for this project.",
        );
    }

    let bad =
        |what: &str| iotda_error(400, "IOTDA.000006", &format!("Invalid input data: {what}."));
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bad("the body is not JSON");
    };
    let Some(node_id) = body["node_id"].as_str().filter(|n| valid_id(n, 64)) else {
        return bad("node_id");
    };
    let Some(product_id) = body["product_id"]
        .as_str()
        .filter(|p| !p.is_empty() && p.len() <= 36)
    else {
        return bad("product_id");
    };
    let device_id = match &body["device_id"] {
        Value::Null => None,
        Value::String(id) if valid_id(id, 128) => Some(id.as_str()),
        _ => return bad("device_id"),
    };
    let auth = &body["auth_info"];
    if !(auth.is_null() || auth["auth_type"].is_null() || auth["auth_type"] == "SECRET") {
        return bad("auth_info.auth_type (only SECRET is emulated)");
    }
    let given_secret = match &auth["secret"] {
        Value::Null => None,
        Value::String(s) if (8..=32).contains(&s.len()) => Some(s.clone()),
        _ => return bad("auth_info.secret"),
    };

    let Some(account) = state.accounts.huawei_account(project_id) else {
        return iotda_error(
            403,
            "IOTDA.000004",
            "The token is not valid for this project.",
        );
    };
    let Some(product) = account.products.iter().find(|p| p.product_id == product_id) else {
        return iotda_error(404, "IOTDA.010001", "The product does not exist.");
    };
    let device_id = device_id.map_or_else(
        || match &product.device_id_prefix {
            Some(prefix) => format!("{prefix}{node_id}"),
            None => format!("{product_id}_{node_id}"),
        },
        str::to_owned,
    );
    let secret = given_secret
        .or_else(|| product.secret.clone())
        .unwrap_or_else(|| derive_hex(&["huawei", &device_id], 16));
    if account.devices.iter().any(|d| d.node_id == node_id) {
        return iotda_error(409, "IOTDA.010002", "The node_id already exists.");
    }
    if account.devices.iter().any(|d| d.device_id == device_id) {
        return iotda_error(409, "IOTDA.010003", "The device_id already exists.");
    }
    account.devices.push(HuaweiDevice {
        device_id: device_id.clone(),
        node_id: node_id.into(),
        product_id: product_id.into(),
        secret: secret.clone(),
    });
    Response::json(
        201,
        &json!({
            "app_id": "emulator-app",
            "device_id": device_id,
            "node_id": node_id,
            "gateway_id": device_id,
            "device_name": body["device_name"].as_str().unwrap_or(node_id),
            "node_type": "ENDPOINT",
            "product_id": product_id,
            "status": "INACTIVE",
            "auth_info": {
                "auth_type": "SECRET",
                "secret": secret,
                "secure_access": true,
                "timeout": 0,
            },
        }),
    )
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for HuaweiAccount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HuaweiAccount")
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("region", &self.region)
            .field("project_id", &self.project_id)
            .field("products", &self.products)
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for HuaweiProduct {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HuaweiProduct")
            .field("product_id", &self.product_id)
            .field("device_id_prefix", &self.device_id_prefix)
            .finish_non_exhaustive()
    }
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for HuaweiDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HuaweiDevice")
            .field("device_id", &self.device_id)
            .field("node_id", &self.node_id)
            .field("product_id", &self.product_id)
            .finish_non_exhaustive()
    }
}
