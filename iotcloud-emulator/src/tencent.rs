//! Tencent IoT Explorer dynamic registration: `/device/register` and legacy `/register/dev`
//! (clouds-official §2.3, luatos-iotcloud §3.1).

use serde_json::{Value, json};

use crate::http::{Recorded, Response};
use crate::sign::{self, derive_base64, tencent_encrypt_payload};
use crate::state::State;

/// Largest clock difference Tencent tolerates on a registration timestamp, in seconds.
pub const TIMESTAMP_WINDOW: u64 = 300;

/// How a product's devices authenticate, and so what registration hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TencentAuthMode {
    /// Key authentication: the answer carries `psk` (`encryptionType` 2).
    #[default]
    Psk,
    /// Certificate authentication: the answer carries `clientCert` and `clientKey`
    /// (`encryptionType` 1).
    Certificate,
}

/// A Tencent product with its secret and devices.
#[derive(Clone)]
pub struct TencentProduct {
    /// `ProductId`, e.g. `ZAJCHA24SH`.
    pub product_id: String,
    /// `ProductSecret`; its first 16 bytes are the payload key.
    pub product_secret: String,
    /// Whether dynamic registration is switched on for the product.
    pub dynamic_registration: bool,
    /// Automatic creation (RegisterType 2): unknown device names are created on registration.
    pub auto_create: bool,
    /// What registration hands out.
    pub auth_mode: TencentAuthMode,
    /// The devices that exist.
    pub devices: Vec<TencentDevice>,
}

impl TencentProduct {
    /// A key-authentication product with dynamic registration on and no devices.
    pub fn new(product_id: &str, product_secret: &str) -> Self {
        Self {
            product_id: product_id.into(),
            product_secret: product_secret.into(),
            dynamic_registration: true,
            auto_create: false,
            auth_mode: TencentAuthMode::Psk,
            devices: Vec::new(),
        }
    }

    /// Adds a device.
    pub fn with_device(mut self, device: TencentDevice) -> Self {
        self.devices.push(device);
        self
    }

    /// The device `name`, for inspection or changes.
    pub fn device(&mut self, name: &str) -> Option<&mut TencentDevice> {
        self.devices.iter_mut().find(|d| d.name == name)
    }
}

/// A Tencent device and the credentials registration hands out for it.
#[derive(Clone, Default)]
pub struct TencentDevice {
    /// `DeviceName`.
    pub name: String,
    /// The device PSK (base64) handed out in key mode.
    pub psk: String,
    /// The PEM certificate handed out in certificate mode.
    pub client_cert: String,
    /// The PEM private key handed out in certificate mode.
    pub client_key: String,
    /// The device has connected over MQTT; registration is then refused.
    pub activated: bool,
    /// How many registrations succeeded.
    pub registrations: u32,
}

impl TencentDevice {
    /// A device handing out `psk` in key mode.
    pub fn new(name: &str, psk: &str) -> Self {
        Self {
            name: name.into(),
            psk: psk.into(),
            ..Self::default()
        }
    }

    /// A device handing out a certificate and key in certificate mode.
    pub fn with_certificate(name: &str, client_cert: &str, client_key: &str) -> Self {
        Self {
            name: name.into(),
            client_cert: client_cert.into(),
            client_key: client_key.into(),
            ..Self::default()
        }
    }

    /// Marks the device activated.
    pub fn activated(mut self) -> Self {
        self.activated = true;
        self
    }

    fn generated(product_id: &str, name: &str) -> Self {
        let pem = |kind: &str, len| {
            format!(
                "-----BEGIN {kind}-----\n{}\n-----END {kind}-----\n",
                derive_base64(&["tencent", kind, product_id, name], len)
            )
        };
        Self {
            name: name.into(),
            psk: derive_base64(&["tencent-psk", product_id, name], 16),
            client_cert: pem("CERTIFICATE", 48),
            client_key: pem("PRIVATE KEY", 48),
            ..Self::default()
        }
    }
}

