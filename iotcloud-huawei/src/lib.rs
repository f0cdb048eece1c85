#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

mod data;
mod hour_stamp;
mod ota;
#[cfg(feature = "registration")]
mod register;

use core::fmt;

use iotcloud_core::mqtt::{QoS, SubscribeTopic};
#[cfg(not(feature = "ota"))]
use iotcloud_core::ota::NoOta;
use iotcloud_core::provider::{
    CloudEndpoint, Connection, Credentials, KeepAlive, Limits, MqttOptions, Provider,
    ProviderError, SignContext, TlsChoice, TopicPath, build_host, check_host_len, subscription,
};
#[cfg(not(feature = "registration"))]
use iotcloud_core::register::NoRegistration;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Algorithm, Secret, TimeUnit, TimestampPolicy, check_identifier, hmac};
use iotcloud_core::transport::{ClientIdentity, Endpoint};

pub use data::{EVENTS_UNSUPPORTED, SUCCESS_CODE, TIME_SERVICE};
pub use hour_stamp::HourStamp;
pub use ota::{OTA_SERVICE, ota_result_code};
#[cfg(feature = "registration")]
pub use register::IamAccount;

/// The roots IoTDA's device-access endpoints are served under: GlobalSign Root CA R3, R46,
/// R6 and DigiCert Global Root CA (the list Huawei publishes; which one signs a given
/// instance varies). See `certs/README.md`.
pub const CA_PEM: &[u8] = include_bytes!("../certs/bundle.pem");

/// The CA certificates [`TlsChoice::CloudDefault`]
/// checks the cloud against: [`CA_PEM`], or none when this crate is built without its
/// `roots` feature (they are then not linked, and the cloud's TLS needs a CA given in the
/// overrides).
pub const DEFAULT_ROOTS: &[u8] = if cfg!(feature = "roots") { CA_PEM } else { &[] };

/// The timestamp LuatOS signs with when it has none (2999-01-01 00:00 UTC+8), in seconds.
pub const LUATOS_TIMESTAMP: u64 = 32_472_115_200;

/// The UTC offset LuatOS's hour is in, in seconds: it formats with `localtime`, and its
/// modules keep Beijing time (UTC+8).
pub const LUATOS_UTC_OFFSET_SECS: i32 = 8 * 3600;

/// The hour LuatOS puts in the client id by default: [`LUATOS_TIMESTAMP`] in UTC+8.
pub const LUATOS_HOUR: &str = "2999010100";

/// MQTT over TLS.
pub const TLS_PORT: u16 = 8883;

/// Plain MQTT.
pub const PLAIN_PORT: u16 = 1883;

/// The region LuatOS and Huawei's examples default to (Beijing 4).
pub const DEFAULT_REGION: &str = "cn-north-4";

/// Longest device id accepted (IoTDA's device-creation API allows 128 characters).
pub const MAX_DEVICE_ID_LEN: usize = 128;

/// Longest product id accepted (IoTDA product ids are at most 36 characters).
pub const MAX_PRODUCT_ID_LEN: usize = 36;

/// Longest node id (`device_name`) accepted (IoTDA allows 64 characters).
pub const MAX_NODE_ID_LEN: usize = 64;

/// Longest custom topic IoTDA accepts, in bytes. The [`Provider::limits`] of [`Huawei`]
/// applies it after the `$oc/devices/{id}/` prefix.
pub const MAX_CUSTOM_TOPIC_LEN: usize = 128;

/// Largest message IoTDA accepts: 1 MB.
pub const MAX_PAYLOAD_LEN: usize = 1024 * 1024;

/// Most subscriptions IoTDA keeps on one connection. The crate takes one by default (the
/// system downlinks at QoS 1, [`Huawei::with_sys_subscription`]), leaving 49 to the
/// application.
pub const MAX_SUBSCRIPTIONS: usize = 50;

/// Keep-alive Huawei recommends (and its SDK uses), in seconds.
pub const DEFAULT_KEEP_ALIVE_SECS: u16 = 120;

