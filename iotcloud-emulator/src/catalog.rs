//! Devices and products declared in a small TOML file or on the command line, and the demo
//! set: one device per cloud.
//!
//! ```toml
//! [[device]]
//! cloud = "aliyun"
//! product = "a1B2c3D4e5f"
//! name = "pump-7"
//! secret = "0123456789abcdef0123456789abcdef"
//! product_secret = "AbCdEfGhIjKlMnOp"   # optional: dynamic registration on
//! ```

use serde::Deserialize;

use crate::sign::derive_base64;
use crate::{
    Accounts, AliyunDevice, AliyunProduct, BaiduDevice, Cloud, HuaweiAccount, HuaweiDevice,
    HuaweiProduct, OneNetDevice, OneNetProduct, OneNetUser, TencentDevice, TencentProduct,
    TlinkDevice, TuyaDevice,
};

/// One declared device. What `product`, `name` and `secret` mean depends on the cloud:
///
/// | cloud | `product` | `name` | `secret` |
/// |---|---|---|---|
/// | aliyun | ProductKey | DeviceName | DeviceSecret |
/// | tencent | ProductId | DeviceName | device PSK (base64) |
/// | onenet | product id | device name | device key (base64) |
/// | huawei | product id | device id | device secret |
/// | tuya | product id | device id | device secret |
/// | baidu | IoT Core id | device key | device secret |
/// | tlink | (unused) | serial number | the account's password (`username` is the account) |
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// The cloud's name (`aliyun`, `tencent`, `onenet`, `huawei`, `tuya`, `baidu`, `tlink`).
    pub cloud: String,
    /// The product (see the table).
    #[serde(default)]
    pub product: String,
    /// The device (see the table).
    pub name: String,
    /// The device's secret (see the table).
    #[serde(default)]
    pub secret: String,
    /// Aliyun and Tencent: the product secret, which turns dynamic registration on; OneNET:
    /// the product-level access key (base64).
    #[serde(default)]
    pub product_secret: Option<String>,
    /// Tlink: the account's user name.
    #[serde(default)]
    pub username: Option<String>,
}

impl std::fmt::Debug for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSpec")
            .field("cloud", &self.cloud)
            .field("product", &self.product)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a device declaration was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError(pub String);

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CatalogError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    device: Vec<DeviceSpec>,
}

/// Reads `[[device]]` tables from TOML text.
///
/// # Errors
/// The TOML error (its position, not the text), or a declaration that lacks what its cloud
/// needs.
pub fn parse_toml(text: &str) -> Result<Vec<DeviceSpec>, CatalogError> {
    let file: File = toml::from_str(text).map_err(|e| {
        // The message quotes the offending line, which may hold a secret: keep the position.
        let at = e
            .span()
            .map(|s| format!(" at byte {}", s.start))
            .unwrap_or_default();
        CatalogError(format!("device file is not valid{at}: expected [[device]] tables with cloud, product, name, secret"))
    })?;
    for spec in &file.device {
        spec.check()?;
    }
    Ok(file.device)
}

/// Reads one declaration from the command line: `cloud=…,product=…,name=…,secret=…`.
///
/// # Errors
/// A part that is not `key=value`, an unknown key, or a declaration that lacks what its
/// cloud needs.
pub fn parse_spec(text: &str) -> Result<DeviceSpec, CatalogError> {
    let mut spec = DeviceSpec::default();
    for part in text.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(CatalogError(format!(
                "`{}` is not key=value",
                part.chars().take_while(|c| *c != '=').collect::<String>()
            )));
        };
        let v = v.to_owned();
        match k {
            "cloud" => spec.cloud = v,
            "product" => spec.product = v,
            "name" => spec.name = v,
            "secret" => spec.secret = v,
            "product_secret" => spec.product_secret = Some(v),
            "username" => spec.username = Some(v),
            other => return Err(CatalogError(format!("unknown device key `{other}`"))),
        }
    }
    spec.check()?;
    Ok(spec)
}

impl DeviceSpec {
    fn cloud(&self) -> Result<Cloud, CatalogError> {
        self.cloud
            .parse()
            .map_err(|e: crate::UnknownCloud| CatalogError(e.to_string()))
    }

    fn check(&self) -> Result<(), CatalogError> {
        let cloud = self.cloud()?;
        let missing = |what: &str| {
            Err(CatalogError(format!(
                "{cloud} device `{}` needs `{what}`",
                self.name
            )))
        };
        if self.name.is_empty() {
            return missing("name");
        }
        if cloud != Cloud::Tlink && self.product.is_empty() {
            return missing("product");
        }
        if self.secret.is_empty()
            && !(matches!(cloud, Cloud::Aliyun | Cloud::Tencent) && self.product_secret.is_some())
        {
            return missing("secret");
        }
        if cloud == Cloud::Tlink && self.username.is_none() {
            return missing("username");
        }
        Ok(())
    }

