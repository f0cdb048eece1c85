//! The device's data, in one shape for every cloud: properties reported and set, desired
//! values, commands and their responses, events, and the cloud's time.
//!
//! The application speaks in names and values; each provider's [`DataFormat`] writes them
//! in its cloud's envelope and topic (Aliyun's Alink JSON, Tencent's data template,
//! OneNET's OneJSON, Huawei's IoTDA services, TuyaLink) and reads the cloud's messages
//! back into [`Properties`], [`Command`], [`Reply`] and time samples. Moving a device to
//! another cloud changes its provider, not this code.
//!
//! Values are written through [`ToJson`], a trait object per value, so a device links the
//! formatting of the types it reports and no other (a device that reports no `f64` carries
//! no float formatting). Values are read as [`Value`]s, borrowed from the receive buffer.
//! Nothing here allocates.

use core::fmt;

use crate::json::{JsonStr, Value};
use crate::mqtt::SubscribeTopic;
use crate::provider::{ProviderError, Publication};
use crate::scratch::{Scratch, ScratchFull};

/// Longest request id and longest command name a [`Request`] keeps (bytes). Huawei's
/// request ids are 36-character UUIDs, TuyaLink's at most 32 characters.
pub const MAX_ID_LEN: usize = 64;

/// Why a data message could not be written or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DataError {
    /// The device was not given the data model: call `Device::with_data` before connecting.
    #[error("the data model is not enabled (Device::with_data)")]
    NotEnabled,
    /// This cloud (or configuration) has no such part of the data model.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// A NaN or infinite number: JSON has no way to write it.
    #[error("a number is NaN or infinite, which JSON cannot carry")]
    NotFinite,
    /// A value given as raw JSON ([`RawJson`]) is not JSON.
    #[error("a raw JSON value is not valid JSON")]
    InvalidJson,
    /// The provider's configuration lacks a key this part of the data model needs (Huawei's
    /// `service_id` for reports).
    #[error("missing configuration key `{0}`")]
    MissingKey(&'static str),
    /// A property, event or command name is empty, or holds characters the cloud's topics
    /// cannot carry (`/`, `+`, `#`, quotes, backslashes, control characters).
    #[error("a name is empty or holds `/`, `+`, `#`, `\"`, `\\` or control characters")]
    InvalidName,
    /// The message does not fit the memory it is built in (the free part of the receive
    /// buffer). Nothing was sent.
    #[error("the message does not fit the {available} bytes free to build it")]
    TooLarge {
        /// Bytes that were free.
        available: usize,
    },
    /// A data message from the cloud lacks a field it must have, or has it in the wrong
    /// type: the field named.
    #[error("a data message from the cloud has no valid `{0}`")]
    Malformed(&'static str),
    /// A request id or command name from the cloud is longer than [`MAX_ID_LEN`] bytes:
    /// the request cannot be answered.
    #[error("a request id or name from the cloud has {len} bytes (at most {MAX_ID_LEN})")]
    IdTooLong {
        /// Its length.
        len: usize,
    },
    /// A time answer came that answers no request of this connection.
    #[error("a time answer that answers no request")]
    UnexpectedTime,
}

impl From<ScratchFull> for DataError {
    fn from(e: ScratchFull) -> Self {
        DataError::TooLarge {
            available: e.available,
        }
    }
}

impl From<ProviderError> for DataError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::ScratchFull(full) => full.into(),
            ProviderError::Unsupported(why) => DataError::Unsupported(why),
            ProviderError::MissingKey(key) => DataError::MissingKey(key),
            _ => DataError::InvalidName,
        }
    }
}

impl DataError {
    /// What the caller can do about it.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            DataError::NotEnabled => ErrorKind::State,
            DataError::Unsupported(_)
            | DataError::MissingKey(_)
            | DataError::NotFinite
            | DataError::InvalidJson
            | DataError::InvalidName => ErrorKind::Config,
            DataError::TooLarge { .. } => ErrorKind::Resource,
            DataError::Malformed(_) | DataError::IdTooLong { .. } | DataError::UnexpectedTime => {
                ErrorKind::Protocol
            }
        }
    }
}

