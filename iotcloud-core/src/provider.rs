//! What a cloud contributes to a connection: where to connect, how to sign in, its system
//! topics and its limits. Providers are data plus pure functions; they do no I/O.

use core::fmt::{self, Write};
use core::ops::RangeInclusive;

use crate::data::DataFormat;
use crate::error::ErrorKind;
use crate::mqtt::{QoS, SubscribeTopic, TopicFilter, Will};
use crate::ota::{OtaFormat, OtaSupport};
use crate::register::Registration;
use crate::scratch::{Scratch, ScratchFull, TextWriter};
use crate::transport::{ClientIdentity, Endpoint, ServerAuth, Tls, TransportCaps};

/// Longest host name a provider builds (RFC 1035 allows 253).
pub const MAX_HOST_LEN: usize = 253;

/// A host name a provider built from its configuration (e.g. `{pk}.iot-as-mqtt.{region}.aliyuncs.com`).
pub type HostName = heapless::String<MAX_HOST_LEN>;

/// Formats a host name; an over-long result is an error naming `key`, never a truncation.
pub fn host_name(key: &'static str, args: fmt::Arguments<'_>) -> Result<HostName, ProviderError> {
    let mut host = HostName::new();
    host.write_fmt(args)
        .map_err(|_| ProviderError::InvalidValue {
            key,
            reason: "makes a host name longer than 253 bytes",
        })?;
    Ok(host)
}

/// Checks that the host name made of `parts` fits in [`MAX_HOST_LEN`] bytes, so that a
/// provider can refuse a configuration when it is made rather than at the first connect.
/// Too long is an error naming `key`.
pub fn check_host_len(key: &'static str, parts: &[&str]) -> Result<(), ProviderError> {
    let len = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
    if len > MAX_HOST_LEN {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "makes a host name longer than 253 bytes",
        });
    }
    Ok(())
}

/// Writes the host name made of `parts` into `scratch`, for [`Provider::endpoint`]. Longer
/// than [`MAX_HOST_LEN`] is an error naming `key` ([`check_host_len`]), never a truncation.
pub fn build_host<'s>(
    key: &'static str,
    parts: &[&str],
    scratch: &mut Scratch<'s>,
) -> Result<&'s str, ProviderError> {
    check_host_len(key, parts)?;
    Ok(scratch.concat(parts)?)
}

/// Checks a keep-alive interval against the range of seconds a cloud accepts; outside it,
/// an error naming `keepalive` with `reason` (which should state the range).
pub fn check_keep_alive(
    secs: u16,
    accepted: RangeInclusive<u16>,
    reason: &'static str,
) -> Result<u16, ProviderError> {
    if accepted.contains(&secs) {
        Ok(secs)
    } else {
        Err(ProviderError::InvalidValue {
            key: "keepalive",
            reason,
        })
    }
}

/// A system subscription to `filter` at `qos`, written into `scratch`. A filter that is not
/// valid MQTT is an error naming `key`, the configuration value it was built from.
pub fn subscription<'s>(
    scratch: &mut Scratch<'s>,
    key: &'static str,
    filter: TopicPath<'_>,
    qos: QoS,
) -> Result<SubscribeTopic<'s>, ProviderError> {
    let text = scratch.concat(&filter.0)?;
    let filter = TopicFilter::new(text).map_err(|_| ProviderError::InvalidValue {
        key,
        reason: "does not make a valid topic filter",
    })?;
    Ok(SubscribeTopic { filter, qos })
}

/// A publication to `topic` at `qos` whose payload `body` writes, both built in `scratch`.
pub fn publication<'s>(
    scratch: &mut Scratch<'s>,
    topic: TopicPath<'_>,
    qos: QoS,
    body: impl FnOnce(&mut TextWriter<'_>) -> fmt::Result,
) -> Result<Publication<'s>, ProviderError> {
    let topic = scratch.concat(&topic.0)?;
    let payload = scratch.text(body)?;
    Ok(Publication {
        topic,
        payload: payload.as_bytes(),
        qos,
    })
}

