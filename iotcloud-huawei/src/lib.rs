#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

mod hour_stamp;
mod ota;
mod register;

use core::fmt;

use iotcloud_core::clock::Clock;
use iotcloud_core::http::Url;
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::ota::{Notice, OtaContext, OtaJob, OtaStatus, OtaSupport};
use iotcloud_core::provider::{
    CloudEndpoint, Credentials, EndpointOverrides, Limits, MqttOptions, Provider, ProviderError,
    Publication, SignContext, TlsChoice, TopicPath, build_host, check_host_len, check_keep_alive,
    subscription,
};
use iotcloud_core::register::{RegisterError, RegisterIo, RegistrationId};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Algorithm, Secret, TimeUnit, TimestampPolicy, check_identifier, hmac};
use iotcloud_core::transport::{ClientIdentity, Endpoint, ServerAuth, Transport};

pub use hour_stamp::HourStamp;
pub use ota::{OTA_SERVICE, ota_result_code};
pub use register::{IamAccount, MAX_SECRET_LEN};

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

/// Most subscriptions IoTDA keeps on one connection. The crate subscribes none of its own
/// by default, so all 50 are the application's.
pub const MAX_SUBSCRIPTIONS: usize = 50;

/// Keep-alive Huawei recommends (and its SDK uses), in seconds.
pub const DEFAULT_KEEP_ALIVE_SECS: u16 = 120;

const TOPIC_PREFIX: &str = "$oc/devices/";

const NOT_REGISTERING: ProviderError = ProviderError::Unsupported(
    "registration settings on a configuration that does not register (use register_with_iam)",
);

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
    Registered,
}

/// An IoTDA device: its id, its secret or certificate, and how to reach its instance.
#[derive(Clone)]
pub struct Huawei<'a> {
    device_id: DeviceId<'a>,
    auth: Auth<'a>,
    region: &'a str,
    endpoint: Option<&'a str>,
    timestamp: TimestampPolicy,
    sign_type: Option<SignType>,
    utc_offset_secs: i32,
    overrides: EndpointOverrides<'a>,
    keep_alive_secs: u16,
    sys_subscription: bool,
    enrol: Option<register::Enrol<'a>>,
}

impl fmt::Debug for Huawei<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Huawei")
            .field("device_id", &format_args!("{}", self.device_id))
            .field("auth", &self.auth)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("timestamp", &self.timestamp)
            .field("sign_type", &self.sign_type)
            .field("utc_offset_secs", &self.utc_offset_secs)
            .field("overrides", &self.overrides)
            .field("registration", &self.enrol)
            .finish_non_exhaustive()
    }
}

impl<'a> Huawei<'a> {
    /// A device that logs in with its secret (`device_secret`), over TLS checked against
    /// [`CA_PEM`], signing with the clock's hour in UTC. Give the instance with
    /// [`with_endpoint`](Self::with_endpoint) (or a host override).
    pub fn new(device_id: DeviceId<'a>, device_secret: &'a str) -> Result<Self, ProviderError> {
        if device_secret.is_empty() {
            return Err(ProviderError::MissingKey("device_secret"));
        }
        Ok(Self::with_auth(
            device_id,
            Auth::Secret(Secret::new(device_secret)),
        ))
    }

    /// A device that logs in with an X.509 certificate (issued under a device CA uploaded
    /// to the console) and its private key, both PEM. TLS is then required; there is no
    /// password.
    pub fn certificate(
        device_id: DeviceId<'a>,
        identity: ClientIdentity<'a>,
    ) -> Result<Self, ProviderError> {
        if identity.cert_pem.is_empty() {
            return Err(ProviderError::MissingKey("client_cert"));
        }
        if identity.key_pem.is_empty() {
            return Err(ProviderError::MissingKey("client_key"));
        }
        Ok(Self::with_auth(device_id, Auth::Certificate(identity)))
    }

    fn with_auth(device_id: DeviceId<'a>, auth: Auth<'a>) -> Self {
        Huawei {
            device_id,
            auth,
            region: DEFAULT_REGION,
            endpoint: None,
            timestamp: TimestampPolicy::default(),
            sign_type: None,
            utc_offset_secs: 0,
            overrides: EndpointOverrides::default(),
            keep_alive_secs: DEFAULT_KEEP_ALIVE_SECS,
            sys_subscription: false,
            enrol: None,
        }
    }