/// Where a value's JSON goes. Counts what it is given, so that a failed write can tell
/// "full" from "invalid".
pub struct JsonOut<'w> {
    out: &'w mut dyn fmt::Write,
}

impl<'w> JsonOut<'w> {
    /// JSON written into `out`.
    pub fn new(out: &'w mut dyn fmt::Write) -> Self {
        JsonOut { out }
    }

    /// Writes `text` as is (it must already be JSON).
    pub fn raw(&mut self, text: &str) -> Result<(), DataError> {
        self.out.write_str(text).map_err(|_| full())
    }

    /// Writes `args` as is (they must format as JSON).
    pub fn fmt(&mut self, args: fmt::Arguments<'_>) -> Result<(), DataError> {
        self.out.write_fmt(args).map_err(|_| full())
    }

    /// Writes `s` as a JSON string, quoted and escaped.
    pub fn string(&mut self, s: &str) -> Result<(), DataError> {
        self.fmt(format_args!("{}", JsonStr(s)))
    }

    /// Writes `{"name":value,…}` for `fields`.
    pub fn object(&mut self, fields: &[Field<'_>]) -> Result<(), DataError> {
        self.raw("{")?;
        for (i, (name, value)) in fields.iter().enumerate() {
            if name.is_empty() {
                return Err(DataError::InvalidName);
            }
            if i > 0 {
                self.raw(",")?;
            }
            self.string(name)?;
            self.raw(":")?;
            value.write_json(self)?;
        }
        self.raw("}")
    }
}

/// A write that failed for want of room: the caller knows how much there was.
fn full() -> DataError {
    DataError::TooLarge { available: 0 }
}

/// A value the device writes as JSON: numbers, booleans, strings, arrays, [`Object`]s of
/// further fields, [`RawJson`] — or a type of the application's own.
pub trait ToJson {
    /// Writes the value as one JSON value.
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError>;
}

/// A named value: `("temperature", &21.5)`.
pub type Field<'a> = (&'a str, &'a dyn ToJson);

macro_rules! integer_json {
    ($($t:ty)*) => {$(
        impl ToJson for $t {
            fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
                out.fmt(format_args!("{self}"))
            }
        }
    )*};
}

integer_json!(i8 i16 i32 u8 u16 u32 isize usize);

/// Written without 64-bit division, which a Cortex-M3 does with a library routine of about
/// 900 bytes ([`Decimal`](crate::sign::Decimal)).
impl ToJson for u64 {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        out.raw(crate::sign::Decimal::new(*self).as_str())
    }
}

/// As `u64`.
impl ToJson for i64 {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        if *self < 0 {
            out.raw("-")?;
        }
        self.unsigned_abs().write_json(out)
    }
}

macro_rules! float_json {
    ($($t:ty)*) => {$(
        /// Written in the shortest form that reads back as the same number; NaN and the
        /// infinities are [`DataError::NotFinite`].
        impl ToJson for $t {
            fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
                if !self.is_finite() {
                    return Err(DataError::NotFinite);
                }
                out.fmt(format_args!("{self}"))
            }
        }
    )*};
}

float_json!(f32 f64);

impl ToJson for bool {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        out.raw(if *self { "true" } else { "false" })
    }
}

impl ToJson for &str {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        out.string(self)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    /// `None` is `null`.
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        match self {
            Some(v) => v.write_json(out),
            None => out.raw("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        out.raw("[")?;
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.raw(",")?;
            }
            v.write_json(out)?;
        }
        out.raw("]")
    }
}

impl<T: ToJson, const N: usize> ToJson for [T; N] {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        self.as_slice().write_json(out)
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        (**self).write_json(out)
    }
}

/// A nested object: `("position", &Object(&[("lat", &31.2), ("lon", &121.5)]))`, for
/// struct-typed properties where the cloud has them.
#[derive(Clone, Copy)]
pub struct Object<'a>(
    /// The members.
    pub &'a [Field<'a>],
);

