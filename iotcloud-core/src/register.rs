//! Dynamic registration: a device obtains its own credentials from the cloud, once, and
//! keeps them.
//!
//! A provider whose configuration needs registration says so with
//! [`Provider::registration`](crate::Provider::registration), which returns its
//! [`Registration`]: without I/O, it writes each request ([`RegisterRequest`], over HTTP(S)
//! or MQTT) and reads each answer ([`RegisterAnswer`]); the device runs the exchanges, once
//! for every cloud, with its own transport and memory. What the provider obtained is a
//! *record*: bytes in its own format (see [`Fields`]), which the device seals (magic,
//! version, length, checksum), keeps in its credentials memory and stores in its
//! [`KvStore`](crate::KvStore) under a key derived from cloud, product and device
//! ([`RegistrationId::store_key`]). On the next boot the record is loaded instead of
//! registering again; a record that fails its check is reported and never used.

use core::fmt::{self, Write as _};

use sha2::{Digest as _, Sha256};

#[cfg(feature = "registration")]
use crate::clock::Clock;
use crate::http::{HttpError, Method, Url};
#[cfg(feature = "registration")]
use crate::mqtt::Packet;
use crate::mqtt::{Connect, ConnectReturnCode};
use crate::provider::ProviderError;
use crate::scratch::Scratch;
#[cfg(feature = "registration")]
use crate::transport::Transport;
use crate::transport::{ClientIdentity, Endpoint, ServerAuth, TransportCaps};
#[cfg(feature = "registration")]
use core::ops::Range;

/// What a registration is for: the product and the device. The store key is derived from
/// these and the cloud, so a change of product or device never reuses another's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationId<'a> {
    /// The product (product id / key).
    pub product: &'a str,
    /// The device (device name / node id).
    pub device: &'a str,
}

/// A store key: `{cloud}-{16 hex digits}`, at most 64 bytes.
pub type StoreKey = heapless::String<64>;

impl RegistrationId<'_> {
    /// `{cloud}-{first 8 bytes of SHA-256(cloud NUL product NUL device), hex}`: short,
    /// safe for any store, and different for every cloud, product and device.
    pub fn store_key(&self, cloud: &str) -> StoreKey {
        let digest = Sha256::new()
            .chain_update(cloud.as_bytes())
            .chain_update([0])
            .chain_update(self.product.as_bytes())
            .chain_update([0])
            .chain_update(self.device.as_bytes())
            .finalize();
        let mut key = StoreKey::new();
        // The cloud name is a short provider constant; keep 40 bytes of it at most.
        let cloud = cloud.get(..cloud.len().min(40)).unwrap_or("cloud");
        let _ = key.push_str(cloud);
        let _ = key.push('-');
        for b in &digest[..8] {
            let _ = write!(key, "{b:02x}");
        }
        key
    }
}

/// What a registration request may depend on besides the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegisterContext {
    /// Unix time in milliseconds, if known.
    pub unix_time_ms: Option<u64>,
    /// A fresh random value, for nonces.
    pub random: u64,
}

/// Most header fields an HTTP registration request carries besides `Host`,
/// `Content-Length` and `Connection`.
pub const MAX_REQUEST_HEADERS: usize = 6;

/// Response-head room an HTTP registration keeps in the device's receive buffer unless the
/// request asks for more ([`HttpRequest::head_room`]); the rest holds the body.
pub const DEFAULT_HEAD_ROOM: usize = 1024;

/// An HTTP request of a registration, written by the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest<'s> {
    /// Method.
    pub method: Method,
    /// Where.
    pub url: Url<'s>,
    /// Header fields.
    pub headers: heapless::Vec<(&'s str, &'s str), MAX_REQUEST_HEADERS>,
    /// Body.
    pub body: &'s [u8],
    /// How to check the server for `https` URLs.
    pub server: ServerAuth<'s>,
    /// Longest wait for connecting, and then for each read.
    pub timeout_ms: u64,
    /// Bytes of the receive buffer kept for the response head (at most half of it); the
    /// rest holds the body.
    pub head_room: usize,
}

