//! The job a cloud announces: one firmware image to fetch and verify.
//!
//! A provider turns its cloud's upgrade notice into the cloud-neutral form here, written
//! into memory the device owns (an *encoded job*: name/value [`Fields`]), so the job outlives
//! the message it came in, can be copied into a checkpoint and read back after a reboot.

use core::fmt::{self, Write as _};

use crate::json::{JsonError, Kind, Value};
use crate::register::Fields;
use crate::scratch::TextWriter;

/// A digest algorithm a cloud names for its images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DigestAlgorithm {
    /// MD5 (16 bytes): what most clouds still send.
    Md5,
    /// SHA-256 (32 bytes).
    Sha256,
}

impl DigestAlgorithm {
    /// Digest length in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            DigestAlgorithm::Md5 => 16,
            DigestAlgorithm::Sha256 => 32,
        }
    }

    /// Lower-case name: `md5` or `sha256`.
    pub const fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha256 => "sha256",
        }
    }

    /// Parses the names clouds use, in any case: `md5`, `sha256`, `sha-256`.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("md5") {
            Some(DigestAlgorithm::Md5)
        } else if name.eq_ignore_ascii_case("sha256") || name.eq_ignore_ascii_case("sha-256") {
            Some(DigestAlgorithm::Sha256)
        } else {
            None
        }
    }
}

/// The digest an image must have.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ExpectedDigest {
    algorithm: DigestAlgorithm,
    bytes: [u8; 32],
}

impl ExpectedDigest {
    /// From hex text (either case) of exactly the algorithm's length.
    pub fn from_hex(algorithm: DigestAlgorithm, hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != algorithm.digest_len() * 2 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (out, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            *out = (hi * 16 + lo) as u8;
        }
        Some(ExpectedDigest { algorithm, bytes })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.digest_len()]
    }
}

impl fmt::Display for ExpectedDigest {
    /// `md5:` or `sha256:` and lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm.name())?;
        f.write_char(':')?;
        self.as_bytes()
            .iter()
            .try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ExpectedDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why an upgrade notice could not be turned into a job. Texts name fields, never values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OtaNoticeError {
    /// The payload is not JSON.
    #[error("upgrade notice is not JSON: {0}")]
    NotJson(#[from] JsonError),
    /// A field the job needs is absent (a notice without a digest is refused: its image
    /// could not be verified).
    #[error("upgrade notice lacks `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong type or form (a size that is not a number, a digest that is
    /// not hex of the right length, an unknown digest algorithm).
    #[error("upgrade notice has an invalid `{0}`")]
    InvalidField(&'static str),
    /// The job does not fit the device's job buffer (see `Device::with_ota`).
    #[error("upgrade job needs {needed} bytes, the job buffer has {capacity}")]
    TooLarge {
        /// Bytes the encoded job needs.
        needed: usize,
        /// Size of the job buffer.
        capacity: usize,
    },
    /// A job arrived while another is downloading; it was not taken.
    #[error("another upgrade is in progress")]
    Busy,
}

/// What a provider found in an incoming message (see `Provider::ota_notice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// Not an OTA message: it goes to the application as it is.
    NotOta,
    /// An upgrade job, written into the job buffer (its encoded length).
    Job(usize),
    /// The cloud asks for the firmware version: the device answers with its version report.
    VersionQuery,
    /// An OTA message for the application to see as an ordinary message (a reply to a
    /// version report, a notice of no pending job).
    Other,
    /// An upgrade notice that could not be read.
    Invalid(OtaNoticeError),
}

// Field names of an encoded job.
const VERSION: &str = "version";
const URL: &str = "url";
const SIZE: &str = "size";
const MODULE: &str = "module";
const TASK: &str = "task";
const TOKEN: &str = "token";
const AUTHORIZATION: &str = "authorization";
const STREAM: &str = "stream";

/// One upgrade: what to fetch, how big it is and what its digest must be. A view of an
/// encoded job ([`OtaJob::decode`] checks it); each accessor reads its field from there, so
/// the job is as small to hold and to pass around as a slice.
///
/// The image comes from a URL over HTTP(S), or, for a job with a [`OtaJob::stream`], in
/// blocks over the device's MQTT connection (Aliyun's `dProtocol: mqtt`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OtaJob<'a> {
    encoded: &'a [u8],
}

impl fmt::Debug for OtaJob<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Download URLs are often pre-signed: the query string is a credential.
        let full = self.url();
        let url = full.split('?').next().unwrap_or("");
        f.debug_struct("OtaJob")
            .field("version", &self.version())
            .field(
                "url",
                &format_args!("{url}{}", if url.len() < full.len() { "?…" } else { "" }),
            )
            .field("stream", &self.stream())
            .field("size", &self.size())
            .field("digest", &self.digest())
            .field("module", &self.module())
            .field("task_id", &self.task_id())
            .field("token", &self.bearer_token().map(|_| "<redacted>"))
            .field("authorization", &self.authorization().map(|_| "<redacted>"))
            .finish()
    }
}

