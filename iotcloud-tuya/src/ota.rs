//! OTA over MQTT, as TuyaLink documents it (clouds-official §5.6), in its message envelope
//! `{"msgId":"…","time":…,"data":{…}}` (§5.4):
//!
//! - ↑ `tylink/{id}/ota/firmware/report`: the version report, `bizType` `INIT` after
//!   connecting and `UPDATE` once an upgrade is installed (which is how Tuya learns that
//!   it succeeded);
//! - ↑ `tylink/{id}/ota/get`: asks for a pending upgrade, answered on ↓ `ota/get_response`
//!   or by an ↓ `ota/issue`;
//! - ↓ `tylink/{id}/ota/issue`: the upgrade notice (`channel`, `version`, `url`, `size`,
//!   `md5`);
//! - ↑ `tylink/{id}/ota/progress/report`: `progress`, or `errorCode` and `errorMsg`.
//!
//! Tuya's channels name the module: 0 is the main module (the default), 1 Bluetooth,
//! 3 Zigbee, 9 the MCU. The firmware's and the job's module are the channel number in
//! decimal.

#[cfg(feature = "ota")]
use core::fmt::Write as _;

#[cfg(feature = "ota")]
use iotcloud_core::json::{JsonStr, Kind, Value};
#[cfg(feature = "ota")]
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::ota::OtaFailure;
#[cfg(feature = "ota")]
use iotcloud_core::ota::{
    DigestAlgorithm, JobFields, Notice, OtaContext, OtaFormat, OtaJob, OtaNoticeError, OtaStatus,
};
use iotcloud_core::provider::TopicPath;
#[cfg(feature = "ota")]
use iotcloud_core::provider::{ProviderError, Publication, publication, subscription};
#[cfg(feature = "ota")]
use iotcloud_core::scratch::{Scratch, TextWriter};

use crate::Tuya;

impl<'a> Tuya<'a> {
    /// ↑ Version report: `tylink/{id}/ota/firmware/report`.
    pub fn ota_firmware_report(&self) -> TopicPath<'a> {
        self.topic("ota/firmware/report")
    }

    /// ↓ Upgrade notice: `tylink/{id}/ota/issue`.
    pub fn ota_issue(&self) -> TopicPath<'a> {
        self.topic("ota/issue")
    }

    /// ↑ Pending-upgrade request: `tylink/{id}/ota/get`.
    pub fn ota_get(&self) -> TopicPath<'a> {
        self.topic("ota/get")
    }

    /// ↓ Its answer: `tylink/{id}/ota/get_response`.
    pub fn ota_get_response(&self) -> TopicPath<'a> {
        self.topic("ota/get_response")
    }

    /// ↑ Progress and failure: `tylink/{id}/ota/progress/report`.
    pub fn ota_progress_report(&self) -> TopicPath<'a> {
        self.topic("ota/progress/report")
    }
}

/// The `errorCode` this crate reports for a failure. Tuya's list of codes is not
/// confirmed, so these are the crate's own: 1 download failed, 2 download timed out,
/// 3 file not found, 4 download refused (expired URL), 5 digest mismatch, 6 size
/// mismatch, 7 storage failed, 8 install failed, 9 another upgrade in progress. The
/// `errorMsg` next to it says the same in words.
pub fn ota_error_code(failure: OtaFailure) -> u8 {
    match failure {
        OtaFailure::Download => 1,
        OtaFailure::Timeout => 2,
        OtaFailure::NotFound => 3,
        OtaFailure::Unauthorized => 4,
        OtaFailure::DigestMismatch => 5,
        OtaFailure::SizeMismatch => 6,
        OtaFailure::Storage => 7,
        OtaFailure::Install => 8,
        OtaFailure::Busy => 9,
        _ => 1,
    }
}

/// The channel a module names: `None` is the main module, 0.
#[cfg(feature = "ota")]
fn channel(module: Option<&str>) -> Result<u8, ProviderError> {
    match module {
        None => Ok(0),
        Some(m) => m.parse().map_err(|_| ProviderError::InvalidValue {
            key: "module",
            reason: "Tuya names modules by channel number (0 main module, 1 Bluetooth, \
                     3 Zigbee, 9 MCU)",
        }),
    }
}

