//! The thing model of the new OneNET platform (OneJSON), on `$sys/{pid}/{dn}/thing/…`.
//!
//! | part | ↑ device | ↓ cloud |
//! |---|---|---|
//! | report | `property/post` | `property/post/reply` → [`Down::Reply`] |
//! | set | `property/set_reply` | `property/set` → [`Down::Properties`] |
//! | desired | `property/desired/get` | `property/desired/get/reply` → [`Down::Properties`] |
//! | command | `service/{identifier}/invoke_reply` | `service/{identifier}/invoke` → [`Down::Command`] |
//! | event | `event/post` | `event/post/reply` → [`Down::Reply`] |
//!
//! Requests are `{"id":"N","version":"1.0","params":…}` with the decimal message id;
//! answers are `{"id":…,"code":200,"msg":"success"}` (a command's adds `"data"`, its output
//! parameters). Reported values and events carry no `time`: they are sent when they are
//! made, so OneNET's receive time is as good, and cannot be wrong because of the device's
//! clock. The cloud's property read (`property/get`) is not part of the data model yet: it
//! reaches the application as a plain message.

use iotcloud_core::data::{
    self, Command, DataContext, DataError, DataFormat, DataParts, Down, Field, JsonOut, Object,
    Outcome, Properties, PropertyOrigin, Reply, RequestKind, ToJson, Up, read,
};
use iotcloud_core::json::Value;
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::provider::{ProviderError, Publication, subscription};
use iotcloud_core::scratch::Scratch;

use crate::OneNet;

/// OneNET's `code` for success, in replies and answers.
pub const SUCCESS_CODE: i64 = 200;

/// Why a time request is refused ([`DataError::Unsupported`]).
pub const TIME_UNSUPPORTED: &str = "OneNET documents no MQTT time service";

/// What a thing-model downlink is, told by its topic.
enum Downlink<'t> {
    /// The reply to a report or an event.
    Reply,
    /// A property set.
    Set,
    /// The reply to a desired-values request.
    Desired,
    /// A service call, with its identifier.
    Invoke(&'t str),
}

impl<'a> OneNet<'a> {
    /// `$sys/{pid}/{dn}/thing/` followed by `tail`, built in `s`.
    fn thing_topic<'s>(&self, s: &mut Scratch<'s>, tail: &[&str]) -> Result<&'s str, DataError> {
        let head = ["$sys/", self.product_id, "/", self.device_name, "/thing/"];
        Ok(s.text(|w| {
            w.write_all(&head)?;
            w.write_all(tail)
        })?)
    }

    /// What follows `$sys/{pid}/{dn}/thing/` in `topic`, if it is this device's.
    fn thing_rest<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic
            .strip_prefix("$sys/")?
            .strip_prefix(self.product_id)?
            .strip_prefix('/')?
            .strip_prefix(self.device_name)?
            .strip_prefix("/thing/")
    }
}

/// `{"id":"N","version":"1.0","params":…}`, with `params` written by `params`.
fn request(
    o: &mut JsonOut<'_>,
    id: u32,
    params: impl FnOnce(&mut JsonOut<'_>) -> Result<(), DataError>,
) -> Result<(), DataError> {
    o.fmt(format_args!(
        "{{\"id\":\"{id}\",\"version\":\"1.0\",\"params\":"
    ))?;
    params(o)?;
    o.raw("}")
}

/// `{"name":{"value":…},…}`: each field wrapped the way reports and events carry them.
fn wrapped(o: &mut JsonOut<'_>, fields: &[Field<'_>]) -> Result<(), DataError> {
    o.raw("{")?;
    for (i, (name, value)) in fields.iter().enumerate() {
        if name.is_empty() {
            return Err(DataError::InvalidName);
        }
        if i > 0 {
            o.raw(",")?;
        }
        o.string(name)?;
        o.raw(":{\"value\":")?;
        value.write_json(o)?;
        o.raw("}")?;
    }
    o.raw("}")
}

/// The reply in `v`: its id must be one the device gave.
fn reply<'a>(v: &Value<'a>) -> Result<Reply<'a>, DataError> {
    let code = read::int(v, "code")?;
    Ok(Reply {
        id: read::own_id(v, "id")?,
        code,
        success: code == SUCCESS_CODE,
        message: v.get("msg"),
    })
}

