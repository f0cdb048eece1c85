//! Dynamic registration through IoTDA's application-side API (clouds-official §4.3 A): an
//! IAM token for the account's user (step 0), then `POST /v5/iot/{project_id}/devices` with
//! that token (step 1); the answer's `device_id` and `auth_info.secret` become the device's
//! credentials. The requests are written and the answers read here; the device runs the
//! exchanges.

use core::fmt;

use iotcloud_core::http::Url;
use iotcloud_core::json::{JsonStr, Kind, Value};
use iotcloud_core::provider::{ProviderError, check_host_len};
use iotcloud_core::register::{
    AnswerError, Answered, DEFAULT_HEAD_ROOM, Fields, HttpRequest, RegisterAnswer, RegisterContext,
    RegisterError, RegisterRequest, Registration, RegistrationId, Rejection, field,
};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Secret, check_identifier};
use iotcloud_core::transport::ServerAuth;

use crate::{
    Auth, DeviceId, Huawei, MAX_DEVICE_ID_LEN, MAX_NODE_ID_LEN, MAX_PRODUCT_ID_LEN, MAX_SECRET_LEN,
    check_host_label,
};

/// Longest URL built from the account (the IAM and device-creation URLs).
const MAX_URL_LEN: usize = 320;

/// Step 0: the IAM token.
const TOKEN_STEP: u8 = 0;

/// Step 1: the device, created with the token.
const CREATE_STEP: u8 = 1;

/// The IAM token URL path. `nocatalog` leaves the service catalogue (tens of kilobytes) out
/// of the answer's body: only the `X-Subject-Token` header is used, and the device reads
/// the whole answer into its receive buffer.
const IAM_PATH: &str = "/v3/auth/tokens?nocatalog=true";

const NOT_REGISTERING: ProviderError = ProviderError::Unsupported(
    "registration settings on a configuration that does not register (use registering_with_iam)",
);

/// The account an IAM token is requested for, and where its IoTDA application API is.
///
/// Putting an account password into firmware exposes the account: every unit carries it.
/// `Debug` hides the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamAccount<'a> {
    /// The IoTDA project id (`{project_id}` in the API path; shown in the console under
    /// "My Credentials").
    pub project_id: &'a str,
    /// The account (IAM domain) name.
    pub domain: &'a str,
    /// The IAM user name.
    pub username: &'a str,
    /// The IAM user's password.
    pub password: Secret<'a>,
    /// The application-side API host, as the console shows it, e.g.
    /// `5341624af8.st1.iotda-app.cn-north-4.myhuaweicloud.com`. With
    /// [`Huawei::with_luatos_app_endpoint`], LuatOS's `endpoint` prefix instead.
    pub app_endpoint: &'a str,
    /// The region: the IAM host `iam.{region}.myhuaweicloud.com` and the token's project
    /// scope, e.g. `cn-north-4`.
    pub region: &'a str,
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

impl<'a> Huawei<'a> {
    /// A device that creates itself in IoTDA with an IAM account (clouds-official §4.3 A):
    /// an IAM token from `POST https://iam.{region}.myhuaweicloud.com/v3/auth/tokens`, then
    /// `POST https://{app_endpoint}/v5/iot/{project_id}/devices` with `node_id` and
    /// `product_id`. It then logs in with the `device_id` and `auth_info.secret` the cloud
    /// returned, exactly as `Huawei::with_secret(DeviceId::new(device_id)?, secret)` would.
    ///
    /// The MQTT side still needs [`with_endpoint`](Self::with_endpoint) (or a host
    /// override); the region is taken from `iam` (change it with
    /// [`with_region`](Self::with_region)). Topics are built for
    /// `{product_id}_{node_id}`, the id IoTDA gives a device created without one; see
    /// [`Huawei::registered_device_id`].
    pub fn registering_with_iam(
        product_id: &'a str,
        node_id: &'a str,
        iam: IamAccount<'a>,
    ) -> Result<Self, ProviderError> {
        check_identifier("product_id", product_id, MAX_PRODUCT_ID_LEN)?;
        check_identifier("node_id", node_id, MAX_NODE_ID_LEN)?;
        if iam.project_id.is_empty() {
            return Err(ProviderError::MissingKey("project_id"));
        }
        let path_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if iam.project_id.len() > 64 || !iam.project_id.bytes().all(path_safe) {
            return Err(ProviderError::InvalidValue {
                key: "project_id",
                reason: "is not a project id (up to 64 letters, digits, `-`, `_`)",
            });
        }
        for (key, value) in [
            ("iam_domain", iam.domain),
            ("iam_username", iam.username),
            ("iam_password", iam.password.expose()),
        ] {
            if value.is_empty() {
                return Err(ProviderError::MissingKey(key));
            }
        }
        check_host_label("app_endpoint", iam.app_endpoint)?;
        check_host_label("region", iam.region)?;
        let device_id = DeviceId::from_node(product_id, node_id)?;
        let mut h = Self::from_auth(device_id, Auth::Registered);
        h.region = iam.region;
        h.enrol = Some(Enrol {
            product_id,
            node_id,
            iam,
            iam_url: None,
            app_url: None,
            luatos_app_host: false,
            instance_id: None,
            server: ServerAuth::DefaultRoots,
        });
        Ok(h)
    }