    /// A device that creates itself in IoTDA with an IAM account (clouds-official §4.3 A):
    /// an IAM token from `POST https://iam.{region}.myhuaweicloud.com/v3/auth/tokens`, then
    /// `POST https://{app_endpoint}/v5/iot/{project_id}/devices` with `node_id` and
    /// `product_id`. It then logs in with the `device_id` and `auth_info.secret` the cloud
    /// returned, exactly as `Huawei::new(DeviceId::new(device_id)?, secret)` would.
    ///
    /// The MQTT side still needs [`with_endpoint`](Self::with_endpoint) (or a host
    /// override); the region is taken from `iam` (change it with
    /// [`with_region`](Self::with_region)). Topics are built for
    /// `{product_id}_{node_id}`, the id IoTDA gives a device created without one; see
    /// [`Huawei::registered_device_id`].
    pub fn register_with_iam(
        product_id: &'a str,
        node_id: &'a str,
        iam: IamAccount<'a>,
    ) -> Result<Self, ProviderError> {
        check_identifier("product_id", product_id, MAX_PRODUCT_ID_LEN)?;
        check_identifier("node_id", node_id, MAX_NODE_ID_LEN)?;
        if iam.project_id.is_empty() {
            return Err(ProviderError::MissingKey("project_id"));
        }
        let path_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if iam.project_id.len() > 64 || !iam.project_id.bytes().all(path_safe) {
            return Err(ProviderError::InvalidValue {
                key: "project_id",
                reason: "is not a project id (up to 64 letters, digits, `-`, `_`)",
            });
        }
        for (key, value) in [
            ("iam_domain", iam.domain),
            ("iam_username", iam.username),
            ("iam_password", iam.password),
        ] {
            if value.is_empty() {
                return Err(ProviderError::MissingKey(key));
            }
        }
        check_host_label("app_endpoint", iam.app_endpoint)?;
        check_host_label("region", iam.region)?;
        let device_id = DeviceId::from_node(product_id, node_id)?;
        let mut h = Self::with_auth(device_id, Auth::Registered);
        h.region = iam.region;
        h.enrol = Some(register::Enrol {
            product_id,
            node_id,
            iam,
            iam_url: None,
            app_url: None,
            luatos_app_host: false,
            instance_id: None,
            server: ServerAuth::DefaultRoots,
        });
        Ok(h)
    }

    /// Registers at these URLs instead of Huawei's (`http://…` or `https://…`): the IAM
    /// token URL (`…/v3/auth/tokens`) and the device-creation URL
    /// (`…/v5/iot/{project_id}/devices`), e.g. a local test server. Only for a
    /// configuration from [`register_with_iam`](Self::register_with_iam).
    pub fn with_register_urls(
        mut self,
        iam_url: &'a str,
        app_url: &'a str,
    ) -> Result<Self, ProviderError> {
        let enrol = self.enrol.as_mut().ok_or(NOT_REGISTERING)?;
        enrol.iam_url = Some(
            Url::parse(iam_url).map_err(|_| ProviderError::InvalidValue {
                key: "register_url",
                reason: "the IAM URL is not an http:// or https:// URL with a valid host and port",
            })?,
        );
        enrol.app_url = Some(
            Url::parse(app_url).map_err(|_| ProviderError::InvalidValue {
                key: "register_url",
                reason: "the device-creation URL is not an http:// or https:// URL with a valid \
                     host and port",
            })?,
        );
        Ok(self)
    }

    /// How the IAM and IoTDA API servers are checked over HTTPS. The default is
    /// `ServerAuth::DefaultRoots` (the HAL's web PKI roots): Huawei does not list the API
    /// hosts' roots, and [`CA_PEM`] holds the device-access roots.
    pub fn with_register_server(mut self, server: ServerAuth<'a>) -> Result<Self, ProviderError> {
        self.enrol.as_mut().ok_or(NOT_REGISTERING)?.server = server;
        Ok(self)
    }

    /// Reads [`IamAccount::app_endpoint`] as LuatOS's `endpoint` and builds the API host as
    /// LuatOS does, `{app_endpoint}.iotda.{region}.myhuaweicloud.com`. Huawei's consoles
    /// show the host instead (`{prefix}.st1.iotda-app.{region}.myhuaweicloud.com`); the
    /// pattern LuatOS guesses is not documented.
    pub fn with_luatos_app_endpoint(mut self) -> Result<Self, ProviderError> {
        self.enrol.as_mut().ok_or(NOT_REGISTERING)?.luatos_app_host = true;
        Ok(self)
    }

    /// Sends `Instance-Id: {instance_id}` when creating the device, which Standard and
    /// Enterprise instances require (the console shows the instance id).
    pub fn with_instance_id(mut self, instance_id: &'a str) -> Result<Self, ProviderError> {
        check_identifier("instance_id", instance_id, 64)?;
        self.enrol.as_mut().ok_or(NOT_REGISTERING)?.instance_id = Some(instance_id);
        Ok(self)
    }

    /// The device id a registration record holds: what the cloud returned, which the
    /// device logs in with. Build topics for it with
    /// `Huawei::new(DeviceId::new(id)?, …)` if it differs from `{product_id}_{node_id}`.
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

    /// The time to sign with. [`TimestampPolicy::Now`] (default) signs the clock's hour
    /// with sign type 1; [`TimestampPolicy::LuatosDefault`] signs [`LUATOS_HOUR`] with
    /// sign type 0, byte for byte what LuatOS sends; [`TimestampPolicy::Fixed`] takes Unix
    /// seconds and signs their hour with sign type 0.
    pub fn with_timestamp(mut self, policy: TimestampPolicy) -> Self {
        self.timestamp = policy;
        self
    }

    /// Overrides the sign type the timestamp policy implies.
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

