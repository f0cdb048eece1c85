#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

use core::fmt::{self, Write};

use iotcloud_core::mqtt::QoS;
#[cfg(not(feature = "ota"))]
use iotcloud_core::ota::NoOta;
use iotcloud_core::provider::{
    CloudEndpoint, Connection, Credentials, EndpointOverrides, HostName, KeepAlive, Limits,
    MqttOptions, Provider, ProviderError, SignContext, TlsChoice, TopicPath, build_host,
    check_host_len, host_name,
};
#[cfg(not(feature = "registration"))]
use iotcloud_core::register::NoRegistration;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{
    Algorithm, Secret, TimeUnit, TimestampPolicy, base64_decode, check_identifier, hmac,
};
use iotcloud_core::transport::{ClientIdentity, Endpoint, Psk, ServerAuth, Tls, TransportCaps};

mod data;
mod ota;
#[cfg(feature = "registration")]
mod register;

pub use ota::ota_result_code;

/// The roots Tencent's MQTT endpoints are served under: Tencent's own "Tencent Iothub" root
/// and GlobalSign Root CA (R1), as Tencent's SDK embeds them. See `certs/README.md`.
pub const CA_PEM: &[u8] = include_bytes!("../certs/bundle.pem");

/// The CA certificates [`TlsChoice::CloudDefault`]
/// checks the cloud against: [`CA_PEM`], or none when this crate is built without its
/// `roots` feature (they are then not linked, and the cloud's TLS needs a CA given in the
/// overrides).
pub const DEFAULT_ROOTS: &[u8] = if cfg!(feature = "roots") { CA_PEM } else { &[] };

/// The expiry LuatOS signs with (2999-01-01 00:00 UTC+8), in seconds: credentials that
/// never expire.
pub const LUATOS_TIMESTAMP: u64 = 32_472_115_200;

/// The expiry signed while the device does not know the time, under the default
/// [`TimestampPolicy::Auto`]: `LONG_MAX` of a 64-bit (LP64) build, 2⁶³ − 1 seconds, so the
/// credentials never expire.
///
/// Source: Tencent's own signing code falls back to `LONG_MAX` whenever it has no
/// trustworthy clock or no validity window is configured (`MAX_ACCESS_EXPIRE_TIMEOUT` 0,
/// the default): `cur_timesec = LONG_MAX` in the username code of the IoT Explorer C SDK
/// (`mqtt_client_connect.c`) and in the signature tool `tencentyun/qcloud_iot_mqtt_sign`
/// (`qcloud-mqtt-sign.c`), which prints it with `%ld`. The
/// tool and the SDK on 64-bit Linux send this value; the SDK on a 32-bit microcontroller
/// sends 2147483647 (2038-01-19), which would expire within a device's lifetime.
pub const CLOCKLESS_EXPIRY: u64 = 9_223_372_036_854_775_807;

/// The `sdkappid` Tencent's own device SDK and signature tool put in the user name (default).
pub const SDK_APP_ID: &str = "21010406";

/// The `sdkappid` LuatOS (and many published examples) put in the user name.
pub const LUATOS_APP_ID: &str = "12010126";

/// Port for key authentication over plain TCP.
pub const PLAIN_PORT: u16 = 1883;

/// Port for TLS: certificate authentication, and key authentication over TLS-PSK.
pub const TLS_PORT: u16 = 8883;

/// Longest product id (Tencent's product ids are 10 characters).
pub const MAX_PRODUCT_ID_LEN: usize = 10;

/// Longest device name Tencent's SDK accepts.
pub const MAX_DEVICE_NAME_LEN: usize = 48;

/// Longest key a base64 `device_secret` may decode to (Tencent's SDK buffer; 64 base64
/// characters). LuatOS silently truncates longer keys; this crate refuses them.
pub const MAX_PSK_LEN: usize = 48;

/// Longest TLS-PSK identity: `{ProductId}{DeviceName}`.
const MAX_PSK_IDENTITY_LEN: usize = MAX_PRODUCT_ID_LEN + MAX_DEVICE_NAME_LEN;

/// Length of the connection id in the user name.
pub const CONN_ID_LEN: usize = 5;

/// Longest keep-alive Tencent accepts, in seconds (0 turns keep-alive off).
pub const MAX_KEEP_ALIVE_SECS: u16 = 900;

/// Default keep-alive, in seconds (what LuatOS uses; Tencent's C SDK uses 120).
pub const DEFAULT_KEEP_ALIVE_SECS: u16 = 240;