impl ToJson for Object<'_> {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        out.object(self.0)
    }
}

/// A value that is already JSON text. It is checked before it is written: text that is
/// not one JSON value is [`DataError::InvalidJson`], so it cannot break the envelope.
#[derive(Clone, Copy)]
pub struct RawJson<'a>(
    /// The JSON text.
    pub &'a str,
);

impl ToJson for RawJson<'_> {
    fn write_json(&self, out: &mut JsonOut<'_>) -> Result<(), DataError> {
        Value::parse(self.0.as_bytes()).map_err(|_| DataError::InvalidJson)?;
        out.raw(self.0.trim())
    }
}

/// Writes `fields` as a JSON object in `w`: the helper providers use inside an envelope.
pub fn write_object(w: &mut dyn fmt::Write, fields: &[Field<'_>]) -> Result<(), DataError> {
    JsonOut::new(w).object(fields)
}

/// Builds a text in `scratch` with `f`, which writes JSON: a full scratch is
/// [`DataError::TooLarge`] with the room there was, any other failure is `f`'s own error.
pub fn build<'s>(
    scratch: &mut Scratch<'s>,
    f: impl FnOnce(&mut JsonOut<'_>) -> Result<(), DataError>,
) -> Result<&'s str, DataError> {
    let available = scratch.available();
    let mut failure = None;
    let text = scratch.text(|w| {
        let mut out = JsonOut::new(w);
        f(&mut out).map_err(|e| {
            failure = Some(e);
            fmt::Error
        })
    });
    match (text, failure) {
        (Ok(text), _) => Ok(text),
        (Err(_), Some(DataError::TooLarge { .. }) | None) => Err(DataError::TooLarge { available }),
        (Err(_), Some(e)) => Err(e),
    }
}

/// A publication on `topic` at `qos` whose JSON payload `body` writes, both built in
/// `scratch`: what a provider's [`DataFormat::write`] returns.
pub fn message<'s>(
    scratch: &mut Scratch<'s>,
    topic: crate::provider::TopicPath<'_>,
    qos: crate::mqtt::QoS,
    body: impl FnOnce(&mut JsonOut<'_>) -> Result<(), DataError>,
) -> Result<Publication<'s>, DataError> {
    let topic = scratch.concat(&topic.0)?;
    let payload = build(scratch, body)?;
    Ok(Publication {
        topic,
        payload: payload.as_bytes(),
        qos,
    })
}

/// Checks a name that goes into a topic and, unquoted, into a JSON string (an Aliyun event
/// or service identifier): not empty, no `/`, `+`, `#`, `"`, `\` or control characters.
pub fn check_topic_name(name: &str) -> Result<(), DataError> {
    if name.is_empty()
        || name
            .bytes()
            .any(|b| matches!(b, b'/' | b'+' | b'#' | b'"' | b'\\') || b < 0x20 || b == 0x7f)
    {
        return Err(DataError::InvalidName);
    }
    Ok(())
}

/// How the application answers a property set or a command.
#[derive(Clone, Copy)]
pub enum Outcome<'a> {
    /// Done; for a command, with its output parameters (may be empty).
    Success {
        /// Output parameters (commands only; clouds without them ignore these).
        output: &'a [Field<'a>],
    },
    /// Refused or failed, with a code in the cloud's own numbering and a message.
    Failure {
        /// The code (the cloud's success code would be read as success).
        code: i32,
        /// A short explanation.
        message: &'a str,
    },
}

impl<'a> Outcome<'a> {
    /// Success, with no output.
    pub const fn success() -> Self {
        Outcome::Success { output: &[] }
    }

    /// Success with output parameters.
    pub const fn with_output(output: &'a [Field<'a>]) -> Self {
        Outcome::Success { output }
    }

    /// Failure with `code` and `message`.
    pub const fn failure(code: i32, message: &'a str) -> Self {
        Outcome::Failure { code, message }
    }

    /// Whether this is a success.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success { .. })
    }
}

