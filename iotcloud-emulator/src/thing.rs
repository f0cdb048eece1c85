//! The clouds' thing models, from the cloud's side: property sets and commands sent in each
//! cloud's format, the device's answers to them recognised and checked, and the cloud's own
//! answers to reports, events, desired-value fetches and time requests.
//!
//! Written from each cloud's documentation (Aliyun Alink JSON, Tencent's data template,
//! OneNET OneJSON, Huawei IoTDA, TuyaLink); Baidu and Tlink have no thing model.

use serde_json::{Map, Value, json};

use crate::Cloud;
use crate::encoding::event_time;
use crate::login::Identity;

/// What the cloud asked a device to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRequestKind {
    /// Set properties.
    PropertySet,
    /// Run the command (service, action) of this name.
    Command(String),
}

/// A request the cloud sent a device and the answer it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRequest {
    /// The device.
    pub to: Identity,
    /// Set or command.
    pub kind: DataRequestKind,
    /// The cloud's id for it, which the answer must carry.
    pub id: String,
    /// The topic it went out on.
    pub topic: String,
    /// The topic the answer must come on.
    pub reply_topic: String,
}

/// A device's answer to a request, as the cloud checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataAnswer {
    /// The device.
    pub from: Identity,
    /// The topic it came on.
    pub topic: String,
    /// The id it carried.
    pub id: String,
    /// The code it carried (the cloud's default where the field is optional).
    pub code: i64,
    /// Whether the code is the cloud's success code.
    pub success: bool,
    /// The request it answers, if it answers one on the right topic with the right id.
    pub answers: Option<DataRequest>,
    /// The output parameters it carried (commands), as JSON text.
    pub output: String,
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The Huawei service property sets and commands are addressed to.
pub const HUAWEI_SERVICE: &str = "Default";

/// The property set `values` (an object) for `who`, with request number `serial`, in its
/// cloud's format.
pub(crate) fn property_set(
    who: &Identity,
    serial: u64,
    values: &Value,
) -> Result<(String, String, DataRequest), &'static str> {
    request(who, serial, DataRequestKind::PropertySet, values)
}

/// The command `name` with `params` (an object) for `who`, in its cloud's format.
pub(crate) fn command(
    who: &Identity,
    serial: u64,
    name: &str,
    params: &Value,
) -> Result<(String, String, DataRequest), &'static str> {
    if name.is_empty() || name.contains(['/', '+', '#']) {
        return Err("a command name must be non-empty and hold no `/`, `+` or `#`");
    }
    request(
        who,
        serial,
        DataRequestKind::Command(name.to_owned()),
        params,
    )
}