/// The keep-alive intervals Tencent accepts (0, which turns keep-alive off, to 900 s), and
/// 240 s, what LuatOS uses, by default (Tencent's C SDK uses 120).
pub const KEEP_ALIVE: KeepAlive = KeepAlive {
    min: 0,
    max: MAX_KEEP_ALIVE_SECS,
    default: DEFAULT_KEEP_ALIVE_SECS,
    reason: "Tencent accepts 0 to 900 seconds",
};

/// Default validity of a signature made with the clock's time: it expires this many
/// seconds after it was made. Credentials are signed again on every connect, so an hour
/// only has to cover a slow clock; it also bounds how long a user name and password seen
/// on the plain-TCP port can be replayed.
pub const DEFAULT_VALIDITY_SECS: u64 = 3600;

/// Tencent refuses a device's CONNECT that comes less than 5 s after its previous one.
/// A reconnect loop must wait at least this long between attempts (and should back off
/// further), or it only locks itself out.
pub const MIN_RECONNECT_INTERVAL_MS: u64 = 5_000;

/// Longest topic Tencent accepts, in bytes.
pub const MAX_TOPIC_LEN: usize = 255;

/// Most levels (`/`-separated parts) a topic may have.
pub const MAX_TOPIC_LEVELS: usize = 10;

/// Largest message Tencent accepts (16 KB); larger publishes are refused.
pub const MAX_PAYLOAD_LEN: usize = 16 * 1024;

/// Host of the current registration API (China; clouds-official §2.3.1).
pub const REGISTER_HOST: &str = "ap-guangzhou.gateway.tencentdevices.com";

/// Path of the current registration API.
pub const REGISTER_PATH: &str = "/device/register";

/// Path of the legacy registration API that LuatOS and the Explorer C SDK use.
pub const LEGACY_REGISTER_PATH: &str = "/register/dev";

/// Shortest product secret accepted: its first 16 bytes are the AES-128 key of the
/// answer, and Tencent's SDK refuses shorter ones (console secrets are 24 characters).
pub const MIN_PRODUCT_SECRET_LEN: usize = 16;

/// Which of Tencent's two registration APIs to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegisterApi {
    /// `POST /device/register` with the `X-TC-*` signature headers (default): the API
    /// Tencent documents today.
    #[default]
    Current,
    /// `POST /register/dev` with the signature in the JSON body: the older API LuatOS and
    /// Tencent's Explorer C SDK call. Still served; for compatibility only.
    Legacy,
}

impl RegisterApi {
    /// The API's path.
    pub fn path(self) -> &'static str {
        match self {
            RegisterApi::Current => REGISTER_PATH,
            RegisterApi::Legacy => LEGACY_REGISTER_PATH,
        }
    }
}

/// Tencent's regions. Chinese products all live in Guangzhou.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Region {
    /// China (Guangzhou), `{pid}.iotcloud.tencentdevices.com` (the only one LuatOS knows).
    #[default]
    China,
    /// US East, `{pid}.us-east.iotcloud.tencentdevices.com`.
    UsEast,
    /// Europe, `{pid}.europe.iothub.tencentdevices.com`.
    Europe,
    /// Bangkok, `{pid}.ap-bangkok.iothub.tencentdevices.com`.
    Bangkok,
}

impl Region {
    /// The domain the product id is prefixed to.
    pub fn domain(self) -> &'static str {
        match self {
            Region::China => "iotcloud.tencentdevices.com",
            Region::UsEast => "us-east.iotcloud.tencentdevices.com",
            Region::Europe => "europe.iothub.tencentdevices.com",
            Region::Bangkok => "ap-bangkok.iothub.tencentdevices.com",
        }
    }

    /// The MQTT host of a product in this region: `{product_id}.{domain}`.
    pub fn host(self, product_id: &str) -> Result<HostName, ProviderError> {
        host_name("product_id", format_args!("{product_id}.{}", self.domain()))
    }

    /// The host of the registration API `api` for products in this region
    /// (clouds-official §2.1). China: [`REGISTER_HOST`] for the current API,
    /// `gateway.tencentdevices.com` for the legacy one. Elsewhere Tencent's SDK table has
    /// only the legacy hosts (`{region}.gateway.tencentdevices.com`); the current API is
    /// assumed on the same host, which Tencent does not confirm.
    pub fn register_host(self, api: RegisterApi) -> &'static str {
        match (self, api) {
            (Region::China, RegisterApi::Current) => REGISTER_HOST,
            (Region::China, RegisterApi::Legacy) => "gateway.tencentdevices.com",
            (Region::UsEast, _) => "us-east.gateway.tencentdevices.com",
            (Region::Europe, _) => "europe.gateway.tencentdevices.com",
            (Region::Bangkok, _) => "ap-bangkok.gateway.tencentdevices.com",
        }
    }

    /// Parses a region name, any case: `china`/`cn`/`ap-guangzhou`, `us-east`,
    /// `europe`/`eu`, `ap-bangkok`/`bangkok`.
    pub fn from_name(name: &str) -> Result<Self, ProviderError> {
        let is = |a: &str| name.eq_ignore_ascii_case(a);
        if is("china") || is("cn") || is("ap-guangzhou") || is("guangzhou") {
            Ok(Region::China)
        } else if is("us-east") {
            Ok(Region::UsEast)
        } else if is("europe") || is("eu") {
            Ok(Region::Europe)
        } else if is("ap-bangkok") || is("bangkok") {
            Ok(Region::Bangkok)
        } else {
            Err(ProviderError::InvalidValue {
                key: "region",
                reason: "not a Tencent region (china, us-east, europe, ap-bangkok)",
            })
        }
    }
}

