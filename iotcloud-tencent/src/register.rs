//! Dynamic registration ("one product, one secret"): the device proves it knows the
//! product secret, and Tencent answers with the device's own credentials, AES-encrypted
//! under that secret (clouds-official §2.3).
//!
//! The request is built and signed here, and the answer read, decrypted in place and
//! turned into a record (see [`Registered`]); the device runs the exchange.

use aes::Aes128;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use iotcloud_core::http::{Scheme, Url};
use iotcloud_core::json::{Kind, Value};
use iotcloud_core::provider::TlsChoice;
use iotcloud_core::register::{
    AnswerError, Answered, Fields, HttpRequest, RegisterAnswer, RegisterContext, RegisterError,
    RegisterRequest, Registration, RegistrationId, Rejection,
};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Algorithm, Base64, Decimal, Digest, Secret, base64_decode, hash, hmac};
use iotcloud_core::transport::{Endpoint, TransportCaps};
use iotcloud_core::{ClientIdentity, ProviderError, ServerAuth};

use crate::{
    Auth, AuthMode, DEFAULT_ROOTS, MAX_PSK_LEN, Region, RegisterApi, SignMethod, Tencent,
    check_device_secret,
};

/// The IV of the answer's cipher: sixteen ASCII `'0'` (0x30), not zero bytes.
const IV: [u8; 16] = [b'0'; 16];

/// Record tag of a key-authentication record: `["psk", psk (base64)]`.
const TAG_PSK: &[u8] = b"psk";

/// Record tag of a certificate record:
/// `["clientCert", certificate PEM, "clientKey", private key PEM]`.
const TAG_CERT: &[u8] = b"clientCert";
/// Record name of the private key that follows the certificate.
const TAG_KEY: &[u8] = b"clientKey";

/// Where and how a registering device registers: the settings of
/// [`Tencent::with_register_api`], [`Tencent::with_register_url`],
/// [`Tencent::with_register_region`] and [`Tencent::with_register_server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RegisterSettings<'a> {
    api: RegisterApi,
    url: Option<Url<'a>>,
    region: Option<Region>,
    /// `None`: the API's own ([`RegisterApi::default_server`]).
    server: Option<ServerAuth<'a>>,
}

impl RegisterSettings<'_> {
    /// The current API at the product region's host, checked as that API's clients check
    /// it.
    pub(crate) const DEFAULT: Self = RegisterSettings {
        api: RegisterApi::Current,
        url: None,
        region: None,
        server: None,
    };
}

impl RegisterApi {
    /// How the API's server is checked unless told otherwise. The current API
    /// (`/device/register` on `ap-guangzhou.gateway.tencentdevices.com`) against the
    /// platform's public roots (`ServerAuth::DefaultRoots`), as the clients Tencent publishes
    /// for it do (its Java SDK uses the system's trust store); which public root serves the
    /// host is UNCONFIRMED. The legacy API (`/register/dev` on `gateway.tencentdevices.com`)
    /// against [`DEFAULT_ROOTS`], the "Tencent Iothub" root its C SDK pins.
    pub fn default_server(self) -> ServerAuth<'static> {
        match self {
            RegisterApi::Current => ServerAuth::DefaultRoots,
            RegisterApi::Legacy => ServerAuth::CaPem(DEFAULT_ROOTS),
        }
    }
}

