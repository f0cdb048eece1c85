//! A data-model round through mosquitto: a cloud-side client plays the cloud with the
//! exact topics and payloads a test gives it, and everything the device published and
//! every event it reported come back for the test to check byte for byte.

use std::time::Duration;

use hal_host::{HostPlatform, SystemClock};
use iotcloud_core::data::{Field, Outcome, PropertyOrigin, Request};
use iotcloud_core::device::{DataOptions, TimeSync};
use iotcloud_core::json::Value;
use iotcloud_core::{Connected, Device, Event, Provider, QoS};

use crate::{Broker, HostDevice, connect, leak, memory, next, subscribe};

/// A cloud's answer to something the device published: `(topic, payload)` of the device's
/// message in, `(topic, payload)` of the cloud's out.
pub type Answer = Box<dyn Fn(&str, &str) -> (String, String)>;

/// The cloud's side of a round.
pub struct DataCloud {
    /// Uplink filters the cloud watches (everything the device publishes must match one).
    /// What the cloud itself sends is left out of what it receives, so the filters may
    /// cover downlinks too.
    pub watch: Vec<String>,
    /// A property set the cloud sends: topic and payload.
    pub set: Option<(String, String)>,
    /// A command the cloud sends.
    pub command: Option<(String, String)>,
    /// The cloud's reply to a property report, where it replies.
    pub report_reply: Option<Answer>,
    /// The cloud's reply to an event, where it replies.
    pub event_reply: Option<Answer>,
    /// The cloud's answer to the desired-values fetch.
    pub desired: Option<Answer>,
    /// The cloud's answer to the time request.
    pub time: Option<Answer>,
}

/// What a data round saw.
#[derive(Debug, Default)]
pub struct DataRound {
    /// Everything the device published, in order, as the cloud received it.
    pub published: Vec<(String, String)>,
    /// The device's data events, in order.
    pub events: Vec<DataEv>,
    /// Why the event post was refused, for a cloud without events (the error's `Debug`).
    pub event_refused: Option<String>,
}

impl DataRound {
    /// [`DataRound::published`] as borrowed topic and payload pairs, to compare with a table.
    pub fn published(&self) -> Vec<(&str, &str)> {
        self.published
            .iter()
            .map(|(t, p)| (t.as_str(), p.as_str()))
            .collect()
    }
}

/// An owned copy of a data-model event.
#[derive(Debug, Clone, PartialEq)]
pub enum DataEv {
    /// Properties: set or desired, the id, and name=value pairs (values as JSON text).
    Properties(PropertyOrigin, String, Vec<(String, String)>),
    /// A command: id, name, service, parameters as JSON text.
    Command(String, String, Option<String>, String),
    /// A reply: the device's id, the cloud's code, success.
    Reply(u32, i64, bool),
    /// The time was learned (and how far the host's clock was off, ms; absent without one).
    TimeSynced {
        /// Whether the host's clock knew the time, so an offset could be computed.
        offset_known: bool,
    },
    /// A data message refused, as the error's `Debug` text.
    Rejected(String),
    /// A plain message (not data) on this topic: on a plain broker, the device's own
    /// publications come back where its data subscriptions cover them (a cloud does not
    /// send them back).
    Plain(String),
}

fn text(v: Value<'_>) -> String {
    String::from_utf8_lossy(v.raw()).into_owned()
}

