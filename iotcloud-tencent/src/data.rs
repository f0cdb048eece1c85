//! Tencent IoT Explorer's data template ("thing model"): see the documentation of the
//! [`DataFormat`] implementation on [`Tencent`].

use iotcloud_core::data::{
    self, Command, DataContext, DataError, DataFormat, DataParts, Down, Outcome, Properties,
    PropertyOrigin, Reply, RequestKind, ServerTime, TimeAnswer, Up, read,
};
use iotcloud_core::json::Value;
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::provider::{ProviderError, Publication, subscription};
use iotcloud_core::scratch::Scratch;

use crate::Tencent;

/// The data template's success code.
const SUCCESS_CODE: i64 = 0;

/// The `type` every event is posted with (Tencent's SDK knows `info`, `alert` and `fault`).
const EVENT_TYPE: &str = "info";

/// The downlink topics a data message can come on.
#[derive(Clone, Copy)]
enum Downlink {
    Property,
    Action,
    Event,
    Operation,
}

/// The cloud's reply to one of the device's messages, `clientToken` its id.
fn reply<'a>(v: &Value<'a>) -> Result<Down<'a>, DataError> {
    let code = read::int(v, "code")?;
    Ok(Down::Reply(Reply {
        id: read::own_id(v, "clientToken")?,
        code,
        success: code == SUCCESS_CODE,
        message: v.get("status"),
    }))
}

impl Tencent<'_> {
    /// Which data downlink `topic` is, if any.
    fn downlink(&self, topic: &str) -> Option<Downlink> {
        [
            (self.property_down(), Downlink::Property),
            (self.action_down(), Downlink::Action),
            (self.event_down(), Downlink::Event),
            (self.sys_operation_result(), Downlink::Operation),
        ]
        .into_iter()
        .find(|(path, _)| path.is(topic))
        .map(|(_, which)| which)
    }

    /// The data message `payload` that came on `downlink`.
    fn read_downlink<'a>(
        &self,
        downlink: Downlink,
        payload: &'a [u8],
    ) -> Result<Down<'a>, DataError> {
        let v = read::object(payload)?;
        if let Downlink::Operation = downlink {
            return time_answer(&v);
        }
        let method = read::plain_str(&v, "method")?;
        Ok(match (downlink, method) {
            (Downlink::Property, "control") => Down::Properties(Properties::new(
                PropertyOrigin::Set,
                read::id(&v, "clientToken")?,
                read::params(&v, "params")?,
                false,
            )?),
            (Downlink::Property, "report_reply") | (Downlink::Event, "event_reply") => reply(&v)?,
            (Downlink::Property, "get_status_reply") => {
                if read::int(&v, "code")? != SUCCESS_CODE {
                    return reply(&v);
                }
                let status = read::params(&v, "data")?;
                Down::Properties(Properties::new(
                    PropertyOrigin::Desired,
                    read::id(&v, "clientToken")?,
                    read::params(&status, "control")?,
                    false,
                )?)
            }
            (Downlink::Action, "action") => Down::Command(Command::new(
                read::id(&v, "clientToken")?,
                read::plain_str(&v, "actionId")?,
                None,
                read::params(&v, "params")?,
            )?),
            // `clear_control_reply`, `report_info_reply` and the like.
            _ => Down::NotData,
        })
    }
}

/// The answer to `{"type":"get","resource":["time"]}`: the server's receive and send
/// times (`ntptime1`, `ntptime2`, milliseconds) where given, else `time` in seconds.
/// Other operation results are not data.
fn time_answer<'a>(v: &Value<'a>) -> Result<Down<'a>, DataError> {
    if !v.get("type").is_some_and(|t| t.eq_str("get")) {
        return Ok(Down::NotData);
    }
    let server = if v.get("ntptime1").is_some() && v.get("ntptime2").is_some() {
        ServerTime::Exchange {
            received_ms: read::uint(v, "ntptime1")?,
            sent_ms: read::uint(v, "ntptime2")?,
        }
    } else {
        ServerTime::Seconds(read::uint(v, "time")?)
    };
    Ok(Down::Time(TimeAnswer {
        device_sent: None,
        server,
    }))
}