/// The channel of a report: the job's, else the firmware's.
#[cfg(feature = "ota")]
fn report_channel(job: Option<&OtaJob<'_>>, ctx: &OtaContext<'_>) -> Result<u8, ProviderError> {
    match job.and_then(|j| j.module()) {
        Some(m) => channel(Some(m)),
        None => channel(ctx.firmware.module),
    }
}

/// Publishes `{"msgId":"…","time":…,"data":{…}}` on `topic`, `data`'s members written by
/// `data`; `time` is left out when the device does not know it.
#[cfg(feature = "ota")]
fn message<'s>(
    topic: TopicPath<'_>,
    ctx: &OtaContext<'_>,
    qos: QoS,
    scratch: &mut Scratch<'s>,
    data: impl FnOnce(&mut TextWriter<'_>) -> core::fmt::Result,
) -> Result<Option<Publication<'s>>, ProviderError> {
    publication(scratch, topic, qos, |w| {
        write!(w, "{{\"msgId\":\"{}\"", ctx.message_id)?;
        if let Some(ms) = ctx.unix_time_ms {
            write!(w, ",\"time\":{ms}")?;
        }
        w.write_str(",\"data\":{")?;
        data(w)?;
        w.write_str("}}")
    })
    .map(Some)
}

/// The version report with `bizType` `biz`.
#[cfg(feature = "ota")]
fn firmware_report<'s>(
    p: &Tuya<'_>,
    biz: &str,
    channel: u8,
    version: &str,
    ctx: &OtaContext<'_>,
    qos: QoS,
    scratch: &mut Scratch<'s>,
) -> Result<Option<Publication<'s>>, ProviderError> {
    message(p.ota_firmware_report(), ctx, qos, scratch, |w| {
        write!(w, "\"bizType\":\"{biz}\"")?;
        if let Some(pid) = p.product_id {
            write!(w, ",\"pid\":{}", JsonStr(pid))?;
        }
        write!(
            w,
            ",\"otaChannel\":[{{\"channel\":{channel},\"version\":{}}}]",
            JsonStr(version)
        )
    })
}

#[cfg(feature = "ota")]
impl OtaFormat for Tuya<'_> {
    /// Nothing while the auto-subscribe channel routes every downlink (the default);
    /// without it ([`Tuya::with_auto_subscribe`]`(false)`) the two OTA downlinks
    /// `ota/issue` and `ota/get_response`, at QoS 1.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        let topic = match (self.auto_subscribe, index) {
            (false, 0) => self.ota_issue(),
            (false, 1) => self.ota_get_response(),
            _ => return Ok(None),
        };
        subscription(scratch, "device_id", topic, QoS::AtLeastOnce).map(Some)
    }

    /// `ota/firmware/report` with `bizType` `INIT`, the firmware's channel and version.
    fn version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let ch = channel(ctx.firmware.module)?;
        firmware_report(
            self,
            "INIT",
            ch,
            ctx.firmware.version,
            ctx,
            QoS::AtMostOnce,
            scratch,
        )
    }

    /// `ota/get` with an empty `data`: Tuya's SDK call for it (`tuyalink_ota_get(context,
    /// device_id)` in tuya-iot-core-sdk) takes no data, so the request names no channel.
    fn job_request<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        message(self.ota_get(), ctx, QoS::AtMostOnce, scratch, |_| Ok(()))
    }

    /// A notice on `ota/issue`, or an answer on `ota/get_response` that carries one, is a
    /// job; an answer without one is the application's.
    fn notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice {
        let issue = self.ota_issue().is(topic);
        let reply = self.ota_get_response().is(topic);
        if !issue && !reply {
            return Notice::NotOta;
        }
        let doc = match Value::parse(payload) {
            Ok(doc) => doc,
            Err(e) => return Notice::Invalid(e.into()),
        };
        match doc.get("data") {
            Some(data) if data.kind() == Kind::Object && data.get("url").is_some() => {
                job_from(data, job)
            }
            // An answer without an upgrade: nothing pending.
            _ if reply => Notice::Other,
            _ => Notice::Invalid(OtaNoticeError::MissingField("data.url")),
        }
    }

    /// `ota/progress/report` with `progress` or `errorCode` ([`ota_error_code`]);
    /// `Done` is the version report with `bizType` `UPDATE`, Tuya's confirmation.
    fn report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let ch = report_channel(job, ctx)?;
        let topic = self.ota_progress_report();
        match status {
            OtaStatus::Downloading { percent } => {
                let percent = percent.min(100);
                message(topic, ctx, QoS::AtMostOnce, scratch, |w| {
                    write!(w, "\"channel\":{ch},\"progress\":{percent}")
                })
            }
            OtaStatus::Installing => message(topic, ctx, QoS::AtLeastOnce, scratch, |w| {
                write!(w, "\"channel\":{ch},\"progress\":100")
            }),
            // Tuya confirms an upgrade by the version report with `UPDATE` and the new version.
            OtaStatus::Done => {
                let version = job.map_or(ctx.firmware.version, |j| j.version());
                firmware_report(self, "UPDATE", ch, version, ctx, QoS::AtLeastOnce, scratch)
            }
            OtaStatus::Failed(f) => message(topic, ctx, QoS::AtLeastOnce, scratch, |w| {
                write!(
                    w,
                    "\"channel\":{ch},\"errorCode\":{},\"errorMsg\":{}",
                    ota_error_code(f),
                    JsonStr(f.describe())
                )
            }),
        }
    }
}

