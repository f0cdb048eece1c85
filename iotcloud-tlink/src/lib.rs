#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

use core::fmt;

use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::ota::OtaSupport;
use iotcloud_core::provider::{
    CloudEndpoint, Credentials, EndpointOverrides, Limits, MqttOptions, Provider, ProviderError,
    SignContext, TlsChoice, TopicPath, subscription,
};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Secret, check_identifier};
use iotcloud_core::transport::Endpoint;

/// Tlink's MQTT host.
pub const HOST: &str = "mq.tlink.io";

/// Plain MQTT, the only port Tlink's examples use.
pub const PLAIN_PORT: u16 = 1883;

/// The port LuatOS uses when asked for TLS. UNCONFIRMED: Tlink documents no TLS at all.
pub const TLS_PORT: u16 = 8883;

/// Longest serial number accepted. Tlink's serials are 16 characters; the limit only keeps
/// client ids and topics bounded (UNCONFIRMED: Tlink documents none).
pub const MAX_SERIAL_LEN: usize = 64;

/// A Tlink device: its serial number, the account it belongs to, and that account's
/// password.
#[derive(Clone, Copy)]
pub struct Tlink<'a> {
    serial: &'a str,
    account: &'a str,
    password: Secret<'a>,
    overrides: EndpointOverrides<'a>,
    keep_alive_secs: u16,
    command_subscription: bool,
}

impl fmt::Debug for Tlink<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tlink")
            .field("serial", &self.serial)
            .field("account", &self.account)
            .field("password", &self.password)
            .field("overrides", &self.overrides)
            .field("keep_alive_secs", &self.keep_alive_secs)
            .field("command_subscription", &self.command_subscription)
            .finish()
    }
}

/// Refuses an empty value, and NUL, which an MQTT string cannot carry ([MQTT-1.5.3-2]).
fn check_field(key: &'static str, value: &str) -> Result<(), ProviderError> {
    if value.is_empty() {
        return Err(ProviderError::MissingKey(key));
    }
    if value.contains('\0') {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "contains NUL",
        });
    }
    Ok(())
}

impl<'a> Tlink<'a> {
    /// A device with its serial number (`device_name`, the client id), the Tlink account
    /// (`product_id`, the user name) and the account's password (`product_secret`). Plain
    /// MQTT to `mq.tlink.io:1883`; on connect it subscribes `{serial}/+` for commands.
    pub fn new(
        device_name: &'a str,
        product_id: &'a str,
        product_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        check_identifier("device_name", device_name, MAX_SERIAL_LEN)?;
        check_field("product_id", product_id)?;
        check_field("product_secret", product_secret)?;
        Ok(Tlink {
            serial: device_name,
            account: product_id,
            password: Secret::new(product_secret),
            overrides: EndpointOverrides::default(),
            keep_alive_secs: MqttOptions::default().keep_alive_secs,
            command_subscription: true,
        })
    }

    /// Host, port and TLS overrides. [`TlsChoice::CloudDefault`] means plain TCP here,
    /// because Tlink documents no TLS; [`TlsChoice::On`] uses port 8883 (as LuatOS does;
    /// UNCONFIRMED) with the server check given, as no CA is known to bundle.
    pub fn with_overrides(mut self, overrides: EndpointOverrides<'a>) -> Self {
        self.overrides = overrides;
        self
    }

    /// Keep-alive interval in seconds (default 240, as LuatOS; Tlink documents no range).
    pub fn with_keep_alive(mut self, secs: u16) -> Self {
        self.keep_alive_secs = secs;
        self
    }

    /// Whether to subscribe to `{serial}/+` on connect (default: yes, as LuatOS does; this
    /// is where commands arrive).
    pub fn with_command_subscription(mut self, on: bool) -> Self {
        self.command_subscription = on;
        self
    }

    /// The serial number.
    pub fn serial(&self) -> &'a str {
        self.serial
    }

    /// `{serial}/{suffix}`.
    pub fn topic(&self, suffix: &'a str) -> TopicPath<'a> {
        TopicPath::new([self.serial, "/", suffix, "", "", ""])
    }

    /// ↑ Sensor data: `{serial}` itself, with a body like
    /// `{"sensorDatas":[{"sensorsId":…,"value":…}]}` (UNCONFIRMED).
    pub fn data_topic(&self) -> TopicPath<'a> {
        TopicPath::new([self.serial, "", "", "", "", ""])
    }

    /// ↓ Commands, as a filter: `{serial}/+`.
    pub fn commands_filter(&self) -> TopicPath<'a> {
        self.topic("+")
    }
}

/// Why Tlink has no OTA here ([`Provider::ota_support`]).
pub const OTA_UNSUPPORTED: &str = "Tlink publishes no device protocol, and no OTA over MQTT \
    is known for it; deliver firmware by your own means";

impl Provider for Tlink<'_> {
    fn cloud(&self) -> &'static str {
        "tlink"
    }

    /// Unsupported: see [`OTA_UNSUPPORTED`].
    fn ota_support(&self) -> OtaSupport {
        OtaSupport::Unsupported(OTA_UNSUPPORTED)
    }

    /// `mq.tlink.io:1883`, plain; TLS only when asked for with [`TlsChoice::On`].
    fn endpoint<'a>(&'a self, _scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let mut overrides = self.overrides;
        if overrides.tls == TlsChoice::CloudDefault {
            overrides.tls = TlsChoice::Off;
        }
        overrides.resolve(CloudEndpoint {
            host: HOST,
            tls_port: Some(TLS_PORT),
            plain_port: Some(PLAIN_PORT),
            ca_pem: &[],
        })
    }

    fn mqtt_options(&self) -> MqttOptions {
        MqttOptions::keep_alive(self.keep_alive_secs)
    }

    /// QoS 0 and 1; MQTT's own topic and payload limits (Tlink documents none).
    fn limits(&self) -> Limits {
        Limits::MQTT.with_max_qos(QoS::AtLeastOnce)
    }

    /// The serial number, the account and its password, as they are.
    fn sign<'s>(
        &self,
        _ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        Ok(Credentials {
            client_id: scratch.copy(self.serial)?,
            username: Some(scratch.copy(self.account)?),
            password: Some(scratch.copy(self.password.expose())?),
        })
    }

    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 || !self.command_subscription {
            return Ok(None);
        }
        let filter = self.commands_filter();
        Ok(Some(subscription(
            scratch,
            "device_name",
            filter,
            QoS::AtMostOnce,
        )?))
    }
}

#[cfg(test)]
mod tests;