impl<'s> HttpRequest<'s> {
    /// A POST of `body` to `url` checked against `server`, with a 30 s timeout.
    pub fn post(url: Url<'s>, server: ServerAuth<'s>, body: &'s [u8]) -> Self {
        HttpRequest {
            method: Method::Post,
            url,
            headers: heapless::Vec::new(),
            body,
            server,
            timeout_ms: 30_000,
            head_room: DEFAULT_HEAD_ROOM,
        }
    }

    /// The same request with one more header field; more than [`MAX_REQUEST_HEADERS`] is
    /// an error naming `key`, the configuration key the value comes from.
    pub fn header(mut self, name: &'s str, value: &'s str) -> Result<Self, ProviderError> {
        self.headers
            .push((name, value))
            .map_err(|_| ProviderError::Unsupported("more header fields than a request carries"))?;
        Ok(self)
    }
}

/// An MQTT connection of a registration (Aliyun's `register` and `regnwl`): the broker
/// pushes the answer on one of `topics`, without a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttRequest<'s> {
    /// Where to connect.
    pub endpoint: Endpoint<'s>,
    /// The CONNECT to send.
    pub connect: Connect<'s>,
    /// The topics the answer may come on.
    pub topics: [&'s str; 2],
    /// Longest wait for CONNACK and then for the answer.
    pub timeout_ms: u64,
}

/// One request of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRequest<'s> {
    /// Over HTTP(S); the answer is [`RegisterAnswer::Http`].
    Http(HttpRequest<'s>),
    /// Over MQTT; the answer is [`RegisterAnswer::Mqtt`].
    Mqtt(MqttRequest<'s>),
}

/// The answer to an HTTP request, in the device's receive buffer.
#[derive(Debug)]
pub struct HttpAnswer<'a> {
    /// Status code.
    pub status: u16,
    /// Body, which the provider may decode in place.
    pub body: &'a mut [u8],
    head: &'a [u8],
}

impl<'a> HttpAnswer<'a> {
    /// An answer of `status` whose response head (status line and header fields, as
    /// received) is `head` and body `body`: what the device hands a provider, and what a
    /// provider's tests build.
    pub fn new(status: u16, head: &'a [u8], body: &'a mut [u8]) -> Self {
        HttpAnswer { status, body, head }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::header_in(self.head, name)
    }
}

/// The answer to one request of a registration.
#[derive(Debug)]
pub enum RegisterAnswer<'a> {
    /// Status, headers and body of an HTTP response.
    Http(HttpAnswer<'a>),
    /// The message the broker pushed.
    Mqtt {
        /// Its topic.
        topic: &'a str,
        /// Its payload, which the provider may decode in place.
        payload: &'a mut [u8],
    },
}

/// What a provider made of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// The record is complete: this many bytes of `record`.
    Record(usize),
    /// Another request follows: this many bytes of `carry` are what it needs (a token, say),
    /// handed to the next [`Registration::request`].
    Next(usize),
}

/// A cloud's dynamic registration, without I/O: the provider writes each request and reads
/// each answer; the device runs the exchanges, once for every cloud.
///
/// What the provider obtains is a *record* in its own format (see [`Fields`]); the device
/// seals it, stores it, and hands it back to [`Provider::sign`](crate::Provider::sign) in
/// [`SignContext::registered`](crate::provider::SignContext::registered).
pub trait Registration {
    /// The product and device registered: the store key is derived from them.
    fn id(&self) -> RegistrationId<'_>;

    /// The request of step `step` (0, then 1, … while [`Registration::answer`] says
    /// [`Answered::Next`]), built in `scratch`. `carry` holds what the previous step kept
    /// for this one (empty at step 0).
    fn request<'s>(
        &'s self,
        step: u8,
        carry: &'s [u8],
        ctx: &RegisterContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError>;

