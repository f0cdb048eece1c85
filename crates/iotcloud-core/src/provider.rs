//! What a cloud contributes to a connection: where to connect, how to sign in, its system
//! topics and its limits. Providers are data plus pure functions; they do no I/O.

use core::fmt;

use crate::error::ErrorKind;
use crate::mqtt::{QoS, SubscribeTopic, Will};
use crate::scratch::{Scratch, ScratchFull};
use crate::transport::Endpoint;

/// Inputs to signing that are not configuration: time and randomness.
///
/// Signing is a pure function of the provider's configuration and this context, so that
/// it can be checked against published test vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignContext {
    /// Milliseconds since the Unix epoch, if the device knows the time.
    pub unix_time_ms: Option<u64>,
    /// A random value for nonces and connection ids; a new one on every connect.
    pub random: u64,
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

impl Default for MqttOptions {
    /// 240 s keep-alive (what LuatOS uses) and a clean session.
    fn default() -> Self {
        MqttOptions {
            keep_alive_secs: 240,
            clean_session: true,
        }
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
}

impl Limits {
    /// What MQTT 3.1.1 itself allows.
    pub const MQTT: Limits = Limits {
        max_qos: QoS::ExactlyOnce,
        max_topic_len: 65_535,
        max_payload_len: 268_435_455,
    };
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
            | ProviderError::Unsupported(_) => ErrorKind::Config,
            ProviderError::TimeUnknown => ErrorKind::State,
            ProviderError::ScratchFull(_) => ErrorKind::Resource,
        }
    }
}

/// A cloud, configured for one device.
///
/// Everything here is pure: the device calls [`Provider::sign`] again on every connect with
/// fresh time and randomness, so time-limited signatures never go stale.
pub trait Provider {
    /// Short lower-case name of the cloud (`"aliyun"`, `"mqtt"`, …), used in store keys.
    fn cloud(&self) -> &'static str;

    /// Where the MQTT broker is.
    fn endpoint(&self) -> Endpoint<'_>;

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

    /// The `index`-th system topic to subscribe on connect (OTA notices, commands), built
    /// in `scratch`; `None` past the last. Subscribed once and then kept by the session.
    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        let _ = (index, scratch);
        Ok(None)
    }
}

impl<P: Provider + ?Sized> Provider for &P {
    fn cloud(&self) -> &'static str {
        (**self).cloud()
    }
    fn endpoint(&self) -> Endpoint<'_> {
        (**self).endpoint()
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
}