/// The keep-alive intervals IoTDA accepts (30 to 1200 s), and 120 s, what Huawei recommends
/// and its SDK uses, by default.
pub const KEEP_ALIVE: KeepAlive = KeepAlive {
    min: 30,
    max: 1200,
    default: DEFAULT_KEEP_ALIVE_SECS,
    reason: "IoTDA accepts 30 to 1200 seconds",
};

/// Longest service id accepted ([`Huawei::with_service_id`]; IoTDA allows 64 characters).
pub const MAX_SERVICE_ID_LEN: usize = 64;

/// Longest device secret accepted from the cloud by registration, in bytes (IoTDA's are 8
/// to 32).
pub const MAX_SECRET_LEN: usize = 64;

const TOPIC_PREFIX: &str = "$oc/devices/";

/// A device id: given as registered, or formed as `{product_id}_{node_id}` the way IoTDA
/// forms it when a device is created without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceId<'a>([&'a str; 3]);

impl<'a> DeviceId<'a> {
    /// The device id as the console or the device-creation API returned it (`device_id`).
    pub fn new(device_id: &'a str) -> Result<Self, ProviderError> {
        check_identifier("device_id", device_id, MAX_DEVICE_ID_LEN)?;
        Ok(DeviceId([device_id, "", ""]))
    }

    /// `{product_id}_{device_name}`: the id IoTDA gives a device created with this product
    /// id and node id (`device_name`, e.g. the IMEI) and no explicit device id.
    pub fn from_node(product_id: &'a str, device_name: &'a str) -> Result<Self, ProviderError> {
        check_identifier("product_id", product_id, MAX_PRODUCT_ID_LEN)?;
        check_identifier("device_name", device_name, MAX_NODE_ID_LEN)?;
        Ok(DeviceId([product_id, "_", device_name]))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.iter().map(|p| p.len()).sum()
    }

    /// Never true: a device id is checked to be non-empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for DeviceId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|p| f.write_str(p))
    }
}

/// The client id's "password signature type": whether the platform checks the hour in the
/// client id against its own clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    /// `0`: the hour is not checked; any self-consistent hour logs in (what LuatOS sends).
    Unchecked,
    /// `1`: the hour must match the platform's clock (UTC).
    Checked,
}

impl SignType {
    fn digit(self) -> &'static str {
        match self {
            SignType::Unchecked => "0",
            SignType::Checked => "1",
        }
    }
}

/// How the device proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth<'a> {
    /// The device secret keys the password.
    Secret(Secret<'a>),
    /// An X.509 client certificate in the TLS handshake; no password.
    Certificate(ClientIdentity<'a>),
    /// The device id and secret dynamic registration obtained (the registration record).
    #[cfg(feature = "registration")]
    Registered,
}

/// An IoTDA device: its id, its secret or certificate, and how to reach its instance. Each
/// constructor is one authentication mode and checks its input; `Debug` never shows a
/// secret.
#[derive(Debug, Clone)]
pub struct Huawei<'a> {
    device_id: DeviceId<'a>,
    auth: Auth<'a>,
    region: &'a str,
    endpoint: Option<&'a str>,
    timestamp: TimestampPolicy,
    sign_type: Option<SignType>,
    utc_offset_secs: i32,
    connection: Connection<'a>,
    sys_subscription: bool,
    service_id: Option<&'a str>,
    #[cfg(feature = "registration")]
    enrol: Option<register::Enrol<'a>>,
}

iotcloud_core::connection_settings!(Huawei, KEEP_ALIVE);

impl<'a> Huawei<'a> {
    /// A device that logs in with its secret (`device_secret`), over TLS checked against
    /// [`CA_PEM`], signing with the clock's hour in UTC. Give the instance with
    /// [`with_endpoint`](Self::with_endpoint) (or a host override).
    pub fn with_secret(
        device_id: DeviceId<'a>,
        device_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        if device_secret.is_empty() {
            return Err(ProviderError::MissingKey("device_secret"));
        }
        Ok(Self::from_auth(
            device_id,
            Auth::Secret(Secret::new(device_secret)),
        ))
    }

