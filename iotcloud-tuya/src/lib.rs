#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

use iotcloud_core::mqtt::{QoS, SubscribeTopic};
#[cfg(not(feature = "ota"))]
use iotcloud_core::ota::NoOta;
use iotcloud_core::provider::{
    CloudEndpoint, Connection, Credentials, KeepAlive, Limits, MqttOptions, Provider,
    ProviderError, SignContext, TopicPath, subscription,
};
use iotcloud_core::register::NoRegistration;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{
    Algorithm, Decimal, Secret, TimeUnit, TimestampPolicy, check_identifier, hmac,
};
use iotcloud_core::transport::Endpoint;

mod data;
mod ota;

pub use ota::ota_error_code;

/// The roots Tuya's MQTT endpoints are served under: Go Daddy Root CA G2 (pinned by Tuya's
/// examples) and Tuya's own self-signed root. See `certs/README.md`.
pub const CA_PEM: &[u8] = include_bytes!("../certs/bundle.pem");

/// The CA certificates [`TlsChoice::CloudDefault`](iotcloud_core::TlsChoice::CloudDefault)
/// checks the cloud against: [`CA_PEM`], or none when this crate is built without its
/// `roots` feature (they are then not linked, and the cloud's TLS needs a CA given in the
/// overrides).
pub const DEFAULT_ROOTS: &[u8] = if cfg!(feature = "roots") { CA_PEM } else { &[] };

/// The timestamp LuatOS signs with (2200-01-01 00:00 UTC+8), in seconds.
pub const LUATOS_TIMESTAMP: u64 = 7_258_089_600;

/// TuyaLink's MQTT port (TLS only).
pub const PORT: u16 = 8883;

/// Longest device id accepted (the official SDK's topic buffers allow 64-byte topics).
pub const MAX_DEVICE_ID_LEN: usize = 64;

/// Longest product id accepted ([`Tuya::with_product_id`]).
pub const MAX_PRODUCT_ID_LEN: usize = 64;

/// Tuya's data centres. The documentation warns not to hard-code China: a device must use
/// the data centre of its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataCenter {
    /// China, `m1.tuyacn.com` (the only one LuatOS knows).
    #[default]
    China,
    /// Central Europe, `m1.tuyaeu.com`.
    CentralEurope,
    /// Western Europe, `m1-weaz.tuyaeu.com`.
    WesternEurope,
    /// US West, `m1.tuyaus.com`.
    UsWest,
    /// US East, `m1-ueaz.tuyaus.com`.
    UsEast,
    /// India, `m1.tuyain.com`.
    India,
}

impl DataCenter {
    /// The MQTT host of the data centre.
    pub fn host(self) -> &'static str {
        match self {
            DataCenter::China => "m1.tuyacn.com",
            DataCenter::CentralEurope => "m1.tuyaeu.com",
            DataCenter::WesternEurope => "m1-weaz.tuyaeu.com",
            DataCenter::UsWest => "m1.tuyaus.com",
            DataCenter::UsEast => "m1-ueaz.tuyaus.com",
            DataCenter::India => "m1.tuyain.com",
        }
    }

    /// Parses a region name: `cn`, `eu`, `weaz`/`eu-west`, `us`, `ueaz`/`us-east`, `in`.
    pub fn from_name(name: &str) -> Result<Self, ProviderError> {
        Ok(match name {
            "cn" | "china" => DataCenter::China,
            "eu" | "central-eu" => DataCenter::CentralEurope,
            "weaz" | "eu-west" => DataCenter::WesternEurope,
            "us" | "us-west" => DataCenter::UsWest,
            "ueaz" | "us-east" => DataCenter::UsEast,
            "in" | "india" => DataCenter::India,
            _ => {
                return Err(ProviderError::InvalidValue {
                    key: "region",
                    reason: "not a Tuya data centre (cn, eu, weaz, us, ueaz, in)",
                });
            }
        })
    }
}

/// The MAC in the `signMethod` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignMethod {
    /// `hmacSha256` (default; what the SDK and LuatOS use).
    #[default]
    HmacSha256,
    /// `hmacSha1`, also listed by the documentation.
    HmacSha1,
}

impl SignMethod {
    /// Parses `hmacsha256`/`sha256` or `hmacsha1`/`sha1`, any case.
    ///
    /// Refused with [`ProviderError::Unsupported`] when this crate is built without the
    /// method's algorithm (cargo features `md5`, `sha1`, `sha256`).
    pub fn from_name(name: &str) -> Result<Self, ProviderError> {
        let method = Self::parse_name(name)?;
        method.algorithm().enabled()?;
        Ok(method)
    }

    fn parse_name(name: &str) -> Result<Self, ProviderError> {
        let is = |a: &str| name.eq_ignore_ascii_case(a);
        if is("hmacsha256") || is("sha256") {
            Ok(SignMethod::HmacSha256)
        } else if is("hmacsha1") || is("sha1") {
            Ok(SignMethod::HmacSha1)
        } else {
            Err(ProviderError::InvalidValue {
                key: "method",
                reason: "Tuya accepts hmacsha256 or hmacsha1",
            })
        }
    }

