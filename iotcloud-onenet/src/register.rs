//! Dynamic registration through OneNET's OpenAPI: `POST /device/create` with an
//! `authorization` token signed by the user's (or the product's) access key; the answer's
//! `sec_key` becomes the device key. The request is written and the answer read here; the
//! device runs the exchange.

use core::fmt::{self, Write};

use iotcloud_core::http::{Scheme, Url};
use iotcloud_core::json::{JsonStr, Value};
use iotcloud_core::provider::{ProviderError, SignContext};
use iotcloud_core::register::{
    AnswerError, Answered, Fields, HttpRequest, RegisterAnswer, RegisterContext, RegisterError,
    RegisterRequest, Registration, RegistrationId, Rejection,
};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Decimal, EncodeSet, PercentEncoded, TimeUnit, hmac};

use crate::{Auth, Enrol, MAX_ID_LEN, MAX_KEY_LEN, OneNet, SignMethod, TokenVersion, decode_key};

/// Where OneNET's OpenAPI creates devices.
pub const REGISTER_URL: &str = "https://iot-api.heclouds.com/device/create";

/// [`REGISTER_URL`], parsed.
pub(crate) const DEFAULT_URL: Url<'static> = Url {
    scheme: Scheme::Https,
    host: "iot-api.heclouds.com",
    port: 443,
    path: "/device/create",
};

/// The expiry LuatOS writes into its registration token (2035-01-01 00:00 UTC+8), in
/// seconds: OneNET's OpenAPI refuses far-distant ones.
pub const LUATOS_REGISTER_EXPIRY: u64 = 2_051_193_600;

/// The token version of the OpenAPI.
pub const API_VERSION: TokenVersion = TokenVersion::V2022_05_01;

/// Longest `sec_key` accepted, in characters (base64 of [`MAX_KEY_LEN`] bytes).
const MAX_SEC_KEY_LEN: usize = MAX_KEY_LEN.div_ceil(3) * 4;

/// Which access key signs the registration token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterKey {
    /// The account's user access key; the token's resource is `userid/{user_id}`.
    User,
    /// The product's access key; the token's resource is `products/{pid}`.
    Product,
}

/// The token's resource: `userid/{uid}` or `products/{pid}`.
pub(crate) enum ApiResource<'a> {
    User(&'a str),
    Product(&'a str),
}

impl fmt::Display for ApiResource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiResource::User(uid) => write!(f, "userid/{uid}"),
            ApiResource::Product(pid) => write!(f, "products/{pid}"),
        }
    }
}

/// The OpenAPI `authorization` token, written into `scratch`:
/// `version=2022-05-01&res={enc res}&et={et}&method={m}&sign={enc sign}` with
/// `sign = base64(HMAC-{m}(key, "{et}\n{m}\n{res}\n2022-05-01"))`.
pub(crate) fn api_token<'s>(
    resource: &ApiResource<'_>,
    key: &[u8],
    et: u64,
    method: SignMethod<'_>,
    scratch: &mut Scratch<'s>,
) -> Result<&'s str, ProviderError> {
    // "userid/" or "products/" and an id of at most MAX_ID_LEN bytes.
    let mut res_buf = [0u8; MAX_ID_LEN + 16];
    let res = Scratch::new(&mut res_buf).format(format_args!("{resource}"))?;
    let et_text = Decimal::new(et);
    let version = API_VERSION.as_str();
    let mac = hmac(
        method.algorithm(),
        key,
        &[
            et_text.as_bytes(),
            b"\n",
            method.name().as_bytes(),
            b"\n",
            res.as_bytes(),
            b"\n",
            version.as_bytes(),
        ],
    )?;
    let mut sign_buf = [0u8; 48];
    let sign = Scratch::new(&mut sign_buf).format(format_args!("{}", mac.base64()))?;
    Ok(scratch.format(format_args!(
        "version={version}&res={}&et={et}&method={}&sign={}",
        PercentEncoded(res, EncodeSet::OneNetToken),
        method.name(),
        PercentEncoded(sign, EncodeSet::OneNetToken),
    ))?)
}

