//! The device's side of dynamic registration: load or register, store, reuse after a
//! reboot, and never lose or blindly use a record.

use core::cell::Cell;
use std::rc::Rc;
use std::string::{String, ToString};
use std::vec::Vec;

use super::*;
use crate::ErrorKind;
use crate::kv::StoreError;
use crate::mqtt::Packet;
use crate::platform::Composed;
use crate::provider::{Credentials, ProviderError, SignContext};
use crate::register::{
    AnswerError, Answered, Fields, MqttRequest, RegisterAnswer, RegisterContext, RegisterError,
    RegisterRequest, Registration, RegistrationId, Rejection,
};
use crate::scratch::Scratch;
use crate::test_support::{MemStore, MockTransport, TestClock, block_on, friendly_broker};
use crate::transport::Endpoint;

/// A provider that registers in two steps over MQTT — a ticket, then a token for the
/// ticket — and signs in with the token as the password.
struct Registering {
    device: &'static str,
    calls: Rc<Cell<usize>>,
    refuse: bool,
}

impl Provider for Registering {
    type Registration = Self;
    type Ota = crate::ota::NoOta;
    type Data = crate::data::NoData;

    fn cloud(&self) -> &'static str {
        "test"
    }
    fn endpoint<'a>(&'a self, _scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        Ok(Endpoint::tcp("broker.test", 1883))
    }
    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        let token = ctx
            .registered
            .and_then(|r| Fields::read(r).next_str())
            .ok_or(ProviderError::MissingKey("token"))?;
        Ok(Credentials {
            client_id: scratch.copy(self.device)?,
            username: Some("user"),
            password: Some(scratch.copy(token)?),
        })
    }
    fn registration(&self) -> Option<&Self> {
        Some(self)
    }
}

impl Registration for Registering {
    fn id(&self) -> RegistrationId<'_> {
        RegistrationId {
            product: "P",
            device: self.device,
        }
    }

    fn request<'s>(
        &'s self,
        step: u8,
        carry: &'s [u8],
        ctx: &RegisterContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        if step == 0 {
            self.calls.set(self.calls.get() + 1);
        }
        let client_id = scratch.format(format_args!("reg-{}", ctx.random % 1000))?;
        Ok(RegisterRequest::Mqtt(MqttRequest {
            endpoint: Endpoint::tcp("register.test", 1883),
            connect: crate::mqtt::Connect {
                client_id,
                keep_alive: 60,
                clean_session: true,
                will: None,
                username: Some(if self.refuse { "refuse" } else { "reg" }),
                password: (step == 1).then_some(carry),
            },
            topics: ["/reg/answer", ""],
            timeout_ms: 5_000,
        }))
    }

    fn answer(
        &self,
        step: u8,
        answer: RegisterAnswer<'_>,
        out: &mut [u8],
        carry: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        let RegisterAnswer::Mqtt { payload, .. } = answer else {
            return Err(RegisterError::BadResponse("not over MQTT"));
        };
        if payload == b"refused" {
            return Err(RegisterError::rejected(Rejection::AlreadyActivated, "1021"));
        }
        match step {
            0 => {
                let too_large = RegisterError::RecordTooLarge {
                    len: payload.len(),
                    capacity: carry.len(),
                };
                carry
                    .get_mut(..payload.len())
                    .ok_or(too_large)?
                    .copy_from_slice(payload);
                Ok(Answered::Next(payload.len()))
            }
            _ => Fields::write(out, &[payload]).map(Answered::Record).ok_or(
                RegisterError::RecordTooLarge {
                    len: payload.len() + 2,
                    capacity: out.len(),
                },
            ),
        }
    }
}