/// Whether and how to use TLS, as the user chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsChoice<'a> {
    /// What the cloud recommends: TLS checked against the cloud's bundled CA certificates
    /// wherever the cloud offers TLS.
    #[default]
    CloudDefault,
    /// Plain TCP (`tls=false`): only when asked for.
    Off,
    /// TLS checked the given way (another CA, the web PKI roots, or — for LuatOS
    /// compatibility only — no check at all).
    On(ServerAuth<'a>),
}

/// User overrides of a provider's endpoint: host, port, TLS. Every provider takes these, so
/// a device can be pointed at a private deployment or a local test broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointOverrides<'a> {
    /// Host instead of the cloud's.
    pub host: Option<&'a str>,
    /// Port instead of the cloud's for the chosen security.
    pub port: Option<u16>,
    /// TLS choice.
    pub tls: TlsChoice<'a>,
    /// Client certificate for TLS, for clouds and modes that authenticate by certificate.
    pub client: Option<ClientIdentity<'a>>,
}

/// The keep-alive intervals a cloud accepts, and the one its provider uses unless told
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Shortest interval accepted, in seconds.
    pub min: u16,
    /// Longest interval accepted, in seconds.
    pub max: u16,
    /// The provider's default.
    pub default: u16,
    /// What the cloud accepts, in words (the error's reason when a value is outside it).
    pub reason: &'static str,
}

impl KeepAlive {
    /// `secs` if the cloud accepts it; otherwise an error naming `keepalive` with
    /// [`KeepAlive::reason`].
    pub fn check(&self, secs: u16) -> Result<u16, ProviderError> {
        check_keep_alive(secs, self.min..=self.max, self.reason)
    }
}

/// The connection settings every provider has: the user's endpoint overrides and the
/// keep-alive. A provider keeps them in a field named `connection` and gets its
/// `with_overrides`, `with_host`, `with_port`, `with_tls` and `with_keep_alive` from
/// [`connection_settings!`](crate::connection_settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// Host, port, TLS and client-certificate overrides.
    pub overrides: EndpointOverrides<'a>,
    /// Keep-alive interval in seconds.
    pub keep_alive_secs: u16,
}

impl<'a> Connection<'a> {
    /// No overrides, and the cloud's default keep-alive.
    pub const fn new(keep_alive: KeepAlive) -> Self {
        Connection {
            overrides: EndpointOverrides {
                host: None,
                port: None,
                tls: TlsChoice::CloudDefault,
                client: None,
            },
            keep_alive_secs: keep_alive.default,
        }
    }

    /// The endpoint to use: the cloud's, with the overrides applied (see
    /// [`EndpointOverrides::resolve`]).
    pub fn resolve(&self, cloud: CloudEndpoint<'a>) -> Result<Endpoint<'a>, ProviderError> {
        self.overrides.resolve(cloud)
    }

    /// A clean session with this keep-alive.
    pub const fn mqtt_options(&self) -> MqttOptions {
        MqttOptions::keep_alive(self.keep_alive_secs)
    }
}

/// The setters of the settings every provider shares, as inherent methods of
/// `$provider<'a>`, whose [`Connection`] is its field `connection` and whose cloud accepts the
/// keep-alive intervals of `$keep_alive` (a [`KeepAlive`]).
#[macro_export]
macro_rules! connection_settings {
    ($provider:ident, $keep_alive:expr) => {
        impl<'a> $provider<'a> {
            /// Host, port, TLS and client-certificate overrides, all at once.
            pub fn with_overrides(
                mut self,
                overrides: $crate::provider::EndpointOverrides<'a>,
            ) -> Self {
                self.connection.overrides = overrides;
                self
            }

            /// Connects to `host` instead of the cloud's (a private deployment, a local
            /// broker or emulator).
            pub fn with_host(mut self, host: &'a str) -> Self {
                self.connection.overrides.host = Some(host);
                self
            }

            /// Connects to `port` instead of the cloud's port for the chosen security.
            pub fn with_port(mut self, port: u16) -> Self {
                self.connection.overrides.port = Some(port);
                self
            }

            /// Whether and how to use TLS (by default: wherever the cloud offers it, checked
            /// against the cloud's CA certificates).
            pub fn with_tls(mut self, tls: $crate::provider::TlsChoice<'a>) -> Self {
                self.connection.overrides.tls = tls;
                self
            }

            /// Keep-alive interval in seconds; refused outside the range the cloud
            /// accepts.
            pub fn with_keep_alive(
                mut self,
                secs: u16,
            ) -> Result<Self, $crate::provider::ProviderError> {
                self.connection.keep_alive_secs = $keep_alive.check(secs)?;
                Ok(self)
            }

            /// The connection settings: overrides and keep-alive.
            pub fn connection(&self) -> &$crate::provider::Connection<'a> {
                &self.connection
            }
        }
    };
}