impl<'a> OtaJob<'a> {
    /// Reads an encoded job (what [`JobFields::write`] produced, or [`OtaJob::encoded`]):
    /// `None` unless it has a version, a URL or a stream, and a valid digest, and a size
    /// that is a number when it has one.
    pub fn decode(encoded: &'a [u8]) -> Option<Self> {
        let (mut version, mut url, mut digest) = (false, false, false);
        for (name, value) in crate::register::named(encoded) {
            match name {
                VERSION => version = true,
                URL | STREAM => url = true,
                SIZE => {
                    value.parse::<u64>().ok()?;
                }
                MODULE | TASK | TOKEN | AUTHORIZATION => {}
                other => {
                    if let Some(alg) = DigestAlgorithm::from_name(other) {
                        ExpectedDigest::from_hex(alg, value)?;
                        digest = true;
                    }
                }
            }
        }
        (version && url && digest).then_some(OtaJob { encoded })
    }

    fn field(&self, name: &str) -> Option<&'a str> {
        crate::register::field(self.encoded, name)
    }

    /// The version the image installs.
    pub fn version(&self) -> &'a str {
        self.field(VERSION).unwrap_or_default()
    }

    /// Where to download it (http or https); empty for a job delivered over MQTT.
    pub fn url(&self) -> &'a str {
        self.field(URL).unwrap_or_default()
    }

    /// For an image the cloud delivers in blocks over MQTT instead of a URL: which file
    /// to ask for, in the provider's own words (Aliyun: `{streamId}/{streamFileId}`).
    /// `None` for a job downloaded over HTTP(S).
    pub fn stream(&self) -> Option<&'a str> {
        self.field(STREAM)
    }

    /// Its size in bytes, when the cloud said.
    pub fn size(&self) -> Option<u64> {
        self.field(SIZE).and_then(|s| s.parse().ok())
    }

    /// The digest it must have (the last one the job names, which is the strongest the
    /// notice gave: see [`JobFields::write`]).
    pub fn digest(&self) -> ExpectedDigest {
        let mut found = None;
        for (name, value) in crate::register::named(self.encoded) {
            if let Some(alg) = DigestAlgorithm::from_name(name) {
                found = ExpectedDigest::from_hex(alg, value).or(found);
            }
        }
        found.unwrap_or(ExpectedDigest {
            algorithm: DigestAlgorithm::Sha256,
            bytes: [0; 32],
        })
    }

    /// The module (firmware part) it is for, when the cloud names one.
    pub fn module(&self) -> Option<&'a str> {
        self.field(MODULE)
    }

    /// The cloud's task id, echoed in reports when present.
    pub fn task_id(&self) -> Option<&'a str> {
        self.field(TASK)
    }

    /// The encoded job: copy these bytes to keep the job (then [`OtaJob::decode`] them).
    pub fn encoded(&self) -> &'a [u8] {
        self.encoded
    }

    /// A bearer token the download must present (`Authorization: Bearer …`), when the
    /// cloud gives one. A secret: never log it.
    pub fn bearer_token(&self) -> Option<&'a str> {
        self.field(TOKEN)
    }

    /// The whole `Authorization` header value the download must present, when the cloud
    /// wants one that is not a bearer token (OneNET's device token). A secret: never log it.
    pub fn authorization(&self) -> Option<&'a str> {
        self.field(AUTHORIZATION)
    }

    /// Copies the job into `buf` and reads it from there.
    pub fn copy_into<'b>(&self, buf: &'b mut [u8]) -> Result<OtaJob<'b>, OtaNoticeError> {
        let n = self.encoded.len();
        let capacity = buf.len();
        let dst = buf.get_mut(..n).ok_or(OtaNoticeError::TooLarge {
            needed: n,
            capacity,
        })?;
        dst.copy_from_slice(self.encoded);
        OtaJob::decode(dst).ok_or(OtaNoticeError::InvalidField("job"))
    }

    /// Whether both jobs install the same image (same version, module, size and digest);
    /// URLs and tokens may differ, since clouds sign them afresh on every notice.
    pub fn same_image(&self, other: &OtaJob<'_>) -> bool {
        self.version() == other.version()
            && self.module() == other.module()
            && self.size() == other.size()
            && self.digest() == other.digest()
    }
}