    /// Host, port and TLS overrides. A host override stands in for `endpoint` and `region`.
    pub fn with_overrides(mut self, overrides: EndpointOverrides<'a>) -> Self {
        self.overrides = overrides;
        self
    }

    /// Keep-alive interval; IoTDA accepts 30 to 1200 s.
    pub fn with_keep_alive(mut self, secs: u16) -> Result<Self, ProviderError> {
        self.keep_alive_secs =
            check_keep_alive(secs, 30..=1200, "IoTDA accepts 30 to 1200 seconds")?;
        Ok(self)
    }

    /// Whether to subscribe to `$oc/devices/{id}/sys/#` on connect (default: no). IoTDA
    /// delivers its system downlinks (messages, commands, property set/get, events) without
    /// a subscription, and Huawei's SDK no longer subscribes; this is for brokers that need
    /// one. It uses one of the connection's 50 subscriptions.
    pub fn with_sys_subscription(mut self, on: bool) -> Self {
        self.sys_subscription = on;
        self
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
        let secs = self
            .timestamp
            .resolve(ctx, TimeUnit::Seconds, 0, LUATOS_TIMESTAMP)?;
        let (offset, implied) = match self.timestamp {
            TimestampPolicy::Now => (self.utc_offset_secs, SignType::Checked),
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
    fn cloud(&self) -> &'static str {
        "huawei"
    }

    /// `{endpoint}.iotda-device.{region}.myhuaweicloud.com`, TLS on 8883 by default, plain
    /// MQTT on 1883 when TLS is turned off. Certificate mode puts the client certificate in
    /// the TLS settings and refuses plain TCP.
    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let host = match (self.overrides.host, self.endpoint) {
            (Some(host), _) => host,
            (None, Some(endpoint)) => build_host("endpoint", &self.host_parts(endpoint), scratch)?,
            (None, None) => return Err(ProviderError::MissingKey("endpoint")),
        };
        let mut overrides: EndpointOverrides<'_> = self.overrides;
        if let Auth::Certificate(identity) = self.auth {
            if overrides.tls == TlsChoice::Off {
                return Err(ProviderError::InvalidValue {
                    key: "tls",
                    reason: "certificate authentication needs TLS",
                });
            }
            overrides.client = Some(identity);
        }
        overrides.resolve(CloudEndpoint {
            host,
            tls_port: Some(TLS_PORT),
            plain_port: Some(PLAIN_PORT),
            ca_pem: DEFAULT_ROOTS,
        })
    }

    fn mqtt_options(&self) -> MqttOptions {
        MqttOptions::keep_alive(self.keep_alive_secs)
    }

    /// QoS 0 and 1, messages up to 1 MB. IoTDA limits custom topics to 128 bytes; system
    /// topics carry the device id and request ids and may be longer, so the limit applied
    /// is 128 bytes after `$oc/devices/{id}/` (and never less than 128).
    fn limits(&self) -> Limits {
        // A registered device's id comes from the cloud and may be longer than the one the
        // topics are built for.
        let id_len = match self.auth {
            Auth::Registered => MAX_DEVICE_ID_LEN.max(self.device_id.len()),
            _ => self.device_id.len(),
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

    /// A configuration from [`Huawei::register_with_iam`] registers as `{product_id}` /
    /// `{node_id}`.
    fn registration(&self) -> Option<RegistrationId<'_>> {
        self.enrol.as_ref().map(|e| RegistrationId {
            product: e.product_id,
            device: e.node_id,
        })
    }

    /// IAM token, then device creation; the record is two fields, the returned
    /// `device_id` and `auth_info.secret`.
    async fn register<T: Transport, C: Clock>(
        &self,
        io: RegisterIo<'_, T, C>,
        record: &mut [u8],
    ) -> Result<usize, RegisterError<T::Error>> {
        register::register(self, io, record).await
    }

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

    /// Supported, over the event topics. IoTDA delivers `sys/events/down` without a
    /// subscription, so OTA adds none ([`Huawei::with_sys_subscription`] stays the only one).
    fn ota_support(&self) -> OtaSupport {
        OtaSupport::Supported
    }

    /// The `$ota` event `version_report` with `sw_version` and `fw_version` (only one of
    /// them when the firmware's module is `software` or `firmware`). Also the answer to the
    /// platform's `version_query`.
    fn ota_version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        ota::version_report(self, ctx, scratch)
    }

    /// None: IoTDA pushes a pending upgrade itself (it asks for the version first).
    fn ota_job_request<'s>(
        &self,
        _ctx: &OtaContext<'_>,
        _scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        Ok(None)
    }

    /// On `sys/events/down`: `$ota` `version_query` asks for the version report;
    /// `firmware_upgrade`, `software_upgrade` and their `_v2` variants are jobs; any other
    /// event is the application's.
    fn ota_notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice {
        ota::notice(self, topic, payload, job)
    }

    /// The `$ota` event `upgrade_progress_report`; codes from [`ota_result_code`].
    fn ota_report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        ota::report(self, job, status, ctx, scratch)
    }
}

#[cfg(test)]
mod tests;
