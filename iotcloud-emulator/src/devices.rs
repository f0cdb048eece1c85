//! Devices of the clouds without device-side registration (Tuya, Baidu, Tlink): each holds
//! the credentials it logs in with.

use std::fmt;

/// A TuyaLink device (clouds-official §5.3).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TuyaDevice {
    /// The product id (`pid` of version reports).
    pub product_id: String,
    /// The device id.
    pub device_id: String,
    /// The device secret, the HMAC key of the password.
    pub secret: String,
}

impl TuyaDevice {
    /// A device of `product_id`.
    pub fn new(product_id: &str, device_id: &str, secret: &str) -> Self {
        Self {
            product_id: product_id.into(),
            device_id: device_id.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for TuyaDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TuyaDevice")
            .field("product_id", &self.product_id)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// A Baidu IoT Core device (clouds-official §6.2).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BaiduDevice {
    /// The IoT Core id (first label of the host, and part of the user name).
    pub core_id: String,
    /// The device key (the device's name).
    pub device_key: String,
    /// The device secret, hashed into the password.
    pub secret: String,
}

impl BaiduDevice {
    /// A device of IoT Core `core_id`.
    pub fn new(core_id: &str, device_key: &str, secret: &str) -> Self {
        Self {
            core_id: core_id.into(),
            device_key: device_key.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for BaiduDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaiduDevice")
            .field("core_id", &self.core_id)
            .field("device_key", &self.device_key)
            .finish_non_exhaustive()
    }
}

/// A Tlink device (clouds-official §7): a serial number and the account's login.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlinkDevice {
    /// The serial number, also the client id.
    pub serial: String,
    /// The account's user name.
    pub username: String,
    /// The account's password, sent in clear.
    pub password: String,
}

impl TlinkDevice {
    /// A device `serial` of the account `username`.
    pub fn new(serial: &str, username: &str, password: &str) -> Self {
        Self {
            serial: serial.into(),
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for TlinkDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlinkDevice")
            .field("serial", &self.serial)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}
