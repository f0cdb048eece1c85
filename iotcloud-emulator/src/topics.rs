//! Each cloud's topic rules, from its documentation: which topics a device owns (the ACL),
//! where commands go, the OTA notice format, the answers the cloud gives to system messages,
//! and how version and progress reports read.

use serde_json::{Value, json};

use crate::Cloud;
use crate::encoding::event_time;
use crate::login::Identity;

/// Whether the topic name or filter `topic` is one of `who`'s own: the cloud names the
/// device in fixed levels, and a wildcard in those levels is someone else's topic too.
pub(crate) fn owns(who: &Identity, topic: &str) -> bool {
    let levels: Vec<&str> = topic.split('/').collect();
    let at = |i: usize| levels.get(i).copied().unwrap_or("");
    let (p, d) = (who.product.as_str(), who.device.as_str());
    match who.cloud {
        // `/{pk}/{dn}/…`, `/sys/{pk}/{dn}/…`, `/ota/device/inform/{pk}/{dn}`, `/ext/ntp/{pk}/{dn}/…`
        // and Tencent's `$thing/up/property/{pid}/{dn}`, `{pid}/{dn}/data`, `$ota/report/{pid}/{dn}`:
        // the product and device as two consecutive levels.
        Cloud::Aliyun | Cloud::Tencent => levels.windows(2).any(|w| w[0] == p && w[1] == d),
        Cloud::OneNet => at(0) == "$sys" && at(1) == p && at(2) == d,
        Cloud::Huawei => at(0) == "$oc" && at(1) == "devices" && at(2) == d,
        Cloud::Tuya => at(0) == "tylink" && at(1) == d,
        Cloud::Baidu => at(0) == "$iot" && at(1) == d,
        Cloud::Tlink => at(0) == d,
    }
}

/// The topic a command from the cloud is delivered on, by default: the cloud's own
/// downlink for property sets or commands.
pub(crate) fn command_topic(who: &Identity, serial: u64) -> String {
    let (p, d) = (&who.product, &who.device);
    match who.cloud {
        Cloud::Aliyun => format!("/sys/{p}/{d}/thing/service/property/set"),
        Cloud::Tencent => format!("$thing/down/property/{p}/{d}"),
        Cloud::OneNet => format!("$sys/{p}/{d}/thing/property/set"),
        Cloud::Huawei => format!("$oc/devices/{d}/sys/commands/request_id={serial}"),
        Cloud::Tuya => format!("tylink/{d}/thing/property/set"),
        Cloud::Baidu => format!("$iot/{d}/msg"),
        Cloud::Tlink => format!("{d}/command"),
    }
}

/// An upgrade the emulator offers a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtaOffer {
    /// Target version.
    pub version: String,
    /// Download URL on the emulator's firmware server.
    pub url: String,
    /// Image size in bytes.
    pub size: usize,
    /// Lower-case hex MD5 of the image.
    pub md5: String,
    /// Lower-case hex SHA-256 of the image.
    pub sha256: String,
    /// Huawei's download token (sent as `Authorization: Bearer`); empty for OneNET, whose
    /// download takes the device token.
    pub token: String,
    /// The job's id (OneNET: the numeric `tid`).
    pub task_id: String,
    /// For an image delivered over MQTT (Aliyun's file download): the stream and file
    /// ids the notice names instead of a URL (`url` is then empty).
    pub stream: Option<(u64, u64)>,
}

