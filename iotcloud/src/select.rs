//! From a [`Config`] to a provider: which mode the keys choose, and the settings every cloud
//! shares (host, port, TLS, keep-alive, timestamp).

use iotcloud_core::ProviderError;
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::sign::TimestampPolicy;
use iotcloud_core::transport::ServerAuth;

use crate::config::{Config, ConfigError, Key, Timestamp, TlsMode};
use crate::{AnyProvider, Cloud, clouds};

/// The arms of the match that builds the provider of each enabled cloud with the function
/// named after it.
macro_rules! build_arms {
    (($cloud:expr, $config:expr, $common:expr, $imei:expr) $(
        $(#[$doc:meta])*
        $variant:ident $name:literal [$($alias:literal)*] $module:ident $krate:ident :: $ty:ident
        [$($key:ident)*];
    )*) => {
        match $cloud {
            $(
                #[cfg(feature = $name)]
                Cloud::$variant => $module($config, $common, $imei).map(AnyProvider::$variant),
            )*
            #[allow(unreachable_patterns)]
            _ => Err(ConfigError::CloudNotEnabled($cloud)),
        }
    };
}

/// The provider of `cloud` from `config`; see [`AnyProvider::new`].
pub(crate) fn build<'a>(
    cloud: Cloud,
    config: &Config<'a>,
    imei: Option<&'a str>,
) -> Result<AnyProvider<'a>, ConfigError<'a>> {
    if !cloud.is_enabled() {
        return Err(ConfigError::CloudNotEnabled(cloud));
    }
    config.check_keys(cloud)?;
    let common = Common::parse(config)?;
    // Registration answers carry secrets: plain HTTP only when TLS is off on purpose.
    if config
        .get(Key::RegisterUrl)
        .is_some_and(|u| u.starts_with("http://"))
        && common.tls != Some(TlsMode::Off)
    {
        return Err(ConfigError::InvalidValue {
            key: Key::RegisterUrl,
            reason: "a plain http:// registration endpoint needs tls=false",
        });
    }
    clouds!(build_arms!((cloud, config, &common, imei)))
}

/// The keys every cloud reads, parsed.
struct Common<'a> {
    luatos: bool,
    timestamp: Option<Timestamp>,
    tls: Option<TlsMode>,
    server_cert: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<u16>,
    keep_alive: Option<u16>,
}

