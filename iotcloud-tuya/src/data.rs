//! TuyaLink's thing model: see the documentation of the [`DataFormat`] implementation on
//! [`Tuya`].

use core::fmt;

use iotcloud_core::data::{
    self, Command, DataContext, DataError, DataFormat, DataParts, Down, JsonOut, Outcome,
    Properties, PropertyOrigin, Reply, RequestKind, ServerTime, TimeAnswer, Up, read,
};
use iotcloud_core::json::{JsonStr, Kind, Value};
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::provider::{ProviderError, Publication, subscription};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::Decimal;

use crate::Tuya;

/// TuyaLink's success code (also what an absent `code` means).
const SUCCESS_CODE: i64 = 0;

/// `"sys":{"ack":1}`, which asks the cloud to reply.
const ACK: &str = ",\"sys\":{\"ack\":1}}";

/// The downlinks the data model reads, after `tylink/{id}/`.
const DOWNLINKS: [&str; 6] = [
    "thing/property/set",
    "thing/property/report_response",
    "thing/property/desired/get_response",
    "thing/action/execute",
    "thing/event/trigger_response",
    "ext/time/response",
];

/// `{"msgId":<id>` and, when known, `,"time":<ms>`: the opening of every message. `id` is
/// written as it formats (a quoted JSON string).
fn head(o: &mut JsonOut<'_>, id: &dyn fmt::Display, time: Option<u64>) -> Result<(), DataError> {
    o.fmt(format_args!("{{\"msgId\":{id}"))?;
    match time {
        Some(ms) => o.fmt(format_args!(",\"time\":{}", Decimal::new(ms))),
        None => Ok(()),
    }
}

/// The device's own message id, quoted.
struct OwnId(u32);

impl fmt::Display for OwnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// The `code` of a response: optional, absent meaning success.
fn code(v: &Value<'_>) -> Result<i64, DataError> {
    match v.get("code") {
        Some(_) => read::int(v, "code"),
        None => Ok(SUCCESS_CODE),
    }
}

/// The cloud's reply to one of the device's messages, `msgId` its id.
fn reply<'a>(v: &Value<'a>) -> Result<Down<'a>, DataError> {
    let code = code(v)?;
    Ok(Down::Reply(Reply {
        id: read::own_id(v, "msgId")?,
        code,
        success: code == SUCCESS_CODE,
        message: v.get("msg").or_else(|| v.get("message")),
    }))
}

/// The object member `data` of `v`, which must be there.
fn data_object<'a>(v: &Value<'a>) -> Result<Value<'a>, DataError> {
    match v.get("data") {
        Some(d) if d.kind() == Kind::Object => Ok(d),
        _ => Err(DataError::Malformed("data")),
    }
}

/// The message on downlink `suffix` (one of [`DOWNLINKS`]).
fn read_downlink<'a>(suffix: &str, payload: &'a [u8]) -> Result<Down<'a>, DataError> {
    let v = read::object(payload)?;
    Ok(match suffix {
        "thing/property/set" => Down::Properties(Properties::new(
            PropertyOrigin::Set,
            read::id(&v, "msgId")?,
            read::params(&v, "data")?,
            false,
        )?),
        "thing/property/desired/get_response" => {
            if code(&v)? != SUCCESS_CODE {
                return reply(&v);
            }
            Down::Properties(Properties::new(
                PropertyOrigin::Desired,
                read::id(&v, "msgId")?,
                read::params(&v, "data")?,
                true,
            )?)
        }
        "thing/action/execute" => {
            let call = data_object(&v)?;
            Down::Command(Command::new(
                read::id(&v, "msgId")?,
                read::plain_str(&call, "actionCode")?,
                None,
                read::params(&call, "inputParams")?,
            )?)
        }
        "ext/time/response" => {
            let time = data_object(&v)?;
            // Only `NTP` answers what the device asks; `DST` is not data.
            if !time.get("bizType").is_some_and(|b| b.eq_str("NTP")) {
                return Ok(Down::NotData);
            }
            Down::Time(TimeAnswer {
                device_sent: Some(read::uint(&time, "dst")?),
                server: ServerTime::Exchange {
                    received_ms: read::uint(&time, "srt")?,
                    sent_ms: read::uint(&time, "sst")?,
                },
            })
        }
        _ => reply(&v)?,
    })
}

/// `,"code":…` for `outcome`, with `"msg"` on failure; the output parameters of a success.
fn outcome<'o>(
    o: &mut JsonOut<'_>,
    outcome: Outcome<'o>,
) -> Result<&'o [data::Field<'o>], DataError> {
    match outcome {
        Outcome::Success { output } => {
            o.fmt(format_args!(",\"code\":{SUCCESS_CODE}"))?;
            Ok(output)
        }
        Outcome::Failure { code, message } => {
            o.fmt(format_args!(",\"code\":{code},\"msg\":"))?;
            o.string(message)?;
            Ok(&[])
        }
    }
}