/// The registration server in the mock broker: a ticket for a first CONNECT, a token for
/// a CONNECT that shows the ticket; everything else as a friendly broker.
fn registrar(packet: &Packet<'_>, out: &mut Vec<u8>) {
    use crate::mqtt::{Connack, ConnectReturnCode, Publish, QosPid, TopicName};
    let Packet::Connect(c) = packet else {
        return friendly_broker(packet, out);
    };
    if !c.client_id.starts_with("reg-") {
        return friendly_broker(packet, out);
    }
    let answer = match (c.username, c.password) {
        (Some("refuse"), _) => std::string::String::from("refused"),
        (_, None) => "ticket-42".into(),
        (_, Some(b"ticket-42")) => std::format!("token-{}", &c.client_id[4..]),
        (_, Some(_)) => "wrong ticket".into(),
    };
    for p in [
        Packet::Connack(Connack {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        }),
        Packet::Publish(Publish {
            topic: TopicName::new("/reg/answer").unwrap(),
            qos: QosPid::AtMostOnce,
            dup: false,
            retain: false,
            payload: answer.as_bytes(),
        }),
    ] {
        let mut buf = [0u8; 64];
        let n = p.emit(&mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
}

struct Mem {
    rx: [u8; 512],
    tx: [u8; 256],
    session: [u8; 256],
    creds: [u8; 128],
}

impl Mem {
    fn new() -> Self {
        Mem {
            rx: [0; 512],
            tx: [0; 256],
            session: [0; 256],
            creds: [0; 128],
        }
    }
}

type RegDev<'b, St> = Device<'b, Registering, Composed<MockTransport, TestClock, MemStore>, St>;

fn boot<'b>(
    mem: &'b mut Mem,
    store: &MemStore,
    calls: &Rc<Cell<usize>>,
) -> RegDev<'b, Unregistered> {
    let provider = Registering {
        device: "D1",
        calls: calls.clone(),
        refuse: false,
    };
    Device::new(
        provider,
        Composed::new(
            MockTransport::with_responder(registrar),
            TestClock::default(),
        )
        .with_store(store.clone()),
        Memory {
            rx: &mut mem.rx,
            tx: &mut mem.tx,
            session: &mut mem.session,
            credentials: &mut mem.creds,
            ..Memory::default()
        },
    )
}

/// The password of the CONNECT the device sent.
fn connect_password<St: State>(dev: &RegDev<'_, St>) -> String {
    let state = dev.platform().transport.state.borrow();
    let mut rest = &state.written[..];
    let mut password = None;
    while let Ok(Some((packet, n))) = Packet::decode(rest) {
        if let Packet::Connect(c) = packet
            && c.client_id == "D1"
        {
            password = c.password.map(<[u8]>::to_vec);
        }
        rest = &rest[n..];
    }
    String::from_utf8(password.expect("no CONNECT of the device written")).unwrap()
}

#[test]
fn registers_once_stores_and_reuses_the_record_after_a_reboot() {
    let store = MemStore::default();
    let calls = Rc::new(Cell::new(0));
    let mut mem = Mem::new();
    let dev = block_on(boot(&mut mem, &store, &calls).register()).unwrap();
    assert_eq!(calls.get(), 1);
    let record = dev.registration_record().unwrap().to_vec();
    let token = Fields::read(&record).next_str().unwrap().to_string();
    // Stored under the derived key, sealed.
    let key = RegistrationId {
        product: "P",
        device: "D1",
    }
    .store_key("test");
    let stored = store.map.borrow().get(key.as_str()).unwrap().clone();
    let range = crate::record::open(&stored).unwrap();
    assert_eq!(&stored[range], &record[..]);
    // The record signs the connection.
    let dev = block_on(dev.connect()).unwrap();
    assert_eq!(connect_password(&dev), token);

    // Reboot: a new device over the same store connects without registering again.
    let mut mem2 = Mem::new();
    let dev = block_on(boot(&mut mem2, &store, &calls).register()).unwrap();
    assert_eq!(calls.get(), 1);
    let dev = block_on(dev.connect()).unwrap();
    assert_eq!(connect_password(&dev), token);
}