/// Runs the device until it has been quiet for `quiet_ms`, answering every property set
/// with success and every command with the output `{"result":"done"}`.
async fn pump<P: Provider>(
    dev: &mut HostDevice<P, Connected>,
    events: &mut Vec<DataEv>,
    quiet_ms: u64,
) {
    loop {
        let Ok(event) =
            tokio::time::timeout(Duration::from_millis(quiet_ms), dev.next_event()).await
        else {
            return;
        };
        let mut answer: Option<(Request, bool)> = None;
        match event.expect("device event") {
            Event::Properties(p) => {
                let values = p.iter().map(|(n, v)| (text(n), text(v))).collect();
                events.push(DataEv::Properties(p.origin(), p.id().into(), values));
                if p.origin() == PropertyOrigin::Set {
                    answer = Some((p.request(), false));
                }
            }
            Event::Command(c) => {
                events.push(DataEv::Command(
                    c.id().into(),
                    c.name().into(),
                    c.service().map(Into::into),
                    text(c.params()),
                ));
                answer = Some((c.request(), true));
            }
            Event::Reply(r) => events.push(DataEv::Reply(r.id, r.code, r.success)),
            Event::TimeSynced(t) => events.push(DataEv::TimeSynced {
                offset_known: t.offset_ms.is_some(),
            }),
            Event::DataRejected(e) => events.push(DataEv::Rejected(format!("{e:?}"))),
            Event::Message(m) => events.push(DataEv::Plain(m.topic().into())),
            Event::Disconnected(r) => panic!("disconnected: {r}"),
            _ => {}
        }
        if let Some((request, command)) = answer {
            let output: &[Field<'_>] = &[("result", &"done")];
            let outcome = if command {
                Outcome::with_output(output)
            } else {
                Outcome::success()
            };
            dev.answer(&request, outcome).await.unwrap();
        }
    }
}

/// Messages the cloud receives until `quiet_ms` pass without one.
async fn receive<P: Provider>(
    cloud: &mut HostDevice<P, Connected>,
    quiet_ms: u64,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(ev) = next(cloud, quiet_ms).await {
        if let crate::Ev::Message { topic, payload, .. } = ev {
            out.push((topic, String::from_utf8_lossy(&payload).into_owned()));
        }
    }
    out
}

/// One round through `broker`: the device (`provider`, pointed at the broker, its host
/// clock without wall time when `clockless`) connects with the data model, which fetches
/// the desired values and asks for the time; the cloud answers those, sends its property
/// set and command (which the device answers), the device reports
/// `{"temp":21.5,"on":true}` and posts event `alarm` `{"level":2}` (refused by name where
/// the cloud has no events: [`DataRound::event_refused`]), and the cloud replies where it
/// does.
pub async fn data_round<P: Provider>(
    broker: &Broker,
    provider: P,
    cloud: DataCloud,
    clockless: bool,
) -> DataRound {
    let cloud_id = leak(format!("data-cloud-{}", broker.port));
    let mut cloud_dev = connect(
        crate::provider(broker.port, cloud_id),
        memory(4096, 1024, 4096),
    )
    .await;
    for filter in &cloud.watch {
        subscribe(&mut cloud_dev, filter, QoS::AtLeastOnce).await;
    }

    let clock = if clockless {
        SystemClock::without_wall_time()
    } else {
        SystemClock::new()
    };
    let options = DataOptions {
        desired_on_connect: true,
        time_sync: TimeSync::EveryConnect,
    };
    let dev = Device::new(
        provider,
        HostPlatform::new().with_clock(clock),
        memory(4096, 2048, 8192),
    )
    .with_data(options)
    .register()
    .await
    .unwrap();
    let mut dev = dev.connect().await.unwrap();
    let mut round = DataRound::default();
    let mut sent: Vec<(String, String)> = Vec::new();

    // On connect: the desired-values fetch and the time request, answered.
    pump(&mut dev, &mut round.events, 300).await;
    let first = receive(&mut cloud_dev, 300).await;
    answer_all(
        &mut cloud_dev,
        &[&cloud.desired, &cloud.time],
        &first,
        &mut sent,
    )
    .await;
    round.published.extend(first);
    pump(&mut dev, &mut round.events, 300).await;

    // The cloud's requests, answered by the device.
    for (topic, payload) in [&cloud.set, &cloud.command].into_iter().flatten() {
        cloud_dev
            .publish(topic, payload.as_bytes(), QoS::AtLeastOnce)
            .await
            .unwrap();
        sent.push((topic.clone(), payload.clone()));
    }
    pump(&mut dev, &mut round.events, 300).await;
    round.published.extend(receive(&mut cloud_dev, 300).await);

    // The device's report and event, replied to.
    dev.report(&[("temp", &21.5), ("on", &true)]).await.unwrap();
    let events = dev.data_parts().unwrap().events;
    match dev.event("alarm", &[("level", &2u8)]).await {
        Ok(_) if events => {}
        Err(iotcloud_core::Error::Data(e)) if !events => {
            round.event_refused = Some(format!("{e:?}"));
        }
        other => panic!("the event post: {other:?}"),
    }
    let last = receive(&mut cloud_dev, 300).await;
    let replies = [&cloud.report_reply, &cloud.event_reply];
    answer_all(&mut cloud_dev, &replies, &last, &mut sent).await;
    round.published.extend(last);
    pump(&mut dev, &mut round.events, 300).await;
    round.published.extend(receive(&mut cloud_dev, 300).await);
    round.published.retain(|m| !sent.contains(m));
    round
}

/// Publishes what each of `answers` says to each message of `received`, noting it in `sent`.
async fn answer_all<P: Provider>(
    cloud: &mut HostDevice<P, Connected>,
    answers: &[&Option<Answer>],
    received: &[(String, String)],
    sent: &mut Vec<(String, String)>,
) {
    for (topic, payload) in received {
        for answer in answers.iter().copied().flatten() {
            let (t, p) = answer(topic, payload);
            if !t.is_empty() {
                cloud
                    .publish(&t, p.as_bytes(), QoS::AtLeastOnce)
                    .await
                    .unwrap();
                sent.push((t, p));
            }
        }
    }
}

/// The member `key` of the JSON object `payload` (found at any depth, first match), as a
/// number or a string of digits: for answers that echo what the device sent.
pub fn number_in(payload: &str, key: &str) -> Option<u64> {
    fn find(v: Value<'_>, key: &str) -> Option<u64> {
        if let Some(found) = v.get(key) {
            return found.as_u64_lenient();
        }
        v.members()
            .map(|(_, m)| m)
            .chain(v.elements())
            .find_map(|m| find(m, key))
    }
    find(Value::parse(payload.as_bytes()).ok()?, key)
}

/// An [`Answer`] to messages on `request`: the cloud publishes `answer(payload)` on
/// `reply`. Messages on other topics get none.
pub fn on(request: &str, reply: &str, answer: impl Fn(&str) -> String + 'static) -> Answer {
    let (request, reply) = (request.to_string(), reply.to_string());
    Box::new(move |t, p| {
        if t == request {
            (reply.clone(), answer(p))
        } else {
            (String::new(), String::new())
        }
    })
}

/// The name and raw JSON value of each property, as owned strings (for assertions on a
/// provider's `DataFormat::read`).
pub fn pairs(p: &iotcloud_core::data::Properties<'_>) -> Vec<(String, String)> {
    p.iter()
        .map(|(n, v)| {
            let value = core::str::from_utf8(v.raw()).unwrap();
            (n.as_plain_str().unwrap().into(), value.into())
        })
        .collect()
}

/// The error of a downlink a provider refused to read; panics if it read it.
pub fn invalid(down: iotcloud_core::data::Down<'_>) -> iotcloud_core::data::DataError {
    match down {
        iotcloud_core::data::Down::Invalid(e) => e,
        other => panic!("not invalid: {other:?}"),
    }
}