    /// A device that logs in with an X.509 certificate (issued under a device CA uploaded
    /// to the console) and its private key, both PEM. TLS is then required; there is no
    /// password.
    pub fn with_certificate(
        device_id: DeviceId<'a>,
        identity: ClientIdentity<'a>,
    ) -> Result<Self, ProviderError> {
        if identity.cert_pem.is_empty() {
            return Err(ProviderError::MissingKey("client_cert"));
        }
        if identity.key_pem.is_empty() {
            return Err(ProviderError::MissingKey("client_key"));
        }
        Ok(Self::from_auth(device_id, Auth::Certificate(identity)))
    }

    fn from_auth(device_id: DeviceId<'a>, auth: Auth<'a>) -> Self {
        Huawei {
            device_id,
            auth,
            region: DEFAULT_REGION,
            endpoint: None,
            timestamp: TimestampPolicy::default(),
            sign_type: None,
            utc_offset_secs: 0,
            connection: Connection::new(KEEP_ALIVE),
            sys_subscription: true,
            service_id: None,
            #[cfg(feature = "registration")]
            enrol: None,
        }
    }

    /// Whether this configuration logs in with what dynamic registration obtained.
    fn registers(&self) -> bool {
        #[cfg(feature = "registration")]
        {
            matches!(self.auth, Auth::Registered)
        }
        #[cfg(not(feature = "registration"))]
        {
            false
        }
    }

    /// The device id a registration record holds: what the cloud returned, which the
    /// device logs in with. Build topics for it with
    /// `Huawei::with_secret(DeviceId::new(id)?, …)` if it differs from
    /// `{product_id}_{node_id}`.
    pub fn registered_device_id(record: &[u8]) -> Option<&str> {
        iotcloud_core::register::field(record, "device_id")
    }

    /// The instance's access prefix (`endpoint`): everything before `.iotda-device.` in the
    /// device-access host the console shows, e.g. `5341624af8.st1` for
    /// `5341624af8.st1.iotda-device.cn-north-4.myhuaweicloud.com`.
    pub fn with_endpoint(mut self, endpoint: &'a str) -> Result<Self, ProviderError> {
        check_host_label("endpoint", endpoint)?;
        if endpoint.contains("iotda-device") || endpoint.contains("myhuaweicloud") {
            return Err(ProviderError::InvalidValue {
                key: "endpoint",
                reason: "is a whole host name: give only the part before `.iotda-device.` \
                         (e.g. `5341624af8.st1`), or the whole host as the host override",
            });
        }
        check_host_len("endpoint", &self.host_parts(endpoint))?;
        self.endpoint = Some(endpoint);
        Ok(self)
    }

    /// The region of the instance (`region`, default `cn-north-4`).
    pub fn with_region(mut self, region: &'a str) -> Result<Self, ProviderError> {
        check_host_label("region", region)?;
        self.region = region;
        if let Some(endpoint) = self.endpoint {
            check_host_len("region", &self.host_parts(endpoint))?;
        }
        Ok(self)
    }

