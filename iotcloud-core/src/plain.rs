//! A provider for any standard MQTT 3.1.1 broker (mosquitto, EMQX, a self-hosted server):
//! a fixed client id, an optional user name and password, an optional will.

use core::fmt;

use crate::mqtt::{QoS, TopicName, Will};
use crate::ota::NoOta;
use crate::provider::{Credentials, MqttOptions, Provider, ProviderError, SignContext};
use crate::register::NoRegistration;
use crate::scratch::Scratch;
use crate::transport::{Endpoint, ServerAuth, Tls};

/// A device on a standard MQTT broker.
///
/// ```
/// use iotcloud_core::plain::PlainMqtt;
///
/// let broker = PlainMqtt::new("127.0.0.1", 1883, "sensor-1")
///     .unwrap()
///     .with_login("user", "secret")
///     .with_keep_alive(30);
/// # let _ = broker;
/// ```
#[derive(Clone, Copy)]
pub struct PlainMqtt<'a> {
    endpoint: Endpoint<'a>,
    client_id: &'a str,
    username: Option<&'a str>,
    password: Option<&'a str>,
    options: MqttOptions,
    will: Option<Will<'a>>,
}

impl fmt::Debug for PlainMqtt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainMqtt")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.map(|_| "<redacted>"))
            .field("options", &self.options)
            .field("will", &self.will)
            .finish()
    }
}

impl<'a> PlainMqtt<'a> {
    /// Plain TCP to `host:port` as `client_id`.
    ///
    /// The client id may be empty only with a clean session (the broker then assigns one).
    pub fn new(host: &'a str, port: u16, client_id: &'a str) -> Result<Self, ProviderError> {
        if host.is_empty() {
            return Err(ProviderError::MissingKey("host"));
        }
        if client_id.contains('\0') {
            return Err(ProviderError::InvalidValue {
                key: "client_id",
                reason: "contains NUL",
            });
        }
        Ok(PlainMqtt {
            endpoint: Endpoint::tcp(host, port),
            client_id,
            username: None,
            password: None,
            options: MqttOptions::default(),
            will: None,
        })
    }

    /// Uses TLS, checking the server with `server`.
    pub fn with_tls(mut self, server: ServerAuth<'a>) -> Self {
        self.endpoint.tls = Some(Tls {
            server,
            server_name: None,
            client: None,
        });
        self
    }

    /// Uses the full TLS settings given.
    pub fn with_tls_settings(mut self, tls: Tls<'a>) -> Self {
        self.endpoint.tls = Some(tls);
        self
    }

    /// Signs in with a user name and password.
    pub fn with_login(mut self, username: &'a str, password: &'a str) -> Self {
        self.username = Some(username);
        self.password = Some(password);
        self
    }

    /// Signs in with a user name only.
    pub fn with_username(mut self, username: &'a str) -> Self {
        self.username = Some(username);
        self
    }

    /// Keep-alive interval in seconds (0: off).
    pub fn with_keep_alive(mut self, secs: u16) -> Self {
        self.options.keep_alive_secs = secs;
        self
    }

    /// Whether to ask the broker for a fresh session on every connect (default: yes).
    /// With `false` the broker keeps subscriptions and queued QoS 1/2 messages while the
    /// device is away.
    pub fn with_clean_session(mut self, clean: bool) -> Self {
        self.options.clean_session = clean;
        self
    }

    /// A will message the broker publishes if the device vanishes.
    pub fn with_will(
        mut self,
        topic: &'a str,
        payload: &'a [u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Self, ProviderError> {
        let topic = TopicName::new(topic).map_err(|_| ProviderError::InvalidValue {
            key: "will_topic",
            reason: "not a valid topic name",
        })?;
        self.will = Some(Will {
            topic,
            payload,
            qos,
            retain,
        });
        Ok(self)
    }
}

impl Provider for PlainMqtt<'_> {
    type Registration = NoRegistration;
    type Ota = NoOta;
    type Data = crate::data::NoData;

    fn cloud(&self) -> &'static str {
        "mqtt"
    }

    fn endpoint<'a>(&'a self, _: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        Ok(self.endpoint)
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.options
    }

    fn will(&self) -> Option<Will<'_>> {
        self.will
    }

    fn sign<'s>(
        &self,
        _ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        Ok(Credentials {
            client_id: scratch.copy(self.client_id)?,
            username: self.username.map(|u| scratch.copy(u)).transpose()?,
            password: self.password.map(|p| scratch.copy(p)).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_the_configured_ones_and_debug_hides_the_password() {
        let p = PlainMqtt::new("h", 1, "id")
            .unwrap()
            .with_login("u", "pw-secret");
        let mut buf = [0u8; 32];
        let c = p
            .sign(
                &SignContext {
                    unix_time_ms: None,
                    random: 0,
                    registered: None,
                },
                &mut Scratch::new(&mut buf),
            )
            .unwrap();
        assert_eq!(
            (c.client_id, c.username, c.password),
            ("id", Some("u"), Some("pw-secret"))
        );
        assert!(!std::format!("{p:?} {c:?}").contains("pw-secret"));
    }

    #[test]
    fn bad_configuration_names_the_key() {
        assert_eq!(
            PlainMqtt::new("", 1, "id").unwrap_err(),
            ProviderError::MissingKey("host")
        );
        let e = PlainMqtt::new("h", 1, "id")
            .unwrap()
            .with_will("a/#", b"", QoS::AtMostOnce, false)
            .unwrap_err();
        assert!(std::format!("{e}").contains("will_topic"));
    }
}