    /// Registers at these URLs instead of Huawei's (`http://…` or `https://…`): the IAM
    /// token URL (`…/v3/auth/tokens`, with `?nocatalog=true` for Huawei's IAM) and the
    /// device-creation URL (`…/v5/iot/{project_id}/devices`), e.g. a local test server.
    /// Only for a configuration from [`registering_with_iam`](Self::registering_with_iam).
    pub fn with_register_urls(
        mut self,
        iam_url: &'a str,
        app_url: &'a str,
    ) -> Result<Self, ProviderError> {
        let enrol = self.enrol.as_mut().ok_or(NOT_REGISTERING)?;
        enrol.iam_url = Some(
            Url::parse(iam_url).map_err(|_| ProviderError::InvalidValue {
                key: "register_url",
                reason: "the IAM URL is not an http:// or https:// URL with a valid host and port",
            })?,
        );
        enrol.app_url = Some(
            Url::parse(app_url).map_err(|_| ProviderError::InvalidValue {
                key: "register_url",
                reason: "the device-creation URL is not an http:// or https:// URL with a valid \
                     host and port",
            })?,
        );
        Ok(self)
    }

    /// How the IAM and IoTDA API servers are checked over HTTPS. The default is
    /// `ServerAuth::DefaultRoots` (the HAL's web PKI roots): Huawei does not list the API
    /// hosts' roots, and [`CA_PEM`](crate::CA_PEM) holds the device-access roots.
    pub fn with_register_server(mut self, server: ServerAuth<'a>) -> Result<Self, ProviderError> {
        self.enrol.as_mut().ok_or(NOT_REGISTERING)?.server = server;
        Ok(self)
    }

    /// Reads [`IamAccount::app_endpoint`] as LuatOS's `endpoint` and builds the API host as
    /// LuatOS does, `{app_endpoint}.iotda.{region}.myhuaweicloud.com`. Huawei's consoles
    /// show the host instead (`{prefix}.st1.iotda-app.{region}.myhuaweicloud.com`); the
    /// pattern LuatOS guesses is not documented.
    pub fn with_luatos_app_endpoint(mut self) -> Result<Self, ProviderError> {
        self.enrol.as_mut().ok_or(NOT_REGISTERING)?.luatos_app_host = true;
        Ok(self)
    }

    /// Sends `Instance-Id: {instance_id}` when creating the device, which Standard and
    /// Enterprise instances require (the console shows the instance id).
    pub fn with_instance_id(mut self, instance_id: &'a str) -> Result<Self, ProviderError> {
        check_identifier("instance_id", instance_id, 64)?;
        self.enrol.as_mut().ok_or(NOT_REGISTERING)?.instance_id = Some(instance_id);
        Ok(self)
    }
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
        write!(f, "{}", JsonStr(a.password.expose()))?;
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

fn bad_url(which: &'static str) -> ProviderError {
    ProviderError::InvalidValue {
        key: "register_url",
        reason: which,
    }
}

/// The URL made of `parts`, written into `scratch` and parsed; longer than
/// [`MAX_URL_LEN`] is `too_long`, unparsable is `invalid`.
fn url_in<'s>(
    scratch: &mut Scratch<'s>,
    parts: &[&str],
    too_long: &'static str,
    invalid: &'static str,
) -> Result<Url<'s>, ProviderError> {
    let len = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
    if len > MAX_URL_LEN {
        return Err(bad_url(too_long));
    }
    let text = scratch.concat(parts)?;
    Url::parse(text).map_err(|_| bad_url(invalid))
}

