//! Dynamic registration through OneNET's OpenAPI: `POST /device/create` with an
//! `authorization` token signed by the user's (or the product's) access key; the answer's
//! `sec_key` becomes the device key.

use core::fmt::{self, Write as _};

use iotcloud_core::clock::Clock;
use iotcloud_core::http::{Exchange, Redirects, Request};
use iotcloud_core::provider::{ProviderError, SignContext};
use iotcloud_core::register::{Fields, RegisterError, RegisterIo, Rejection};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Counter, Decimal, EncodeSet, PercentEncoded, TimeUnit, hmac};
use iotcloud_core::transport::Transport;
use serde::Deserialize;

use crate::{MAX_ID_LEN, MAX_KEY_LEN, OneNet, SignMethod, TokenVersion, decode_key};
use iotcloud_core::json::{JsonStr, Text};

/// Where OneNET's OpenAPI creates devices.
pub const REGISTER_URL: &str = "https://iot-api.heclouds.com/device/create";

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

/// OneNET's answer: `{"code":0,"msg":"succ","data":{…,"sec_key":"…"}}`, or a non-zero
/// `code` with its `msg`.
#[derive(Deserialize)]
pub(crate) struct Answer {
    code: Option<i64>,
    msg: Option<Text<64>>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    sec_key: Option<Text<MAX_SEC_KEY_LEN>>,
}

/// Reads an answer body; anything that is not OneNET's JSON is `None`.
pub(crate) fn parse_answer(body: &[u8], unescape: &mut [u8]) -> Option<Answer> {
    serde_json_core::from_slice_escaped::<Answer>(body, unescape)
        .ok()
        .map(|(answer, _)| answer)
}

/// What an answer means: the `sec_key` on success, or why not.
pub(crate) fn outcome<E>(status: u16, answer: Option<&Answer>) -> Result<&str, RegisterError<E>> {
    let Some(answer) = answer else {
        return Err(match status {
            200 => RegisterError::BadResponse("not OneNET's JSON answer"),
            other => RegisterError::Status(other),
        });
    };
    match answer.code {
        Some(0) if status == 200 => {
            let key = answer
                .data
                .as_ref()
                .and_then(|d| d.sec_key.as_ref())
                .and_then(Text::exact)
                .ok_or(RegisterError::BadResponse(
                    "success without a usable `data.sec_key`",
                ))?;
            // It must sign later: check it now rather than at every connect.
            decode_key("sec_key", key, &mut [0u8; MAX_KEY_LEN])
                .map_err(|_| RegisterError::BadResponse("`data.sec_key` is not a base64 key"))?;
            Ok(key)
        }
        Some(code) if code != 0 => {
            let msg = answer.msg.as_ref().map_or("", Text::as_str);
            let mut text = heapless::String::<24>::new();
            let _ = write!(text, "{code}");
            Err(RegisterError::rejected(rejection(msg), &text))
        }
        _ if status != 200 => Err(RegisterError::Status(status)),
        _ => Err(RegisterError::BadResponse("answer without a `code`")),
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

/// Registers `o` (a registering configuration): one `POST /device/create`, the `sec_key`
/// written into `record` as the only field.
pub(crate) async fn register<T: Transport, C: Clock>(
    o: &OneNet<'_>,
    io: RegisterIo<'_, T, C>,
    record: &mut [u8],
) -> Result<usize, RegisterError<T::Error>> {
    let Some(enrol) = o.enrol else {
        return Err(ProviderError::Unsupported(
            "registration: this configuration holds its key (use register_with_user or \
             register_with_product_key)",
        )
        .into());
    };
    let (resource, key_name, key_text) = match enrol {
        crate::Enrol::User { user_id, user_key } => {
            (ApiResource::User(user_id), "user_key", user_key.expose())
        }
        crate::Enrol::Product { product_secret } => (
            ApiResource::Product(o.product_id),
            "product_secret",
            product_secret.expose(),
        ),
    };
    let ctx = SignContext {
        unix_time_ms: io.unix_time_ms,
        random: io.random,
        registered: None,
    };
    let et = o.register_expiry.resolve(
        &ctx,
        TimeUnit::Seconds,
        o.validity_secs,
        LUATOS_REGISTER_EXPIRY,
    )?;
    let mut key_buf = [0u8; MAX_KEY_LEN];
    let key_len = decode_key(key_name, key_text, &mut key_buf)?;

    let body = CreateBody {
        product_id: o.product_id,
        device_name: o.device_name,
    };
    // The token and the body go first in the buffer, the exchange and the answer after.
    let mut count = Counter::default();
    let _ = write!(count, "{body}");
    let text_len = (count.0 + 512).min(io.buf.len());
    let (text, rest) = io.buf.split_at_mut(text_len);
    let mut scratch = Scratch::new(text);
    let token = api_token(
        &resource,
        &key_buf[..key_len],
        et,
        o.register_method,
        &mut scratch,
    )?;
    let body = scratch
        .format(format_args!("{body}"))
        .map_err(ProviderError::from)?;
    let headers = [
        ("Content-Type", "application/json"),
        ("authorization", token),
    ];
    let request = Request {
        headers: &headers,
        ..Request::post(o.register_url, o.register_server, body.as_bytes())
    };
    let split = rest.len() - rest.len() / 2;
    let (work, answer_buf) = rest.split_at_mut(split);
    let mut exchange =
        Exchange::start(io.transport, io.clock, &request, Redirects::Refuse, work).await?;
    let status = exchange.status();
    let read = exchange.read_to_end(answer_buf).await;
    exchange.close().await;
    let answer_body = read?;
    // The exchange's buffer is free again: it unescapes the answer's strings.
    let answer = parse_answer(answer_body, work);
    let sec_key = outcome(status, answer.as_ref())?;
    let fields: [&[u8]; 2] = [b"sec_key", sec_key.as_bytes()];
    Fields::write(record, &fields).ok_or(RegisterError::RecordTooLarge {
        len: Fields::len_of(&fields),
        capacity: record.len(),
    })
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
