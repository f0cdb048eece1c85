//! Dynamic registration through IoTDA's application-side API (clouds-official §4.3 A): an
//! IAM token for the account's user, then `POST /v5/iot/{project_id}/devices`; the answer's
//! `device_id` and `auth_info.secret` become the device's credentials.

use core::fmt::{self, Write as _};

use iotcloud_core::clock::Clock;
use iotcloud_core::http::{Exchange, Redirects, Request, Url};
use iotcloud_core::provider::{ProviderError, host_name};
use iotcloud_core::register::{Fields, RegisterError, RegisterIo, Rejection, field};
use iotcloud_core::scratch::{Scratch, ScratchFull};
use iotcloud_core::sign::Counter;
use iotcloud_core::transport::{ServerAuth, Transport};
use serde::Deserialize;

use crate::{DeviceId, Huawei, MAX_DEVICE_ID_LEN};
use iotcloud_core::json::{JsonStr, Text};

/// Longest device secret accepted from the cloud, in bytes (IoTDA's are 8 to 32).
pub const MAX_SECRET_LEN: usize = 64;

/// Longest URL built from the account (the IAM and device-creation URLs).
const MAX_URL_LEN: usize = 320;

/// The account an IAM token is requested for, and where its IoTDA application API is.
///
/// Putting an account password into firmware exposes the account: every unit carries it.
/// `Debug` hides the password.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IamAccount<'a> {
    /// The IoTDA project id (`{project_id}` in the API path; shown in the console under
    /// "My Credentials").
    pub project_id: &'a str,
    /// The account (IAM domain) name.
    pub domain: &'a str,
    /// The IAM user name.
    pub username: &'a str,
    /// The IAM user's password.
    pub password: &'a str,
    /// The application-side API host, as the console shows it, e.g.
    /// `5341624af8.st1.iotda-app.cn-north-4.myhuaweicloud.com`. With
    /// [`Huawei::with_luatos_app_endpoint`], LuatOS's `endpoint` prefix instead.
    pub app_endpoint: &'a str,
    /// The region: the IAM host `iam.{region}.myhuaweicloud.com` and the token's project
    /// scope, e.g. `cn-north-4`.
    pub region: &'a str,
}

impl fmt::Debug for IamAccount<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamAccount")
            .field("project_id", &self.project_id)
            .field("domain", &self.domain)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("app_endpoint", &self.app_endpoint)
            .field("region", &self.region)
            .finish()
    }
}

/// What a registering configuration needs beyond the device's MQTT settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enrol<'a> {
    pub(crate) product_id: &'a str,
    pub(crate) node_id: &'a str,
    pub(crate) iam: IamAccount<'a>,
    pub(crate) iam_url: Option<Url<'a>>,
    pub(crate) app_url: Option<Url<'a>>,
    pub(crate) luatos_app_host: bool,
    pub(crate) instance_id: Option<&'a str>,
    pub(crate) server: ServerAuth<'a>,
}

/// The IAM password-token request (IAM `POST /v3/auth/tokens`), scoped to the region's
/// project, every value escaped.
pub(crate) struct IamBody<'a>(pub(crate) &'a IamAccount<'a>);

impl fmt::Display for IamBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        f.write_str(
            r#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"domain":{"name":"#,
        )?;
        write!(f, "{}", JsonStr(a.domain))?;
        f.write_str(r#"},"name":"#)?;
        write!(f, "{}", JsonStr(a.username))?;
        f.write_str(r#","password":"#)?;
        write!(f, "{}", JsonStr(a.password))?;
        f.write_str(r#"}}},"scope":{"project":{"name":"#)?;
        write!(f, "{}", JsonStr(a.region))?;
        f.write_str("}}}}")
    }
}

/// `{"node_id":"…","product_id":"…"}`, escaped.
pub(crate) struct CreateBody<'a> {
    pub(crate) node_id: &'a str,
    pub(crate) product_id: &'a str,
}

impl fmt::Display for CreateBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{\"node_id\":{},\"product_id\":{}}}",
            JsonStr(self.node_id),
            JsonStr(self.product_id)
        )
    }
}

/// The parts of IoTDA's device-creation answer the device keeps.
#[derive(Deserialize)]
pub(crate) struct Created {
    device_id: Option<Text<MAX_DEVICE_ID_LEN>>,
    auth_info: Option<AuthInfo>,
}

#[derive(Deserialize)]
struct AuthInfo {
    secret: Option<Text<MAX_SECRET_LEN>>,
}

