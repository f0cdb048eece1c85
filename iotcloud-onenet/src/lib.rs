#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

mod data;
mod ota;
#[cfg(feature = "registration")]
mod register;

use core::fmt;

use base64::DecodeSliceError;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use iotcloud_core::http::Url;
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::provider::{
    CloudEndpoint, Connection, Credentials, KeepAlive, Limits, MqttOptions, Provider,
    ProviderError, SignContext, TlsChoice, TopicPath, subscription,
};
#[cfg(not(feature = "registration"))]
use iotcloud_core::register::NoRegistration;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{
    Algorithm, Decimal, EncodeSet, PercentEncoded, Secret, TimeUnit, TimestampPolicy,
    check_identifier, hmac,
};
use iotcloud_core::transport::Endpoint;
use iotcloud_core::transport::ServerAuth;

pub use data::{SUCCESS_CODE, TIME_UNSUPPORTED};
pub use ota::{
    MIN_OTA_WORK, OTA_REQUEST_ROOM, OTA_URL, OtaAnswerError, OtaApiError, OtaCall, OtaKind,
    OtaRefusal, read_answer, step,
};
#[cfg(feature = "registration")]
pub use register::{API_VERSION, LUATOS_REGISTER_EXPIRY, REGISTER_URL, RegisterKey};

/// The root OneNET's MQTT-over-TLS endpoint is served under: the self-signed "OneNET MQTTS"
/// CA (C=CN, O=CMIOT), not in any public store. See `certs/README.md`.
pub const CA_PEM: &[u8] = include_bytes!("../certs/bundle.pem");

/// The CA certificates [`TlsChoice::CloudDefault`]
/// checks the cloud against: [`CA_PEM`], or none when this crate is built without its
/// `roots` feature (they are then not linked, and the cloud's TLS needs a CA given in the
/// overrides).
pub const DEFAULT_ROOTS: &[u8] = if cfg!(feature = "roots") { CA_PEM } else { &[] };

/// The expiry LuatOS writes into every token (2999-01-01 00:00 UTC+8), in seconds.
pub const LUATOS_EXPIRY: u64 = 32_472_115_200;

/// The expiry signed while the device does not know the time (2050-01-01 00:00 UTC+8): the
/// fixed `et` OneNET's own device SDK logs in with (`tm_login` in `OneNET_AIO_c`), so the
/// platform is known to accept it; a larger one, such as [`LUATOS_EXPIRY`], is not
/// documented either way.
pub const CLOCKLESS_EXPIRY: u64 = 2_524_579_200;

/// Host for plain MQTT.
pub const PLAIN_HOST: &str = "mqtts.heclouds.com";

/// Host for MQTT over TLS (a different name from the plain one).
pub const TLS_HOST: &str = "mqttstls.heclouds.com";

/// Port for plain MQTT on [`PLAIN_HOST`].
pub const PLAIN_PORT: u16 = 1883;

/// Port for MQTT over TLS on [`TLS_HOST`].
pub const TLS_PORT: u16 = 8883;

/// Longest product id or device name accepted (OneNET device names are at most 64 bytes).
pub const MAX_ID_LEN: usize = 64;

/// Longest key accepted, in decoded bytes (OneNET's keys are 32 or 64 bytes).
pub const MAX_KEY_LEN: usize = 128;

/// How long a token signed with the clock's time stays valid by default: one hour.
pub const DEFAULT_VALIDITY_SECS: u64 = 3600;

/// Shortest validity accepted: a token must still be valid when it reaches the cloud.
pub const MIN_VALIDITY_SECS: u64 = 60;