/// TuyaLink's thing model (clouds-official §5.4, §5.5, §5.7): every message is
/// `{"msgId":"…","time":…,"data":…}` on a topic `tylink/{id}/…` that says what it is.
///
/// | part | ↑ device | ↓ cloud |
/// |---|---|---|
/// | report | `thing/property/report` | `thing/property/report_response` |
/// | property set | `thing/property/set_response` | `thing/property/set` |
/// | desired values | `thing/property/desired/get` | `thing/property/desired/get_response` |
/// | command | `thing/action/execute_response` | `thing/action/execute` |
/// | event | `thing/event/trigger` | `thing/event/trigger_response` |
/// | time | `ext/time/request` | `ext/time/response` |
///
/// - `msgId` of the device's own messages is the message id in decimal.
/// - `time` is the device's Unix time in milliseconds. Tuya documents it as required, but
///   a device that does not know the time yet leaves it out (as the OTA messages do) rather
///   than send a made-up one; the data model asks for the time on connect, so this only
///   concerns the first messages. The time request's `dst` is whatever clock the device
///   has (the answer echoes it); its `time`, like every message's, only the wall clock.
/// - Each reported value is `{"value":…,"time":…}`, as Tuya documents (without `time`
///   when the device does not know it); events carry `eventTime` alike.
/// - Reports, events and the desired-values fetch carry `"sys":{"ack":1}`, without which
///   Tuya does not reply to reports and events.
/// - A set is answered on `set_response` even though Tuya expects one only when the set
///   asked for it (`sys.ack`). A failure's message goes in `msg`, a member Tuya does not
///   document (UNCONFIRMED).
/// - The desired-values fetch asks with an empty list of property codes. Tuya's SDK
///   names the properties; what an empty list returns is UNCONFIRMED (meant: all). The
///   answer's values are read whether or not they are wrapped as `{"value":…}`.
impl DataFormat for Tuya<'_> {
    /// Every part; replies to reports and events because they ask for them.
    fn parts(&self) -> DataParts {
        DataParts::ALL
    }

    /// None with the auto-subscribe channel, which routes every downlink (the default);
    /// without it, each downlink the data model reads, at QoS 1.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        match DOWNLINKS.get(index) {
            Some(suffix) if !self.auto_subscribe => {
                subscription(scratch, "device_id", self.topic(suffix), QoS::AtLeastOnce).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// QoS 1, except the time request (QoS 0).
    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        let id = OwnId(ctx.message_id);
        let time = ctx.unix_time_ms;
        let qos = QoS::AtLeastOnce;
        match *up {
            Up::Report(fields) => data::message(scratch, self.property_report(), qos, |o| {
                head(o, &id, time)?;
                o.raw(",\"data\":{")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if name.is_empty() {
                        return Err(DataError::InvalidName);
                    }
                    o.raw(if i > 0 { "," } else { "" })?;
                    o.string(name)?;
                    o.raw(":{\"value\":")?;
                    value.write_json(o)?;
                    if let Some(ms) = time {
                        o.fmt(format_args!(",\"time\":{}", Decimal::new(ms)))?;
                    }
                    o.raw("}")?;
                }
                o.raw("}")?;
                o.raw(ACK)
            }),
            Up::Event { name, params } => {
                if name.is_empty() {
                    return Err(DataError::InvalidName);
                }
                data::message(scratch, self.event_trigger(), qos, |o| {
                    head(o, &id, time)?;
                    o.raw(",\"data\":{\"eventCode\":")?;
                    o.string(name)?;
                    if let Some(ms) = time {
                        o.fmt(format_args!(",\"eventTime\":{}", Decimal::new(ms)))?;
                    }
                    o.raw(",\"outputParams\":")?;
                    o.object(params)?;
                    o.raw("}")?;
                    o.raw(ACK)
                })
            }
            Up::Answer {
                request,
                outcome: result,
            } => {
                let command = request.kind() == RequestKind::Command;
                let topic = if command {
                    self.topic("thing/action/execute_response")
                } else {
                    self.topic("thing/property/set_response")
                };
                data::message(scratch, topic, qos, |o| {
                    head(o, &JsonStr(request.id()), time)?;
                    let output = outcome(o, result)?;
                    if command {
                        o.raw(",\"data\":{\"actionCode\":")?;
                        o.string(request.name())?;
                        o.raw(",\"outputParams\":")?;
                        o.object(output)?;
                        o.raw("}")?;
                    }
                    o.raw("}")
                })
            }
            Up::GetDesired => data::message(
                scratch,
                self.topic("thing/property/desired/get"),
                qos,
                |o| {
                    head(o, &id, time)?;
                    o.raw(",\"data\":[]")?;
                    o.raw(ACK)
                },
            ),
            Up::TimeRequest { device_ms } => data::message(
                scratch,
                self.topic("ext/time/request"),
                QoS::AtMostOnce,
                |o| {
                    // `time` is the wall clock, like every message's; `dst` is whatever
                    // clock the device has, which the answer echoes.
                    head(o, &id, ctx.unix_time_ms)?;
                    o.fmt(format_args!(
                        ",\"data\":{{\"bizType\":\"NTP\",\"dst\":{}}}}}",
                        Decimal::new(device_ms)
                    ))
                },
            ),
        }
    }

    fn read<'a>(&self, topic: &'a str, payload: &'a [u8]) -> Down<'a> {
        let suffix = topic
            .strip_prefix("tylink/")
            .and_then(|rest| rest.strip_prefix(self.device_id))
            .and_then(|rest| rest.strip_prefix('/'));
        match suffix {
            Some(suffix) if DOWNLINKS.contains(&suffix) => {
                read::down(read_downlink(suffix, payload))
            }
            _ => Down::NotData,
        }
    }
}

#[cfg(test)]
mod tests;
