#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

use iotcloud_core::mqtt::{QoS, TopicName, Will};
use iotcloud_core::ota::NoOta;
use iotcloud_core::provider::{
    CloudEndpoint, Connection, Credentials, KeepAlive, Limits, MqttOptions, Provider,
    ProviderError, SignContext, TlsChoice, TopicPath, build_host, check_host_len,
};
use iotcloud_core::register::NoRegistration;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{
    Algorithm, Decimal, Secret, TimeUnit, TimestampPolicy, check_identifier, hash,
};
use iotcloud_core::transport::{ClientIdentity, Endpoint};

/// The root Baidu IoT Core's TLS port is served under: GlobalSign Root CA – R3 (shipped with
/// Baidu's SDK samples). See `certs/README.md`.
pub const CA_PEM: &[u8] = include_bytes!("../certs/bundle.pem");

/// The CA certificates [`TlsChoice::CloudDefault`]
/// checks the cloud against: [`CA_PEM`], or none when this crate is built without its
/// `roots` feature (they are then not linked, and the cloud's TLS needs a CA given in the
/// overrides).
pub const DEFAULT_ROOTS: &[u8] = if cfg!(feature = "roots") { CA_PEM } else { &[] };

/// Port for MQTT over plain TCP (key authentication only).
pub const PLAIN_PORT: u16 = 1883;

/// Port for MQTT over TLS (key or certificate authentication).
pub const TLS_PORT: u16 = 1884;

/// Longest topic Baidu accepts, in bytes.
pub const MAX_TOPIC_LEN: usize = 255;

/// Most levels a topic may have.
pub const MAX_TOPIC_LEVELS: usize = 16;

/// Largest payload Baidu accepts by default (32 KB; 128 KB on request).
pub const MAX_PAYLOAD_LEN: usize = 32 * 1024;

/// Longest client id Baidu accepts over MQTT 3.1.1.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// Longest device name (device key) accepted: it is the default client id.
pub const MAX_DEVICE_NAME_LEN: usize = MAX_CLIENT_ID_LEN;

/// Longest IoT Core id accepted: it is a host-name label.
pub const MAX_CORE_ID_LEN: usize = 63;

/// Baidu's regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Region {
    /// Guangzhou, `gz` (default, as for LuatOS and Baidu's SDK).
    #[default]
    Guangzhou,
    /// Beijing, `bj`.
    Beijing,
}

impl Region {
    /// The region's name in the host: `gz` or `bj`.
    pub fn name(self) -> &'static str {
        match self {
            Region::Guangzhou => "gz",
            Region::Beijing => "bj",
        }
    }

    /// Parses `gz` or `bj`.
    pub fn from_name(name: &str) -> Result<Self, ProviderError> {
        match name {
            "gz" => Ok(Region::Guangzhou),
            "bj" => Ok(Region::Beijing),
            _ => Err(ProviderError::InvalidValue {
                key: "region",
                reason: "Baidu IoT Core regions are gz and bj",
            }),
        }
    }
}

/// The hash behind the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignMethod {
    /// MD5 (default, the cloud's and LuatOS's).
    #[default]
    Md5,
    /// SHA-256.
    Sha256,
}

impl SignMethod {
    /// Parses `md5` or `sha256`, any case.
    ///
    /// Refused with [`ProviderError::Unsupported`] when this crate is built without the
    /// method's algorithm (cargo features `md5`, `sha1`, `sha256`).
    pub fn from_name(name: &str) -> Result<Self, ProviderError> {
        let method = Self::parse_name(name)?;
        method.algorithm().enabled()?;
        Ok(method)
    }

    fn parse_name(name: &str) -> Result<Self, ProviderError> {
        if name.eq_ignore_ascii_case("md5") {
            Ok(SignMethod::Md5)
        } else if name.eq_ignore_ascii_case("sha256") {
            Ok(SignMethod::Sha256)
        } else {
            Err(ProviderError::InvalidValue {
                key: "method",
                reason: "Baidu accepts MD5 or SHA256",
            })
        }
    }

    /// The name in the user name and the hashed text: `MD5` or `SHA256`.
    pub fn field(self) -> &'static str {
        match self {
            SignMethod::Md5 => "MD5",
            SignMethod::Sha256 => "SHA256",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            SignMethod::Md5 => Algorithm::Md5,
            SignMethod::Sha256 => Algorithm::Sha256,
        }
    }
}

/// The MQTT client id the device connects with. Baidu wants one unique per connection: a
/// second connection with the same id takes over the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientId<'a> {
    /// The device name (default; what Baidu recommends).
    #[default]
    DeviceName,
    /// The IoT Core id, as LuatOS sends in key mode. Every device of the core then has the
    /// same id, and they disconnect each other.
    CoreId,
    /// An empty client id, as LuatOS sends in certificate mode.
    Empty,
    /// This id: `[0-9A-Za-z_-]`, at most 128 bytes.
    Custom(&'a str),
}