impl<'a> Common<'a> {
    fn parse(config: &Config<'a>) -> Result<Self, ConfigError<'a>> {
        Ok(Common {
            luatos: config.flag(Key::Luatos)?.unwrap_or(false),
            timestamp: config
                .get(Key::Timestamp)
                .map(Timestamp::parse)
                .transpose()?,
            tls: config.get(Key::Tls).map(TlsMode::parse).transpose()?,
            server_cert: config.get(Key::ServerCert),
            host: config.get(Key::Host),
            port: config.number(Key::Port, "expected a port number, 1 to 65535")?,
            keep_alive: config.number(Key::Keepalive, "expected seconds, 0 to 65535")?,
        })
        .and_then(|c| match c.port {
            Some(0) => Err(ConfigError::InvalidValue {
                key: Key::Port,
                reason: "expected a port number, 1 to 65535",
            }),
            _ => Ok(c),
        })
    }

    /// Host, port and TLS as the user chose them. `cloud_ca` is the cloud's bundled CA PEM
    /// (`None`: the cloud has none, so `tls=true` checks against the web PKI roots; empty:
    /// the provider was built without its `roots` feature, so `tls=true` needs
    /// `server_cert`).
    /// `luatos_plain`: with `luatos=true`, this mode is plain TCP in LuatOS.
    fn overrides(
        &self,
        cloud_ca: Option<&'static [u8]>,
        luatos_plain: bool,
    ) -> Result<EndpointOverrides<'a>, ConfigError<'a>> {
        let tls = match (self.tls, self.server_cert) {
            (Some(TlsMode::Off | TlsMode::Insecure), Some(_)) => {
                return Err(ConfigError::Conflict(Key::Tls, Key::ServerCert));
            }
            (Some(TlsMode::Off), None) => TlsChoice::Off,
            (Some(TlsMode::Insecure), None) => TlsChoice::On(ServerAuth::NoVerification),
            (Some(TlsMode::On), cert) | (None, cert @ Some(_)) => TlsChoice::On(match cert {
                Some(pem) => ServerAuth::CaPem(pem.as_bytes()),
                None => match cloud_ca {
                    None => ServerAuth::DefaultRoots,
                    Some([]) => {
                        return Err(ConfigError::Provider(ProviderError::Unsupported(
                            "TLS against the cloud's bundled CA certificates (built without \
                             the `roots` feature): give `server_cert`",
                        )));
                    }
                    Some(ca) => ServerAuth::CaPem(ca),
                },
            }),
            (None, None) if self.luatos && luatos_plain => TlsChoice::Off,
            (None, None) => TlsChoice::CloudDefault,
        };
        Ok(EndpointOverrides {
            host: self.host,
            port: self.port,
            tls,
            client: None,
        })
    }

    /// The timestamp policy: `luatos_value` is the constant LuatOS signs with, which the
    /// `timestamp` key reproduces byte for byte; other values are Unix seconds, converted
    /// to milliseconds for clouds that sign milliseconds.
    // Tlink signs without a timestamp: a build with Tlink alone has no use for this.
    #[cfg_attr(
        not(any(
            feature = "aliyun",
            feature = "tencent",
            feature = "onenet",
            feature = "huawei",
            feature = "tuya",
            feature = "baidu"
        )),
        allow(dead_code)
    )]
    fn timestamp(
        &self,
        luatos_value: u64,
        millis: bool,
    ) -> Result<TimestampPolicy, ConfigError<'a>> {
        Ok(match self.timestamp {
            None if self.luatos => TimestampPolicy::LuatosDefault,
            None | Some(Timestamp::Auto) => TimestampPolicy::Auto,
            Some(Timestamp::Now) => TimestampPolicy::Now,
            Some(Timestamp::Luatos) => TimestampPolicy::LuatosDefault,
            Some(Timestamp::Unix(t)) if t == luatos_value => TimestampPolicy::LuatosDefault,
            Some(Timestamp::Unix(t)) if millis => {
                TimestampPolicy::Fixed(t.checked_mul(1000).ok_or(ConfigError::InvalidValue {
                    key: Key::Timestamp,
                    reason: "Unix seconds out of range",
                })?)
            }
            Some(Timestamp::Unix(t)) => TimestampPolicy::Fixed(t),
        })
    }
}

#[cfg(feature = "aliyun")]
fn aliyun<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    imei: Option<&'a str>,
) -> Result<crate::aliyun::Aliyun<'a>, ConfigError<'a>> {
    use crate::aliyun::{Aliyun, DEFAULT_ROOTS, LUATOS_TIMESTAMP, SignMethod};
    let (pk, dn) = (config.require_product_id()?, config.device_name(imei)?);
    config.exclusive(&[Key::DeviceSecret, Key::KeyAlias], &[Key::ProductSecret])?;
    let mut p = match config.get(Key::ProductSecret) {
        Some(secret) => aliyun_registering(config, pk, dn, secret)?,
        None => {
            if let Some(key) = config.first_set(&[Key::RegisterUrl, Key::RegisterFlow]) {
                return Err(ConfigError::Conflict(key, Key::DeviceSecret));
            }
            // `key` is LuatOS's older name for `device_secret`, which wins.
            let secret = config
                .get(Key::DeviceSecret)
                .map(|s| (Key::DeviceSecret, s))
                .or(config.get(Key::KeyAlias).map(|s| (Key::KeyAlias, s)));
            match secret {
                Some((Key::KeyAlias, s)) => Aliyun::with_secret(pk, dn, s)
                    .map_err(|e| ConfigError::Provider(rename_key(e, "device_secret", "key")))?,
                Some((_, s)) => Aliyun::with_secret(pk, dn, s)?,
                None => {
                    return Err(ConfigError::Provider(ProviderError::MissingKey(
                        "device_secret",
                    )));
                }
            }
        }
    };
    if let Some(region) = config.get(Key::Region) {
        p = p.with_region(region)?;
    }
    if let Some(id) = config.get(Key::InstanceId) {
        p = p.with_instance_id(id)?;
    }
    match config.get(Key::Method) {
        Some(m) => p = p.with_sign_method(SignMethod::from_name(m)?),
        None if common.luatos => p = p.with_sign_method(SignMethod::HmacMd5),
        None => {}
    }
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs)?;
    }
    Ok(p.with_timestamp(common.timestamp(LUATOS_TIMESTAMP, true)?)
        .with_overrides(common.overrides(Some(DEFAULT_ROOTS), true)?))
}