    /// The pieces of the device-access host:
    /// `{endpoint}.iotda-device.{region}.myhuaweicloud.com`.
    fn host_parts<'h>(&'h self, endpoint: &'h str) -> [&'h str; 4] {
        [
            endpoint,
            ".iotda-device.",
            self.region,
            ".myhuaweicloud.com",
        ]
    }

    /// The time to sign with. [`TimestampPolicy::Auto`] (default) signs the clock's hour
    /// with sign type 1 while the device knows the time, and without a clock [`LUATOS_HOUR`]
    /// with sign type 0, the form IoTDA documents as not checking the timestamp (it
    /// recomputes the password from the hour in the client id, so any self-consistent hour
    /// is accepted). That hour is byte for byte what LuatOS sends
    /// on every login. [`TimestampPolicy::Now`] signs the clock's hour with sign type 1 and
    /// fails with [`ProviderError::TimeUnknown`] without it;
    /// [`TimestampPolicy::LuatosDefault`] signs [`LUATOS_HOUR`] with sign type 0;
    /// [`TimestampPolicy::Fixed`] takes Unix seconds and signs their hour with sign type 0.
    pub fn with_timestamp(mut self, policy: TimestampPolicy) -> Self {
        self.timestamp = policy;
        self
    }

    /// Overrides the sign type the timestamp policy implies. Sign type 1 ([`SignType::Checked`])
    /// needs the clock: with it, signing without a known time fails with
    /// [`ProviderError::TimeUnknown`] under every policy but `LuatosDefault` and `Fixed`.
    pub fn with_sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = Some(sign_type);
        self
    }

    /// Formats the hour at this offset from UTC instead of in UTC, as LuatOS does with its
    /// module's local time (`LUATOS_UTC_OFFSET_SECS` on Beijing time). The cloud checks
    /// sign type 1 against UTC, so any other offset is only for sign type 0 or for
    /// reproducing LuatOS's output. Offsets beyond ±14 h are refused.
    pub fn with_utc_offset(mut self, secs: i32) -> Result<Self, ProviderError> {
        if !(-14 * 3600..=14 * 3600).contains(&secs) {
            return Err(ProviderError::InvalidValue {
                key: "utc_offset",
                reason: "time zones lie within ±14 hours of UTC",
            });
        }
        self.utc_offset_secs = secs;
        Ok(self)
    }

    /// Whether to subscribe to `$oc/devices/{id}/sys/#` at QoS 1 on connect (default: yes).
    /// IoTDA delivers its system downlinks (messages, commands, property set/get, events)
    /// without a subscription, but only at QoS 0: lost on a flaky link. Subscribed at QoS 1,
    /// they are redelivered until acknowledged, which is why Huawei's device SDK demos
    /// subscribe them all at QoS 1 after connecting (`SubscribeAllQos(1)`). It uses one of
    /// the connection's 50 subscriptions; `false` leaves the QoS 0 delivery alone.
    pub fn with_sys_subscription(mut self, on: bool) -> Self {
        self.sys_subscription = on;
        self
    }

    /// The service (of the product model) the data model's property reports go to, whose
    /// values a property set or the shadow is read from (`service_id`, e.g. `Temperature`).
    /// Without it a report is refused with `DataError::MissingKey("service_id")`, a set is
    /// read from its first service and the desired values from the first shadow.
    pub fn with_service_id(mut self, service_id: &'a str) -> Result<Self, ProviderError> {
        check_identifier("service_id", service_id, MAX_SERVICE_ID_LEN)?;
        self.service_id = Some(service_id);
        Ok(self)
    }

    /// The service given to [`with_service_id`](Self::with_service_id).
    pub fn service_id(&self) -> Option<&'a str> {
        self.service_id
    }

    /// The device id.
    pub fn device_id(&self) -> DeviceId<'a> {
        self.device_id
    }

    fn path(&self, middle: &'a str, tail: &'a str) -> TopicPath<'a> {
        let [a, b, c] = self.device_id.0;
        TopicPath::new([TOPIC_PREFIX, a, b, c, middle, tail])
    }

    /// `$oc/devices/{id}/{suffix}`, for any IoTDA topic.
    pub fn topic(&self, suffix: &'a str) -> TopicPath<'a> {
        self.path("/", suffix)
    }

    /// `$oc/devices/{id}/user/{suffix}`: a custom topic defined in the product (at most
    /// [`MAX_CUSTOM_TOPIC_LEN`] bytes).
    pub fn user_topic(&self, suffix: &'a str) -> TopicPath<'a> {
        self.path("/user/", suffix)
    }

    /// ↑ Property report: `$oc/devices/{id}/sys/properties/report`.
    pub fn properties_report(&self) -> TopicPath<'a> {
        self.path("/sys/properties/report", "")
    }

    /// ↑ Response to a property set: `…/sys/properties/set/response/request_id={rid}`.
    pub fn properties_set_response(&self, request_id: &'a str) -> TopicPath<'a> {
        self.path("/sys/properties/set/response/request_id=", request_id)
    }

    /// ↑ Response to a property query: `…/sys/properties/get/response/request_id={rid}`.
    pub fn properties_get_response(&self, request_id: &'a str) -> TopicPath<'a> {
        self.path("/sys/properties/get/response/request_id=", request_id)
    }

    /// ↑ Message to the platform: `$oc/devices/{id}/sys/messages/up`.
    pub fn messages_up(&self) -> TopicPath<'a> {
        self.path("/sys/messages/up", "")
    }

    /// ↓ Message from the platform: `$oc/devices/{id}/sys/messages/down`.
    pub fn messages_down(&self) -> TopicPath<'a> {
        self.path("/sys/messages/down", "")
    }

    /// ↓ Commands, as a filter: `$oc/devices/{id}/sys/commands/#`. Each command arrives on
    /// `…/sys/commands/request_id={rid}`; see [`request_id`].
    pub fn commands_filter(&self) -> TopicPath<'a> {
        self.path("/sys/commands/#", "")
    }

    /// ↑ Response to a command: `…/sys/commands/response/request_id={rid}`.
    pub fn command_response(&self, request_id: &'a str) -> TopicPath<'a> {
        self.path("/sys/commands/response/request_id=", request_id)
    }

    /// ↑ Events (OTA, time sync, sub-devices …): `$oc/devices/{id}/sys/events/up`.
    pub fn events_up(&self) -> TopicPath<'a> {
        self.path("/sys/events/up", "")
    }

    /// ↓ Events from the platform: `$oc/devices/{id}/sys/events/down`.
    pub fn events_down(&self) -> TopicPath<'a> {
        self.path("/sys/events/down", "")
    }

    /// Every system downlink, as a filter: `$oc/devices/{id}/sys/#`.
    pub fn sys_filter(&self) -> TopicPath<'a> {
        self.path("/sys/#", "")
    }

    fn sign_time(&self, ctx: &SignContext) -> Result<(HourStamp, SignType), ProviderError> {
        if self.timestamp.is_clockless(ctx) {
            // The clockless form: LuatOS's hour, unchecked. A checked sign type chosen
            // explicitly cannot be honoured without the time.
            if self.sign_type == Some(SignType::Checked) {
                return Err(ProviderError::TimeUnknown);
            }
            let hour = HourStamp::from_unix(LUATOS_TIMESTAMP, LUATOS_UTC_OFFSET_SECS)?;
            return Ok((hour, self.sign_type.unwrap_or(SignType::Unchecked)));
        }
        let secs = self
            .timestamp
            .resolve(ctx, TimeUnit::Seconds, 0, LUATOS_TIMESTAMP)?;
        let (offset, implied) = match self.timestamp {
            TimestampPolicy::Auto | TimestampPolicy::Now => {
                (self.utc_offset_secs, SignType::Checked)
            }
            TimestampPolicy::LuatosDefault => (LUATOS_UTC_OFFSET_SECS, SignType::Unchecked),
            TimestampPolicy::Fixed(_) => (self.utc_offset_secs, SignType::Unchecked),
        };
        let hour = HourStamp::from_unix(secs, offset)?;
        Ok((hour, self.sign_type.unwrap_or(implied)))
    }
}