/// Checks a client id against Baidu's rule: `[0-9A-Za-z_-]`, 1 to 128 bytes.
fn check_client_id(key: &'static str, id: &str) -> Result<(), ProviderError> {
    if id.is_empty() {
        return Err(ProviderError::MissingKey(key));
    }
    if id.len() > MAX_CLIENT_ID_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "Baidu client ids are 1 to 128 bytes of [0-9A-Za-z_-]; choose one with \
                     with_client_id",
        });
    }
    Ok(())
}

/// How the device proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth<'a> {
    /// The device secret hashed into the password.
    Key {
        secret: Secret<'a>,
        method: SignMethod,
    },
    /// A client certificate in the TLS handshake; no user name or password.
    Certificate(ClientIdentity<'a>),
}

/// The keep-alive intervals Baidu accepts (30 to 1200 s), and 300 s, the least it
/// recommends, by default.
pub const KEEP_ALIVE: KeepAlive = KeepAlive {
    min: 30,
    max: 1200,
    default: 300,
    reason: "Baidu accepts 30 to 1200 seconds",
};

/// A Baidu IoT Core device: the core, the device's name (device key) and its secret or
/// certificate, and how to reach Baidu. `Debug` never shows the secret or the private key.
#[derive(Debug, Clone)]
pub struct Baidu<'a> {
    core_id: &'a str,
    device_name: &'a str,
    auth: Auth<'a>,
    region: Region,
    client_id: ClientId<'a>,
    timestamp: TimestampPolicy,
    connection: Connection<'a>,
    will: Option<Will<'a>>,
}

iotcloud_core::connection_settings!(Baidu, KEEP_ALIVE);

impl<'a> Baidu<'a> {
    /// A device authenticated by key: the IoT Core id (`product_id`), the device key
    /// (`device_name`) and the device secret, from the device's connection information.
    /// Signs MD5 with the clock's time, connects as the device name, over TLS (port 1884)
    /// checked against [`CA_PEM`].
    pub fn with_secret(
        core_id: &'a str,
        device_name: &'a str,
        device_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        if device_secret.is_empty() {
            return Err(ProviderError::MissingKey("device_secret"));
        }
        Self::build(
            core_id,
            device_name,
            Auth::Key {
                secret: Secret::new(device_secret),
                method: SignMethod::default(),
            },
        )
    }

    /// A device authenticated by its certificate and private key (PEM) in the TLS handshake,
    /// on port 1884. The CONNECT carries the client id only.
    pub fn with_certificate(
        core_id: &'a str,
        device_name: &'a str,
        identity: ClientIdentity<'a>,
    ) -> Result<Self, ProviderError> {
        if identity.cert_pem.is_empty() {
            return Err(ProviderError::MissingKey("client_cert"));
        }
        if identity.key_pem.is_empty() {
            return Err(ProviderError::MissingKey("client_key"));
        }
        Self::build(core_id, device_name, Auth::Certificate(identity))
    }