/// The MAC of the password in key authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignMethod {
    /// `hmacsha256` (default, as in LuatOS).
    #[default]
    HmacSha256,
    /// `hmacsha1` (what Tencent's signature tool uses).
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
                reason: "Tencent accepts hmacsha256 or hmacsha1",
            })
        }
    }

    /// The name appended to the password: `hmacsha256` or `hmacsha1`.
    pub fn name(self) -> &'static str {
        match self {
            SignMethod::HmacSha256 => "hmacsha256",
            SignMethod::HmacSha1 => "hmacsha1",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            SignMethod::HmacSha256 => Algorithm::Sha256,
            SignMethod::HmacSha1 => Algorithm::Sha1,
        }
    }
}

/// How the device proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Key authentication: a password signed with the device secret (PSK).
    Key,
    /// Certificate authentication: a client certificate in TLS, no password.
    Certificate,
}

/// What proves the device's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth<'a> {
    Key(Secret<'a>),
    Certificate(ClientIdentity<'a>),
    /// Dynamic registration with the product secret; `expect` is what the product hands
    /// out, which decides the port and TLS before the record exists.
    #[cfg(feature = "registration")]
    Dynamic {
        product_secret: Secret<'a>,
        expect: AuthMode,
    },
}

/// A Tencent IoT Explorer device: its product id and name, its key or certificate, and how
/// to reach Tencent. Each constructor is one authentication mode and checks its input;
/// `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct Tencent<'a> {
    product_id: &'a str,
    device_name: &'a str,
    auth: Auth<'a>,
    region: Region,
    method: SignMethod,
    app_id: &'a str,
    conn_id: Option<&'a str>,
    timestamp: TimestampPolicy,
    validity_secs: u64,
    connection: Connection<'a>,
    #[cfg(feature = "registration")]
    register: register::RegisterSettings<'a>,
}

iotcloud_core::connection_settings!(Tencent, KEEP_ALIVE);

impl<'a> Tencent<'a> {
    /// A device with key authentication: the base64 device secret (PSK) from the console.
    /// Signs with the clock's time ([`CLOCKLESS_EXPIRY`] while the device does not know it),
    /// in the China region. Connects over TLS-PSK on port 8883 where the transport can
    /// ([`Transport::supports_psk`](iotcloud_core::Transport::supports_psk)), over plain
    /// TCP on port 1883 where it cannot (see the crate documentation).
    pub fn with_secret(
        product_id: &'a str,
        device_name: &'a str,
        device_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        check_device_secret(device_secret)?;
        Self::build(
            product_id,
            device_name,
            Auth::Key(Secret::new(device_secret)),
        )
    }

    /// A device with certificate authentication: the device certificate and private key
    /// (PEM) from the console. Connects over TLS on port 8883, checking the server against
    /// [`CA_PEM`] and presenting `identity`.
    pub fn with_certificate(
        product_id: &'a str,
        device_name: &'a str,
        identity: ClientIdentity<'a>,
    ) -> Result<Self, ProviderError> {
        check_pem("client_cert", identity.cert_pem)?;
        check_pem("client_key", identity.key_pem)?;
        Self::build(product_id, device_name, Auth::Certificate(identity))
    }