    /// Reads the answer to step `step`: writes the record into `record` and returns
    /// [`Answered::Record`], or writes what the next step needs into `carry` (memory of the
    /// transmit buffer, in front of the next request) and returns [`Answered::Next`].
    fn answer(
        &self,
        step: u8,
        answer: RegisterAnswer<'_>,
        record: &mut [u8],
        carry: &mut [u8],
    ) -> Result<Answered, AnswerError>;

    /// The TLS client identity a record holds (Tencent's certificate mode), presented when
    /// the endpoint has none of its own.
    fn identity<'r>(&self, record: &'r [u8]) -> Option<ClientIdentity<'r>> {
        let _ = record;
        None
    }

    /// Where a device whose registration gave `record` connects, when that differs from the
    /// provider's own endpoint ([`Provider::endpoint_for`](crate::Provider::endpoint_for)),
    /// for a transport that can do what `caps` says; `None` (default): the provider's.
    /// Tencent's registered key devices: TLS-PSK on port 8883 with the key in the record,
    /// where the transport has TLS-PSK.
    fn registered_endpoint<'s>(
        &'s self,
        record: &'s [u8],
        caps: TransportCaps,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Endpoint<'s>>, ProviderError> {
        let _ = (record, caps, scratch);
        Ok(None)
    }
}

/// The registration of a provider that has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRegistration {}

impl Registration for NoRegistration {
    fn id(&self) -> RegistrationId<'_> {
        match *self {}
    }

    fn request<'s>(
        &'s self,
        _: u8,
        _: &'s [u8],
        _: &RegisterContext,
        _: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        match *self {}
    }

    fn answer(
        &self,
        _: u8,
        _: RegisterAnswer<'_>,
        _: &mut [u8],
        _: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        match *self {}
    }
}

/// Most requests one registration makes (Huawei: a token, then the device).
pub const MAX_STEPS: u8 = 4;

/// Runs `registration`'s exchanges: requests built in `scratch`, answers read in `work`,
/// the record written into `out`. Returns the record's length.
///
/// What a step keeps for the next one stays at the start of `scratch`, in front of the next
/// request. Requests carry passwords and tokens, and answers secrets: `scratch` is wiped
/// after every step, and `work` when the registration ends, whatever its outcome.
///
/// The whole registration, every step and wait included, takes at most `total_ms`
/// ([`RegisterError::Timeout`] after that): a server trickling its answer cannot hold the
/// device.
#[cfg(feature = "registration")]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run<R: Registration + ?Sized, T: Transport, C: Clock>(
    registration: &R,
    transport: &mut T,
    clock: &C,
    ctx: &RegisterContext,
    total_ms: u64,
    work: &mut [u8],
    scratch: &mut [u8],
    out: &mut [u8],
) -> Result<usize, RegisterError<T::Error>> {
    let deadline = clock.now_ms().saturating_add(total_ms);
    let all = steps(registration, transport, clock, ctx, work, scratch, out);
    let result = match within!(clock, deadline, all) {
        Some(result) => result,
        None => {
            // Cut off in the middle of an exchange: the connection may still be open.
            transport.close().await;
            Err(RegisterError::Timeout)
        }
    };
    scratch.fill(0);
    work.fill(0);
    result
}

/// An answer read into the work memory: over HTTP as read; over MQTT, where it is.
#[cfg(feature = "registration")]
enum Received<'w> {
    Http(HttpAnswer<'w>),
    Mqtt {
        topic: Range<usize>,
        payload: Range<usize>,
    },
}