/// Standard base64 that, like the cloud's own SDK and LuatOS, ignores set bits in the unused
/// low bits of the last character (`adfasdfadsfadsf=` is such a key).
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Decodes a base64 key into `out`, naming `config_key` on failure.
fn decode_key(config_key: &'static str, key: &str, out: &mut [u8]) -> Result<usize, ProviderError> {
    if key.is_empty() {
        return Err(ProviderError::MissingKey(config_key));
    }
    match KEY_BASE64.decode_slice(key.as_bytes(), out) {
        Ok(n) => Ok(n),
        Err(DecodeSliceError::OutputSliceTooSmall) => Err(ProviderError::InvalidValue {
            key: config_key,
            reason: "decodes to more than 128 bytes",
        }),
        Err(DecodeSliceError::DecodeError(_)) => Err(ProviderError::InvalidBase64(config_key)),
    }
}

/// Which key the device signs its token with, and so which resource the token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// The device's own key (`device_secret`); the token's resource is
    /// `products/{pid}/devices/{dn}`.
    Device,
    /// The product's key (`product_secret`); the token's resource is `products/{pid}`. The
    /// product must allow devices to log in with it (auto-registration).
    Product,
}

impl KeyMode {
    /// The configuration key the secret is given under.
    pub fn config_key(self) -> &'static str {
        match self {
            KeyMode::Device => "device_secret",
            KeyMode::Product => "product_secret",
        }
    }
}

/// The MAC behind the token's `sign`, and how its name is written in the token.
///
/// OneNET documents `md5`, `sha1` and `sha256` in lower case. [`SignMethod::from_name`] keeps
/// the name exactly as given, so `"MD5"` signs as LuatOS does with that spelling (whether the
/// cloud accepts upper case is not documented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignMethod<'a> {
    algorithm: Algorithm,
    name: &'a str,
}

impl SignMethod<'static> {
    /// HMAC-MD5, written `md5` (what LuatOS signs with).
    pub const MD5: SignMethod<'static> = SignMethod {
        algorithm: Algorithm::Md5,
        name: "md5",
    };
    /// HMAC-SHA1, written `sha1` (what the cloud's device SDK signs with).
    pub const SHA1: SignMethod<'static> = SignMethod {
        algorithm: Algorithm::Sha1,
        name: "sha1",
    };
    /// HMAC-SHA256, written `sha256` (default: the strongest, and the documentation's example).
    pub const SHA256: SignMethod<'static> = SignMethod {
        algorithm: Algorithm::Sha256,
        name: "sha256",
    };
}

impl Default for SignMethod<'static> {
    fn default() -> Self {
        SignMethod::SHA256
    }
}

impl<'a> SignMethod<'a> {
    /// Parses `md5`, `sha1` or `sha256` in any case; the token carries `name` as given.
    pub fn from_name(name: &'a str) -> Result<Self, ProviderError> {
        let algorithm = if name.eq_ignore_ascii_case("md5") {
            Algorithm::Md5
        } else if name.eq_ignore_ascii_case("sha1") {
            Algorithm::Sha1
        } else if name.eq_ignore_ascii_case("sha256") {
            Algorithm::Sha256
        } else {
            return Err(ProviderError::InvalidValue {
                key: "method",
                reason: "OneNET accepts md5, sha1 or sha256",
            });
        };
        Ok(SignMethod {
            algorithm: algorithm.enabled()?,
            name,
        })
    }

    /// The hash under the HMAC.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The name as written in the token and in the signed text.
    pub fn name(&self) -> &'a str {
        self.name
    }
}

/// The token format version, the `version` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenVersion {
    /// `2018-10-31` (default; the one the MQTT documentation and SDK use).
    #[default]
    V2018_10_31,
    /// `2022-05-01`, the version of the newer OpenAPI documentation.
    V2022_05_01,
}

impl TokenVersion {
    /// Parses `2018-10-31` or `2022-05-01`.
    pub fn from_name(name: &str) -> Result<Self, ProviderError> {
        match name {
            "2018-10-31" => Ok(TokenVersion::V2018_10_31),
            "2022-05-01" => Ok(TokenVersion::V2022_05_01),
            _ => Err(ProviderError::InvalidValue {
                key: "version",
                reason: "OneNET token versions are 2018-10-31 and 2022-05-01",
            }),
        }
    }