/// Why a Tencent registration failed; rendered in either API's error format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    MissingParameter,
    InvalidParameter,
    SignatureExpire,
    SignatureFailure,
    ProductNotFound,
    DeviceNotFound,
    RegistrationDisabled,
    AlreadyActivated,
}

impl Refusal {
    /// The `Response.Error.Code` of `/device/register` (emulator-chosen; see README).
    fn code(self) -> &'static str {
        match self {
            Self::MissingParameter => "MissingParameter",
            Self::InvalidParameter => "InvalidParameterValue",
            Self::SignatureExpire => "AuthFailure.SignatureExpire",
            Self::SignatureFailure => "AuthFailure.SignatureFailure",
            Self::ProductNotFound => "ResourceNotFound.ProductNotExist",
            Self::DeviceNotFound => "ResourceNotFound.DeviceNotExist",
            Self::RegistrationDisabled => "UnauthorizedOperation.DynamicRegisterDisabled",
            Self::AlreadyActivated => "FailedOperation.DeviceAlreadyActivated",
        }
    }

    /// The non-zero `code` of `/register/dev` (emulator-chosen; see README).
    fn legacy_code(self) -> i64 {
        match self {
            Self::MissingParameter | Self::InvalidParameter => 1001,
            Self::SignatureFailure => 1002,
            Self::SignatureExpire => 1003,
            Self::ProductNotFound => 1004,
            Self::DeviceNotFound => 1005,
            Self::RegistrationDisabled => 1006,
            Self::AlreadyActivated => 1007,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::MissingParameter => "a required parameter is missing",
            Self::InvalidParameter => "a parameter is invalid",
            Self::SignatureExpire => "the timestamp is outside the allowed window",
            Self::SignatureFailure => "signature verification failed",
            Self::ProductNotFound => "the product does not exist",
            Self::DeviceNotFound => "the device does not exist",
            Self::RegistrationDisabled => "dynamic registration is not enabled for the product",
            Self::AlreadyActivated => "the device is already activated",
        }
    }
}

/// A verified request: which product, which device.
struct Claim {
    product_id: String,
    device_name: String,
}

/// `POST /device/register`.
pub(crate) fn register(state: &mut State, req: &Recorded) -> Response {
    let request_id = state.request_id();
    let answer = register_current(state, req);
    Response::json(
        200,
        &match answer {
            Ok((len, payload)) => json!({"Response": {
                "Len": len, "Payload": payload, "RequestId": request_id
            }}),
            Err(f) => json!({"Response": {
                "Error": {"Code": f.code(), "Message": f.message()},
                "RequestId": request_id
            }}),
        },
    )
}

fn register_current(state: &mut State, req: &Recorded) -> Result<(usize, String), Refusal> {
    let header = |name| req.header(name).ok_or(Refusal::MissingParameter);
    let algorithm = header("X-TC-Algorithm")?;
    let timestamp = header("X-TC-Timestamp")?;
    let nonce = header("X-TC-Nonce")?;
    let signature = header("X-TC-Signature")?;
    check_timestamp(timestamp, state.now())?;
    if nonce.parse::<u64>().is_err() {
        return Err(Refusal::InvalidParameter);
    }
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| Refusal::InvalidParameter)?;
    let field = |name| match body.get(name) {
        None => Err(Refusal::MissingParameter),
        Some(v) => v.as_str().ok_or(Refusal::InvalidParameter),
    };
    let claim = Claim {
        product_id: field("ProductId")?.to_owned(),
        device_name: field("DeviceName")?.to_owned(),
    };
    let secret = product_secret(state, &claim.product_id)?;
    let host = req.header("Host").unwrap_or_default();
    let expected =
        sign::tencent_register_signature(&secret, host, algorithm, timestamp, nonce, &req.body)
            .ok_or(Refusal::InvalidParameter)?;
    if expected != signature {
        return Err(Refusal::SignatureFailure);
    }
    issue(state, &claim)
}

