//! Aliyun IoT Platform HTTPS dynamic registration, pre-registration flavour:
//! `POST /auth/register/device` (clouds-official §1.5.1).

use serde_json::json;

use crate::encoding::{pair, parse_pairs};
use crate::http::{Recorded, Response};
use crate::sign::{Algorithm, aliyun_register_sign, derive_hex};
use crate::state::State;

/// An Aliyun product with its secret and pre-registered devices.
#[derive(Clone)]
pub struct AliyunProduct {
    /// `ProductKey`, e.g. `a1B2c3D4e5f`.
    pub product_key: String,
    /// `ProductSecret`, the HMAC key of the registration `sign`.
    pub product_secret: String,
    /// Whether dynamic registration is switched on for the product.
    pub dynamic_registration: bool,
    /// Registration without pre-registration (`regnwl` over MQTT): unknown device names
    /// are created when they register.
    pub regnwl: bool,
    /// The devices; only these can register with `register` or over HTTPS.
    pub devices: Vec<AliyunDevice>,
}

impl AliyunProduct {
    /// A product with dynamic registration on and no devices.
    pub fn new(product_key: &str, product_secret: &str) -> Self {
        Self {
            product_key: product_key.into(),
            product_secret: product_secret.into(),
            dynamic_registration: true,
            regnwl: false,
            devices: Vec::new(),
        }
    }

    /// Allows registration without pre-registration (`regnwl`).
    pub fn with_regnwl(mut self) -> Self {
        self.regnwl = true;
        self
    }

    /// Adds a pre-registered device.
    pub fn with_device(mut self, device: AliyunDevice) -> Self {
        self.devices.push(device);
        self
    }

    /// The device `name`, for inspection or changes.
    pub fn device(&mut self, name: &str) -> Option<&mut AliyunDevice> {
        self.devices.iter_mut().find(|d| d.name == name)
    }
}

/// A pre-registered Aliyun device.
#[derive(Clone, Default)]
pub struct AliyunDevice {
    /// `DeviceName`.
    pub name: String,
    /// The `deviceSecret` registration hands out.
    pub device_secret: String,
    /// The device has connected; registration is then refused until `ResetThing`.
    pub activated: bool,
    /// How many registrations succeeded.
    pub registrations: u32,
    /// The client id and device token a `regnwl` registration issued, for the `connwl`
    /// login.
    pub token: Option<(String, String)>,
}

impl AliyunDevice {
    /// A device handing out `device_secret`.
    pub fn new(name: &str, device_secret: &str) -> Self {
        Self {
            name: name.into(),
            device_secret: device_secret.into(),
            ..Self::default()
        }
    }

    /// A device handing out a secret derived from its names (32 hex characters).
    pub fn generated(product_key: &str, name: &str) -> Self {
        Self::new(name, &derive_hex(&["aliyun", product_key, name], 16))
    }

    /// Marks the device activated.
    pub fn activated(mut self) -> Self {
        self.activated = true;
        self
    }
}

/// Codes of failed registrations (460 is Aliyun's parameter error; the rest are
/// emulator-chosen, see README).
mod code {
    pub const BAD_PARAMETER: i64 = 460;
    pub const BAD_SIGN: i64 = 6203;
    pub const PRODUCT_NOT_FOUND: i64 = 6250;
    pub const DEVICE_NOT_FOUND: i64 = 6100;
    pub const REGISTRATION_DISABLED: i64 = 6288;
    pub const ALREADY_ACTIVATED: i64 = 6289;
}

/// `POST /auth/register/device`.
pub(crate) fn register(state: &mut State, req: &Recorded) -> Response {
    let value = match register_device(state, req) {
        Ok((pk, dn, ds)) => json!({
            "code": 200,
            "data": {"productKey": pk, "deviceName": dn, "deviceSecret": ds},
            "message": "success",
        }),
        Err((code, message)) => json!({"code": code, "data": {}, "message": message}),
    };
    Response::json(200, &value)
}

type Failure = (i64, &'static str);

fn register_device(state: &mut State, req: &Recorded) -> Result<(String, String, String), Failure> {
    const BAD: Failure = (code::BAD_PARAMETER, "request parameter error");
    let text = std::str::from_utf8(&req.body).map_err(|_| BAD)?;
    let form = parse_pairs(text, true).ok_or(BAD)?;
    let field = |name| pair(&form, name).filter(|v| !v.is_empty()).ok_or(BAD);
    let product_key = field("productKey")?;
    let device_name = field("deviceName")?;
    let random = field("random")?;
    let sign = field("sign")?;
    let alg = Algorithm::from_hmac_name(field("signMethod")?).ok_or(BAD)?;

    let activate = state.accounts.activate_on_register;
    let product = state
        .accounts
        .aliyun_product(product_key)
        .ok_or((code::PRODUCT_NOT_FOUND, "product not found"))?;
    let expected = aliyun_register_sign(
        alg,
        &product.product_secret,
        product_key,
        device_name,
        random,
    );
    if !expected.eq_ignore_ascii_case(sign) {
        return Err((code::BAD_SIGN, "sign check error"));
    }
    if !product.dynamic_registration {
        return Err((
            code::REGISTRATION_DISABLED,
            "dynamic register is not enabled for the product",
        ));
    }
    let device = product
        .device(device_name)
        .ok_or((code::DEVICE_NOT_FOUND, "device not found"))?;
    if device.activated {
        return Err((code::ALREADY_ACTIVATED, "device is already active"));
    }
    device.registrations += 1;
    device.activated |= activate;
    Ok((
        product_key.to_owned(),
        device_name.to_owned(),
        device.device_secret.clone(),
    ))
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for AliyunProduct {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AliyunProduct")
            .field("product_key", &self.product_key)
            .field("dynamic_registration", &self.dynamic_registration)
            .field("regnwl", &self.regnwl)
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

/// Secrets (keys, passwords, certificates' keys) are left out.
impl core::fmt::Debug for AliyunDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AliyunDevice")
            .field("name", &self.name)
            .field("activated", &self.activated)
            .field("registrations", &self.registrations)
            .finish_non_exhaustive()
    }
}