#[cfg(feature = "registration")]
async fn steps<R: Registration + ?Sized, T: Transport, C: Clock>(
    registration: &R,
    transport: &mut T,
    clock: &C,
    ctx: &RegisterContext,
    work: &mut [u8],
    scratch: &mut [u8],
    out: &mut [u8],
) -> Result<usize, RegisterError<T::Error>> {
    let mut carry = 0;
    for step in 0..MAX_STEPS {
        let received = {
            let (kept, free) = scratch.split_at_mut(carry.min(scratch.len()));
            let request = registration.request(step, kept, ctx, &mut Scratch::new(free))?;
            match request {
                RegisterRequest::Http(request) => {
                    Received::Http(crate::ota::call(transport, clock, &request, &mut *work).await?)
                }
                RegisterRequest::Mqtt(request) => {
                    let deadline = clock.now_ms().saturating_add(request.timeout_ms);
                    let result = exchange(
                        transport,
                        clock,
                        &mut *work,
                        &request.endpoint,
                        &request.connect,
                        &request.topics,
                        deadline,
                    )
                    .await;
                    transport.close().await;
                    let (topic, payload) = result?;
                    Received::Mqtt { topic, payload }
                }
            }
        };
        // The request is gone; it may have held a password.
        scratch.fill(0);
        let answer = match received {
            Received::Http(answer) => RegisterAnswer::Http(answer),
            Received::Mqtt { topic, payload } => {
                let (head_part, rest) = work.split_at_mut(payload.start);
                let topic = core::str::from_utf8(&head_part[topic])
                    .map_err(|_| RegisterError::BadResponse("topic is not UTF-8"))?;
                RegisterAnswer::Mqtt {
                    topic,
                    payload: &mut rest[..payload.len()],
                }
            }
        };
        match registration
            .answer(step, answer, out, scratch)
            .map_err(widen)?
        {
            Answered::Record(len) => return Ok(len),
            Answered::Next(len) => carry = len,
        }
    }
    Err(RegisterError::BadResponse(
        "more registration steps than a registration makes",
    ))
}

/// A provider's refusal of an answer, as a registration error of any transport.
#[cfg(feature = "registration")]
fn widen<E>(e: AnswerError) -> RegisterError<E> {
    e.map_transport(|never| match never {})
}

/// A cloud's reason for refusing a registration, from its own error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Rejection {
    /// The device has connected before; the cloud will not register it again (Tencent,
    /// Aliyun). Its stored credentials are the only ones it will ever have.
    AlreadyActivated,
    /// Dynamic registration is not switched on for this product.
    Disabled,
    /// The signature (product secret, user key, password) was wrong.
    BadCredentials,
    /// The request's timestamp is too far from the cloud's clock.
    ClockSkew,
    /// The product or device does not exist (or is not pre-registered).
    NotFound,
    /// The device already exists (OneNET, Huawei).
    AlreadyExists,
    /// Another refusal; the cloud's code is in [`RegisterError::Rejected::code`].
    Other,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::AlreadyActivated => "device already activated",
            Rejection::Disabled => "dynamic registration disabled for this product",
            Rejection::BadCredentials => "signature or credentials refused",
            Rejection::ClockSkew => "timestamp refused: the device clock is off",
            Rejection::NotFound => "product or device not found",
            Rejection::AlreadyExists => "device already exists",
            Rejection::Other => "refused",
        })
    }
}

/// How [`Registration::answer`] refuses an answer: a [`RegisterError`] without a transport
/// (a status, a refusal with the cloud's code, a malformed or undecryptable answer, a record
/// too large).
pub type AnswerError = RegisterError<core::convert::Infallible>;

/// Longest cloud error code kept in [`RegisterError::Rejected`].
pub const MAX_CODE_LEN: usize = 32;