    /// Adds the device (and its product) to `accounts`.
    ///
    /// # Errors
    /// As [`parse_spec`], for a declaration built by hand.
    pub fn add_to(&self, accounts: &mut Accounts) -> Result<(), CatalogError> {
        self.check()?;
        let (p, n, s) = (
            self.product.as_str(),
            self.name.as_str(),
            self.secret.as_str(),
        );
        match self.cloud()? {
            Cloud::Aliyun => {
                if accounts.aliyun_product(p).is_none() {
                    let mut product =
                        AliyunProduct::new(p, self.product_secret.as_deref().unwrap_or(""));
                    product.dynamic_registration = self.product_secret.is_some();
                    accounts.aliyun.push(product);
                }
                if let Some(product) = accounts.aliyun_product(p) {
                    product.devices.retain(|d| d.name != n);
                    product.devices.push(if s.is_empty() {
                        AliyunDevice::generated(p, n)
                    } else {
                        AliyunDevice::new(n, s)
                    });
                }
            }
            Cloud::Tencent => {
                if accounts.tencent_product(p).is_none() {
                    let mut product =
                        TencentProduct::new(p, self.product_secret.as_deref().unwrap_or(""));
                    product.dynamic_registration = self.product_secret.is_some();
                    accounts.tencent.push(product);
                }
                if let Some(product) = accounts.tencent_product(p) {
                    product.devices.retain(|d| d.name != n);
                    let psk = if s.is_empty() {
                        derive_base64(&["tencent", p, n], 16)
                    } else {
                        s.to_owned()
                    };
                    product.devices.push(TencentDevice::new(n, &psk));
                }
            }
            Cloud::OneNet => {
                if accounts.onenet.is_empty() {
                    accounts.onenet.push(OneNetUser::new(
                        "emulator",
                        &derive_base64(&["onenet-user"], 32),
                    ));
                }
                let user = &mut accounts.onenet[0];
                if user.product(p).is_none() {
                    let mut product = OneNetProduct::new(p);
                    product.access_key.clone_from(&self.product_secret);
                    user.products.push(product);
                }
                if let Some(product) = user.product(p) {
                    product.devices.retain(|d| d.name != n);
                    let did = 1_000_000 + product.devices.len() as u64;
                    product.devices.push(OneNetDevice {
                        name: n.into(),
                        did,
                        sec_key: s.into(),
                    });
                }
            }
            Cloud::Huawei => {
                if accounts.huawei.is_empty() {
                    accounts.huawei.push(HuaweiAccount::new(
                        "emulator",
                        "emulator",
                        &derive_base64(&["huawei-iam"], 12),
                        "cn-north-4",
                        "emulator-project",
                    ));
                }
                let account = &mut accounts.huawei[0];
                if !account.products.iter().any(|x| x.product_id == p) {
                    account.products.push(HuaweiProduct::new(p));
                }
                account.devices.retain(|d| d.device_id != n);
                account.devices.push(HuaweiDevice {
                    device_id: n.into(),
                    node_id: n.strip_prefix(&format!("{p}_")).unwrap_or(n).into(),
                    product_id: p.into(),
                    secret: s.into(),
                });
            }
            Cloud::Tuya => {
                accounts.tuya.retain(|d| d.device_id != n);
                accounts.tuya.push(TuyaDevice::new(p, n, s));
            }
            Cloud::Baidu => {
                accounts
                    .baidu
                    .retain(|d| !(d.core_id == p && d.device_key == n));
                accounts.baidu.push(BaiduDevice::new(p, n, s));
            }
            Cloud::Tlink => {
                accounts.tlink.retain(|d| d.serial != n);
                accounts.tlink.push(TlinkDevice::new(
                    n,
                    self.username.as_deref().unwrap_or(""),
                    s,
                ));
            }
        }
        Ok(())
    }
}

/// The demo set: one device per cloud, and the products and accounts the clouds with
/// dynamic registration register them with. The names are public so that a demo device
/// can be configured with them.
pub mod demo {
    use super::*;

