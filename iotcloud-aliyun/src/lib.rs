#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

use iotcloud_core::mqtt::QoS;
#[cfg(not(feature = "ota"))]
use iotcloud_core::ota::NoOta;
use iotcloud_core::provider::{
    CloudEndpoint, Connection, Credentials, KeepAlive, Limits, MqttOptions, Provider,
    ProviderError, SignContext, TopicPath, build_host, check_host_len,
};
#[cfg(not(feature = "registration"))]
use iotcloud_core::register::NoRegistration;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{
    Algorithm, Decimal, Secret, TimeUnit, TimestampPolicy, check_identifier, hmac,
};
use iotcloud_core::transport::Endpoint;

mod data;
mod file;
mod ota;
#[cfg(feature = "registration")]
mod register;

/// The roots Aliyun's MQTT endpoints are served under: the Aliyun IoT Root CA (port 8883)
/// and GlobalSign Root CA R1 (port 1883 with `securemode=2`). See `certs/README.md`.
pub const CA_PEM: &[u8] = include_bytes!("../certs/bundle.pem");

/// The CA certificates [`TlsChoice::CloudDefault`](iotcloud_core::TlsChoice::CloudDefault)
/// checks the cloud against: [`CA_PEM`], or none when this crate is built without its
/// `roots` feature (they are then not linked, and the cloud's TLS needs a CA given in the
/// overrides).
pub const DEFAULT_ROOTS: &[u8] = if cfg!(feature = "roots") { CA_PEM } else { &[] };

/// The timestamp LuatOS signs with (2999-01-01 00:00 UTC+8). It is a count of seconds
/// where Aliyun defines milliseconds; the platform only signs it, so it still works.
pub const LUATOS_TIMESTAMP: u64 = 32_472_115_200;

/// MQTT over TLS, under the Aliyun IoT Root CA: the port Aliyun recommends.
pub const TLS_PORT: u16 = 8883;

/// MQTT over plain TCP (`securemode=3`), or over TLS under GlobalSign R1 (`securemode=2`).
pub const PLAIN_PORT: u16 = 1883;

/// Region of the old public instance when none is given (the only one LuatOS knows).
pub const DEFAULT_REGION: &str = "cn-shanghai";

/// Keep-alive used unless another is chosen: the shortest interval Aliyun recommends.
pub const DEFAULT_KEEP_ALIVE_SECS: u16 = 300;

/// Longest ProductKey (the official C SDK's limit).
pub const MAX_PRODUCT_KEY_LEN: usize = 20;

/// Longest DeviceName (the official C SDK's limit).
pub const MAX_DEVICE_NAME_LEN: usize = 32;

/// Longest device-chosen client id (the part before `|`), as Aliyun documents.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// Longest DeviceSecret or device token (the official C SDK's buffer).
pub const MAX_SECRET_LEN: usize = 64;

/// Longest region or instance id: one host-name label.
const MAX_LABEL_LEN: usize = 63;

/// The MAC named by `signmethod` in the client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignMethod {
    /// `hmacmd5`, LuatOS's default.
    HmacMd5,
    /// `hmacsha1`, the method of Aliyun's documented example.
    HmacSha1,
    /// `hmacsha256` (default): what Aliyun's own C SDKs sign with, and the strongest.
    #[default]
    HmacSha256,
}

impl SignMethod {
    /// Parses `hmacmd5`, `hmacsha1` or `hmacsha256`, in any case.
    ///
    /// Refused with [`ProviderError::Unsupported`] when this crate is built without the
    /// method's algorithm (cargo features `md5`, `sha1`, `sha256`).
    pub fn from_name(name: &str) -> Result<Self, ProviderError> {
        let method = Self::parse_name(name)?;
        method.algorithm().enabled()?;
        Ok(method)
    }

    fn parse_name(name: &str) -> Result<Self, ProviderError> {
        [
            SignMethod::HmacMd5,
            SignMethod::HmacSha1,
            SignMethod::HmacSha256,
        ]
        .into_iter()
        .find(|m| name.eq_ignore_ascii_case(m.name()))
        .ok_or(ProviderError::InvalidValue {
            key: "method",
            reason: "Aliyun accepts hmacmd5, hmacsha1 or hmacsha256",
        })
    }