/// What a registration record holds, read back from its [`Fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registered<'r> {
    /// `encryptionType` 2: the device secret (base64 PSK), used as `Tencent::with_secret`
    /// would.
    Psk(Secret<'r>),
    /// `encryptionType` 1: a client certificate and key, used as
    /// `Tencent::with_certificate` would.
    Certificate(ClientIdentity<'r>),
}

impl<'r> Registered<'r> {
    /// Reads a record this module wrote; `None` for anything else.
    pub(crate) fn parse(record: &'r [u8]) -> Option<Self> {
        let mut fields = Fields::read(record);
        let tag = fields.next()?;
        let parsed = if tag == TAG_PSK {
            Registered::Psk(Secret::new(fields.next_str()?))
        } else if tag == TAG_CERT {
            let cert_pem = fields.next()?;
            if fields.next()? != TAG_KEY {
                return None;
            }
            Registered::Certificate(ClientIdentity {
                cert_pem,
                key_pem: fields.next()?,
            })
        } else {
            return None;
        };
        fields.next().is_none().then_some(parsed)
    }

    /// Key or certificate.
    pub(crate) fn mode(&self) -> AuthMode {
        match self {
            Registered::Psk(_) => AuthMode::Key,
            Registered::Certificate(_) => AuthMode::Certificate,
        }
    }
}

/// The credentials a registering device expecting `expect` signs with: those of its
/// record.
pub(crate) fn auth_from_record(
    registered: Option<&[u8]>,
    expect: AuthMode,
) -> Result<Auth<'_>, ProviderError> {
    let record = registered.ok_or(ProviderError::InvalidValue {
        key: "registration",
        reason: "no registration record: register the device first",
    })?;
    let parsed = Registered::parse(record).ok_or(ProviderError::InvalidValue {
        key: "registration",
        reason: "the stored record is not a Tencent registration record",
    })?;
    if parsed.mode() != expect {
        return Err(ProviderError::InvalidValue {
            key: "registered_auth",
            reason: "the stored record is of the other authentication mode; forget the \
                     registration or change `registered_auth`",
        });
    }
    Ok(match parsed {
        Registered::Psk(psk) => Auth::Key(psk),
        Registered::Certificate(identity) => Auth::Certificate(identity),
    })
}

/// Everything a registration needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RegisterConfig<'c> {
    pub product_id: &'c str,
    pub device_name: &'c str,
    pub product_secret: Secret<'c>,
    pub api: RegisterApi,
    pub url: Url<'c>,
    pub server: ServerAuth<'c>,
    pub method: SignMethod,
    pub expect: AuthMode,
}

impl<'a> Tencent<'a> {
    /// What the product hands out on registration (registering devices only; ignored
    /// otherwise): [`AuthMode::Key`] (default; plain TCP on 1883) or
    /// [`AuthMode::Certificate`] (TLS on 8883 with the registered certificate). It is set
    /// per product in the console, and has to be known before the record exists because it
    /// decides the port; an answer of the other kind is refused as a configuration error.
    pub fn with_registered_auth(mut self, mode: AuthMode) -> Self {
        if let Auth::Dynamic { expect, .. } = &mut self.auth {
            *expect = mode;
        }
        self
    }

    /// Which registration API to call: [`RegisterApi::Current`] (default) or
    /// [`RegisterApi::Legacy`], the `/register/dev` API LuatOS uses.
    pub fn with_register_api(mut self, api: RegisterApi) -> Self {
        self.register.api = api;
        self
    }

    /// The registration endpoint instead of Tencent's (`http://…` or `https://…`), e.g. a
    /// test server. A URL without a path gets the API's path ([`RegisterApi::path`]).
    pub fn with_register_url(mut self, url: &'a str) -> Result<Self, ProviderError> {
        let parsed = Url::parse(url).map_err(|_| ProviderError::InvalidValue {
            key: "register_url",
            reason: "not an http:// or https:// URL with a valid host and port",
        })?;
        self.register.url = Some(parsed);
        Ok(self)
    }

    /// The region whose registration host to use ([`Region::register_host`]); default the
    /// product's region ([`Tencent::with_region`]).
    pub fn with_register_region(mut self, region: Region) -> Self {
        self.register.region = Some(region);
        self
    }

    /// How the registration server is checked over HTTPS. Default: the API's own
    /// ([`RegisterApi::default_server`]): the platform's public roots for the current API
    /// (on a device, a platform built with its public roots, e.g. hal-ec618's `public-roots`
    /// feature), the "Tencent Iothub" root of [`CA_PEM`](crate::CA_PEM) for the legacy one.
    pub fn with_register_server(mut self, server: ServerAuth<'a>) -> Self {
        self.register.server = Some(server);
        self
    }