/// A cloud's own endpoint: host, ports, and the CA certificates it is served under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudEndpoint<'a> {
    /// Host name.
    pub host: &'a str,
    /// Port for TLS, if the cloud offers TLS.
    pub tls_port: Option<u16>,
    /// Port for plain TCP, if the cloud offers it.
    pub plain_port: Option<u16>,
    /// PEM bundle of the roots the cloud's TLS certificates chain to; empty when the
    /// provider was built without them, which makes [`TlsChoice::CloudDefault`] an error
    /// wherever the cloud offers TLS.
    pub ca_pem: &'a [u8],
}

impl<'a> EndpointOverrides<'a> {
    /// The endpoint to use: the cloud's, with the user's overrides applied.
    ///
    /// With [`TlsChoice::CloudDefault`], TLS is used whenever the cloud offers it, checked
    /// against the cloud's bundle (an empty bundle is refused with
    /// [`ProviderError::Unsupported`]). A port override keeps the security chosen. Asking for plain TCP where the cloud only offers
    /// TLS (or the reverse) without a port override is an error naming `tls`.
    pub fn resolve(&self, cloud: CloudEndpoint<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let host = self.host.unwrap_or(cloud.host);
        if host.is_empty() {
            return Err(ProviderError::MissingKey("host"));
        }
        let server = match self.tls {
            TlsChoice::CloudDefault if cloud.tls_port.is_some() => {
                if cloud.ca_pem.is_empty() {
                    return Err(ProviderError::Unsupported(
                        "TLS against the cloud's bundled CA certificates (the provider was \
                         built without its `roots` feature): turn TLS off or give a CA",
                    ));
                }
                Some(ServerAuth::CaPem(cloud.ca_pem))
            }
            TlsChoice::CloudDefault | TlsChoice::Off => None,
            TlsChoice::On(server) => Some(server),
        };
        let cloud_port = if server.is_some() {
            cloud.tls_port
        } else {
            cloud.plain_port
        };
        let port = self
            .port
            .or(cloud_port)
            .ok_or(ProviderError::InvalidValue {
                key: "tls",
                reason: "this cloud has no port for the chosen security; give `port`",
            })?;
        Ok(Endpoint {
            host,
            port,
            tls: server.map(|server| Tls {
                server,
                server_name: None,
                client: self.client,
            }),
        })
    }
}

/// A topic built from pieces, formatted on demand (`Display`) or into a caller's buffer:
/// providers return these for their cloud's topic conventions without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicPath<'a>(pub [&'a str; 6]);

impl<'a> TopicPath<'a> {
    /// Joins up to six pieces (unused ones empty).
    pub const fn new(pieces: [&'a str; 6]) -> Self {
        TopicPath(pieces)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.iter().map(|p| p.len()).sum()
    }

    /// Whether all pieces are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `topic` is this topic, without formatting it.
    pub fn is(&self, topic: &str) -> bool {
        let mut rest = topic;
        for piece in self.0 {
            match rest.strip_prefix(piece) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// Writes the topic into `buf`.
    pub fn write_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, ScratchFull> {
        Scratch::new(buf).concat(&self.0)
    }
}

impl fmt::Display for TopicPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|p| f.write_str(p))
    }
}

/// A message a provider wants the device to publish (a version report, an OTA progress
/// report), built in scratch memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publication<'s> {
    /// Topic.
    pub topic: &'s str,
    /// Payload.
    pub payload: &'s [u8],
    /// QoS the cloud expects.
    pub qos: QoS,
}

/// Inputs to signing that are not configuration: time and randomness.
///
/// Signing is a pure function of the provider's configuration and this context, so that
/// it can be checked against published test vectors.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct SignContext<'r> {
    /// Milliseconds since the Unix epoch, if the device knows the time.
    pub unix_time_ms: Option<u64>,
    /// A random value for nonces and connection ids; a new one on every connect.
    pub random: u64,
    /// What dynamic registration obtained (the provider's own record, see
    /// [`crate::register`]), for configurations that register.
    pub registered: Option<&'r [u8]>,
}