    /// The name as it appears in the client id (always lower case).
    pub fn name(self) -> &'static str {
        match self {
            SignMethod::HmacMd5 => "hmacmd5",
            SignMethod::HmacSha1 => "hmacsha1",
            SignMethod::HmacSha256 => "hmacsha256",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            SignMethod::HmacMd5 => Algorithm::Md5,
            SignMethod::HmacSha1 => Algorithm::Sha1,
            SignMethod::HmacSha256 => Algorithm::Sha256,
        }
    }
}

/// What proves the device's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth<'a> {
    /// One device, one secret: the password is a MAC under the DeviceSecret.
    DeviceSecret(Secret<'a>),
    /// The result of dynamic registration without pre-registration (`regnwl`): the
    /// client id and device token the platform returned.
    DeviceToken {
        client_id: &'a str,
        token: Secret<'a>,
    },
    /// One product, one secret: the device registers with the ProductSecret, then logs in
    /// with what it obtained.
    #[cfg(feature = "registration")]
    Dynamic {
        product_secret: Secret<'a>,
        flow: DynamicFlow,
    },
}

/// How a device with the ProductSecret obtains its own credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamicFlow {
    /// HTTPS `POST /auth/register/device` for a device pre-registered in the console:
    /// obtains its DeviceSecret.
    Https,
    /// MQTT with `authType=register` for a pre-registered device: obtains its DeviceSecret
    /// (what LuatOS does when `device_name` is given).
    Register,
    /// MQTT with `authType=regnwl`, no pre-registration: obtains a client id and device
    /// token (what LuatOS does otherwise). Aliyun documents it for Enterprise instances only
    /// (cn-shanghai and cn-beijing, MQTT only, at most five physical devices per device
    /// name), so on the old public instance it is refused before anything is sent unless
    /// [`Aliyun::with_regnwl_on_public_instance`] asks for LuatOS's behaviour.
    Regnwl,
}

/// Which kind of instance the product lives in; it decides the MQTT host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instance<'a> {
    /// The old public instance of a region: `{pk}.iot-as-mqtt.{region}.aliyuncs.com`.
    Public {
        /// Region id, e.g. `cn-shanghai`.
        region: &'a str,
    },
    /// A new public or Enterprise instance: `{instance_id}.mqtt.iothub.aliyuncs.com`.
    Id(&'a str),
}

fn check_names(product_key: &str, device_name: &str) -> Result<(), ProviderError> {
    check_field("product_id", product_key, MAX_PRODUCT_KEY_LEN)?;
    check_field("device_name", device_name, MAX_DEVICE_NAME_LEN)
}

/// An identifier that goes into the client id (`|` and `,` delimit its parameters) and the
/// user name (`&` separates DeviceName and ProductKey). Aliyun's own names never hold them.
fn check_field(key: &'static str, value: &str, max: usize) -> Result<(), ProviderError> {
    check_identifier(key, value, max)?;
    // Bytes, not chars: the three are ASCII, which UTF-8 never uses inside a character.
    if value.bytes().any(|b| matches!(b, b'|' | b',' | b'&')) {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "contains `|`, `,` or `&`, which separate the client id's and user name's fields",
        });
    }
    Ok(())
}

fn check_client_id(client_id: &str) -> Result<(), ProviderError> {
    check_identifier("client_id", client_id, MAX_CLIENT_ID_LEN)?;
    if client_id.contains('|') {
        return Err(ProviderError::InvalidValue {
            key: "client_id",
            reason: "contains `|`, which ends the client id",
        });
    }
    Ok(())
}

fn check_secret(key: &'static str, secret: &str) -> Result<(), ProviderError> {
    if secret.is_empty() {
        return Err(ProviderError::MissingKey(key));
    }
    if secret.len() > MAX_SECRET_LEN {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "longer than 64 bytes",
        });
    }
    Ok(())
}

fn check_label(key: &'static str, value: &str) -> Result<(), ProviderError> {
    check_identifier(key, value, MAX_LABEL_LEN)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "not a host-name label (letters, digits and `-` only)",
        });
    }
    Ok(())
}