/// `{"product_id":"…","device_name":"…"}`, escaped.
pub(crate) struct CreateBody<'a> {
    pub(crate) product_id: &'a str,
    pub(crate) device_name: &'a str,
}

impl fmt::Display for CreateBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{\"product_id\":{},\"device_name\":{}}}",
            JsonStr(self.product_id),
            JsonStr(self.device_name)
        )
    }
}

/// Longest part of a refusal's `msg` read to name the refusal, in bytes.
const MAX_MSG_LEN: usize = 64;

/// Reads OneNET's answer, `{"code":0,"msg":"succ","data":{…,"sec_key":"…"}}` or a non-zero
/// `code` with its `msg`, and writes the record, the `sec_key` as the only field, into
/// `record`. Returns the record's length.
pub(crate) fn read_answer(
    status: u16,
    body: &[u8],
    record: &mut [u8],
) -> Result<usize, AnswerError> {
    let mut unescaped = [0u8; MAX_SEC_KEY_LEN];
    let sec_key = outcome(status, body, &mut unescaped)?;
    let fields: [&[u8]; 2] = [b"sec_key", sec_key.as_bytes()];
    Fields::write(record, &fields).ok_or(RegisterError::RecordTooLarge {
        len: Fields::len_of(&fields),
        capacity: record.len(),
    })
}

/// What an answer means: the `sec_key` on success (unescaped into `buf` where it must be),
/// or why not.
fn outcome<'b>(status: u16, body: &'b [u8], buf: &'b mut [u8]) -> Result<&'b str, AnswerError> {
    let Ok(answer) = Value::parse(body) else {
        return Err(match status {
            200 => RegisterError::BadResponse("not OneNET's JSON answer"),
            other => RegisterError::Status(other),
        });
    };
    match answer.get("code").and_then(|c| c.as_i64()) {
        Some(0) if status == 200 => {
            let key = answer
                .path(&["data", "sec_key"])
                .filter(|k| k.str_len() <= MAX_SEC_KEY_LEN)
                .and_then(|k| k.unescaped(buf))
                .filter(|k| !k.is_empty())
                .ok_or(RegisterError::BadResponse(
                    "success without a usable `data.sec_key`",
                ))?;
            // It must sign later: check it now rather than at every connect.
            decode_key("sec_key", key, &mut [0u8; MAX_KEY_LEN])
                .map_err(|_| RegisterError::BadResponse("`data.sec_key` is not a base64 key"))?;
            Ok(key)
        }
        Some(code) if code != 0 => {
            let mut msg = Head::<MAX_MSG_LEN>::default();
            if let Some(m) = answer.get("msg") {
                // Not a string: no message to go by.
                let _ = m.write_str_to(&mut msg);
            }
            // An i64 is at most 20 characters.
            let mut text = [0u8; 24];
            let code = Scratch::new(&mut text)
                .format(format_args!("{code}"))
                .unwrap_or_default();
            Err(RegisterError::rejected(rejection(msg.as_str()), code))
        }
        _ if status != 200 => Err(RegisterError::Status(status)),
        _ => Err(RegisterError::BadResponse("answer without a `code`")),
    }
}

/// The first `N` bytes of a text, cut at a character boundary and never failing: enough of
/// a refusal's message to tell what it means.
struct Head<const N: usize> {
    buf: [u8; N],
    len: usize,
    cut: bool,
}

impl<const N: usize> Default for Head<N> {
    fn default() -> Self {
        Head {
            buf: [0; N],
            len: 0,
            cut: false,
        }
    }
}

impl<const N: usize> Head<N> {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl<const N: usize> Write for Head<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let end = self.len + c.len_utf8();
            match self.buf.get_mut(self.len..end) {
                Some(dst) if !self.cut => {
                    c.encode_utf8(dst);
                    self.len = end;
                }
                _ => self.cut = true,
            }
        }
        Ok(())
    }
}

