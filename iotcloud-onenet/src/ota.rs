//! OneNET OTA: the cloud announces a task over MQTT (`$sys/{pid}/{dn}/ota/inform`) and runs
//! it over its HTTP OTA API (`fuse-ota`): the device reports its version, checks for the
//! task, downloads the image with `Range` and reports the task's status. Requests are
//! written and answers read here, without I/O; [`OneNet::ota_check`],
//! [`OneNet::ota_report_version`] and [`OneNet::ota_report`] run them over a transport
//! with the core's HTTP client, and the core's download engine fetches the image
//! ([`Device::set_ota_job`](iotcloud_core::Device::set_ota_job), then
//! [`Device::download_ota`](iotcloud_core::Device::download_ota)).
//!
//! Every request presents the device token (the MQTT password) as the whole
//! `Authorization` value, and so does the download.

use core::fmt::{self, Write as _};

use iotcloud_core::clock::Clock;
use iotcloud_core::http::{HttpError, Method, Scheme, Url};
use iotcloud_core::json::{JsonStr, Kind, Value};
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::ota::{
    self, DigestAlgorithm, ExpectedDigest, JobText, Notice, OtaContext, OtaFailure, OtaFormat,
    OtaJob, OtaNoticeError, OtaStatus,
};
use iotcloud_core::provider::{
    Provider, ProviderError, Publication, SignContext, TopicPath, subscription,
};
use iotcloud_core::register::{HttpAnswer, HttpRequest};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::{EncodeSet, PercentEncoded};
use iotcloud_core::transport::{ServerAuth, Transport};

use crate::OneNet;

/// Where OneNET's HTTP OTA API is.
pub const OTA_URL: &str = "https://iot-api.heclouds.com/fuse-ota";

/// [`OTA_URL`], parsed.
pub(crate) const DEFAULT_OTA_URL: Url<'static> = Url {
    scheme: Scheme::Https,
    host: "iot-api.heclouds.com",
    port: 443,
    path: "/fuse-ota",
};

/// Bytes of the caller's work memory that hold a request (path, token, body); the rest
/// holds the answer.
pub const OTA_REQUEST_ROOM: usize = 640;

/// Smallest work memory the OTA calls take: [`OTA_REQUEST_ROOM`] and room for an answer.
pub const MIN_OTA_WORK: usize = OTA_REQUEST_ROOM + 1024;

/// Longest target version or task id taken from a check answer, in bytes.
const MAX_FIELD_LEN: usize = 64;

/// Which kind of task the device checks for (`type` of the check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtaKind {
    /// `type=1`, firmware over the air (FOTA): the module's firmware.
    #[default]
    Firmware,
    /// `type=2`, software over the air (SOTA): the application (MCU) firmware.
    Software,
}

impl OtaKind {
    /// The `type` value.
    pub fn code(self) -> u8 {
        match self {
            OtaKind::Firmware => 1,
            OtaKind::Software => 2,
        }
    }
}

/// One call of the HTTP OTA API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtaCall<'a> {
    /// `POST {base}/{pid}/{dn}/version` with `{"s_version":v,"f_version":v}`: the version
    /// the device runs.
    ReportVersion(&'a str),
    /// `GET {base}/{pid}/{dn}/check?type={kind}&version={v}`: is there a task for a device
    /// running `v`?
    Check(&'a str),
    /// `POST {base}/{pid}/{dn}/{tid}/status` with `{"step":N}`.
    Status {
        /// The task id (`tid` of the check answer).
        task_id: &'a str,
        /// The step ([`step`]).
        step: u16,
    },
}

/// The `step` OneNET's status report carries for `status`: download progress 0–100,
/// 101 downloaded (here: verified and being installed), 201 upgraded, and the failure
/// codes 102–107 (download) and 202–207 (upgrade).
pub fn step(status: OtaStatus) -> u16 {
    match status {
        OtaStatus::Downloading { percent } => u16::from(percent.min(100)),
        OtaStatus::Installing => 101,
        OtaStatus::Done => 201,
        OtaStatus::Failed(failure) => match failure {
            OtaFailure::Storage => 102,
            OtaFailure::Timeout => 104,
            OtaFailure::DigestMismatch => 205,
            OtaFailure::Install => 206,
            _ => 107,
        },
    }
}

/// What a OneNET refusal's `code` means (the API's documented error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OtaRefusal {
    /// 1: no such device.
    DeviceNotFound,
    /// 2: a parameter is wrong.
    BadParameter,
    /// 4: the token is not this device's.
    TokenMismatch,
    /// 7: the platform failed.
    Internal,
    /// 8: manufacturer or model mismatch.
    Model,
    /// 9: version error.
    Version,
    /// 11: no task.
    NoTask,
    /// 12: the token expired.
    TokenExpired,
    /// 17: the task is not in a state that allows the call.
    InvalidState,
    /// 20: the task has ended.
    TaskEnded,
    /// 21: the operation is not allowed.
    InvalidOperation,
    /// 22: the task was cancelled.
    TaskCancelled,
    /// 27: the version has a bad format.
    VersionFormat,
    /// Any other code.
    Other,
}

