//! OTA over MQTT, as Tencent documents it (clouds-official §2.4): every message carries a
//! `type`; the device publishes on `$ota/report/{pid}/{dn}` and receives on
//! `$ota/update/{pid}/{dn}`.
//!
//! - ↑ `report_version` is both the version report and the request for a pending job: the
//!   platform answers with `report_version_rsp` and, when a job waits, `update_firmware`.
//! - ↓ `update_firmware` carries `version`, `url`, `md5sum`, `file_size` and, when the
//!   console set them, `task_id` and `fw_type`.
//! - ↑ `report_progress` carries `report.progress` (`state`, `percent`, `result_code`,
//!   `result_msg`) and, next to it inside `report`, the target `version`.

#[cfg(feature = "ota")]
use core::fmt::Write as _;

#[cfg(feature = "ota")]
use iotcloud_core::json::{JsonStr, Value};
#[cfg(feature = "ota")]
use iotcloud_core::mqtt::{QoS, SubscribeTopic};
use iotcloud_core::ota::OtaFailure;
#[cfg(feature = "ota")]
use iotcloud_core::ota::{
    DigestAlgorithm, JobFields, Notice, OtaContext, OtaFormat, OtaJob, OtaStatus,
};
use iotcloud_core::provider::TopicPath;
#[cfg(feature = "ota")]
use iotcloud_core::provider::{ProviderError, Publication, publication, subscription};
#[cfg(feature = "ota")]
use iotcloud_core::scratch::{Scratch, TextWriter};

use crate::Tencent;

impl<'a> Tencent<'a> {
    /// ↑ Version reports and progress: `$ota/report/{pid}/{dn}`.
    pub fn ota_report_topic(&self) -> TopicPath<'a> {
        self.system("$ota/report/")
    }

    /// ↓ Upgrade notices and replies to version reports: `$ota/update/{pid}/{dn}`.
    pub fn ota_update_topic(&self) -> TopicPath<'a> {
        self.system("$ota/update/")
    }
}

/// Tencent's `result_code` for a failure: -1 download timeout, -2 file does not exist,
/// -3 signature expired (the download was refused), -4 MD5 mismatch, -5 update failed.
///
/// A download that failed for another reason (connection, HTTP status) is reported as -1,
/// the only code about the download itself; a size mismatch as -4, since the image is not
/// the one announced; storage, installation and busy failures as -5.
pub fn ota_result_code(failure: OtaFailure) -> i8 {
    match failure {
        OtaFailure::Timeout | OtaFailure::Download => -1,
        OtaFailure::NotFound => -2,
        OtaFailure::Unauthorized => -3,
        OtaFailure::DigestMismatch | OtaFailure::SizeMismatch => -4,
        _ => -5,
    }
}

/// `,"fw_type":"…"` when there is a firmware type.
#[cfg(feature = "ota")]
fn fw_type_member(w: &mut TextWriter<'_>, fw_type: Option<&str>) -> core::fmt::Result {
    match fw_type {
        Some(t) => write!(w, ",\"fw_type\":{}", JsonStr(t)),
        None => Ok(()),
    }
}

