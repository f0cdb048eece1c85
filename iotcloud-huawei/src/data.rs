//! IoTDA's product-model services, on `$oc/devices/{id}/sys/…`.
//!
//! | part | ↑ device | ↓ cloud |
//! |---|---|---|
//! | report | `properties/report` (no reply) | |
//! | set | `properties/set/response/request_id={rid}` | `properties/set/request_id={rid}` → [`Down::Properties`] |
//! | desired | `shadow/get/request_id={id}` | `shadow/get/response/request_id={id}` → [`Down::Properties`] |
//! | command | `commands/response/request_id={rid}` | `commands/request_id={rid}` → [`Down::Command`] |
//! | time | `events/up` (`$time_sync`) | `events/down` (`$time_sync`) → [`Down::Time`] |
//!
//! Request ids travel in the topic, not in the body: the cloud's are echoed in the answer's
//! topic, and the device's own (a shadow fetch) is its decimal message id. Reports carry
//! one service, the one given to [`Huawei::with_service_id`], and no `event_time`: IoTDA
//! stamps a report with its receive time, which is as good for a report sent when it is
//! made and cannot be wrong because of the device's clock. IoTDA has no custom events for
//! a device ([`EVENTS_UNSUPPORTED`]); the platform's property read (`properties/get`) is not
//! part of the data model yet and reaches the application as a plain message, as do the
//! events on `events/down` of other services (`$ota` is read by the OTA format).

use iotcloud_core::data::{
    self, Command, DataContext, DataError, DataFormat, DataParts, Down, JsonOut, Outcome,
    Properties, PropertyOrigin, RequestKind, ServerTime, TimeAnswer, Up, read,
};
use iotcloud_core::json::{Kind, Value};
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::provider::{ProviderError, Publication};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::Decimal;

use crate::{Huawei, TOPIC_PREFIX, request_id};

/// IoTDA's `result_code` for success.
pub const SUCCESS_CODE: i32 = 0;

/// The `service_id` of time-sync events.
pub const TIME_SERVICE: &str = "$time_sync";

/// Why an event is refused ([`DataError::Unsupported`]).
pub const EVENTS_UNSUPPORTED: &str = "IoTDA has no custom device events (its events \
    topic carries system services only): report the event as a property, or send a message \
    on sys/messages/up";

impl<'a> Huawei<'a> {
    /// `$oc/devices/{id}/sys/` followed by `tail`, built in `s`.
    fn sys_topic<'s>(&self, s: &mut Scratch<'s>, tail: &[&str]) -> Result<&'s str, DataError> {
        let [a, b, c] = self.device_id.0;
        Ok(s.text(|w| {
            w.write_all(&[TOPIC_PREFIX, a, b, c, "/sys/"])?;
            w.write_all(tail)
        })?)
    }

    /// What follows `$oc/devices/{id}/sys/` in `topic`, if it is this device's.
    fn sys_rest<'t>(&self, topic: &'t str) -> Option<&'t str> {
        let [a, b, c] = self.device_id.0;
        topic
            .strip_prefix(TOPIC_PREFIX)?
            .strip_prefix(a)?
            .strip_prefix(b)?
            .strip_prefix(c)?
            .strip_prefix("/sys/")
    }

    /// The element of the array `list` whose `service_id` is the configured service, else
    /// the first; `None` for an empty array, malformed naming `what` for anything else.
    fn service_in<'t>(
        &self,
        list: Option<Value<'t>>,
        what: &'static str,
    ) -> Result<Option<Value<'t>>, DataError> {
        let Some(list) = list.filter(|l| l.kind() == Kind::Array) else {
            return Err(DataError::Malformed(what));
        };
        let ours = self.service_id.and_then(|id| {
            list.elements()
                .find(|s| s.get("service_id").is_some_and(|v| v.eq_str(id)))
        });
        Ok(ours.or_else(|| list.at(0)))
    }
}