impl fmt::Debug for SignContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignContext")
            .field("unix_time_ms", &self.unix_time_ms)
            .field("random", &self.random)
            .field("registered_len", &self.registered.map(<[u8]>::len))
            .finish()
    }
}

/// The three strings of an MQTT CONNECT that identify a device. `Debug` hides the password.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'s> {
    /// Client identifier.
    pub client_id: &'s str,
    /// User name, if the cloud wants one.
    pub username: Option<&'s str>,
    /// Password, if the cloud wants one.
    pub password: Option<&'s str>,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.map(|_| "<redacted>"))
            .finish()
    }
}

/// MQTT session settings a provider chooses for its cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttOptions {
    /// Keep-alive interval in seconds (0: off).
    pub keep_alive_secs: u16,
    /// Ask the broker to discard any previous session.
    pub clean_session: bool,
}

impl MqttOptions {
    /// A clean session with a keep-alive of `secs` seconds: what the cloud providers use.
    pub const fn keep_alive(secs: u16) -> Self {
        MqttOptions {
            keep_alive_secs: secs,
            clean_session: true,
        }
    }
}

impl Default for MqttOptions {
    /// 240 s keep-alive (what LuatOS uses) and a clean session.
    fn default() -> Self {
        MqttOptions::keep_alive(240)
    }
}

/// What a cloud accepts from a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Highest QoS for publishing and subscribing.
    pub max_qos: QoS,
    /// Longest topic, in bytes.
    pub max_topic_len: usize,
    /// Largest payload, in bytes.
    pub max_payload_len: usize,
    /// Shortest time between two connection attempts the cloud accepts, in milliseconds
    /// (Tencent refuses a second CONNECT within 5 s). A
    /// [`Supervisor`](crate::device::Supervisor) never reconnects faster.
    pub min_connect_interval_ms: u32,
}

impl Limits {
    /// What MQTT 3.1.1 itself allows.
    pub const MQTT: Limits = Limits {
        max_qos: QoS::ExactlyOnce,
        max_topic_len: 65_535,
        max_payload_len: 268_435_455,
        min_connect_interval_ms: 0,
    };

    /// These limits with the highest QoS lowered (or raised) to `max_qos`.
    pub const fn with_max_qos(self, max_qos: QoS) -> Self {
        Limits { max_qos, ..self }
    }
}

/// Why a provider could not produce credentials or topics.
///
/// The `Display` text names the configuration key at fault and never contains a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ProviderError {
    /// A required configuration key is missing.
    #[error("missing required key `{0}`")]
    MissingKey(&'static str),
    /// A configuration value is not acceptable.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidValue {
        /// The configuration key.
        key: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The timestamp policy needs the current time and the clock does not know it.
    /// Wait for network time, or choose another timestamp policy.
    #[error("the current time is unknown, and the signature needs it")]
    TimeUnknown,
    /// The scratch buffer (the device's receive buffer) is too small for the credentials.
    #[error("{0}")]
    ScratchFull(#[from] ScratchFull),
    /// A value given for a configuration key is not valid base64.
    #[error("`{0}` is not valid base64")]
    InvalidBase64(&'static str),
    /// The feature is not available for this cloud or mode.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
}

impl ProviderError {
    /// What the caller can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProviderError::MissingKey(_)
            | ProviderError::InvalidValue { .. }
            | ProviderError::InvalidBase64(_)
            | ProviderError::Unsupported(_) => ErrorKind::Config,
            ProviderError::TimeUnknown => ErrorKind::State,
            ProviderError::ScratchFull(_) => ErrorKind::Resource,
        }
    }
}