    fn field(self) -> &'static str {
        match self {
            SignMethod::HmacSha256 => "hmacSha256",
            SignMethod::HmacSha1 => "hmacSha1",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            SignMethod::HmacSha256 => Algorithm::Sha256,
            SignMethod::HmacSha1 => Algorithm::Sha1,
        }
    }
}

/// Which part of the device secret keys the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretKey {
    /// The first 16 bytes, as Tuya's own SDK does (default). Tuya's secrets are 16
    /// characters, so for them this is the whole secret.
    #[default]
    First16,
    /// The whole secret, as LuatOS does. Differs only for secrets longer than 16 bytes.
    Whole,
}

/// The keep-alive intervals Tuya accepts (30 to 1200 s), and 60 s by default.
pub const KEEP_ALIVE: KeepAlive = KeepAlive {
    min: 30,
    max: 1200,
    default: 60,
    reason: "Tuya accepts 30 to 1200 seconds",
};

/// A TuyaLink device: its id and secret, and how to reach Tuya. `Debug` never shows the
/// secret.
#[derive(Debug, Clone, Copy)]
pub struct Tuya<'a> {
    device_id: &'a str,
    secret: Secret<'a>,
    data_center: DataCenter,
    method: SignMethod,
    secret_key: SecretKey,
    timestamp: TimestampPolicy,
    connection: Connection<'a>,
    auto_subscribe: bool,
    product_id: Option<&'a str>,
}

iotcloud_core::connection_settings!(Tuya, KEEP_ALIVE);

impl<'a> Tuya<'a> {
    /// A device with the id (`device_id`) and secret (`device_secret`) from the Tuya
    /// platform (or its licence). Signs with the clock's time, in the China data centre,
    /// over TLS checked against [`CA_PEM`].
    pub fn with_secret(device_id: &'a str, device_secret: &'a str) -> Result<Self, ProviderError> {
        check_identifier("device_id", device_id, MAX_DEVICE_ID_LEN)?;
        // Bytes, not chars: both are ASCII, which UTF-8 never uses inside a character.
        if device_id.bytes().any(|b| matches!(b, b',' | b'|')) {
            return Err(ProviderError::InvalidValue {
                key: "device_id",
                reason: "contains `,` or `|`, which separate the user name's fields",
            });
        }
        if device_secret.is_empty() {
            return Err(ProviderError::MissingKey("device_secret"));
        }
        Ok(Tuya {
            device_id,
            secret: Secret::new(device_secret),
            data_center: DataCenter::default(),
            method: SignMethod::default(),
            secret_key: SecretKey::default(),
            timestamp: TimestampPolicy::default(),
            connection: Connection::new(KEEP_ALIVE),
            auto_subscribe: true,
            product_id: None,
        })
    }

    /// The data centre of the device's account.
    pub fn with_data_center(mut self, dc: DataCenter) -> Self {
        self.data_center = dc;
        self
    }

    /// The MAC to sign with.
    pub fn with_sign_method(mut self, method: SignMethod) -> Self {
        self.method = method;
        self
    }