    /// The registration API's URL: the override, or `https://{host}{path}` of the region.
    pub fn register_url(&self) -> Url<'a> {
        let settings = self.register;
        let path = settings.api.path();
        match settings.url {
            Some(url) if url.path == "/" => Url { path, ..url },
            Some(url) => url,
            None => Url {
                scheme: Scheme::Https,
                host: settings
                    .region
                    .unwrap_or(self.region)
                    .register_host(settings.api),
                port: Scheme::Https.default_port(),
                path,
            },
        }
    }

    /// The registration this configuration performs, if it is a registering one.
    pub(crate) fn registration_config(&self) -> Option<RegisterConfig<'a>> {
        let Auth::Dynamic {
            product_secret,
            expect,
        } = self.auth
        else {
            return None;
        };
        Some(RegisterConfig {
            product_id: self.product_id,
            device_name: self.device_name,
            product_secret,
            api: self.register.api,
            url: self.register_url(),
            server: self
                .register
                .server
                .unwrap_or(self.register.api.default_server()),
            method: self.method,
            expect,
        })
    }

    fn registration_or_refuse(&self) -> Result<RegisterConfig<'a>, ProviderError> {
        self.registration_config().ok_or(ProviderError::Unsupported(
            "registration: only `Tencent::registering` devices register",
        ))
    }
}

impl Registration for Tencent<'_> {
    fn id(&self) -> RegistrationId<'_> {
        RegistrationId {
            product: self.product_id,
            device: self.device_name,
        }
    }

    /// One `POST` to the registration API ([`Tencent::with_register_api`]), signed with the
    /// clock's time and a random nonce: the current API's body and `X-TC-*` headers, or the
    /// legacy API's body with the signature in it.
    fn request<'s>(
        &'s self,
        _step: u8,
        _carry: &'s [u8],
        ctx: &RegisterContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        let reg = self.registration_or_refuse()?;
        if reg.url.scheme == Scheme::Https
            && matches!(reg.server, ServerAuth::CaPem(pem) if pem.is_empty())
        {
            return Err(ProviderError::Unsupported(
                "checking the registration server against the bundled roots (built without \
                 the `roots` feature): give a CA with `with_register_server`",
            ));
        }
        let now_secs = ctx.unix_time_ms.ok_or(ProviderError::TimeUnknown)? / 1000;
        // A positive 31-bit integer, as Tencent's SDKs send.
        let nonce = 1 + ctx.random % 2_147_483_646;
        let signed = sign_request(&reg, now_secs, nonce, scratch)?;
        let request = HttpRequest::post(reg.url, reg.server, signed.body.as_bytes());
        let request = match reg.api {
            RegisterApi::Current => request
                .header("Content-Type", "application/json")?
                .header("Accept", "application/json")?
                .header("X-TC-Algorithm", reg.method.name())?
                .header("X-TC-Timestamp", signed.timestamp)?
                .header("X-TC-Nonce", signed.nonce)?
                .header("X-TC-Signature", signed.signature)?,
            RegisterApi::Legacy => request
                .header("Content-Type", "application/json;charset=UTF-8")?
                .header("Accept", "application/json")?,
        };
        Ok(RegisterRequest::Http(request))
    }

    /// Decrypts the answer in place and writes the record: `["psk", psk]` or
    /// `["clientCert", certificate PEM, "clientKey", key PEM]`
    /// ([`Fields`]).
    fn answer(
        &self,
        _step: u8,
        answer: RegisterAnswer<'_>,
        out: &mut [u8],
        _carry: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        let reg = self.registration_or_refuse()?;
        let RegisterAnswer::Http(http) = answer else {
            return Err(RegisterError::BadResponse(
                "Tencent answers registrations over HTTP",
            ));
        };
        read_answer(http.status, http.body, &reg, out).map(Answered::Record)
    }

    /// The certificate and key of a certificate record; `None` for a key record, or when
    /// this device does not register.
    fn identity<'r>(&self, record: &'r [u8]) -> Option<ClientIdentity<'r>> {
        if !self.is_dynamic() {
            return None;
        }
        match Registered::parse(record)? {
            Registered::Certificate(identity) => Some(identity),
            Registered::Psk(_) => None,
        }
    }

    /// A registered key device connects as a key device does: TLS-PSK on 8883 keyed with the
    /// secret it obtained, where the transport has TLS-PSK and the TLS choice is left to the
    /// cloud; otherwise the provider's endpoint (plain TCP on 1883).
    fn registered_endpoint<'s>(
        &'s self,
        record: &'s [u8],
        caps: TransportCaps,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Endpoint<'s>>, ProviderError> {
        if !self.is_dynamic()
            || !caps.psk
            || !matches!(self.connection.overrides.tls, TlsChoice::CloudDefault)
        {
            return Ok(None);
        }
        let Some(Registered::Psk(secret)) = Registered::parse(record) else {
            return Ok(None);
        };
        let host = self.mqtt_host(scratch)?;
        self.psk_endpoint(host, secret, scratch).map(Some)
    }
}