impl OtaRefusal {
    /// The refusal of `code`.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => OtaRefusal::DeviceNotFound,
            2 => OtaRefusal::BadParameter,
            4 => OtaRefusal::TokenMismatch,
            7 => OtaRefusal::Internal,
            8 => OtaRefusal::Model,
            9 => OtaRefusal::Version,
            11 => OtaRefusal::NoTask,
            12 => OtaRefusal::TokenExpired,
            17 => OtaRefusal::InvalidState,
            20 => OtaRefusal::TaskEnded,
            21 => OtaRefusal::InvalidOperation,
            22 => OtaRefusal::TaskCancelled,
            27 => OtaRefusal::VersionFormat,
            _ => OtaRefusal::Other,
        }
    }
}

/// Why an answer of the OTA API is not what the call wanted. Texts name fields, never
/// values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OtaAnswerError {
    /// An HTTP status other than 200 without OneNET's JSON answer.
    #[error("OneNET OTA API answered HTTP {0}")]
    Status(u16),
    /// OneNET refused the call with a non-zero `code`.
    #[error("OneNET OTA API refused the call: code {code} ({reason:?})")]
    Refused {
        /// The code.
        code: i64,
        /// What it means.
        reason: OtaRefusal,
    },
    /// The answer is not OneNET's JSON answer, or lacks what the call needs.
    #[error("OneNET OTA API answer is malformed: {0}")]
    Malformed(&'static str),
    /// The task cannot be made into a job (a field missing or malformed, or the job
    /// memory too small).
    #[error("OneNET OTA task: {0}")]
    Job(OtaNoticeError),
}

/// Why an OTA call failed.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OtaApiError<E> {
    /// The request could not be written (no key, no time for the token, too little
    /// memory).
    #[error("OneNET OTA request: {0}")]
    Request(#[from] ProviderError),
    /// The work memory is smaller than [`MIN_OTA_WORK`].
    #[error("OneNET OTA work memory of {0} bytes is too small")]
    WorkTooSmall(usize),
    /// HTTP failed.
    #[error("OneNET OTA API: {0}")]
    Http(HttpError<E>),
    /// The answer refused the call or could not be read.
    #[error(transparent)]
    Answer(OtaAnswerError),
}

impl<E> From<OtaAnswerError> for OtaApiError<E> {
    fn from(e: OtaAnswerError) -> Self {
        OtaApiError::Answer(e)
    }
}

/// `{"s_version":…,"f_version":…}`.
struct VersionBody<'a>(&'a str);

impl fmt::Display for VersionBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = JsonStr(self.0);
        write!(f, "{{\"s_version\":{v},\"f_version\":{v}}}")
    }
}

impl<'a> OneNet<'a> {
    /// Where to reach the HTTP OTA API instead of [`OTA_URL`] (`http://…` or `https://…`,
    /// the path up to and without the `/{pid}/…` part), e.g. a local test server.
    pub fn with_ota_url(mut self, url: &'a str) -> Result<Self, ProviderError> {
        let parsed = Url::parse(url).ok().filter(|u| !u.path.contains('?'));
        self.ota_url = parsed.ok_or(ProviderError::InvalidValue {
            key: "ota_url",
            reason: "is not an http:// or https:// URL without a query",
        })?;
        Ok(self)
    }

    /// How the OTA API's server is checked over HTTPS (default: the HAL's web PKI roots;
    /// `iot-api.heclouds.com` is not served under the "OneNET MQTTS" root).
    pub fn with_ota_server(mut self, server: ServerAuth<'a>) -> Self {
        self.ota_server = server;
        self
    }

    /// Which kind of task the device checks for (default [`OtaKind::Firmware`]).
    pub fn with_ota_kind(mut self, kind: OtaKind) -> Self {
        self.ota_kind = kind;
        self
    }

