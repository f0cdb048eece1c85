//! Dynamic registration ("one product, one secret"): the device proves it knows the
//! product secret, and Tencent answers with the device's own credentials, AES-encrypted
//! under that secret (clouds-official §2.3).
//!
//! The request is built and signed here, the answer is read, decrypted and turned into a
//! record (see [`Registered`]) by pure functions; only [`register`] does I/O.

use core::fmt;

use aes::Aes128;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use iotcloud_core::http::{Exchange, Redirects, Request, Scheme, Url};
use iotcloud_core::register::{Fields, RegisterError, RegisterIo, Rejection};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Algorithm, Base64, Decimal, Digest, Secret, base64_decode, hash, hmac};
use iotcloud_core::{ClientIdentity, Clock, ProviderError, ServerAuth, Transport};
use serde::Deserialize;
use serde_json_core::str::{EscapedStr, EscapedStringFragment};

use crate::{AuthMode, MAX_PSK_LEN, SignMethod, check_device_secret};

/// Host of the current registration API (China; clouds-official §2.3.1).
pub const REGISTER_HOST: &str = "ap-guangzhou.gateway.tencentdevices.com";

/// Path of the current registration API.
pub const REGISTER_PATH: &str = "/device/register";

/// Path of the legacy registration API that LuatOS and the Explorer C SDK use.
pub const LEGACY_REGISTER_PATH: &str = "/register/dev";

/// Shortest product secret accepted: its first 16 bytes are the AES-128 key of the
/// answer, and Tencent's SDK refuses shorter ones (console secrets are 24 characters).
pub const MIN_PRODUCT_SECRET_LEN: usize = 16;

/// The IV of the answer's cipher: sixteen ASCII `'0'` (0x30), not zero bytes.
const IV: [u8; 16] = [b'0'; 16];

/// Record tag of a key-authentication record: `["psk", psk (base64)]`.
const TAG_PSK: &[u8] = b"psk";

/// Record tag of a certificate record: `["cert", certificate PEM, private key PEM]`.
const TAG_CERT: &[u8] = b"clientCert";
/// Record name of the private key that follows the certificate.
const TAG_KEY: &[u8] = b"clientKey";

/// Which of Tencent's two registration APIs to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegisterApi {
    /// `POST /device/register` with the `X-TC-*` signature headers (default): the API
    /// Tencent documents today.
    #[default]
    Current,
    /// `POST /register/dev` with the signature in the JSON body: the older API LuatOS and
    /// Tencent's Explorer C SDK call. Still served; for compatibility only.
    Legacy,
}

impl RegisterApi {
    /// The API's path.
    pub fn path(self) -> &'static str {
        match self {
            RegisterApi::Current => REGISTER_PATH,
            RegisterApi::Legacy => LEGACY_REGISTER_PATH,
        }
    }
}

/// What a registration record holds, read back from its [`Fields`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registered<'r> {
    /// `encryptionType` 2: the device secret (base64 PSK), used as `Tencent::key` would.
    Psk(Secret<'r>),
    /// `encryptionType` 1: a client certificate and key, used as `Tencent::certificate`.
    Certificate(ClientIdentity<'r>),
}

impl fmt::Debug for Registered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Registered::Psk(secret) => f.debug_tuple("Psk").field(secret).finish(),
            Registered::Certificate(id) => f.debug_tuple("Certificate").field(id).finish(),
        }
    }
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

/// Everything a registration needs from the configuration.
#[derive(Clone, Copy)]
pub(crate) struct Registration<'c> {
    pub product_id: &'c str,
    pub device_name: &'c str,
    pub product_secret: Secret<'c>,
    pub api: RegisterApi,
    pub url: Url<'c>,
    pub server: ServerAuth<'c>,
    pub method: SignMethod,
    pub expect: AuthMode,
}

