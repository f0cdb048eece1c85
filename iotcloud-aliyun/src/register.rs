//! Dynamic registration ("one product, one secret"): HTTPS for pre-registered devices, and
//! MQTT `register` / `regnwl`.

use core::fmt::Write as _;

use iotcloud_core::clock::Clock;
use iotcloud_core::http::{Exchange, Method, Redirects, Request, Url};
use iotcloud_core::mqtt::Connect;
use iotcloud_core::provider::{MAX_HOST_LEN, Provider, ProviderError};
use iotcloud_core::register::{Fields, RegisterError, RegisterIo, Rejection, field, mqtt_answer};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{Algorithm, Decimal, EncodeSet, PercentEncoded, hmac};
use iotcloud_core::transport::{ServerAuth, Transport};
use serde::Deserialize;

use crate::{Aliyun, DynamicFlow, Instance};

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

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(rename = "deviceSecret", default, borrow)]
    device_secret: Option<&'a str>,
    #[serde(rename = "clientId", default, borrow)]
    client_id: Option<&'a str>,
    #[serde(rename = "deviceToken", default, borrow)]
    device_token: Option<&'a str>,
}

#[derive(Deserialize)]
struct HttpsAnswer<'a> {
    code: i64,
    #[serde(default, borrow)]
    message: Option<&'a str>,
    #[serde(default, borrow)]
    data: Option<Answer<'a>>,
}

/// Writes what the platform returned as a record.
fn write_record<E>(answer: &Answer<'_>, record: &mut [u8]) -> Result<usize, RegisterError<E>> {
    let too_large = |fields: &[&[u8]]| RegisterError::RecordTooLarge {
        len: Fields::len_of(fields),
        capacity: record.len(),
    };
    match (answer.device_secret, answer.client_id, answer.device_token) {
        (Some(secret), _, _) if !secret.is_empty() => {
            let fields: &[&[u8]] = &[b"deviceSecret", secret.as_bytes()];
            let err = too_large(fields);
            Fields::write(record, fields).ok_or(err)
        }
        (_, Some(id), Some(token)) if !id.is_empty() && !token.is_empty() => {
            let fields: &[&[u8]] = &[b"clientId", id.as_bytes(), b"deviceToken", token.as_bytes()];
            let err = too_large(fields);
            Fields::write(record, fields).ok_or(err)
        }
        _ => Err(RegisterError::BadResponse(
            "no deviceSecret, nor clientId and deviceToken",
        )),
    }
}

