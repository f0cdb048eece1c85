//! OTA over MQTT, as Aliyun documents it: the version report on `/ota/device/inform`, the
//! upgrade notice on `/ota/device/upgrade`, progress on `/ota/device/progress`, and the
//! pending-job request on `/sys/…/thing/ota/firmware/get`. An image the notice says is
//! delivered over MQTT comes through the file download (`file.rs`).

#[cfg(feature = "ota")]
use core::fmt::Write as _;

#[cfg(feature = "ota")]
use iotcloud_core::json::{JsonStr, Kind, Value};
#[cfg(feature = "ota")]
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
#[cfg(feature = "ota")]
use iotcloud_core::ota::{
    BlockReply, DigestAlgorithm, JobFields, Notice, OtaContext, OtaFailure, OtaFormat, OtaJob,
    OtaNoticeError, OtaStatus,
};
use iotcloud_core::provider::TopicPath;
#[cfg(feature = "ota")]
use iotcloud_core::provider::{ProviderError, Publication, publication, subscription};
#[cfg(feature = "ota")]
use iotcloud_core::scratch::{Scratch, TextWriter};

use crate::Aliyun;

impl<'a> Aliyun<'a> {
    /// ↑ Firmware version report: `/ota/device/inform/{pk}/{dn}`.
    pub fn ota_inform(&self) -> TopicPath<'a> {
        self.product_topic("/ota/device/inform/", "", "")
    }

    /// ↓ Upgrade notice: `/ota/device/upgrade/{pk}/{dn}`.
    pub fn ota_upgrade(&self) -> TopicPath<'a> {
        self.product_topic("/ota/device/upgrade/", "", "")
    }

    /// ↑ Progress and result: `/ota/device/progress/{pk}/{dn}`.
    pub fn ota_progress(&self) -> TopicPath<'a> {
        self.product_topic("/ota/device/progress/", "", "")
    }

    /// ↑ Pending-job request: `/sys/{pk}/{dn}/thing/ota/firmware/get`.
    pub fn ota_firmware_get(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/ota/firmware/get", "")
    }

    /// ↓ Its reply: `/sys/{pk}/{dn}/thing/ota/firmware/get_reply`.
    pub fn ota_firmware_get_reply(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/ota/firmware/get_reply", "")
    }
}

/// `,"module":"…"` when there is a module.
#[cfg(feature = "ota")]
fn module_member(w: &mut TextWriter<'_>, module: Option<&str>) -> core::fmt::Result {
    match module {
        Some(m) => write!(w, ",\"module\":{}", JsonStr(m)),
        None => Ok(()),
    }
}