    fn build(
        core_id: &'a str,
        device_name: &'a str,
        auth: Auth<'a>,
    ) -> Result<Self, ProviderError> {
        check_identifier("product_id", core_id, MAX_CORE_ID_LEN)?;
        if !core_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ProviderError::InvalidValue {
                key: "product_id",
                reason: "an IoT Core id is letters, digits and `-` (it is part of the host name)",
            });
        }
        check_identifier("device_name", device_name, MAX_DEVICE_NAME_LEN)?;
        if device_name.contains('|') {
            return Err(ProviderError::InvalidValue {
                key: "device_name",
                reason: "contains `|`, which separates the user name's fields",
            });
        }
        let region = Region::default();
        check_host_len("product_id", &Self::host_parts(core_id, region))?;
        Ok(Baidu {
            core_id,
            device_name,
            auth,
            region,
            client_id: ClientId::default(),
            timestamp: TimestampPolicy::default(),
            connection: Connection::new(KEEP_ALIVE),
            will: None,
        })
    }

    /// The pieces of the MQTT host: `{core_id}.iot.{region}.baidubce.com`.
    fn host_parts(core_id: &str, region: Region) -> [&str; 4] {
        [core_id, ".iot.", region.name(), ".baidubce.com"]
    }

    /// The region of the IoT Core.
    pub fn with_region(mut self, region: Region) -> Result<Self, ProviderError> {
        check_host_len("product_id", &Self::host_parts(self.core_id, region))?;
        self.region = region;
        Ok(self)
    }

    /// The hash to sign with (key authentication; ignored with a certificate).
    pub fn with_sign_method(mut self, method: SignMethod) -> Self {
        if let Auth::Key { method: m, .. } = &mut self.auth {
            *m = method;
        }
        self
    }

    /// The timestamp in the user name (key authentication). `Auto` (default) sends the
    /// clock's time, which Baidu accepts within 10 minutes of its own, and none while the
    /// device does not know the time (Baidu makes it optional); `Now` sends the clock's
    /// time and fails with [`ProviderError::TimeUnknown`] without it; `LuatosDefault` and
    /// `Fixed(0)` send none and hash the placeholder `0`, as LuatOS does; `Fixed(ts)` sends
    /// `ts`.
    pub fn with_timestamp(mut self, policy: TimestampPolicy) -> Self {
        self.timestamp = policy;
        self
    }

    /// The client id to connect with.
    pub fn with_client_id(mut self, client_id: ClientId<'a>) -> Result<Self, ProviderError> {
        if let ClientId::Custom(id) = client_id {
            check_client_id("client_id", id)?;
        }
        self.client_id = client_id;
        Ok(self)
    }

    /// A will message Baidu publishes on `topic` if the device vanishes. Not retained:
    /// Baidu offers retained messages by invitation only.
    pub fn with_will(
        mut self,
        topic: &'a str,
        payload: &'a [u8],
        qos: QoS,
    ) -> Result<Self, ProviderError> {
        let name = TopicName::new(topic).map_err(|_| ProviderError::InvalidValue {
            key: "will_topic",
            reason: "not a valid MQTT topic name",
        })?;
        if topic.len() > MAX_TOPIC_LEN || topic.split('/').count() > MAX_TOPIC_LEVELS {
            return Err(ProviderError::InvalidValue {
                key: "will_topic",
                reason: "Baidu topics are at most 255 bytes and 16 levels",
            });
        }
        if qos == QoS::ExactlyOnce {
            return Err(ProviderError::InvalidValue {
                key: "will_qos",
                reason: "Baidu accepts QoS 0 or 1",
            });
        }
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(ProviderError::InvalidValue {
                key: "will_payload",
                reason: "Baidu accepts payloads of at most 32 KB",
            });
        }
        self.will = Some(Will {
            topic: name,
            payload,
            qos,
            retain: false,
        });
        Ok(self)
    }

    /// The IoT Core id.
    pub fn core_id(&self) -> &'a str {
        self.core_id
    }

    /// The device name (device key).
    pub fn device_name(&self) -> &'a str {
        self.device_name
    }

    /// `$iot/{device}/{suffix}`, for any of the device's topics.
    pub fn topic(&self, suffix: &'a str) -> TopicPath<'a> {
        TopicPath::new(["$iot/", self.device_name, "/", suffix, "", ""])
    }

    /// `$iot/{device}/user/{suffix}`, the conventional place for the device's own topics.
    pub fn user_topic(&self, suffix: &'a str) -> TopicPath<'a> {
        TopicPath::new(["$iot/", self.device_name, "/user/", suffix, "", ""])
    }

    /// ↑ `$iot/{device}/events`, the default template's topic from device to cloud.
    pub fn events(&self) -> TopicPath<'a> {
        self.topic("events")
    }

    /// ↓ `$iot/{device}/msg`, the default template's topic from cloud to device.
    pub fn msg(&self) -> TopicPath<'a> {
        self.topic("msg")
    }

    /// ↑ Ask for the shadow: `$iot/{device}/shadow/get`.
    pub fn shadow_get(&self) -> TopicPath<'a> {
        self.topic("shadow/get")
    }

    /// ↓ The shadow: `$iot/{device}/shadow/get/reply`.
    pub fn shadow_get_reply(&self) -> TopicPath<'a> {
        self.topic("shadow/get/reply")
    }

    /// ↑ Report state: `$iot/{device}/shadow/update/reported`.
    pub fn shadow_update_reported(&self) -> TopicPath<'a> {
        self.topic("shadow/update/reported")
    }

    /// ↓ Reply to a report: `$iot/{device}/shadow/update/reported/reply`.
    pub fn shadow_update_reported_reply(&self) -> TopicPath<'a> {
        self.topic("shadow/update/reported/reply")
    }

    /// ↑ Set desired state: `$iot/{device}/shadow/update/desired`.
    pub fn shadow_update_desired(&self) -> TopicPath<'a> {
        self.topic("shadow/update/desired")
    }

    /// ↓ Reply to a desired update: `$iot/{device}/shadow/update/desired/reply`.
    pub fn shadow_update_desired_reply(&self) -> TopicPath<'a> {
        self.topic("shadow/update/desired/reply")
    }

    /// ↓ Desired state changed: `$iot/{device}/shadow/delta/desired`.
    pub fn shadow_delta_desired(&self) -> TopicPath<'a> {
        self.topic("shadow/delta/desired")
    }

    /// ↓ Reported state changed: `$iot/{device}/shadow/delta/reported`.
    pub fn shadow_delta_reported(&self) -> TopicPath<'a> {
        self.topic("shadow/delta/reported")
    }

    fn client_id_text(&self) -> Result<&'a str, ProviderError> {
        Ok(match self.client_id {
            ClientId::DeviceName => {
                check_client_id("client_id", self.device_name)?;
                self.device_name
            }
            ClientId::CoreId => self.core_id,
            ClientId::Empty => "",
            ClientId::Custom(id) => id,
        })
    }
}