    /// The text in the token.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenVersion::V2018_10_31 => "2018-10-31",
            TokenVersion::V2022_05_01 => "2022-05-01",
        }
    }
}

/// Checks the product id and device name: identifiers of at most [`MAX_ID_LEN`] bytes.
fn check_names(product_id: &str, device_name: &str) -> Result<(), ProviderError> {
    check_identifier("product_id", product_id, MAX_ID_LEN)?;
    check_identifier("device_name", device_name, MAX_ID_LEN)
}

/// The keep-alive intervals OneNET accepts (10 to 1800 s), and 240 s (what LuatOS uses) by
/// default.
pub const KEEP_ALIVE: KeepAlive = KeepAlive {
    min: 10,
    max: 1800,
    default: 240,
    reason: "OneNET accepts 10 to 1800 seconds",
};

/// A OneNET (new platform) device: product id, device name and key, and how to reach OneNET.
/// Each constructor is one login mode and checks its input; `Debug` never shows a key.
#[derive(Debug, Clone, Copy)]
pub struct OneNet<'a> {
    product_id: &'a str,
    device_name: &'a str,
    auth: Auth<'a>,
    method: SignMethod<'a>,
    version: TokenVersion,
    timestamp: TimestampPolicy,
    validity_secs: u64,
    connection: Connection<'a>,
    thing_subscription: bool,
    desired_names: &'a [&'a str],
    ota_url: Url<'a>,
    ota_server: ServerAuth<'a>,
    ota_kind: OtaKind,
    #[cfg(feature = "registration")]
    register_url: Url<'a>,
    #[cfg(feature = "registration")]
    register_server: ServerAuth<'a>,
    #[cfg(feature = "registration")]
    register_method: SignMethod<'a>,
    #[cfg(feature = "registration")]
    register_expiry: TimestampPolicy,
}

iotcloud_core::connection_settings!(OneNet, KEEP_ALIVE);