/// The signed request: body and header values, written into a scratch buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed<'s> {
    pub body: &'s str,
    pub timestamp: &'s str,
    pub nonce: &'s str,
    pub signature: &'s str,
}

/// Builds the body and signature of a registration at `now_secs` with `nonce`.
pub(crate) fn sign_request<'s>(
    reg: &RegisterConfig<'_>,
    now_secs: u64,
    nonce: u64,
    scratch: &mut Scratch<'s>,
) -> Result<Signed<'s>, ProviderError> {
    let (pid, dn) = (reg.product_id, reg.device_name);
    let timestamp = scratch.copy(Decimal::new(now_secs).as_str())?;
    let nonce_text = scratch.copy(Decimal::new(nonce).as_str())?;
    match reg.api {
        RegisterApi::Current => {
            let body = scratch.format(format_args!(
                r#"{{"ProductId":"{pid}","DeviceName":"{dn}"}}"#
            ))?;
            let mac = current_signature(reg, timestamp, nonce_text, body.as_bytes())?;
            let signature = scratch.format(format_args!("{}", mac.base64()))?;
            Ok(Signed {
                body,
                timestamp,
                nonce: nonce_text,
                signature,
            })
        }
        RegisterApi::Legacy => {
            let mac = legacy_mac(reg.product_secret.expose(), pid, dn, nonce, now_secs)?;
            let mut hex = [0u8; 64];
            let hex = hex_into(mac.as_bytes(), &mut hex);
            let signature = scratch.format(format_args!("{}", Base64(hex)))?;
            let body = scratch.format(format_args!(
                r#"{{"deviceName":"{dn}","nonce":{nonce},"productId":"{pid}","timestamp":{now_secs},"signature":"{signature}"}}"#
            ))?;
            Ok(Signed {
                body,
                timestamp,
                nonce: nonce_text,
                signature,
            })
        }
    }
}

/// `HMAC-{alg}(ProductSecret, StringToSign)` of the current API, where StringToSign is
/// the seven lines of clouds-official §2.3.1. The host line is the `Host` header the
/// request carries (with `:port` when it is not the scheme's default), the URI and query
/// are the URL's path split at `?`.
pub(crate) fn current_signature(
    reg: &RegisterConfig<'_>,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Result<Digest, ProviderError> {
    let alg = reg.method.algorithm();
    let (uri, query) = reg.url.path.split_once('?').unwrap_or((reg.url.path, ""));
    let port = Decimal::new(u64::from(reg.url.port));
    let (colon, port): (&[u8], &[u8]) = if reg.url.port == reg.url.scheme.default_port() {
        (b"", b"")
    } else {
        (b":", port.as_bytes())
    };
    let mut body_hex = [0u8; 64];
    let body_hex = hex_into(hash(alg, &[body])?.as_bytes(), &mut body_hex);
    let parts: [&[u8]; 16] = [
        b"POST\n",
        reg.url.host.as_bytes(),
        colon,
        port,
        b"\n",
        uri.as_bytes(),
        b"\n",
        query.as_bytes(),
        b"\n",
        reg.method.name().as_bytes(),
        b"\n",
        timestamp.as_bytes(),
        b"\n",
        nonce.as_bytes(),
        b"\n",
        body_hex,
    ];
    hmac(alg, reg.product_secret.expose().as_bytes(), &parts)
}