fn request(
    who: &Identity,
    serial: u64,
    kind: DataRequestKind,
    values: &Value,
) -> Result<(String, String, DataRequest), &'static str> {
    if !values.is_object() {
        return Err("values and parameters must be a JSON object");
    }
    let (p, d) = (&who.product, &who.device);
    let now = now_ms();
    let name = match &kind {
        DataRequestKind::PropertySet => "",
        DataRequestKind::Command(n) => n.as_str(),
    };
    let set = matches!(kind, DataRequestKind::PropertySet);
    let id = match who.cloud {
        Cloud::Tencent => format!("clientToken-{serial}"),
        Cloud::Huawei => format!("rid-{serial}"),
        _ => serial.to_string(),
    };
    let (topic, body, reply_topic) = match who.cloud {
        Cloud::Aliyun if set => (
            format!("/sys/{p}/{d}/thing/service/property/set"),
            json!({"id": id, "version": "1.0", "params": values, "method": "thing.service.property.set"}),
            format!("/sys/{p}/{d}/thing/service/property/set_reply"),
        ),
        Cloud::Aliyun => (
            format!("/sys/{p}/{d}/thing/service/{name}"),
            json!({"id": id, "version": "1.0", "params": values, "method": format!("thing.service.{name}")}),
            format!("/sys/{p}/{d}/thing/service/{name}_reply"),
        ),
        Cloud::Tencent if set => (
            format!("$thing/down/property/{p}/{d}"),
            json!({"method": "control", "clientToken": id, "params": values}),
            format!("$thing/up/property/{p}/{d}"),
        ),
        Cloud::Tencent => (
            format!("$thing/down/action/{p}/{d}"),
            json!({"method": "action", "clientToken": id, "actionId": name, "timestamp": now / 1000, "params": values}),
            format!("$thing/up/action/{p}/{d}"),
        ),
        Cloud::OneNet if set => (
            format!("$sys/{p}/{d}/thing/property/set"),
            json!({"id": id, "version": "1.0", "params": values}),
            format!("$sys/{p}/{d}/thing/property/set_reply"),
        ),
        Cloud::OneNet => (
            format!("$sys/{p}/{d}/thing/service/{name}/invoke"),
            json!({"id": id, "version": "1.0", "params": values}),
            format!("$sys/{p}/{d}/thing/service/{name}/invoke_reply"),
        ),
        Cloud::Huawei if set => (
            format!("$oc/devices/{d}/sys/properties/set/request_id={id}"),
            json!({"object_device_id": d, "services": [{"service_id": HUAWEI_SERVICE, "properties": values}]}),
            format!("$oc/devices/{d}/sys/properties/set/response/request_id={id}"),
        ),
        Cloud::Huawei => (
            format!("$oc/devices/{d}/sys/commands/request_id={id}"),
            json!({"object_device_id": d, "command_name": name, "service_id": HUAWEI_SERVICE, "paras": values}),
            format!("$oc/devices/{d}/sys/commands/response/request_id={id}"),
        ),
        Cloud::Tuya if set => (
            format!("tylink/{d}/thing/property/set"),
            json!({"msgId": id, "time": now, "data": values, "sys": {"ack": 1}}),
            format!("tylink/{d}/thing/property/set_response"),
        ),
        Cloud::Tuya => (
            format!("tylink/{d}/thing/action/execute"),
            json!({"msgId": id, "time": now, "data": {"actionCode": name, "inputParams": values}}),
            format!("tylink/{d}/thing/action/execute_response"),
        ),
        Cloud::Baidu | Cloud::Tlink => {
            return Err("this cloud has no thing model: send a plain command instead");
        }
    };
    let request = DataRequest {
        to: who.clone(),
        kind,
        id,
        topic: topic.clone(),
        reply_topic,
    };
    Ok((topic, body.to_string(), request))
}

/// A member as text: strings as they are, numbers in decimal.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A member as an integer: a number or a string of digits.
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// Reads a device's answer to a property set or command from its message, if it is one:
/// the id, the code (`None`: absent), and the output parameters.
pub(crate) fn device_answer(
    who: &Identity,
    topic: &str,
    payload: &[u8],
) -> Option<(String, Option<i64>, Value)> {
    let doc: Value = serde_json::from_slice(payload).ok()?;
    let (p, d) = (&who.product, &who.device);
    match who.cloud {
        Cloud::Aliyun
            if topic.starts_with(&format!("/sys/{p}/{d}/thing/service/"))
                && topic.ends_with("_reply") =>
        {
            Some((text(&doc["id"])?, int(&doc["code"]), doc["data"].clone()))
        }
        Cloud::Tencent
            if (topic == format!("$thing/up/property/{p}/{d}")
                && doc["method"] == "control_reply")
                || (topic == format!("$thing/up/action/{p}/{d}")
                    && doc["method"] == "action_reply") =>
        {
            Some((
                text(&doc["clientToken"])?,
                int(&doc["code"]),
                doc["response"].clone(),
            ))
        }
        Cloud::OneNet
            if topic == format!("$sys/{p}/{d}/thing/property/set_reply")
                || (topic.starts_with(&format!("$sys/{p}/{d}/thing/service/"))
                    && topic.ends_with("/invoke_reply")) =>
        {
            Some((text(&doc["id"])?, int(&doc["code"]), doc["data"].clone()))
        }
        Cloud::Huawei => {
            let rest = topic.strip_prefix(&format!("$oc/devices/{d}/sys/"))?;
            let id = rest
                .strip_prefix("properties/set/response/request_id=")
                .or_else(|| rest.strip_prefix("commands/response/request_id="))?;
            Some((
                id.to_owned(),
                int(&doc["result_code"]),
                doc["paras"].clone(),
            ))
        }
        Cloud::Tuya
            if topic == format!("tylink/{d}/thing/property/set_response")
                || topic == format!("tylink/{d}/thing/action/execute_response") =>
        {
            Some((
                text(&doc["msgId"])?,
                int(&doc["code"]),
                doc["data"]["outputParams"].clone(),
            ))
        }
        _ => None,
    }
}