/// Why a registration failed. `Display` never shows a secret.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RegisterError<E> {
    /// The provider's configuration cannot register (or has nothing to register).
    #[error("{0}")]
    Provider(#[from] ProviderError),
    /// The HTTP exchange failed (connection, timeout, malformed, truncated or too large).
    #[error("HTTP: {0}")]
    Http(#[from] HttpError<E>),
    /// The MQTT registration connection failed at the transport.
    #[error("transport: {0}")]
    Transport(E),
    /// The MQTT registration connection was refused.
    #[error("registration connection refused: {0}")]
    Refused(ConnectReturnCode),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// An HTTP status the cloud does not use for this request, without a recognised
    /// error body.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// The cloud refused, with its own error code.
    #[error("registration refused: {reason} (code {code})")]
    Rejected {
        /// What it means.
        reason: Rejection,
        /// The cloud's code, as text (cut to [`MAX_CODE_LEN`] bytes).
        code: heapless::String<MAX_CODE_LEN>,
    },
    /// The answer is not what the cloud documents (not JSON, a field missing).
    #[error("malformed answer: {0}")]
    BadResponse(&'static str),
    /// The encrypted answer does not decrypt (Tencent).
    #[error("answer does not decrypt: {0}")]
    Decrypt(&'static str),
    /// The obtained credentials do not fit the device's credentials buffer.
    #[error("credentials of {len} bytes do not fit the {capacity}-byte credentials buffer")]
    RecordTooLarge {
        /// Bytes needed.
        len: usize,
        /// Bytes available.
        capacity: usize,
    },
}

impl<E> RegisterError<E> {
    /// A refusal with the cloud's `code`.
    pub fn rejected(reason: Rejection, code: &str) -> Self {
        let mut text = heapless::String::new();
        for c in code.chars() {
            if text.push(c).is_err() {
                break;
            }
        }
        RegisterError::Rejected { reason, code: text }
    }

    /// Replaces the transport error type, keeping everything else.
    pub fn map_transport<F>(self, f: impl FnOnce(E) -> F) -> RegisterError<F> {
        match self {
            RegisterError::Provider(e) => RegisterError::Provider(e),
            RegisterError::Http(e) => RegisterError::Http(e.map_transport(f)),
            RegisterError::Transport(e) => RegisterError::Transport(f(e)),
            RegisterError::Refused(c) => RegisterError::Refused(c),
            RegisterError::Timeout => RegisterError::Timeout,
            RegisterError::Status(s) => RegisterError::Status(s),
            RegisterError::Rejected { reason, code } => RegisterError::Rejected { reason, code },
            RegisterError::BadResponse(w) => RegisterError::BadResponse(w),
            RegisterError::Decrypt(w) => RegisterError::Decrypt(w),
            RegisterError::RecordTooLarge { len, capacity } => {
                RegisterError::RecordTooLarge { len, capacity }
            }
        }
    }

    /// Whether trying again later may help: transport trouble, yes; a refusal for bad
    /// credentials or an activated device, no.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RegisterError::Http(_)
                | RegisterError::Transport(_)
                | RegisterError::Timeout
                | RegisterError::Status(500..=599)
                | RegisterError::Rejected {
                    reason: Rejection::ClockSkew,
                    ..
                }
        )
    }
}

// ---------------------------------------------------------------------------------------
// Registration over MQTT.

/// Registration over MQTT (Aliyun's `register` and `regnwl`): connects to `endpoint`, sends
/// `connect`, and waits up to `timeout_ms` for CONNACK and then for a PUBLISH on one of
/// `topics` (empty ones are ignored), which the cloud pushes without a subscription. The
/// connection is closed before returning. A refused CONNACK is [`RegisterError::Refused`].
/// Returns the topic and payload, in `buf`.
#[cfg(all(test, feature = "registration"))]
pub(crate) async fn mqtt_answer<'r, T: Transport, C: Clock>(
    transport: &mut T,
    clock: &C,
    buf: &'r mut [u8],
    endpoint: &Endpoint<'_>,
    connect: &Connect<'_>,
    topics: &[&str],
    timeout_ms: u64,
) -> Result<(&'r str, &'r mut [u8]), RegisterError<T::Error>> {
    let deadline = clock.now_ms().saturating_add(timeout_ms);
    let result = exchange(transport, clock, buf, endpoint, connect, topics, deadline).await;
    transport.close().await;
    let (topic, payload) = result?;
    let (head, rest) = buf.split_at_mut(payload.start);
    let topic = core::str::from_utf8(&head[topic])
        .map_err(|_| RegisterError::BadResponse("topic is not UTF-8"))?;
    Ok((topic, &mut rest[..payload.len()]))
}

#[cfg(feature = "registration")]
type Ranges = (core::ops::Range<usize>, core::ops::Range<usize>);