/// A cloud, configured for one device: where to connect, how to sign in, what to subscribe,
/// what the cloud accepts — and, where the cloud has them, its registration and its OTA
/// formats.
///
/// Everything here is pure: the device calls [`Provider::sign`] again on every connect with
/// fresh time and randomness, so time-limited signatures never go stale; it runs every
/// exchange itself, so a provider needs no transport, clock or `async`.
pub trait Provider {
    /// The cloud's dynamic registration ([`NoRegistration`](crate::register::NoRegistration)
    /// for a cloud without one).
    type Registration: Registration;
    /// The cloud's OTA message formats ([`NoOta`](crate::ota::NoOta) for a cloud without OTA
    /// over MQTT).
    type Ota: OtaFormat;
    /// The cloud's data-model formats: properties, commands, events, time
    /// ([`NoData`](crate::data::NoData) for a cloud without one).
    type Data: DataFormat;

    /// Short lower-case name of the cloud (`"aliyun"`, `"mqtt"`, …), used in store keys.
    fn cloud(&self) -> &'static str;

    /// Where the MQTT broker is.
    ///
    /// A host name the provider builds from its configuration (from a product key and a
    /// region, say) is written into `scratch` ([`build_host`]), so the provider need not
    /// keep one; a fixed or configured host is borrowed from the provider. The device lends
    /// its receive buffer, which is free at that moment.
    ///
    /// Fails when the configuration cannot name one (a missing endpoint key, a security
    /// choice the cloud has no port for), or when `scratch` is too small for the host name.
    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError>;

    /// Where the MQTT broker is, for a transport that can do what `caps` says: what the
    /// device calls, with [`TransportCaps::of`] its transport. The default is
    /// [`Provider::endpoint`], whatever the transport can do; a cloud whose default security
    /// depends on it overrides this (Tencent's key authentication: TLS-PSK on port 8883 with
    /// a transport that has it, plain TCP on port 1883 otherwise), and then `endpoint` is this
    /// with [`TransportCaps::NONE`]. An explicit TLS choice in the overrides always wins over
    /// `caps`.
    fn endpoint_for<'a>(
        &'a self,
        scratch: &mut Scratch<'a>,
        caps: TransportCaps,
    ) -> Result<Endpoint<'a>, ProviderError> {
        let _ = caps;
        self.endpoint(scratch)
    }

    /// Keep-alive and clean-session settings.
    fn mqtt_options(&self) -> MqttOptions {
        MqttOptions::default()
    }

    /// The will message, if any.
    fn will(&self) -> Option<Will<'_>> {
        None
    }

    /// What the cloud accepts.
    fn limits(&self) -> Limits {
        Limits::MQTT
    }

    /// Signs in: the CONNECT's client id, user name and password, written into `scratch`.
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError>;

    /// The `index`-th system topic to subscribe on connect (commands, downlinks the cloud
    /// only delivers to subscribers), built in `scratch`; `None` past the last. Subscribed
    /// once and then kept by the session. OTA topics are the [`OtaFormat`]'s.
    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        let _ = (index, scratch);
        Ok(None)
    }

    /// This configuration's dynamic registration, if it obtains its credentials that way
    /// (the device then registers, or loads the stored record, before connecting); `None`
    /// (default): the configuration holds its credentials.
    fn registration(&self) -> Option<&Self::Registration> {
        None
    }

    /// The cloud's OTA message formats, or why this cloud (or configuration) has no OTA
    /// over MQTT.
    fn ota(&self) -> Result<&Self::Ota, &'static str> {
        Err("this cloud has no device OTA over MQTT")
    }

    /// The cloud's data-model formats, or why this cloud has no data model.
    fn data(&self) -> Result<&Self::Data, &'static str> {
        Err("this cloud has no data model (properties, commands, events)")
    }

    /// Whether this cloud does OTA over MQTT, and if not, why ([`Provider::ota`]).
    fn ota_support(&self) -> OtaSupport {
        match self.ota() {
            Ok(_) => OtaSupport::Supported,
            Err(why) => OtaSupport::Unsupported(why),
        }
    }
}

impl<P: Provider + ?Sized> Provider for &P {
    type Registration = P::Registration;
    type Ota = P::Ota;
    type Data = P::Data;

