//! OTA over MQTT, as IoTDA documents it (clouds-official §4.4): events with
//! `service_id` `$ota` on `$oc/devices/{id}/sys/events/up` and `…/events/down`, in the
//! envelope `{"object_device_id":…,"services":[{"service_id","event_type","event_time",
//! "paras"}]}`.
//!
//! - ↓ `version_query`: the platform asks for the versions; the device answers with
//!   ↑ `version_report` (`sw_version`, `fw_version`).
//! - ↓ `firmware_upgrade` / `software_upgrade` (package stored on IoTDA: the download
//!   presents `access_token` as a bearer token) and their `_v2` variants (package in
//!   object storage behind a pre-signed URL, no token): `version`, `url`, `file_size`,
//!   `sign` (SHA-256, hex), `task_id`.
//! - ↑ `upgrade_progress_report`: `result_code`, `progress`, `version` (the version the
//!   device runs) and `description`.
//!
//! Events of other services (`$sub_device_manager`, …) and `$ota` events this crate does
//! not act on reach the application untouched; `$time_sync` answers do too, unless the data
//! model is enabled, which reads them (see `data.rs`).

#[cfg(feature = "ota")]
use core::fmt::{self, Write as _};

#[cfg(feature = "ota")]
use iotcloud_core::json::{JsonStr, Kind, Value};
#[cfg(feature = "ota")]
use iotcloud_core::mqtt::QoS;
use iotcloud_core::ota::OtaFailure;
#[cfg(feature = "ota")]
use iotcloud_core::ota::{
    DigestAlgorithm, JobFields, Notice, OtaContext, OtaFormat, OtaJob, OtaStatus,
};
#[cfg(feature = "ota")]
use iotcloud_core::provider::{ProviderError, Publication, publication};
#[cfg(feature = "ota")]
use iotcloud_core::scratch::{Scratch, TextWriter};

#[cfg(feature = "ota")]
use crate::{HourStamp, Huawei, MAX_DEVICE_ID_LEN};

/// The `service_id` of OTA events.
pub const OTA_SERVICE: &str = "$ota";

/// IoTDA's `result_code` for a failure, the closest of its table: 1 device in use, 5
/// insufficient storage, 6 download timeout, 7 package verification failed, 10
/// installation failed.
///
/// IoTDA has one code about the download itself (6, timeout); every download failure
/// (timeout, connection, HTTP status, missing file, refused credentials) is reported with
/// it, and the description says which. A size mismatch is a verification failure (7).
pub fn ota_result_code(failure: OtaFailure) -> u8 {
    match failure {
        OtaFailure::Busy => 1,
        OtaFailure::Storage => 5,
        OtaFailure::DigestMismatch | OtaFailure::SizeMismatch => 7,
        OtaFailure::Install => 10,
        _ => 6,
    }
}