impl fmt::Debug for Outcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success { output } => f
                .debug_struct("Success")
                .field("output_fields", &output.len())
                .finish(),
            Outcome::Failure { code, message } => f
                .debug_struct("Failure")
                .field("code", code)
                .field("message", message)
                .finish(),
        }
    }
}

/// What a [`Request`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestKind {
    /// Set properties.
    PropertySet,
    /// Run a command (service, action).
    Command,
}

/// A request from the cloud that the application answers with `Device::answer`: its kind,
/// the cloud's id for it and, for a command, its name. Owned (it is copied out of the
/// receive buffer), so it can be kept past the next event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    kind: RequestKind,
    id: heapless::String<MAX_ID_LEN>,
    name: heapless::String<MAX_ID_LEN>,
}

impl Request {
    /// A request of `kind` with the cloud's `id` and the command's `name` (empty for a
    /// property set). Longer than [`MAX_ID_LEN`] bytes is [`DataError::IdTooLong`].
    pub fn new(kind: RequestKind, id: &str, name: &str) -> Result<Self, DataError> {
        check_id(id)?;
        check_id(name)?;
        Ok(Request {
            kind,
            id: owned(id),
            name: owned(name),
        })
    }

    /// What it asks for.
    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// The cloud's id for it (the one the answer must carry).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The command's name (the service, action or command identifier); empty for a
    /// property set.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Where a [`Properties`] event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PropertyOrigin {
    /// The cloud sets them: apply, then answer with `Device::answer`.
    Set,
    /// The desired values the cloud keeps, fetched with `Device::get_desired` (and on
    /// connect): apply them; no answer is due.
    Desired,
}

/// Copies a string that was checked to fit ([`check_id`]).
fn owned(s: &str) -> heapless::String<MAX_ID_LEN> {
    let mut out = heapless::String::new();
    // Checked at construction: it fits.
    let _ = out.push_str(s);
    out
}

/// Checks that a request id or name fits a [`Request`].
fn check_id(s: &str) -> Result<(), DataError> {
    if s.len() > MAX_ID_LEN {
        return Err(DataError::IdTooLong { len: s.len() });
    }
    Ok(())
}

/// Property values from the cloud: a set to apply and answer, or the desired values.
/// Borrowed from the receive buffer, valid until the next event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Properties<'a> {
    origin: PropertyOrigin,
    id: &'a str,
    /// A JSON object of name → value.
    values: Value<'a>,
    /// Each value is wrapped as `{"value": …}` (desired values on most clouds).
    wrapped: bool,
}

impl<'a> Properties<'a> {
    /// Properties of `origin` with the cloud's request `id`: `values` is an object of
    /// name → value, or of name → `{"value": …, …}` when `wrapped`. An id longer than
    /// [`MAX_ID_LEN`] is [`DataError::IdTooLong`]; `values` not an object is malformed.
    pub fn new(
        origin: PropertyOrigin,
        id: &'a str,
        values: Value<'a>,
        wrapped: bool,
    ) -> Result<Self, DataError> {
        check_id(id)?;
        if values.kind() != crate::json::Kind::Object {
            return Err(DataError::Malformed("params"));
        }
        Ok(Properties {
            origin,
            id,
            values,
            wrapped,
        })
    }

    /// Set or desired.
    pub fn origin(&self) -> PropertyOrigin {
        self.origin
    }

    /// The cloud's id for the set (or for the fetch of desired values).
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// What to pass to `Device::answer` for a set, copied out of the receive buffer.
    pub fn request(&self) -> Request {
        Request {
            kind: RequestKind::PropertySet,
            id: owned(self.id),
            name: heapless::String::new(),
        }
    }