impl Enrol<'_> {
    /// Step 0: `POST /v3/auth/tokens` with the password identity.
    fn token_request<'s>(
        &'s self,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        // The body first: step 1 writes over this memory, the password with it.
        let body = scratch.format(format_args!("{}", IamBody(&self.iam)))?;
        let url = match self.iam_url {
            Some(url) => url,
            None => url_in(
                scratch,
                &[
                    "https://iam.",
                    self.iam.region,
                    ".myhuaweicloud.com",
                    IAM_PATH,
                ],
                "the IAM URL is longer than 320 bytes",
                "the IAM URL is not valid",
            )?,
        };
        let mut request = HttpRequest::post(url, self.server, body.as_bytes())
            .header("Content-Type", "application/json;charset=utf8")?;
        // The answer's head carries the token, which Huawei sizes at several kilobytes: as
        // much room as the device gives (it keeps at most half its receive buffer).
        request.head_room = usize::MAX;
        Ok(RegisterRequest::Http(request))
    }

    /// Step 1: `POST /v5/iot/{project_id}/devices` with `X-Auth-Token: {token}`.
    fn create_request<'s>(
        &'s self,
        token: &'s [u8],
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        let token = core::str::from_utf8(token)
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(ProviderError::InvalidValue {
                key: "iam_token",
                reason: "the IAM token carried to the device creation is not text",
            })?;
        // The IAM request (and the password in it) was written in this memory: whatever the
        // token did not overwrite is wiped before anything else is written.
        let free = scratch.available();
        scratch.bytes(free, |rest| {
            rest.fill(0);
            Ok(0)
        })?;
        let body = scratch.format(format_args!(
            "{}",
            CreateBody {
                node_id: self.node_id,
                product_id: self.product_id,
            }
        ))?;
        let url = match self.app_url {
            Some(url) => url,
            None => {
                let (iam, luatos) = (&self.iam, self.luatos_app_host);
                let host: [&str; 4] = if luatos {
                    [
                        iam.app_endpoint,
                        ".iotda.",
                        iam.region,
                        ".myhuaweicloud.com",
                    ]
                } else {
                    [iam.app_endpoint, "", "", ""]
                };
                check_host_len("app_endpoint", &host)?;
                let [a, b, c, d] = host;
                url_in(
                    scratch,
                    &[
                        "https://",
                        a,
                        b,
                        c,
                        d,
                        "/v5/iot/",
                        iam.project_id,
                        "/devices",
                    ],
                    "the device-creation URL is longer than 320 bytes",
                    "the device-creation URL is not valid",
                )?
            }
        };
        let mut request = HttpRequest::post(url, self.server, body.as_bytes())
            .header("Content-Type", "application/json")?
            .header("X-Auth-Token", token)?;
        if let Some(instance_id) = self.instance_id {
            request = request.header("Instance-Id", instance_id)?;
        }
        // The request's head carries the token.
        request.head_room = DEFAULT_HEAD_ROOM.saturating_add(token.len());
        Ok(RegisterRequest::Http(request))
    }
}

impl Registration for Huawei<'_> {
    /// `{product_id}` / `{node_id}` of a registering configuration.
    fn id(&self) -> RegistrationId<'_> {
        match &self.enrol {
            Some(enrol) => RegistrationId {
                product: enrol.product_id,
                device: enrol.node_id,
            },
            // Not registering (nothing is stored): the device id's own parts.
            None => match self.device_id.0 {
                [product, "_", node] => RegistrationId {
                    product,
                    device: node,
                },
                [id, ..] => RegistrationId {
                    product: "",
                    device: id,
                },
            },
        }
    }

    /// Step 0, the IAM token request; step 1, the device creation with the token step 0's
    /// answer carried.
    fn request<'s>(
        &'s self,
        step: u8,
        carry: &'s [u8],
        _ctx: &RegisterContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        let enrol = self.enrol.as_ref().ok_or(ProviderError::Unsupported(
            "registration: this configuration holds its credentials (use registering_with_iam)",
        ))?;
        match step {
            TOKEN_STEP => enrol.token_request(scratch),
            CREATE_STEP => enrol.create_request(carry, scratch),
            _ => Err(ProviderError::Unsupported(
                "registration: IoTDA's takes two requests",
            )),
        }
    }

    /// Step 0: the `X-Subject-Token`, carried to step 1 (it is held in `out`, the
    /// credentials memory, in between). Step 1: the record, two fields, the returned
    /// `device_id` and `auth_info.secret`.
    fn answer(
        &self,
        step: u8,
        answer: RegisterAnswer<'_>,
        out: &mut [u8],
        carry: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        let RegisterAnswer::Http(http) = answer else {
            return Err(RegisterError::BadResponse(
                "IoTDA registers over HTTPS, not MQTT",
            ));
        };
        match step {
            // The token waits in the transmit buffer, in front of the request it goes in.
            TOKEN_STEP => token(
                http.status,
                http.header("X-Subject-Token"),
                http.body,
                carry,
            )
            .map(Answered::Next),
            CREATE_STEP => created(http.status, http.body, out).map(Answered::Record),
            _ => Err(RegisterError::BadResponse(
                "more answers than IoTDA's registration has",
            )),
        }
    }
}

