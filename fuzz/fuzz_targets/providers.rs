//! Every provider's parsers of what its cloud sends, on arbitrary input: OTA notices on
//! the clouds' OTA topics (or any topic), the topic helpers, and the registration answers
//! of the clouds that register devices (Aliyun over HTTPS and MQTT, Tencent's current and
//! legacy APIs, OneNET, Huawei IAM + IoTDA), each cloud's answer read through the SDK's
//! HTTP client or MQTT exchange from an in-memory server.
//!
//! Input: flags bit 7 clear is a notice: `topic 0xFF payload` (the topic is used when the
//! flags pick no known OTA topic). Bit 7 set is a registration: the sections are the
//! server's answers, one per connection.
//!
//! - Nothing panics or hangs. Clouds without OTA find no notice anywhere.
//! - A notice that becomes a job fits the job buffer, decodes, and names an http(s) URL;
//!   the same notice gives the same job in a buffer of exactly its size and `TooLarge`
//!   (with that size) in one byte less.
//! - A registration that succeeds wrote a record that fits, that the provider then signs
//!   in with; and the outcome does not depend on how the answers are fragmented.
#![no_main]

use iotcloud_aliyun::{Aliyun, DynamicFlow};
use iotcloud_baidu::Baidu;
use iotcloud_core::Provider;
use iotcloud_core::ota::{Notice, OtaFormat, OtaJob, OtaNoticeError};
use iotcloud_core::provider::SignContext;
use iotcloud_core::register::{RegisterContext, Registration};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::Secret;
use iotcloud_fuzz::{Layout, VirtualClock, Wire, block_on};
use iotcloud_huawei::{DeviceId, Huawei, IamAccount};
use iotcloud_onenet::OneNet;
use iotcloud_tencent::{RegisterApi, Tencent};
use iotcloud_tlink::Tlink;
use iotcloud_tuya::Tuya;
use libfuzzer_sys::fuzz_target;

// Test credentials, in each cloud's format (those of the providers' unit tests).
const ALIYUN_PK: &str = "a1B2c3D4e5F";
const ALIYUN_DN: &str = "pump-7";
const ALIYUN_SECRET: &str = "0123456789abcdef0123456789abcdef";
const TENCENT_PID: &str = "ZAJCHA24SH";
const TENCENT_DN: &str = "869329069169988";
const TENCENT_SECRET: &str = "vGGwnSkyM4eD5ddbNrQoGJox";
const ONENET_PID: &str = "Ck2AF9QD2K";
const ONENET_DN: &str = "test";
const ONENET_KEY: &str = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
const HUAWEI_ID: &str = "6203cc94c7fb24029b110408_88888888";
const HUAWEI_SECRET: &str = "123456789";
const TUYA_ID: &str = "6c95875d0f5ba69607nzfl";
const TUYA_SECRET: &str = "fb803786602df760";

fn aliyun() -> Aliyun<'static> {
    Aliyun::with_secret(ALIYUN_PK, ALIYUN_DN, ALIYUN_SECRET).unwrap()
}

fn tencent() -> Tencent<'static> {
    Tencent::registering(TENCENT_PID, TENCENT_DN, TENCENT_SECRET).unwrap()
}

fn huawei() -> Huawei<'static> {
    Huawei::with_secret(DeviceId::new(HUAWEI_ID).unwrap(), HUAWEI_SECRET).unwrap()
}

fn tuya() -> Tuya<'static> {
    Tuya::with_secret(TUYA_ID, TUYA_SECRET).unwrap()
}

/// The topics OTA notices arrive on, for the credentials above.
fn ota_topics() -> Vec<String> {
    let (a, t, h, y) = (aliyun(), tencent(), huawei(), tuya());
    vec![
        a.ota_upgrade().to_string(),
        a.ota_firmware_get_reply().to_string(),
        t.ota_update_topic().to_string(),
        h.events_down().to_string(),
        y.ota_issue().to_string(),
        y.ota_get_response().to_string(),
    ]
}

fn notice_of<P: Provider>(p: &P, topic: &str, payload: &[u8], job_len: usize) -> Notice {
    let mut job = vec![0u8; job_len];
    let notice = match p.ota() {
        Ok(ota) => ota.notice(topic, payload, &mut job),
        Err(_) => Notice::NotOta,
    };
    if let Notice::Job(n) = notice {
        assert!(n <= job_len);
        let decoded = OtaJob::decode(&job[..n]).expect("a job the provider wrote decodes");
        let url = decoded.url().to_ascii_lowercase();
        assert!(url.starts_with("http://") || url.starts_with("https://"));
        assert!(!decoded.version().is_empty());
    }
    notice
}

fn notices<P: Provider>(p: &P, topic: &str, payload: &[u8], job_len: usize) {
    let notice = notice_of(p, topic, payload, job_len);
    if p.ota().is_err() {
        assert_eq!(notice, Notice::NotOta, "{} has no OTA", p.cloud());
    }
    match notice {
        Notice::Job(n) => {
            assert_eq!(notice_of(p, topic, payload, n), Notice::Job(n));
            if n > 0 {
                assert_eq!(
                    notice_of(p, topic, payload, n - 1),
                    Notice::Invalid(OtaNoticeError::TooLarge {
                        needed: n,
                        capacity: n - 1
                    })
                );
            }
        }
        Notice::Invalid(OtaNoticeError::TooLarge { needed, capacity }) => {
            assert_eq!(capacity, job_len);
            assert!(needed > job_len);
            if needed < 1 << 16 {
                assert_eq!(notice_of(p, topic, payload, needed), Notice::Job(needed));
            }
        }
        other => {
            // Anything but a job does not depend on the job buffer.
            assert_eq!(notice_of(p, topic, payload, 4096), other);
        }
    }
}

