//! Dynamic registration ("one product, one secret"): HTTPS for pre-registered devices, and
//! MQTT `register` / `regnwl`. The requests are written and the answers read here; the
//! device runs the exchanges.

use iotcloud_core::http::Url;
use iotcloud_core::json::{Kind, Value};
use iotcloud_core::mqtt::Connect;
use iotcloud_core::provider::{Provider, ProviderError};
use iotcloud_core::register::{
    AnswerError, Answered, Fields, HttpRequest, MqttRequest, RegisterAnswer, RegisterContext,
    RegisterError, RegisterRequest, Registration, RegistrationId, Rejection, field,
};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Algorithm, Decimal, EncodeSet, PercentEncoded, hmac};
use iotcloud_core::transport::ServerAuth;

use crate::{Aliyun, Auth, DynamicFlow, Instance};

/// How long the platform has to push the registration answer.
const MQTT_TIMEOUT_MS: u64 = 30_000;

/// The secret a record holds, or the client id and token.
pub(crate) enum Obtained<'r> {
    Secret(&'r str),
    Token { client_id: &'r str, token: &'r str },
}

/// Reads a record written by [`write_record`]: `deviceSecret`, or `clientId` and
/// `deviceToken`, as the platform names them.
pub(crate) fn read_record(record: &[u8]) -> Option<Obtained<'_>> {
    if let Some(secret) = field(record, "deviceSecret") {
        return Some(Obtained::Secret(secret));
    }
    Some(Obtained::Token {
        client_id: field(record, "clientId")?,
        token: field(record, "deviceToken")?,
    })
}

/// Writes the `deviceSecret`, or the `clientId` and `deviceToken`, of an answer's data
/// object as a record.
fn write_record(data: Value<'_>, record: &mut [u8]) -> Result<usize, AnswerError> {
    /// A member's text, unescaped into `buf` where it must be; empty counts as missing.
    fn text<'b>(v: Option<Value<'b>>, buf: &'b mut [u8]) -> Option<&'b str> {
        v.and_then(|v| v.unescaped(buf)).filter(|s| !s.is_empty())
    }
    let (mut first, mut second) = ([0u8; 128], [0u8; 128]);
    let fields: [&[u8]; 4];
    let fields: &[&[u8]] = if let Some(secret) = text(data.get("deviceSecret"), &mut first) {
        fields = [b"deviceSecret", secret.as_bytes(), b"", b""];
        &fields[..2]
    } else {
        let id = text(data.get("clientId"), &mut first);
        let token = text(data.get("deviceToken"), &mut second);
        let (Some(id), Some(token)) = (id, token) else {
            return Err(RegisterError::BadResponse(
                "no deviceSecret, nor clientId and deviceToken",
            ));
        };
        fields = [b"clientId", id.as_bytes(), b"deviceToken", token.as_bytes()];
        &fields
    };
    Fields::write(record, fields).ok_or(RegisterError::RecordTooLarge {
        len: Fields::len_of(fields),
        capacity: record.len(),
    })
}

/// Maps an HTTPS registration refusal. Aliyun does not document the codes of this API;
/// its messages are matched for the cases a device can act on.
fn refusal(code: i64, message: &str) -> AnswerError {
    let has = |w: &str| {
        message
            .as_bytes()
            .windows(w.len())
            .any(|win| win.eq_ignore_ascii_case(w.as_bytes()))
    };
    let reason = if has("activ") {
        Rejection::AlreadyActivated
    } else if has("not exist") || has("not found") {
        Rejection::NotFound
    } else if has("sign") || has("secret") {
        Rejection::BadCredentials
    } else if has("disable") || has("not open") || has("not enable") {
        Rejection::Disabled
    } else {
        Rejection::Other
    };
    RegisterError::rejected(reason, Decimal::new(code.unsigned_abs()).as_str())
}

