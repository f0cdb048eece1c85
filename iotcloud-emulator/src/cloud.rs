//! The seven clouds the emulator plays.

use std::fmt;
use std::str::FromStr;

/// One of the emulated clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    /// Aliyun IoT Platform.
    Aliyun,
    /// Tencent IoT Explorer.
    Tencent,
    /// China Mobile OneNET.
    OneNet,
    /// Huawei Cloud IoTDA.
    Huawei,
    /// TuyaLink.
    Tuya,
    /// Baidu IoT Core.
    Baidu,
    /// Tlink.
    Tlink,
}

impl Cloud {
    /// All seven, in the order the demo runs them.
    pub const ALL: [Cloud; 7] = [
        Cloud::Aliyun,
        Cloud::Tencent,
        Cloud::OneNet,
        Cloud::Huawei,
        Cloud::Tuya,
        Cloud::Baidu,
        Cloud::Tlink,
    ];

    /// The lower-case name the command line uses (`aliyun`, `onenet`, …).
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Aliyun => "aliyun",
            Cloud::Tencent => "tencent",
            Cloud::OneNet => "onenet",
            Cloud::Huawei => "huawei",
            Cloud::Tuya => "tuya",
            Cloud::Baidu => "baidu",
            Cloud::Tlink => "tlink",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A cloud name the emulator does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCloud(pub String);

impl fmt::Display for UnknownCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown cloud `{}` (aliyun, tencent, onenet, huawei, tuya, baidu, tlink)",
            self.0
        )
    }
}

impl std::error::Error for UnknownCloud {}

impl FromStr for Cloud {
    type Err = UnknownCloud;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "aliyun" => Ok(Cloud::Aliyun),
            "tencent" | "qcloud" => Ok(Cloud::Tencent),
            "onenet" => Ok(Cloud::OneNet),
            "huawei" => Ok(Cloud::Huawei),
            "tuya" => Ok(Cloud::Tuya),
            "baidu" => Ok(Cloud::Baidu),
            "tlink" => Ok(Cloud::Tlink),
            _ => Err(UnknownCloud(s.to_owned())),
        }
    }
}