    /// The name → value pairs, names as JSON strings (compare with [`Value::eq_str`]),
    /// values unwrapped.
    pub fn iter(&self) -> impl Iterator<Item = (Value<'a>, Value<'a>)> + 'a {
        let wrapped = self.wrapped;
        self.values.members().map(move |(name, value)| {
            let value = if wrapped {
                value.get("value").unwrap_or(value)
            } else {
                value
            };
            (name, value)
        })
    }

    /// The value of property `name`, if present.
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.iter().find(|(n, _)| n.eq_str(name)).map(|(_, v)| v)
    }

    /// How many properties there are.
    pub fn len(&self) -> usize {
        self.values.members().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A command (Aliyun service, Tencent action, Huawei command, OneNET service, TuyaLink
/// action) to run and answer with `Device::answer`. Borrowed from the receive buffer,
/// valid until the next event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    id: &'a str,
    name: &'a str,
    service: Option<&'a str>,
    params: Value<'a>,
}

impl<'a> Command<'a> {
    /// Command `name` with the cloud's request `id`, of `service` where the cloud groups
    /// commands, with `params` (an object). An id or name longer than [`MAX_ID_LEN`] is
    /// [`DataError::IdTooLong`]; `params` not an object is malformed.
    pub fn new(
        id: &'a str,
        name: &'a str,
        service: Option<&'a str>,
        params: Value<'a>,
    ) -> Result<Self, DataError> {
        check_id(id)?;
        check_id(name)?;
        if params.kind() != crate::json::Kind::Object {
            return Err(DataError::Malformed("params"));
        }
        Ok(Command {
            id,
            name,
            service,
            params,
        })
    }

    /// The cloud's id for the call.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The command's name (service, action or command identifier).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The service the command belongs to, where the cloud groups commands (Huawei's
    /// `service_id`).
    pub fn service(&self) -> Option<&'a str> {
        self.service
    }

    /// The input parameters, a JSON object.
    pub fn params(&self) -> Value<'a> {
        self.params
    }

    /// The input parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<Value<'a>> {
        self.params.get(name)
    }

    /// What to pass to `Device::answer`, copied out of the receive buffer.
    pub fn request(&self) -> Request {
        Request {
            kind: RequestKind::Command,
            id: owned(self.id),
            name: owned(self.name),
        }
    }
}

/// The cloud's reply to a message the device sent (a report, an event): the id the device
/// gave it, and the cloud's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The id `Device::report` or `Device::event` returned.
    pub id: u32,
    /// The cloud's code, in its own numbering.
    pub code: i64,
    /// Whether the code means success on this cloud.
    pub success: bool,
    /// The cloud's message, if it sent one (a JSON string; may be escaped).
    pub message: Option<Value<'a>>,
}

/// The cloud's clock, as a time answer gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTime {
    /// The four-timestamp exchange (Aliyun, Huawei, TuyaLink): when the server received the
    /// request and when it sent the answer, in Unix milliseconds.
    Exchange {
        /// Server receive time.
        received_ms: u64,
        /// Server send time.
        sent_ms: u64,
    },
    /// Whole seconds only (Tencent).
    Seconds(u64),
}

/// A time answer: what the device sent (echoed, where the cloud echoes it) and the
/// server's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeAnswer {
    /// The device send time the request carried, echoed back.
    pub device_sent: Option<u64>,
    /// The server's times.
    pub server: ServerTime,
}

impl TimeAnswer {
    /// The Unix time in milliseconds at the moment the answer arrived, given the round
    /// trip the device measured: `(server receive + server send + round trip) / 2`, the
    /// formula the clouds document, which equals theirs for any device clock; for whole
    /// seconds, half a second plus half the round trip later than the second given.
    pub fn unix_ms_at_arrival(&self, round_trip_ms: u64) -> u64 {
        match self.server {
            ServerTime::Exchange {
                received_ms,
                sent_ms,
            } => {
                let sum = received_ms
                    .saturating_add(sent_ms)
                    .saturating_add(round_trip_ms);
                sum / 2
            }
            ServerTime::Seconds(s) => s
                .saturating_mul(1000)
                .saturating_add(500)
                .saturating_add(round_trip_ms / 2),
        }
    }
}