impl Aliyun<'_> {
    /// `sign`: hex HMAC-SHA256 under the ProductSecret of
    /// `deviceName{dn}productKey{pk}random{r}`, the same for both transports.
    fn registration_mac<'s>(
        &self,
        product_secret: &str,
        random: &str,
        scratch: &mut Scratch<'s>,
    ) -> Result<&'s str, ProviderError> {
        let (pk, dn) = (self.product_key, self.device_name);
        let mac = hmac(
            Algorithm::Sha256,
            product_secret.as_bytes(),
            &[
                b"deviceName",
                dn.as_bytes(),
                b"productKey",
                pk.as_bytes(),
                b"random",
                random.as_bytes(),
            ],
        )?;
        Ok(scratch.text(|w| w.write_hex(mac.as_bytes(), false))?)
    }

    /// `POST /auth/register/device` with the form fields.
    fn https_request<'s>(
        &'s self,
        random: &'s str,
        sign: &'s str,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        let (pk, dn) = (self.product_key, self.device_name);
        let url = match self.register_url {
            Some(url) => url,
            None => {
                let region = self.region;
                scratch
                    .concat(&[
                        "https://iot-auth.",
                        region,
                        ".aliyuncs.com/auth/register/device",
                    ])
                    .map_err(|_| too_long("region"))?
            }
        };
        let url = Url::parse(url).map_err(|_| ProviderError::InvalidValue {
            key: "register_url",
            reason: "not an http:// or https:// URL",
        })?;
        let body = scratch.format(format_args!(
            "productKey={}&deviceName={}&random={random}&sign={sign}&signMethod=hmacsha256",
            PercentEncoded(pk, EncodeSet::Unreserved),
            PercentEncoded(dn, EncodeSet::Unreserved),
        ))?;
        let request = HttpRequest::post(url, ServerAuth::DefaultRoots, body.as_bytes())
            .header("Content-Type", "application/x-www-form-urlencoded")?;
        Ok(RegisterRequest::Http(request))
    }

    /// An MQTT connection with `authType=register` or `regnwl`.
    fn mqtt_request<'s>(
        &'s self,
        flow: DynamicFlow,
        random: &'s str,
        sign: &'s str,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        let (pk, dn) = (self.product_key, self.device_name);
        let auth_type = if flow == DynamicFlow::Register {
            "register"
        } else {
            "regnwl"
        };
        let (secure_mode, instance) = match self.instance {
            Instance::Id(id) => ("-2", id),
            Instance::Public { .. } => ("2", ""),
        };
        let instance_key = if instance.is_empty() {
            ""
        } else {
            ",instanceId="
        };
        let client_id = scratch
            .concat(&[
                dn,
                "|securemode=",
                secure_mode,
                ",authType=",
                auth_type,
                ",random=",
                random,
                ",signmethod=hmacsha256",
                instance_key,
                instance,
                "|",
            ])
            .map_err(|_| too_long("device_name"))?;
        let username = scratch
            .concat(&[dn, "&", pk])
            .map_err(|_| too_long("device_name"))?;
        let endpoint = self.endpoint(scratch)?;
        if endpoint.tls.is_none() && self.connection.overrides.host.is_none() {
            // The platform only registers over TLS.
            return Err(ProviderError::InvalidValue {
                key: "tls",
                reason: "Aliyun registers devices over TLS only",
            });
        }
        Ok(RegisterRequest::Mqtt(MqttRequest {
            endpoint,
            connect: Connect {
                client_id,
                keep_alive: 60,
                clean_session: true,
                will: None,
                username: Some(username),
                password: Some(sign.as_bytes()),
            },
            topics: ["/ext/register", "/ext/regnwl"],
            timeout_ms: MQTT_TIMEOUT_MS,
        }))
    }
}

impl Registration for Aliyun<'_> {
    fn id(&self) -> RegistrationId<'_> {
        RegistrationId {
            product: self.product_key,
            device: self.device_name,
        }
    }

    fn request<'s>(
        &'s self,
        _step: u8,
        _carry: &'s [u8],
        ctx: &RegisterContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        let Auth::Dynamic {
            product_secret,
            flow,
        } = self.auth
        else {
            return Err(ProviderError::Unsupported(
                "registration: this configuration holds its credentials",
            ));
        };
        // Aliyun's own hosts of the old public instance: a host override is another server
        // (a test broker, a proxy), which may serve the flow.
        if flow == DynamicFlow::Regnwl
            && matches!(self.instance, Instance::Public { .. })
            && self.connection.overrides.host.is_none()
            && !self.regnwl_on_public
        {
            return Err(ProviderError::Unsupported(
                "regnwl (registration without pre-registration) on the old public instance: \
                 Aliyun documents it for Enterprise instances only; give `instance_id`, or \
                 pre-register the device and give `device_name`",
            ));
        }
        let random = scratch.copy(Decimal::new(ctx.random).as_str())?;
        let sign = self.registration_mac(product_secret.expose(), random, scratch)?;
        match flow {
            DynamicFlow::Https => self.https_request(random, sign, scratch),
            DynamicFlow::Register | DynamicFlow::Regnwl => {
                self.mqtt_request(flow, random, sign, scratch)
            }
        }
    }

    fn answer(
        &self,
        _step: u8,
        answer: RegisterAnswer<'_>,
        out: &mut [u8],
        _carry: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        match answer {
            RegisterAnswer::Mqtt { payload, .. } => {
                let doc = Value::parse(payload)
                    .map_err(|_| RegisterError::BadResponse("registration answer is not JSON"))?;
                write_record(doc, out).map(Answered::Record)
            }
            RegisterAnswer::Http(http) => {
                let Ok(doc) = Value::parse(http.body) else {
                    return Err(if http.status == 200 {
                        RegisterError::BadResponse("registration answer is not JSON")
                    } else {
                        RegisterError::Status(http.status)
                    });
                };
                let code = doc.get("code").and_then(|c| c.as_i64());
                let Some(code) = code else {
                    return Err(RegisterError::BadResponse("no code in the answer"));
                };
                if code != 200 {
                    let mut text = [0u8; 128];
                    let message = doc
                        .get("message")
                        .and_then(|m| m.unescaped(&mut text))
                        .unwrap_or("");
                    return Err(refusal(code, message));
                }
                let data = doc
                    .get("data")
                    .filter(|d| d.kind() == Kind::Object)
                    .ok_or(RegisterError::BadResponse("no data in the answer"))?;
                write_record(data, out).map(Answered::Record)
            }
        }
    }
}

fn too_long(key: &'static str) -> ProviderError {
    ProviderError::InvalidValue {
        key,
        reason: "too long for the registration request",
    }
}