/// An error answer: IoTDA's and the API gateway's `{"error_code","error_msg"}`, or IAM's
/// `{"error":{"code","message","title"}}`.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    error_code: Option<Text<32>>,
    error_msg: Option<Text<96>>,
    error: Option<IamError>,
}

#[derive(Deserialize)]
struct IamError {
    code: Option<Text<32>>,
    message: Option<Text<96>>,
}

/// Reads a device-creation answer: the device id and secret, or why not.
pub(crate) fn created<E>(
    status: u16,
    body: &[u8],
    unescape: &mut [u8],
    record: &mut [u8],
) -> Result<usize, RegisterError<E>> {
    if !matches!(status, 200 | 201) {
        return Err(refusal(status, body, unescape));
    }
    let (created, _) = serde_json_core::from_slice_escaped::<Created>(body, unescape)
        .map_err(|_| RegisterError::BadResponse("not IoTDA's JSON answer"))?;
    let device_id =
        created
            .device_id
            .as_ref()
            .and_then(Text::exact)
            .ok_or(RegisterError::BadResponse(
                "no `device_id`, or one longer than 128 bytes",
            ))?;
    DeviceId::new(device_id)
        .map_err(|_| RegisterError::BadResponse("`device_id` cannot name a device"))?;
    let secret = created
        .auth_info
        .as_ref()
        .and_then(|a| a.secret.as_ref())
        .and_then(Text::exact)
        .ok_or(RegisterError::BadResponse(
            "no `auth_info.secret`, or one longer than 64 bytes",
        ))?;
    let fields: [&[u8]; 4] = [
        b"device_id",
        device_id.as_bytes(),
        b"secret",
        secret.as_bytes(),
    ];
    Fields::write(record, &fields).ok_or(RegisterError::RecordTooLarge {
        len: Fields::len_of(&fields),
        capacity: record.len(),
    })
}

/// A refusal from IAM or IoTDA: its code from the body, its meaning from the status and
/// the code. Without a recognised error body, the status alone.
pub(crate) fn refusal<E>(status: u16, body: &[u8], unescape: &mut [u8]) -> RegisterError<E> {
    let Ok((error, _)) = serde_json_core::from_slice_escaped::<ErrorBody>(body, unescape) else {
        return RegisterError::Status(status);
    };
    let iam = error.error.as_ref();
    let code = error
        .error_code
        .as_ref()
        .or(iam.and_then(|e| e.code.as_ref()))
        .map(Text::as_str)
        .filter(|c| !c.is_empty());
    let msg = error
        .error_msg
        .as_ref()
        .or(iam.and_then(|e| e.message.as_ref()))
        .map_or("", Text::as_str);
    let Some(code) = code else {
        return RegisterError::Status(status);
    };
    RegisterError::rejected(rejection(status, code, msg), code)
}

/// What IAM's or IoTDA's refusal means.
pub(crate) fn rejection(status: u16, code: &str, msg: &str) -> Rejection {
    let has = |word: &str| {
        msg.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    };
    match status {
        401 => Rejection::BadCredentials,
        409 => Rejection::AlreadyExists,
        404 => Rejection::NotFound,
        _ if code.starts_with("IOTDA.") && has("exist") && !has("not exist") => {
            Rejection::AlreadyExists
        }
        _ => Rejection::Other,
    }
}

fn bad_url(which: &'static str) -> ProviderError {
    ProviderError::InvalidValue {
        key: "register_url",
        reason: which,
    }
}

fn too_small(available: usize) -> ProviderError {
    ProviderError::ScratchFull(ScratchFull { available })
}