/// `{"result_code":N` and the failure's message under `key`, or success's
/// `{"result_code":0`: the start of an answer.
fn result(o: &mut JsonOut<'_>, outcome: &Outcome<'_>, key: &str) -> Result<(), DataError> {
    match outcome {
        Outcome::Success { .. } => o.fmt(format_args!("{{\"result_code\":{SUCCESS_CODE}")),
        Outcome::Failure { code, message } => {
            o.fmt(format_args!("{{\"result_code\":{code},\"{key}\":"))?;
            o.string(message)
        }
    }
}

/// `v` if it is an object, `{}` when absent or `null`, else malformed naming `key`.
fn object_or_empty<'t>(v: Option<Value<'t>>, key: &'static str) -> Result<Value<'t>, DataError> {
    match v.map(|v| (v.kind(), v)) {
        None | Some((Kind::Null, _)) => Ok(Value::EMPTY_OBJECT),
        Some((Kind::Object, v)) => Ok(v),
        Some(_) => Err(DataError::Malformed(key)),
    }
}

/// The string member `key` of `v`, if present; another type is malformed.
fn optional_str<'t>(v: &Value<'t>, key: &'static str) -> Result<Option<&'t str>, DataError> {
    v.get(key).map(|_| read::plain_str(v, key)).transpose()
}

/// The `$time_sync` answer on `events/down`, or not data: events of other services (`$ota`,
/// …) and payloads that are not JSON are someone else's.
fn time_answer(payload: &[u8]) -> Down<'_> {
    let Ok(doc) = Value::parse(payload) else {
        return Down::NotData;
    };
    let services = doc.get("services");
    let event = services.as_ref().and_then(|list| {
        list.elements()
            .find(|s| s.get("service_id").is_some_and(|v| v.eq_str(TIME_SERVICE)))
    });
    let Some(event) = event.filter(|e| {
        e.get("event_type")
            .is_some_and(|t| t.eq_str("time_sync_response"))
    }) else {
        return Down::NotData;
    };
    read::down((|| {
        let paras = event.get("paras").ok_or(DataError::Malformed("paras"))?;
        Ok(Down::Time(TimeAnswer {
            device_sent: Some(read::uint(&paras, "device_send_time")?),
            server: ServerTime::Exchange {
                received_ms: read::uint(&paras, "server_recv_time")?,
                sent_ms: read::uint(&paras, "server_send_time")?,
            },
        }))
    })())
}