    /// A device that registers itself ("one product, one secret"): the product secret from
    /// the console (at least [`MIN_PRODUCT_SECRET_LEN`] characters: its first 16 bytes
    /// are the AES key of Tencent's answer, and Tencent's SDK refuses shorter secrets
    /// rather than zero-filling them). The device calls `register()` once; what Tencent
    /// hands out is stored and signs every connect. Expects key authentication (plain TCP,
    /// port 1883); a product with certificate authentication needs
    /// [`Tencent::with_registered_auth`]`(AuthMode::Certificate)`.
    #[cfg(feature = "registration")]
    pub fn registering(
        product_id: &'a str,
        device_name: &'a str,
        product_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        if product_secret.is_empty() {
            return Err(ProviderError::MissingKey("product_secret"));
        }
        if product_secret.len() < MIN_PRODUCT_SECRET_LEN {
            return Err(ProviderError::InvalidValue {
                key: "product_secret",
                reason: "shorter than 16 characters; its first 16 bytes are the AES key of \
                         Tencent's answer",
            });
        }
        for (key, value) in [("product_id", product_id), ("device_name", device_name)] {
            if value.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
                return Err(ProviderError::InvalidValue {
                    key,
                    reason: "contains a quote, backslash or control character, which \
                             Tencent's names never do",
                });
            }
        }
        Self::build(
            product_id,
            device_name,
            Auth::Dynamic {
                product_secret: Secret::new(product_secret),
                expect: AuthMode::Key,
            },
        )
    }

    fn build(
        product_id: &'a str,
        device_name: &'a str,
        auth: Auth<'a>,
    ) -> Result<Self, ProviderError> {
        check_field("product_id", product_id, MAX_PRODUCT_ID_LEN)?;
        check_field("device_name", device_name, MAX_DEVICE_NAME_LEN)?;
        let region = Region::default();
        Ok(Tencent {
            product_id,
            device_name,
            auth,
            region,
            method: SignMethod::default(),
            app_id: SDK_APP_ID,
            conn_id: None,
            timestamp: TimestampPolicy::default(),
            validity_secs: DEFAULT_VALIDITY_SECS,
            connection: Connection::new(KEEP_ALIVE),
            #[cfg(feature = "registration")]
            register: register::RegisterSettings::DEFAULT,
        })
    }

    /// The credentials to sign with: the configuration's own, or for a registering device
    /// those in its registration record.
    fn effective_auth<'x>(&self, registered: Option<&'x [u8]>) -> Result<Auth<'x>, ProviderError>
    where
        'a: 'x,
    {
        #[cfg(feature = "registration")]
        if let Auth::Dynamic { expect, .. } = self.auth {
            return register::auth_from_record(registered, expect);
        }
        let _ = registered;
        Ok(self.auth)
    }

    /// The pieces of the MQTT host in `region`: `{product_id}.{domain}`.
    fn host_parts(&self, region: Region) -> [&'a str; 3] {
        [self.product_id, ".", region.domain()]
    }

    /// The region of the product.
    pub fn with_region(mut self, region: Region) -> Result<Self, ProviderError> {
        check_host_len("product_id", &self.host_parts(region))?;
        self.region = region;
        Ok(self)
    }

    /// The MAC to sign the password with (key authentication only; a certificate device
    /// sends no password).
    pub fn with_sign_method(mut self, method: SignMethod) -> Self {
        self.method = method;
        self
    }

    /// The `sdkappid` field of the user name (decimal digits). Default [`SDK_APP_ID`];
    /// [`LUATOS_APP_ID`] is what LuatOS sends.
    pub fn with_app_id(mut self, app_id: &'a str) -> Result<Self, ProviderError> {
        if app_id.is_empty() {
            return Err(ProviderError::MissingKey("app_id"));
        }
        if app_id.len() > 10 || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProviderError::InvalidValue {
                key: "app_id",
                reason: "must be up to 10 decimal digits",
            });
        }
        self.app_id = app_id;
        Ok(self)
    }

    /// A fixed connection id (5 ASCII letters or digits) instead of a fresh random one on
    /// every connect. For reproducing a signature; a device in the field should not.
    pub fn with_conn_id(mut self, conn_id: &'a str) -> Result<Self, ProviderError> {
        if conn_id.len() != CONN_ID_LEN || !conn_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ProviderError::InvalidValue {
                key: "conn_id",
                reason: "must be 5 ASCII letters or digits",
            });
        }
        self.conn_id = Some(conn_id);
        Ok(self)
    }

    /// The expiry to sign with. `Auto` (default) signs the clock's time plus the validity
    /// window ([`Tencent::with_validity`]), and [`CLOCKLESS_EXPIRY`] while the device does
    /// not know the time; `Now` signs the clock's time plus the window and fails with
    /// [`ProviderError::TimeUnknown`] without it; `LuatosDefault` signs
    /// [`LUATOS_TIMESTAMP`]; `Fixed(t)` signs the expiry `t` itself. Dynamic registration
    /// needs the clock's time whatever the policy.
    pub fn with_timestamp(mut self, policy: TimestampPolicy) -> Self {
        self.timestamp = policy;
        self
    }

    /// How long a signature made with the clock's time stays valid, in seconds (default
    /// [`DEFAULT_VALIDITY_SECS`]).
    pub fn with_validity(mut self, secs: u64) -> Result<Self, ProviderError> {
        if secs == 0 {
            return Err(ProviderError::InvalidValue {
                key: "validity",
                reason: "a signature valid for 0 s has expired before it is sent",
            });
        }
        self.validity_secs = secs;
        Ok(self)
    }

    /// The product id.
    pub fn product_id(&self) -> &'a str {
        self.product_id
    }

    /// The device name.
    pub fn device_name(&self) -> &'a str {
        self.device_name
    }

    /// Key or certificate authentication (for a registering device, what registration is
    /// expected to hand out).
    pub fn auth_mode(&self) -> AuthMode {
        match self.auth {
            Auth::Key(_) => AuthMode::Key,
            Auth::Certificate(_) => AuthMode::Certificate,
            #[cfg(feature = "registration")]
            Auth::Dynamic { expect, .. } => expect,
        }
    }

    /// Whether this device registers itself ([`Tencent::registering`]); always `false`
    /// without the `registration` feature.
    pub fn is_dynamic(&self) -> bool {
        #[cfg(feature = "registration")]
        if let Auth::Dynamic { .. } = self.auth {
            return true;
        }
        false
    }

    /// The region.
    pub fn region(&self) -> Region {
        self.region
    }

    /// `{pid}/{dn}/{suffix}`, for custom topics.
    pub fn topic(&self, suffix: &'a str) -> TopicPath<'a> {
        TopicPath::new([self.product_id, "/", self.device_name, "/", suffix, ""])
    }

    /// ↑↓ Custom data topic (publish and subscribe): `{pid}/{dn}/data`.
    pub fn data(&self) -> TopicPath<'a> {
        self.topic("data")
    }

    /// ↓ Custom control topic (subscribe): `{pid}/{dn}/control`.
    pub fn control(&self) -> TopicPath<'a> {
        self.topic("control")
    }

    /// ↑ Custom event topic (publish): `{pid}/{dn}/event`.
    pub fn event(&self) -> TopicPath<'a> {
        self.topic("event")
    }

    fn system(&self, prefix: &'a str) -> TopicPath<'a> {
        TopicPath::new([prefix, self.product_id, "/", self.device_name, "", ""])
    }

    /// ↑ Data template properties (`report`, `get_status`, `control_reply`, …):
    /// `$thing/up/property/{pid}/{dn}`.
    pub fn property_up(&self) -> TopicPath<'a> {
        self.system("$thing/up/property/")
    }

    /// ↓ Data template properties (`report_reply`, `control`, `get_status_reply`):
    /// `$thing/down/property/{pid}/{dn}`.
    pub fn property_down(&self) -> TopicPath<'a> {
        self.system("$thing/down/property/")
    }

    /// ↑ Data template events (`event_post`, `events_post`): `$thing/up/event/{pid}/{dn}`.
    pub fn event_up(&self) -> TopicPath<'a> {
        self.system("$thing/up/event/")
    }

    /// ↓ Data template event replies: `$thing/down/event/{pid}/{dn}`.
    pub fn event_down(&self) -> TopicPath<'a> {
        self.system("$thing/down/event/")
    }

    /// ↑ Data template action replies: `$thing/up/action/{pid}/{dn}`.
    pub fn action_up(&self) -> TopicPath<'a> {
        self.system("$thing/up/action/")
    }

    /// ↓ Data template actions: `$thing/down/action/{pid}/{dn}`.
    pub fn action_down(&self) -> TopicPath<'a> {
        self.system("$thing/down/action/")
    }

    /// ↑ System requests, e.g. the time (`{"type":"get","resource":["time"]}`):
    /// `$sys/operation/{pid}/{dn}`.
    pub fn sys_operation(&self) -> TopicPath<'a> {
        self.system("$sys/operation/")
    }

    /// ↓ Answers to system requests: `$sys/operation/result/{pid}/{dn}`.
    pub fn sys_operation_result(&self) -> TopicPath<'a> {
        self.system("$sys/operation/result/")
    }

    /// ↑ Device shadow requests: `$shadow/operation/{pid}/{dn}`.
    pub fn shadow_operation(&self) -> TopicPath<'a> {
        self.system("$shadow/operation/")
    }

    /// ↓ Device shadow answers and deltas: `$shadow/operation/result/{pid}/{dn}`.
    pub fn shadow_operation_result(&self) -> TopicPath<'a> {
        self.system("$shadow/operation/result/")
    }

    /// The TLS pre-shared key of a device with key authentication, written into `scratch`:
    /// identity `{ProductId}{DeviceName}` (the client id), key the base64-decoded device
    /// secret. This is what Tencent's own device SDK sends: `qcloud_iot_mqtt_init` in
    /// `sdk_src/protocol/mqtt/mqtt_client.c` of TencentCloud/tencentcloud-iot-explorer-sdk-embedded-c
    /// sets `psk` to `base64decode(device_secret)` and `psk_id` to `"%s%s"` of product id and
    /// device name, which `platform/tls/mbedtls/HAL_TLS_mbedtls.c` hands to
    /// `mbedtls_ssl_conf_psk`, offering only `TLS_PSK_WITH_AES_128_CBC_SHA` and
    /// `TLS_PSK_WITH_AES_256_CBC_SHA`, and no CA.
    ///
    /// [`ProviderError::Unsupported`] for a certificate device or a registering one (whose
    /// key is in its registration record). `Debug` of the result never shows the key.
    pub fn psk<'s>(&self, scratch: &mut Scratch<'s>) -> Result<Psk<'s>, ProviderError> {
        let Auth::Key(secret) = self.auth else {
            return Err(ProviderError::Unsupported(
                "TLS-PSK without a device secret in the configuration (certificate or \
                 registering device)",
            ));
        };
        self.psk_with(secret, scratch)
    }

    /// The MQTT broker's host: the override, or the product's host in its region.
    pub(crate) fn mqtt_host<'s>(
        &'s self,
        scratch: &mut Scratch<'s>,
    ) -> Result<&'s str, ProviderError> {
        match self.connection.overrides.host {
            Some(host) => Ok(host),
            None => build_host("product_id", &self.host_parts(self.region), scratch),
        }
    }

    /// TLS-PSK to `host` on 8883 (or the port override), keyed with `secret`.
    pub(crate) fn psk_endpoint<'s>(
        &self,
        host: &'s str,
        secret: Secret<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Endpoint<'s>, ProviderError> {
        Ok(Endpoint {
            host,
            port: self.connection.overrides.port.unwrap_or(TLS_PORT),
            tls: Some(Tls {
                server: ServerAuth::Psk(self.psk_with(secret, scratch)?),
                server_name: None,
                client: None,
            }),
        })
    }

    /// The pre-shared key of this device with `secret` (the configuration's, or the one its
    /// registration obtained).
    pub(crate) fn psk_with<'s>(
        &self,
        secret: Secret<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Psk<'s>, ProviderError> {
        let mut identity = [0u8; MAX_PSK_IDENTITY_LEN];
        let identity = Scratch::new(&mut identity)
            .concat(&[self.product_id, self.device_name])
            .map_err(|_| ProviderError::InvalidValue {
                key: "device_name",
                reason: "makes a PSK identity longer than the cloud's ids allow",
            })?;
        let mut decoded = [0u8; MAX_PSK_LEN];
        let Some(len) = base64_decode(secret.expose(), &mut decoded) else {
            return Err(ProviderError::InvalidBase64("device_secret"));
        };
        let key = &decoded[..len];
        let encoded = scratch.bytes(Psk::encoded_len(identity, key), |dst| {
            Psk::write(dst, identity, key).map(|p| Psk::encoded_len(p.identity(), p.key()))
        });
        decoded.fill(0);
        Psk::from_encoded(encoded?).ok_or(ProviderError::InvalidValue {
            key: "device_name",
            reason: "does not make a PSK identity",
        })
    }

    fn resolve_expiry(&self, ctx: &SignContext) -> Result<u64, ProviderError> {
        Ok(self
            .timestamp
            .resolve_or_clockless(ctx, TimeUnit::Seconds, self.validity_secs, LUATOS_TIMESTAMP)?
            .unwrap_or(CLOCKLESS_EXPIRY))
    }
}

