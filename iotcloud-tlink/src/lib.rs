#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
extern crate std;

use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::ota::NoOta;
use iotcloud_core::provider::{
    CloudEndpoint, Connection, Credentials, KeepAlive, Limits, MqttOptions, Provider,
    ProviderError, SignContext, TlsChoice, TopicPath, subscription,
};
use iotcloud_core::register::NoRegistration;
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

/// The keep-alive intervals accepted: Tlink documents no range, so any; 240 s (LuatOS's)
/// by default.
pub const KEEP_ALIVE: KeepAlive = KeepAlive {
    min: 0,
    max: u16::MAX,
    default: 240,
    reason: "Tlink documents no keep-alive range",
};

/// A Tlink device: the account it belongs to, its serial number, and that account's
/// password. `Debug` never shows the password.
#[derive(Debug, Clone, Copy)]
pub struct Tlink<'a> {
    account: &'a str,
    serial: &'a str,
    password: Secret<'a>,
    connection: Connection<'a>,
    command_subscription: bool,
}

iotcloud_core::connection_settings!(Tlink, KEEP_ALIVE);

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
    /// A device of the Tlink account (`product_id`, the user name) with its serial number
    /// (`device_name`, the client id), logging in with the account's password
    /// (`product_secret`). Plain MQTT to `mq.tlink.io:1883`; on connect it subscribes
    /// `{serial}/+` for commands.
    pub fn with_secret(
        product_id: &'a str,
        device_name: &'a str,
        product_secret: &'a str,
    ) -> Result<Self, ProviderError> {
        check_identifier("device_name", device_name, MAX_SERIAL_LEN)?;
        check_field("product_id", product_id)?;
        check_field("product_secret", product_secret)?;
        Ok(Tlink {
            account: product_id,
            serial: device_name,
            password: Secret::new(product_secret),
            connection: Connection::new(KEEP_ALIVE),
            command_subscription: true,
        })
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

/// Why Tlink has no OTA here ([`Provider::ota`]).
pub const OTA_UNSUPPORTED: &str = "Tlink publishes no device protocol, and no OTA over MQTT \
    is known for it; deliver firmware by your own means";

/// Why Tlink has no data model here ([`Provider::data`]).
pub const DATA_UNSUPPORTED: &str = "Tlink publishes no device protocol: no thing \
    model (properties, commands, events) or time service is known for it over MQTT";

impl Provider for Tlink<'_> {
    type Registration = NoRegistration;
    type Ota = NoOta;
    type Data = iotcloud_core::data::NoData;

    fn cloud(&self) -> &'static str {
        "tlink"
    }

    /// Unsupported: see [`OTA_UNSUPPORTED`].
    fn ota(&self) -> Result<&NoOta, &'static str> {
        Err(OTA_UNSUPPORTED)
    }

    /// Unsupported: see [`DATA_UNSUPPORTED`].
    fn data(&self) -> Result<&iotcloud_core::data::NoData, &'static str> {
        Err(DATA_UNSUPPORTED)
    }

    /// `mq.tlink.io:1883`, plain; TLS only when asked for with [`TlsChoice::On`].
    ///
    /// The overrides ([`Tlink::with_overrides`], [`Tlink::with_tls`]) mean this here:
    /// [`TlsChoice::CloudDefault`] is plain TCP, because Tlink documents no TLS;
    /// [`TlsChoice::On`] uses port 8883 (as LuatOS does; UNCONFIRMED) with the server check
    /// given, as no CA is known to bundle.
    fn endpoint<'a>(&'a self, _scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        let mut overrides = self.connection.overrides;
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
        self.connection.mqtt_options()
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