/// The key the token is signed with, or the access key a registering configuration creates
/// its device with.
#[derive(Debug, Clone, Copy)]
enum Auth<'a> {
    /// The device's own key ([`KeyMode::Device`]).
    DeviceSecret(Secret<'a>),
    /// The product's key ([`KeyMode::Product`]).
    ProductSecret(Secret<'a>),
    /// Registers, then signs with the `sec_key` obtained ([`KeyMode::Device`]).
    #[cfg(feature = "registration")]
    Registering(Enrol<'a>),
}

/// The access key a registering configuration creates its device with.
#[cfg(feature = "registration")]
#[derive(Debug, Clone, Copy)]
enum Enrol<'a> {
    User {
        user_id: &'a str,
        user_key: Secret<'a>,
    },
    Product {
        product_secret: Secret<'a>,
    },
}

impl<'a> OneNet<'a> {
    /// A device that signs with its own key (`device_secret`, shown with the device in the
    /// console, base64). Signs with HMAC-SHA256 and the clock's time ([`CLOCKLESS_EXPIRY`]
    /// while the device does not know it), over TLS checked against [`CA_PEM`].
    pub fn with_secret(
        product_id: &'a str,
        device_name: &'a str,
        device_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        check_names(product_id, device_name)?;
        decode_key("device_secret", device_secret, &mut [0u8; MAX_KEY_LEN])?;
        Ok(Self::build(
            product_id,
            device_name,
            Auth::DeviceSecret(Secret::new(device_secret)),
        ))
    }

    /// A device that signs with its product's key (`product_secret`, base64); the product
    /// must allow devices to log in with it.
    ///
    /// **Experimental**: OneNET's token document gives the product-level resource
    /// (`res=products/{pid}`) for API access; that the MQTT login accepts it is seen in
    /// third-party use only, not stated by OneNET. Prefer [`OneNet::with_secret`].
    pub fn with_product_secret(
        product_id: &'a str,
        device_name: &'a str,
        product_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        check_names(product_id, device_name)?;
        decode_key("product_secret", product_secret, &mut [0u8; MAX_KEY_LEN])?;
        Ok(Self::build(
            product_id,
            device_name,
            Auth::ProductSecret(Secret::new(product_secret)),
        ))
    }

    /// A device that creates itself with the **product-level** access key
    /// (`product_secret`, base64; token resource `products/{pid}`) through the OpenAPI
    /// `POST https://iot-api.heclouds.com/device/create`, and then logs in with the `sec_key`
    /// the cloud returned, exactly as [`OneNet::with_secret`] would.
    ///
    /// **Experimental**: OneNET documents product-level tokens for its OpenAPI, but whether
    /// `/device/create` accepts one is unconfirmed (seen in third-party use only). A refusal comes back
    /// as a [`RegisterError::Rejected`](iotcloud_core::register::RegisterError::Rejected)
    /// with OneNET's code. The registration token expires
    /// [`with_validity`](Self::with_validity) after the clock's time, so registering needs
    /// the time.
    #[cfg(feature = "registration")]
    pub fn registering(
        product_id: &'a str,
        device_name: &'a str,
        product_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        check_names(product_id, device_name)?;
        decode_key("product_secret", product_secret, &mut [0u8; MAX_KEY_LEN])?;
        Ok(Self::build(
            product_id,
            device_name,
            Auth::Registering(Enrol::Product {
                product_secret: Secret::new(product_secret),
            }),
        ))
    }

    /// A device that creates itself in the product with the account's **user-level**
    /// access key (`user_id` and `user_key`, base64, from the console's access-key page),
    /// like [`registering`](Self::registering), and then logs in with the `sec_key` the
    /// cloud returned.
    ///
    /// The user key opens the whole account; prefer [`registering`](Self::registering)
    /// where it works. The registration token expires
    /// [`with_validity`](Self::with_validity) after the clock's time, so registering needs
    /// the time.
    #[cfg(feature = "registration")]
    pub fn registering_with_user(
        product_id: &'a str,
        device_name: &'a str,
        user_id: &'a str,
        user_key: &'a str,
    ) -> Result<Self, ProviderError> {
        check_names(product_id, device_name)?;
        check_identifier("user_id", user_id, MAX_ID_LEN)?;
        decode_key("user_key", user_key, &mut [0u8; MAX_KEY_LEN])?;
        Ok(Self::build(
            product_id,
            device_name,
            Auth::Registering(Enrol::User {
                user_id,
                user_key: Secret::new(user_key),
            }),
        ))
    }

    /// A configuration with the defaults, of names already checked ([`check_names`]).
    fn build(product_id: &'a str, device_name: &'a str, auth: Auth<'a>) -> Self {
        OneNet {
            product_id,
            device_name,
            auth,
            method: SignMethod::default(),
            version: TokenVersion::default(),
            timestamp: TimestampPolicy::default(),
            validity_secs: DEFAULT_VALIDITY_SECS,
            connection: Connection::new(KEEP_ALIVE),
            thing_subscription: true,
            desired_names: &[],
            ota_url: ota::DEFAULT_OTA_URL,
            ota_server: ServerAuth::DefaultRoots,
            ota_kind: OtaKind::Firmware,
            #[cfg(feature = "registration")]
            register_url: register::DEFAULT_URL,
            #[cfg(feature = "registration")]
            register_server: ServerAuth::DefaultRoots,
            #[cfg(feature = "registration")]
            register_method: SignMethod::SHA256,
            #[cfg(feature = "registration")]
            register_expiry: TimestampPolicy::Now,
        }
    }

    /// Where to register instead of [`REGISTER_URL`] (`http://…` or `https://…`), e.g. a
    /// private deployment or a local test server.
    #[cfg(feature = "registration")]
    pub fn with_register_url(mut self, url: &'a str) -> Result<Self, ProviderError> {
        self.register_url = Url::parse(url).map_err(|_| ProviderError::InvalidValue {
            key: "register_url",
            reason: "is not an http:// or https:// URL with a valid host and port",
        })?;
        Ok(self)
    }

    /// How the registration server is checked over HTTPS. The default is
    /// `ServerAuth::DefaultRoots`: `iot-api.heclouds.com` is served under a public CA, not
    /// under the "OneNET MQTTS" root in [`CA_PEM`], so the HAL's web PKI roots are used.
    #[cfg(feature = "registration")]
    pub fn with_register_server(mut self, server: ServerAuth<'a>) -> Self {
        self.register_server = server;
        self
    }

    /// The MAC and method spelling of the registration token (default `sha256`, lower
    /// case as OneNET documents). LuatOS writes `SHA256`:
    /// `SignMethod::from_name("SHA256")`.
    #[cfg(feature = "registration")]
    pub fn with_register_method(mut self, method: SignMethod<'a>) -> Self {
        self.register_method = method;
        self
    }

    /// The registration token's expiry (`et`): `Now` (default) is the clock's time plus
    /// the validity window, `LuatosDefault` is LuatOS's fixed [`LUATOS_REGISTER_EXPIRY`]
    /// (2051193600), `Fixed(et)` any absolute expiry in seconds.
    #[cfg(feature = "registration")]
    pub fn with_register_expiry(mut self, policy: TimestampPolicy) -> Self {
        self.register_expiry = policy;
        self
    }

    /// Which access key this configuration registers with; `None` for a configuration
    /// that holds its key.
    #[cfg(feature = "registration")]
    pub fn register_key(&self) -> Option<RegisterKey> {
        match self.auth {
            Auth::Registering(Enrol::User { .. }) => Some(RegisterKey::User),
            Auth::Registering(Enrol::Product { .. }) => Some(RegisterKey::Product),
            Auth::DeviceSecret(_) | Auth::ProductSecret(_) => None,
        }
    }

    /// The MAC to sign with.
    pub fn with_sign_method(mut self, method: SignMethod<'a>) -> Self {
        self.method = method;
        self
    }

    /// The token format version.
    pub fn with_version(mut self, version: TokenVersion) -> Self {
        self.version = version;
        self
    }

    /// The expiry (`et`) to sign with: `Auto` (default) is the clock's time plus the
    /// validity window while the device knows the time, and [`CLOCKLESS_EXPIRY`] without
    /// a clock: OneNET wants an `et` in the future, and this one is what OneNET's own SDK
    /// logs in with (the largest `et` the MQTT login accepts is not documented, see the
    /// crate documentation). `Now` is the clock's time plus the
    /// window and fails with [`ProviderError::TimeUnknown`] without it, `LuatosDefault` is
    /// [`LUATOS_EXPIRY`], `Fixed(et)` is that absolute expiry in seconds. The registration
    /// token has its own policy ([`with_register_expiry`](Self::with_register_expiry)).
    pub fn with_timestamp(mut self, policy: TimestampPolicy) -> Self {
        self.timestamp = policy;
        self
    }

    /// How long a token signed with the clock's time stays valid (default one hour). The
    /// device signs a fresh token on every connect, so this only has to cover the login and
    /// the clock's error. The registration token uses the same window.
    pub fn with_validity(mut self, secs: u64) -> Result<Self, ProviderError> {
        if secs < MIN_VALIDITY_SECS {
            return Err(ProviderError::InvalidValue {
                key: "validity",
                reason: "a token must stay valid for at least 60 seconds",
            });
        }
        self.validity_secs = secs;
        Ok(self)
    }

    /// Whether to subscribe to `$sys/{pid}/{dn}/thing/#` on connect (default: yes, as the
    /// cloud's SDK does, so thing-model downlinks and replies arrive). LuatOS does not.
    /// With it off, a device with the data model enabled still subscribes that filter (at
    /// QoS 1) for the data model.
    pub fn with_thing_subscription(mut self, on: bool) -> Self {
        self.thing_subscription = on;
        self
    }

    /// The properties whose desired values the data model fetches (`Device::get_desired`
    /// and on connect): OneNET's desired-value request names them in its `params` list.
    /// By default the list is empty (`"params":[]`); OneNET does not document what an
    /// empty list returns, so name the writable properties here to be sure to get them.
    pub fn with_desired_properties(mut self, names: &'a [&'a str]) -> Self {
        self.desired_names = names;
        self
    }

    /// The product id.
    pub fn product_id(&self) -> &'a str {
        self.product_id
    }

    /// The device name.
    pub fn device_name(&self) -> &'a str {
        self.device_name
    }

    /// Which key signs the token (for a registering configuration, the device key it
    /// obtains).
    pub fn key_mode(&self) -> KeyMode {
        match self.auth {
            Auth::ProductSecret(_) => KeyMode::Product,
            Auth::DeviceSecret(_) => KeyMode::Device,
            #[cfg(feature = "registration")]
            Auth::Registering(_) => KeyMode::Device,
        }
    }

    /// `$sys/{pid}/{dn}/{suffix}`, for any OneNET system topic.
    pub fn topic(&self, suffix: &'a str) -> TopicPath<'a> {
        TopicPath::new(["$sys/", self.product_id, "/", self.device_name, "/", suffix])
    }

    /// ↑ Property report: `$sys/{pid}/{dn}/thing/property/post`.
    pub fn property_post(&self) -> TopicPath<'a> {
        self.topic("thing/property/post")
    }

    /// ↓ Reply to a property report: `$sys/{pid}/{dn}/thing/property/post/reply`.
    pub fn property_post_reply(&self) -> TopicPath<'a> {
        self.topic("thing/property/post/reply")
    }

    /// ↓ Property set by the cloud: `$sys/{pid}/{dn}/thing/property/set`.
    pub fn property_set(&self) -> TopicPath<'a> {
        self.topic("thing/property/set")
    }

    /// ↑ Reply to a property set: `$sys/{pid}/{dn}/thing/property/set_reply`.
    pub fn property_set_reply(&self) -> TopicPath<'a> {
        self.topic("thing/property/set_reply")
    }

    /// ↓ Property read by the cloud: `$sys/{pid}/{dn}/thing/property/get`.
    pub fn property_get(&self) -> TopicPath<'a> {
        self.topic("thing/property/get")
    }

    /// ↑ Reply to a property read: `$sys/{pid}/{dn}/thing/property/get_reply`.
    pub fn property_get_reply(&self) -> TopicPath<'a> {
        self.topic("thing/property/get_reply")
    }

    /// ↑ Event report: `$sys/{pid}/{dn}/thing/event/post`.
    pub fn event_post(&self) -> TopicPath<'a> {
        self.topic("thing/event/post")
    }

    /// ↓ Reply to an event report: `$sys/{pid}/{dn}/thing/event/post/reply`.
    pub fn event_post_reply(&self) -> TopicPath<'a> {
        self.topic("thing/event/post/reply")
    }

    /// ↓ Every thing-model downlink, as a filter: `$sys/{pid}/{dn}/thing/#`.
    pub fn thing_filter(&self) -> TopicPath<'a> {
        self.topic("thing/#")
    }
}