/// The fields of an upgrade notice, as JSON values found by a provider, to be checked and
/// written as an encoded job.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobFields<'a> {
    /// Target version (string).
    pub version: Option<Value<'a>>,
    /// Download URL (string).
    pub url: Option<Value<'a>>,
    /// Size in bytes (number, or a string of digits).
    pub size: Option<Value<'a>>,
    /// Digest algorithm and hex digest (string).
    pub digest: Option<(DigestAlgorithm, Value<'a>)>,
    /// Module name (string).
    pub module: Option<Value<'a>>,
    /// Task id (string or number).
    pub task_id: Option<Value<'a>>,
    /// Download bearer token (string).
    pub token: Option<Value<'a>>,
}

impl JobFields<'_> {
    /// [`JobFields::write`] as a provider's answer to a notice: [`Notice::Job`] with the
    /// encoded length, or [`Notice::Invalid`] with the reason.
    pub fn notice(&self, buf: &mut [u8]) -> Notice {
        match self.write(buf) {
            Ok(n) => Notice::Job(n),
            Err(e) => Notice::Invalid(e),
        }
    }

    /// [`JobFields::write_streamed`] as a provider's answer to a notice.
    pub fn streamed_notice(&self, stream: &str, buf: &mut [u8]) -> Notice {
        match self.write_streamed(stream, buf) {
            Ok(n) => Notice::Job(n),
            Err(e) => Notice::Invalid(e),
        }
    }

    /// Checks the fields and writes the encoded job into `buf`, returning its length.
    ///
    /// Version, URL and digest are required; the URL must be http or https; a size must be
    /// a non-negative integer; the digest must be hex of the algorithm's length.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, OtaNoticeError> {
        // Named in the order a reader of the notice would miss them.
        required_str(self.version, VERSION)?;
        let url = required_str(self.url, URL)?;
        if !(url_starts_with(url, "https://") || url_starts_with(url, "http://")) {
            return Err(OtaNoticeError::InvalidField(URL));
        }
        self.encode(Source::Url(url), buf)
    }

    /// As [`JobFields::write`] for an image the cloud delivers in blocks over MQTT
    /// ([`OtaJob::stream`]): `stream` names the file in the provider's words and stands
    /// in for the URL, which is ignored. The size is required, since the blocks are asked
    /// for by offset up to it.
    pub fn write_streamed(&self, stream: &str, buf: &mut [u8]) -> Result<usize, OtaNoticeError> {
        if stream.is_empty() {
            return Err(OtaNoticeError::InvalidField(STREAM));
        }
        match self.size {
            Some(v) if v.kind() != Kind::Null => {}
            _ => return Err(OtaNoticeError::MissingField(SIZE)),
        }
        self.encode(Source::Stream(stream), buf)
    }

    fn encode(&self, source: Source<'_>, buf: &mut [u8]) -> Result<usize, OtaNoticeError> {
        let version = required_str(self.version, VERSION)?;
        let (algorithm, digest) = self.digest.ok_or(OtaNoticeError::MissingField("digest"))?;
        let digest_ok = digest.kind() == Kind::String
            && digest.str_len() == algorithm.digest_len() * 2
            && digest
                .as_plain_str()
                .is_some_and(|hex| ExpectedDigest::from_hex(algorithm, hex).is_some());
        if !digest_ok {
            return Err(OtaNoticeError::InvalidField("digest"));
        }
        let size = match self.size {
            Some(v) if v.kind() != Kind::Null => Some(
                v.as_u64_lenient()
                    .ok_or(OtaNoticeError::InvalidField(SIZE))?,
            ),
            _ => None,
        };
        let module = optional_str(self.module, MODULE)?;
        let token = optional_str(self.token, TOKEN)?;
        let task = match self.task_id {
            Some(v) if v.kind() == Kind::Number => Some(v),
            other => optional_str(other, TASK)?,
        };

        let mut out = Encoder {
            buf,
            len: 0,
            needed: 0,
        };
        out.value(VERSION, version);
        match source {
            Source::Url(url) => out.value(URL, url),
            Source::Stream(stream) => {
                out.name(STREAM);
                out.field(|w| w.write_str(stream), stream.len());
            }
        }
        if let Some(size) = size {
            out.display(SIZE, size);
        }
        out.value(algorithm.name(), digest);
        if let Some(v) = module {
            out.value(MODULE, v);
        }
        if let Some(v) = task {
            out.value(TASK, v);
        }
        if let Some(v) = token {
            out.value(TOKEN, v);
        }
        out.finish()
    }
}