#[cfg(feature = "registration")]
async fn exchange<T: Transport, C: Clock>(
    transport: &mut T,
    clock: &C,
    buf: &mut [u8],
    endpoint: &Endpoint<'_>,
    connect: &Connect<'_>,
    topics: &[&str],
    deadline: u64,
) -> Result<Ranges, RegisterError<T::Error>> {
    let n = Packet::Connect(*connect)
        .emit(buf)
        .map_err(|_| RegisterError::RecordTooLarge {
            len: Packet::Connect(*connect).buffer_len().unwrap_or(usize::MAX),
            capacity: buf.len(),
        })?;
    match within!(clock, deadline, transport.connect(endpoint)) {
        None => return Err(RegisterError::Timeout),
        Some(Err(e)) => return Err(RegisterError::Transport(e)),
        Some(Ok(())) => {}
    }
    let write = async {
        transport.write_all(&buf[..n]).await?;
        transport.flush().await
    };
    match within!(clock, deadline, write) {
        None => return Err(RegisterError::Timeout),
        Some(Err(e)) => return Err(RegisterError::Transport(e)),
        Some(Ok(())) => {}
    }
    let mut filled = 0;
    let mut connacked = false;
    loop {
        // Take every complete packet at the front of the buffer.
        while let Some((packet, used)) = Packet::decode(&buf[..filled])
            .map_err(|_| RegisterError::BadResponse("malformed MQTT packet"))?
        {
            match packet {
                Packet::Connack(c) => {
                    if c.code != ConnectReturnCode::Accepted {
                        return Err(RegisterError::Refused(c.code));
                    }
                    connacked = true;
                }
                Packet::Publish(p)
                    if connacked
                        && topics
                            .iter()
                            .any(|t| !t.is_empty() && *t == p.topic.as_str()) =>
                {
                    let base = buf.as_ptr() as usize;
                    let t = p.topic.as_str().as_ptr() as usize - base;
                    let b = p.payload.as_ptr() as usize - base;
                    return Ok((t..t + p.topic.as_str().len(), b..b + p.payload.len()));
                }
                Packet::Publish(_) | Packet::Pingresp | Packet::Suback(_) => {}
                _ if !connacked => {
                    return Err(RegisterError::BadResponse("expected CONNACK"));
                }
                _ => {}
            }
            crate::bytes::shift_down(buf, used..filled, 0);
            filled -= used;
        }
        if filled == buf.len() {
            return Err(RegisterError::RecordTooLarge {
                len: filled + 1,
                capacity: buf.len(),
            });
        }
        match within!(clock, deadline, transport.read(&mut buf[filled..])) {
            None => return Err(RegisterError::Timeout),
            Some(Err(e)) => return Err(RegisterError::Transport(e)),
            Some(Ok(0)) => return Err(RegisterError::Http(HttpError::Closed)),
            Some(Ok(n)) => filled += n,
        }
    }
}

/// The provider's record inside a value a device stored under
/// [`RegistrationId::store_key`] (the device stores records sealed: framed with a version
/// and a checksum). `None` when the value is not a sealed record of this version, or is
/// damaged. For tools that read a store without a device; a device does this itself.
pub fn unseal(stored: &[u8]) -> Option<&[u8]> {
    crate::record::open(stored).map(|range| &stored[range])
}

// ---------------------------------------------------------------------------------------
// Record fields.

/// The name/value pairs of a record written as alternating [`Fields`] (`name`, `value`,
/// `name`, `value`, …), the convention every provider follows so that tools can show what
/// was obtained. Stops at the first field that is not UTF-8.
pub fn named(record: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    let mut fields = Fields::read(record);
    core::iter::from_fn(move || Some((fields.next_str()?, fields.next_str()?)))
}

/// The value named `name` in a record of name/value pairs.
pub fn field<'r>(record: &'r [u8], name: &str) -> Option<&'r str> {
    named(record).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// A provider record as a list of byte fields, each prefixed by its 16-bit length: easy to
/// write into a caller's buffer and to read back without parsing text.
///
/// ```
/// use iotcloud_core::register::Fields;
/// let mut buf = [0u8; 32];
/// let n = Fields::write(&mut buf, &[b"psk", b"c2VjcmV0"]).unwrap();
/// let mut fields = Fields::read(&buf[..n]);
/// assert_eq!(fields.next(), Some(&b"psk"[..]));
/// assert_eq!(fields.next(), Some(&b"c2VjcmV0"[..]));
/// assert_eq!(fields.next(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Fields<'r> {
    rest: &'r [u8],
}

