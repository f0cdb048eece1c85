//! Configuration from `key=value` pairs, with the keys the LuatOS `iotcloud` library takes.

use core::fmt;

use iotcloud_core::ProviderError;
use iotcloud_core::transport::ClientIdentity;

use crate::Cloud;

/// A configuration key. [`Key::name`] is the text users write (`product_id`, `tls`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Key {
    /// `product_id`: the product. Aliyun ProductKey, Baidu IoT Core id, Tlink account name.
    ProductId,
    /// `produt_id`: LuatOS's misspelled alias of `product_id`; when both are given it wins,
    /// as in LuatOS.
    ProdutId,
    /// `device_name`: the device. Huawei node id, Tuya device id, Tlink serial number.
    /// Defaults to the module's IMEI where the platform layer knows one (not for Tuya).
    DeviceName,
    /// `device_secret`: the device's own secret.
    DeviceSecret,
    /// `product_secret`: a product-level secret (OneNET product key; Tlink account
    /// password; Tencent/Aliyun dynamic registration).
    ProductSecret,
    /// `key`: Aliyun's older name for `device_secret` (`device_secret` wins).
    KeyAlias,
    /// `method`: the signature method (cloud-specific names, any case).
    Method,
    /// `instance_id`: Aliyun new public or enterprise instance.
    InstanceId,
    /// `region`: Aliyun/Huawei region, Tencent region, Tuya data centre, Baidu region.
    Region,
    /// `endpoint`: Huawei access-point prefix (e.g. `5341624af8.st1`).
    Endpoint,
    /// `device_id`: Huawei device id (default `{product_id}_{device_name}`).
    DeviceId,
    /// `userid`: OneNET account user id (registration).
    UserId,
    /// `userkey`: OneNET account access key (registration).
    UserKey,
    /// `project_id`: Huawei project (registration).
    ProjectId,
    /// `iam_username`: Huawei IAM user (registration).
    IamUsername,
    /// `iam_password`: Huawei IAM password (registration).
    IamPassword,
    /// `iam_domain`: Huawei IAM account (registration).
    IamDomain,
    /// `host`: MQTT host instead of the cloud's.
    Host,
    /// `port` (LuatOS calls it `ip`): MQTT port instead of the cloud's.
    Port,
    /// `tls`: `true` (checked against the cloud's CA, or `server_cert`), `false` (plain
    /// TCP) or `insecure` (TLS without any certificate check, as LuatOS's `tls=true`).
    Tls,
    /// `server_cert`: PEM of the CA to check the server against (implies TLS).
    ServerCert,
    /// `client_cert`: PEM of the device certificate (certificate authentication).
    ClientCert,
    /// `client_key`: PEM of the device's private key (certificate authentication).
    ClientKey,
    /// `keepalive`: MQTT keep-alive in seconds.
    Keepalive,
    /// `timestamp`: `auto` (default), `now`, `luatos`, or Unix seconds to sign with.
    Timestamp,
    /// `conn_id`: Tencent's connection id (five letters; random by default).
    ConnId,
    /// `app_id`: Tencent's SDK app id.
    AppId,
    /// `luatos`: `true` to sign and choose endpoints exactly as LuatOS does.
    Luatos,
    /// `register_url`: the dynamic-registration endpoint instead of the cloud's (tests,
    /// private deployments; `http://` allowed).
    RegisterUrl,
    /// `register_flow`: Aliyun's registration flow, `https`, `register` (MQTT, pre-registered
    /// devices) or `regnwl` (MQTT, no pre-registration), default as LuatOS: `register` when
    /// `device_name` is given, `regnwl` otherwise. Tencent: what the product hands out, `key`
    /// (default) or `certificate`.
    RegisterFlow,
    /// `iam_url`: Huawei's IAM token URL instead of the cloud's (with `register_url`, the
    /// device-creation URL).
    IamUrl,
    /// `username`: the user name a standard MQTT broker (`mqtt`) is signed in to with.
    Username,
    /// `password`: its password.
    Password,
    /// `service_id`: Huawei's service that property reports go to (the data model).
    ServiceId,
}