/// Registers `p` against `sections` as a device does; the record, or the error as text.
fn register<P: Provider>(p: &P, sections: &[&[u8]], fragments: &[u8]) -> Result<Vec<u8>, String> {
    let mut wire = Wire::new(sections, fragments);
    let clock = VirtualClock::new();
    let (mut work, mut scratch) = (vec![0u8; 4096], vec![0u8; 2048]);
    let mut record = vec![0u8; 512];
    let ctx = RegisterContext {
        unix_time_ms: Some(1_700_000_000_000),
        random: 42,
    };
    let registration = p.registration().expect("a registering configuration");
    let result = block_on(iotcloud_core::fuzzing::register(
        registration,
        &mut wire,
        &clock,
        &ctx,
        &mut work,
        &mut scratch,
        &mut record,
    ))
    .expect("registration never waits on the in-memory network");
    match result {
        Ok(n) => {
            assert!(n <= record.len());
            record.truncate(n);
            Ok(record)
        }
        Err(e) => Err(format!("{e:?}")),
    }
}

fn registration<P: Provider>(p: P, layout: &Layout<'_>) {
    assert!(p.registration().is_some());
    let whole = register(&p, &layout.sections, &[]);
    let fragmented = register(&p, &layout.sections, layout.fragments);
    assert_eq!(whole, fragmented, "fragmentation changed the registration");
    if let Ok(record) = whole {
        let ctx = SignContext {
            unix_time_ms: Some(1_700_000_000_000),
            random: 42,
            registered: Some(&record),
        };
        let mut scratch = [0u8; 4096];
        if let Err(e) = p.sign(&ctx, &mut Scratch::new(&mut scratch)) {
            panic!(
                "{} cannot sign in with the record it wrote: {e:?}",
                p.cloud()
            );
        }
        let _ = p.registration().and_then(|r| r.identity(&record));
    }
}

fuzz_target!(|data: &[u8]| {
    let layout = Layout::read(data);
    let flags = layout.flags;
    if flags & 0x80 == 0 {
        let topics = ota_topics();
        let raw = core::str::from_utf8(layout.sections[0]).unwrap_or("");
        let topic = topics
            .get(usize::from(flags & 0x0f))
            .map_or(raw, String::as_str);
        let payload = layout.sections.get(1).copied().unwrap_or(&[]);
        let job_len = usize::from(layout.fragments.first().copied().unwrap_or(128)) * 4;

        notices(&aliyun(), topic, payload, job_len);
        notices(&tencent(), topic, payload, job_len);
        notices(&huawei(), topic, payload, job_len);
        notices(&tuya(), topic, payload, job_len);
        notices(
            &OneNet::with_secret(ONENET_PID, ONENET_DN, ONENET_KEY).unwrap(),
            topic,
            payload,
            job_len,
        );
        notices(
            &Baidu::with_secret("abcd123", "mydevice", "ImSeCrEt0I1M2jkl").unwrap(),
            topic,
            payload,
            job_len,
        );
        notices(
            &Tlink::with_secret("tlink_account", "23L698OJDS0Q1MG4", "account-password").unwrap(),
            topic,
            payload,
            job_len,
        );

        // Topic helpers that read topics.
        if let Some(id) = iotcloud_huawei::request_id(topic) {
            assert!(topic.ends_with(id));
        }
        let _ = iotcloud_tencent::check_topic(topic);
        return;
    }

    match flags & 7 {
        0 => registration(
            Aliyun::registering(ALIYUN_PK, ALIYUN_DN, ALIYUN_SECRET, DynamicFlow::Https).unwrap(),
            &layout,
        ),
        1 => registration(
            Aliyun::registering(ALIYUN_PK, ALIYUN_DN, ALIYUN_SECRET, DynamicFlow::Register)
                .unwrap(),
            &layout,
        ),
        2 => registration(
            Aliyun::registering(ALIYUN_PK, ALIYUN_DN, ALIYUN_SECRET, DynamicFlow::Regnwl).unwrap(),
            &layout,
        ),
        3 => registration(tencent(), &layout),
        4 => registration(tencent().with_register_api(RegisterApi::Legacy), &layout),
        5 => registration(
            OneNet::registering_with_user(ONENET_PID, ONENET_DN, "12345", ONENET_KEY).unwrap(),
            &layout,
        ),
        6 => registration(
            OneNet::registering(ONENET_PID, ONENET_DN, ONENET_KEY).unwrap(),
            &layout,
        ),
        _ => registration(
            Huawei::registering_with_iam(
                "6203cc94c7fb24029b110408",
                "88888888",
                IamAccount {
                    project_id: "0a1b2c3d4e5f",
                    domain: "my-account",
                    username: "iot-user",
                    password: Secret::new("pa\"ss\\word"),
                    app_endpoint: "5341624af8.st1.iotda-app.cn-north-4.myhuaweicloud.com",
                    region: "cn-north-4",
                },
            )
            .unwrap()
            .with_endpoint("5341624af8.st1")
            .unwrap(),
            &layout,
        ),
    }
});
