//! Registration records and the MQTT registration answer, from arbitrary bytes.
//!
//! - `register::open` of arbitrary bytes never panics; a record it accepts seals again to
//!   the same bytes. A record sealed into a buffer opens to itself, and any changed byte
//!   makes it fail its check.
//! - `Fields` read from arbitrary bytes write back to a prefix of them; `named` and
//!   `field` agree.
//! - A registration over MQTT, run as a device runs it, against a broker sending arbitrary
//!   bytes, hands the provider the first PUBLISH on a registration topic after an accepted
//!   CONNACK, pointing into the device's receive buffer, or ends in an error; and the same
//!   whatever the fragmentation of what the broker sends.
#![no_main]

use std::cell::RefCell;
use std::ops::Range;

use iotcloud_core::fuzzing::{SEAL_OVERHEAD, open, seal};
use iotcloud_core::mqtt::Connect;
use iotcloud_core::provider::ProviderError;
use iotcloud_core::register::{
    AnswerError, Answered, Fields, MqttRequest, RegisterAnswer, RegisterContext, RegisterError,
    RegisterRequest, Registration, RegistrationId, field, named,
};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::transport::{Endpoint, ServerAuth};
use iotcloud_fuzz::{Layout, VirtualClock, Wire, block_on};
use libfuzzer_sys::fuzz_target;

const TOPICS: [&str; 2] = ["/ext/register", "/ext/regnwl"];

/// Where the header of a sealed record ends (the record starts there).
const HEADER: usize = 6;

fn sealed_records(bytes: &[u8], flags: u8) {
    if let Some(range) = open(bytes) {
        assert_eq!(range.start, HEADER);
        assert_eq!(bytes.len(), range.end + SEAL_OVERHEAD - HEADER);
        let mut again = vec![0u8; bytes.len()];
        again[range.clone()].copy_from_slice(&bytes[range.clone()]);
        assert_eq!(seal(&mut again, range.len()), Some(bytes.len()));
        assert_eq!(again, bytes, "an opened record seals to the same bytes");
    }

    // `bytes` as a record, sealed into a buffer of fuzzer-chosen room.
    let capacity = bytes.len() + usize::from(flags % 32);
    let mut buf = vec![0u8; capacity];
    let fits = bytes.len() + SEAL_OVERHEAD <= capacity;
    if fits {
        buf[HEADER..HEADER + bytes.len()].copy_from_slice(bytes);
    }
    match seal(&mut buf, bytes.len()) {
        Some(total) => {
            assert!(fits);
            assert_eq!(total, bytes.len() + SEAL_OVERHEAD);
            let range = open(&buf[..total]).expect("a sealed record opens");
            assert_eq!(&buf[range], bytes);
            let at = usize::from(flags) * 7 % total;
            buf[at] ^= 1 << (flags % 8);
            assert_eq!(open(&buf[..total]), None, "a damaged record");
        }
        None => assert!(!fits),
    }
}

fn fields(bytes: &[u8]) {
    let read: Vec<&[u8]> = Fields::read(bytes).collect();
    for f in &read {
        let (o, i) = (bytes.as_ptr_range(), f.as_ptr_range());
        assert!(o.start <= i.start && i.end <= o.end);
    }
    let len = Fields::len_of(&read);
    assert!(len <= bytes.len());
    let mut out = vec![0u8; len];
    assert_eq!(Fields::write(&mut out, &read), Some(len));
    assert_eq!(
        out,
        bytes[..len],
        "fields write back to what they were read from"
    );
    if len > 0 {
        assert_eq!(Fields::write(&mut out[..len - 1], &read), None);
    }
    let pairs: Vec<(&str, &str)> = named(bytes).collect();
    assert!(pairs.len() * 2 <= read.len());
    for (name, value) in &pairs {
        let first = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        assert_eq!(field(bytes, name), first);
        assert!(value.len() <= bytes.len());
    }
}

/// A registration over MQTT that keeps what the broker pushed.
struct Pushed {
    /// Where the device's receive buffer is: the answer must point into it.
    work: Range<*const u8>,
    got: RefCell<Option<(String, Vec<u8>)>>,
}

impl Registration for Pushed {
    fn id(&self) -> RegistrationId<'_> {
        RegistrationId {
            product: "a1B2c3D4e5F",
            device: "pump-7",
        }
    }

    fn request<'s>(
        &'s self,
        _: u8,
        _: &'s [u8],
        _: &RegisterContext,
        _: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        Ok(RegisterRequest::Mqtt(MqttRequest {
            endpoint: Endpoint::tls("iot-as-mqtt.example", 1883, ServerAuth::DefaultRoots),
            connect: Connect {
                client_id: "pump-7|securemode=2,authType=register,random=42,signmethod=hmacsha256|",
                keep_alive: 60,
                clean_session: true,
                will: None,
                username: Some("pump-7&a1B2c3D4e5F"),
                password: Some(b"0123456789abcdef"),
            },
            topics: TOPICS,
            timeout_ms: 30_000,
        }))
    }

    fn answer(
        &self,
        _: u8,
        answer: RegisterAnswer<'_>,
        _: &mut [u8],
        _: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        let RegisterAnswer::Mqtt { topic, payload } = answer else {
            return Err(RegisterError::BadResponse("not over MQTT"));
        };
        assert!(TOPICS.contains(&topic));
        let p = payload.as_ptr_range();
        assert!(self.work.start <= p.start && p.end <= self.work.end);
        *self.got.borrow_mut() = Some((topic.to_owned(), payload.to_vec()));
        Ok(Answered::Record(0))
    }
}

/// The pushed answer's topic and payload, or the error, as text.
fn answer(
    layout: &Layout<'_>,
    fragments: &[u8],
    buf_len: usize,
) -> Result<(String, Vec<u8>), String> {
    let mut wire = Wire::new(&layout.sections, fragments);
    let clock = VirtualClock::new();
    let mut work = vec![0u8; buf_len];
    let mut scratch = vec![0u8; 256];
    let pushed = Pushed {
        work: work.as_ptr_range(),
        got: RefCell::new(None),
    };
    let ctx = RegisterContext {
        unix_time_ms: Some(1_700_000_000_000),
        random: 42,
    };
    let result = block_on(iotcloud_core::fuzzing::register(
        &pushed,
        &mut wire,
        &clock,
        &ctx,
        &mut work,
        &mut scratch,
        &mut [],
    ))
    .expect("never waits on the in-memory network");
    match result {
        Ok(_) => Ok(pushed.got.take().expect("the answer was handed over")),
        Err(e) => Err(format!("{e:?}")),
    }
}

fuzz_target!(|data: &[u8]| {
    let layout = Layout::read(data);
    let section = layout.sections[0];
    sealed_records(section, layout.flags);
    fields(section);

    let buf_len = 128 + usize::from(layout.flags) * 8;
    let whole = answer(&layout, &[], buf_len);
    let fragmented = answer(&layout, layout.fragments, buf_len);
    assert_eq!(whole, fragmented, "fragmentation changed the answer");
});