/// What a refusal means. OneNET's documentation followed here publishes no code table for
/// the OpenAPI, so its message decides; the code is kept in the error as it came.
pub(crate) fn rejection(msg: &str) -> Rejection {
    let has = |word: &str| {
        msg.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    };
    if has("expire") {
        // A token signed for now plus the validity window: the device clock is off.
        Rejection::ClockSkew
    } else if has("not exist") || has("not found") {
        Rejection::NotFound
    } else if has("auth") || has("sign") || has("token") || has("key") {
        Rejection::BadCredentials
    } else if has("exist") {
        Rejection::AlreadyExists
    } else {
        Rejection::Other
    }
}

/// The token's resource, and the configuration key and base64 text of the access key that
/// signs it.
fn access_key<'a>(o: &'a OneNet<'a>, enrol: Enrol<'a>) -> (ApiResource<'a>, &'static str, &'a str) {
    match enrol {
        Enrol::User { user_id, user_key } => {
            (ApiResource::User(user_id), "user_key", user_key.expose())
        }
        Enrol::Product { product_secret } => (
            ApiResource::Product(o.product_id),
            "product_secret",
            product_secret.expose(),
        ),
    }
}

/// One `POST /device/create`; the record is one field, the returned `sec_key`.
impl Registration for OneNet<'_> {
    /// `{product_id}` / `{device_name}`.
    fn id(&self) -> RegistrationId<'_> {
        RegistrationId {
            product: self.product_id,
            device: self.device_name,
        }
    }

    /// `POST {register_url}` with `Content-Type: application/json`, the `authorization`
    /// token and `{"product_id":"…","device_name":"…"}`.
    fn request<'s>(
        &'s self,
        _step: u8,
        _carry: &'s [u8],
        ctx: &RegisterContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        let Auth::Registering(enrol) = self.auth else {
            return Err(ProviderError::Unsupported(
                "registration: this configuration holds its key (use registering or \
                 registering_with_user)",
            ));
        };
        let (resource, key_name, key_text) = access_key(self, enrol);
        let sign_ctx = SignContext {
            unix_time_ms: ctx.unix_time_ms,
            random: ctx.random,
            registered: None,
        };
        let et = self.register_expiry.resolve(
            &sign_ctx,
            TimeUnit::Seconds,
            self.validity_secs,
            LUATOS_REGISTER_EXPIRY,
        )?;
        let mut key_buf = [0u8; MAX_KEY_LEN];
        let key_len = decode_key(key_name, key_text, &mut key_buf)?;
        let token = api_token(
            &resource,
            &key_buf[..key_len],
            et,
            self.register_method,
            scratch,
        )?;
        let body = scratch.format(format_args!(
            "{}",
            CreateBody {
                product_id: self.product_id,
                device_name: self.device_name,
            }
        ))?;
        let request = HttpRequest::post(self.register_url, self.register_server, body.as_bytes())
            .header("Content-Type", "application/json")?
            .header("authorization", token)?;
        Ok(RegisterRequest::Http(request))
    }

    /// The `sec_key` of a success, checked to be a base64 key; a refusal named from its
    /// `msg`, with its `code`.
    fn answer(
        &self,
        _step: u8,
        answer: RegisterAnswer<'_>,
        out: &mut [u8],
        _carry: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        match answer {
            RegisterAnswer::Http(http) => {
                read_answer(http.status, http.body, out).map(Answered::Record)
            }
            RegisterAnswer::Mqtt { .. } => Err(RegisterError::BadResponse(
                "OneNET registers over HTTP only",
            )),
        }
    }
}

/// The device key a registration record holds.
pub(crate) fn recorded_key(record: Option<&[u8]>) -> Result<&str, ProviderError> {
    let record = record.ok_or(ProviderError::MissingKey("sec_key"))?;
    iotcloud_core::register::field(record, "sec_key")
        .filter(|k| !k.is_empty())
        .ok_or(ProviderError::InvalidValue {
            key: "sec_key",
            reason: "the registration record holds no device key",
        })
}