impl Provider for Tencent<'_> {
    #[cfg(feature = "registration")]
    type Registration = Self;
    #[cfg(not(feature = "registration"))]
    type Registration = NoRegistration;
    #[cfg(feature = "ota")]
    type Ota = Self;
    #[cfg(not(feature = "ota"))]
    type Ota = NoOta;
    type Data = Self;

    fn cloud(&self) -> &'static str {
        "tencent"
    }

    /// What [`Provider::endpoint_for`] gives a transport without TLS-PSK.
    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        self.endpoint_for(scratch, TransportCaps::NONE)
    }

    /// Key authentication, with the TLS choice left at [`TlsChoice::CloudDefault`]: TLS-PSK on
    /// 8883 when `caps` has it (identity `{pid}{dn}`, key the decoded device secret, see
    /// [`Tencent::psk`]), plain TCP on 1883 otherwise. `TlsChoice::Off` is plain TCP on 1883;
    /// `TlsChoice::On(ServerAuth::Psk(_))` is that pre-shared key on 8883; any other TLS
    /// choice needs an explicit port (see the crate documentation). A registering key device
    /// resolves here to plain TCP, as this sees no key; with its record the device asks
    /// `Registration::registered_endpoint`, which gives TLS-PSK the same way. Certificate
    /// authentication:
    /// TLS on 8883, presenting the device's certificate whatever the overrides' `client`
    /// says; a registering certificate device presents the one in its record. A port
    /// override keeps the security chosen.
    fn endpoint_for<'a>(
        &'a self,
        scratch: &mut Scratch<'a>,
        caps: TransportCaps,
    ) -> Result<Endpoint<'a>, ProviderError> {
        let overrides = self.connection.overrides;
        let host = self.mqtt_host(scratch)?;
        match self.auth_mode() {
            AuthMode::Key => {
                if let (TlsChoice::CloudDefault, true, Auth::Key(secret)) =
                    (overrides.tls, caps.psk, self.auth)
                {
                    return self.psk_endpoint(host, secret, scratch);
                }
                let psk = matches!(overrides.tls, TlsChoice::On(ServerAuth::Psk(_)));
                // Tencent's TLS for key authentication is TLS-PSK: TLS checked by certificate
                // is not documented there, so only a port override can point it somewhere.
                if matches!(overrides.tls, TlsChoice::On(_)) && !psk && overrides.port.is_none() {
                    return Err(ProviderError::InvalidValue {
                        key: "tls",
                        reason: "Tencent's key authentication over TLS is TLS-PSK, not \
                                 certificate-checked TLS; give `port` to try anyway",
                    });
                }
                self.connection.resolve(CloudEndpoint {
                    host,
                    tls_port: psk.then_some(TLS_PORT),
                    plain_port: Some(PLAIN_PORT),
                    ca_pem: DEFAULT_ROOTS,
                })
            }
            AuthMode::Certificate => EndpointOverrides {
                // A registering device's certificate comes from its record, which the
                // device fills in (`Registration::identity`) when `client` is left empty.
                client: match self.auth {
                    Auth::Certificate(identity) => Some(identity),
                    _ => overrides.client,
                },
                ..overrides
            }
            .resolve(CloudEndpoint {
                host,
                tls_port: Some(TLS_PORT),
                plain_port: None,
                ca_pem: DEFAULT_ROOTS,
            }),
        }
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.connection.mqtt_options()
    }

    fn limits(&self) -> Limits {
        Limits {
            max_qos: QoS::AtLeastOnce,
            max_topic_len: MAX_TOPIC_LEN,
            max_payload_len: MAX_PAYLOAD_LEN,
            // Tencent accepts one CONNECT per device every 5 s.
            min_connect_interval_ms: 5_000,
        }
    }

    /// `{pid}{dn}`, `{pid}{dn};{sdkappid};{connid};{expiry}` and, for key authentication,
    /// `hex(HMAC(b64dec(device_secret), user name));hmacsha256` (or `;hmacsha1`). A
    /// registering device signs with its registration record exactly as
    /// [`Tencent::with_secret`] or [`Tencent::with_certificate`] would with what the record
    /// holds.
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let auth = self.effective_auth(ctx.registered)?;
        let expiry = self.resolve_expiry(ctx)?;
        let (pid, dn, app_id) = (self.product_id, self.device_name, self.app_id);
        let client_id = scratch.format(format_args!("{pid}{dn}"))?;
        let username = match self.conn_id {
            Some(conn_id) => scratch.format(format_args!("{pid}{dn};{app_id};{conn_id};{expiry}")),
            None => scratch.format(format_args!(
                "{pid}{dn};{app_id};{};{expiry}",
                RandomConnId(ctx.random)
            )),
        }?;
        let password = match auth {
            Auth::Key(secret) => {
                let mut psk = [0u8; MAX_PSK_LEN];
                let key = base64_decode(secret.expose(), &mut psk)
                    .and_then(|n| psk.get(..n))
                    .ok_or(ProviderError::InvalidBase64("device_secret"))?;
                let mac = hmac(self.method.algorithm(), key, &[username.as_bytes()])?;
                Some(scratch.format(format_args!("{};{}", mac.hex(), self.method.name()))?)
            }
            Auth::Certificate(_) => None,
            #[cfg(feature = "registration")]
            Auth::Dynamic { .. } => None,
        };
        Ok(Credentials {
            client_id,
            username: Some(username),
            password,
        })
    }

    #[cfg(feature = "registration")]
    fn registration(&self) -> Option<&Self> {
        self.is_dynamic().then_some(self)
    }

    #[cfg(feature = "ota")]
    fn ota(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }

    #[cfg(not(feature = "ota"))]
    fn ota(&self) -> Result<&NoOta, &'static str> {
        Err("OTA (iotcloud-tencent built without its `ota` feature)")
    }

    fn data(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }
}