/// Registers over `io` and writes the record into `record`.
pub(crate) async fn register<T: Transport, C: Clock>(
    reg: &Registration<'_>,
    io: RegisterIo<'_, T, C>,
    record: &mut [u8],
) -> Result<usize, RegisterError<T::Error>> {
    if reg.url.scheme == Scheme::Https
        && matches!(reg.server, ServerAuth::CaPem(pem) if pem.is_empty())
    {
        return Err(ProviderError::Unsupported(
            "checking the registration server against the bundled roots (built without the \
             `roots` feature): give a CA with `with_register_server`",
        )
        .into());
    }
    let now_secs = io.unix_time_ms.ok_or(ProviderError::TimeUnknown)? / 1000;
    // A positive 31-bit integer, as Tencent's SDKs send.
    let nonce = 1 + io.random % 2_147_483_646;
    let mut text = [0u8; 512];
    let mut scratch = Scratch::new(&mut text);
    let signed = sign_request(reg, now_secs, nonce, &mut scratch)?;
    let headers_current = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
        ("X-TC-Algorithm", reg.method.name()),
        ("X-TC-Timestamp", signed.timestamp),
        ("X-TC-Nonce", signed.nonce),
        ("X-TC-Signature", signed.signature),
    ];
    let headers_legacy = [
        ("Content-Type", "application/json;charset=UTF-8"),
        ("Accept", "application/json"),
    ];
    let request = Request {
        headers: match reg.api {
            RegisterApi::Current => &headers_current,
            RegisterApi::Legacy => &headers_legacy,
        },
        ..Request::post(reg.url, reg.server, signed.body.as_bytes())
    };
    let buf = io.buf;
    // The request and response heads go in the first part; the body in the rest.
    let head_len = (buf.len() / 4).clamp(512, 1024).min(buf.len());
    let (head, body_buf) = buf.split_at_mut(head_len);
    let mut exchange = Exchange::start(io.transport, io.clock, &request, Redirects::Refuse, head)
        .await
        .map_err(RegisterError::Http)?;
    let status = exchange.status();
    let read = exchange.read_to_end(body_buf).await.map(<[u8]>::len);
    exchange.close().await;
    let body_len = read.map_err(RegisterError::Http)?;
    read_answer(status, body_buf, body_len, reg, record)
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
    reg: &Registration<'_>,
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
    reg: &Registration<'_>,
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

/// Both answer formats in one: the current API wraps everything in `Response`, the legacy
/// one has `code`/`message`/`len`/`payload` at the top. Strings are borrowed as written
/// (still escaped); unknown fields are skipped.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Response", borrow, default)]
    response: Option<CurrentAnswer<'a>>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Option<&'a str>,
    #[serde(default)]
    len: Option<u64>,
    #[serde(borrow, default)]
    payload: Option<&'a str>,
}

#[derive(Deserialize)]
struct CurrentAnswer<'a> {
    #[serde(rename = "Len", default)]
    len: Option<u64>,
    #[serde(rename = "Payload", borrow, default)]
    payload: Option<&'a str>,
    #[serde(rename = "Error", borrow, default)]
    error: Option<ApiError<'a>>,
}

#[derive(Deserialize)]
struct ApiError<'a> {
    #[serde(rename = "Code", borrow)]
    code: &'a str,
    #[serde(rename = "Message", borrow, default)]
    message: Option<&'a str>,
}

/// The decrypted payload.
#[derive(Deserialize)]
struct Plain<'a> {
    #[serde(rename = "encryptionType")]
    encryption_type: u8,
    #[serde(borrow, default)]
    psk: Option<EscapedStr<'a>>,
    #[serde(rename = "clientCert", borrow, default)]
    client_cert: Option<EscapedStr<'a>>,
    #[serde(rename = "clientKey", borrow, default)]
    client_key: Option<EscapedStr<'a>>,
}

/// Where the payload is in the body, and what the answer says about it.
struct Located {
    start: usize,
    len: usize,
    plain_len: Option<u64>,
}

/// Turns the answer (`status`, and a body of `body_len` bytes at the start of `buf`) into
/// a record in `record`. The payload is decoded and decrypted in place in `buf`.
pub(crate) fn read_answer<E>(
    status: u16,
    buf: &mut [u8],
    body_len: usize,
    reg: &Registration<'_>,
    record: &mut [u8],
) -> Result<usize, RegisterError<E>> {
    let body = buf.get(..body_len).ok_or(RegisterError::BadResponse(
        "the answer is longer than its buffer",
    ))?;
    let located = locate_payload(status, body)?;
    let plain = decrypt_in_place(
        reg.product_secret.expose(),
        &mut buf[located.start..located.start + located.len],
        located.plain_len,
    )
    .map_err(RegisterError::Decrypt)?;
    write_record(plain, reg.expect, record)
}

