#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// A build with every cloud feature off has nothing to use most of the crate for.
#![cfg_attr(
    not(any(
        feature = "aliyun",
        feature = "tencent",
        feature = "onenet",
        feature = "huawei",
        feature = "tuya",
        feature = "baidu",
        feature = "tlink"
    )),
    allow(unused_variables, dead_code)
)]

#[cfg(test)]
extern crate std;

use core::convert::Infallible;
use core::fmt;
use core::marker::PhantomData;

pub use iotcloud_core;
pub use iotcloud_core::{
    Clock, Connected, Credentials, Device, DeviceOptions, DisconnectReason, Endpoint, Error, Event,
    KvStore, Limits, Memory, Message, MqttOptions, Platform, Provider, ProviderError, QoS,
    Registered, SignContext, TransitionError, Transport, TransportError, Unregistered,
};

#[cfg(feature = "aliyun")]
pub use iotcloud_aliyun as aliyun;
#[cfg(feature = "baidu")]
pub use iotcloud_baidu as baidu;
#[cfg(feature = "huawei")]
pub use iotcloud_huawei as huawei;
#[cfg(feature = "onenet")]
pub use iotcloud_onenet as onenet;
#[cfg(feature = "tencent")]
pub use iotcloud_tencent as tencent;
#[cfg(feature = "tlink")]
pub use iotcloud_tlink as tlink;
#[cfg(feature = "tuya")]
pub use iotcloud_tuya as tuya;

mod config;
mod select;

pub use config::{Config, ConfigError, Key, Timestamp, TlsMode};

use iotcloud_core::mqtt::{SubscribeTopic, Will};
use iotcloud_core::ota::{Notice, OtaContext, OtaJob, OtaStatus, OtaSupport};
use iotcloud_core::provider::Publication;
use iotcloud_core::register::{RegisterError, RegisterIo, RegistrationId};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::transport::ClientIdentity;

/// One of the seven clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Aliyun IoT Platform (`aliyun`).
    Aliyun,
    /// Tencent IoT Explorer (`tencent`, or LuatOS's alias `qcloud`).
    Tencent,
    /// China Mobile OneNET (`onenet`).
    OneNet,
    /// Huawei Cloud IoTDA (`huawei`).
    Huawei,
    /// Tuya (`tuya`).
    Tuya,
    /// Baidu IoT Core (`baidu`).
    Baidu,
    /// Tlink (`tlink`).
    Tlink,
}

impl Cloud {
    /// All seven.
    pub const ALL: [Cloud; 7] = [
        Cloud::Aliyun,
        Cloud::Tencent,
        Cloud::OneNet,
        Cloud::Huawei,
        Cloud::Tuya,
        Cloud::Baidu,
        Cloud::Tlink,
    ];

    /// The name LuatOS uses (and [`Provider::cloud`] returns).
    pub const fn name(self) -> &'static str {
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