/// Checks a topic against Tencent's rules: at most [`MAX_TOPIC_LEN`] bytes and
/// [`MAX_TOPIC_LEVELS`] levels. (The device checks only the length, from
/// [`Provider::limits`].)
pub fn check_topic(topic: &str) -> Result<(), ProviderError> {
    if topic.is_empty() {
        return Err(ProviderError::MissingKey("topic"));
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(ProviderError::InvalidValue {
            key: "topic",
            reason: "longer than Tencent's 255 bytes",
        });
    }
    if topic.split('/').count() > MAX_TOPIC_LEVELS {
        return Err(ProviderError::InvalidValue {
            key: "topic",
            reason: "more than Tencent's 10 levels",
        });
    }
    Ok(())
}

/// The characters of a connection id, as Tencent's SDK draws them: `[A-Za-z0-9]`.
const CONN_ID_CHARS: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Five characters of [`CONN_ID_CHARS`] from a random value: the base-62 digits of its two
/// halves folded together (32-bit arithmetic: 62^5 < 2^32, and a Cortex-M3 divides 64-bit
/// numbers only with a library routine).
struct RandomConnId(u64);

impl fmt::Display for RandomConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The high half folded into the low one; the cast keeps the low 32 bits.
        let mut rest = (self.0 ^ (self.0 >> 32)) as u32;
        for _ in 0..CONN_ID_LEN {
            let digit = CONN_ID_CHARS[(rest % 62) as usize];
            f.write_char(char::from(digit))?;
            rest /= 62;
        }
        Ok(())
    }
}