/// Lower-case hex of up to 32 bytes.
fn hex_into<'o>(bytes: &[u8], out: &'o mut [u8; 64]) -> &'o [u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let n = bytes.len().min(32);
    for (i, b) in bytes[..n].iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    &out[..2 * n]
}

/// `HMAC-SHA1(ProductSecret, "deviceName=…&nonce=…&productId=…&timestamp=…")` of the
/// legacy API; the signature is the base64 of its lower-case **hex** (luatos §3.1).
pub(crate) fn legacy_mac(
    product_secret: &str,
    product_id: &str,
    device_name: &str,
    nonce: u64,
    timestamp: u64,
) -> Result<Digest, ProviderError> {
    hmac(
        Algorithm::Sha1,
        product_secret.as_bytes(),
        &[
            b"deviceName=",
            device_name.as_bytes(),
            b"&nonce=",
            Decimal::new(nonce).as_bytes(),
            b"&productId=",
            product_id.as_bytes(),
            b"&timestamp=",
            Decimal::new(timestamp).as_bytes(),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// The answer.

/// An answer whose members are not of the kinds Tencent's answers have (a string where a
/// number belongs, an `Error` without `Code`): it is read as no answer at all.
struct Unreadable;

/// The optional member `key` of kind `kind`: absent or `null` is `None`.
fn member<'a>(object: Value<'a>, key: &str, kind: Kind) -> Result<Option<Value<'a>>, Unreadable> {
    match object.get(key) {
        None => Ok(None),
        Some(m) if m.kind() == Kind::Null => Ok(None),
        Some(m) if m.kind() == kind => Ok(Some(m)),
        Some(_) => Err(Unreadable),
    }
}

/// The optional member `key`, a non-negative integer.
fn member_u64(object: Value<'_>, key: &str) -> Result<Option<u64>, Unreadable> {
    member(object, key, Kind::Number)?
        .map(|n| n.as_u64().ok_or(Unreadable))
        .transpose()
}

/// Both answer formats in one: the current API wraps everything in `Response`, the legacy
/// one has `code`/`message`/`len`/`payload` at the top. Unknown members are skipped.
struct Envelope<'a> {
    response: Option<CurrentAnswer<'a>>,
    code: Option<i64>,
    message: Option<Value<'a>>,
    len: Option<u64>,
    payload: Option<Value<'a>>,
}

struct CurrentAnswer<'a> {
    len: Option<u64>,
    payload: Option<Value<'a>>,
    error: Option<ApiError<'a>>,
}

struct ApiError<'a> {
    code: Value<'a>,
    message: Option<Value<'a>>,
}

impl<'a> Envelope<'a> {
    fn read(doc: Value<'a>) -> Result<Self, Unreadable> {
        if doc.kind() != Kind::Object {
            return Err(Unreadable);
        }
        let response = match member(doc, "Response", Kind::Object)? {
            None => None,
            Some(r) => Some(CurrentAnswer {
                len: member_u64(r, "Len")?,
                payload: member(r, "Payload", Kind::String)?,
                error: match member(r, "Error", Kind::Object)? {
                    None => None,
                    Some(e) => Some(ApiError {
                        code: e
                            .get("Code")
                            .filter(|c| c.kind() == Kind::String)
                            .ok_or(Unreadable)?,
                        message: member(e, "Message", Kind::String)?,
                    }),
                },
            }),
        };
        let code = member(doc, "code", Kind::Number)?
            .map(|c| c.as_i64().ok_or(Unreadable))
            .transpose()?;
        Ok(Envelope {
            response,
            code,
            message: member(doc, "message", Kind::String)?,
            len: member_u64(doc, "len")?,
            payload: member(doc, "payload", Kind::String)?,
        })
    }
}

/// A string's text unescaped into `buf`, or as written (escapes and all) when it does not
/// fit there.
fn text<'b>(value: Value<'b>, buf: &'b mut [u8]) -> &'b str {
    match value.unescaped(buf) {
        Some(text) => text,
        None => {
            let raw = value.raw();
            raw.get(1..raw.len().saturating_sub(1))
                .and_then(|inner| core::str::from_utf8(inner).ok())
                .unwrap_or_default()
        }
    }
}