    /// Parses a name: the seven above, and `qcloud` for Tencent.
    pub fn from_name(name: &str) -> Result<Cloud, ConfigError<'_>> {
        if name == "qcloud" {
            return Ok(Cloud::Tencent);
        }
        Cloud::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or(ConfigError::UnknownCloud(name))
    }

    /// Whether this build includes the cloud (its Cargo feature is on).
    pub const fn is_enabled(self) -> bool {
        match self {
            Cloud::Aliyun => cfg!(feature = "aliyun"),
            Cloud::Tencent => cfg!(feature = "tencent"),
            Cloud::OneNet => cfg!(feature = "onenet"),
            Cloud::Huawei => cfg!(feature = "huawei"),
            Cloud::Tuya => cfg!(feature = "tuya"),
            Cloud::Baidu => cfg!(feature = "baidu"),
            Cloud::Tlink => cfg!(feature = "tlink"),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Any of the seven providers, chosen at run time. It is a [`Provider`], so the same device
/// code runs against every cloud; only the [`Config`] changes.
#[derive(Debug, Clone)]
#[non_exhaustive]
// One provider per device, built once; without `alloc` there is nothing to box into.
#[allow(clippy::large_enum_variant)]
pub enum AnyProvider<'a> {
    /// Aliyun.
    #[cfg(feature = "aliyun")]
    Aliyun(aliyun::Aliyun<'a>),
    /// Tencent.
    #[cfg(feature = "tencent")]
    Tencent(tencent::Tencent<'a>),
    /// OneNET.
    #[cfg(feature = "onenet")]
    OneNet(onenet::OneNet<'a>),
    /// Huawei.
    #[cfg(feature = "huawei")]
    Huawei(huawei::Huawei<'a>),
    /// Tuya.
    #[cfg(feature = "tuya")]
    Tuya(tuya::Tuya<'a>),
    /// Baidu.
    #[cfg(feature = "baidu")]
    Baidu(baidu::Baidu<'a>),
    /// Tlink.
    #[cfg(feature = "tlink")]
    Tlink(tlink::Tlink<'a>),
    /// Never built; keeps the type valid when every cloud feature is off.
    #[doc(hidden)]
    _Never(Infallible, PhantomData<&'a ()>),
}

/// Calls `$body` with `$p` bound to the provider inside, whatever its cloud.
macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            #[cfg(feature = "aliyun")]
            AnyProvider::Aliyun($p) => $body,
            #[cfg(feature = "tencent")]
            AnyProvider::Tencent($p) => $body,
            #[cfg(feature = "onenet")]
            AnyProvider::OneNet($p) => $body,
            #[cfg(feature = "huawei")]
            AnyProvider::Huawei($p) => $body,
            #[cfg(feature = "tuya")]
            AnyProvider::Tuya($p) => $body,
            #[cfg(feature = "baidu")]
            AnyProvider::Baidu($p) => $body,
            #[cfg(feature = "tlink")]
            AnyProvider::Tlink($p) => $body,
            AnyProvider::_Never(never, _) => match *never {},
        }
    };
}

impl<'a> AnyProvider<'a> {
    /// Builds the provider for `cloud` from `config`.
    ///
    /// `imei` is the module's IMEI where the platform layer knows one; it is the device name
    /// when `device_name` is not given (except for Tuya, whose device id cannot be an IMEI).
    /// The mode (key, certificate, product key) follows from the keys given, in LuatOS's
    /// order; keys the cloud does not read are errors, so nothing is silently ignored.
    pub fn new(
        cloud: Cloud,
        config: &Config<'a>,
        imei: Option<&'a str>,
    ) -> Result<Self, ConfigError<'a>> {
        select::build(cloud, config, imei)
    }

    /// The cloud.
    pub fn kind(&self) -> Cloud {
        match self {
            #[cfg(feature = "aliyun")]
            AnyProvider::Aliyun(_) => Cloud::Aliyun,
            #[cfg(feature = "tencent")]
            AnyProvider::Tencent(_) => Cloud::Tencent,
            #[cfg(feature = "onenet")]
            AnyProvider::OneNet(_) => Cloud::OneNet,
            #[cfg(feature = "huawei")]
            AnyProvider::Huawei(_) => Cloud::Huawei,
            #[cfg(feature = "tuya")]
            AnyProvider::Tuya(_) => Cloud::Tuya,
            #[cfg(feature = "baidu")]
            AnyProvider::Baidu(_) => Cloud::Baidu,
            #[cfg(feature = "tlink")]
            AnyProvider::Tlink(_) => Cloud::Tlink,
            AnyProvider::_Never(never, _) => match *never {},
        }
    }
}

impl Provider for AnyProvider<'_> {
    fn cloud(&self) -> &'static str {
        each!(self, p => p.cloud())
    }

    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        each!(self, p => p.endpoint(scratch))
    }

    fn mqtt_options(&self) -> MqttOptions {
        each!(self, p => p.mqtt_options())
    }

    fn will(&self) -> Option<Will<'_>> {
        each!(self, p => p.will())
    }

    fn limits(&self) -> Limits {
        each!(self, p => p.limits())
    }

    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        each!(self, p => p.sign(ctx, scratch))
    }

    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        each!(self, p => p.system_subscription(index, scratch))
    }

    fn registration(&self) -> Option<RegistrationId<'_>> {
        each!(self, p => p.registration())
    }

    async fn register<T: Transport, C: Clock>(
        &self,
        io: RegisterIo<'_, T, C>,
        record: &mut [u8],
    ) -> Result<usize, RegisterError<T::Error>> {
        each!(self, p => p.register(io, record).await)
    }

    fn registered_identity<'r>(&self, record: &'r [u8]) -> Option<ClientIdentity<'r>> {
        each!(self, p => p.registered_identity(record))
    }

    fn ota_support(&self) -> OtaSupport {
        each!(self, p => p.ota_support())
    }

    fn ota_version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        each!(self, p => p.ota_version_report(ctx, scratch))
    }

    fn ota_job_request<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        each!(self, p => p.ota_job_request(ctx, scratch))
    }

    fn ota_notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice {
        each!(self, p => p.ota_notice(topic, payload, job))
    }

    fn ota_report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        each!(self, p => p.ota_report(job, status, ctx, scratch))
    }
}

#[cfg(test)]
mod tests;