/// Registers `h` (a registering configuration): an IAM token, then the device; the record
/// is two fields, the device id and the secret.
pub(crate) async fn register<T: Transport, C: Clock>(
    h: &Huawei<'_>,
    io: RegisterIo<'_, T, C>,
    record: &mut [u8],
) -> Result<usize, RegisterError<T::Error>> {
    let Some(enrol) = &h.enrol else {
        return Err(ProviderError::Unsupported(
            "registration: this configuration holds its credentials (use register_with_iam)",
        )
        .into());
    };
    let iam = &enrol.iam;
    let mut iam_text = heapless::String::<MAX_URL_LEN>::new();
    let iam_url = match enrol.iam_url {
        Some(url) => url,
        None => {
            write!(
                iam_text,
                "https://iam.{}.myhuaweicloud.com/v3/auth/tokens",
                iam.region
            )
            .map_err(|_| bad_url("the IAM URL is longer than 320 bytes"))?;
            Url::parse(&iam_text).map_err(|_| bad_url("the IAM URL is not valid"))?
        }
    };
    let mut app_text = heapless::String::<MAX_URL_LEN>::new();
    let app_url = match enrol.app_url {
        Some(url) => url,
        None => {
            let host = if enrol.luatos_app_host {
                host_name(
                    "app_endpoint",
                    format_args!(
                        "{}.iotda.{}.myhuaweicloud.com",
                        iam.app_endpoint, iam.region
                    ),
                )?
            } else {
                host_name("app_endpoint", format_args!("{}", iam.app_endpoint))?
            };
            write!(app_text, "https://{host}/v5/iot/{}/devices", iam.project_id)
                .map_err(|_| bad_url("the device-creation URL is longer than 320 bytes"))?;
            Url::parse(&app_text).map_err(|_| bad_url("the device-creation URL is not valid"))?
        }
    };

    let RegisterIo {
        transport,
        clock,
        buf,
        ..
    } = io;
    // Half for the exchanges (request and answer heads, which carry the token), half for
    // request bodies, the token and the answer body.
    let (a, b) = buf.split_at_mut(buf.len() / 2);

    // 1. IAM token.
    let token_len = {
        let mut scratch = Scratch::new(&mut *a);
        let body = scratch
            .format(format_args!("{}", IamBody(iam)))
            .map_err(ProviderError::from)?;
        let body_len = body.len();
        let headers = [("Content-Type", "application/json;charset=utf8")];
        let request = Request {
            headers: &headers,
            ..Request::post(iam_url, enrol.server, body.as_bytes())
        };
        let started =
            Exchange::start(&mut *transport, clock, &request, Redirects::Refuse, &mut *b).await;
        // The password has been sent (or not): do not leave it in the buffer.
        a[..body_len].fill(0);
        let mut ex = started?;
        let status = ex.status();
        if matches!(status, 200 | 201) {
            let token = ex
                .header("X-Subject-Token")
                .map(str::trim)
                .filter(|t| !t.is_empty());
            let copied = match token {
                None => Err(RegisterError::BadResponse(
                    "IAM answered without an `X-Subject-Token`",
                )),
                Some(t) if t.len() > a.len() => Err(too_small(a.len()).into()),
                Some(t) => {
                    a[..t.len()].copy_from_slice(t.as_bytes());
                    Ok(t.len())
                }
            };
            ex.close().await;
            copied?
        } else {
            let read = ex.read_to_end(&mut *a).await;
            ex.close().await;
            let body = read?;
            return Err(refusal(status, body, b));
        }
    };

    // 2. The device.
    let (token, rest) = a.split_at_mut(token_len);
    let token = core::str::from_utf8(token)
        .map_err(|_| RegisterError::BadResponse("the IAM token is not text"))?;
    let create = CreateBody {
        node_id: enrol.node_id,
        product_id: enrol.product_id,
    };
    let mut count = Counter::default();
    let _ = write!(count, "{create}");
    if count.0 > rest.len() {
        return Err(too_small(rest.len()).into());
    }
    let (body_buf, answer_buf) = rest.split_at_mut(count.0);
    let body = Scratch::new(body_buf)
        .format(format_args!("{create}"))
        .map_err(ProviderError::from)?;
    let all_headers = [
        ("Content-Type", "application/json"),
        ("X-Auth-Token", token),
        ("Instance-Id", enrol.instance_id.unwrap_or("")),
    ];
    let headers = if enrol.instance_id.is_some() {
        &all_headers[..]
    } else {
        &all_headers[..2]
    };
    let request = Request {
        headers,
        ..Request::post(app_url, enrol.server, body.as_bytes())
    };
    let mut ex = Exchange::start(transport, clock, &request, Redirects::Refuse, &mut *b).await?;
    let status = ex.status();
    let read = ex.read_to_end(answer_buf).await;
    ex.close().await;
    let answer = read?;
    created(status, answer, b, record)
}

/// The device id and secret a registration record holds.
pub(crate) fn recorded(record: Option<&[u8]>) -> Result<(DeviceId<'_>, &str), ProviderError> {
    let record = record.ok_or(ProviderError::MissingKey("device_secret"))?;
    let damaged = ProviderError::InvalidValue {
        key: "device_secret",
        reason: "the registration record does not hold a device id and secret",
    };
    let id = field(record, "device_id").ok_or(damaged)?;
    let secret = field(record, "secret")
        .filter(|s| !s.is_empty())
        .ok_or(damaged)?;
    let id = DeviceId::new(id).map_err(|_| damaged)?;
    Ok((id, secret))
}
