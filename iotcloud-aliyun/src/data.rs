//! The thing model in Alink JSON, as Aliyun documents it: property reports and sets,
//! services, events and desired values under `/sys/{pk}/{dn}/thing/…`, and time under
//! `/ext/ntp/{pk}/{dn}/…`.
//!
//! Services the product declares synchronous arrive over RRPC (`/ext/rrpc/{id}/…`), which
//! this format does not subscribe: declare services asynchronous to receive them here.

use iotcloud_core::data::{
    self, DataContext, DataError, DataFormat, DataParts, Down, JsonOut, Outcome, Properties,
    PropertyOrigin, Reply, RequestKind, ServerTime, TimeAnswer, ToJson as _, Up,
};
use iotcloud_core::json::Value;
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::provider::{ProviderError, Publication, TopicPath, subscription};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::Decimal;

use crate::Aliyun;

/// Aliyun's success code.
const OK: i64 = 200;

impl<'a> Aliyun<'a> {
    /// The properties whose desired values [`DataFormat`] fetches (Aliyun asks for them by
    /// name; with none, the fetch asks for an empty list, which returns nothing).
    pub fn with_desired(mut self, names: &'a [&'a str]) -> Self {
        self.desired = names;
        self
    }

    /// `/sys/{pk}/{dn}{tail}{suffix}`.
    fn thing(&self, tail: &'a str, suffix: &'a str) -> TopicPath<'a> {
        self.product_topic("/sys/", tail, suffix)
    }

    /// What follows `/sys/{pk}/{dn}/thing/` in `topic`, if it is this device's.
    fn thing_rest<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic
            .strip_prefix("/sys/")?
            .strip_prefix(self.product_key)?
            .strip_prefix('/')?
            .strip_prefix(self.device_name)?
            .strip_prefix("/thing/")
    }
}