/// Reads the `data` of an upgrade notice into `job`.
#[cfg(feature = "ota")]
fn job_from(data: Value<'_>, job: &mut [u8]) -> Notice {
    // A channel other than the main module becomes the job's module, as decimal text.
    let mut module_buf = [0u8; 8];
    let module = match data.get("channel") {
        None => None,
        Some(v) if v.kind() == Kind::Null => None,
        Some(v) => match v.as_u64_lenient().and_then(|c| u8::try_from(c).ok()) {
            Some(0) => None,
            Some(c) => match Scratch::new(&mut module_buf).format(format_args!("\"{c}\"")) {
                Ok(text) => Value::parse(text.as_bytes()).ok(),
                Err(_) => return Notice::Invalid(OtaNoticeError::InvalidField("channel")),
            },
            None => return Notice::Invalid(OtaNoticeError::InvalidField("channel")),
        },
    };
    let fields = JobFields {
        version: data.get("version"),
        url: data.get("url"),
        size: data.get("size"),
        digest: data.get("md5").map(|v| (DigestAlgorithm::Md5, v)),
        module,
        task_id: None,
        token: None,
    };
    fields.notice(job)
}

#[cfg(test)]
#[cfg(feature = "ota")]
mod tests {
    use super::*;
    use iotcloud_core::ota::{ExpectedDigest, Firmware, OtaSupport};
    use iotcloud_core::provider::Provider;
    use iotcloud_testkit::{ota_subscriptions, system_subscriptions};
    use std::string::{String, ToString};

    const ID: &str = "6c95875d0f5ba69607nzfl";
    const MD5: &str = "7d3f4e2a1b0c9d8e7f6a5b4c3d2e1f0a";