/// Where a job's image comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    Url(Value<'a>),
    Stream(&'a str),
}

fn url_starts_with(url: Value<'_>, prefix: &str) -> bool {
    let mut s = heapless::String::<8>::new();
    let mut w = Prefix(&mut s);
    let _ = url.write_str_to(&mut w);
    // Bytes, not `str` slicing: the kept prefix may end inside a multi-byte character.
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Keeps the first bytes written and ignores the rest.
struct Prefix<'s, const N: usize>(&'s mut heapless::String<N>);

impl<const N: usize> fmt::Write for Prefix<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                return Err(fmt::Error);
            }
        }
        Ok(())
    }
}

fn required_str<'a>(v: Option<Value<'a>>, name: &'static str) -> Result<Value<'a>, OtaNoticeError> {
    match v {
        None => Err(OtaNoticeError::MissingField(name)),
        Some(v) if v.kind() == Kind::Null => Err(OtaNoticeError::MissingField(name)),
        Some(v) if v.kind() != Kind::String || v.str_len() == 0 => {
            Err(OtaNoticeError::InvalidField(name))
        }
        Some(v) => Ok(v),
    }
}

fn optional_str<'a>(
    v: Option<Value<'a>>,
    name: &'static str,
) -> Result<Option<Value<'a>>, OtaNoticeError> {
    match v {
        None => Ok(None),
        Some(v) if v.kind() == Kind::Null || v.str_len() == 0 && v.kind() == Kind::String => {
            Ok(None)
        }
        Some(v) if v.kind() != Kind::String => Err(OtaNoticeError::InvalidField(name)),
        Some(v) => Ok(Some(v)),
    }
}

/// Writes name/value fields, counting what would be needed when the buffer is too small.
struct Encoder<'b> {
    buf: &'b mut [u8],
    len: usize,
    needed: usize,
}

impl Encoder<'_> {
    fn field(&mut self, f: impl FnOnce(&mut TextWriter<'_>) -> fmt::Result, size: usize) {
        self.needed += 2 + size;
        if self.needed > self.buf.len() || self.needed > self.len + 2 + u16::MAX as usize {
            return;
        }
        let start = self.len + 2;
        let mut w = TextWriter::new(&mut self.buf[start..]);
        if f(&mut w).is_err() || w.len() != size {
            self.needed = usize::MAX / 2;
            return;
        }
        if let Ok(len16) = u16::try_from(size) {
            self.buf[self.len..start].copy_from_slice(&len16.to_le_bytes());
            self.len = start + size;
        }
    }

    fn name(&mut self, name: &str) {
        self.field(|w| w.write_str(name), name.len());
    }

    fn value(&mut self, name: &str, v: Value<'_>) {
        self.name(name);
        if v.kind() == Kind::Number {
            let raw = core::str::from_utf8(v.raw()).unwrap_or("");
            self.field(|w| w.write_str(raw), raw.len());
        } else {
            self.field(|w| v.write_str_to(w), v.str_len());
        }
    }

    fn display(&mut self, name: &str, n: u64) {
        self.name(name);
        let digits = crate::sign::Decimal::new(n);
        let text = digits.as_str();
        self.field(|w| w.write_str(text), text.len());
    }

    fn finish(self) -> Result<usize, OtaNoticeError> {
        if self.needed > self.buf.len() || self.needed != self.len {
            return Err(OtaNoticeError::TooLarge {
                needed: self.needed,
                capacity: self.buf.len(),
            });
        }
        Ok(self.len)
    }
}