/// An identifier of the user name: no `/ + #` NUL, and no `;`, which separates its fields.
fn check_field(key: &'static str, value: &str, max: usize) -> Result<(), ProviderError> {
    check_identifier(key, value, max)?;
    if value.contains(';') {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "contains `;`, which separates the user name's fields",
        });
    }
    Ok(())
}

/// The device secret must be base64 of at most [`MAX_PSK_LEN`] bytes.
fn check_device_secret(secret: &str) -> Result<(), ProviderError> {
    if secret.is_empty() {
        return Err(ProviderError::MissingKey("device_secret"));
    }
    if base64_decode(secret, &mut [0u8; MAX_PSK_LEN]).is_some() {
        return Ok(());
    }
    // Either not base64, or too long to decode into the buffer: say which.
    if is_base64(secret) {
        Err(ProviderError::InvalidValue {
            key: "device_secret",
            reason: "decodes to more than 48 bytes, the longest key Tencent's SDK takes",
        })
    } else {
        Err(ProviderError::InvalidBase64("device_secret"))
    }
}

/// Whether `s` is standard padded base64 of any length, checked in 64-character blocks
/// (48 bytes each); only the last block may carry padding.
fn is_base64(s: &str) -> bool {
    if !s.len().is_multiple_of(4) {
        return false;
    }
    let mut blocks = s.as_bytes().chunks(64).peekable();
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        if !last && block.contains(&b'=') {
            return false;
        }
        let Ok(text) = core::str::from_utf8(block) else {
            return false;
        };
        if base64_decode(text, &mut [0u8; 48]).is_none() {
            return false;
        }
    }
    true
}

/// A certificate or key must be present and look like PEM.
fn check_pem(key: &'static str, pem: &[u8]) -> Result<(), ProviderError> {
    if pem.is_empty() {
        return Err(ProviderError::MissingKey(key));
    }
    if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "is not PEM (no `-----BEGIN ` line)",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
