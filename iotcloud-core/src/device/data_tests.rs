//! The data model on a device, against a toy cloud whose formats are easy to read: what
//! goes out on connect, how the cloud's messages become events, answers, replies, and the
//! time learned from the cloud signing the next connection.

use core::cell::Cell;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use super::*;
use crate::data::{
    self, DataContext, DataError, DataFormat, DataParts, Down, Field, Outcome, Properties,
    PropertyOrigin, Reply, ServerTime, TimeAnswer, Up,
};
use crate::mqtt::{QosPid, SubscribeTopic, TopicFilter};
use crate::platform::Composed;
use crate::provider::{Credentials, ProviderError, Publication, SignContext};
use crate::scratch::Scratch;
use crate::test_support::{MockTransport, TestClock, block_on, friendly_broker};
use crate::transport::Endpoint;

/// A cloud whose data topics are `toy/up/…` and `toy/down/…`, with ids in `"id"`.
#[derive(Default)]
struct Toy {
    /// The wall time each sign was given.
    signed_at: Rc<Cell<Option<Option<u64>>>>,
}

impl Provider for Toy {
    type Registration = crate::register::NoRegistration;
    type Ota = crate::ota::NoOta;
    type Data = Self;

    fn cloud(&self) -> &'static str {
        "toy"
    }
    fn endpoint<'a>(&'a self, _: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        Ok(Endpoint::tcp("toy.test", 1883))
    }
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        s: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        self.signed_at.set(Some(ctx.unix_time_ms));
        Ok(Credentials {
            client_id: s.copy("toy")?,
            username: None,
            password: None,
        })
    }
    fn data(&self) -> Result<&Self, &'static str> {
        Ok(self)
    }
}

impl DataFormat for Toy {
    fn parts(&self) -> DataParts {
        DataParts::ALL
    }

    fn subscription<'s>(
        &self,
        index: usize,
        s: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 {
            return Ok(None);
        }
        Ok(Some(SubscribeTopic {
            filter: TopicFilter::new(s.copy("toy/down/#")?).unwrap(),
            qos: QoS::AtLeastOnce,
        }))
    }

    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        s: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        let id = ctx.message_id;
        let (topic, payload) = match *up {
            Up::Report(fields) => (
                s.copy("toy/up/report")?,
                data::build(s, |o| {
                    o.fmt(format_args!("{{\"id\":\"{id}\",\"params\":"))?;
                    o.object(fields)?;
                    o.raw("}")
                })?,
            ),
            Up::Event { name, params } => {
                data::check_topic_name(name)?;
                (
                    s.concat(&["toy/up/event/", name])?,
                    data::build(s, |o| {
                        o.fmt(format_args!("{{\"id\":\"{id}\",\"params\":"))?;
                        o.object(params)?;
                        o.raw("}")
                    })?,
                )
            }
            Up::Answer { request, outcome } => (
                s.concat(&["toy/up/answer/", request.id()])?,
                data::build(s, |o| match outcome {
                    Outcome::Success { output } => {
                        o.raw("{\"code\":0,\"out\":")?;
                        o.object(output)?;
                        o.raw("}")
                    }
                    Outcome::Failure { code, message } => {
                        o.fmt(format_args!("{{\"code\":{code},\"msg\":"))?;
                        o.string(message)?;
                        o.raw("}")
                    }
                })?,
            ),
            Up::GetDesired => (
                s.copy("toy/up/desired")?,
                s.format(format_args!("{{\"id\":\"{id}\"}}"))?,
            ),
            Up::TimeRequest { device_ms } => (
                s.copy("toy/up/time")?,
                s.format(format_args!("{{\"dst\":{device_ms}}}"))?,
            ),
        };
        Ok(Publication {
            topic,
            payload: payload.as_bytes(),
            qos: if matches!(up, Up::TimeRequest { .. }) {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            },
        })
    }

    fn read<'a>(&self, topic: &'a str, payload: &'a [u8]) -> Down<'a> {
        let Some(rest) = topic.strip_prefix("toy/down/") else {
            return Down::NotData;
        };
        data::read::down((|| {
            let v = data::read::object(payload)?;
            Ok(match rest {
                "set" => Down::Properties(Properties::new(
                    PropertyOrigin::Set,
                    data::read::id(&v, "id")?,
                    data::read::params(&v, "params")?,
                    false,
                )?),
                "desired" => Down::Properties(Properties::new(
                    PropertyOrigin::Desired,
                    data::read::id(&v, "id")?,
                    data::read::params(&v, "data")?,
                    true,
                )?),
                "reply" => Down::Reply(Reply {
                    id: data::read::own_id(&v, "id")?,
                    code: data::read::int(&v, "code")?,
                    success: data::read::int(&v, "code")? == 0,
                    message: v.get("msg"),
                }),
                "time" => Down::Time(TimeAnswer {
                    device_sent: Some(data::read::uint(&v, "dst")?),
                    server: ServerTime::Exchange {
                        received_ms: data::read::uint(&v, "srt")?,
                        sent_ms: data::read::uint(&v, "sst")?,
                    },
                }),
                name => match name.strip_prefix("cmd/") {
                    Some(cmd) => Down::Command(data::Command::new(
                        data::read::id(&v, "id")?,
                        cmd,
                        None,
                        data::read::params(&v, "params")?,
                    )?),
                    None => Down::NotData,
                },
            })
        })())
    }
}