/// An error about `from` told as one about `to`: the same value came under another key.
#[cfg(feature = "aliyun")]
fn rename_key(e: ProviderError, from: &'static str, to: &'static str) -> ProviderError {
    match e {
        ProviderError::MissingKey(k) if k == from => ProviderError::MissingKey(to),
        ProviderError::InvalidValue { key, reason } if key == from => {
            ProviderError::InvalidValue { key: to, reason }
        }
        other => other,
    }
}

/// Aliyun's registration, with the flow LuatOS would choose unless `register_flow` says.
#[cfg(feature = "aliyun")]
fn aliyun_registering<'a>(
    config: &Config<'a>,
    pk: &'a str,
    dn: &'a str,
    secret: &'a str,
) -> Result<crate::aliyun::Aliyun<'a>, ConfigError<'a>> {
    #[cfg(feature = "registration")]
    {
        use crate::aliyun::{Aliyun, DynamicFlow};
        let flow = match config.get(Key::RegisterFlow) {
            Some("https") => DynamicFlow::Https,
            Some("register") => DynamicFlow::Register,
            Some("regnwl") => DynamicFlow::Regnwl,
            Some(_) => {
                return Err(ConfigError::InvalidValue {
                    key: Key::RegisterFlow,
                    reason: "expected https, register or regnwl",
                });
            }
            // As LuatOS: a device with a name of its own is pre-registered.
            None if config.get(Key::DeviceName).is_some() => DynamicFlow::Register,
            None => DynamicFlow::Regnwl,
        };
        let mut p = Aliyun::registering(pk, dn, secret, flow)?;
        if config.flag(Key::Luatos)? == Some(true) {
            p = p.with_regnwl_on_public_instance();
        }
        if let Some(url) = config.get(Key::RegisterUrl) {
            p = p.with_register_url(url)?;
        }
        Ok(p)
    }
    #[cfg(not(feature = "registration"))]
    {
        let _ = (config, pk, dn, secret);
        Err(ConfigError::Provider(NO_REGISTRATION))
    }
}

/// A configuration that registers, in a build without registration.
#[cfg(not(feature = "registration"))]
const NO_REGISTRATION: ProviderError = ProviderError::Unsupported(
    "dynamic registration (iotcloud built without its `registration` feature)",
);

#[cfg(feature = "tencent")]
fn tencent<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    imei: Option<&'a str>,
) -> Result<crate::tencent::Tencent<'a>, ConfigError<'a>> {
    use crate::tencent::{
        DEFAULT_ROOTS, LUATOS_APP_ID, LUATOS_TIMESTAMP, Region, SignMethod, Tencent,
    };
    let (pid, dn) = (config.require_product_id()?, config.device_name(imei)?);
    let cert = [Key::ClientCert, Key::ClientKey];
    config.exclusive(&[Key::DeviceSecret], &cert)?;
    config.exclusive(
        &[Key::DeviceSecret, Key::ClientCert, Key::ClientKey],
        &[Key::ProductSecret],
    )?;
    let (mut p, key_mode) = match (config.get(Key::DeviceSecret), config.client_identity()) {
        (Some(secret), _) => (Tencent::with_secret(pid, dn, secret)?, true),
        (None, Some(identity)) => (Tencent::with_certificate(pid, dn, identity)?, false),
        (None, None) if config.get(Key::ProductSecret).is_some() => {
            tencent_registering(config, common, pid, dn)?
        }
        (None, None) => {
            return Err(ConfigError::Provider(ProviderError::MissingKey(
                "device_secret",
            )));
        }
    };
    if let Some(region) = config.get(Key::Region) {
        p = p.with_region(Region::from_name(region)?)?;
    }
    if let Some(m) = config.get(Key::Method) {
        p = p.with_sign_method(SignMethod::from_name(m)?);
    }
    if let Some(id) = config.get(Key::ConnId) {
        p = p.with_conn_id(id)?;
    }
    match config.get(Key::AppId) {
        Some(id) => p = p.with_app_id(id)?,
        None if common.luatos => p = p.with_app_id(LUATOS_APP_ID)?,
        None => {}
    }
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs)?;
    }
    Ok(p.with_timestamp(common.timestamp(LUATOS_TIMESTAMP, false)?)
        .with_overrides(common.overrides(Some(DEFAULT_ROOTS), key_mode)?))
}