    /// The topic OneNET announces tasks on: `$sys/{pid}/{dn}/ota/inform`.
    pub fn ota_inform(&self) -> TopicPath<'a> {
        self.topic("ota/inform")
    }

    /// The topic the device answers an announcement on: `$sys/{pid}/{dn}/ota/inform_reply`.
    pub fn ota_inform_reply(&self) -> TopicPath<'a> {
        self.topic("ota/inform_reply")
    }

    fn is_inform(&self, topic: &str) -> bool {
        let rest = topic
            .strip_prefix("$sys/")
            .and_then(|t| t.strip_prefix(self.product_id))
            .and_then(|t| t.strip_prefix('/'))
            .and_then(|t| t.strip_prefix(self.device_name));
        rest == Some("/ota/inform")
    }

    /// The answer to an announcement on [`OneNet::ota_inform`]:
    /// `{"id":…,"code":200,"msg":"success"}` on [`OneNet::ota_inform_reply`], echoing the
    /// announcement's `id`. Refused with a named error when the payload has no string `id`.
    pub fn inform_reply<'s>(
        &self,
        inform: &[u8],
        scratch: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, ProviderError> {
        let bad = ProviderError::InvalidValue {
            key: "ota/inform",
            reason: "has no string `id` of at most 64 bytes",
        };
        let doc = Value::parse(inform).map_err(|_| bad)?;
        let id = doc
            .get("id")
            .filter(|v| v.kind() == Kind::String && v.str_len() <= MAX_FIELD_LEN)
            .ok_or(bad)?;
        let mut id_buf = [0u8; MAX_FIELD_LEN];
        let id = id.unescaped(&mut id_buf).ok_or(bad)?;
        let topic = scratch.concat(&self.ota_inform_reply().0)?;
        let payload = scratch.format(format_args!(
            "{{\"id\":{},\"code\":200,\"msg\":\"success\"}}",
            JsonStr(id)
        ))?;
        Ok(Publication {
            topic,
            payload: payload.as_bytes(),
            qos: QoS::AtMostOnce,
        })
    }

    /// The request of `call`, written into `scratch`, signed with the device token of
    /// `ctx` (the MQTT password: `ctx` as for [`Provider::sign`]).
    pub fn ota_request<'s>(
        &self,
        call: OtaCall<'_>,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<HttpRequest<'s>, ProviderError>
    where
        'a: 's,
    {
        let token = self.ota_token(ctx, scratch)?;
        self.ota_request_with(call, token, scratch)
    }

    /// The device token the OTA API and the download take.
    fn ota_token<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<&'s str, ProviderError> {
        self.sign(ctx, scratch)?
            .password
            .ok_or(ProviderError::MissingKey("device_secret"))
    }

    fn ota_request_with<'s>(
        &self,
        call: OtaCall<'_>,
        token: &'s str,
        scratch: &mut Scratch<'s>,
    ) -> Result<HttpRequest<'s>, ProviderError>
    where
        'a: 's,
    {
        let base = self.ota_url;
        let (pid, dn) = (self.product_id, self.device_name);
        let (method, path, body): (Method, &'s str, &'s [u8]) = match call {
            OtaCall::ReportVersion(v) => (
                Method::Post,
                scratch.format(format_args!("{}/{pid}/{dn}/version", base.path))?,
                scratch
                    .format(format_args!("{}", VersionBody(v)))?
                    .as_bytes(),
            ),
            OtaCall::Check(v) => (
                Method::Get,
                scratch.format(format_args!(
                    "{}/{pid}/{dn}/check?type={}&version={}",
                    base.path,
                    self.ota_kind.code(),
                    PercentEncoded(v, EncodeSet::Unreserved)
                ))?,
                &[],
            ),
            OtaCall::Status { task_id, step } => (
                Method::Post,
                scratch.format(format_args!(
                    "{}/{pid}/{dn}/{}/status",
                    base.path,
                    PercentEncoded(task_id, EncodeSet::Unreserved)
                ))?,
                scratch
                    .format(format_args!("{{\"step\":{step}}}"))?
                    .as_bytes(),
            ),
        };
        let mut request = HttpRequest::post(Url { path, ..base }, self.ota_server, body)
            .header("Authorization", token)?;
        request.method = method;
        if method == Method::Post {
            request = request.header("Content-Type", "application/json")?;
        }
        Ok(request)
    }

    /// The download URL of task `task_id`: `{base}/{pid}/{dn}/{tid}/download`.
    fn download_url<'s>(
        &self,
        task_id: &str,
        scratch: &mut Scratch<'s>,
    ) -> Result<&'s str, ProviderError> {
        let base = self.ota_url;
        let scheme = match base.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let default_port = match base.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let mut port = heapless::String::<8>::new();
        if base.port != default_port {
            let _ = write!(port, ":{}", base.port);
        }
        Ok(scratch.format(format_args!(
            "{scheme}://{}{port}{}/{}/{}/{}/download",
            base.host,
            base.path,
            self.product_id,
            self.device_name,
            PercentEncoded(task_id, EncodeSet::Unreserved)
        ))?)
    }

    /// Reads the answer to a check: the task as an encoded job written into `job` (its
    /// length), with the download URL of the task and `authorization` (the device token)
    /// for the download; `None` when OneNET has no task (code 11).
    pub fn read_check(
        &self,
        status: u16,
        body: &[u8],
        authorization: &str,
        job: &mut [u8],
    ) -> Result<Option<usize>, OtaAnswerError> {
        let doc = match read_answer(status, body) {
            Ok(doc) => doc,
            Err(OtaAnswerError::Refused {
                reason: OtaRefusal::NoTask,
                ..
            }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let data = doc
            .get("data")
            .filter(|d| d.kind() == Kind::Object)
            .ok_or(OtaAnswerError::Malformed("success without a `data` object"))?;
        let mut target_buf = [0u8; MAX_FIELD_LEN];
        let target = text_field(data, "target", &mut target_buf)?;
        let mut tid_buf = [0u8; MAX_FIELD_LEN];
        let tid = text_field(data, "tid", &mut tid_buf)?;
        let size = match data.get("size") {
            None => None,
            Some(v) => Some(
                v.as_u64_lenient()
                    .ok_or(OtaAnswerError::Job(OtaNoticeError::InvalidField("size")))?,
            ),
        };
        let mut md5_buf = [0u8; 32];
        let md5 = data
            .get("md5")
            .ok_or(OtaAnswerError::Job(OtaNoticeError::MissingField("md5")))?
            .unescaped(&mut md5_buf)
            .and_then(|hex| ExpectedDigest::from_hex(DigestAlgorithm::Md5, hex))
            .ok_or(OtaAnswerError::Job(OtaNoticeError::InvalidField("md5")))?;
        // "https://" + host + ":65535" + path + "/{pid}/{dn}/{tid}/download".
        let mut url_buf = [0u8; 512];
        let url = self
            .download_url(tid, &mut Scratch::new(&mut url_buf))
            .map_err(|_| OtaAnswerError::Job(OtaNoticeError::InvalidField("tid")))?;
        let text = JobText {
            version: target,
            url,
            size,
            digest: md5,
            task_id: Some(tid),
            authorization: Some(authorization),
        };
        text.write(job).map(Some).map_err(OtaAnswerError::Job)
    }

    /// Reports the version the device runs ([`OtaCall::ReportVersion`]) over `http`.
    /// `work` holds the request and the answer (at least [`MIN_OTA_WORK`] bytes) and is
    /// wiped afterwards.
    pub async fn ota_report_version<T: Transport, C: Clock>(
        &self,
        http: &mut T,
        clock: &C,
        ctx: &SignContext<'_>,
        version: &str,
        work: &mut [u8],
    ) -> Result<(), OtaApiError<T::Error>> {
        let result = self
            .ota_exchange(
                http,
                clock,
                ctx,
                OtaCall::ReportVersion(version),
                work,
                |_, a| read_answer(a.status, a.body).map(|_| ()),
            )
            .await;
        work.fill(0);
        result
    }

    /// Reports `status` of `job` ([`OtaCall::Status`] with [`step`]) over `http`; `work`
    /// as for [`OneNet::ota_report_version`]. A job without a task id is refused
    /// ([`OtaNoticeError::MissingField`]).
    pub async fn ota_report<T: Transport, C: Clock>(
        &self,
        http: &mut T,
        clock: &C,
        ctx: &SignContext<'_>,
        job: &OtaJob<'_>,
        status: OtaStatus,
        work: &mut [u8],
    ) -> Result<(), OtaApiError<T::Error>> {
        let task_id = job
            .task_id()
            .ok_or(OtaAnswerError::Job(OtaNoticeError::MissingField("tid")))?;
        let call = OtaCall::Status {
            task_id,
            step: step(status),
        };
        let result = self
            .ota_exchange(http, clock, ctx, call, work, |_, a| {
                read_answer(a.status, a.body).map(|_| ())
            })
            .await;
        work.fill(0);
        result
    }

    /// Checks for a task for a device running `version` ([`OtaCall::Check`]) over `http`
    /// and writes it into `job` as a job the core's download engine runs (the download
    /// URL, size, MD5, task id and the token); `None` when there is no task. `work` as for
    /// [`OneNet::ota_report_version`].
    pub async fn ota_check<'j, T: Transport, C: Clock>(
        &self,
        http: &mut T,
        clock: &C,
        ctx: &SignContext<'_>,
        version: &str,
        work: &mut [u8],
        job: &'j mut [u8],
    ) -> Result<Option<OtaJob<'j>>, OtaApiError<T::Error>> {
        let result = self
            .ota_exchange(
                http,
                clock,
                ctx,
                OtaCall::Check(version),
                work,
                |token, a| self.read_check(a.status, a.body, token, job),
            )
            .await;
        work.fill(0);
        match result? {
            Some(n) => Ok(Some(
                OtaJob::decode(&job[..n])
                    .ok_or(OtaAnswerError::Job(OtaNoticeError::InvalidField("job")))?,
            )),
            None => Ok(None),
        }
    }

    async fn ota_exchange<T: Transport, C: Clock, R>(
        &self,
        http: &mut T,
        clock: &C,
        ctx: &SignContext<'_>,
        call: OtaCall<'_>,
        work: &mut [u8],
        read: impl FnOnce(&str, HttpAnswer<'_>) -> Result<R, OtaAnswerError>,
    ) -> Result<R, OtaApiError<T::Error>> {
        if work.len() < MIN_OTA_WORK {
            return Err(OtaApiError::WorkTooSmall(work.len()));
        }
        let (request_mem, answer_mem) = work.split_at_mut(OTA_REQUEST_ROOM);
        let mut scratch = Scratch::new(request_mem);
        let token = self.ota_token(ctx, &mut scratch)?;
        let request = self.ota_request_with(call, token, &mut scratch)?;
        let answer = ota::call(http, clock, &request, answer_mem)
            .await
            .map_err(OtaApiError::Http)?;
        Ok(read(token, answer)?)
    }
}