type ToyDevice<'b, St> = Device<'b, Toy, Composed<MockTransport, TestClock>, St>;

struct Rig {
    rx: [u8; 512],
    tx: [u8; 512],
    session: [u8; 1024],
}

impl Rig {
    fn device(
        &mut self,
        toy: Toy,
        t: &MockTransport,
        clock: &TestClock,
    ) -> ToyDevice<'_, Unregistered> {
        Device::new(
            toy,
            Composed::new(t.clone(), clock.clone()),
            Memory {
                rx: &mut self.rx,
                tx: &mut self.tx,
                session: &mut self.session,
                ..Memory::default()
            },
        )
    }
}

fn rig() -> Rig {
    Rig {
        rx: [0; 512],
        tx: [0; 512],
        session: [0; 1024],
    }
}

fn publish(t: &MockTransport, topic: &str, payload: &str) {
    t.push_packet(crate::mqtt::Packet::Publish(crate::mqtt::Publish {
        topic: crate::mqtt::TopicName::new(topic).unwrap(),
        qos: QosPid::AtMostOnce,
        dup: false,
        retain: false,
        payload: payload.as_bytes(),
    }));
}

/// The PUBLISH packets the device wrote since `from`, as (topic, payload).
fn published(t: &MockTransport, from: usize) -> Vec<(String, String)> {
    let s = t.state.borrow();
    s.frames()[from..]
        .iter()
        .filter_map(|f| match crate::mqtt::Packet::decode(f) {
            Ok(Some((crate::mqtt::Packet::Publish(p), _))) => Some((
                p.topic.as_str().into(),
                String::from_utf8(p.payload.to_vec()).unwrap(),
            )),
            _ => None,
        })
        .collect()
}

fn frames(t: &MockTransport) -> usize {
    t.state.borrow().frames().len()
}