#[cfg(feature = "ota")]
impl OtaFormat for Aliyun<'_> {
    /// The upgrade notice topic, the reply topic of pending-job requests, and the reply
    /// topic of the MQTT file download (at QoS 0, as the Link SDK subscribes it: a lost
    /// block is asked for again, so acknowledging each one would only add traffic).
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        let (filter, qos) = match index {
            0 => (self.ota_upgrade(), QoS::AtLeastOnce),
            1 => (self.ota_firmware_get_reply(), QoS::AtLeastOnce),
            2 => (self.file_download_reply(), QoS::AtMostOnce),
            _ => return Ok(None),
        };
        subscription(scratch, "device_name", filter, qos).map(Some)
    }

    fn version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let fw = ctx.firmware;
        publication(scratch, self.ota_inform(), QoS::AtMostOnce, |w| {
            write!(
                w,
                "{{\"id\":\"{}\",\"params\":{{\"version\":{}",
                ctx.message_id,
                JsonStr(fw.version)
            )?;
            module_member(w, fw.module)?;
            w.write_str("}}")
        })
        .map(Some)
    }

    fn job_request<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        publication(scratch, self.ota_firmware_get(), QoS::AtMostOnce, |w| {
            write!(
                w,
                "{{\"id\":\"{}\",\"version\":\"1.0\",\"params\":{{",
                ctx.message_id
            )?;
            if let Some(m) = ctx.firmware.module {
                write!(w, "\"module\":{}", JsonStr(m))?;
            }
            w.write_str("},\"method\":\"thing.ota.firmware.get\"}")
        })
        .map(Some)
    }

    fn notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice {
        let upgrade = self.ota_upgrade().is(topic);
        let reply = self.ota_firmware_get_reply().is(topic);
        if !upgrade && !reply {
            return Notice::NotOta;
        }
        let doc = match Value::parse(payload) {
            Ok(doc) => doc,
            Err(e) => return Notice::Invalid(e.into()),
        };
        let over_mqtt = |d: &Value<'_>| d.get("dProtocol").is_some_and(|v| v.eq_str("mqtt"));
        match doc.get("data") {
            Some(data) if data.kind() == Kind::Object && over_mqtt(&data) => {
                job_from(data, Delivery::Mqtt, job)
            }
            Some(data) if data.kind() == Kind::Object && data.get("url").is_some() => {
                job_from(data, Delivery::Url, job)
            }
            // A reply without a job: nothing pending.
            _ if reply => Notice::Other,
            _ => Notice::Invalid(OtaNoticeError::MissingField("data.url")),
        }
    }

    fn report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        // Steps: 1..100 percent; -1 upgrade failed, -2 download failed, -3 verification
        // failed, -4 writing the image failed.
        let (step, desc, qos): (i32, &str, QoS) = match status {
            OtaStatus::Downloading { percent } => (
                i32::from(percent.clamp(1, 100)),
                "downloading",
                QoS::AtMostOnce,
            ),
            OtaStatus::Installing => (100, "downloaded and verified", QoS::AtLeastOnce),
            // Aliyun confirms an upgrade by the new version in the next version report.
            OtaStatus::Done => return Ok(None),
            OtaStatus::Failed(f) => {
                let step = match f {
                    OtaFailure::DigestMismatch | OtaFailure::SizeMismatch => -3,
                    // "烧写失败": the image could not be written to the firmware storage.
                    OtaFailure::Storage => -4,
                    OtaFailure::Install | OtaFailure::Busy => -1,
                    _ => -2,
                };
                (step, f.describe(), QoS::AtLeastOnce)
            }
        };
        let module = job.and_then(|j| j.module()).or(ctx.firmware.module);
        publication(scratch, self.ota_progress(), qos, |w| {
            write!(
                w,
                "{{\"id\":\"{}\",\"params\":{{\"step\":\"{step}\",\"desc\":{}",
                ctx.message_id,
                JsonStr(desc)
            )?;
            module_member(w, module)?;
            w.write_str("}}")
        })
        .map(Some)
    }

    fn block_request<'s>(
        &self,
        job: &OtaJob<'_>,
        offset: u64,
        len: usize,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let ids = crate::file::stream_ids(job)?;
        // QoS 0, as the Link SDK sends it: a lost request is asked again after the timeout.
        publication(scratch, self.file_download(), QoS::AtMostOnce, |w| {
            crate::file::write_request(w, ctx.message_id, ids, offset, len)
        })
        .map(Some)
    }

    fn block_reply(&self, topic: &str, payload: &[u8]) -> BlockReply {
        self.file_block_reply(topic, payload)
    }

    fn block_overhead(&self) -> usize {
        self.file_block_overhead()
    }
}

/// How a notice says its image is delivered.
#[cfg(feature = "ota")]
#[derive(Clone, Copy)]
enum Delivery {
    /// From `url`, over HTTPS.
    Url,
    /// Through the MQTT file download, by `streamId` and `streamFileId`.
    Mqtt,
}

/// Reads `data` of an upgrade notice or of a `firmware/get` reply.
#[cfg(feature = "ota")]
fn job_from(data: Value<'_>, delivery: Delivery, job: &mut [u8]) -> Notice {
    // `sign` with `signMethod` is the current digest; `md5` the legacy one.
    let signed = match (data.get("sign"), data.get("signMethod")) {
        (Some(sign), Some(method)) => {
            match method.as_plain_str().and_then(DigestAlgorithm::from_name) {
                Some(alg) => Some((alg, sign)),
                None => return Notice::Invalid(OtaNoticeError::InvalidField("signMethod")),
            }
        }
        _ => None,
    };
    let digest = signed.or_else(|| data.get("md5").map(|v| (DigestAlgorithm::Md5, v)));
    let fields = JobFields {
        version: data.get("version"),
        url: data.get("url"),
        size: data.get("size"),
        digest,
        module: data.get("module"),
        task_id: None,
        token: None,
    };
    match delivery {
        Delivery::Url => fields.notice(job),
        Delivery::Mqtt => {
            let id = |name| {
                data.get(name)
                    .ok_or(OtaNoticeError::MissingField(name))?
                    .as_u64_lenient()
                    .ok_or(OtaNoticeError::InvalidField(name))
            };
            match (id("streamId"), id("streamFileId")) {
                (Ok(stream), Ok(file)) => {
                    let mut text = [0u8; 48];
                    let text = crate::file::stream_text(stream, file, &mut text);
                    fields.streamed_notice(text, job)
                }
                (Err(e), _) | (_, Err(e)) => Notice::Invalid(e),
            }
        }
    }
}