/// `POST /register/dev`.
pub(crate) fn register_legacy(state: &mut State, req: &Recorded) -> Response {
    Response::json(
        200,
        &match register_old(state, req) {
            Ok((len, payload)) => json!({"code": 0, "message": "", "len": len, "payload": payload}),
            Err(f) => json!({"code": f.legacy_code(), "message": f.message()}),
        },
    )
}

fn register_old(state: &mut State, req: &Recorded) -> Result<(usize, String), Refusal> {
    // The C SDK sends this JSON with a form content type, so the content type is not checked.
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| Refusal::InvalidParameter)?;
    let text = |name| match body.get(name) {
        None => Err(Refusal::MissingParameter),
        Some(v) => v.as_str().ok_or(Refusal::InvalidParameter),
    };
    // Numbers as the device wrote them; a quoted integer is tolerated.
    let integer = |name| match body.get(name) {
        None => Err(Refusal::MissingParameter),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.to_string()),
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.clone()),
        Some(_) => Err(Refusal::InvalidParameter),
    };
    let claim = Claim {
        product_id: text("productId")?.to_owned(),
        device_name: text("deviceName")?.to_owned(),
    };
    let nonce = integer("nonce")?;
    let timestamp = integer("timestamp")?;
    let signature = text("signature")?;
    check_timestamp(&timestamp, state.now())?;
    let secret = product_secret(state, &claim.product_id)?;
    let expected = sign::tencent_legacy_signature(
        &secret,
        &claim.device_name,
        &nonce,
        &claim.product_id,
        &timestamp,
    );
    if expected != signature {
        return Err(Refusal::SignatureFailure);
    }
    issue(state, &claim)
}

fn check_timestamp(timestamp: &str, now: u64) -> Result<(), Refusal> {
    let ts: u64 = timestamp.parse().map_err(|_| Refusal::InvalidParameter)?;
    if ts.abs_diff(now) > TIMESTAMP_WINDOW {
        return Err(Refusal::SignatureExpire);
    }
    Ok(())
}

fn product_secret(state: &mut State, product_id: &str) -> Result<String, Refusal> {
    state
        .accounts
        .tencent_product(product_id)
        .map(|p| p.product_secret.clone())
        .ok_or(Refusal::ProductNotFound)
}

/// The checks after authentication, the state change, and the encrypted answer.
fn issue(state: &mut State, claim: &Claim) -> Result<(usize, String), Refusal> {
    let activate = state.accounts.activate_on_register;
    let product = state
        .accounts
        .tencent_product(&claim.product_id)
        .ok_or(Refusal::ProductNotFound)?;
    if !product.dynamic_registration {
        return Err(Refusal::RegistrationDisabled);
    }
    if product.device(&claim.device_name).is_none() {
        if !product.auto_create {
            return Err(Refusal::DeviceNotFound);
        }
        let device = TencentDevice::generated(&product.product_id, &claim.device_name);
        product.devices.push(device);
    }
    let secret = product.product_secret.clone();
    let mode = product.auth_mode;
    let device = product
        .device(&claim.device_name)
        .ok_or(Refusal::DeviceNotFound)?;
    if device.activated {
        return Err(Refusal::AlreadyActivated);
    }
    device.registrations += 1;
    device.activated |= activate;
    let plaintext = match mode {
        TencentAuthMode::Psk => json!({"encryptionType": 2, "psk": device.psk}),
        TencentAuthMode::Certificate => json!({
            "encryptionType": 1,
            "clientCert": device.client_cert,
            "clientKey": device.client_key,
        }),
    }
    .to_string();
    Ok((
        plaintext.len(),
        tencent_encrypt_payload(&secret, plaintext.as_bytes()),
    ))
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for TencentProduct {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TencentProduct")
            .field("product_id", &self.product_id)
            .field("dynamic_registration", &self.dynamic_registration)
            .field("auto_create", &self.auto_create)
            .field("auth_mode", &self.auth_mode)
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for TencentDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TencentDevice")
            .field("name", &self.name)
            .field("activated", &self.activated)
            .field("registrations", &self.registrations)
            .finish_non_exhaustive()
    }
}