/// Reads IAM's answer: the token (from the `X-Subject-Token` header, `header`) into `out`,
/// or why not.
pub(crate) fn token(
    status: u16,
    header: Option<&str>,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, AnswerError> {
    if !matches!(status, 200 | 201) {
        return Err(refusal(status, body));
    }
    let token =
        header
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(RegisterError::BadResponse(
                "IAM answered without an `X-Subject-Token`",
            ))?;
    let capacity = out.len();
    let kept = out
        .get_mut(..token.len())
        .ok_or(RegisterError::RecordTooLarge {
            len: token.len(),
            capacity,
        })?;
    kept.copy_from_slice(token.as_bytes());
    Ok(token.len())
}

/// A string member's text, unescaped: the whole of it if it is not empty and has at most
/// `max` bytes, else `None`.
fn exact<'b>(v: Option<Value<'b>>, max: usize, buf: &'b mut [u8]) -> Option<&'b str> {
    v?.unescaped(buf)
        .filter(|s| !s.is_empty() && s.len() <= max)
}

/// Reads a device-creation answer: the device id and secret into `record`, or why not.
pub(crate) fn created(status: u16, body: &[u8], record: &mut [u8]) -> Result<usize, AnswerError> {
    if !matches!(status, 200 | 201) {
        return Err(refusal(status, body));
    }
    let doc =
        Value::parse(body).map_err(|_| RegisterError::BadResponse("not IoTDA's JSON answer"))?;
    let mut id_buf = [0u8; MAX_DEVICE_ID_LEN];
    let device_id = exact(doc.get("device_id"), MAX_DEVICE_ID_LEN, &mut id_buf).ok_or(
        RegisterError::BadResponse("no `device_id`, or one longer than 128 bytes"),
    )?;
    DeviceId::new(device_id)
        .map_err(|_| RegisterError::BadResponse("`device_id` cannot name a device"))?;
    let mut secret_buf = [0u8; MAX_SECRET_LEN];
    let secret = exact(
        doc.path(&["auth_info", "secret"]),
        MAX_SECRET_LEN,
        &mut secret_buf,
    )
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

/// Text written into a buffer and cut, at a character boundary, where the buffer ends.
struct Cut<'b> {
    buf: &'b mut [u8],
    len: usize,
    full: bool,
}

impl fmt::Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let end = self.len + c.len_utf8();
            match self.buf.get_mut(self.len..end) {
                Some(dst) if !self.full => {
                    c.encode_utf8(dst);
                    self.len = end;
                }
                _ => self.full = true,
            }
        }
        Ok(())
    }
}

/// `v` if it is a string.
fn text(v: Option<Value<'_>>) -> Option<Value<'_>> {
    v.filter(|v| v.kind() == Kind::String)
}

/// A string member's text, unescaped and cut to `buf`'s size (a long message still says
/// what it starts with); `None` for a missing member or one that is not a string.
fn cut<'b>(v: Option<Value<'_>>, buf: &'b mut [u8]) -> Option<&'b str> {
    let v = text(v)?;
    let mut w = Cut {
        buf: &mut *buf,
        len: 0,
        full: false,
    };
    v.write_str_to(&mut w).ok()?;
    let len = w.len;
    core::str::from_utf8(&buf[..len]).ok()
}

/// A refusal from IAM or IoTDA: its code from the body (IoTDA's and the API gateway's
/// `{"error_code","error_msg"}`, or IAM's `{"error":{"code","message","title"}}`), its
/// meaning from the status and the code. Without a recognised error body, the status alone.
pub(crate) fn refusal(status: u16, body: &[u8]) -> AnswerError {
    let Ok(doc) = Value::parse(body) else {
        return RegisterError::Status(status);
    };
    let iam = doc.get("error");
    let code = text(doc.get("error_code")).or_else(|| text(iam.and_then(|e| e.get("code"))));
    let msg = text(doc.get("error_msg")).or_else(|| text(iam.and_then(|e| e.get("message"))));
    let (mut code_buf, mut msg_buf) = ([0u8; 32], [0u8; 96]);
    let Some(code) = cut(code, &mut code_buf).filter(|c| !c.is_empty()) else {
        return RegisterError::Status(status);
    };
    let msg = cut(msg, &mut msg_buf).unwrap_or("");
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