    fn cloud(&self) -> &'static str {
        (**self).cloud()
    }
    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        (**self).endpoint(scratch)
    }
    fn endpoint_for<'a>(
        &'a self,
        scratch: &mut Scratch<'a>,
        caps: TransportCaps,
    ) -> Result<Endpoint<'a>, ProviderError> {
        (**self).endpoint_for(scratch, caps)
    }
    fn mqtt_options(&self) -> MqttOptions {
        (**self).mqtt_options()
    }
    fn will(&self) -> Option<Will<'_>> {
        (**self).will()
    }
    fn limits(&self) -> Limits {
        (**self).limits()
    }
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        (**self).sign(ctx, scratch)
    }
    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        (**self).system_subscription(index, scratch)
    }
    fn registration(&self) -> Option<&Self::Registration> {
        (**self).registration()
    }
    fn ota(&self) -> Result<&Self::Ota, &'static str> {
        (**self).ota()
    }
    fn data(&self) -> Result<&Self::Data, &'static str> {
        (**self).data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUD: CloudEndpoint<'static> = CloudEndpoint {
        host: "cloud.example",
        tls_port: Some(8883),
        plain_port: Some(1883),
        ca_pem: b"PEM",
    };

    #[test]
    fn tls_is_the_default_wherever_the_cloud_offers_it() {
        let e = EndpointOverrides::default().resolve(CLOUD).unwrap();
        assert_eq!((e.host, e.port), ("cloud.example", 8883));
        assert_eq!(e.tls.unwrap().server, ServerAuth::CaPem(b"PEM"));
        let plain_only = CloudEndpoint {
            tls_port: None,
            ..CLOUD
        };
        let e = EndpointOverrides::default().resolve(plain_only).unwrap();
        assert_eq!((e.port, e.tls), (1883, None));
    }

    #[test]
    fn the_cloud_default_without_bundled_roots_is_refused_unless_tls_is_chosen() {
        let unbundled = CloudEndpoint {
            ca_pem: b"",
            ..CLOUD
        };
        assert!(matches!(
            EndpointOverrides::default().resolve(unbundled),
            Err(ProviderError::Unsupported(why)) if why.contains("`roots`")
        ));
        let off = EndpointOverrides {
            tls: TlsChoice::Off,
            ..Default::default()
        };
        assert_eq!(off.resolve(unbundled).unwrap().tls, None);
        let own = EndpointOverrides {
            tls: TlsChoice::On(ServerAuth::CaPem(b"MINE")),
            ..Default::default()
        };
        let e = own.resolve(unbundled).unwrap();
        assert_eq!(
            (e.port, e.tls.unwrap().server),
            (8883, ServerAuth::CaPem(b"MINE"))
        );
    }

    #[test]
    fn overrides_replace_host_port_and_security() {
        let o = EndpointOverrides {
            host: Some("127.0.0.1"),
            port: Some(11883),
            tls: TlsChoice::Off,
            client: None,
        };
        let e = o.resolve(CLOUD).unwrap();
        assert_eq!((e.host, e.port, e.tls), ("127.0.0.1", 11883, None));
        let o = EndpointOverrides {
            tls: TlsChoice::Off,
            ..Default::default()
        };
        let tls_only = CloudEndpoint {
            plain_port: None,
            ..CLOUD
        };
        assert_eq!(
            o.resolve(tls_only).unwrap_err(),
            ProviderError::InvalidValue {
                key: "tls",
                reason: "this cloud has no port for the chosen security; give `port`"
            }
        );
    }

    #[test]
    fn endpoint_for_is_endpoint_unless_the_provider_says_otherwise() {
        let p = crate::plain::PlainMqtt::new("broker.example", 1883, "dev").unwrap();
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        assert_eq!(
            p.endpoint_for(&mut Scratch::new(&mut a), TransportCaps::PSK),
            p.endpoint(&mut Scratch::new(&mut b))
        );
        // Through a reference too.
        assert_eq!(
            Provider::endpoint_for(&&p, &mut Scratch::new(&mut a), TransportCaps::PSK),
            p.endpoint(&mut Scratch::new(&mut b))
        );
    }

    #[test]
    fn transports_have_no_psk_unless_they_say_so_and_debug_hides_a_psk() {
        let t = crate::test_support::MockTransport::default();
        assert_eq!(TransportCaps::of(&t), TransportCaps::NONE);
        assert!(TransportCaps::PSK.psk && !TransportCaps::default().psk);
        let mut psk_buf = [0u8; 128];
        let psk = crate::transport::Psk::write(&mut psk_buf, "pid-dev", b"TOPSECRET").unwrap();
        let e = Endpoint::tls("h", 8883, ServerAuth::Psk(psk));
        let shown = std::format!("{e:?} {psk:#?}");
        assert!(
            shown.contains("pid-dev") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert!(
            !shown.contains("TOPSECRET") && !shown.contains("84, 79"),
            "{shown}"
        );
    }

    #[test]
    fn host_names_and_topics_are_built_without_truncation() {
        assert_eq!(
            host_name("region", format_args!("{}.x", "a"))
                .unwrap()
                .as_str(),
            "a.x"
        );
        let long = [b'a'; 300];
        let long = core::str::from_utf8(&long).unwrap();
        assert!(host_name("region", format_args!("{long}")).is_err());
        // Built into lent memory: 253 bytes fit, 254 are refused naming the key, and a
        // scratch too small is its own error.
        let mut buf = [0u8; 300];
        let name = build_host(
            "region",
            &[&long[..250], ".cn"],
            &mut Scratch::new(&mut buf),
        );
        assert_eq!(name.unwrap().len(), 253);
        assert_eq!(
            build_host(
                "region",
                &[&long[..251], ".cn"],
                &mut Scratch::new(&mut buf)
            ),
            Err(ProviderError::InvalidValue {
                key: "region",
                reason: "makes a host name longer than 253 bytes"
            })
        );
        assert!(check_host_len("region", &[&long[..251], ".cn"]).is_err());
        assert!(matches!(
            build_host("region", &["a", ".cn"], &mut Scratch::new(&mut [0u8; 3])),
            Err(ProviderError::ScratchFull(_))
        ));
        let t = TopicPath::new(["/", "pk", "/", "dn", "/user/update", ""]);
        assert_eq!(std::format!("{t}"), "/pk/dn/user/update");
        let mut buf = [0u8; 32];
        assert_eq!(t.write_into(&mut buf).unwrap(), "/pk/dn/user/update");
        assert!(t.write_into(&mut [0u8; 5]).is_err());
        assert_eq!(t.len(), 18);
    }

    #[test]
    fn options_and_limits_are_the_defaults_with_one_field_changed() {
        assert_eq!(
            MqttOptions::keep_alive(60),
            MqttOptions {
                keep_alive_secs: 60,
                clean_session: true
            }
        );
        assert_eq!(MqttOptions::default(), MqttOptions::keep_alive(240));
        let l = Limits::MQTT.with_max_qos(QoS::AtLeastOnce);
        assert_eq!(
            (l.max_qos, l.max_topic_len, l.max_payload_len),
            (QoS::AtLeastOnce, 65_535, 268_435_455)
        );
    }

    #[test]
    fn keep_alive_outside_the_accepted_range_is_refused_with_the_reason_given() {
        assert_eq!(check_keep_alive(30, 30..=1200, "r"), Ok(30));
        assert_eq!(check_keep_alive(1200, 30..=1200, "r"), Ok(1200));
        for secs in [0, 29, 1201] {
            assert_eq!(
                check_keep_alive(secs, 30..=1200, "r"),
                Err(ProviderError::InvalidValue {
                    key: "keepalive",
                    reason: "r"
                })
            );
        }
    }

    #[test]
    fn subscriptions_are_built_in_scratch_and_checked() {
        let mut buf = [0u8; 32];
        let mut scratch = Scratch::new(&mut buf);
        let t = TopicPath::new(["a/", "dev", "/#", "", "", ""]);
        let sub = subscription(&mut scratch, "device_id", t, QoS::AtLeastOnce).unwrap();
        assert_eq!(
            (sub.filter.as_str(), sub.qos),
            ("a/dev/#", QoS::AtLeastOnce)
        );
        let bad = TopicPath::new(["a/", "d#v", "", "", "", ""]);
        assert_eq!(
            subscription(&mut scratch, "device_id", bad, QoS::AtMostOnce),
            Err(ProviderError::InvalidValue {
                key: "device_id",
                reason: "does not make a valid topic filter"
            })
        );
        assert!(matches!(
            subscription(
                &mut Scratch::new(&mut [0u8; 3]),
                "device_id",
                t,
                QoS::AtMostOnce
            ),
            Err(ProviderError::ScratchFull(_))
        ));
    }
}