/// Tencent's registration; whether the product hands out a key (and so which port).
#[cfg(feature = "tencent")]
fn tencent_registering<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    pid: &'a str,
    dn: &'a str,
) -> Result<(crate::tencent::Tencent<'a>, bool), ConfigError<'a>> {
    #[cfg(feature = "registration")]
    {
        use crate::tencent::{AuthMode, RegisterApi, Tencent};
        let mut p = Tencent::registering(pid, dn, config.require(Key::ProductSecret)?)?;
        // What the product hands out decides the port before anything is obtained.
        let key = match config.get(Key::RegisterFlow) {
            None | Some("key") => true,
            Some("certificate") => false,
            Some(_) => {
                return Err(ConfigError::InvalidValue {
                    key: Key::RegisterFlow,
                    reason: "Tencent products hand out a key or a certificate",
                });
            }
        };
        if !key {
            p = p.with_registered_auth(AuthMode::Certificate);
        }
        if common.luatos {
            p = p.with_register_api(RegisterApi::Legacy);
        }
        if let Some(url) = config.get(Key::RegisterUrl) {
            p = p.with_register_url(url)?;
        }
        Ok((p, key))
    }
    #[cfg(not(feature = "registration"))]
    {
        let _ = (config, common, pid, dn);
        Err(ConfigError::Provider(NO_REGISTRATION))
    }
}

#[cfg(feature = "onenet")]
fn onenet<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    imei: Option<&'a str>,
) -> Result<crate::onenet::OneNet<'a>, ConfigError<'a>> {
    use crate::onenet::{DEFAULT_ROOTS, LUATOS_EXPIRY, OneNet, SignMethod};
    let (pid, dn) = (config.require_product_id()?, config.device_name(imei)?);
    let account = [Key::UserId, Key::UserKey];
    config.exclusive(&[Key::DeviceSecret], &[Key::ProductSecret])?;
    config.exclusive(&[Key::DeviceSecret, Key::ProductSecret], &account)?;
    let mut p = match (
        config.get(Key::DeviceSecret),
        config.get(Key::ProductSecret),
    ) {
        (Some(key), _) => OneNet::with_secret(pid, dn, key)?,
        (None, Some(key)) => OneNet::with_product_secret(pid, dn, key)?,
        (None, None) if config.first_set(&account).is_some() => {
            onenet_registering(config, pid, dn)?
        }
        (None, None) => {
            return Err(ConfigError::Provider(ProviderError::MissingKey(
                "device_secret",
            )));
        }
    };
    match config.get(Key::Method) {
        Some(m) => p = p.with_sign_method(SignMethod::from_name(m)?),
        None if common.luatos => p = p.with_sign_method(SignMethod::MD5),
        None => {}
    }
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs)?;
    }
    Ok(p.with_timestamp(common.timestamp(LUATOS_EXPIRY, false)?)
        .with_overrides(common.overrides(Some(DEFAULT_ROOTS), true)?))
}

/// OneNET's registration with a user account.
#[cfg(feature = "onenet")]
fn onenet_registering<'a>(
    config: &Config<'a>,
    pid: &'a str,
    dn: &'a str,
) -> Result<crate::onenet::OneNet<'a>, ConfigError<'a>> {
    #[cfg(feature = "registration")]
    {
        use crate::onenet::OneNet;
        let user = config.require(Key::UserId)?;
        let mut p = OneNet::registering_with_user(pid, dn, user, config.require(Key::UserKey)?)?;
        if let Some(url) = config.get(Key::RegisterUrl) {
            p = p.with_register_url(url)?;
        }
        Ok(p)
    }
    #[cfg(not(feature = "registration"))]
    {
        let _ = (config, pid, dn);
        Err(ConfigError::Provider(NO_REGISTRATION))
    }
}