/// Parses the envelope: a refusal becomes [`RegisterError::Rejected`], a success the
/// position of the payload inside `body`.
fn locate_payload<E>(status: u16, body: &[u8]) -> Result<Located, RegisterError<E>> {
    let ok_status = (200..300).contains(&status);
    let Ok((envelope, _)) = serde_json_core::from_slice::<Envelope<'_>>(body) else {
        return Err(if ok_status {
            RegisterError::BadResponse("the answer is not JSON")
        } else {
            RegisterError::Status(status)
        });
    };
    let (payload, plain_len) = if let Some(answer) = envelope.response {
        if let Some(error) = answer.error {
            let reason = classify(error.code, error.message.unwrap_or(""));
            return Err(RegisterError::rejected(reason, error.code));
        }
        (answer.payload, answer.len)
    } else if let Some(code) = envelope.code {
        if code != 0 {
            let reason = classify("", envelope.message.unwrap_or(""));
            let mut text = [0u8; 24];
            let text = Scratch::new(&mut text)
                .format(format_args!("{code}"))
                .unwrap_or("?");
            return Err(RegisterError::rejected(reason, text));
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
    // The payload borrows from `body`: its offset there.
    let start = (payload.as_ptr() as usize)
        .checked_sub(body.as_ptr() as usize)
        .filter(|s| s + payload.len() <= body.len())
        .ok_or(RegisterError::BadResponse(
            "the payload is not inside the answer",
        ))?;
    Ok(Located {
        start,
        len: payload.len(),
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

/// Writes the record for the decrypted payload `plain`.
fn write_record<E>(
    plain: &[u8],
    expect: AuthMode,
    record: &mut [u8],
) -> Result<usize, RegisterError<E>> {
    let (p, _) = serde_json_core::from_slice::<Plain<'_>>(plain).map_err(|_| {
        RegisterError::Decrypt("the payload does not decrypt to JSON (wrong product secret?)")
    })?;
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
    let fields: [Option<EscapedStr<'_>>; 2] = match got {
        AuthMode::Key => {
            let psk = p
                .psk
                .ok_or(RegisterError::BadResponse("no `psk` in the payload"))?;
            let mut text = [0u8; 4 * MAX_PSK_LEN / 3];
            let n = unescape_into(psk, &mut text).ok_or(RegisterError::BadResponse(
                "`psk` is not the base64 of a key",
            ))?;
            let psk_text = core::str::from_utf8(&text[..n])
                .map_err(|_| RegisterError::BadResponse("`psk` is not the base64 of a key"))?;
            check_device_secret(psk_text)
                .map_err(|_| RegisterError::BadResponse("`psk` is not the base64 of a key"))?;
            return put(record, &[TAG_PSK, psk_text.as_bytes()]);
        }
        AuthMode::Certificate => [p.client_cert, p.client_key],
    };
    let [Some(cert), Some(key)] = fields else {
        return Err(RegisterError::BadResponse(
            "no `clientCert` or `clientKey` in the payload",
        ));
    };
    for pem in [cert, key] {
        if !pem.0.contains("-----BEGIN ") {
            return Err(RegisterError::BadResponse(
                "`clientCert` or `clientKey` is not PEM",
            ));
        }
    }
    let cert_len = unescaped_len(cert).ok_or(RegisterError::BadResponse("bad escape in PEM"))?;
    let key_len = unescaped_len(key).ok_or(RegisterError::BadResponse("bad escape in PEM"))?;
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

fn put<E>(record: &mut [u8], fields: &[&[u8]]) -> Result<usize, RegisterError<E>> {
    Fields::write(record, fields).ok_or(RegisterError::RecordTooLarge {
        len: Fields::len_of(fields),
        capacity: record.len(),
    })
}

/// Length of a JSON string once unescaped; `None` at a bad escape.
fn unescaped_len(s: EscapedStr<'_>) -> Option<usize> {
    s.fragments().try_fold(0usize, |n, f| {
        Some(
            n + match f.ok()? {
                EscapedStringFragment::NotEscaped(t) => t.len(),
                EscapedStringFragment::Escaped(c) => c.len_utf8(),
            },
        )
    })
}

/// Unescapes a JSON string into `out`; `None` at a bad escape or if it does not fit.
fn unescape_into(s: EscapedStr<'_>, out: &mut [u8]) -> Option<usize> {
    let mut at = 0;
    for fragment in s.fragments() {
        let mut utf8 = [0u8; 4];
        let bytes = match fragment.ok()? {
            EscapedStringFragment::NotEscaped(t) => t.as_bytes(),
            EscapedStringFragment::Escaped(c) => c.encode_utf8(&mut utf8).as_bytes(),
        };
        out.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
        at += bytes.len();
    }
    Some(at)
}

#[cfg(test)]
mod tests;