/// The data template ("thing model") of Tencent IoT Explorer (clouds-official §2.5, §2.6):
/// every message is `{"method":"…","clientToken":"…",…}`, the `method` telling the
/// messages on one topic apart.
///
/// | part | ↑ device | ↓ cloud |
/// |---|---|---|
/// | report | `report` on `$thing/up/property/{pid}/{dn}` | `report_reply` |
/// | property set | `control_reply` | `control` on `$thing/down/property/…` |
/// | desired values | `get_status` | `get_status_reply`, pending values in `data.control` |
/// | command | `action_reply` on `$thing/up/action/…` | `action` on `$thing/down/action/…` |
/// | event | `event_post` on `$thing/up/event/…` | `event_reply` on `$thing/down/event/…` |
/// | time | `{"type":"get","resource":["time"]}` on `$sys/operation/…` | `$sys/operation/result/…` |
///
/// The `clientToken` of the device's own messages is the message id in decimal. Events are
/// posted with `type` `info`. The device does not send `clear_control` after applying
/// desired values: the application's next report carries them. Whether the cloud then
/// hands out the same `data.control` again on the next `get_status` is UNCONFIRMED.
impl DataFormat for Tencent<'_> {
    /// Every part; the cloud replies to every report and event.
    fn parts(&self) -> DataParts {
        DataParts::ALL
    }

    /// `$thing/down/property`, `$thing/down/action`, `$thing/down/event` and
    /// `$sys/operation/result`, each `/{pid}/{dn}`, at QoS 1.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        let topic = match index {
            0 => self.property_down(),
            1 => self.action_down(),
            2 => self.event_down(),
            3 => self.sys_operation_result(),
            _ => return Ok(None),
        };
        subscription(scratch, "device_name", topic, QoS::AtLeastOnce).map(Some)
    }

    /// QoS 1, except the time request (QoS 0).
    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        let id = ctx.message_id;
        let qos = QoS::AtLeastOnce;
        match *up {
            Up::Report(fields) => data::message(scratch, self.property_up(), qos, |o| {
                o.fmt(format_args!(
                    "{{\"method\":\"report\",\"clientToken\":\"{id}\",\"params\":"
                ))?;
                o.object(fields)?;
                o.raw("}")
            }),
            Up::Event { name, params } => {
                if name.is_empty() {
                    return Err(DataError::InvalidName);
                }
                data::message(scratch, self.event_up(), qos, |o| {
                    o.fmt(format_args!(
                        "{{\"method\":\"event_post\",\"clientToken\":\"{id}\",\"eventId\":"
                    ))?;
                    o.string(name)?;
                    o.fmt(format_args!(",\"type\":\"{EVENT_TYPE}\",\"params\":"))?;
                    o.object(params)?;
                    o.raw("}")
                })
            }
            Up::Answer { request, outcome } => {
                let command = request.kind() == RequestKind::Command;
                let (topic, method) = if command {
                    (self.action_up(), "action_reply")
                } else {
                    (self.property_up(), "control_reply")
                };
                data::message(scratch, topic, qos, |o| {
                    o.fmt(format_args!("{{\"method\":\"{method}\",\"clientToken\":"))?;
                    o.string(request.id())?;
                    let output = match outcome {
                        Outcome::Success { output } => {
                            o.fmt(format_args!(
                                ",\"code\":{SUCCESS_CODE},\"status\":\"success\""
                            ))?;
                            output
                        }
                        Outcome::Failure { code, message } => {
                            o.fmt(format_args!(",\"code\":{code},\"status\":"))?;
                            o.string(message)?;
                            &[]
                        }
                    };
                    if command {
                        o.raw(",\"response\":")?;
                        o.object(output)?;
                    }
                    o.raw("}")
                })
            }
            Up::GetDesired => data::message(scratch, self.property_up(), qos, |o| {
                o.fmt(format_args!(
                    "{{\"method\":\"get_status\",\"clientToken\":\"{id}\"}}"
                ))
            }),
            Up::TimeRequest { .. } => {
                data::message(scratch, self.sys_operation(), QoS::AtMostOnce, |o| {
                    o.raw("{\"type\":\"get\",\"resource\":[\"time\"]}")
                })
            }
        }
    }

    fn read<'a>(&self, topic: &'a str, payload: &'a [u8]) -> Down<'a> {
        match self.downlink(topic) {
            Some(downlink) => read::down(self.read_downlink(downlink, payload)),
            None => Down::NotData,
        }
    }
}

#[cfg(test)]
mod tests;