/// IoTDA's services: reports (without reply), sets, commands, the shadow's desired values
/// and time sync; no events.
impl DataFormat for Huawei<'_> {
    fn parts(&self) -> DataParts {
        DataParts {
            report_reply: false,
            events: false,
            ..DataParts::ALL
        }
    }

    /// None: every downlink of the data model is under `$oc/devices/{id}/sys/`, which the
    /// system subscription covers ([`Huawei::with_sys_subscription`]); with it turned off
    /// IoTDA still delivers them, at QoS 0, as it does for OTA.
    fn subscription<'s>(
        &self,
        _index: usize,
        _scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        Ok(None)
    }

    /// Reports, answers and the shadow fetch at QoS 1, the time request at QoS 0. A report
    /// needs [`Huawei::with_service_id`]. A failed set is answered with its message in
    /// `result_desc`; a failed command, whose response documents no description, with it
    /// in `response_name` (a successful one carries its output in `paras`).
    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        s: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        let mut qos = QoS::AtLeastOnce;
        let (topic, payload) = match *up {
            Up::Report(fields) => {
                let service = self.service_id.ok_or(DataError::MissingKey("service_id"))?;
                (
                    self.sys_topic(s, &["properties/report"])?,
                    data::build(s, |o| {
                        o.raw("{\"services\":[{\"service_id\":")?;
                        o.string(service)?;
                        o.raw(",\"properties\":")?;
                        o.object(fields)?;
                        o.raw("}]}")
                    })?,
                )
            }
            Up::Event { .. } => return Err(DataError::Unsupported(EVENTS_UNSUPPORTED)),
            Up::Answer { request, outcome } => {
                data::check_topic_name(request.id())?;
                let (path, key) = match request.kind() {
                    RequestKind::PropertySet => {
                        ("properties/set/response/request_id=", "result_desc")
                    }
                    RequestKind::Command => ("commands/response/request_id=", "response_name"),
                };
                let topic = self.sys_topic(s, &[path, request.id()])?;
                let payload = data::build(s, |o| {
                    result(o, &outcome, key)?;
                    match outcome {
                        Outcome::Success { output } if request.kind() == RequestKind::Command => {
                            o.raw(",\"paras\":")?;
                            o.object(output)?;
                        }
                        Outcome::Success { .. } => o.raw(",\"result_desc\":\"success\"")?,
                        Outcome::Failure { .. } => {}
                    }
                    o.raw("}")
                })?;
                (topic, payload)
            }
            Up::GetDesired => {
                let id = ctx.message_id;
                (
                    s.text(|w| {
                        let [a, b, c] = self.device_id.0;
                        w.write_all(&[TOPIC_PREFIX, a, b, c, "/sys/shadow/get/request_id="])?;
                        core::fmt::Write::write_fmt(w, format_args!("{id}"))
                    })?,
                    data::build(s, |o| match self.service_id {
                        Some(service) => {
                            o.raw("{\"service_id\":")?;
                            o.string(service)?;
                            o.raw("}")
                        }
                        None => o.raw("{}"),
                    })?,
                )
            }
            Up::TimeRequest { device_ms } => {
                qos = QoS::AtMostOnce;
                (
                    self.sys_topic(s, &["events/up"])?,
                    data::build(s, |o| {
                        o.fmt(format_args!(
                            "{{\"services\":[{{\"service_id\":\"{TIME_SERVICE}\",\
                             \"event_type\":\"time_sync_request\",\
                             \"paras\":{{\"device_send_time\":{}}}}}]}}",
                            Decimal::new(device_ms)
                        ))
                    })?,
                )
            }
        };
        Ok(Publication {
            topic,
            payload: payload.as_bytes(),
            qos,
        })
    }

    /// Property sets and commands (their request id from the topic), the shadow's desired
    /// values (of the configured service's shadow, else the first; none is `{}`) and time
    /// answers; anything else is not data.
    fn read<'t>(&self, topic: &'t str, payload: &'t [u8]) -> Down<'t> {
        let Some(rest) = self.sys_rest(topic) else {
            return Down::NotData;
        };
        if rest == "events/down" {
            return time_answer(payload);
        }
        let Some((kind, _)) = rest.split_once("/request_id=") else {
            return Down::NotData;
        };
        if !matches!(kind, "properties/set" | "commands" | "shadow/get/response") {
            return Down::NotData;
        }
        read::down((|| {
            let rid = request_id(rest).ok_or(DataError::Malformed("request_id"))?;
            let v = read::object(payload)?;
            Ok(match kind {
                "properties/set" => {
                    let service = self
                        .service_in(v.get("services"), "services")?
                        .ok_or(DataError::Malformed("services"))?;
                    Down::Properties(Properties::new(
                        PropertyOrigin::Set,
                        rid,
                        read::params(&service, "properties")?,
                        false,
                    )?)
                }
                "commands" => Down::Command(Command::new(
                    rid,
                    optional_str(&v, "command_name")?.unwrap_or(""),
                    optional_str(&v, "service_id")?,
                    read::params(&v, "paras")?,
                )?),
                _ => {
                    let shadow = match v.get("shadow") {
                        Some(list) => self.service_in(Some(list), "shadow")?,
                        None => None,
                    };
                    let desired =
                        object_or_empty(shadow.and_then(|s| s.get("desired")), "desired")?;
                    Down::Properties(Properties::new(
                        PropertyOrigin::Desired,
                        rid,
                        object_or_empty(desired.get("properties"), "properties")?,
                        false,
                    )?)
                }
            })
        })())
    }
}

#[cfg(test)]
mod tests;