/// A job whose parts a provider has as plain text rather than as one JSON notice (OneNET
/// reads them from an HTTP answer and builds the download URL itself).
#[derive(Clone, Copy)]
pub struct JobText<'a> {
    /// Target version (not empty).
    pub version: &'a str,
    /// Download URL (http or https).
    pub url: &'a str,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// The digest the image must have.
    pub digest: ExpectedDigest,
    /// The cloud's task id, when it has one.
    pub task_id: Option<&'a str>,
    /// The `Authorization` header value the download presents (a secret).
    pub authorization: Option<&'a str>,
}

impl fmt::Debug for JobText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobText")
            .field("version", &self.version)
            .field("size", &self.size)
            .field("digest", &self.digest)
            .field("task_id", &self.task_id)
            .field("authorization", &self.authorization.map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl JobText<'_> {
    /// Checks the parts and writes the encoded job into `buf`, returning its length: the
    /// version must not be empty, the URL must be http or https, and the job must fit.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, OtaNoticeError> {
        if self.version.is_empty() {
            return Err(OtaNoticeError::InvalidField(VERSION));
        }
        let scheme_ok = ["https://", "http://"].iter().any(|prefix| {
            self.url
                .as_bytes()
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
        });
        if !scheme_ok {
            return Err(OtaNoticeError::InvalidField(URL));
        }
        let mut hex = heapless::String::<72>::new();
        write!(hex, "{}", self.digest).map_err(|_| OtaNoticeError::InvalidField("digest"))?;
        let hex = hex.split_once(':').map_or("", |(_, h)| h);
        let size_text = self.size.map(crate::sign::Decimal::new);
        let mut fields: heapless::Vec<&[u8], 12> = heapless::Vec::new();
        let optional = [
            (SIZE, size_text.as_ref().map(|s| s.as_str())),
            (TASK, self.task_id.filter(|t| !t.is_empty())),
            (AUTHORIZATION, self.authorization.filter(|a| !a.is_empty())),
        ];
        let required = [
            (VERSION, Some(self.version)),
            (URL, Some(self.url)),
            (self.digest.algorithm().name(), Some(hex)),
        ];
        for (name, value) in required.into_iter().chain(optional) {
            if let Some(value) = value {
                // Twelve slots hold the six fields at most.
                let _ = fields.push(name.as_bytes());
                let _ = fields.push(value.as_bytes());
            }
        }
        Fields::write(buf, &fields).ok_or(OtaNoticeError::TooLarge {
            needed: Fields::len_of(&fields),
            capacity: buf.len(),
        })
    }
}