/// The code each cloud reads as success, and the one an absent code means.
fn success_code(cloud: Cloud) -> i64 {
    match cloud {
        Cloud::Aliyun | Cloud::OneNet => 200,
        _ => 0,
    }
}

/// Checks a device's answer against the requests waiting for one: the request it answers
/// (same device, id and reply topic) is taken off `waiting`.
pub(crate) fn check_answer(
    who: &Identity,
    topic: &str,
    payload: &[u8],
    waiting: &mut Vec<DataRequest>,
) -> Option<DataAnswer> {
    let (id, code, output) = device_answer(who, topic, payload)?;
    let ok = success_code(who.cloud);
    // Huawei and TuyaLink document the code as optional, success when absent.
    let code = code.unwrap_or(match who.cloud {
        Cloud::Huawei | Cloud::Tuya => ok,
        _ => i64::MIN,
    });
    let at = waiting
        .iter()
        .position(|r| &r.to == who && r.id == id && r.reply_topic == topic);
    Some(DataAnswer {
        from: who.clone(),
        topic: topic.to_owned(),
        id,
        code,
        success: code == ok,
        answers: at.map(|i| waiting.remove(i)),
        output: if output.is_null() {
            String::new()
        } else {
            output.to_string()
        },
    })
}

/// `desired` (name → value) in the `{"name":{"value":…,"version":1}}` form Aliyun, OneNET
/// and TuyaLink answer with; only the `names` asked for when a list is given. An empty list
/// is answered with every value: what the clouds do with one is not documented, and this is
/// the emulator's assumption.
fn versioned(desired: &Map<String, Value>, names: Option<&Vec<Value>>) -> Value {
    let wanted = |k: &String| names.is_none_or(|n| n.iter().any(|v| v.as_str() == Some(k)));
    Value::Object(
        desired
            .iter()
            .filter(|(k, _)| wanted(k))
            .map(|(k, v)| (k.clone(), json!({"value": v, "version": 1})))
            .collect(),
    )
}