impl Key {
    /// Every key, in documentation order.
    pub const ALL: [Key; 34] = [
        Key::ProductId,
        Key::ProdutId,
        Key::DeviceName,
        Key::DeviceSecret,
        Key::ProductSecret,
        Key::KeyAlias,
        Key::Method,
        Key::InstanceId,
        Key::Region,
        Key::Endpoint,
        Key::DeviceId,
        Key::UserId,
        Key::UserKey,
        Key::ProjectId,
        Key::IamUsername,
        Key::IamPassword,
        Key::IamDomain,
        Key::Host,
        Key::Port,
        Key::Tls,
        Key::ServerCert,
        Key::ClientCert,
        Key::ClientKey,
        Key::Keepalive,
        Key::Timestamp,
        Key::ConnId,
        Key::AppId,
        Key::Luatos,
        Key::RegisterUrl,
        Key::RegisterFlow,
        Key::IamUrl,
        Key::Username,
        Key::Password,
        Key::ServiceId,
    ];

    /// The key as users write it.
    pub const fn name(self) -> &'static str {
        match self {
            Key::ProductId => "product_id",
            Key::ProdutId => "produt_id",
            Key::DeviceName => "device_name",
            Key::DeviceSecret => "device_secret",
            Key::ProductSecret => "product_secret",
            Key::KeyAlias => "key",
            Key::Method => "method",
            Key::InstanceId => "instance_id",
            Key::Region => "region",
            Key::Endpoint => "endpoint",
            Key::DeviceId => "device_id",
            Key::UserId => "userid",
            Key::UserKey => "userkey",
            Key::ProjectId => "project_id",
            Key::IamUsername => "iam_username",
            Key::IamPassword => "iam_password",
            Key::IamDomain => "iam_domain",
            Key::Host => "host",
            Key::Port => "port",
            Key::Tls => "tls",
            Key::ServerCert => "server_cert",
            Key::ClientCert => "client_cert",
            Key::ClientKey => "client_key",
            Key::Keepalive => "keepalive",
            Key::Timestamp => "timestamp",
            Key::ConnId => "conn_id",
            Key::AppId => "app_id",
            Key::Luatos => "luatos",
            Key::RegisterUrl => "register_url",
            Key::RegisterFlow => "register_flow",
            Key::IamUrl => "iam_url",
            Key::Username => "username",
            Key::Password => "password",
            Key::ServiceId => "service_id",
        }
    }

    /// Parses a key name; `ip` is accepted as LuatOS's name for `port`, and `client_id` as
    /// the plain broker's name for `device_name`.
    pub fn from_name(name: &str) -> Option<Key> {
        match name {
            "ip" => return Some(Key::Port),
            "client_id" => return Some(Key::DeviceName),
            _ => {}
        }
        Key::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the value is a secret, never to be shown in `Debug` output or messages.
    pub const fn is_secret(self) -> bool {
        matches!(
            self,
            Key::DeviceSecret
                | Key::ProductSecret
                | Key::KeyAlias
                | Key::UserKey
                | Key::IamPassword
                | Key::ClientKey
                | Key::Password
        )
    }

    /// Whether every cloud reads this key: the device name and the connection settings.
    pub const fn is_common(self) -> bool {
        matches!(
            self,
            Key::DeviceName
                | Key::Host
                | Key::Port
                | Key::Tls
                | Key::ServerCert
                | Key::Keepalive
                | Key::Luatos
        )
    }

    /// Whether `cloud` reads this key ([`Cloud::reads`], from the clouds' one table).
    pub fn is_for(self, cloud: Cloud) -> bool {
        cloud.reads(self)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Longest value a configuration key takes, in bytes (PEM certificates and keys excepted).
pub const MAX_VALUE_LEN: usize = 512;

/// Why a configuration cannot make a provider. `Display` names the key at fault and never
/// shows a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError<'a> {
    /// The cloud name is not one of the seven (nor the alias `qcloud`).
    #[error("unknown cloud `{0}` (aliyun, tencent or qcloud, onenet, huawei, tuya, baidu, tlink)")]
    UnknownCloud(&'a str),
    /// The cloud exists but its Cargo feature is off in this build.
    #[error("support for {0} is not compiled in (enable the `{0}` feature of `iotcloud`)")]
    CloudNotEnabled(Cloud),
    /// No such key.
    #[error("unknown key `{0}`")]
    UnknownKey(&'a str),
    /// A key was given twice (`ip` and `port` are the same key).
    #[error("`{0}` given twice")]
    Duplicate(Key),
    /// The key exists but the chosen cloud does not read it.
    #[error("`{key}` is not used by {cloud}")]
    NotForCloud {
        /// The key.
        key: Key,
        /// The cloud.
        cloud: Cloud,
    },
    /// Two keys that choose different things were both given.
    #[error("`{0}` and `{1}` cannot be given together")]
    Conflict(Key, Key),
    /// A value could not be parsed.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidValue {
        /// The key.
        key: Key,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The provider refused the configuration (the error names the key).
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// A device's configuration, as `key=value` pairs with LuatOS's key names.
///
/// Values are borrowed; nothing is copied. Certificates and keys are PEM text. `Debug`
/// shows which keys are set and hides every secret's value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Config<'a> {
    values: [Option<&'a str>; Key::ALL.len()],
}

impl Default for Config<'_> {
    fn default() -> Self {
        Config::new()
    }
}

impl<'a> Config<'a> {
    /// An empty configuration.
    pub const fn new() -> Self {
        Config {
            values: [None; Key::ALL.len()],
        }
    }

    /// Sets `key` (by name) to `value`. Unknown keys and keys given twice are errors.
    pub fn set(&mut self, key: &'a str, value: &'a str) -> Result<(), ConfigError<'a>> {
        let k = Key::from_name(key).ok_or(ConfigError::UnknownKey(key))?;
        self.insert(k, value)
    }

    /// Sets `key` to `value`; a key given twice is an error, and so is a value longer than
    /// [`MAX_VALUE_LEN`] (certificates and keys in PEM excepted): no cloud takes one, and
    /// refusing it here names the key, where running out of signing room later would not.
    pub fn insert(&mut self, key: Key, value: &'a str) -> Result<(), ConfigError<'a>> {
        let pem = matches!(key, Key::ServerCert | Key::ClientCert | Key::ClientKey);
        if !pem && value.len() > MAX_VALUE_LEN {
            return Err(ConfigError::InvalidValue {
                key,
                reason: "longer than 512 bytes",
            });
        }
        let slot = &mut self.values[key.index()];
        if slot.is_some() {
            return Err(ConfigError::Duplicate(key));
        }
        *slot = Some(value);
        Ok(())
    }

    /// Builder form of [`Config::set`].
    pub fn with(mut self, key: &'a str, value: &'a str) -> Result<Self, ConfigError<'a>> {
        self.set(key, value)?;
        Ok(self)
    }

    /// Parses `key=value` pairs (as `iotcloud sign` takes them).
    pub fn from_pairs<I>(pairs: I) -> Result<Self, ConfigError<'a>>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut config = Config::new();
        for (k, v) in pairs {
            config.set(k, v)?;
        }
        Ok(config)
    }

    /// The value of `key`, if set. An empty value counts as not set, as in LuatOS.
    pub fn get(&self, key: Key) -> Option<&'a str> {
        self.values[key.index()].filter(|v| !v.is_empty())
    }

    /// The keys that are set.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        Key::ALL
            .into_iter()
            .filter(|k| self.values[k.index()].is_some())
    }

    /// The product id: `produt_id` when given (LuatOS lets the misspelling win), else
    /// `product_id`.
    pub fn product_id(&self) -> Option<&'a str> {
        self.get(Key::ProdutId).or(self.get(Key::ProductId))
    }

    /// Checks that every key set is read by `cloud`.
    pub fn check_keys(&self, cloud: Cloud) -> Result<(), ConfigError<'a>> {
        match self.keys().find(|k| !k.is_for(cloud)) {
            Some(key) => Err(ConfigError::NotForCloud { key, cloud }),
            None => Ok(()),
        }
    }

    /// `key`, which must be set: an error naming it otherwise.
    pub fn require(&self, key: Key) -> Result<&'a str, ConfigError<'a>> {
        self.get(key)
            .ok_or(ConfigError::Provider(ProviderError::MissingKey(key.name())))
    }

    /// The product id ([`Config::product_id`]), which must be set.
    pub fn require_product_id(&self) -> Result<&'a str, ConfigError<'a>> {
        self.product_id()
            .ok_or(ConfigError::Provider(ProviderError::MissingKey(
                "product_id",
            )))
    }

    /// `device_name`, else the module's `imei` (when the platform knows one), else an error
    /// naming `device_name`.
    pub fn device_name(&self, imei: Option<&'a str>) -> Result<&'a str, ConfigError<'a>> {
        self.get(Key::DeviceName)
            .or(imei.filter(|i| !i.is_empty()))
            .ok_or(ConfigError::Provider(ProviderError::MissingKey(
                "device_name",
            )))
    }

    /// The device certificate and key, if either is given (the provider checks that both
    /// are).
    pub fn client_identity(&self) -> Option<ClientIdentity<'a>> {
        match (self.get(Key::ClientCert), self.get(Key::ClientKey)) {
            (None, None) => None,
            (cert, key) => Some(ClientIdentity {
                cert_pem: cert.unwrap_or_default().as_bytes(),
                key_pem: key.unwrap_or_default().as_bytes(),
            }),
        }
    }

    /// The first of `keys` that is set.
    pub fn first_set(&self, keys: &[Key]) -> Option<Key> {
        keys.iter().copied().find(|k| self.get(*k).is_some())
    }

    /// Refuses keys of two modes given together: an error naming one of `a` and one of `b`
    /// when both have a key set.
    pub fn exclusive(&self, a: &[Key], b: &[Key]) -> Result<(), ConfigError<'static>> {
        match (self.first_set(a), self.first_set(b)) {
            (Some(x), Some(y)) => Err(ConfigError::Conflict(x, y)),
            _ => Ok(()),
        }
    }

    /// A boolean key: `true`/`false` (also `1`/`0`).
    pub(crate) fn flag(&self, key: Key) -> Result<Option<bool>, ConfigError<'a>> {
        self.get(key)
            .map(|v| match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ConfigError::InvalidValue {
                    key,
                    reason: "expected true or false",
                }),
            })
            .transpose()
    }

    /// A decimal number key.
    pub(crate) fn number<T: core::str::FromStr>(
        &self,
        key: Key,
        reason: &'static str,
    ) -> Result<Option<T>, ConfigError<'a>> {
        self.get(key)
            .map(|v| {
                if v.bytes().all(|b| b.is_ascii_digit()) {
                    v.parse().ok()
                } else {
                    None
                }
                .ok_or(ConfigError::InvalidValue { key, reason })
            })
            .transpose()
    }
}