/// The keep-alive intervals Aliyun accepts (30 to 1200 s), and 300 s, the shortest it
/// recommends, by default.
pub const KEEP_ALIVE: KeepAlive = KeepAlive {
    min: 30,
    max: 1200,
    default: 300,
    reason: "Aliyun accepts 30 to 1200 seconds",
};

/// An Aliyun IoT Platform device: who it is, how it proves it, and how to reach the
/// platform. Each constructor is one authentication mode and checks its input; `Debug`
/// never shows a secret.
#[derive(Debug, Clone)]
pub struct Aliyun<'a> {
    product_key: &'a str,
    device_name: &'a str,
    auth: Auth<'a>,
    instance: Instance<'a>,
    /// The region: the old public instance's, or the one an instance lives in (it names the
    /// HTTPS registration host).
    region: &'a str,
    client_id: Option<&'a str>,
    method: SignMethod,
    timestamp: Option<TimestampPolicy>,
    connection: Connection<'a>,
    register_url: Option<&'a str>,
    /// The properties whose desired values the device fetches.
    desired: &'a [&'a str],
    /// `regnwl` on the old public instance, which Aliyun does not document (LuatOS does it).
    regnwl_on_public: bool,
}

iotcloud_core::connection_settings!(Aliyun, KEEP_ALIVE);

impl<'a> Aliyun<'a> {
    /// One device, one secret: the ProductKey (`product_id`), DeviceName (`device_name`)
    /// and DeviceSecret (`device_secret`) from the console. The old public instance in
    /// cn-shanghai, signing with HMAC-SHA256 and the clock's time in milliseconds (no
    /// timestamp while the clock does not know the time, see [`TimestampPolicy::Auto`]), over TLS
    /// on port 8883 checked against [`CA_PEM`].
    pub fn with_secret(
        product_key: &'a str,
        device_name: &'a str,
        device_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        check_secret("device_secret", device_secret)?;
        Self::build(
            product_key,
            device_name,
            Auth::DeviceSecret(Secret::new(device_secret)),
        )
    }

    /// A device created by dynamic registration without pre-registration (`regnwl`): it
    /// logs in with the `clientId` and `deviceToken` the platform returned
    /// (`securemode=-2,authType=connwl`).
    pub fn with_token(
        product_key: &'a str,
        device_name: &'a str,
        client_id: &'a str,
        device_token: &'a str,
    ) -> Result<Self, ProviderError> {
        check_client_id(client_id)?;
        check_secret("device_token", device_token)?;
        Self::build(
            product_key,
            device_name,
            Auth::DeviceToken {
                client_id,
                token: Secret::new(device_token),
            },
        )
    }

    /// One product, one secret: the device registers with the ProductSecret
    /// (`product_secret`) by `flow`, stores what it obtained, and logs in with it. Needs
    /// credentials memory on the device (256 bytes is plenty).
    #[cfg(feature = "registration")]
    pub fn registering(
        product_key: &'a str,
        device_name: &'a str,
        product_secret: &'a str,
        flow: DynamicFlow,
    ) -> Result<Self, ProviderError> {
        check_secret("product_secret", product_secret)?;
        Self::build(
            product_key,
            device_name,
            Auth::Dynamic {
                product_secret: Secret::new(product_secret),
                flow,
            },
        )
    }

    fn build(
        product_key: &'a str,
        device_name: &'a str,
        auth: Auth<'a>,
    ) -> Result<Self, ProviderError> {
        check_names(product_key, device_name)?;
        let instance = Instance::Public {
            region: DEFAULT_REGION,
        };
        check_host_len("region", &Self::host_parts(product_key, instance))?;
        Ok(Aliyun {
            product_key,
            device_name,
            auth,
            instance,
            region: DEFAULT_REGION,
            client_id: None,
            method: SignMethod::default(),
            timestamp: Some(TimestampPolicy::default()),
            connection: Connection::new(KEEP_ALIVE),
            register_url: None,
            desired: &[],
            regnwl_on_public: false,
        })
    }