#[cfg(feature = "huawei")]
fn huawei<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    imei: Option<&'a str>,
) -> Result<crate::huawei::Huawei<'a>, ConfigError<'a>> {
    use crate::huawei::{DEFAULT_ROOTS, LUATOS_TIMESTAMP};
    let registration = [
        Key::ProjectId,
        Key::IamUsername,
        Key::IamPassword,
        Key::IamDomain,
    ];
    let mut p = if config.first_set(&registration).is_some() {
        config.exclusive(
            &registration,
            &[Key::DeviceSecret, Key::ClientCert, Key::DeviceId],
        )?;
        huawei_registering(config, imei)?
    } else {
        huawei_with_credentials(config, imei)?
    };
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs)?;
    }
    if let Some(service) = config.get(Key::ServiceId) {
        p = p.with_service_id(service)?;
    }
    Ok(p.with_timestamp(common.timestamp(LUATOS_TIMESTAMP, false)?)
        .with_overrides(common.overrides(Some(DEFAULT_ROOTS), false)?))
}

/// As LuatOS: the IAM account creates the device, and `endpoint` names both the
/// device-side host and (by LuatOS's pattern) the application-side one.
#[cfg(feature = "huawei")]
fn huawei_registering<'a>(
    config: &Config<'a>,
    imei: Option<&'a str>,
) -> Result<crate::huawei::Huawei<'a>, ConfigError<'a>> {
    #[cfg(feature = "registration")]
    {
        use crate::huawei::{DEFAULT_REGION, Huawei, IamAccount};
        let endpoint = config.require(Key::Endpoint)?;
        let iam = IamAccount {
            project_id: config.require(Key::ProjectId)?,
            domain: config.require(Key::IamDomain)?,
            username: config.require(Key::IamUsername)?,
            password: iotcloud_core::sign::Secret::new(config.require(Key::IamPassword)?),
            app_endpoint: endpoint,
            region: config.get(Key::Region).unwrap_or(DEFAULT_REGION),
        };
        let p = Huawei::registering_with_iam(
            config.require_product_id()?,
            config.device_name(imei)?,
            iam,
        )?
        .with_luatos_app_endpoint()?
        .with_endpoint(endpoint)?;
        match (config.get(Key::IamUrl), config.get(Key::RegisterUrl)) {
            (Some(iam_url), Some(app_url)) => Ok(p.with_register_urls(iam_url, app_url)?),
            (None, None) => Ok(p),
            (None, Some(_)) => Err(ConfigError::Provider(ProviderError::MissingKey("iam_url"))),
            (Some(_), None) => Err(ConfigError::Provider(ProviderError::MissingKey(
                "register_url",
            ))),
        }
    }
    #[cfg(not(feature = "registration"))]
    {
        let _ = (config, imei);
        Err(ConfigError::Provider(NO_REGISTRATION))
    }
}

/// A device secret or certificate, for `device_id` or `product_id` + `device_name`.
#[cfg(feature = "huawei")]
fn huawei_with_credentials<'a>(
    config: &Config<'a>,
    imei: Option<&'a str>,
) -> Result<crate::huawei::Huawei<'a>, ConfigError<'a>> {
    use crate::huawei::{DeviceId, Huawei};
    let device_id = match config.get(Key::DeviceId) {
        Some(id) => DeviceId::new(id)?,
        None => match config.product_id() {
            Some(pid) => DeviceId::from_node(pid, config.device_name(imei)?)?,
            None => {
                return Err(ConfigError::Provider(ProviderError::MissingKey(
                    "device_id",
                )));
            }
        },
    };
    config.exclusive(&[Key::DeviceSecret], &[Key::ClientCert, Key::ClientKey])?;
    let mut p = match (config.get(Key::DeviceSecret), config.client_identity()) {
        (Some(secret), _) => Huawei::with_secret(device_id, secret)?,
        (None, Some(identity)) => Huawei::with_certificate(device_id, identity)?,
        (None, None) => {
            return Err(ConfigError::Provider(ProviderError::MissingKey(
                "device_secret",
            )));
        }
    };
    if let Some(endpoint) = config.get(Key::Endpoint) {
        p = p.with_endpoint(endpoint)?;
    }
    if let Some(region) = config.get(Key::Region) {
        p = p.with_region(region)?;
    }
    Ok(p)
}