#[test]
fn a_device_without_a_clock_fetches_desired_values_and_learns_the_time_on_connect() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    clock.now.set(5_000);
    let signed_at = Rc::new(Cell::new(None));
    let toy = Toy {
        signed_at: signed_at.clone(),
    };
    let mut rig = rig();
    let dev = rig
        .device(toy, &t, &clock)
        .with_data(DataOptions::default());
    let dev = block_on(dev.register()).unwrap();
    let mut dev = block_on(dev.connect()).unwrap();
    assert_eq!(signed_at.get(), Some(None), "no time to sign with yet");
    let packets = t.state.borrow().packets();
    assert!(packets[1].contains("toy/down/#"), "{packets:?}");
    assert_eq!(
        published(&t, 0),
        [
            ("toy/up/desired".into(), "{\"id\":\"1\"}".into()),
            ("toy/up/time".into(), "{\"dst\":5000}".into()),
        ]
    );
    assert_eq!(dev.unix_time_ms(), None);

    // The answer comes 40 ms later; the server took 10 ms between receiving and sending.
    clock.now.set(5_040);
    publish(
        &t,
        "toy/down/time",
        "{\"dst\":5000,\"srt\":1700000000100,\"sst\":1700000000110}",
    );
    let synced = loop {
        match block_on(dev.next_event()).unwrap() {
            Event::TimeSynced(s) => break s,
            Event::Connected { .. } | Event::Subscribed { .. } | Event::Published { .. } => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(synced.round_trip_ms, 40);
    assert_eq!(
        synced.unix_time_ms,
        (1_700_000_000_100 + 1_700_000_000_110 + 40) / 2
    );
    assert_eq!(synced.offset_ms, None);
    clock.now.set(6_040);
    assert_eq!(dev.unix_time_ms(), Some(synced.unix_time_ms + 1_000));

    // The same answer again answers nothing.
    publish(
        &t,
        "toy/down/time",
        "{\"dst\":5000,\"srt\":1700000000100,\"sst\":1700000000110}",
    );
    assert_eq!(
        block_on(dev.next_event()).unwrap(),
        Event::DataRejected(DataError::UnexpectedTime)
    );

    // The next connection signs with the learned time, and does not ask again.
    let dev = block_on(dev.disconnect());
    let before = frames(&t);
    let _dev = block_on(dev.connect()).unwrap();
    let elapsed = clock.now.get() - 5_040;
    assert_eq!(signed_at.get(), Some(Some(synced.unix_time_ms + elapsed)));
    let after: Vec<String> = published(&t, before).into_iter().map(|(t, _)| t).collect();
    assert_eq!(after, ["toy/up/desired"]);
}

#[test]
fn sets_commands_and_replies_become_events_and_answers_go_out_in_the_clouds_format() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    clock.unix_ms.set(Some(1_700_000_000_000));
    let mut rig = rig();
    let options = DataOptions {
        desired_on_connect: false,
        time_sync: TimeSync::WhenUnknown,
    };
    let dev = rig.device(Toy::default(), &t, &clock).with_data(options);
    let mut dev = block_on(block_on(dev.register()).unwrap().connect()).unwrap();
    assert_eq!(published(&t, 0), [], "the clock knows the time: no request");

    publish(
        &t,
        "toy/down/set",
        r#"{"id":"s-1","params":{"on":true,"level":3}}"#,
    );
    let request = loop {
        match block_on(dev.next_event()).unwrap() {
            Event::Properties(p) => {
                assert_eq!(p.origin(), PropertyOrigin::Set);
                assert_eq!(p.get("on").unwrap().as_bool(), Some(true));
                assert_eq!(p.get("level").unwrap().as_i64(), Some(3));
                break p.request();
            }
            Event::Connected { .. } | Event::Subscribed { .. } => {}
            other => panic!("{other:?}"),
        }
    };
    let from = frames(&t);
    block_on(dev.answer(&request, Outcome::success())).unwrap();
    assert_eq!(
        published(&t, from),
        [("toy/up/answer/s-1".into(), "{\"code\":0,\"out\":{}}".into())]
    );

    publish(
        &t,
        "toy/down/cmd/reboot",
        r#"{"id":"c-9","params":{"delay":5}}"#,
    );
    let request = loop {
        match block_on(dev.next_event()).unwrap() {
            Event::Command(c) => {
                assert_eq!(c.param("delay").unwrap().as_u64(), Some(5));
                break c.request();
            }
            Event::Published { .. } => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(request.name(), "reboot");
    let from = frames(&t);
    let output: &[Field<'_>] = &[("took_ms", &12u32)];
    block_on(dev.answer(&request, Outcome::with_output(output))).unwrap();
    block_on(dev.answer(&request, Outcome::failure(-2, "busy \"now\""))).unwrap();
    assert_eq!(
        published(&t, from),
        [
            (
                "toy/up/answer/c-9".into(),
                "{\"code\":0,\"out\":{\"took_ms\":12}}".into()
            ),
            (
                "toy/up/answer/c-9".into(),
                "{\"code\":-2,\"msg\":\"busy \\\"now\\\"\"}".into()
            ),
        ]
    );

    let from = frames(&t);
    let id = block_on(dev.report(&[("temp", &21.5), ("on", &true)])).unwrap();
    let ev = block_on(dev.event("alarm", &[("level", &2u8)])).unwrap();
    assert_ne!(id, ev);
    assert_eq!(
        published(&t, from),
        [
            (
                "toy/up/report".into(),
                std::format!("{{\"id\":\"{id}\",\"params\":{{\"temp\":21.5,\"on\":true}}}}")
            ),
            (
                "toy/up/event/alarm".into(),
                std::format!("{{\"id\":\"{ev}\",\"params\":{{\"level\":2}}}}")
            ),
        ]
    );
    publish(
        &t,
        "toy/down/reply",
        &std::format!("{{\"id\":\"{id}\",\"code\":0}}"),
    );
    let reply = loop {
        match block_on(dev.next_event()).unwrap() {
            Event::Reply(r) => break r,
            Event::Published { .. } => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!((reply.id, reply.code, reply.success), (id, 0, true));

    // Bad input: named errors, nothing sent.
    let from = frames(&t);
    assert!(matches!(
        block_on(dev.report(&[("temp", &f64::NAN)])),
        Err(Error::Data(DataError::NotFinite))
    ));
    assert!(matches!(
        block_on(dev.event("a/b", &[])),
        Err(Error::Data(DataError::InvalidName))
    ));
    let big = "x".repeat(600);
    assert!(matches!(
        block_on(dev.report(&[("blob", &big.as_str())])),
        Err(Error::Data(DataError::TooLarge { .. }))
    ));
    assert_eq!(published(&t, from), []);

    // A request whose id is too long to answer, and a malformed one, are named.
    let long = "i".repeat(65);
    publish(
        &t,
        "toy/down/set",
        &std::format!("{{\"id\":\"{long}\",\"params\":{{}}}}"),
    );
    publish(&t, "toy/down/set", "{\"params\":{}}");
    publish(&t, "toy/other", "plain");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match block_on(dev.next_event()).unwrap() {
            Event::DataRejected(e) => seen.push(std::format!("{e:?}")),
            Event::Message(m) => seen.push(String::from(m.topic())),
            Event::Published { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        seen,
        ["IdTooLong { len: 65 }", "Malformed(\"id\")", "toy/other"]
    );
}

#[test]
fn without_with_data_or_without_a_data_model_the_calls_are_refused_by_name() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = rig();
    let dev = rig.device(Toy::default(), &t, &clock);
    let mut dev = block_on(block_on(dev.register()).unwrap().connect()).unwrap();
    assert!(matches!(
        block_on(dev.report(&[("x", &1)])),
        Err(Error::Data(DataError::NotEnabled))
    ));
    // Not enabled: the cloud's data messages stay plain messages.
    publish(&t, "toy/down/set", r#"{"id":"1","params":{}}"#);
    loop {
        match block_on(dev.next_event()).unwrap() {
            Event::Message(m) => {
                assert_eq!(m.topic(), "toy/down/set");
                break;
            }
            Event::Connected { .. } => {}
            other => panic!("{other:?}"),
        }
    }

    let t = MockTransport::with_responder(friendly_broker);
    let (mut rx, mut tx, mut session) = ([0u8; 256], [0u8; 256], [0u8; 256]);
    let plain = crate::plain::PlainMqtt::new("broker.test", 1883, "dev").unwrap();
    let dev = Device::new(
        plain,
        Composed::new(t.clone(), clock.clone()),
        Memory {
            rx: &mut rx,
            tx: &mut tx,
            session: &mut session,
            ..Memory::default()
        },
    )
    .with_data(DataOptions::default());
    assert!(dev.data_parts().is_err());
    let mut dev = block_on(block_on(dev.register()).unwrap().connect()).unwrap();
    assert!(matches!(
        block_on(dev.report(&[("x", &1)])),
        Err(Error::Data(DataError::Unsupported(_)))
    ));
    assert!(matches!(
        block_on(dev.sync_time()),
        Err(Error::Data(DataError::Unsupported(_)))
    ));
}

#[test]
fn the_data_models_subscriptions_join_the_session_reserve() {
    let t = MockTransport::with_responder(friendly_broker);
    let clock = TestClock::default();
    let mut rig = rig();
    let dev = rig.device(Toy::default(), &t, &clock);
    // The toy has no system subscription: nothing is kept until the data model comes.
    assert_eq!(dev.session().reserve(), 0);
    let dev = dev.with_data(DataOptions::default());
    assert_eq!(
        dev.session().reserve(),
        crate::session::Session::subscription_len("toy/down/#")
    );
}