/// The time the device learned from the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimeSynced {
    /// Unix time in milliseconds when the answer arrived.
    pub unix_time_ms: u64,
    /// How far the device's own wall clock was off (cloud minus device, milliseconds);
    /// `None` when the device had no wall clock.
    pub offset_ms: Option<i64>,
    /// The request's round trip, milliseconds.
    pub round_trip_ms: u64,
}

/// A message the device sends, for its provider to word.
#[derive(Clone, Copy)]
pub enum Up<'a> {
    /// Property values.
    Report(&'a [Field<'a>]),
    /// An event and its parameters.
    Event {
        /// The event's identifier.
        name: &'a str,
        /// Its parameters.
        params: &'a [Field<'a>],
    },
    /// The answer to a request.
    Answer {
        /// The request.
        request: &'a Request,
        /// The answer.
        outcome: Outcome<'a>,
    },
    /// A request for the desired values.
    GetDesired,
    /// A request for the time, carrying `device_ms` (the device's wall clock if it knows
    /// it, else its monotonic clock).
    TimeRequest {
        /// The device send time.
        device_ms: u64,
    },
}

impl fmt::Debug for Up<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Up::Report(fields) => write!(f, "Report({} fields)", fields.len()),
            Up::Event { name, params } => write!(f, "Event({name}, {} fields)", params.len()),
            Up::Answer { request, outcome } => write!(f, "Answer({request:?}, {outcome:?})"),
            Up::GetDesired => f.write_str("GetDesired"),
            Up::TimeRequest { device_ms } => write!(f, "TimeRequest({device_ms})"),
        }
    }
}

/// What the device knows when a provider words a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataContext {
    /// The id of this message (decimal in the envelope), unique on the connection.
    pub message_id: u32,
    /// Unix milliseconds, if the device knows the time (for `time` fields).
    pub unix_time_ms: Option<u64>,
}

/// What a provider made of an incoming message.
#[derive(Debug, Clone)]
pub enum Down<'a> {
    /// Not a data message: it goes to the application as a plain message.
    NotData,
    /// Property values (set or desired).
    Properties(Properties<'a>),
    /// A command.
    Command(Command<'a>),
    /// A reply to a report, an event or a desired-values fetch without values.
    Reply(Reply<'a>),
    /// A time answer.
    Time(TimeAnswer),
    /// A data message the device cannot take: malformed, or an id too long to answer.
    Invalid(DataError),
}

/// Which parts of the data model a cloud has. A part it lacks is refused with
/// [`DataError::Unsupported`] saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataParts {
    /// Property reports.
    pub report: bool,
    /// The cloud replies to property reports.
    pub report_reply: bool,
    /// Property sets from the cloud, answered.
    pub property_set: bool,
    /// Desired values the device can fetch.
    pub desired: bool,
    /// Commands, answered.
    pub commands: bool,
    /// Events.
    pub events: bool,
    /// A time service.
    pub time: bool,
}

impl DataParts {
    /// Every part.
    pub const ALL: DataParts = DataParts {
        report: true,
        report_reply: true,
        property_set: true,
        desired: true,
        commands: true,
        events: true,
        time: true,
    };
}

/// A cloud's data-model message formats, offered by a provider
/// ([`Provider::data`](crate::Provider::data)). Pure: the device sends and receives.
pub trait DataFormat {
    /// Which parts this cloud has.
    fn parts(&self) -> DataParts;

    /// The `index`-th topic to subscribe for property sets, commands, replies and time
    /// answers, built in `scratch`; `None` past the last. Subscribed on connect by a device
    /// with the data model enabled, and kept by the session.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError>;

    /// The message for `up`, topic and payload built in `scratch`. A part the cloud lacks
    /// is [`DataError::Unsupported`].
    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError>;

    /// What the message on `topic` is, for the data model.
    fn read<'a>(&self, topic: &'a str, payload: &'a [u8]) -> Down<'a>;
}

/// The data formats of a provider whose cloud has no data model (plain MQTT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoData {}

impl DataFormat for NoData {
    fn parts(&self) -> DataParts {
        match *self {}
    }

    fn subscription<'s>(
        &self,
        _: usize,
        _: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        match *self {}
    }

    fn write<'s>(
        &self,
        _: &Up<'_>,
        _: &DataContext,
        _: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        match *self {}
    }

    fn read<'a>(&self, _: &'a str, _: &'a [u8]) -> Down<'a> {
        match *self {}
    }
}

