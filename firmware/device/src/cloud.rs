//! The cloud this build signs in to, chosen by a cargo feature, with key authentication and
//! its endpoint overridden to plain TCP (QEMU's UART carries the bytes to the broker, so the
//! host and port only have to be valid). The credentials are the providers' published test
//! vectors.

use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::{ProviderError, TopicPath};

/// Plain TCP to a local broker.
const LOCAL: EndpointOverrides<'static> = EndpointOverrides {
    host: Some("127.0.0.1"),
    port: Some(1883),
    tls: TlsChoice::Off,
    client: None,
};

const _: () = assert!(
    cfg!(feature = "aliyun") as u8
        + cfg!(feature = "tencent") as u8
        + cfg!(feature = "onenet") as u8
        + cfg!(feature = "huawei") as u8
        + cfg!(feature = "tuya") as u8
        + cfg!(feature = "baidu") as u8
        + cfg!(feature = "tlink") as u8
        + cfg!(feature = "plain") as u8
        == 1,
    "enable exactly one cloud feature (with --no-default-features for another than aliyun)"
);

#[cfg(feature = "aliyun")]
mod chosen {
    use super::*;
    use iotcloud_aliyun::Aliyun;

    pub const NAME: &str = "aliyun";
    pub type Cloud = Aliyun<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        let aliyun = Aliyun::with_secret("123456789", "abcdefg", "Y877Bgo8X5owd3lcB5wWDjryNPoB")?;
        Ok(aliyun.with_overrides(LOCAL))
    }

    pub fn echo_topic(cloud: &Cloud) -> TopicPath<'static> {
        cloud.user_update()
    }
}

#[cfg(feature = "tencent")]
mod chosen {
    use super::*;
    use iotcloud_tencent::Tencent;

    pub const NAME: &str = "tencent";
    pub type Cloud = Tencent<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        Ok(
            Tencent::with_secret("LD8S5J1L07", "test", "acyv3QDJrRa0fW5UE58KnQ==")?
                .with_overrides(LOCAL),
        )
    }

    pub fn echo_topic(cloud: &Cloud) -> TopicPath<'static> {
        cloud.data()
    }
}

#[cfg(feature = "onenet")]
mod chosen {
    use super::*;
    use iotcloud_onenet::OneNet;

    pub const NAME: &str = "onenet";
    pub type Cloud = OneNet<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        let key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
        Ok(OneNet::with_secret("Ck2AF9QD2K", "test", key)?.with_overrides(LOCAL))
    }

    pub fn echo_topic(cloud: &Cloud) -> TopicPath<'static> {
        cloud.property_post()
    }
}

#[cfg(feature = "huawei")]
mod chosen {
    use super::*;
    use iotcloud_huawei::{DeviceId, Huawei};

    pub const NAME: &str = "huawei";
    pub type Cloud = Huawei<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        let id = DeviceId::new("6203cc94c7fb24029b110408_88888888")?;
        Ok(Huawei::with_secret(id, "123456789")?.with_overrides(LOCAL))
    }

    pub fn echo_topic(cloud: &Cloud) -> TopicPath<'static> {
        cloud.messages_up()
    }
}

#[cfg(feature = "tuya")]
mod chosen {
    use super::*;
    use iotcloud_tuya::Tuya;

    pub const NAME: &str = "tuya";
    pub type Cloud = Tuya<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        Ok(Tuya::with_secret("6c95875d0f5ba69607nzfl", "fb803786602df760")?.with_overrides(LOCAL))
    }

    pub fn echo_topic(cloud: &Cloud) -> TopicPath<'static> {
        cloud.property_report()
    }
}

#[cfg(feature = "baidu")]
mod chosen {
    use super::*;
    use iotcloud_baidu::Baidu;

    pub const NAME: &str = "baidu";
    pub type Cloud = Baidu<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        Ok(Baidu::with_secret("abcd123", "mydevice", "ImSeCrEt0I1M2jkl")?.with_overrides(LOCAL))
    }

    pub fn echo_topic(cloud: &Cloud) -> TopicPath<'static> {
        cloud.events()
    }
}

#[cfg(feature = "tlink")]
mod chosen {
    use super::*;
    use iotcloud_tlink::Tlink;

    pub const NAME: &str = "tlink";
    pub type Cloud = Tlink<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        let tlink = Tlink::with_secret("tlink_account", "23L698OJDS0Q1MG4", "account-password")?;
        Ok(tlink.with_overrides(LOCAL))
    }

    pub fn echo_topic(cloud: &Cloud) -> TopicPath<'static> {
        cloud.topic("sw1")
    }
}

#[cfg(feature = "plain")]
mod chosen {
    use super::*;
    use iotcloud_core::plain::PlainMqtt;

    pub const NAME: &str = "plain";
    pub type Cloud = PlainMqtt<'static>;

    pub fn provider() -> Result<Cloud, ProviderError> {
        let _ = LOCAL; // the plain provider takes host and port directly
        Ok(PlainMqtt::new("127.0.0.1", 1883, "fw-device")?.with_login("fw-device", "secret"))
    }

    pub fn echo_topic(_cloud: &Cloud) -> TopicPath<'static> {
        TopicPath::new(["fw-device/echo", "", "", "", "", ""])
    }
}

pub use chosen::{Cloud, NAME, echo_topic, provider};