/// Where the payload is in the body, and what the answer says about it.
struct Located {
    start: usize,
    len: usize,
    plain_len: Option<u64>,
}

/// Turns the answer (`status` and its `body`) into a record in `record`. The payload is
/// decoded and decrypted in place in `body`.
pub(crate) fn read_answer(
    status: u16,
    body: &mut [u8],
    reg: &RegisterConfig<'_>,
    record: &mut [u8],
) -> Result<usize, AnswerError> {
    let located = locate_payload(status, body)?;
    let payload = body
        .get_mut(located.start..located.start + located.len)
        .ok_or(RegisterError::BadResponse(
            "the payload is not inside the answer",
        ))?;
    let plain = decrypt_in_place(reg.product_secret.expose(), payload, located.plain_len)
        .map_err(RegisterError::Decrypt)?;
    write_record(plain, reg.expect, record)
}

/// Parses the envelope: a refusal becomes [`RegisterError::Rejected`], a success the
/// position of the payload inside `body`.
fn locate_payload(status: u16, body: &[u8]) -> Result<Located, AnswerError> {
    let ok_status = (200..300).contains(&status);
    let Some(envelope) = Value::parse(body)
        .ok()
        .and_then(|doc| Envelope::read(doc).ok())
    else {
        return Err(if ok_status {
            RegisterError::BadResponse("the answer is not JSON")
        } else {
            RegisterError::Status(status)
        });
    };
    let (payload, plain_len) = if let Some(answer) = envelope.response {
        if let Some(error) = answer.error {
            let (mut code, mut message) = ([0u8; 128], [0u8; 256]);
            let code = text(error.code, &mut code);
            let message = error.message.map_or("", |m| text(m, &mut message));
            return Err(RegisterError::rejected(classify(code, message), code));
        }
        (answer.payload, answer.len)
    } else if let Some(code) = envelope.code {
        if code != 0 {
            let mut message = [0u8; 256];
            let message = envelope.message.map_or("", |m| text(m, &mut message));
            let reason = classify("", message);
            let mut digits = [0u8; 24];
            let digits = Scratch::new(&mut digits)
                .format(format_args!("{code}"))
                .unwrap_or("?");
            return Err(RegisterError::rejected(reason, digits));
        }
        (envelope.payload, envelope.len)
    } else if ok_status {
        return Err(RegisterError::BadResponse(
            "the answer has neither `Response` nor `code`",
        ));
    } else {
        return Err(RegisterError::Status(status));
    };
    if !ok_status {
        return Err(RegisterError::Status(status));
    }
    let payload = payload.ok_or(RegisterError::BadResponse("the answer has no payload"))?;
    // The payload's text (still escaped, between its quotes) is inside `body`: its offset.
    let raw = payload.raw();
    let len = raw.len().saturating_sub(2);
    let start = (raw.as_ptr() as usize)
        .checked_sub(body.as_ptr() as usize)
        .map(|at| at + 1)
        .filter(|start| start + len <= body.len())
        .ok_or(RegisterError::BadResponse(
            "the payload is not inside the answer",
        ))?;
    Ok(Located {
        start,
        len,
        plain_len,
    })
}

/// What a refusal means, from the words of its code and message. Tencent does not publish
/// these codes (clouds-official §9), so this reads the API 3.0 style codes of the current
/// API (`AuthFailure.SignatureExpire`, `ResourceNotFound.…`) and the English or Chinese
/// messages of either API, and says `Other` when it cannot tell.
pub(crate) fn classify(code: &str, message: &str) -> Rejection {
    for text in [code, message] {
        let has = |needle: &str| contains_ignore_ascii_case(text, needle);
        let reason = if has("activated") || has("已激活") {
            Rejection::AlreadyActivated
        } else if has("expire") || has("timestamp") || has("过期") || has("时间戳") {
            Rejection::ClockSkew
        } else if has("dynamic") || has("dynreg") || has("动态注册") {
            Rejection::Disabled
        } else if has("signature") || has("authfailure") || has("签名") {
            Rejection::BadCredentials
        } else if has("notexist")
            || has("not exist")
            || has("notfound")
            || has("not found")
            || has("不存在")
        {
            Rejection::NotFound
        } else {
            continue;
        };
        return reason;
    }
    Rejection::Other
}

fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Decrypts a payload in place: JSON escapes (`\/`) removed, base64 decoded, AES-128-CBC
/// with key = the first 16 bytes of the product secret and IV = sixteen ASCII `'0'`.
/// The plaintext is the first `plain_len` bytes (the answer's `Len`) if given, otherwise
/// everything before the trailing zero padding.
pub(crate) fn decrypt_in_place<'b>(
    product_secret: &str,
    buf: &'b mut [u8],
    plain_len: Option<u64>,
) -> Result<&'b [u8], &'static str> {
    let text_len = unescape_in_place(buf).ok_or("the payload is not valid base64")?;
    let cipher_len =
        base64_decode_in_place(&mut buf[..text_len]).ok_or("the payload is not valid base64")?;
    if cipher_len == 0 || !cipher_len.is_multiple_of(16) {
        return Err("the payload is not a whole number of 16-byte AES blocks");
    }
    let key = payload_key(product_secret);
    let plain = cbc::Decryptor::<Aes128>::new(&key.into(), &IV.into())
        .decrypt_padded::<NoPadding>(&mut buf[..cipher_len])
        .map_err(|_| "the payload is not a whole number of 16-byte AES blocks")?;
    let len = match plain_len {
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|&n| n <= plain.len())
            .ok_or("`Len` is longer than the decrypted payload")?,
        None => plain.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1),
    };
    Ok(&plain[..len])
}

/// The AES-128 key: the first 16 bytes of the product secret (shorter secrets are refused
/// when the device is configured; zero-filled here as Tencent's SDKs do, never reached).
fn payload_key(product_secret: &str) -> [u8; 16] {
    let mut key = [0u8; 16];
    let bytes = product_secret.as_bytes();
    let n = bytes.len().min(16);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

/// Removes the JSON escapes a base64 string may carry (`\/`, and the harmless `\\`-free
/// others), in place; `None` at an escape base64 cannot contain.
fn unescape_in_place(buf: &mut [u8]) -> Option<usize> {
    let (mut read, mut write) = (0, 0);
    while read < buf.len() {
        let mut b = buf[read];
        if b == b'\\' {
            read += 1;
            b = match buf.get(read)? {
                b'/' => b'/',
                _ => return None,
            };
        }
        buf[write] = b;
        read += 1;
        write += 1;
    }
    Some(write)
}

/// Standard padded base64 decoded in place, four characters at a time (the output never
/// overtakes the input); `None` if it is not.
fn base64_decode_in_place(buf: &mut [u8]) -> Option<usize> {
    let len = buf.len();
    if !len.is_multiple_of(4) {
        return None;
    }
    let mut out = 0;
    for at in (0..len).step_by(4) {
        let mut quad = [0u8; 4];
        quad.copy_from_slice(&buf[at..at + 4]);
        let mut three = [0u8; 3];
        let n = base64_decode(core::str::from_utf8(&quad).ok()?, &mut three)?;
        // Padding only in the last quad.
        if n < 3 && at + 4 != len {
            return None;
        }
        buf[out..out + n].copy_from_slice(&three[..n]);
        out += n;
    }
    Some(out)
}

/// The decrypted payload.
struct Plain<'a> {
    encryption_type: u8,
    psk: Option<Value<'a>>,
    client_cert: Option<Value<'a>>,
    client_key: Option<Value<'a>>,
}

impl<'a> Plain<'a> {
    fn read(doc: Value<'a>) -> Result<Self, Unreadable> {
        if doc.kind() != Kind::Object {
            return Err(Unreadable);
        }
        let encryption_type = doc
            .get("encryptionType")
            .and_then(|t| t.as_u64())
            .and_then(|t| u8::try_from(t).ok())
            .ok_or(Unreadable)?;
        Ok(Plain {
            encryption_type,
            psk: member(doc, "psk", Kind::String)?,
            client_cert: member(doc, "clientCert", Kind::String)?,
            client_key: member(doc, "clientKey", Kind::String)?,
        })
    }
}