/// The request id at the end of a downlink topic (`…/request_id={rid}`), to answer on the
/// matching response topic; `None` if the topic carries none.
pub fn request_id(topic: &str) -> Option<&str> {
    let (_, rid) = topic.rsplit_once("/request_id=")?;
    (!rid.is_empty() && !rid.contains('/')).then_some(rid)
}

/// A host-name fragment: not empty, letters, digits, `-` and inner dots only.
fn check_host_label(key: &'static str, value: &str) -> Result<(), ProviderError> {
    if value.is_empty() {
        return Err(ProviderError::MissingKey(key));
    }
    let allowed = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !allowed || value.starts_with('.') || value.ends_with('.') || value.contains("..") {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "is not part of a host name (letters, digits, `-`, inner `.`)",
        });
    }
    Ok(())
}

impl Provider for Huawei<'_> {
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
        "huawei"
    }

    /// `{endpoint}.iotda-device.{region}.myhuaweicloud.com`, TLS on 8883 by default, plain
    /// MQTT on 1883 when TLS is turned off. A host override stands in for `endpoint` and
    /// `region`. Certificate mode puts the client certificate in the TLS settings and
    /// refuses plain TCP.
    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let host = match (self.connection.overrides.host, self.endpoint) {
            (Some(host), _) => host,
            (None, Some(endpoint)) => build_host("endpoint", &self.host_parts(endpoint), scratch)?,
            (None, None) => return Err(ProviderError::MissingKey("endpoint")),
        };
        let mut connection = self.connection;
        if let Auth::Certificate(identity) = self.auth {
            if connection.overrides.tls == TlsChoice::Off {
                return Err(ProviderError::InvalidValue {
                    key: "tls",
                    reason: "certificate authentication needs TLS",
                });
            }
            connection.overrides.client = Some(identity);
        }
        connection.resolve(CloudEndpoint {
            host,
            tls_port: Some(TLS_PORT),
            plain_port: Some(PLAIN_PORT),
            ca_pem: DEFAULT_ROOTS,
        })
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.connection.mqtt_options()
    }

    /// QoS 0 and 1, messages up to 1 MB. IoTDA limits custom topics to 128 bytes; system
    /// topics carry the device id and request ids and may be longer, so the limit applied
    /// is 128 bytes after `$oc/devices/{id}/` (and never less than 128).
    fn limits(&self) -> Limits {
        // A registered device's id comes from the cloud and may be longer than the one the
        // topics are built for.
        let id_len = if self.registers() {
            MAX_DEVICE_ID_LEN.max(self.device_id.len())
        } else {
            self.device_id.len()
        };
        Limits {
            max_qos: QoS::AtLeastOnce,
            max_topic_len: TOPIC_PREFIX.len() + id_len + 1 + MAX_CUSTOM_TOPIC_LEN,
            max_payload_len: MAX_PAYLOAD_LEN,
            ..Limits::MQTT
        }
    }

    /// `{device_id}_0_{sign type}_{YYYYMMDDHH}`, `{device_id}` and, with a secret, the hex
    /// HMAC-SHA256 of the secret keyed by the ten hour digits.
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let (id, secret) = match self.auth {
            Auth::Secret(secret) => (self.device_id, Some(secret.expose())),
            Auth::Certificate(_) => (self.device_id, None),
            #[cfg(feature = "registration")]
            Auth::Registered => {
                let (id, secret) = register::recorded(ctx.registered)?;
                (id, Some(secret))
            }
        };
        let (hour, sign_type) = self.sign_time(ctx)?;
        let client_id = scratch.format(format_args!("{id}_0_{}_{hour}", sign_type.digit()))?;
        let username = scratch.format(format_args!("{id}"))?;
        let password = match secret {
            Some(secret) => {
                let mac = hmac(Algorithm::Sha256, &hour.digits(), &[secret.as_bytes()])?;
                Some(scratch.format(format_args!("{}", mac.hex()))?)
            }
            None => None,
        };
        Ok(Credentials {
            client_id,
            username: Some(username),
            password,
        })
    }

    /// `$oc/devices/{id}/sys/#` at QoS 1 unless turned off
    /// ([`Huawei::with_sys_subscription`]). OTA adds none: `sys/events/down` is under it.
    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 || !self.sys_subscription {
            return Ok(None);
        }
        let filter = self.sys_filter();
        Ok(Some(subscription(
            scratch,
            "device_id",
            filter,
            QoS::AtLeastOnce,
        )?))
    }

    /// A configuration from [`Huawei::registering_with_iam`] registers as `{product_id}` /
    /// `{node_id}`: an IAM token, then the device.
    #[cfg(feature = "registration")]
    fn registration(&self) -> Option<&Self> {
        self.enrol.is_some().then_some(self)
    }

    /// Supported, over the event topics (see the [`OtaFormat`](iotcloud_core::ota::OtaFormat)
    /// implementation).
    #[cfg(feature = "ota")]
    fn ota(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }

    /// IoTDA has OTA over MQTT, but this crate was built without its `ota` feature.
    #[cfg(not(feature = "ota"))]
    fn ota(&self) -> Result<&NoOta, &'static str> {
        Err("OTA (iotcloud-huawei built without its `ota` feature)")
    }

    /// IoTDA's services: properties, commands, the device shadow and time sync (see the
    /// [`DataFormat`](iotcloud_core::data::DataFormat) implementation).
    fn data(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