    /// The HTTPS registration URL instead of
    /// `https://iot-auth.{region}.aliyuncs.com/auth/register/device` (for
    /// [`DynamicFlow::Https`]; private deployments and tests may use `http://`). The
    /// server is checked against the web PKI roots.
    pub fn with_register_url(mut self, url: &'a str) -> Result<Self, ProviderError> {
        iotcloud_core::http::Url::parse(url).map_err(|_| ProviderError::InvalidValue {
            key: "register_url",
            reason: "not an http:// or https:// URL",
        })?;
        self.register_url = Some(url);
        Ok(self)
    }

    /// The pieces of the MQTT host: `{pk}.iot-as-mqtt.{region}.aliyuncs.com` or
    /// `{instance_id}.mqtt.iothub.aliyuncs.com`.
    fn host_parts<'h>(product_key: &'h str, instance: Instance<'h>) -> [&'h str; 4] {
        match instance {
            Instance::Public { region } => [product_key, ".iot-as-mqtt.", region, ".aliyuncs.com"],
            Instance::Id(id) => [id, ".mqtt.iothub.aliyuncs.com", "", ""],
        }
    }

    /// The configuration key a host name's length is blamed on.
    fn host_key(instance: Instance<'_>) -> &'static str {
        match instance {
            Instance::Public { .. } => "region",
            Instance::Id(_) => "instance_id",
        }
    }

    /// The platform's side of the endpoint, with `host`.
    fn cloud_endpoint(host: &str) -> CloudEndpoint<'_> {
        CloudEndpoint {
            host,
            tls_port: Some(TLS_PORT),
            plain_port: Some(PLAIN_PORT),
            ca_pem: DEFAULT_ROOTS,
        }
    }

    fn with_instance(mut self, instance: Instance<'a>) -> Result<Self, ProviderError> {
        check_host_len(
            Self::host_key(instance),
            &Self::host_parts(self.product_key, instance),
        )?;
        self.instance = instance;
        Ok(self)
    }

    /// The region (e.g. `ap-southeast-1`): of the old public instance, whose MQTT host it
    /// names; for an instance given by id ([`Aliyun::with_instance_id`], before or after
    /// this), the region the instance lives in, which names the HTTPS registration host
    /// `iot-auth.{region}.aliyuncs.com` (default `cn-shanghai`).
    pub fn with_region(mut self, region: &'a str) -> Result<Self, ProviderError> {
        check_label("region", region)?;
        self.region = region;
        match self.instance {
            Instance::Public { .. } => self.with_instance(Instance::Public { region }),
            Instance::Id(_) => Ok(self),
        }
    }

    /// Registration without pre-registration ([`DynamicFlow::Regnwl`]) on the old public
    /// instance, as LuatOS does. Aliyun documents that flow for Enterprise instances only
    /// (help.aliyun.com "一型一密": 免预注册, 企业版实例, 华东2 and 华北2), so by default it is
    /// refused there with `ProviderError::Unsupported` before anything is sent. Whether the
    /// old public instance accepts it is UNCONFIRMED.
    pub fn with_regnwl_on_public_instance(mut self) -> Self {
        self.regnwl_on_public = true;
        self
    }

    /// A new public or Enterprise instance, by its id (e.g. `iot-06z00ax1o4cfwo7`). The
    /// console's "development configuration" page shows the exact endpoint: if it differs
    /// from `{instance_id}.mqtt.iothub.aliyuncs.com`, give it as a host override.
    pub fn with_instance_id(self, instance_id: &'a str) -> Result<Self, ProviderError> {
        check_label("instance_id", instance_id)?;
        self.with_instance(Instance::Id(instance_id))
    }

    /// The MAC to sign with (device-secret mode).
    pub fn with_sign_method(mut self, method: SignMethod) -> Self {
        self.method = method;
        self
    }

    /// The timestamp to sign with (device-secret mode); Aliyun counts milliseconds.
    /// [`TimestampPolicy::Auto`] (default) signs the clock's time, and no timestamp at all
    /// (as [`without_timestamp`](Self::without_timestamp)) while the device does not know
    /// the time; [`TimestampPolicy::Now`] fails with
    /// [`ProviderError::TimeUnknown`] instead.
    pub fn with_timestamp(mut self, policy: TimestampPolicy) -> Self {
        self.timestamp = Some(policy);
        self
    }

    /// Signs without a timestamp, which Aliyun allows: the credentials then need no clock.
    pub fn without_timestamp(mut self) -> Self {
        self.timestamp = None;
        self
    }

    /// The device-chosen part of the client id (a MAC address or serial number, at most 64
    /// bytes) instead of `{pk}.{dn}`. Not for the device-token mode, whose client id comes
    /// from registration.
    pub fn with_client_id(mut self, client_id: &'a str) -> Result<Self, ProviderError> {
        if matches!(self.auth, Auth::DeviceToken { .. }) {
            return Err(ProviderError::InvalidValue {
                key: "client_id",
                reason: "a device-token login uses the client id returned by registration",
            });
        }
        check_client_id(client_id)?;
        self.client_id = Some(client_id);
        Ok(self)
    }

    /// The ProductKey.
    pub fn product_key(&self) -> &'a str {
        self.product_key
    }

    /// The DeviceName.
    pub fn device_name(&self) -> &'a str {
        self.device_name
    }

    /// The instance the MQTT host is derived from.
    pub fn instance(&self) -> Instance<'a> {
        self.instance
    }

    fn product_topic(&self, head: &'a str, tail: &'a str, suffix: &'a str) -> TopicPath<'a> {
        let (pk, dn) = (self.product_key, self.device_name);
        TopicPath::new([head, pk, "/", dn, tail, suffix])
    }

    /// A custom topic, `/{pk}/{dn}/user/{suffix}`.
    pub fn user_topic(&self, suffix: &'a str) -> TopicPath<'a> {
        self.product_topic("/", "/user/", suffix)
    }

    /// ↑ The default custom topic for uplink data: `/{pk}/{dn}/user/update`.
    pub fn user_update(&self) -> TopicPath<'a> {
        self.user_topic("update")
    }

    /// ↓ The default custom topic for downlink data: `/{pk}/{dn}/user/get`.
    pub fn user_get(&self) -> TopicPath<'a> {
        self.user_topic("get")
    }

    /// ↑ Thing-model property report: `/sys/{pk}/{dn}/thing/event/property/post`.
    pub fn property_post(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/event/property/post", "")
    }

    /// ↓ The platform's answer to a property report: `…/thing/event/property/post_reply`.
    pub fn property_post_reply(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/event/property/post_reply", "")
    }

    /// ↓ Property set by the platform: `/sys/{pk}/{dn}/thing/service/property/set`.
    pub fn property_set(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/service/property/set", "")
    }

    /// ↑ The device's answer to a property set: `…/thing/service/property/set_reply`.
    pub fn property_set_reply(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/service/property/set_reply", "")
    }

    /// ↑ Time request (payload `{"deviceSendTime":"<ms>"}`): `/ext/ntp/{pk}/{dn}/request`.
    pub fn ntp_request(&self) -> TopicPath<'a> {
        self.product_topic("/ext/ntp/", "/request", "")
    }

    /// ↓ Time response, in milliseconds: `/ext/ntp/{pk}/{dn}/response`.
    pub fn ntp_response(&self) -> TopicPath<'a> {
        self.product_topic("/ext/ntp/", "/response", "")
    }

    /// `securemode` follows the connection actually used: 2 over TLS, 3 over plain TCP.
    fn secure_mode(&self) -> Result<&'static str, ProviderError> {
        // Only the security matters here: any host stands in for the real one.
        let endpoint = self
            .connection
            .resolve(Self::cloud_endpoint("aliyuncs.com"))?;
        Ok(if endpoint.tls.is_some() { "2" } else { "3" })
    }

    /// `{clientId}|securemode=-2,authType=connwl|`, `{dn}&{pk}`, the token.
    fn sign_with_token<'s>(
        &self,
        client_id: &str,
        token: &str,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let (pk, dn) = (self.product_key, self.device_name);
        Ok(Credentials {
            client_id: scratch.concat(&[client_id, "|securemode=-2,authType=connwl|"])?,
            username: Some(scratch.concat(&[dn, "&", pk])?),
            password: Some(scratch.copy(token)?),
        })
    }

    fn sign_with_secret<'s>(
        &self,
        secret: Secret<'_>,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let (pk, dn) = (self.product_key, self.device_name);
        let ts = self
            .timestamp
            .map(|p| p.resolve_or_clockless(ctx, TimeUnit::Millis, 0, LUATOS_TIMESTAMP))
            .transpose()?
            // Without a clock, `Auto` signs as `without_timestamp` does: Aliyun makes the
            // timestamp optional and documents no expiry check.
            .flatten();
        let secure_mode = self.secure_mode()?;
        let method = self.method.name();
        // The device-chosen client id; `{pk}.{dn}` as the official SDKs use.
        let id: [&str; 3] = match self.client_id {
            Some(id) => [id, "", ""],
            None => [pk, ".", dn],
        };
        let ts_text = ts.map(Decimal::new);
        let (ts_key, ts_str) = match &ts_text {
            Some(ts) => (",timestamp=", ts.as_str()),
            None => ("", ""),
        };
        let client_id = scratch.concat(&[
            id[0],
            id[1],
            id[2],
            "|securemode=",
            secure_mode,
            ",signmethod=",
            method,
            ts_key,
            ts_str,
            "|",
        ])?;
        let username = scratch.concat(&[dn, "&", pk])?;
        // The parameters sorted by name, each as name then value, with no separators;
        // `timestamp` only when the client id carries one. securemode and signmethod are
        // not signed.
        let (ts_name, ts_value): (&[u8], &[u8]) = match &ts_text {
            Some(ts) => (b"timestamp", ts.as_bytes()),
            None => (b"", b""),
        };
        let mac = hmac(
            self.method.algorithm(),
            secret.expose().as_bytes(),
            &[
                b"clientId",
                id[0].as_bytes(),
                id[1].as_bytes(),
                id[2].as_bytes(),
                b"deviceName",
                dn.as_bytes(),
                b"productKey",
                pk.as_bytes(),
                ts_name,
                ts_value,
            ],
        )?;
        // Upper-case hex, as in Aliyun's documented example (the platform ignores case).
        let password = scratch.text(|w| w.write_hex(mac.as_bytes(), true))?;
        Ok(Credentials {
            client_id,
            username: Some(username),
            password: Some(password),
        })
    }
}