impl fmt::Debug for Config<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for key in self.keys() {
            let value = self.values[key.index()].unwrap_or_default();
            if key.is_secret() {
                map.entry(&key.name(), &"<redacted>");
            } else {
                map.entry(&key.name(), &value);
            }
        }
        map.finish()
    }
}

/// Which timestamp to sign with (`timestamp=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// `auto`: the clock's time, and the cloud's clockless form while the device does not
    /// know the time (default; [`TimestampPolicy::Auto`](iotcloud_core::sign::TimestampPolicy)).
    Auto,
    /// `now`: the clock's time; signing fails while the device does not know it.
    Now,
    /// `luatos`: LuatOS's constant far-future timestamp.
    Luatos,
    /// Unix seconds.
    Unix(u64),
}

impl Timestamp {
    pub(crate) fn parse(value: &str) -> Result<Self, ConfigError<'static>> {
        match value {
            "auto" => Ok(Timestamp::Auto),
            "now" => Ok(Timestamp::Now),
            "luatos" => Ok(Timestamp::Luatos),
            _ if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => value
                .parse()
                .map(Timestamp::Unix)
                .map_err(|_| ConfigError::InvalidValue {
                    key: Key::Timestamp,
                    reason: "Unix seconds out of range",
                }),
            _ => Err(ConfigError::InvalidValue {
                key: Key::Timestamp,
                reason: "expected `auto`, `now`, `luatos` or Unix seconds",
            }),
        }
    }
}