/// Maps an HTTPS registration refusal. Aliyun does not document the codes of this API;
/// its messages are matched for the cases a device can act on.
fn refusal<E>(code: i64, message: &str) -> RegisterError<E> {
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
    pub(crate) async fn register_dynamic<T: Transport, C: Clock>(
        &self,
        product_secret: &str,
        flow: DynamicFlow,
        io: RegisterIo<'_, T, C>,
        record: &mut [u8],
    ) -> Result<usize, RegisterError<T::Error>> {
        let (pk, dn) = (self.config.product_key, self.config.device_name);
        let random = Decimal::new(io.random);
        // The same MAC for both transports: HMAC-SHA256 under the ProductSecret.
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
        let mut sign = heapless::String::<64>::new();
        write!(sign, "{}", mac.hex()).map_err(|_| RegisterError::BadResponse("signature"))?;
        match flow {
            DynamicFlow::Https => {
                self.register_https(pk, dn, &random, &sign, io, record)
                    .await
            }
            DynamicFlow::Register | DynamicFlow::Regnwl => {
                let auth_type = if flow == DynamicFlow::Register {
                    "register"
                } else {
                    "regnwl"
                };
                let mut client_id = heapless::String::<160>::new();
                let secure_mode = match self.instance {
                    Instance::Id(_) => "-2",
                    Instance::Public { .. } => "2",
                };
                write!(
                    client_id,
                    "{dn}|securemode={secure_mode},authType={auth_type},random={random},signmethod=hmacsha256"
                )
                .map_err(|_| RegisterError::Provider(too_long("device_name")))?;
                if let Instance::Id(id) = self.instance {
                    write!(client_id, ",instanceId={id}")
                        .map_err(|_| RegisterError::Provider(too_long("instance_id")))?;
                }
                client_id
                    .push('|')
                    .map_err(|_| RegisterError::Provider(too_long("device_name")))?;
                let mut username = heapless::String::<64>::new();
                write!(username, "{dn}&{pk}")
                    .map_err(|_| RegisterError::Provider(too_long("device_name")))?;
                let connect = Connect {
                    client_id: &client_id,
                    keep_alive: 60,
                    clean_session: true,
                    will: None,
                    username: Some(&username),
                    password: Some(sign.as_bytes()),
                };
                let mut host = [0u8; MAX_HOST_LEN];
                let endpoint = self.endpoint(&mut Scratch::new(&mut host))?;
                if endpoint.tls.is_none() && self.overrides.host.is_none() {
                    // The platform only registers over TLS.
                    return Err(RegisterError::Provider(ProviderError::InvalidValue {
                        key: "tls",
                        reason: "Aliyun registers devices over TLS only",
                    }));
                }
                let pushed = mqtt_answer(
                    io,
                    &endpoint,
                    &connect,
                    &["/ext/register", "/ext/regnwl"],
                    MQTT_TIMEOUT_MS,
                )
                .await?;
                let (answer, _) = serde_json_core::from_slice::<Answer<'_>>(pushed.payload)
                    .map_err(|_| RegisterError::BadResponse("registration answer is not JSON"))?;
                write_record(&answer, record)
            }
        }
    }

    async fn register_https<T: Transport, C: Clock>(
        &self,
        pk: &str,
        dn: &str,
        random: &Decimal,
        sign: &str,
        io: RegisterIo<'_, T, C>,
        record: &mut [u8],
    ) -> Result<usize, RegisterError<T::Error>> {
        let mut default_url = heapless::String::<128>::new();
        let url = match self.register_url {
            Some(url) => url,
            None => {
                let region = match self.instance {
                    Instance::Public { region } => region,
                    Instance::Id(_) => crate::DEFAULT_REGION,
                };
                write!(
                    default_url,
                    "https://iot-auth.{region}.aliyuncs.com/auth/register/device"
                )
                .map_err(|_| RegisterError::Provider(too_long("region")))?;
                &default_url
            }
        };
        let url = Url::parse(url).map_err(|_| {
            RegisterError::Provider(ProviderError::InvalidValue {
                key: "register_url",
                reason: "not an http:// or https:// URL",
            })
        })?;
        let mut body = heapless::String::<512>::new();
        write!(
            body,
            "productKey={}&deviceName={}&random={random}&sign={sign}&signMethod=hmacsha256",
            PercentEncoded(pk, EncodeSet::Unreserved),
            PercentEncoded(dn, EncodeSet::Unreserved),
        )
        .map_err(|_| RegisterError::Provider(too_long("device_name")))?;
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        let request = Request {
            method: Method::Post,
            headers: &headers,
            body: body.as_bytes(),
            ..Request::get(url, ServerAuth::DefaultRoots)
        };
        let (exchange_buf, body_buf) = io.buf.split_at_mut(io.buf.len() / 2);
        let mut ex = Exchange::start(
            io.transport,
            io.clock,
            &request,
            Redirects::Refuse,
            exchange_buf,
        )
        .await?;
        let status = ex.status();
        let read = ex.read_to_end(body_buf).await;
        ex.close().await;
        let body = read?;
        let Ok((answer, _)) = serde_json_core::from_slice::<HttpsAnswer<'_>>(body) else {
            return Err(if status == 200 {
                RegisterError::BadResponse("registration answer is not JSON")
            } else {
                RegisterError::Status(status)
            });
        };
        if answer.code != 200 {
            return Err(refusal(answer.code, answer.message.unwrap_or("")));
        }
        let data = answer
            .data
            .ok_or(RegisterError::BadResponse("no data in the answer"))?;
        write_record(&data, record)
    }
}

fn too_long(key: &'static str) -> ProviderError {
    ProviderError::InvalidValue {
        key,
        reason: "too long for the registration request",
    }
}