    /// Aliyun ProductKey.
    pub const ALIYUN_PRODUCT: &str = "a1DemoPk001";
    /// Aliyun ProductSecret (registration over MQTT hands out the device secret).
    pub const ALIYUN_PRODUCT_SECRET: &str = "DemoAliyunProductSecret1";
    /// Aliyun DeviceName.
    pub const ALIYUN_DEVICE: &str = "pump-1";
    /// Tencent ProductId (10 characters).
    pub const TENCENT_PRODUCT: &str = "DEMOPID001";
    /// Tencent ProductSecret (at least 16 characters: the payload key).
    pub const TENCENT_PRODUCT_SECRET: &str = "DemoTencentProductSecret";
    /// Tencent DeviceName.
    pub const TENCENT_DEVICE: &str = "meter-1";
    /// OneNET user id.
    pub const ONENET_USER: &str = "420000";
    /// OneNET user access key (base64).
    pub const ONENET_USER_KEY: &str = "ZGVtby1vbmVuZXQtdXNlci1hY2Nlc3Mta2V5LTAwMDE=";
    /// OneNET product id.
    pub const ONENET_PRODUCT: &str = "DemoOneNet1";
    /// OneNET device name (created by registration).
    pub const ONENET_DEVICE: &str = "valve-1";
    /// Huawei IAM account (domain).
    pub const HUAWEI_DOMAIN: &str = "demo-account";
    /// Huawei IAM user.
    pub const HUAWEI_USER: &str = "demo-iam-user";
    /// Huawei IAM password.
    pub const HUAWEI_PASSWORD: &str = "Demo-IAM-Passw0rd";
    /// Huawei region.
    pub const HUAWEI_REGION: &str = "cn-north-4";
    /// Huawei project id.
    pub const HUAWEI_PROJECT: &str = "demoproject0001";
    /// Huawei product id.
    pub const HUAWEI_PRODUCT: &str = "demo-product";
    /// Huawei node id; registration creates device `{product}_{node}`.
    pub const HUAWEI_NODE: &str = "node-1";
    /// Tuya product id.
    pub const TUYA_PRODUCT: &str = "demotuyapid0001";
    /// Tuya device id.
    pub const TUYA_DEVICE: &str = "6cdemotuyadev00001";
    /// Tuya device secret (16 characters, as Tuya's are).
    pub const TUYA_SECRET: &str = "DemoTuyaSecret16";
    /// Baidu IoT Core id.
    pub const BAIDU_CORE: &str = "democore";
    /// Baidu device key.
    pub const BAIDU_DEVICE: &str = "lamp-1";
    /// Baidu device secret.
    pub const BAIDU_SECRET: &str = "DemoBaiduDeviceSecret";
    /// Tlink serial number.
    pub const TLINK_SERIAL: &str = "DEMOSERIAL000001";
    /// Tlink account user name.
    pub const TLINK_USER: &str = "demo-user";
    /// Tlink account password.
    pub const TLINK_PASSWORD: &str = "demo-password";

    /// The demo accounts: every cloud's product and device.
    pub fn accounts() -> Accounts {
        Accounts {
            aliyun: vec![
                AliyunProduct::new(ALIYUN_PRODUCT, ALIYUN_PRODUCT_SECRET)
                    .with_device(AliyunDevice::generated(ALIYUN_PRODUCT, ALIYUN_DEVICE)),
            ],
            tencent: vec![
                TencentProduct::new(TENCENT_PRODUCT, TENCENT_PRODUCT_SECRET).with_device(
                    TencentDevice::new(
                        TENCENT_DEVICE,
                        &derive_base64(&["tencent", TENCENT_PRODUCT, TENCENT_DEVICE], 16),
                    ),
                ),
            ],
            onenet: vec![
                OneNetUser::new(ONENET_USER, ONENET_USER_KEY)
                    .with_product(OneNetProduct::new(ONENET_PRODUCT)),
            ],
            huawei: vec![
                HuaweiAccount::new(
                    HUAWEI_DOMAIN,
                    HUAWEI_USER,
                    HUAWEI_PASSWORD,
                    HUAWEI_REGION,
                    HUAWEI_PROJECT,
                )
                .with_product(HuaweiProduct::new(HUAWEI_PRODUCT)),
            ],
            tuya: vec![TuyaDevice::new(TUYA_PRODUCT, TUYA_DEVICE, TUYA_SECRET)],
            baidu: vec![BaiduDevice::new(BAIDU_CORE, BAIDU_DEVICE, BAIDU_SECRET)],
            tlink: vec![TlinkDevice::new(TLINK_SERIAL, TLINK_USER, TLINK_PASSWORD)],
            ..Accounts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_command_line_declarations_make_devices() {
        let specs = parse_toml(
            r#"
            [[device]]
            cloud = "tuya"
            product = "pid1"
            name = "dev1"
            secret = "0123456789abcdef"

            [[device]]
            cloud = "tlink"
            name = "SERIAL1"
            secret = "pw"
            username = "me"
            "#,
        )
        .unwrap();
        let mut accounts = Accounts::default();
        for s in &specs {
            s.add_to(&mut accounts).unwrap();
        }
        parse_spec("cloud=aliyun,product=pk,name=dn,secret=s")
            .unwrap()
            .add_to(&mut accounts)
            .unwrap();
        assert_eq!(accounts.tuya[0].device_id, "dev1");
        assert_eq!(accounts.tlink[0].username, "me");
        assert_eq!(
            accounts.aliyun_product("pk").unwrap().devices[0].device_secret,
            "s"
        );
        assert!(!accounts.aliyun_product("pk").unwrap().dynamic_registration);
    }

    #[test]
    fn bad_declarations_are_named_without_their_secrets() {
        let e = parse_spec("cloud=mars,name=x,secret=hidden").unwrap_err();
        assert!(e.0.contains("mars"), "{e}");
        let e = parse_spec("cloud=baidu,name=x,secret=hidden").unwrap_err();
        assert!(e.0.contains("`product`"), "{e}");
        let e = parse_toml("[[device]]\ncloud = \"tuya\"\nsecret = 'topsecret'\n").unwrap_err();
        assert!(!e.0.contains("topsecret"), "{e}");
        let e = parse_spec("cloud=tuya,password").unwrap_err();
        assert!(e.0.contains("password"), "{e}");
    }
}
