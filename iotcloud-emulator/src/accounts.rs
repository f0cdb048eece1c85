//! What the emulated clouds know: products, secrets, devices, switches and the clock.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::aliyun::AliyunProduct;
use crate::devices::{BaiduDevice, TlinkDevice, TuyaDevice};
use crate::huawei::HuaweiAccount;
use crate::onenet::OneNetUser;
use crate::tencent::TencentProduct;

/// Everything the emulated clouds know, per cloud. The emulator owns a copy and updates it
/// as devices register; read it back with [`Emulator::accounts`](crate::Emulator::accounts).
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// Tencent IoT Explorer products.
    pub tencent: Vec<TencentProduct>,
    /// Aliyun IoT Platform products.
    pub aliyun: Vec<AliyunProduct>,
    /// OneNET users (user-level OpenAPI keys) and their products.
    pub onenet: Vec<OneNetUser>,
    /// Huawei Cloud IAM accounts and their IoTDA projects.
    pub huawei: Vec<HuaweiAccount>,
    /// TuyaLink devices.
    pub tuya: Vec<TuyaDevice>,
    /// Baidu IoT Core devices.
    pub baidu: Vec<BaiduDevice>,
    /// Tlink devices.
    pub tlink: Vec<TlinkDevice>,
    /// A fixed server clock in unix seconds; `None` reads the system clock.
    pub now: Option<u64>,
    /// Mark a device activated as soon as it registers, as if it had connected over MQTT
    /// right after. Real clouds activate on the first MQTT login, which the emulator's
    /// broker ([`CloudEmulator`](crate::CloudEmulator)) does too; with the registration
    /// server alone, set this or activate devices in the test.
    pub activate_on_register: bool,
}

impl Accounts {
    /// The server's current unix time: [`Accounts::now`] or the system clock.
    pub fn current_time(&self) -> u64 {
        self.now.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }

    /// The Tencent product `product_id`, for inspection or changes.
    pub fn tencent_product(&mut self, product_id: &str) -> Option<&mut TencentProduct> {
        self.tencent.iter_mut().find(|p| p.product_id == product_id)
    }

    /// The Aliyun product `product_key`, for inspection or changes.
    pub fn aliyun_product(&mut self, product_key: &str) -> Option<&mut AliyunProduct> {
        self.aliyun
            .iter_mut()
            .find(|p| p.product_key == product_key)
    }

    /// The OneNET user `user_id`, for inspection or changes.
    pub fn onenet_user(&mut self, user_id: &str) -> Option<&mut OneNetUser> {
        self.onenet.iter_mut().find(|u| u.user_id == user_id)
    }

    /// The Huawei account whose IoTDA project is `project_id`, for inspection or changes.
    pub fn huawei_account(&mut self, project_id: &str) -> Option<&mut HuaweiAccount> {
        self.huawei.iter_mut().find(|a| a.project_id == project_id)
    }
}

#[cfg(test)]
mod debug_tests {
    use crate::aliyun::{AliyunDevice, AliyunProduct};
    use crate::huawei::HuaweiAccount;
    use crate::tencent::{TencentDevice, TencentProduct};

    #[test]
    fn debug_output_never_shows_a_secret() {
        let mut aliyun = AliyunProduct::new("a1Pk", "product-secret-1");
        aliyun
            .devices
            .push(AliyunDevice::new("dev", "device-secret-2"));
        let mut tencent = TencentProduct::new("TPID", "product-secret-3");
        tencent
            .devices
            .push(TencentDevice::new("dev", "psk-secret-4"));
        let huawei = HuaweiAccount::new("dom", "user", "iam-password-5", "cn-north-4", "proj");
        let shown = format!("{aliyun:?} {tencent:?} {huawei:?}");
        for secret in ["secret-1", "secret-2", "secret-3", "secret-4", "password-5"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("a1Pk") && shown.contains("TPID") && shown.contains("dom"));
    }
}