/// Writes the record for the decrypted payload `plain`.
fn write_record(plain: &[u8], expect: AuthMode, record: &mut [u8]) -> Result<usize, AnswerError> {
    let Some(p) = Value::parse(plain)
        .ok()
        .and_then(|doc| Plain::read(doc).ok())
    else {
        return Err(RegisterError::Decrypt(
            "the payload does not decrypt to JSON (wrong product secret?)",
        ));
    };
    let got = match p.encryption_type {
        2 => AuthMode::Key,
        1 => AuthMode::Certificate,
        _ => return Err(RegisterError::BadResponse("unknown `encryptionType`")),
    };
    if got != expect {
        return Err(RegisterError::Provider(ProviderError::InvalidValue {
            key: "registered_auth",
            reason: match got {
                AuthMode::Key => {
                    "the product hands out keys (encryptionType 2); configure \
                     `with_registered_auth(AuthMode::Key)`"
                }
                AuthMode::Certificate => {
                    "the product hands out certificates (encryptionType 1); configure \
                     `with_registered_auth(AuthMode::Certificate)`"
                }
            },
        }));
    }
    let (cert, key) = match got {
        AuthMode::Key => {
            let psk = p
                .psk
                .ok_or(RegisterError::BadResponse("no `psk` in the payload"))?;
            let not_a_key = || RegisterError::BadResponse("`psk` is not the base64 of a key");
            let mut text = [0u8; 4 * MAX_PSK_LEN / 3];
            let psk_text = psk.unescaped(&mut text).ok_or_else(not_a_key)?;
            check_device_secret(psk_text).map_err(|_| not_a_key())?;
            return put(record, &[TAG_PSK, psk_text.as_bytes()]);
        }
        AuthMode::Certificate => (p.client_cert, p.client_key),
    };
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err(RegisterError::BadResponse(
            "no `clientCert` or `clientKey` in the payload",
        ));
    };
    for pem in [cert, key] {
        if !pem.raw().windows(11).any(|w| w == b"-----BEGIN ") {
            return Err(RegisterError::BadResponse(
                "`clientCert` or `clientKey` is not PEM",
            ));
        }
    }
    let (cert_len, key_len) = (cert.str_len(), key.str_len());
    let needed = 2 + TAG_CERT.len() + 2 + cert_len + 2 + TAG_KEY.len() + 2 + key_len;
    if needed > record.len() || cert_len > usize::from(u16::MAX) || key_len > usize::from(u16::MAX)
    {
        return Err(RegisterError::RecordTooLarge {
            len: needed,
            capacity: record.len(),
        });
    }
    // Same layout as `Fields::write`, with the PEM unescaped straight into the record.
    let mut at = 0;
    for (tag, pem, len) in [(TAG_CERT, cert, cert_len), (TAG_KEY, key, key_len)] {
        at += put(&mut record[at..], &[tag])?;
        let len16 = u16::try_from(len).map_err(|_| RegisterError::BadResponse("PEM too long"))?;
        record[at..at + 2].copy_from_slice(&len16.to_le_bytes());
        at += 2;
        at += unescape_into(pem, &mut record[at..at + len])
            .ok_or(RegisterError::BadResponse("bad escape in PEM"))?;
    }
    Ok(at)
}

fn put(record: &mut [u8], fields: &[&[u8]]) -> Result<usize, AnswerError> {
    Fields::write(record, fields).ok_or(RegisterError::RecordTooLarge {
        len: Fields::len_of(fields),
        capacity: record.len(),
    })
}

/// Writes a JSON string's text, unescaped, into `out`; `None` if it does not fit.
fn unescape_into(value: Value<'_>, out: &mut [u8]) -> Option<usize> {
    if let Some(plain) = value.as_plain_str() {
        out.get_mut(..plain.len())?
            .copy_from_slice(plain.as_bytes());
        return Some(plain.len());
    }
    value.unescaped(out).map(str::len)
}

#[cfg(test)]
mod tests;