/// The cloud's answer to a data message from the device — a report or event reply, the
/// desired values, the time — if it sends one. `desired` holds the desired values the
/// emulator keeps for the device.
pub(crate) fn cloud_answer(
    who: &Identity,
    topic: &str,
    payload: &[u8],
    desired: &Map<String, Value>,
) -> Option<(String, String)> {
    let doc: Value = serde_json::from_slice(payload).ok()?;
    let (p, d) = (&who.product, &who.device);
    let now = now_ms();
    let answer = match who.cloud {
        Cloud::Aliyun => {
            let sys = format!("/sys/{p}/{d}/thing/");
            if topic == format!("/ext/ntp/{p}/{d}/request") {
                (
                    format!("/ext/ntp/{p}/{d}/response"),
                    json!({"deviceSendTime": doc["deviceSendTime"], "serverRecvTime": now.to_string(), "serverSendTime": now.to_string()}),
                )
            } else if topic == format!("{sys}property/desired/get") {
                (
                    format!("{topic}_reply"),
                    json!({"id": doc["id"], "code": 200, "data": versioned(desired, doc["params"].as_array().filter(|n| !n.is_empty()))}),
                )
            } else if topic.starts_with(&format!("{sys}event/")) && topic.ends_with("/post") {
                // `"sys":{"ack":0}` asks for no reply.
                if doc["sys"]["ack"] == 0 {
                    return None;
                }
                (
                    format!("{topic}_reply"),
                    json!({"code": 200, "data": {}, "id": doc["id"], "message": "success", "method": doc["method"], "version": "1.0"}),
                )
            } else {
                return None;
            }
        }
        Cloud::Tencent => {
            let method = doc["method"].as_str().unwrap_or_default();
            if topic == format!("$sys/operation/{p}/{d}") && doc["type"] == "get" {
                (
                    format!("$sys/operation/result/{p}/{d}"),
                    json!({"type": "get", "time": now / 1000, "ntptime1": now, "ntptime2": now}),
                )
            } else if topic == format!("$thing/up/property/{p}/{d}") && method == "report" {
                (
                    format!("$thing/down/property/{p}/{d}"),
                    json!({"method": "report_reply", "clientToken": doc["clientToken"], "code": 0, "status": "success"}),
                )
            } else if topic == format!("$thing/up/property/{p}/{d}") && method == "get_status" {
                (
                    format!("$thing/down/property/{p}/{d}"),
                    json!({"method": "get_status_reply", "clientToken": doc["clientToken"], "code": 0, "status": "success",
                        "data": {"reported": {}, "control": desired}}),
                )
            } else if topic == format!("$thing/up/event/{p}/{d}") && method == "event_post" {
                (
                    format!("$thing/down/event/{p}/{d}"),
                    json!({"method": "event_reply", "clientToken": doc["clientToken"], "version": "1.0", "code": 0, "status": "", "data": {}}),
                )
            } else {
                return None;
            }
        }
        Cloud::OneNet => {
            let sys = format!("$sys/{p}/{d}/thing/");
            if topic == format!("{sys}property/post") || topic == format!("{sys}event/post") {
                (
                    format!("{topic}/reply"),
                    json!({"id": doc["id"], "code": 200, "msg": "success"}),
                )
            } else if topic == format!("{sys}property/desired/get") {
                (
                    format!("{topic}/reply"),
                    json!({"id": doc["id"], "code": 200, "msg": "success", "data": versioned(desired, doc["params"].as_array().filter(|n| !n.is_empty()))}),
                )
            } else {
                return None;
            }
        }
        Cloud::Huawei => {
            let sys = format!("$oc/devices/{d}/sys/");
            if let Some(rid) = topic.strip_prefix(&format!("{sys}shadow/get/request_id=")) {
                let service = doc["service_id"].as_str().unwrap_or(HUAWEI_SERVICE);
                let at = event_time(now / 1000);
                (
                    format!("{sys}shadow/get/response/request_id={rid}"),
                    json!({"object_device_id": d, "shadow": [{"service_id": service,
                        "desired": {"properties": desired, "event_time": at},
                        "reported": {"properties": {}, "event_time": at}, "version": 1}]}),
                )
            } else if topic == format!("{sys}events/up") {
                let service = doc["services"]
                    .as_array()?
                    .iter()
                    .find(|s| s["service_id"] == "$time_sync")?;
                if service["event_type"] != "time_sync_request" {
                    return None;
                }
                (
                    format!("{sys}events/down"),
                    json!({"object_device_id": d, "services": [{"service_id": "$time_sync",
                        "event_type": "time_sync_response", "event_time": event_time(now / 1000),
                        "paras": {"device_send_time": service["paras"]["device_send_time"],
                            "server_recv_time": now, "server_send_time": now}}]}),
                )
            } else {
                return None;
            }
        }
        Cloud::Tuya => {
            let base = format!("tylink/{d}/");
            let ack = doc["sys"]["ack"] == 1;
            let reply = |code_topic: &str, data: Option<Value>| {
                let mut body = json!({"msgId": doc["msgId"], "time": now, "code": 0});
                if let Some(data) = data {
                    body["data"] = data;
                }
                (format!("{base}{code_topic}"), body)
            };
            if topic == format!("{base}ext/time/request") {
                (
                    format!("{base}ext/time/response"),
                    json!({"msgId": doc["msgId"], "time": now, "data": {"bizType": "NTP",
                        "dst": doc["data"]["dst"], "srt": now, "sst": now}}),
                )
            } else if topic == format!("{base}thing/property/desired/get") {
                let names = doc["data"].as_array().filter(|n| !n.is_empty());
                // The answer's form is not documented; this is the form Aliyun and OneNET
                // answer in, which TuyaLink's other replies follow.
                reply(
                    "thing/property/desired/get_response",
                    Some(versioned(desired, names)),
                )
            } else if topic == format!("{base}thing/property/report") && ack {
                reply("thing/property/report_response", None)
            } else if topic == format!("{base}thing/event/trigger") && ack {
                reply("thing/event/trigger_response", None)
            } else {
                return None;
            }
        }
        Cloud::Baidu | Cloud::Tlink => return None,
    };
    Some((answer.0, answer.1.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(cloud: Cloud) -> Identity {
        Identity {
            cloud,
            product: "P1".into(),
            device: "d1".into(),
        }
    }

    #[test]
    fn requests_go_out_in_each_clouds_format_and_their_answers_are_matched() {
        let values = json!({"on": true});
        let (topic, body, req) = property_set(&who(Cloud::Aliyun), 7, &values).unwrap();
        assert_eq!(topic, "/sys/P1/d1/thing/service/property/set");
        assert_eq!(
            body,
            r#"{"id":"7","method":"thing.service.property.set","params":{"on":true},"version":"1.0"}"#
        );
        let mut waiting = vec![req];
        // The wrong id answers nothing; the right one on the right topic answers the set.
        let wrong = check_answer(
            &who(Cloud::Aliyun),
            "/sys/P1/d1/thing/service/property/set_reply",
            br#"{"id":"8","code":200,"data":{}}"#,
            &mut waiting,
        )
        .unwrap();
        assert_eq!((wrong.answers.is_none(), waiting.len()), (true, 1));
        let right = check_answer(
            &who(Cloud::Aliyun),
            "/sys/P1/d1/thing/service/property/set_reply",
            br#"{"id":"7","code":200,"data":{}}"#,
            &mut waiting,
        )
        .unwrap();
        assert!(right.success && right.answers.is_some() && waiting.is_empty());

        let (topic, body, req) =
            command(&who(Cloud::Huawei), 3, "reboot", &json!({"delay": 1})).unwrap();
        assert_eq!(topic, "$oc/devices/d1/sys/commands/request_id=rid-3");
        assert_eq!(
            body,
            r#"{"command_name":"reboot","object_device_id":"d1","paras":{"delay":1},"service_id":"Default"}"#
        );
        let mut waiting = vec![req];
        // IoTDA's result_code is optional: absent is success.
        let a = check_answer(
            &who(Cloud::Huawei),
            "$oc/devices/d1/sys/commands/response/request_id=rid-3",
            br#"{"paras":{"took":1}}"#,
            &mut waiting,
        )
        .unwrap();
        assert_eq!(
            (a.code, a.success, a.output.as_str()),
            (0, true, r#"{"took":1}"#)
        );
        assert!(command(&who(Cloud::Baidu), 1, "x", &json!({})).is_err());
        assert!(command(&who(Cloud::Aliyun), 1, "a/b", &json!({})).is_err());
        assert!(property_set(&who(Cloud::Tuya), 1, &json!([1])).is_err());
    }

    #[test]
    fn the_cloud_answers_reports_desired_fetches_and_time_requests() {
        let mut desired = Map::new();
        desired.insert("on".into(), json!(false));
        desired.insert("level".into(), json!(3));
        let (topic, body) = cloud_answer(
            &who(Cloud::OneNet),
            "$sys/P1/d1/thing/property/desired/get",
            br#"{"id":"4","version":"1.0","params":["on"]}"#,
            &desired,
        )
        .unwrap();
        assert_eq!(topic, "$sys/P1/d1/thing/property/desired/get/reply");
        assert_eq!(
            body,
            r#"{"code":200,"data":{"on":{"value":false,"version":1}},"id":"4","msg":"success"}"#
        );
        let (topic, body) = cloud_answer(
            &who(Cloud::Aliyun),
            "/ext/ntp/P1/d1/request",
            br#"{"deviceSendTime":"123"}"#,
            &desired,
        )
        .unwrap();
        assert_eq!(topic, "/ext/ntp/P1/d1/response");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["deviceSendTime"], "123");
        assert!(
            v["serverRecvTime"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 1_700_000_000_000
        );
        // Aliyun answers no post that asks for no reply; TuyaLink only posts that ask.
        assert!(
            cloud_answer(
                &who(Cloud::Aliyun),
                "/sys/P1/d1/thing/event/property/post",
                br#"{"id":"1","sys":{"ack":0},"params":{}}"#,
                &desired
            )
            .is_none()
        );
        assert!(
            cloud_answer(
                &who(Cloud::Tuya),
                "tylink/d1/thing/property/report",
                br#"{"msgId":"1","time":1,"data":{}}"#,
                &desired
            )
            .is_none()
        );
        assert!(
            cloud_answer(
                &who(Cloud::Tuya),
                "tylink/d1/thing/property/report",
                br#"{"msgId":"1","time":1,"data":{},"sys":{"ack":1}}"#,
                &desired
            )
            .is_some()
        );
    }
}