/// Helpers for reading a cloud's messages, for providers.
pub mod read {
    use super::{DataError, Down};
    use crate::json::{Kind, Value};

    /// `payload` as a JSON object, or [`Down::Invalid`] naming `what`.
    pub fn object(payload: &[u8]) -> Result<Value<'_>, DataError> {
        match Value::parse(payload) {
            Ok(v) if v.kind() == Kind::Object => Ok(v),
            _ => Err(DataError::Malformed("JSON object")),
        }
    }

    /// The string member `key` of `v`, unescaped-free (plain), or malformed naming `key`.
    pub fn plain_str<'a>(v: &Value<'a>, key: &'static str) -> Result<&'a str, DataError> {
        v.get(key)
            .and_then(|s| s.as_plain_str())
            .ok_or(DataError::Malformed(key))
    }

    /// The member `key` of `v` as a string or a number's digits (clouds send ids both
    /// ways), or malformed naming `key`.
    pub fn id<'a>(v: &Value<'a>, key: &'static str) -> Result<&'a str, DataError> {
        let value = v.get(key).ok_or(DataError::Malformed(key))?;
        match value.kind() {
            Kind::String => value.as_plain_str().ok_or(DataError::Malformed(key)),
            Kind::Number => {
                core::str::from_utf8(value.raw()).map_err(|_| DataError::Malformed(key))
            }
            _ => Err(DataError::Malformed(key)),
        }
    }

    /// A number, or a string holding one (`"200"`), as the number's [`Value`].
    fn number<'a>(v: &Value<'a>, key: &'static str) -> Result<Value<'a>, DataError> {
        let value = v.get(key).ok_or(DataError::Malformed(key))?;
        let number = match value.as_plain_str() {
            // The JSON reader reads the digits: no second number parser is linked.
            Some(text) => Value::parse(text.as_bytes()).ok(),
            None => Some(value),
        };
        number
            .filter(|n| n.kind() == Kind::Number)
            .ok_or(DataError::Malformed(key))
    }

    /// The member `key` of `v` as an integer (a number or a string of digits).
    pub fn int(v: &Value<'_>, key: &'static str) -> Result<i64, DataError> {
        number(v, key)?.as_i64().ok_or(DataError::Malformed(key))
    }

    /// The member `key` of `v` as a non-negative integer (a number or a string of
    /// digits): timestamps.
    pub fn uint(v: &Value<'_>, key: &'static str) -> Result<u64, DataError> {
        number(v, key)?.as_u64().ok_or(DataError::Malformed(key))
    }

    /// The object member `key` of `v`; an absent one reads as `{}`.
    pub fn params<'a>(v: &Value<'a>, key: &'static str) -> Result<Value<'a>, DataError> {
        match v.get(key) {
            Some(p) if p.kind() == Kind::Object => Ok(p),
            Some(_) => Err(DataError::Malformed(key)),
            None => Ok(Value::EMPTY_OBJECT),
        }
    }

    /// The device's own message id in a reply (`"17"` or `17`), or malformed.
    pub fn own_id(v: &Value<'_>, key: &'static str) -> Result<u32, DataError> {
        uint(v, key)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(DataError::Malformed(key))
    }

    /// `result` as a [`Down`]: an error becomes [`Down::Invalid`].
    pub fn down(result: Result<Down<'_>, DataError>) -> Down<'_> {
        result.unwrap_or_else(Down::Invalid)
    }
}

#[cfg(test)]
mod tests;