/// IoTDA's `$ota` events. No subscription of its own: `sys/events/down` is under the
/// system subscription ([`Huawei::with_sys_subscription`]), and IoTDA delivers it at QoS 0
/// without one.
#[cfg(feature = "ota")]
impl OtaFormat for Huawei<'_> {
    /// The `$ota` event `version_report` with `sw_version` and `fw_version` (only one of
    /// them when the firmware's module is `software` or `firmware`). Also the answer to the
    /// platform's `version_query`.
    fn version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let fw = ctx.firmware;
        // One image is both the software and the firmware, unless the module says which.
        let is = |name: &str| fw.module.is_some_and(|m| m.eq_ignore_ascii_case(name));
        let (software, firmware) = match (is("software"), is("firmware")) {
            (true, _) => (true, false),
            (_, true) => (false, true),
            _ => (true, true),
        };
        event(self, "version_report", ctx, QoS::AtMostOnce, scratch, |w| {
            if software {
                write!(w, "\"sw_version\":{}", JsonStr(fw.version))?;
            }
            if software && firmware {
                w.write_char(',')?;
            }
            if firmware {
                write!(w, "\"fw_version\":{}", JsonStr(fw.version))?;
            }
            Ok(())
        })
    }

    /// None: IoTDA pushes a pending upgrade itself (it asks for the version first).
    fn job_request<'s>(
        &self,
        _ctx: &OtaContext<'_>,
        _scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        Ok(None)
    }

    /// On `sys/events/down`: `$ota` `version_query` asks for the version report;
    /// `firmware_upgrade`, `software_upgrade` and their `_v2` variants are jobs; any other
    /// event is the application's.
    fn notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice {
        if !self.events_down().is(topic) {
            return Notice::NotOta;
        }
        let doc = match Value::parse(payload) {
            Ok(doc) => doc,
            Err(e) => return Notice::Invalid(e.into()),
        };
        let services = doc.get("services");
        let ota = services.as_ref().and_then(|services| {
            services
                .elements()
                .find(|s| s.get("service_id").is_some_and(|id| id.eq_str(OTA_SERVICE)))
        });
        // Another service's event (time sync, sub-devices, …) is the application's.
        let Some(ota) = ota else {
            return Notice::Other;
        };
        let Some(event_type) = ota.get("event_type") else {
            return Notice::Invalid(iotcloud_core::ota::OtaNoticeError::MissingField(
                "event_type",
            ));
        };
        if event_type.eq_str("version_query") {
            return Notice::VersionQuery;
        }
        let Some((module, with_token)) = module_of(event_type) else {
            return Notice::Other;
        };
        let Some(paras) = ota.get("paras").filter(|v| v.kind() == Kind::Object) else {
            return Notice::Invalid(iotcloud_core::ota::OtaNoticeError::MissingField("paras"));
        };
        let fields = JobFields {
            version: paras.get("version"),
            url: paras.get("url"),
            size: paras.get("file_size"),
            digest: paras.get("sign").map(|v| (DigestAlgorithm::Sha256, v)),
            module: Value::parse(module).ok(),
            task_id: paras.get("task_id"),
            // A pre-signed object-storage URL must not be sent a token it did not ask for.
            token: if with_token {
                paras.get("access_token")
            } else {
                None
            },
        };
        fields.notice(job)
    }

    /// The `$ota` event `upgrade_progress_report`; codes from [`ota_result_code`].
    fn report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        // `version` is what the device runs: the old one until the new one is installed.
        let running = ctx.firmware.version;
        let (code, progress, version, description, qos): (u8, Option<u8>, &str, &str, QoS) =
            match status {
                OtaStatus::Downloading { percent } => (
                    0,
                    Some(percent.min(100)),
                    running,
                    "downloading",
                    QoS::AtMostOnce,
                ),
                OtaStatus::Installing => (0, Some(100), running, "installing", QoS::AtLeastOnce),
                OtaStatus::Done => (
                    0,
                    Some(100),
                    job.map_or(running, |j| j.version()),
                    "upgraded",
                    QoS::AtLeastOnce,
                ),
                OtaStatus::Failed(f) => (
                    ota_result_code(f),
                    None,
                    running,
                    f.describe(),
                    QoS::AtLeastOnce,
                ),
            };
        event(self, "upgrade_progress_report", ctx, qos, scratch, |w| {
            write!(w, "\"result_code\":{code}")?;
            if let Some(progress) = progress {
                write!(w, ",\"progress\":{progress}")?;
            }
            write!(
                w,
                ",\"version\":{},\"description\":{}",
                JsonStr(version),
                JsonStr(description)
            )
        })
    }
}

/// `yyyyMMdd'T'HHmmss'Z'` in UTC, as IoTDA time-stamps events.
#[cfg(feature = "ota")]
struct EventTime {
    hour: HourStamp,
    minute: u64,
    second: u64,
}

#[cfg(feature = "ota")]
impl EventTime {
    /// The time of `unix_ms`, if it has a four-digit year.
    fn from_unix_ms(unix_ms: u64) -> Option<Self> {
        let secs = unix_ms / 1000;
        let hour = HourStamp::from_unix(secs, 0).ok()?;
        Some(EventTime {
            hour,
            minute: secs % 3600 / 60,
            second: secs % 60,
        })
    }
}

#[cfg(feature = "ota")]
impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.hour;
        write!(
            f,
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            h.year(),
            h.month(),
            h.day(),
            h.hour(),
            self.minute,
            self.second
        )
    }
}