#[test]
fn a_corrupt_record_is_reported_and_not_used() {
    let store = MemStore::default();
    let calls = Rc::new(Cell::new(0));
    let mut mem = Mem::new();
    block_on(boot(&mut mem, &store, &calls).register()).unwrap();
    for v in store.map.borrow_mut().values_mut() {
        let last = v.len() - 1;
        v[last] ^= 0xff;
    }
    let mut mem2 = Mem::new();
    let (e, mut dev) = block_on(boot(&mut mem2, &store, &calls).register())
        .err()
        .unwrap()
        .into_parts();
    assert!(matches!(e, Error::Store(StoreError::Corrupt)), "{e:?}");
    assert_eq!(dev.registration_record(), None);
    assert_eq!(calls.get(), 1, "must not re-register on its own");
    // Forgetting it lets the device register again, on purpose.
    block_on(dev.forget_registration()).unwrap();
    assert!(store.map.borrow().is_empty());
    block_on(dev.register()).unwrap();
    assert_eq!(calls.get(), 2);
}

#[test]
fn a_store_failure_is_reported_and_the_credentials_are_kept() {
    let store = MemStore::default();
    store.fail_set.set(true);
    let calls = Rc::new(Cell::new(0));
    let mut mem = Mem::new();
    let (e, dev) = block_on(boot(&mut mem, &store, &calls).register())
        .err()
        .unwrap()
        .into_parts();
    assert!(matches!(e, Error::Store(StoreError::Io)), "{e:?}");
    let record = dev.registration_record().unwrap().to_vec();
    // Retrying stores what was obtained; it does not register again.
    let (_, dev) = block_on(dev.register()).err().unwrap().into_parts();
    assert_eq!(calls.get(), 1);
    store.fail_set.set(false);
    let dev = block_on(dev.register()).unwrap();
    assert_eq!(calls.get(), 1);
    assert_eq!(dev.registration_record().unwrap(), &record[..]);
    assert_eq!(store.map.borrow().len(), 1);
}

#[test]
fn proceeding_unsaved_uses_the_credentials_in_memory() {
    let store = MemStore::default();
    store.fail_set.set(true);
    let calls = Rc::new(Cell::new(0));
    let mut mem = Mem::new();
    let (_, dev) = block_on(boot(&mut mem, &store, &calls).register())
        .err()
        .unwrap()
        .into_parts();
    let dev = dev.proceed_unsaved().ok().unwrap();
    let token = Fields::read(dev.registration_record().unwrap())
        .next_str()
        .unwrap()
        .to_string();
    let dev = block_on(dev.connect()).unwrap();
    assert_eq!(connect_password(&dev), token);
}

#[test]
fn a_refusal_is_a_named_auth_error_and_a_small_buffer_a_resource_error() {
    let store = MemStore::default();
    let calls = Rc::new(Cell::new(0));
    let mut mem = Mem::new();
    let dev = Device::new(
        Registering {
            device: "D2",
            calls: calls.clone(),
            refuse: true,
        },
        Composed::new(
            MockTransport::with_responder(registrar),
            TestClock::default(),
        )
        .with_store(store.clone()),
        Memory {
            rx: &mut mem.rx,
            tx: &mut mem.tx,
            session: &mut mem.session,
            credentials: &mut mem.creds,
            ..Memory::default()
        },
    );
    let (e, dev) = block_on(dev.register()).err().unwrap().into_parts();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(!e.is_retryable());
    assert_eq!(
        std::format!("{e}"),
        "registration: registration refused: device already activated (code 1021)"
    );
    assert!(dev.proceed_unsaved().is_err());
    assert!(store.map.borrow().is_empty());

    // Without a credentials buffer the record has nowhere to go: said, not truncated.
    let mut mem = Mem::new();
    let dev = Device::new(
        Registering {
            device: "D3",
            calls,
            refuse: false,
        },
        Composed::new(
            MockTransport::with_responder(registrar),
            TestClock::default(),
        )
        .with_store(store),
        Memory {
            rx: &mut mem.rx,
            tx: &mut mem.tx,
            session: &mut mem.session,
            ..Memory::default()
        },
    );
    let (e, _) = block_on(dev.register()).err().unwrap().into_parts();
    assert!(
        matches!(e, Error::Registration(RegisterError::RecordTooLarge { .. })),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Resource);
}