/// The token's resource: `products/{pid}` or `products/{pid}/devices/{dn}`.
struct Resource<'a>(&'a OneNet<'a>);

impl fmt::Display for Resource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("products/")?;
        f.write_str(self.0.product_id)?;
        if self.0.key_mode() == KeyMode::Device {
            f.write_str("/devices/")?;
            f.write_str(self.0.device_name)?;
        }
        Ok(())
    }
}

impl Provider for OneNet<'_> {
    #[cfg(feature = "registration")]
    type Registration = Self;
    #[cfg(not(feature = "registration"))]
    type Registration = NoRegistration;
    type Ota = Self;
    type Data = Self;

    fn cloud(&self) -> &'static str {
        "onenet"
    }

    /// `mqttstls.heclouds.com:8883` with TLS (default), `mqtts.heclouds.com:1883` with
    /// `TlsChoice::Off`. The host follows the TLS choice because OneNET names them apart.
    fn endpoint<'a>(&'a self, _scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let host = match self.connection.overrides.tls {
            TlsChoice::Off => PLAIN_HOST,
            TlsChoice::CloudDefault | TlsChoice::On(_) => TLS_HOST,
        };
        self.connection.resolve(CloudEndpoint {
            host,
            tls_port: Some(TLS_PORT),
            plain_port: Some(PLAIN_PORT),
            ca_pem: DEFAULT_ROOTS,
        })
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.connection.mqtt_options()
    }

    fn limits(&self) -> Limits {
        Limits::MQTT.with_max_qos(QoS::AtLeastOnce)
    }

    /// Client id `{dn}`, user name `{pid}`, password the token
    /// `version={v}&res={enc res}&et={et}&method={m}&sign={enc sign}` where
    /// `sign = base64(HMAC(base64decode(key), "{et}\n{m}\n{res}\n{v}"))`.
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let et = self
            .timestamp
            .resolve_or_clockless(ctx, TimeUnit::Seconds, self.validity_secs, LUATOS_EXPIRY)?
            .unwrap_or(CLOCKLESS_EXPIRY);
        let (key_name, key_text) = match self.auth {
            Auth::DeviceSecret(key) => (KeyMode::Device.config_key(), key.expose()),
            Auth::ProductSecret(key) => (KeyMode::Product.config_key(), key.expose()),
            #[cfg(feature = "registration")]
            Auth::Registering(_) => ("sec_key", register::recorded_key(ctx.registered)?),
        };
        let mut key_buf = [0u8; MAX_KEY_LEN];
        let key_len = decode_key(key_name, key_text, &mut key_buf)?;
        let key = &key_buf[..key_len];

        // "products/" + id + "/devices/" + name, both at most MAX_ID_LEN bytes.
        let mut res_buf = [0u8; 2 * MAX_ID_LEN + 18];
        let res = Scratch::new(&mut res_buf).format(format_args!("{}", Resource(self)))?;
        let et_text = Decimal::new(et);
        let method = self.method.name();
        let version = self.version.as_str();
        let mac = hmac(
            self.method.algorithm(),
            key,
            &[
                et_text.as_bytes(),
                b"\n",
                method.as_bytes(),
                b"\n",
                res.as_bytes(),
                b"\n",
                version.as_bytes(),
            ],
        )?;
        // 32 bytes of SHA-256 make 44 base64 characters.
        let mut sign_buf = [0u8; 48];
        let sign = Scratch::new(&mut sign_buf).format(format_args!("{}", mac.base64()))?;

        let client_id = scratch.copy(self.device_name)?;
        let username = scratch.copy(self.product_id)?;
        let password = scratch.format(format_args!(
            "version={version}&res={}&et={et}&method={method}&sign={}",
            PercentEncoded(res, EncodeSet::OneNetToken),
            PercentEncoded(sign, EncodeSet::OneNetToken),
        ))?;
        Ok(Credentials {
            client_id,
            username: Some(username),
            password: Some(password),
        })
    }

    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 || !self.thing_subscription {
            return Ok(None);
        }
        let filter = self.thing_filter();
        // QoS 0, as the cloud's SDK subscribes.
        Ok(Some(subscription(
            scratch,
            "device_name",
            filter,
            QoS::AtMostOnce,
        )?))
    }

    /// Registering configurations ([`OneNet::registering`],
    /// [`OneNet::registering_with_user`]) register as `{product_id}` / `{device_name}`:
    /// `POST /device/create`, whose record is one field, the returned `sec_key`.
    #[cfg(feature = "registration")]
    fn registration(&self) -> Option<&Self> {
        matches!(self.auth, Auth::Registering(_)).then_some(self)
    }

    /// OneNET's announcement topic; the rest of its OTA is the HTTP API (see the
    /// [`OtaFormat`](iotcloud_core::ota::OtaFormat) implementation and
    /// [`OneNet::ota_check`]).
    fn ota(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }

    /// OneJSON, the thing model of the new platform (see the
    /// [`DataFormat`](iotcloud_core::data::DataFormat) implementation).
    fn data(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