/// Publishes one `$ota` event of `event_type` whose `paras` members `paras` writes.
#[cfg(feature = "ota")]
fn event<'s>(
    p: &Huawei<'_>,
    event_type: &str,
    ctx: &OtaContext<'_>,
    qos: QoS,
    scratch: &mut Scratch<'s>,
    paras: impl FnOnce(&mut TextWriter<'_>) -> fmt::Result,
) -> Result<Option<Publication<'s>>, ProviderError> {
    let mut id_buf = [0u8; MAX_DEVICE_ID_LEN];
    let id = Scratch::new(&mut id_buf).format(format_args!("{}", p.device_id()))?;
    let time = ctx.unix_time_ms.and_then(EventTime::from_unix_ms);
    publication(scratch, p.events_up(), qos, |w| {
        write!(
            w,
            "{{\"object_device_id\":{},\"services\":[{{\"service_id\":\"{OTA_SERVICE}\",\
             \"event_type\":\"{event_type}\"",
            JsonStr(id)
        )?;
        if let Some(time) = time {
            write!(w, ",\"event_time\":\"{time}\"")?;
        }
        w.write_str(",\"paras\":{")?;
        paras(w)?;
        w.write_str("}}]}")
    })
    .map(Some)
}

/// The module an upgrade event names: the part of the device it replaces.
#[cfg(feature = "ota")]
fn module_of(event_type: Value<'_>) -> Option<(&'static [u8], bool)> {
    // (module as a JSON string, whether the package is on IoTDA and needs the token)
    [
        ("firmware_upgrade", b"\"firmware\"" as &[u8], true),
        ("software_upgrade", b"\"software\"", true),
        ("firmware_upgrade_v2", b"\"firmware\"", false),
        ("software_upgrade_v2", b"\"software\"", false),
    ]
    .into_iter()
    .find(|(name, _, _)| event_type.eq_str(name))
    .map(|(_, module, token)| (module, token))
}

#[cfg(test)]
#[cfg(feature = "ota")]
mod tests {
    use super::*;
    use crate::DeviceId;
    use iotcloud_core::ota::{ExpectedDigest, Firmware, OtaNoticeError, OtaSupport};
    use iotcloud_core::provider::Provider;
    use iotcloud_testkit::ota_subscriptions;
    use std::string::String;

    const ID: &str = "6203cc94c7fb24029b110408_88888888";
    const DOWN: &str = "$oc/devices/6203cc94c7fb24029b110408_88888888/sys/events/down";
    const UP: &str = "$oc/devices/6203cc94c7fb24029b110408_88888888/sys/events/up";
    const SHA: &str = "a3c5e2f1b4d6c8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8";