/// The OTA notice for `who` in its cloud's format, or why the cloud sends none.
pub(crate) fn ota_notice(
    who: &Identity,
    offer: &OtaOffer,
    now_secs: u64,
) -> Result<(String, String), &'static str> {
    let (p, d) = (&who.product, &who.device);
    let v = &offer.version;
    Ok(match who.cloud {
        // clouds-official §1.6 (b), with `dProtocol`, `streamId` and `streamFileId` in
        // place of `url` for an image delivered over MQTT.
        Cloud::Aliyun if offer.stream.is_some() => {
            let (stream, file) = offer.stream.unwrap_or_default();
            (
                format!("/ota/device/upgrade/{p}/{d}"),
                json!({"code": "1000", "id": now_secs, "message": "success", "data": {
                    "version": v, "size": offer.size, "md5": offer.md5,
                    "sign": offer.sha256, "signMethod": "SHA256", "dProtocol": "mqtt",
                    "streamId": stream, "streamFileId": file}})
                .to_string(),
            )
        }
        Cloud::Aliyun => (
            format!("/ota/device/upgrade/{p}/{d}"),
            json!({"code": "1000", "id": now_secs, "message": "success", "data": {
                "version": v, "size": offer.size, "url": offer.url, "md5": offer.md5,
                "sign": offer.sha256, "signMethod": "SHA256"}})
            .to_string(),
        ),
        // §2.4.
        Cloud::Tencent => (
            format!("$ota/update/{p}/{d}"),
            json!({"type": "update_firmware", "version": v, "url": offer.url,
                "md5sum": offer.md5, "file_size": offer.size, "task_id": offer.task_id})
            .to_string(),
        ),
        // §4.4: a package stored on IoTDA, downloaded with the access token.
        Cloud::Huawei => (
            format!("$oc/devices/{d}/sys/events/down"),
            json!({"object_device_id": d, "services": [{"service_id": "$ota",
                "event_type": "firmware_upgrade", "event_time": event_time(now_secs),
                "paras": {"version": v, "url": offer.url, "file_size": offer.size,
                    "access_token": offer.token, "expires": 86_400, "sign": offer.sha256,
                    "task_id": offer.task_id}}]})
            .to_string(),
        ),
        // §5.6 (b).
        Cloud::Tuya => (
            format!("tylink/{d}/ota/issue"),
            json!({"msgId": offer.task_id, "time": now_secs * 1000, "data": {"channel": 0,
                "version": v, "url": offer.url, "size": offer.size, "md5": offer.md5}})
            .to_string(),
        ),
        // Announced by `CloudEmulator::offer_ota`, which keeps the task for the HTTP API.
        Cloud::OneNet => {
            return Err("OneNET announces jobs over MQTT but runs them over its HTTP OTA API");
        }
        Cloud::Baidu => return Err("Baidu IoT Core has no device OTA"),
        Cloud::Tlink => return Err("Tlink has no OTA protocol"),
    })
}

/// What a device said about its firmware, read from a system message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtaReport {
    /// The version it runs.
    Version(String),
    /// Download or upgrade progress in percent.
    Progress(u8),
    /// Installing a verified image.
    Installing,
    /// The upgrade is done.
    Done,
    /// Failed, with the cloud's code or text.
    Failed(String),
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn percent(v: &Value) -> Option<u8> {
    text(v)?.parse::<u8>().ok().filter(|p| *p <= 100)
}