#[cfg(feature = "ota")]
impl OtaFormat for Tencent<'_> {
    /// The OTA downlink, `$ota/update/{pid}/{dn}` (QoS 1): upgrade notices and the replies
    /// to version reports.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        if index > 0 {
            return Ok(None);
        }
        subscription(
            scratch,
            "device_name",
            self.ota_update_topic(),
            QoS::AtLeastOnce,
        )
        .map(Some)
    }

    /// `{"type":"report_version","report":{"version":"…"}}` (with `fw_type` for a named
    /// module) on `$ota/report/{pid}/{dn}`.
    fn version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let fw = ctx.firmware;
        publication(scratch, self.ota_report_topic(), QoS::AtMostOnce, |w| {
            write!(
                w,
                "{{\"type\":\"report_version\",\"report\":{{\"version\":{}",
                JsonStr(fw.version)
            )?;
            fw_type_member(w, fw.module)?;
            w.write_str("}}")
        })
        .map(Some)
    }

    /// None: Tencent's version report is also the request for a pending job.
    fn job_request<'s>(
        &self,
        _ctx: &OtaContext<'_>,
        _scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        Ok(None)
    }

    /// `update_firmware` on `$ota/update/{pid}/{dn}` is a job; any other message there
    /// (`report_version_rsp`) is the application's.
    fn notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice {
        if !self.ota_update_topic().is(topic) {
            return Notice::NotOta;
        }
        let doc = match Value::parse(payload) {
            Ok(doc) => doc,
            Err(e) => return Notice::Invalid(e.into()),
        };
        // `report_version_rsp`, and any type this crate does not know, go to the application.
        if !doc.get("type").is_some_and(|t| t.eq_str("update_firmware")) {
            return Notice::Other;
        }
        let fields = JobFields {
            version: doc.get("version"),
            url: doc.get("url"),
            size: doc.get("file_size"),
            digest: doc.get("md5sum").map(|v| (DigestAlgorithm::Md5, v)),
            module: doc.get("fw_type"),
            task_id: doc.get("task_id"),
            token: None,
        };
        fields.notice(job)
    }

    /// `report_progress` with the state `downloading`, `burning`, `done` or `fail` (codes
    /// from [`ota_result_code`]).
    fn report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let (state, percent, code, msg, qos): (&str, Option<u8>, i8, &str, QoS) = match status {
            OtaStatus::Downloading { percent } => (
                "downloading",
                Some(percent.min(100)),
                0,
                "",
                QoS::AtMostOnce,
            ),
            OtaStatus::Installing => ("burning", None, 0, "", QoS::AtLeastOnce),
            OtaStatus::Done => ("done", None, 0, "", QoS::AtLeastOnce),
            OtaStatus::Failed(f) => (
                "fail",
                None,
                ota_result_code(f),
                f.describe(),
                QoS::AtLeastOnce,
            ),
        };
        // The target version; after a reboot the job is gone and the device runs it.
        let version = job.map_or(ctx.firmware.version, |j| j.version());
        let fw_type = job.and_then(|j| j.module()).or(ctx.firmware.module);
        let task_id = job.and_then(|j| j.task_id());
        publication(scratch, self.ota_report_topic(), qos, |w| {
            write!(
                w,
                "{{\"type\":\"report_progress\",\"report\":{{\"progress\":{{\"state\":\"{state}\""
            )?;
            if let Some(percent) = percent {
                write!(w, ",\"percent\":\"{percent}\"")?;
            }
            write!(
                w,
                ",\"result_code\":\"{code}\",\"result_msg\":{}}},\"version\":{}",
                JsonStr(msg),
                JsonStr(version)
            )?;
            fw_type_member(w, fw_type)?;
            if let Some(task) = task_id {
                write!(w, ",\"task_id\":{}", JsonStr(task))?;
            }
            w.write_str("}}")
        })
        .map(Some)
    }
}

#[cfg(test)]
#[cfg(feature = "ota")]
mod tests {
    use super::*;
    use iotcloud_core::ota::{ExpectedDigest, Firmware, OtaNoticeError, OtaSupport};
    use iotcloud_core::provider::Provider;
    use std::string::{String, ToString};

    const MD5: &str = "f2d3c2f3b8e6a1d4c5b6a7f8e9d0c1b2";
    const TOPIC: &str = "$ota/update/LD8S5J1L07/test";