/// The `tls` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `true`: TLS, the server checked against `server_cert` or the cloud's CAs.
    On,
    /// `false`: plain TCP.
    Off,
    /// `insecure`: TLS without checking the server at all (what LuatOS does with
    /// `tls=true`). Anyone on the path can read and change the traffic.
    Insecure,
}

impl TlsMode {
    pub(crate) fn parse(value: &str) -> Result<Self, ConfigError<'static>> {
        match value {
            "true" | "1" => Ok(TlsMode::On),
            "false" | "0" => Ok(TlsMode::Off),
            "insecure" => Ok(TlsMode::Insecure),
            _ => Err(ConfigError::InvalidValue {
                key: Key::Tls,
                reason: "expected true, false or insecure",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn every_key_name_parses_back_and_ip_is_port() {
        for k in Key::ALL {
            assert_eq!(Key::from_name(k.name()), Some(k));
        }
        assert_eq!(Key::from_name("ip"), Some(Key::Port));
        assert_eq!(Key::from_name("client_id"), Some(Key::DeviceName));
        assert_eq!(Key::from_name("pass"), None);
    }

    #[test]
    fn an_over_long_value_is_refused_by_its_key_but_pem_may_be_long() {
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        let mut c = Config::new();
        assert_eq!(
            c.set("device_name", &long),
            Err(ConfigError::InvalidValue {
                key: Key::DeviceName,
                reason: "longer than 512 bytes"
            })
        );
        c.set("device_name", &long[..MAX_VALUE_LEN]).unwrap();
        c.set("client_cert", &long).unwrap();
        let shown = ConfigError::InvalidValue {
            key: Key::DeviceSecret,
            reason: "longer than 512 bytes",
        }
        .to_string();
        assert!(!shown.contains("xxx"), "{shown}");
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Any pairs at all: parsing and building every cloud's provider never panics, and
        /// no error text shows a value (values may be secrets).
        #[test]
        fn any_configuration_is_refused_by_name_never_by_value(
            pairs in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        proptest::sample::select(Key::ALL.map(Key::name).to_vec())
                            .prop_map(std::string::String::from),
                        "[a-z_]{1,12}",
                    ],
                    "SECRET[ -~]{0,40}|SECRET.{0,600}",
                ),
                0..8,
            )
        ) {
            let config = Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let errors: std::vec::Vec<std::string::String> = match config {
                Err(e) => std::vec![e.to_string()],
                Ok(config) => crate::Cloud::ALL
                    .iter()
                    .filter_map(|&cloud| crate::AnyProvider::new(cloud, &config, None).err())
                    .map(|e| e.to_string())
                    .collect(),
            };
            for e in errors {
                proptest::prop_assert!(!e.contains("SECRET"), "{}", e);
            }
        }
    }