    fn tuya() -> Tuya<'static> {
        Tuya::with_secret(ID, "fb803786602df760")
            .unwrap()
            .with_product_id("kxdqapfsnqwnlcyx")
            .unwrap()
    }

    fn ctx(module: Option<&'static str>, unix_time_ms: Option<u64>) -> OtaContext<'static> {
        OtaContext {
            firmware: Firmware {
                version: "1.0.0",
                module,
            },
            message_id: 45,
            unix_time_ms,
        }
    }

    fn text(p: &Publication<'_>) -> (String, String) {
        (
            p.topic.into(),
            String::from_utf8(p.payload.to_vec()).unwrap(),
        )
    }

    fn issue(payload: &str, job: &mut [u8]) -> Notice {
        tuya().notice(
            &std::format!("tylink/{ID}/ota/issue"),
            payload.as_bytes(),
            job,
        )
    }

    #[test]
    fn ota_is_supported_and_the_topics_are_tuyalinks() {
        let t = tuya();
        assert_eq!(t.ota_support(), OtaSupport::Supported);
        assert!(t.ota().is_ok());
        let cases = [
            (t.ota_firmware_report(), "ota/firmware/report"),
            (t.ota_issue(), "ota/issue"),
            (t.ota_get(), "ota/get"),
            (t.ota_get_response(), "ota/get_response"),
            (t.ota_progress_report(), "ota/progress/report"),
        ];
        for (topic, suffix) in cases {
            assert_eq!(topic.to_string(), std::format!("tylink/{ID}/{suffix}"));
        }
    }

    #[test]
    fn the_ota_downlinks_are_subscribed_only_without_the_auto_subscribe_channel() {
        // The auto-subscribe channel routes the OTA downlinks too: nothing more to subscribe.
        let t = tuya();
        assert_eq!(ota_subscriptions(&t), []);
        // Without it, the OTA downlinks are subscribed one by one, and only they.
        let quiet = t.with_auto_subscribe(false);
        assert_eq!(system_subscriptions(&quiet), []);
        assert_eq!(
            ota_subscriptions(&quiet),
            [
                (std::format!("tylink/{ID}/ota/issue"), QoS::AtLeastOnce),
                (
                    std::format!("tylink/{ID}/ota/get_response"),
                    QoS::AtLeastOnce
                ),
            ]
        );
    }

    #[test]
    fn the_version_report_and_the_job_request_are_in_tuyas_envelope() {
        let t = tuya();
        let mut buf = [0u8; 1024];
        let mut s = Scratch::new(&mut buf);
        let r = t
            .version_report(&ctx(None, Some(1_626_197_189_638)), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&r),
            (
                std::format!("tylink/{ID}/ota/firmware/report"),
                r#"{"msgId":"45","time":1626197189638,"data":{"bizType":"INIT","pid":"kxdqapfsnqwnlcyx","otaChannel":[{"channel":0,"version":"1.0.0"}]}}"#.into()
            )
        );
        assert_eq!(r.qos, QoS::AtMostOnce);
        // Without a product id or the time, they are left out; a module is a channel.
        let plain = Tuya::with_secret(ID, "fb803786602df760").unwrap();
        let r = plain
            .version_report(&ctx(Some("9"), None), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&r).1,
            r#"{"msgId":"45","data":{"bizType":"INIT","otaChannel":[{"channel":9,"version":"1.0.0"}]}}"#
        );
        let r = t.job_request(&ctx(None, None), &mut s).unwrap().unwrap();
        assert_eq!(
            text(&r),
            (
                std::format!("tylink/{ID}/ota/get"),
                r#"{"msgId":"45","data":{}}"#.into()
            )
        );
        assert_eq!(r.qos, QoS::AtMostOnce);
        assert_eq!(
            t.version_report(&ctx(Some("mcu"), None), &mut s),
            Err(ProviderError::InvalidValue {
                key: "module",
                reason: "Tuya names modules by channel number (0 main module, 1 Bluetooth, \
                         3 Zigbee, 9 MCU)"
            })
        );
    }

    #[test]
    fn an_upgrade_notice_becomes_a_job() {
        let payload = std::format!(
            r#"{{"msgId":"1234","time":1626197189638,"data":{{"channel":0,"version":"1.0.1","url":"https://images.tuyacn.com/smart/fw/main.bin?sign=a%2Fb","size":"152136","md5":"{MD5}","hmac":"ABCDEF","upgradeType":0,"execTime":0}}}}"#
        );
        let mut buf = [0u8; 512];
        let Notice::Job(n) = issue(&payload, &mut buf) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&buf[..n]).unwrap();
        assert_eq!(job.version(), "1.0.1");
        assert_eq!(
            job.url(),
            "https://images.tuyacn.com/smart/fw/main.bin?sign=a%2Fb"
        );
        assert_eq!(job.size(), Some(152_136));
        assert_eq!(
            job.digest(),
            ExpectedDigest::from_hex(DigestAlgorithm::Md5, MD5).unwrap()
        );
        assert_eq!(
            (job.module(), job.task_id(), job.bearer_token()),
            (None, None, None)
        );
        // Another channel is the job's module; the pull's answer carries jobs too.
        let payload = payload.replace("\"channel\":0", "\"channel\":9");
        let Notice::Job(n) = tuya().notice(
            &std::format!("tylink/{ID}/ota/get_response"),
            payload.as_bytes(),
            &mut buf,
        ) else {
            panic!("not a job");
        };
        assert_eq!(OtaJob::decode(&buf[..n]).unwrap().module(), Some("9"));
    }

    #[test]
    fn malformed_notices_are_refused_by_name_and_other_messages_pass() {
        let mut buf = [0u8; 512];
        let t = tuya();
        assert_eq!(
            t.notice(
                &std::format!("tylink/{ID}/thing/property/set"),
                b"{}",
                &mut buf
            ),
            Notice::NotOta
        );
        assert!(matches!(
            issue("not json", &mut buf),
            Notice::Invalid(OtaNoticeError::NotJson(_))
        ));
        assert_eq!(
            issue(r#"{"msgId":"1","data":{}}"#, &mut buf),
            Notice::Invalid(OtaNoticeError::MissingField("data.url"))
        );
        assert_eq!(
            t.notice(
                &std::format!("tylink/{ID}/ota/get_response"),
                br#"{"msgId":"1","code":0,"data":{}}"#,
                &mut buf
            ),
            Notice::Other
        );
        let ok = std::format!(
            r#"{{"msgId":"1","data":{{"channel":0,"version":"2","url":"https://h/f","size":3,"md5":"{MD5}"}}}}"#
        );
        assert!(matches!(issue(&ok, &mut buf), Notice::Job(_)));
        let cases = [
            (
                ok.replace(&std::format!(r#","md5":"{MD5}""#), ""),
                OtaNoticeError::MissingField("digest"),
            ),
            (
                ok.replace(MD5, "abc"),
                OtaNoticeError::InvalidField("digest"),
            ),
            (
                ok.replace("\"size\":3", "\"size\":\"3 MB\""),
                OtaNoticeError::InvalidField("size"),
            ),
            (
                ok.replace("\"channel\":0", "\"channel\":\"main\""),
                OtaNoticeError::InvalidField("channel"),
            ),
            (
                ok.replace("\"channel\":0", "\"channel\":300"),
                OtaNoticeError::InvalidField("channel"),
            ),
            (
                ok.replace(r#""version":"2","#, ""),
                OtaNoticeError::MissingField("version"),
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(
                issue(&payload, &mut buf),
                Notice::Invalid(want),
                "{payload}"
            );
        }
    }

    #[test]
    fn progress_failures_and_the_update_confirmation() {
        let t = tuya();
        let mut job_buf = [0u8; 256];
        let payload = std::format!(
            r#"{{"data":{{"channel":9,"version":"2.0.0","url":"https://h/f","size":10,"md5":"{MD5}"}}}}"#
        );
        let Notice::Job(n) = issue(&payload, &mut job_buf) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&job_buf[..n]).unwrap();
        let progress = std::format!("tylink/{ID}/ota/progress/report");
        let firmware = std::format!("tylink/{ID}/ota/firmware/report");
        let cases = [
            (
                OtaStatus::Downloading { percent: 50 },
                &progress,
                r#"{"channel":9,"progress":50}"#,
                QoS::AtMostOnce,
            ),
            (
                OtaStatus::Installing,
                &progress,
                r#"{"channel":9,"progress":100}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::DigestMismatch),
                &progress,
                r#"{"channel":9,"errorCode":5,"errorMsg":"digest mismatch"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Timeout),
                &progress,
                r#"{"channel":9,"errorCode":2,"errorMsg":"download timed out"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Done,
                &firmware,
                r#"{"bizType":"UPDATE","pid":"kxdqapfsnqwnlcyx","otaChannel":[{"channel":9,"version":"2.0.0"}]}"#,
                QoS::AtLeastOnce,
            ),
        ];
        for (status, topic, data, qos) in cases {
            let mut buf = [0u8; 512];
            let mut s = Scratch::new(&mut buf);
            let r = t
                .report(Some(&job), status, &ctx(None, Some(7)), &mut s)
                .unwrap()
                .unwrap();
            assert_eq!(
                text(&r),
                (
                    topic.clone(),
                    std::format!(r#"{{"msgId":"45","time":7,"data":{data}}}"#)
                ),
                "{status:?}"
            );
            assert_eq!(r.qos, qos, "{status:?}");
        }
        // After a reboot: the running version, on the firmware's channel.
        let mut buf = [0u8; 512];
        let mut s = Scratch::new(&mut buf);
        let r = t
            .report(None, OtaStatus::Done, &ctx(None, None), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&r).1,
            r#"{"msgId":"45","data":{"bizType":"UPDATE","pid":"kxdqapfsnqwnlcyx","otaChannel":[{"channel":0,"version":"1.0.0"}]}}"#
        );
        let codes = [
            OtaFailure::Download,
            OtaFailure::Timeout,
            OtaFailure::NotFound,
            OtaFailure::Unauthorized,
            OtaFailure::DigestMismatch,
            OtaFailure::SizeMismatch,
            OtaFailure::Storage,
            OtaFailure::Install,
            OtaFailure::Busy,
        ]
        .map(ota_error_code);
        assert_eq!(codes, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
}