/// `{"id":"N","version":"1.0","params":` … `,"method":"…"}` around `params`.
fn request(
    out: &mut JsonOut<'_>,
    id: u32,
    params: impl FnOnce(&mut JsonOut<'_>) -> Result<(), DataError>,
    method: &[&str],
) -> Result<(), DataError> {
    out.fmt(format_args!(
        "{{\"id\":\"{id}\",\"version\":\"1.0\",\"params\":"
    ))?;
    params(out)?;
    out.raw(",\"method\":\"")?;
    method.iter().try_for_each(|m| out.raw(m))?;
    out.raw("\"}")
}

impl DataFormat for Aliyun<'_> {
    fn parts(&self) -> DataParts {
        DataParts::ALL
    }

    /// Property sets, services, replies to posts, desired values and time answers: Aliyun
    /// delivers them only to a client that subscribes.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        let filter = match index {
            0 => self.property_set(),
            1 => self.thing("/thing/service/+", ""),
            2 => self.thing("/thing/event/+/post_reply", ""),
            3 => self.thing("/thing/property/desired/get_reply", ""),
            4 => self.ntp_response(),
            _ => return Ok(None),
        };
        subscription(scratch, "device_name", filter, QoS::AtLeastOnce).map(Some)
    }

    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        let id = ctx.message_id;
        let (topic, qos) = match *up {
            Up::Report(_) => (self.property_post(), QoS::AtLeastOnce),
            Up::Event { name, .. } => {
                data::check_topic_name(name)?;
                (self.thing("/thing/event/", name), QoS::AtLeastOnce)
            }
            Up::Answer { request, .. } => match request.kind() {
                RequestKind::PropertySet => (self.property_set_reply(), QoS::AtLeastOnce),
                RequestKind::Command => {
                    data::check_topic_name(request.name())?;
                    (
                        self.thing("/thing/service/", request.name()),
                        QoS::AtLeastOnce,
                    )
                }
            },
            Up::GetDesired => (
                self.thing("/thing/property/desired/get", ""),
                QoS::AtLeastOnce,
            ),
            Up::TimeRequest { .. } => (self.ntp_request(), QoS::AtMostOnce),
        };
        // Event posts and service replies end their topic after the name.
        let end = match *up {
            Up::Event { .. } => "/post",
            Up::Answer { request, .. } if request.kind() == RequestKind::Command => "_reply",
            _ => "",
        };
        let [a, b, c, d, e, f] = topic.0;
        let topic = scratch.concat(&[a, b, c, d, e, f, end])?;
        let payload = data::build(scratch, |out| match *up {
            Up::Report(values) => request(
                out,
                id,
                |o| o.object(values),
                &["thing.event.property.post"],
            ),
            Up::Event { name, params } => request(
                out,
                id,
                |o| {
                    o.raw("{\"value\":")?;
                    o.object(params)?;
                    if let Some(ms) = ctx.unix_time_ms {
                        o.fmt(format_args!(",\"time\":{}", Decimal::new(ms)))?;
                    }
                    o.raw("}")
                },
                &["thing.event.", name, ".post"],
            ),
            Up::Answer { request, outcome } => {
                out.raw("{\"id\":")?;
                out.string(request.id())?;
                match outcome {
                    Outcome::Success { output } => {
                        out.raw(",\"code\":200,\"data\":")?;
                        out.object(output)?;
                    }
                    Outcome::Failure { code, message } => {
                        out.fmt(format_args!(",\"code\":{code},\"data\":{{}},\"message\":"))?;
                        out.string(message)?;
                    }
                }
                out.raw("}")
            }
            Up::GetDesired => request(
                out,
                id,
                |o| self.desired.write_json(o),
                &["thing.property.desired.get"],
            ),
            Up::TimeRequest { device_ms } => out.fmt(format_args!(
                "{{\"deviceSendTime\":\"{}\"}}",
                Decimal::new(device_ms)
            )),
        })?;
        Ok(Publication {
            topic,
            payload: payload.as_bytes(),
            qos,
        })
    }

    fn read<'t>(&self, topic: &'t str, payload: &'t [u8]) -> Down<'t> {
        if self.ntp_response().is(topic) {
            return data::read::down(time_answer(payload));
        }
        let Some(rest) = self.thing_rest(topic) else {
            return Down::NotData;
        };
        data::read::down((|| {
            Ok(match rest {
                "service/property/set" => {
                    let v = data::read::object(payload)?;
                    Down::Properties(Properties::new(
                        PropertyOrigin::Set,
                        data::read::id(&v, "id")?,
                        data::read::params(&v, "params")?,
                        false,
                    )?)
                }
                "property/desired/get_reply" => {
                    let v = data::read::object(payload)?;
                    let code = data::read::int(&v, "code")?;
                    if code != OK {
                        return reply(&v);
                    }
                    Down::Properties(Properties::new(
                        PropertyOrigin::Desired,
                        data::read::id(&v, "id")?,
                        data::read::params(&v, "data")?,
                        true,
                    )?)
                }
                rest => match (rest.strip_prefix("service/"), rest.strip_prefix("event/")) {
                    (Some(name), _) if !name.contains('/') && !name.ends_with("_reply") => {
                        let v = data::read::object(payload)?;
                        Down::Command(data::Command::new(
                            data::read::id(&v, "id")?,
                            name,
                            None,
                            data::read::params(&v, "params")?,
                        )?)
                    }
                    (_, Some(event)) if event.ends_with("/post_reply") => {
                        reply(&data::read::object(payload)?)?
                    }
                    _ => Down::NotData,
                },
            })
        })())
    }
}

/// `{"id":"N","code":…,"message":…}` as a [`Reply`] to the device's message `N`.
fn reply<'t>(v: &Value<'t>) -> Result<Down<'t>, DataError> {
    let code = data::read::int(v, "code")?;
    Ok(Down::Reply(Reply {
        id: data::read::own_id(v, "id")?,
        code,
        success: code == OK,
        message: v.get("message"),
    }))
}

/// `{"deviceSendTime":…,"serverRecvTime":…,"serverSendTime":…}`, milliseconds as strings
/// or numbers.
fn time_answer(payload: &[u8]) -> Result<Down<'_>, DataError> {
    let v = data::read::object(payload)?;
    Ok(Down::Time(TimeAnswer {
        device_sent: Some(data::read::uint(&v, "deviceSendTime")?),
        server: ServerTime::Exchange {
            received_ms: data::read::uint(&v, "serverRecvTime")?,
            sent_ms: data::read::uint(&v, "serverSendTime")?,
        },
    }))
}

#[cfg(test)]
mod tests;