/// Reads an OTA report from a device's message, if it is one.
pub(crate) fn ota_report(who: &Identity, topic: &str, payload: &[u8]) -> Option<OtaReport> {
    let doc: Value = serde_json::from_slice(payload).ok()?;
    let (p, d) = (&who.product, &who.device);
    match who.cloud {
        Cloud::Aliyun if topic == format!("/ota/device/inform/{p}/{d}") => {
            text(&doc["params"]["version"]).map(OtaReport::Version)
        }
        Cloud::Aliyun if topic == format!("/ota/device/progress/{p}/{d}") => {
            let step: i64 = text(&doc["params"]["step"])?.parse().ok()?;
            match u8::try_from(step) {
                Ok(s) if (1..=100).contains(&s) => Some(OtaReport::Progress(s)),
                _ => Some(OtaReport::Failed(format!(
                    "step {step}: {}",
                    text(&doc["params"]["desc"]).unwrap_or_default()
                ))),
            }
        }
        Cloud::Tencent if topic == format!("$ota/report/{p}/{d}") => {
            let report = &doc["report"];
            match doc["type"].as_str()? {
                "report_version" => text(&report["version"]).map(OtaReport::Version),
                "report_progress" => {
                    let progress = &report["progress"];
                    match progress["state"].as_str()? {
                        "downloading" => percent(&progress["percent"]).map(OtaReport::Progress),
                        "burning" => Some(OtaReport::Installing),
                        "done" => Some(OtaReport::Done),
                        "fail" => Some(OtaReport::Failed(format!(
                            "result_code {}: {}",
                            text(&progress["result_code"]).unwrap_or_default(),
                            text(&progress["result_msg"]).unwrap_or_default()
                        ))),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        Cloud::Huawei if topic == format!("$oc/devices/{d}/sys/events/up") => {
            let service = doc["services"]
                .as_array()?
                .iter()
                .find(|s| s["service_id"] == "$ota")?;
            let paras = &service["paras"];
            match service["event_type"].as_str()? {
                "version_report" => text(&paras["fw_version"])
                    .or_else(|| text(&paras["sw_version"]))
                    .map(OtaReport::Version),
                "upgrade_progress_report" => match paras["result_code"].as_i64()? {
                    0 => percent(&paras["progress"]).map(OtaReport::Progress),
                    code => Some(OtaReport::Failed(format!("result_code {code}"))),
                },
                _ => None,
            }
        }
        Cloud::Tuya if topic == format!("tylink/{d}/ota/firmware/report") => {
            text(&doc["data"]["otaChannel"][0]["version"]).map(OtaReport::Version)
        }
        Cloud::Tuya if topic == format!("tylink/{d}/ota/progress/report") => {
            let data = &doc["data"];
            match text(&data["errorCode"]) {
                Some(code) => Some(OtaReport::Failed(format!(
                    "errorCode {code}: {}",
                    text(&data["errorMsg"]).unwrap_or_default()
                ))),
                None => percent(&data["progress"]).map(OtaReport::Progress),
            }
        }
        _ => None,
    }
}

/// The cloud's answer to a system message from the device, if it answers one.
pub(crate) fn system_answer(
    who: &Identity,
    topic: &str,
    payload: &[u8],
) -> Option<(String, String)> {
    let doc: Value = serde_json::from_slice(payload).ok()?;
    let (p, d) = (&who.product, &who.device);
    match who.cloud {
        // §2.4: a version report is answered with `report_version_rsp`.
        Cloud::Tencent
            if topic == format!("$ota/report/{p}/{d}") && doc["type"] == "report_version" =>
        {
            Some((
                format!("$ota/update/{p}/{d}"),
                json!({"type": "report_version_rsp", "version": doc["report"]["version"],
                    "result_code": 0, "result_msg": "success"})
                .to_string(),
            ))
        }
        // §1.6 (d): a job request is answered; `data` is empty with no job pending.
        Cloud::Aliyun if topic == format!("/sys/{p}/{d}/thing/ota/firmware/get") => Some((
            format!("/sys/{p}/{d}/thing/ota/firmware/get_reply"),
            json!({"code": 200, "data": {}, "id": doc["id"], "message": "success"}).to_string(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(cloud: Cloud, product: &str, device: &str) -> Identity {
        Identity {
            cloud,
            product: product.into(),
            device: device.into(),
        }
    }

    #[test]
    fn devices_own_only_their_topics() {
        let a = who(Cloud::Aliyun, "pk1", "dev1");
        assert!(owns(&a, "/sys/pk1/dev1/thing/event/property/post"));
        assert!(owns(&a, "/pk1/dev1/user/#"));
        assert!(!owns(&a, "/sys/pk1/dev2/thing/event/property/post"));
        assert!(!owns(&a, "/sys/pk1/+/thing/#"));
        assert!(!owns(&a, "#"));
        let h = who(Cloud::Huawei, "prod", "prod_node1");
        assert!(owns(&h, "$oc/devices/prod_node1/sys/#"));
        assert!(!owns(&h, "$oc/devices/+/sys/#"));
        let t = who(Cloud::Tlink, "", "SERIAL0001");
        assert!(owns(&t, "SERIAL0001"));
        assert!(owns(&t, "SERIAL0001/+"));
        assert!(!owns(&t, "SERIAL0002"));
    }

    #[test]
    fn reports_read_in_each_clouds_format() {
        let t = who(Cloud::Tencent, "PID", "dev");
        let done = br#"{"type":"report_progress","report":{"progress":{"state":"done","result_code":"0","result_msg":""},"version":"2.0.0"}}"#;
        assert_eq!(
            ota_report(&t, "$ota/report/PID/dev", done),
            Some(OtaReport::Done)
        );
        let a = who(Cloud::Aliyun, "pk", "dn");
        let fail = br#"{"id":1,"params":{"step":"-3","desc":"bad digest"}}"#;
        assert_eq!(
            ota_report(&a, "/ota/device/progress/pk/dn", fail),
            Some(OtaReport::Failed("step -3: bad digest".into()))
        );
        assert_eq!(ota_report(&a, "/ota/device/progress/pk/other", fail), None);
    }
}