/// Builds [`JobFields`]-free jobs for tests and tools: writes an encoded job from plain
/// strings.
pub fn encode_job(
    buf: &mut [u8],
    version: &str,
    url: &str,
    size: Option<u64>,
    digest: &ExpectedDigest,
) -> Option<usize> {
    let mut hex = heapless::String::<72>::new();
    write!(hex, "{digest}").ok()?;
    let hex = hex.split_once(':')?.1;
    let size_text = size.map(crate::sign::Decimal::new);
    let mut fields: heapless::Vec<&[u8], 8> = heapless::Vec::new();
    let _ = fields.extend_from_slice(&[
        VERSION.as_bytes(),
        version.as_bytes(),
        URL.as_bytes(),
        url.as_bytes(),
        digest.algorithm().name().as_bytes(),
        hex.as_bytes(),
    ]);
    if let Some(s) = &size_text {
        let _ = fields.extend_from_slice(&[SIZE.as_bytes(), s.as_str().as_bytes()]);
    }
    Fields::write(buf, &fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    const MD5: &str = "0123456789ABCDEF0123456789abcdef";

    fn fields<'a>(doc: &'a Value<'a>) -> JobFields<'a> {
        JobFields {
            version: doc.get("version"),
            url: doc.get("url"),
            size: doc.get("size"),
            digest: doc.get("md5").map(|v| (DigestAlgorithm::Md5, v)),
            module: doc.get("module"),
            task_id: doc.get("task"),
            token: doc.get("token"),
        }
    }

    #[test]
    fn a_notice_becomes_a_job_that_survives_a_copy() {
        let raw = format!(
            r#"{{"version":"2.0","url":"https:\/\/h\/fw.bin?sig=s3cret","size":"1234","md5":"{MD5}","task":7,"token":"t0k"}}"#
        );
        let doc = Value::parse(raw.as_bytes()).unwrap();
        let mut buf = [0u8; 256];
        let n = fields(&doc).write(&mut buf).unwrap();
        let job = OtaJob::decode(&buf[..n]).unwrap();
        assert_eq!(job.version(), "2.0");
        assert_eq!(job.url(), "https://h/fw.bin?sig=s3cret");
        assert_eq!(job.size(), Some(1234));
        assert_eq!(job.task_id(), Some("7"));
        assert_eq!(job.bearer_token(), Some("t0k"));
        assert_eq!(job.digest().as_bytes()[0], 0x01);
        assert_eq!(job.digest().as_bytes()[15], 0xef);
        let shown = format!("{job:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0k"),
            "{shown}"
        );
        assert!(shown.contains("md5:0123456789abcdef"));

        let mut copy = [0u8; 256];
        let kept = job.copy_into(&mut copy).unwrap();
        assert!(kept.same_image(&job));
        assert_eq!(kept.url(), job.url());
        assert_eq!(kept.encoded(), job.encoded());
        let mut small = [0u8; 8];
        assert_eq!(
            job.copy_into(&mut small),
            Err(OtaNoticeError::TooLarge {
                needed: n,
                capacity: 8
            })
        );
    }

    #[test]
    fn a_job_from_text_keeps_its_authorization_secret_and_refuses_bad_parts() {
        let digest = ExpectedDigest::from_hex(DigestAlgorithm::Md5, MD5).unwrap();
        let text = JobText {
            version: "2.0",
            url: "https://h/fuse-ota/p/d/7/download",
            size: Some(8260),
            digest,
            task_id: Some("7"),
            authorization: Some("version=2018-10-31&sign=s3cret"),
        };
        let mut buf = [0u8; 256];
        let n = text.write(&mut buf).unwrap();
        let job = OtaJob::decode(&buf[..n]).unwrap();
        assert_eq!(job.version(), "2.0");
        assert_eq!(job.url(), "https://h/fuse-ota/p/d/7/download");
        assert_eq!(job.size(), Some(8260));
        assert_eq!(job.task_id(), Some("7"));
        assert_eq!(job.authorization(), Some("version=2018-10-31&sign=s3cret"));
        assert_eq!(job.bearer_token(), None);
        assert_eq!(job.digest(), digest);
        for shown in [format!("{job:?}"), format!("{text:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        let bad_url = JobText {
            url: "ftp://h/x",
            ..text
        };
        assert_eq!(
            bad_url.write(&mut buf),
            Err(OtaNoticeError::InvalidField("url"))
        );
        let no_version = JobText {
            version: "",
            ..text
        };
        assert_eq!(
            no_version.write(&mut buf),
            Err(OtaNoticeError::InvalidField("version"))
        );
        assert_eq!(
            text.write(&mut [0u8; 16]),
            Err(OtaNoticeError::TooLarge {
                needed: n,
                capacity: 16
            })
        );
    }

    #[test]
    fn a_url_with_a_multibyte_character_near_its_start_is_refused_not_a_panic() {
        // `ɣ` spans bytes 6..8, across the end of `http://`.
        for url in ["httpsNɣ/x", "HTTP:/ɣ", "éééé"] {
            let text = std::format!(r#"{{"version":"1","url":"{url}","md5":"{MD5}"}}"#);
            let doc = Value::parse(text.as_bytes()).unwrap();
            assert_eq!(
                fields(&doc).write(&mut [0u8; 256]),
                Err(OtaNoticeError::InvalidField("url")),
                "{url}"
            );
        }
    }

    #[test]
    fn notices_missing_or_malformed_fields_are_refused_by_name() {
        let cases = [
            (
                r#"{"url":"https://h/a","md5":"M"}"#,
                OtaNoticeError::MissingField("version"),
            ),
            (
                r#"{"version":"1","md5":"M"}"#,
                OtaNoticeError::MissingField("url"),
            ),
            (
                r#"{"version":"1","url":"https://h/a"}"#,
                OtaNoticeError::MissingField("digest"),
            ),
            (
                r#"{"version":1,"url":"https://h/a","md5":"M"}"#,
                OtaNoticeError::InvalidField("version"),
            ),
            (
                r#"{"version":"1","url":"ftp://h/a","md5":"M"}"#,
                OtaNoticeError::InvalidField("url"),
            ),
            (
                r#"{"version":"1","url":"https://h/a","md5":"abc"}"#,
                OtaNoticeError::InvalidField("digest"),
            ),
            (
                r#"{"version":"1","url":"https://h/a","md5":"M","size":-1}"#,
                OtaNoticeError::InvalidField("size"),
            ),
            (
                r#"{"version":"1","url":"https://h/a","md5":"M","size":"x"}"#,
                OtaNoticeError::InvalidField("size"),
            ),
            (
                r#"{"version":"1","url":"https://h/a","md5":"M","module":3}"#,
                OtaNoticeError::InvalidField("module"),
            ),
        ];
        for (doc, want) in cases {
            let doc = doc.replace("\"M\"", &format!("\"{MD5}\""));
            let v = Value::parse(doc.as_bytes()).unwrap();
            let mut buf = [0u8; 256];
            assert_eq!(fields(&v).write(&mut buf), Err(want), "{doc}");
        }
    }

    #[test]
    fn a_job_too_large_for_its_buffer_says_how_much_it_needs() {
        let doc = format!(r#"{{"version":"1","url":"https://h/a","md5":"{MD5}"}}"#);
        let v = Value::parse(doc.as_bytes()).unwrap();
        let mut big = [0u8; 128];
        let n = fields(&v).write(&mut big).unwrap();
        let mut small = [0u8; 20];
        assert_eq!(
            fields(&v).write(&mut small),
            Err(OtaNoticeError::TooLarge {
                needed: n,
                capacity: 20
            })
        );
        let mut exact = std::vec![0u8; n];
        assert_eq!(fields(&v).write(&mut exact), Ok(n));
    }

    #[test]
    fn a_job_delivered_over_mqtt_names_its_stream_instead_of_a_url_and_needs_a_size() {
        let raw = format!(r#"{{"version":"2.0","size":3604,"md5":"{MD5}","url":"https://x/y"}}"#);
        let doc = Value::parse(raw.as_bytes()).unwrap();
        let mut buf = [0u8; 256];
        let n = fields(&doc).write_streamed("1234/1", &mut buf).unwrap();
        let job = OtaJob::decode(&buf[..n]).unwrap();
        assert_eq!(job.stream(), Some("1234/1"));
        assert_eq!(job.url(), "", "the stream stands in for the URL");
        assert_eq!(job.size(), Some(3604));
        assert!(format!("{job:?}").contains(r#"stream: Some("1234/1")"#));
        let mut kept = [0u8; 256];
        let copy = job.copy_into(&mut kept).unwrap();
        assert_eq!(copy.stream(), Some("1234/1"));

        let unsized_doc = format!(r#"{{"version":"2.0","md5":"{MD5}"}}"#);
        let doc = Value::parse(unsized_doc.as_bytes()).unwrap();
        assert_eq!(
            fields(&doc).write_streamed("1234/1", &mut buf),
            Err(OtaNoticeError::MissingField("size"))
        );
        assert_eq!(
            fields(&doc).write_streamed("", &mut buf),
            Err(OtaNoticeError::InvalidField("stream"))
        );
        // A job over HTTP has no stream.
        let http = format!(r#"{{"version":"1","url":"https://h/a","md5":"{MD5}"}}"#);
        let doc = Value::parse(http.as_bytes()).unwrap();
        let n = fields(&doc).write(&mut buf).unwrap();
        assert_eq!(OtaJob::decode(&buf[..n]).unwrap().stream(), None);
    }

    #[test]
    fn digest_algorithms_are_named_in_any_case() {
        assert_eq!(
            DigestAlgorithm::from_name("SHA256"),
            Some(DigestAlgorithm::Sha256)
        );
        assert_eq!(
            DigestAlgorithm::from_name("Md5"),
            Some(DigestAlgorithm::Md5)
        );
        assert_eq!(DigestAlgorithm::from_name("sha1"), None);
        assert!(ExpectedDigest::from_hex(DigestAlgorithm::Sha256, MD5).is_none());
        assert!(
            ExpectedDigest::from_hex(DigestAlgorithm::Md5, "zz23456789abcdef0123456789abcdef")
                .is_none()
        );
    }
}