    fn tencent() -> Tencent<'static> {
        Tencent::with_secret("LD8S5J1L07", "test", "acyv3QDJrRa0fW5UE58KnQ==").unwrap()
    }

    fn ctx(module: Option<&'static str>) -> OtaContext<'static> {
        OtaContext {
            firmware: Firmware {
                version: "1.0.0",
                module,
            },
            message_id: 7,
            unix_time_ms: None,
        }
    }

    fn text(p: &Publication<'_>) -> (String, String) {
        (
            p.topic.into(),
            String::from_utf8(p.payload.to_vec()).unwrap(),
        )
    }

    fn notice(payload: &str, job: &mut [u8]) -> Notice {
        tencent().notice(TOPIC, payload.as_bytes(), job)
    }

    #[test]
    fn ota_is_supported_and_the_topics_are_tencents() {
        let t = tencent();
        assert_eq!(t.ota_support(), OtaSupport::Supported);
        assert_eq!(
            t.ota_report_topic().to_string(),
            "$ota/report/LD8S5J1L07/test"
        );
        assert_eq!(t.ota_update_topic().to_string(), TOPIC);
    }

    #[test]
    fn the_version_report_is_the_job_request() {
        let t = tencent();
        let mut buf = [0u8; 512];
        let mut s = Scratch::new(&mut buf);
        let r = t.version_report(&ctx(None), &mut s).unwrap().unwrap();
        assert_eq!(
            text(&r),
            (
                "$ota/report/LD8S5J1L07/test".into(),
                r#"{"type":"report_version","report":{"version":"1.0.0"}}"#.into()
            )
        );
        assert_eq!(r.qos, QoS::AtMostOnce);
        let r = t
            .version_report(&ctx(Some("mcu\"1")), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&r).1,
            r#"{"type":"report_version","report":{"version":"1.0.0","fw_type":"mcu\"1"}}"#
        );
        assert_eq!(t.job_request(&ctx(None), &mut s), Ok(None));
    }

    #[test]
    fn an_update_firmware_notice_becomes_a_job() {
        let payload = std::format!(
            r#"{{"file_size":708482,"md5sum":"{MD5}","type":"update_firmware","url":"https://ota-1254092559.cos.ap-guangzhou.myqcloud.com/fw.bin?sign=q%3D1","version":"1.1.0","task_id":"1207","fw_type":"mcu"}}"#
        );
        let mut buf = [0u8; 512];
        let Notice::Job(n) = notice(&payload, &mut buf) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&buf[..n]).unwrap();
        assert_eq!(job.version(), "1.1.0");
        assert_eq!(
            job.url(),
            "https://ota-1254092559.cos.ap-guangzhou.myqcloud.com/fw.bin?sign=q%3D1"
        );
        assert_eq!(job.size(), Some(708_482));
        assert_eq!(job.digest().algorithm(), DigestAlgorithm::Md5);
        assert_eq!(
            job.digest(),
            ExpectedDigest::from_hex(DigestAlgorithm::Md5, MD5).unwrap()
        );
        assert_eq!(job.module(), Some("mcu"));
        assert_eq!(job.task_id(), Some("1207"));
        assert_eq!(job.bearer_token(), None);
    }

    #[test]
    fn malformed_notices_are_refused_by_name_and_other_messages_pass() {
        let mut buf = [0u8; 512];
        let t = tencent();
        assert_eq!(
            t.notice("LD8S5J1L07/test/control", b"{}", &mut buf),
            Notice::NotOta
        );
        assert_eq!(
            t.notice("$ota/update/LD8S5J1L07/other", b"{}", &mut buf),
            Notice::NotOta
        );
        assert!(matches!(
            notice("not json", &mut buf),
            Notice::Invalid(OtaNoticeError::NotJson(_))
        ));
        let ok = std::format!(
            r#"{{"type":"update_firmware","version":"2","url":"https://h/f","md5sum":"{MD5}","file_size":3}}"#
        );
        assert!(matches!(notice(&ok, &mut buf), Notice::Job(_)));
        let cases = [
            (
                ok.replace(r#""url":"https://h/f","#, ""),
                OtaNoticeError::MissingField("url"),
            ),
            (
                ok.replace(r#""version":"2","#, ""),
                OtaNoticeError::MissingField("version"),
            ),
            (
                ok.replace(&std::format!(r#""md5sum":"{MD5}","#), ""),
                OtaNoticeError::MissingField("digest"),
            ),
            (
                ok.replace(MD5, &MD5[..30]),
                OtaNoticeError::InvalidField("digest"),
            ),
            (
                ok.replace("\"file_size\":3", "\"file_size\":\"big\""),
                OtaNoticeError::InvalidField("size"),
            ),
            (
                ok.replace("https://h/f", "ftp://h/f"),
                OtaNoticeError::InvalidField("url"),
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(
                notice(&payload, &mut buf),
                Notice::Invalid(want),
                "{payload}"
            );
        }
        // The reply to a version report, and unknown types, are the application's.
        let rsp = r#"{"type":"report_version_rsp","version":"1.0.0","result_code":0,"result_msg":"success"}"#;
        assert_eq!(notice(rsp, &mut buf), Notice::Other);
        assert_eq!(notice(r#"{"version":"1"}"#, &mut buf), Notice::Other);
        // A job too large for the job buffer says so.
        assert!(matches!(
            notice(&ok, &mut [0u8; 8]),
            Notice::Invalid(OtaNoticeError::TooLarge { capacity: 8, .. })
        ));
    }

    #[test]
    fn progress_done_and_failures_use_tencents_states_and_codes() {
        let t = tencent();
        let mut job_buf = [0u8; 256];
        let payload = std::format!(
            r#"{{"type":"update_firmware","version":"1.1.0","url":"https://h/f","md5sum":"{MD5}","file_size":10,"task_id":"77","fw_type":"mcu"}}"#
        );
        let Notice::Job(n) = notice(&payload, &mut job_buf) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&job_buf[..n]).unwrap();
        let tail = r#","version":"1.1.0","fw_type":"mcu","task_id":"77"}}"#;
        let cases = [
            (
                OtaStatus::Downloading { percent: 42 },
                r#"{"state":"downloading","percent":"42","result_code":"0","result_msg":""}"#,
                QoS::AtMostOnce,
            ),
            (
                OtaStatus::Downloading { percent: 250 },
                r#"{"state":"downloading","percent":"100","result_code":"0","result_msg":""}"#,
                QoS::AtMostOnce,
            ),
            (
                OtaStatus::Installing,
                r#"{"state":"burning","result_code":"0","result_msg":""}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Done,
                r#"{"state":"done","result_code":"0","result_msg":""}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::DigestMismatch),
                r#"{"state":"fail","result_code":"-4","result_msg":"digest mismatch"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Timeout),
                r#"{"state":"fail","result_code":"-1","result_msg":"download timed out"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::NotFound),
                r#"{"state":"fail","result_code":"-2","result_msg":"firmware file not found"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Unauthorized),
                r#"{"state":"fail","result_code":"-3","result_msg":"download refused: URL or token expired"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Install),
                r#"{"state":"fail","result_code":"-5","result_msg":"install failed"}"#,
                QoS::AtLeastOnce,
            ),
        ];
        for (status, progress, qos) in cases {
            let mut buf = [0u8; 512];
            let mut s = Scratch::new(&mut buf);
            let r = t
                .report(Some(&job), status, &ctx(None), &mut s)
                .unwrap()
                .unwrap();
            let (topic, body) = text(&r);
            assert_eq!(topic, "$ota/report/LD8S5J1L07/test");
            assert_eq!(
                body,
                std::format!(
                    r#"{{"type":"report_progress","report":{{"progress":{progress}{tail}"#
                ),
                "{status:?}"
            );
            assert_eq!(r.qos, qos, "{status:?}");
        }
        // After a reboot the job is gone: `done` names the version now running.
        let mut buf = [0u8; 512];
        let mut s = Scratch::new(&mut buf);
        let r = t
            .report(None, OtaStatus::Done, &ctx(None), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&r).1,
            r#"{"type":"report_progress","report":{"progress":{"state":"done","result_code":"0","result_msg":""},"version":"1.0.0"}}"#
        );
        assert_eq!(ota_result_code(OtaFailure::SizeMismatch), -4);
        assert_eq!(ota_result_code(OtaFailure::Download), -1);
        assert_eq!(ota_result_code(OtaFailure::Storage), -5);
        assert_eq!(ota_result_code(OtaFailure::Busy), -5);
    }
}