impl Provider for Aliyun<'_> {
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
        "aliyun"
    }

    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let host = match self.connection.overrides.host {
            Some(host) => host,
            None => build_host(
                Self::host_key(self.instance),
                &Self::host_parts(self.product_key, self.instance),
                scratch,
            )?,
        };
        self.connection.resolve(Self::cloud_endpoint(host))
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.connection.mqtt_options()
    }

    fn limits(&self) -> Limits {
        Limits::MQTT.with_max_qos(QoS::AtLeastOnce)
    }

    /// Device secret: `{pk}.{dn}|securemode={2|3},signmethod={m},timestamp={ms}|`,
    /// `{dn}&{pk}` and the upper-case hex MAC of
    /// `clientId{pk}.{dn}deviceName{dn}productKey{pk}timestamp{ms}`; without a timestamp
    /// (no clock under [`TimestampPolicy::Auto`], or [`Aliyun::without_timestamp`]) both
    /// leave out their `timestamp` part.
    /// Device token: `{clientId}|securemode=-2,authType=connwl|`, `{dn}&{pk}`, the token.
    fn data(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }

    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        match self.auth {
            Auth::DeviceSecret(secret) => self.sign_with_secret(secret, ctx, scratch),
            Auth::DeviceToken { client_id, token } => {
                self.sign_with_token(client_id, token.expose(), scratch)
            }
            #[cfg(feature = "registration")]
            Auth::Dynamic { .. } => match ctx.registered.and_then(register::read_record) {
                Some(register::Obtained::Secret(secret)) => {
                    self.sign_with_secret(Secret::new(secret), ctx, scratch)
                }
                Some(register::Obtained::Token { client_id, token }) => {
                    self.sign_with_token(client_id, token, scratch)
                }
                None => Err(ProviderError::MissingKey("device_secret")),
            },
        }
    }

    #[cfg(feature = "registration")]
    fn registration(&self) -> Option<&Self> {
        matches!(self.auth, Auth::Dynamic { .. }).then_some(self)
    }

    #[cfg(feature = "ota")]
    fn ota(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