    fn huawei() -> Huawei<'static> {
        Huawei::with_secret(DeviceId::new(ID).unwrap(), "123456789").unwrap()
    }

    fn ctx(module: Option<&'static str>, unix_time_ms: Option<u64>) -> OtaContext<'static> {
        OtaContext {
            firmware: Firmware {
                version: "1.0.0",
                module,
            },
            message_id: 9,
            unix_time_ms,
        }
    }

    fn text(p: &Publication<'_>) -> (String, String) {
        (
            p.topic.into(),
            String::from_utf8(p.payload.to_vec()).unwrap(),
        )
    }

    fn notice(payload: &str, job: &mut [u8]) -> Notice {
        huawei().notice(DOWN, payload.as_bytes(), job)
    }

    fn upgrade(event_type: &str, paras: &str) -> String {
        std::format!(
            r#"{{"object_device_id":"{ID}","services":[{{"service_id":"$ota","event_type":"{event_type}","event_time":"20151212T121212Z","paras":{paras}}}]}}"#
        )
    }

    fn paras() -> String {
        std::format!(
            r#"{{"version":"v1.2","url":"https://100.93.28.202:8943/iodm/dev/v2.0/upgradefile/applications/ab/devices/{ID}/packages/fw.bin","file_size":81362,"file_name":"fw.bin","access_token":"595124473f866b033dfa1f","expires":86400,"sign":"{SHA}","custom_info":"","task_id":"5e3b1b2e","sub_device_count":0,"task_ext_info":{{"lwm2m_fw_version":"1"}}}}"#
        )
    }

    #[test]
    fn ota_is_supported_and_needs_no_subscription_of_its_own() {
        let h = huawei();
        assert_eq!(h.ota_support(), OtaSupport::Supported);
        assert_eq!(ota_subscriptions(&h), []);
        let mut buf = [0u8; 128];
        assert_eq!(
            h.system_subscription(1, &mut Scratch::new(&mut buf)),
            Ok(None)
        );
        assert_eq!(
            h.job_request(&ctx(None, None), &mut Scratch::new(&mut buf)),
            Ok(None)
        );
    }

    #[test]
    fn the_version_report_names_both_versions_and_the_event_time_in_utc() {
        let h = huawei();
        let mut buf = [0u8; 1024];
        let mut s = Scratch::new(&mut buf);
        // 2023-11-14 22:13:20.456 UTC.
        let r = h
            .version_report(&ctx(None, Some(1_700_000_000_456)), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&r),
            (
                UP.into(),
                std::format!(
                    r#"{{"object_device_id":"{ID}","services":[{{"service_id":"$ota","event_type":"version_report","event_time":"20231114T221320Z","paras":{{"sw_version":"1.0.0","fw_version":"1.0.0"}}}}]}}"#
                )
            )
        );
        assert_eq!(r.qos, QoS::AtMostOnce);
        // Without the time, no event_time; a module names which version it is.
        let r = h
            .version_report(&ctx(Some("Software"), None), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&r).1,
            std::format!(
                r#"{{"object_device_id":"{ID}","services":[{{"service_id":"$ota","event_type":"version_report","paras":{{"sw_version":"1.0.0"}}}}]}}"#
            )
        );
        let r = h
            .version_report(&ctx(Some("firmware"), None), &mut s)
            .unwrap()
            .unwrap();
        assert!(text(&r).1.ends_with(r#""paras":{"fw_version":"1.0.0"}}]}"#));
    }

    #[test]
    fn event_times_are_formatted_for_any_four_digit_year() {
        let t = |ms| EventTime::from_unix_ms(ms).map(|t| std::format!("{t}"));
        assert_eq!(t(0).as_deref(), Some("19700101T000000Z"));
        assert_eq!(t(951_825_599_000).as_deref(), Some("20000229T115959Z"));
        assert_eq!(t(u64::MAX), None);
    }

    #[test]
    fn an_upgrade_event_becomes_a_job_with_its_token() {
        let mut buf = [0u8; 512];
        let Notice::Job(n) = notice(&upgrade("firmware_upgrade", &paras()), &mut buf) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&buf[..n]).unwrap();
        assert_eq!(job.version(), "v1.2");
        assert!(job.url().starts_with("https://100.93.28.202:8943/iodm/"));
        assert_eq!(job.size(), Some(81_362));
        assert_eq!(job.digest().algorithm(), DigestAlgorithm::Sha256);
        assert_eq!(
            job.digest(),
            ExpectedDigest::from_hex(DigestAlgorithm::Sha256, SHA).unwrap()
        );
        assert_eq!(job.bearer_token(), Some("595124473f866b033dfa1f"));
        assert_eq!(job.task_id(), Some("5e3b1b2e"));
        assert_eq!(job.module(), Some("firmware"));
        assert!(!std::format!("{job:?}").contains("595124473f866b033dfa1f"));

        let Notice::Job(n) = notice(&upgrade("software_upgrade", &paras()), &mut buf) else {
            panic!("not a job");
        };
        assert_eq!(
            OtaJob::decode(&buf[..n]).unwrap().module(),
            Some("software")
        );
        // Packages in object storage: a pre-signed URL and no token.
        let Notice::Job(n) = notice(&upgrade("firmware_upgrade_v2", &paras()), &mut buf) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&buf[..n]).unwrap();
        assert_eq!((job.module(), job.bearer_token()), (Some("firmware"), None));
    }

    #[test]
    fn queries_other_events_and_malformed_notices_are_told_apart() {
        let mut buf = [0u8; 512];
        assert_eq!(
            notice(&upgrade("version_query", "{}"), &mut buf),
            Notice::VersionQuery
        );
        let h = huawei();
        assert_eq!(
            h.notice(
                "$oc/devices/6203cc94c7fb24029b110408_88888888/sys/messages/down",
                b"{}",
                &mut buf
            ),
            Notice::NotOta
        );
        let time_sync = r#"{"services":[{"service_id":"$time_sync","event_type":"time_sync_response","paras":{"device_send_time":1,"server_recv_time":2,"server_send_time":3}}]}"#;
        assert_eq!(notice(time_sync, &mut buf), Notice::Other);
        assert_eq!(notice(r#"{"x":1}"#, &mut buf), Notice::Other);
        assert_eq!(
            notice(&upgrade("upgrade_progress_report", "{}"), &mut buf),
            Notice::Other
        );
        assert!(matches!(
            notice("not json", &mut buf),
            Notice::Invalid(OtaNoticeError::NotJson(_))
        ));
        assert_eq!(
            notice(
                r#"{"services":[{"service_id":"$ota","paras":{}}]}"#,
                &mut buf
            ),
            Notice::Invalid(OtaNoticeError::MissingField("event_type"))
        );
        assert_eq!(
            notice(
                r#"{"services":[{"service_id":"$ota","event_type":"firmware_upgrade"}]}"#,
                &mut buf
            ),
            Notice::Invalid(OtaNoticeError::MissingField("paras"))
        );
        let ok = paras();
        let cases = [
            (
                ok.replace(r#""url":"#, r#""link":"#),
                OtaNoticeError::MissingField("url"),
            ),
            (
                ok.replace(r#""sign":"#, r#""md5":"#),
                OtaNoticeError::MissingField("digest"),
            ),
            (
                ok.replace(SHA, &SHA[..32]),
                OtaNoticeError::InvalidField("digest"),
            ),
            (
                ok.replace("81362", "\"81 kB\""),
                OtaNoticeError::InvalidField("size"),
            ),
            (
                ok.replace(r#""version":"v1.2","#, ""),
                OtaNoticeError::MissingField("version"),
            ),
        ];
        for (paras, want) in cases {
            assert_eq!(
                notice(&upgrade("firmware_upgrade", &paras), &mut buf),
                Notice::Invalid(want),
                "{paras}"
            );
        }
    }

    #[test]
    fn progress_carries_the_running_version_until_done() {
        let h = huawei();
        let mut job_buf = [0u8; 512];
        let Notice::Job(n) = notice(&upgrade("firmware_upgrade", &paras()), &mut job_buf) else {
            panic!("not a job");
        };
        let job = OtaJob::decode(&job_buf[..n]).unwrap();
        let cases = [
            (
                OtaStatus::Downloading { percent: 80 },
                r#"{"result_code":0,"progress":80,"version":"1.0.0","description":"downloading"}"#,
                QoS::AtMostOnce,
            ),
            (
                OtaStatus::Installing,
                r#"{"result_code":0,"progress":100,"version":"1.0.0","description":"installing"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Done,
                r#"{"result_code":0,"progress":100,"version":"v1.2","description":"upgraded"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::DigestMismatch),
                r#"{"result_code":7,"version":"1.0.0","description":"digest mismatch"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Timeout),
                r#"{"result_code":6,"version":"1.0.0","description":"download timed out"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Storage),
                r#"{"result_code":5,"version":"1.0.0","description":"firmware storage failed"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Install),
                r#"{"result_code":10,"version":"1.0.0","description":"install failed"}"#,
                QoS::AtLeastOnce,
            ),
            (
                OtaStatus::Failed(OtaFailure::Busy),
                r#"{"result_code":1,"version":"1.0.0","description":"another upgrade is in progress"}"#,
                QoS::AtLeastOnce,
            ),
        ];
        for (status, paras, qos) in cases {
            let mut buf = [0u8; 512];
            let mut s = Scratch::new(&mut buf);
            let r = h
                .report(Some(&job), status, &ctx(None, Some(0)), &mut s)
                .unwrap()
                .unwrap();
            assert_eq!(
                text(&r),
                (
                    UP.into(),
                    std::format!(
                        r#"{{"object_device_id":"{ID}","services":[{{"service_id":"$ota","event_type":"upgrade_progress_report","event_time":"19700101T000000Z","paras":{paras}}}]}}"#
                    )
                ),
                "{status:?}"
            );
            assert_eq!(r.qos, qos, "{status:?}");
        }
        // After a reboot the job is gone and the running version is the new one.
        let mut buf = [0u8; 512];
        let mut s = Scratch::new(&mut buf);
        let r = h
            .report(None, OtaStatus::Done, &ctx(None, None), &mut s)
            .unwrap()
            .unwrap();
        assert!(text(&r).1.ends_with(
            r#""paras":{"result_code":0,"progress":100,"version":"1.0.0","description":"upgraded"}}]}"#
        ));
        assert_eq!(ota_result_code(OtaFailure::NotFound), 6);
        assert_eq!(ota_result_code(OtaFailure::SizeMismatch), 7);
    }
}