/// A string (or number) field of the check's `data`, unescaped into `buf`.
fn text_field<'b>(
    data: Value<'b>,
    name: &'static str,
    buf: &'b mut [u8],
) -> Result<&'b str, OtaAnswerError> {
    let v = data
        .get(name)
        .filter(|v| v.kind() != Kind::Null)
        .ok_or(OtaAnswerError::Job(OtaNoticeError::MissingField(name)))?;
    let invalid = OtaAnswerError::Job(OtaNoticeError::InvalidField(name));
    let text = match v.kind() {
        Kind::String => v.unescaped(buf).ok_or(invalid)?,
        Kind::Number if v.as_u64().is_some() => {
            let raw = v.raw();
            let dst = buf.get_mut(..raw.len()).ok_or(invalid)?;
            dst.copy_from_slice(raw);
            core::str::from_utf8(dst).map_err(|_| invalid)?
        }
        _ => return Err(invalid),
    };
    if text.is_empty() {
        return Err(invalid);
    }
    Ok(text)
}

/// OneNET's answer envelope: `{"code":0,"msg":"succ",…}` is success (the document is
/// returned), a non-zero `code` is a refusal.
pub fn read_answer(status: u16, body: &[u8]) -> Result<Value<'_>, OtaAnswerError> {
    let Ok(doc) = Value::parse(body) else {
        return Err(match status {
            200 => OtaAnswerError::Malformed("not OneNET's JSON answer"),
            other => OtaAnswerError::Status(other),
        });
    };
    match doc.get("code").and_then(|c| c.as_i64()) {
        Some(0) if status == 200 => Ok(doc),
        Some(code) if code != 0 => Err(OtaAnswerError::Refused {
            code,
            reason: OtaRefusal::from_code(code),
        }),
        _ if status != 200 => Err(OtaAnswerError::Status(status)),
        _ => Err(OtaAnswerError::Malformed("answer without a numeric `code`")),
    }
}

/// OneNET's OTA over MQTT is the announcement only: the device subscribes to
/// `$sys/{pid}/{dn}/ota/inform`, which reaches the application as an ordinary message
/// ([`Notice::Other`]); versions, tasks and status go over the HTTP API, so no MQTT
/// message is sent here.
impl OtaFormat for OneNet<'_> {
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 {
            return Ok(None);
        }
        Ok(Some(subscription(
            scratch,
            "device_name",
            self.ota_inform(),
            QoS::AtMostOnce,
        )?))
    }

    fn version_report<'s>(
        &self,
        _: &OtaContext<'_>,
        _: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        Ok(None)
    }

    fn notice(&self, topic: &str, _: &[u8], _: &mut [u8]) -> Notice {
        if self.is_inform(topic) {
            Notice::Other
        } else {
            Notice::NotOta
        }
    }

    fn report<'s>(
        &self,
        _: Option<&OtaJob<'_>>,
        _: OtaStatus,
        _: &OtaContext<'_>,
        _: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        Ok(None)
    }
}