impl<'r> Fields<'r> {
    /// Writes `fields` into `buf`; `None` if they do not fit (or one is over 65,535 bytes).
    pub fn write(buf: &mut [u8], fields: &[&[u8]]) -> Option<usize> {
        let mut at: usize = 0;
        for f in fields {
            let len = u16::try_from(f.len()).ok()?;
            let end = at.checked_add(2 + f.len())?;
            if end > buf.len() {
                return None;
            }
            buf[at..at + 2].copy_from_slice(&len.to_le_bytes());
            buf[at + 2..end].copy_from_slice(f);
            at = end;
        }
        Some(at)
    }

    /// The bytes needed to write `fields`.
    pub fn len_of(fields: &[&[u8]]) -> usize {
        fields.iter().map(|f| 2 + f.len()).sum()
    }

    /// Reads fields from a record.
    pub fn read(record: &'r [u8]) -> Self {
        Fields { rest: record }
    }

    /// The next field as UTF-8 text; `None` at the end or if it is not text.
    pub fn next_str(&mut self) -> Option<&'r str> {
        self.next().and_then(|f| core::str::from_utf8(f).ok())
    }
}

impl<'r> Iterator for Fields<'r> {
    type Item = &'r [u8];

    /// The next field; `None` at the end or at a length that runs past the record.
    fn next(&mut self) -> Option<&'r [u8]> {
        let (len, rest) = self.rest.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_le_bytes(*len));
        if len > rest.len() {
            self.rest = &[];
            return None;
        }
        let (field, rest) = rest.split_at(len);
        self.rest = rest;
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::ToOwned;

    #[test]
    fn store_keys_differ_by_cloud_product_and_device_and_fit_64_bytes() {
        let a = RegistrationId {
            product: "P1",
            device: "D1",
        };
        let keys = [
            a.store_key("tencent"),
            a.store_key("aliyun"),
            RegistrationId { product: "P2", ..a }.store_key("tencent"),
            RegistrationId { device: "D2", ..a }.store_key("tencent"),
            // The separator keeps "P1"+"D1x" apart from "P1D"+"1x".
            RegistrationId {
                product: "P1D",
                device: "1",
            }
            .store_key("tencent"),
        ];
        for (i, k) in keys.iter().enumerate() {
            assert!(k.len() <= 64);
            for other in &keys[i + 1..] {
                assert_ne!(k, other);
            }
        }
        assert_eq!(keys[0].len(), "tencent-".len() + 16);
        assert!(keys[0].starts_with("tencent-"));
        assert_eq!(keys[0], a.store_key("tencent"));
    }

    #[test]
    fn unseal_gives_the_record_of_a_stored_value_and_refuses_damage() {
        let mut buf = [0u8; 32];
        let area = crate::record::payload_area(buf.len());
        buf[area.start..area.start + 3].copy_from_slice(b"abc");
        let n = crate::record::seal(&mut buf, 3).unwrap();
        assert_eq!(unseal(&buf[..n]), Some(&b"abc"[..]));
        buf[n - 1] ^= 1;
        assert_eq!(unseal(&buf[..n]), None);
        assert_eq!(unseal(b"abc"), None);
    }

    #[test]
    fn fields_round_trip_and_stop_at_a_bad_length() {
        let mut buf = [0u8; 16];
        assert_eq!(Fields::write(&mut buf, &[b"abcdefghijklmnop"]), None);
        let n = Fields::write(&mut buf, &[b"", b"xyz"]).unwrap();
        assert_eq!(n, Fields::len_of(&[b"", b"xyz"]));
        let got: std::vec::Vec<&[u8]> = Fields::read(&buf[..n]).collect();
        assert_eq!(got, [&b""[..], &b"xyz"[..]]);
        assert_eq!(Fields::read(&[5, 0, b'a']).next(), None);
        assert_eq!(Fields::read(&[0xff, 0xfe]).next_str(), None);
    }

    fn pushes_registration(packet: &Packet<'_>, out: &mut std::vec::Vec<u8>) {
        use crate::mqtt::{Connack, Publish, QosPid, TopicName};
        if let Packet::Connect(c) = packet {
            let code = if c.password == Some(b"good") {
                ConnectReturnCode::Accepted
            } else {
                ConnectReturnCode::BadUsernameOrPassword
            };
            for p in [
                Packet::Connack(Connack {
                    session_present: false,
                    code,
                }),
                Packet::Publish(Publish {
                    topic: TopicName::new("/ext/other").unwrap(),
                    qos: QosPid::AtMostOnce,
                    dup: false,
                    retain: false,
                    payload: b"ignored",
                }),
                Packet::Publish(Publish {
                    topic: TopicName::new("/ext/register").unwrap(),
                    qos: QosPid::AtMostOnce,
                    dup: false,
                    retain: false,
                    payload: br#"{"deviceSecret":"abc"}"#,
                }),
            ] {
                let mut buf = [0u8; 64];
                let n = p.emit(&mut buf).unwrap();
                out.extend_from_slice(&buf[..n]);
            }
        }
    }

    #[test]
    fn mqtt_registration_waits_for_the_pushed_answer_and_closes() {
        use crate::test_support::{MockTransport, TestClock, block_on};
        let endpoint = Endpoint {
            host: "reg.test",
            port: 8883,
            tls: None,
        };
        let run = |password: &'static [u8]| {
            let mut transport = MockTransport::with_responder(pushes_registration);
            let clock = TestClock::default();
            let mut buf = [0u8; 256];
            let connect = Connect {
                client_id: "dev|securemode=2,authType=register|",
                keep_alive: 60,
                clean_session: true,
                will: None,
                username: Some("dev&pk"),
                password: Some(password),
            };
            let got = block_on(mqtt_answer(
                &mut transport,
                &clock,
                &mut buf,
                &endpoint,
                &connect,
                &["/ext/register", "/ext/regnwl"],
                5_000,
            ))
            .map(|(topic, payload)| (topic.to_owned(), payload.to_vec()));
            let closes = transport.state.borrow().closes;
            (got, closes)
        };
        let (got, closes) = run(b"good");
        let (topic, payload) = got.unwrap();
        assert_eq!(topic, "/ext/register");
        assert_eq!(payload, br#"{"deviceSecret":"abc"}"#);
        assert_eq!(closes, 1);
        let (got, closes) = run(b"bad");
        assert!(matches!(
            got,
            Err(RegisterError::Refused(
                ConnectReturnCode::BadUsernameOrPassword
            ))
        ));
        assert_eq!(closes, 1);
    }

    #[test]
    fn named_fields_are_found_by_name() {
        let mut buf = [0u8; 64];
        let n = Fields::write(&mut buf, &[b"clientId", b"c1", b"deviceToken", b"t1"]).unwrap();
        let pairs: std::vec::Vec<_> = named(&buf[..n]).collect();
        assert_eq!(pairs, [("clientId", "c1"), ("deviceToken", "t1")]);
        assert_eq!(field(&buf[..n], "deviceToken"), Some("t1"));
        assert_eq!(field(&buf[..n], "psk"), None);
    }

    #[test]
    fn rejection_codes_are_kept_cut_to_length() {
        let e: RegisterError<core::convert::Infallible> =
            RegisterError::rejected(Rejection::AlreadyActivated, "1021");
        assert_eq!(
            std::format!("{e}"),
            "registration refused: device already activated (code 1021)"
        );
        let long = "x".repeat(100);
        let RegisterError::<()>::Rejected { code, .. } =
            RegisterError::rejected(Rejection::Other, &long)
        else {
            unreachable!()
        };
        assert_eq!(code.len(), MAX_CODE_LEN);
        assert!(!e.is_retryable());
        assert!(RegisterError::<()>::Timeout.is_retryable());
    }
}