/// Why Baidu has no OTA here ([`Provider::ota`]).
pub const OTA_UNSUPPORTED: &str = "Baidu IoT Core defines no device OTA topics or messages \
    (Baidu's firmware updates belonged to other products); deliver firmware by your own means";

/// Why Baidu has no data model here ([`Provider::data`]).
pub const DATA_UNSUPPORTED: &str = "Baidu IoT Core has no thing model on the device \
    side (no property sets, commands or time service); its device shadow is reached with \
    plain publish and subscribe on `$iot/{device}/shadow/…`";

impl Provider for Baidu<'_> {
    type Registration = NoRegistration;
    type Ota = NoOta;
    type Data = iotcloud_core::data::NoData;

    fn cloud(&self) -> &'static str {
        "baidu"
    }

    /// Unsupported: see [`OTA_UNSUPPORTED`].
    fn ota(&self) -> Result<&NoOta, &'static str> {
        Err(OTA_UNSUPPORTED)
    }

    /// Unsupported: see [`DATA_UNSUPPORTED`].
    fn data(&self) -> Result<&iotcloud_core::data::NoData, &'static str> {
        Err(DATA_UNSUPPORTED)
    }

    /// `{core}.iot.{region}.baidubce.com`, port 1884 with TLS (default) or 1883 plain (key
    /// authentication only). Port 443 (MQTT over WebSocket) is not supported. With a
    /// certificate, TLS cannot be turned off ([`Baidu::with_tls`]), and the certificate is
    /// the TLS client identity unless the overrides give another.
    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let mut overrides = self.connection.overrides;
        let host = match overrides.host {
            Some(host) => host,
            None => build_host(
                "product_id",
                &Self::host_parts(self.core_id, self.region),
                scratch,
            )?,
        };
        let plain_port = match self.auth {
            Auth::Key { .. } => Some(PLAIN_PORT),
            Auth::Certificate(identity) => {
                if overrides.tls == TlsChoice::Off {
                    return Err(ProviderError::InvalidValue {
                        key: "tls",
                        reason: "certificate authentication needs TLS",
                    });
                }
                overrides.client = overrides.client.or(Some(identity));
                None
            }
        };
        overrides.resolve(CloudEndpoint {
            host,
            tls_port: Some(TLS_PORT),
            plain_port,
            ca_pem: DEFAULT_ROOTS,
        })
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.connection.mqtt_options()
    }

    fn will(&self) -> Option<Will<'_>> {
        self.will
    }

    fn limits(&self) -> Limits {
        Limits {
            max_qos: QoS::AtLeastOnce,
            max_topic_len: MAX_TOPIC_LEN,
            max_payload_len: MAX_PAYLOAD_LEN,
            ..Limits::MQTT
        }
    }

    /// Key: user name `thingidp@{core}|{dn}|{ts}|{M}` (or `thingidp@{core}|{dn}|{M}` without
    /// a timestamp) and password hex `M("{dn}&{ts or 0}&{M}{secret}")`. Certificate: the
    /// client id only.
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let client_id = scratch.copy(self.client_id_text()?)?;
        let (secret, method) = match self.auth {
            Auth::Key { secret, method } => (secret, method),
            Auth::Certificate(_) => {
                return Ok(Credentials {
                    client_id,
                    username: None,
                    password: None,
                });
            }
        };
        // 0 means "no timestamp": what LuatOS sends, and the cloud's placeholder; it is
        // also `Auto`'s clockless form.
        let ts = self
            .timestamp
            .resolve_or_clockless(ctx, TimeUnit::Seconds, 0, 0)?
            .unwrap_or(0);
        let (core, dn, m) = (self.core_id, self.device_name, method.field());
        let username = if ts == 0 {
            scratch.format(format_args!("thingidp@{core}|{dn}|{m}"))?
        } else {
            scratch.format(format_args!("thingidp@{core}|{dn}|{ts}|{m}"))?
        };
        let ts_text = Decimal::new(ts);
        let digest = hash(
            method.algorithm(),
            &[
                dn.as_bytes(),
                b"&",
                ts_text.as_bytes(),
                b"&",
                m.as_bytes(),
                secret.expose().as_bytes(),
            ],
        )?;
        let password = scratch.format(format_args!("{}", digest.hex()))?;
        Ok(Credentials {
            client_id,
            username: Some(username),
            password: Some(password),
        })
    }
}

#[cfg(test)]
mod tests;