#[cfg(test)]
#[cfg(feature = "ota")]
mod tests {
    use super::*;
    use crate::Aliyun;
    use iotcloud_core::ota::{Firmware, OtaNoticeError};
    use std::string::String;

    const MD5: &str = "a2b0d12f5f8cbbdc3c4c4b2d5d1e7f10";

    fn aliyun() -> Aliyun<'static> {
        Aliyun::with_secret("a1B2c3", "dev01", "secret").unwrap()
    }

    fn ctx() -> OtaContext<'static> {
        OtaContext {
            firmware: Firmware {
                version: "1.0.1",
                module: Some("MCU"),
            },
            message_id: 123,
            unix_time_ms: None,
        }
    }

    fn text(p: &Publication<'_>) -> (String, String) {
        (
            p.topic.into(),
            String::from_utf8(p.payload.to_vec()).unwrap(),
        )
    }

    #[test]
    fn the_version_report_and_job_request_are_in_aliyuns_format() {
        let p = aliyun();
        let mut buf = [0u8; 512];
        let mut s = Scratch::new(&mut buf);
        let inform = p.version_report(&ctx(), &mut s).unwrap().unwrap();
        assert_eq!(
            text(&inform),
            (
                "/ota/device/inform/a1B2c3/dev01".into(),
                r#"{"id":"123","params":{"version":"1.0.1","module":"MCU"}}"#.into()
            )
        );
        let get = p.job_request(&ctx(), &mut s).unwrap().unwrap();
        assert_eq!(
            text(&get),
            (
                "/sys/a1B2c3/dev01/thing/ota/firmware/get".into(),
                r#"{"id":"123","version":"1.0","params":{"module":"MCU"},"method":"thing.ota.firmware.get"}"#.into()
            )
        );
    }

    #[test]
    fn an_upgrade_notice_becomes_a_job_with_the_strongest_digest() {
        let p = aliyun();
        let sha = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let payload = std::format!(
            r#"{{"code":"1000","data":{{"size":432945,"sign":"{sha}","signMethod":"SHA256","version":"2.0.0","isDiff":0,"url":"https://ota.example/fw?Expires=1&Signature=s","md5":"{MD5}","module":"MCU"}},"id":1507707025,"message":"success"}}"#
        );
        let mut job = [0u8; 512];
        let Notice::Job(n) = p.notice(
            "/ota/device/upgrade/a1B2c3/dev01",
            payload.as_bytes(),
            &mut job,
        ) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&job[..n]).unwrap();
        assert_eq!(job.version(), "2.0.0");
        assert_eq!(job.size(), Some(432_945));
        assert_eq!(job.module(), Some("MCU"));
        assert_eq!(job.digest().algorithm(), DigestAlgorithm::Sha256);
        assert_eq!(job.url(), "https://ota.example/fw?Expires=1&Signature=s");
    }

    #[test]
    fn a_notice_delivered_over_mqtt_becomes_a_job_naming_its_stream() {
        let p = aliyun();
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let payload = std::format!(
            r#"{{"code":"1000","data":{{"size":3604,"streamId":1234,"streamFileId":1,"sign":"{sha}","signMethod":"SHA256","dProtocol":"mqtt","version":"2.0.0","md5":"{MD5}"}},"id":1,"message":"success"}}"#
        );
        for topic in [
            "/ota/device/upgrade/a1B2c3/dev01",
            "/sys/a1B2c3/dev01/thing/ota/firmware/get_reply",
        ] {
            let mut job = [0u8; 512];
            let Notice::Job(n) = p.notice(topic, payload.as_bytes(), &mut job) else {
                panic!("not a job on {topic}");
            };
            let job = OtaJob::decode(&job[..n]).unwrap();
            assert_eq!(job.stream(), Some("1234/1"));
            assert_eq!(job.url(), "");
            assert_eq!(job.size(), Some(3604));
            assert_eq!(job.version(), "2.0.0");
            assert_eq!(job.digest().algorithm(), DigestAlgorithm::Sha256);
        }

        let topic = "/ota/device/upgrade/a1B2c3/dev01";
        let mut job = [0u8; 512];
        let without = |field: &str| {
            payload
                .replace(&std::format!(r#""{field}":"#), r#""x":"#)
                .into_bytes()
        };
        assert_eq!(
            p.notice(topic, &without("streamId"), &mut job),
            Notice::Invalid(OtaNoticeError::MissingField("streamId"))
        );
        assert_eq!(
            p.notice(topic, &without("streamFileId"), &mut job),
            Notice::Invalid(OtaNoticeError::MissingField("streamFileId"))
        );
        assert_eq!(
            p.notice(topic, &without("size"), &mut job),
            Notice::Invalid(OtaNoticeError::MissingField("size"))
        );
        let bad_id = payload.replace("1234", r#""many""#);
        assert_eq!(
            p.notice(topic, bad_id.as_bytes(), &mut job),
            Notice::Invalid(OtaNoticeError::InvalidField("streamId"))
        );
    }

    #[test]
    fn a_device_with_ota_subscribes_the_file_download_reply_at_qos_0() {
        let p = aliyun();
        let mut buf = [0u8; 256];
        let mut s = Scratch::new(&mut buf);
        let third = p.subscription(2, &mut s).unwrap().unwrap();
        assert_eq!(
            third.filter.as_str(),
            "/sys/a1B2c3/dev01/thing/file/download_reply"
        );
        assert_eq!(third.qos, QoS::AtMostOnce);
        assert!(p.subscription(3, &mut s).unwrap().is_none());
    }

    #[test]
    fn notices_without_what_a_job_needs_are_refused_and_other_topics_pass() {
        let p = aliyun();
        let topic = "/ota/device/upgrade/a1B2c3/dev01";
        let mut job = [0u8; 512];
        assert_eq!(
            p.notice("/a1B2c3/dev01/user/get", b"{}", &mut job),
            Notice::NotOta
        );
        assert!(matches!(
            p.notice(topic, b"not json", &mut job),
            Notice::Invalid(OtaNoticeError::NotJson(_))
        ));
        assert_eq!(
            p.notice(topic, br#"{"code":"1000","data":{}}"#, &mut job),
            Notice::Invalid(OtaNoticeError::MissingField("data.url"))
        );
        let no_digest = br#"{"data":{"version":"2","url":"https://h/f","size":3}}"#;
        assert_eq!(
            p.notice(topic, no_digest, &mut job),
            Notice::Invalid(OtaNoticeError::MissingField("digest"))
        );
        let bad_method =
            br#"{"data":{"version":"2","url":"https://h/f","sign":"ab","signMethod":"CRC"}}"#;
        assert_eq!(
            p.notice(topic, bad_method, &mut job),
            Notice::Invalid(OtaNoticeError::InvalidField("signMethod"))
        );
        let reply = "/sys/a1B2c3/dev01/thing/ota/firmware/get_reply";
        assert_eq!(
            p.notice(
                reply,
                br#"{"code":200,"data":{},"id":"1","message":"success"}"#,
                &mut job
            ),
            Notice::Other
        );
    }

    #[test]
    fn progress_and_failures_use_aliyuns_steps() {
        let p = aliyun();
        let mut buf = [0u8; 256];
        let mut job_buf = [0u8; 256];
        let digest =
            iotcloud_core::ota::ExpectedDigest::from_hex(DigestAlgorithm::Md5, MD5).unwrap();
        let n =
            iotcloud_core::ota::encode_job(&mut job_buf, "2.0.0", "https://h/f", Some(10), &digest)
                .unwrap();
        let job = OtaJob::decode(&job_buf[..n]).unwrap();
        let cases = [
            (
                OtaStatus::Downloading { percent: 0 },
                r#""step":"1","desc":"downloading""#,
                QoS::AtMostOnce,
            ),
            (
                OtaStatus::Downloading { percent: 42 },
                r#""step":"42""#,
                QoS::AtMostOnce,
            ),
            (OtaStatus::Installing, r#""step":"100""#, QoS::AtLeastOnce),
            (
                OtaStatus::Failed(OtaFailure::DigestMismatch),
                r#""step":"-3","desc":"digest mismatch""#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Timeout),
                r#""step":"-2""#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Install),
                r#""step":"-1""#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Storage),
                r#""step":"-4","desc":"firmware storage failed""#,
                QoS::AtLeastOnce,
            ),
        ];
        for (status, want, qos) in cases {
            let mut s = Scratch::new(&mut buf);
            let r = p
                .report(Some(&job), status, &ctx(), &mut s)
                .unwrap()
                .unwrap();
            let (topic, body) = text(&r);
            assert_eq!(topic, "/ota/device/progress/a1B2c3/dev01");
            assert!(body.contains(want), "{status:?}: {body}");
            assert!(body.ends_with(r#","module":"MCU"}}"#), "{body}");
            assert_eq!(r.qos, qos);
        }
        let mut s = Scratch::new(&mut buf);
        assert_eq!(
            p.report(Some(&job), OtaStatus::Done, &ctx(), &mut s),
            Ok(None)
        );
    }
}
