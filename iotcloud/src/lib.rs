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
        feature = "tlink",
        feature = "mqtt"
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
    Registered, SignContext, Supervised, Supervisor, TransitionError, Transport, TransportError,
    Unregistered,
};

mod config;
mod dispatch;
mod select;

pub use config::{Config, ConfigError, Key, MAX_VALUE_LEN, Timestamp, TlsMode};

/// The core's provider for standard MQTT brokers, the `mqtt` cloud's (also as
/// [`mqtt`] with that feature).
pub use iotcloud_core::plain;

/// The seven clouds, declared once: each line gives the cloud's variant, its name (which is
/// also its Cargo feature) and aliases, its provider crate and type, and the configuration
/// keys it reads besides the ones every cloud reads ([`Key::is_common`]). `$callback`
/// receives the table; the [`Cloud`] enum, [`AnyProvider`], the dispatch of the provider
/// traits and the configuration check are all generated from it.
macro_rules! clouds {
    ($callback:ident ! ($($args:tt)*)) => {
        $callback! { $($args)*
            /// Aliyun IoT Platform (`aliyun`).
            Aliyun "aliyun" [] aliyun iotcloud_aliyun::Aliyun
                [ProductId ProdutId DeviceSecret ProductSecret KeyAlias Method InstanceId Region
                 Timestamp RegisterUrl RegisterFlow];
            /// Tencent IoT Explorer (`tencent`, or LuatOS's alias `qcloud`).
            Tencent "tencent" ["qcloud"] tencent iotcloud_tencent::Tencent
                [ProductId ProdutId DeviceSecret ProductSecret Method Region ClientCert ClientKey
                 Timestamp ConnId AppId RegisterUrl RegisterFlow];
            /// China Mobile OneNET (`onenet`).
            OneNet "onenet" [] onenet iotcloud_onenet::OneNet
                [ProductId ProdutId DeviceSecret ProductSecret Method UserId UserKey Timestamp
                 RegisterUrl];
            /// Huawei Cloud IoTDA (`huawei`).
            Huawei "huawei" [] huawei iotcloud_huawei::Huawei
                [ProductId ProdutId DeviceSecret Region Endpoint DeviceId ProjectId IamUsername
                 IamPassword IamDomain IamUrl ClientCert ClientKey Timestamp RegisterUrl ServiceId];
            /// Tuya (`tuya`).
            Tuya "tuya" [] tuya iotcloud_tuya::Tuya
                [DeviceSecret Method Region Timestamp];
            /// Baidu IoT Core (`baidu`).
            Baidu "baidu" [] baidu iotcloud_baidu::Baidu
                [ProductId ProdutId DeviceSecret Method Region ClientCert ClientKey Timestamp];
            /// Tlink (`tlink`).
            Tlink "tlink" [] tlink iotcloud_tlink::Tlink
                [ProductId ProdutId ProductSecret];
            /// A standard MQTT broker (`mqtt`): mosquitto, EMQX, a company's own. `host` is
            /// required; the client id is `device_name` (or `client_id`, or the IMEI).
            Mqtt "mqtt" [] mqtt plain::PlainMqtt
                [Username Password];
        }
    };
}
pub(crate) use clouds;

/// Generates the re-exports of the provider crates, [`Cloud`] and [`AnyProvider`].
macro_rules! declare {
    (() $(
        $(#[$doc:meta])*
        $variant:ident $name:literal [$($alias:literal)*] $module:ident $krate:ident :: $ty:ident
        [$($key:ident)*];
    )*) => {
        $(
            #[cfg(feature = $name)]
            pub use $krate as $module;
        )*

        /// One of the clouds: the seven IoT clouds and a standard MQTT broker.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum Cloud {
            $( $(#[$doc])* $variant, )*
        }

        impl Cloud {
            /// All of them.
            pub const ALL: [Cloud; [$(Cloud::$variant),*].len()] = [$(Cloud::$variant),*];

            /// The name LuatOS uses (and [`Provider::cloud`] returns); also the Cargo
            /// feature that compiles the cloud in.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Cloud::$variant => $name, )*
                }
            }

            /// Parses a name: the ones above, and the aliases LuatOS accepts (`qcloud`).
            pub fn from_name(name: &str) -> Result<Cloud, ConfigError<'_>> {
                match name {
                    $( $name $(| $alias)* => Ok(Cloud::$variant), )*
                    _ => Err(ConfigError::UnknownCloud(name)),
                }
            }

            /// Whether this build includes the cloud (its Cargo feature is on).
            pub const fn is_enabled(self) -> bool {
                match self {
                    $( Cloud::$variant => cfg!(feature = $name), )*
                }
            }

            /// Whether the cloud reads `key`.
            pub fn reads(self, key: Key) -> bool {
                key.is_common()
                    || match self {
                        $( Cloud::$variant => matches!(key, $(Key::$key)|*), )*
                    }
            }
        }

        /// Any of the providers, chosen at run time. It is a [`Provider`], so the same
        /// device code runs against every cloud; only the [`Config`] changes.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        // One provider per device, built once; without `alloc` there is nothing to box into.
        #[allow(clippy::large_enum_variant)]
        pub enum AnyProvider<'a> {
            $(
                $(#[$doc])*
                #[cfg(feature = $name)]
                $variant($module::$ty<'a>),
            )*
            /// Never built; keeps the type valid when every cloud feature is off.
            #[doc(hidden)]
            _Never(Infallible, PhantomData<&'a ()>),
        }

        impl AnyProvider<'_> {
            /// The cloud.
            pub fn kind(&self) -> Cloud {
                match self {
                    $( #[cfg(feature = $name)] AnyProvider::$variant(_) => Cloud::$variant, )*
                    AnyProvider::_Never(never, _) => match *never {},
                }
            }
        }
    };
}

clouds!(declare!(()));

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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
}

#[cfg(test)]
mod tests;