/// OneJSON. Everything but the time service, which OneNET does not have.
impl DataFormat for OneNet<'_> {
    fn parts(&self) -> DataParts {
        DataParts {
            time: false,
            ..DataParts::ALL
        }
    }

    /// None while the system subscription ([`OneNet::with_thing_subscription`], on by
    /// default) covers `$sys/{pid}/{dn}/thing/#`; with it turned off, that filter at QoS 1,
    /// since every downlink of the data model is under it.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 || self.thing_subscription {
            return Ok(None);
        }
        let filter = self.thing_filter();
        Ok(Some(subscription(
            scratch,
            "device_name",
            filter,
            QoS::AtLeastOnce,
        )?))
    }

    /// Reports, events, answers and the desired-values request at QoS 1. The
    /// desired-values request names the properties given to
    /// [`OneNet::with_desired_properties`]; a time request is
    /// [`DataError::Unsupported`] ([`TIME_UNSUPPORTED`]).
    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        s: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        let id = ctx.message_id;
        let (topic, payload) = match *up {
            Up::Report(fields) => (
                self.thing_topic(s, &["property/post"])?,
                data::build(s, |o| request(o, id, |o| wrapped(o, fields)))?,
            ),
            Up::Event { name, params } => {
                data::check_topic_name(name)?;
                let event = [(name, &Object(params) as &dyn ToJson)];
                (
                    self.thing_topic(s, &["event/post"])?,
                    data::build(s, |o| request(o, id, |o| wrapped(o, &event)))?,
                )
            }
            Up::GetDesired => (
                self.thing_topic(s, &["property/desired/get"])?,
                data::build(s, |o| request(o, id, |o| self.desired_names.write_json(o)))?,
            ),
            Up::Answer { request, outcome } => {
                let command = request.kind() == RequestKind::Command;
                let topic = if command {
                    data::check_topic_name(request.name())?;
                    self.thing_topic(s, &["service/", request.name(), "/invoke_reply"])?
                } else {
                    self.thing_topic(s, &["property/set_reply"])?
                };
                let payload = data::build(s, |o| {
                    o.raw("{\"id\":")?;
                    o.string(request.id())?;
                    match outcome {
                        Outcome::Success { output } => {
                            o.fmt(format_args!(",\"code\":{SUCCESS_CODE},\"msg\":\"success\""))?;
                            if command {
                                o.raw(",\"data\":")?;
                                o.object(output)?;
                            }
                        }
                        Outcome::Failure { code, message } => {
                            o.fmt(format_args!(",\"code\":{code},\"msg\":"))?;
                            o.string(message)?;
                        }
                    }
                    o.raw("}")
                })?;
                (topic, payload)
            }
            Up::TimeRequest { .. } => return Err(DataError::Unsupported(TIME_UNSUPPORTED)),
        };
        Ok(Publication {
            topic,
            payload: payload.as_bytes(),
            qos: QoS::AtLeastOnce,
        })
    }

    /// Replies to reports and events, property sets, desired values (a desired-values
    /// reply whose code is not 200 is a [`Down::Reply`]) and service calls; any other
    /// topic, `property/get` included, is not data.
    fn read<'t>(&self, topic: &'t str, payload: &'t [u8]) -> Down<'t> {
        let Some(rest) = self.thing_rest(topic) else {
            return Down::NotData;
        };
        let kind = match rest {
            "property/post/reply" | "event/post/reply" => Downlink::Reply,
            "property/set" => Downlink::Set,
            "property/desired/get/reply" => Downlink::Desired,
            _ => match rest
                .strip_prefix("service/")
                .and_then(|r| r.strip_suffix("/invoke"))
            {
                Some(name) if !name.is_empty() && !name.contains('/') => Downlink::Invoke(name),
                _ => return Down::NotData,
            },
        };
        read::down(read::object(payload).and_then(|v| {
            Ok(match kind {
                Downlink::Reply => Down::Reply(reply(&v)?),
                Downlink::Set => Down::Properties(Properties::new(
                    PropertyOrigin::Set,
                    read::id(&v, "id")?,
                    read::params(&v, "params")?,
                    false,
                )?),
                Downlink::Desired => match reply(&v)? {
                    r if !r.success => Down::Reply(r),
                    _ => Down::Properties(Properties::new(
                        PropertyOrigin::Desired,
                        read::id(&v, "id")?,
                        read::params(&v, "data")?,
                        true,
                    )?),
                },
                Downlink::Invoke(name) => Down::Command(Command::new(
                    read::id(&v, "id")?,
                    name,
                    None,
                    read::params(&v, "params")?,
                )?),
            })
        }))
    }
}

#[cfg(test)]
mod tests;