    /// Which part of the secret keys the MAC.
    pub fn with_secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = key;
        self
    }

    /// The timestamp to sign with, in seconds. `Auto` (default) signs the clock's time
    /// while the device knows it, and [`LUATOS_TIMESTAMP`] (year 2200) without a clock;
    /// `Now` signs the clock's time and fails with [`ProviderError::TimeUnknown`] without
    /// it; `LuatosDefault` always signs [`LUATOS_TIMESTAMP`]; `Fixed(ts)` signs `ts`.
    ///
    /// What is known about the clockless form: Tuya documents neither a clock-skew window
    /// nor whether far-future timestamps are accepted: that is UNCONFIRMED. LuatOS logs in with [`LUATOS_TIMESTAMP`] on every connect, and Tuya's own
    /// embedded SDK (`tuyalink_core.c`) signs once at start-up and reconnects with the same
    /// credentials for as long as it runs, so the cloud does not insist on a fresh
    /// timestamp; that it accepts a future one rests on LuatOS's use alone.
    pub fn with_timestamp(mut self, policy: TimestampPolicy) -> Self {
        self.timestamp = policy;
        self
    }

    /// Whether to subscribe to `tylink/{id}/channel/downlink/auto_subscribe` on connect
    /// (default: yes, as Tuya's SDK does; the cloud then routes every downlink topic to the
    /// device). LuatOS does not. Without it, a device with OTA enabled subscribes the two
    /// OTA downlinks `ota/issue` and `ota/get_response` instead.
    pub fn with_auto_subscribe(mut self, on: bool) -> Self {
        self.auto_subscribe = on;
        self
    }

    /// The product id (`pid`) the OTA version report names, as the console shows it. Tuya's
    /// documentation puts it in the report; without it the report leaves it out.
    pub fn with_product_id(mut self, product_id: &'a str) -> Result<Self, ProviderError> {
        check_identifier("product_id", product_id, MAX_PRODUCT_ID_LEN)?;
        self.product_id = Some(product_id);
        Ok(self)
    }

    /// The device id.
    pub fn device_id(&self) -> &'a str {
        self.device_id
    }

    /// The product id, if one was given ([`Tuya::with_product_id`]).
    pub fn product_id(&self) -> Option<&'a str> {
        self.product_id
    }

    /// `tylink/{id}/{suffix}`, for any TuyaLink topic.
    pub fn topic(&self, suffix: &'a str) -> TopicPath<'a> {
        TopicPath::new(["tylink/", self.device_id, "/", suffix, "", ""])
    }

    /// ↑ Property report: `tylink/{id}/thing/property/report`.
    pub fn property_report(&self) -> TopicPath<'a> {
        self.topic("thing/property/report")
    }

    /// ↓ Property set by the cloud: `tylink/{id}/thing/property/set`.
    pub fn property_set(&self) -> TopicPath<'a> {
        self.topic("thing/property/set")
    }

    /// ↑ Event: `tylink/{id}/thing/event/trigger`.
    pub fn event_trigger(&self) -> TopicPath<'a> {
        self.topic("thing/event/trigger")
    }

    /// ↓ Action from the cloud: `tylink/{id}/thing/action/execute`.
    pub fn action_execute(&self) -> TopicPath<'a> {
        self.topic("thing/action/execute")
    }

    /// ↓ Auto-subscribe channel: `tylink/{id}/channel/downlink/auto_subscribe`.
    pub fn auto_subscribe_topic(&self) -> TopicPath<'a> {
        self.topic("channel/downlink/auto_subscribe")
    }

    fn resolve_timestamp(&self, ctx: &SignContext) -> Result<u64, ProviderError> {
        // Without a clock, `Auto` signs LuatOS's constant (see `with_timestamp`).
        Ok(self
            .timestamp
            .resolve_or_clockless(ctx, TimeUnit::Seconds, 0, LUATOS_TIMESTAMP)?
            .unwrap_or(LUATOS_TIMESTAMP))
    }
}

impl Provider for Tuya<'_> {
    type Registration = NoRegistration;
    #[cfg(feature = "ota")]
    type Ota = Self;
    #[cfg(not(feature = "ota"))]
    type Ota = NoOta;
    type Data = Self;

    fn cloud(&self) -> &'static str {
        "tuya"
    }

    fn endpoint<'a>(&'a self, _scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        self.connection.resolve(CloudEndpoint {
            host: self.data_center.host(),
            tls_port: Some(PORT),
            plain_port: None,
            ca_pem: DEFAULT_ROOTS,
        })
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.connection.mqtt_options()
    }

    fn limits(&self) -> Limits {
        Limits::MQTT.with_max_qos(QoS::AtLeastOnce)
    }

    /// `tuyalink_{id}`, `{id}|signMethod=…,timestamp=…,secureMode=1,accessType=1` and the
    /// hex MAC of `deviceId={id},timestamp={ts},secureMode=1,accessType=1`.
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let ts = self.resolve_timestamp(ctx)?;
        let id = self.device_id;
        let client_id = scratch.format(format_args!("tuyalink_{id}"))?;
        let username = scratch.format(format_args!(
            "{id}|signMethod={},timestamp={ts},secureMode=1,accessType=1",
            self.method.field()
        ))?;
        let secret = self.secret.expose().as_bytes();
        let key = match self.secret_key {
            SecretKey::First16 => &secret[..secret.len().min(16)],
            SecretKey::Whole => secret,
        };
        let ts_text = Decimal::new(ts);
        let mac = hmac(
            self.method.algorithm(),
            key,
            &[
                b"deviceId=",
                id.as_bytes(),
                b",timestamp=",
                ts_text.as_bytes(),
                b",secureMode=1,accessType=1",
            ],
        )?;
        let password = scratch.format(format_args!("{}", mac.hex()))?;
        Ok(Credentials {
            client_id,
            username: Some(username),
            password: Some(password),
        })
    }

    /// The auto-subscribe channel (which routes every downlink, OTA included) at QoS 1;
    /// nothing with [`Tuya::with_auto_subscribe`]`(false)` (the OTA downlinks are then the
    /// [`OtaFormat`](iotcloud_core::ota::OtaFormat)'s subscriptions).
    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 || !self.auto_subscribe {
            return Ok(None);
        }
        Ok(Some(subscription(
            scratch,
            "device_id",
            self.auto_subscribe_topic(),
            QoS::AtLeastOnce,
        )?))
    }

    #[cfg(feature = "ota")]
    fn ota(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }

    fn data(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