    #[test]
    fn unknown_and_duplicate_keys_are_named() {
        let mut c = Config::new();
        assert_eq!(
            c.set("devcie_name", "x"),
            Err(ConfigError::UnknownKey("devcie_name"))
        );
        c.set("port", "1").unwrap();
        assert_eq!(c.set("ip", "2"), Err(ConfigError::Duplicate(Key::Port)));
        assert_eq!(
            ConfigError::UnknownKey("devcie_name").to_string(),
            "unknown key `devcie_name`"
        );
    }

    #[test]
    fn produt_id_wins_and_empty_values_count_as_absent() {
        let c = Config::from_pairs([("product_id", "A"), ("produt_id", "B")]).unwrap();
        assert_eq!(c.product_id(), Some("B"));
        let c = Config::from_pairs([("product_id", "A"), ("produt_id", "")]).unwrap();
        assert_eq!(c.product_id(), Some("A"));
    }

    #[test]
    fn debug_hides_secret_values() {
        let c = Config::from_pairs([
            ("device_name", "dev1"),
            ("device_secret", "s3cr3t-value"),
            ("product_secret", "p-s3cr3t"),
            ("client_key", "-----BEGIN PRIVATE KEY-----"),
        ])
        .unwrap();
        let shown = std::format!("{c:?}");
        assert!(shown.contains("dev1"), "{shown}");
        for secret in ["s3cr3t-value", "p-s3cr3t", "PRIVATE KEY"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn timestamps_and_tls_modes_parse_or_name_the_key() {
        assert_eq!(Timestamp::parse("auto"), Ok(Timestamp::Auto));
        assert_eq!(Timestamp::parse("now"), Ok(Timestamp::Now));
        assert_eq!(Timestamp::parse("luatos"), Ok(Timestamp::Luatos));
        assert_eq!(
            Timestamp::parse("1700000000"),
            Ok(Timestamp::Unix(1_700_000_000))
        );
        for bad in ["", "-1", "1e9", "99999999999999999999999"] {
            assert!(matches!(
                Timestamp::parse(bad),
                Err(ConfigError::InvalidValue {
                    key: Key::Timestamp,
                    ..
                })
            ));
        }
        assert_eq!(TlsMode::parse("insecure"), Ok(TlsMode::Insecure));
        assert!(matches!(
            TlsMode::parse("yes"),
            Err(ConfigError::InvalidValue { key: Key::Tls, .. })
        ));
    }

    #[test]
    fn numbers_are_decimal_and_in_range() {
        let c = Config::from_pairs([("port", "70000"), ("keepalive", "+5")]).unwrap();
        assert!(c.number::<u16>(Key::Port, "port").is_err());
        assert!(c.number::<u16>(Key::Keepalive, "secs").is_err());
        let c = Config::from_pairs([("port", "8883")]).unwrap();
        assert_eq!(c.number::<u16>(Key::Port, "port"), Ok(Some(8883)));
    }
}