#[cfg(feature = "tuya")]
fn tuya<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    // The Tuya device id comes from Tuya; an IMEI is never one.
    _imei: Option<&'a str>,
) -> Result<crate::tuya::Tuya<'a>, ConfigError<'a>> {
    use crate::tuya::{DEFAULT_ROOTS, DataCenter, LUATOS_TIMESTAMP, SecretKey, SignMethod, Tuya};
    let id = config.require(Key::DeviceName)?;
    let mut p = Tuya::with_secret(id, config.require(Key::DeviceSecret)?)?;
    if let Some(dc) = config.get(Key::Region) {
        p = p.with_data_center(DataCenter::from_name(dc)?);
    }
    if let Some(m) = config.get(Key::Method) {
        p = p.with_sign_method(SignMethod::from_name(m)?);
    }
    if common.luatos {
        p = p.with_secret_key(SecretKey::Whole);
    }
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs)?;
    }
    Ok(p.with_timestamp(common.timestamp(LUATOS_TIMESTAMP, false)?)
        .with_overrides(common.overrides(Some(DEFAULT_ROOTS), false)?))
}

#[cfg(feature = "baidu")]
fn baidu<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    imei: Option<&'a str>,
) -> Result<crate::baidu::Baidu<'a>, ConfigError<'a>> {
    use crate::baidu::{Baidu, ClientId, DEFAULT_ROOTS, Region, SignMethod};
    let (core, dn) = (config.require_product_id()?, config.device_name(imei)?);
    config.exclusive(&[Key::DeviceSecret], &[Key::ClientCert, Key::ClientKey])?;
    let (mut p, key_mode) = match (config.get(Key::DeviceSecret), config.client_identity()) {
        (Some(secret), _) => (Baidu::with_secret(core, dn, secret)?, true),
        (None, Some(identity)) => (Baidu::with_certificate(core, dn, identity)?, false),
        (None, None) => {
            return Err(ConfigError::Provider(ProviderError::MissingKey(
                "device_secret",
            )));
        }
    };
    if let Some(region) = config.get(Key::Region) {
        p = p.with_region(Region::from_name(region)?)?;
    }
    if let Some(m) = config.get(Key::Method) {
        p = p.with_sign_method(SignMethod::from_name(m)?);
    }
    if common.luatos {
        p = p.with_client_id(if key_mode {
            ClientId::CoreId
        } else {
            ClientId::Empty
        })?;
    }
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs)?;
    }
    Ok(p.with_timestamp(common.timestamp(0, false)?)
        .with_overrides(common.overrides(Some(DEFAULT_ROOTS), key_mode)?))
}

#[cfg(feature = "tlink")]
fn tlink<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    imei: Option<&'a str>,
) -> Result<crate::tlink::Tlink<'a>, ConfigError<'a>> {
    use crate::tlink::Tlink;
    let serial = config.device_name(imei)?;
    let account = config.require_product_id()?;
    let mut p = Tlink::with_secret(account, serial, config.require(Key::ProductSecret)?)?;
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs)?;
    }
    Ok(p.with_overrides(common.overrides(None, true)?))
}

#[cfg(feature = "mqtt")]
fn mqtt<'a>(
    config: &Config<'a>,
    common: &Common<'a>,
    imei: Option<&'a str>,
) -> Result<crate::plain::PlainMqtt<'a>, ConfigError<'a>> {
    use crate::plain::PlainMqtt;
    let host = config.require(Key::Host)?;
    let client_id = config.device_name(imei)?;
    let tls = common.overrides(None, false)?.tls;
    let port = common.port.unwrap_or(match tls {
        TlsChoice::On(_) => 8883,
        _ => 1883,
    });
    let mut p = PlainMqtt::new(host, port, client_id)?;
    if let TlsChoice::On(server) = tls {
        p = p.with_tls(server);
    }
    match (config.get(Key::Username), config.get(Key::Password)) {
        (Some(user), Some(password)) => p = p.with_login(user, password),
        (Some(user), None) => p = p.with_username(user),
        (None, Some(_)) => {
            return Err(ConfigError::Provider(ProviderError::MissingKey("username")));
        }
        (None, None) => {}
    }
    if let Some(secs) = common.keep_alive {
        p = p.with_keep_alive(secs);
    }
    Ok(p)
}
