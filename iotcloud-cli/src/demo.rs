//! `iotcloud demo`: the cloud emulator in-process, and for each chosen cloud one device
//! taken through its whole life with the SDK — register, connect, publish telemetry,
//! receive a command, receive an OTA job and download it, report the result, disconnect —
//! printed as a timeline. A device with one credential field changed is refused. Then, where
//! the cloud has a data model, a device with no wall clock at all connects, fetches the
//! desired values, learns the time, reports, answers a property set and a command, posts an
//! event, and reconnects signing with the time it learned.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hal_host::{FileSink, FileStore, SystemClock, TcpTransport};
use iotcloud::iotcloud_core::Clock as _;
use iotcloud::iotcloud_core::device::OtaEvent;
use iotcloud::iotcloud_core::mqtt::SubackCode;
use iotcloud::iotcloud_core::ota::{DownloadSettings, Firmware, OtaStatus, Progress};
use iotcloud::iotcloud_core::provider::SignContext;
use iotcloud::{AnyProvider, Config, Error, Event, Provider as _, QoS, TransitionError};
use iotcloud_emulator::catalog::demo as names;
use iotcloud_emulator::{Cloud, CloudEmulator, OtaReport, image};

use crate::host::{self, Memory};
use crate::runtime;

mod data;
mod psk;

/// How long any one step may wait for the emulator or the device.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// The firmware the demo devices run, and the one offered.
const OLD_VERSION: &str = "1.0.0";
const NEW_VERSION: &str = "2.0.0";
const IMAGE_LEN: usize = 96 * 1024;

/// The clouds the `--cloud` values chose: names, `all`, or comma-separated lists of them;
/// none given, all.
pub(crate) fn parse_clouds(values: &[String]) -> Result<Vec<Cloud>, String> {
    let mut chosen: Option<Vec<Cloud>> = None;
    for value in values {
        let list = chosen.get_or_insert_with(Vec::new);
        for name in value.split(',') {
            if name == "all" {
                list.extend(Cloud::ALL);
            } else {
                list.push(name.parse::<Cloud>().map_err(|e| e.to_string())?);
            }
        }
    }
    let mut clouds = chosen.unwrap_or_else(|| Cloud::ALL.to_vec());
    clouds.sort();
    clouds.dedup();
    Ok(clouds)
}

/// The timeline: one line per step, with the time since the demo started.
struct Timeline {
    start: Instant,
    cloud: Cloud,
    tty: bool,
}

impl Timeline {
    fn line(&self, step: &str, status: &str, detail: &str) {
        let t = self.start.elapsed().as_secs_f64();
        crate::output::line(&format!(
            "{t:>7.3}s  {:<8} {step:<10} {status:<4}  {}",
            self.cloud.name(),
            // Topics and payloads came over a socket, from the emulator.
            iotcloud::iotcloud_core::Printable(detail)
        ));
    }

    fn ok(&self, step: &str, detail: &str) {
        self.line(step, "ok", detail);
    }

    fn skip(&self, step: &str, why: &str) {
        self.line(step, "skip", why);
    }

    fn progress(&self, p: &Progress, last: &mut u8) {
        let percent = p.percent.unwrap_or(0);
        if self.tty {
            let filled = usize::from(percent) / 4;
            crate::output::partial(&format!(
                "\r           download   [{}{}] {percent:>3}% {} / {} bytes",
                "#".repeat(filled),
                " ".repeat(25 - filled),
                p.received,
                p.total.map_or("?".into(), |t| t.to_string())
            ));
            if percent == 100 {
                crate::output::line("");
            }
        } else if percent >= last.saturating_add(25) || (percent == 100 && *last < 100) {
            *last = percent;
            let filled = usize::from(percent) / 4;
            self.line(
                "download",
                "..",
                &format!(
                    "[{}{}] {percent:>3}% {} bytes",
                    "#".repeat(filled),
                    " ".repeat(25 - filled),
                    p.received
                ),
            );
        }
    }
}

/// `iotcloud demo [--cloud NAME|all]`, given the `--cloud` values.
pub(crate) fn demo(cloud_values: &[String]) -> Result<String, String> {
    let clouds = parse_clouds(cloud_values)?;
    let emulator = CloudEmulator::start(names::accounts(), &clouds)
        .map_err(|e| format!("starting the emulator: {e}"))?;
    let start = Instant::now();
    crate::output::line(&format!(
        "iotcloud demo: the cloud emulator runs on 127.0.0.1 (registration {}); one device per cloud",
        emulator.registration().url()
    ));
    let rt = runtime()?;
    let mut failed = Vec::new();
    for &cloud in &clouds {
        let tl = Timeline {
            start,
            cloud,
            tty: std::io::stdout().is_terminal(),
        };
        if let Err(e) = rt.block_on(life(&emulator, &tl)) {
            tl.line("failed", "FAIL", &e);
            failed.push(cloud.name());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    if failed.is_empty() {
        Ok(format!(
            "demo passed: {} cloud(s), every step succeeded, in {secs:.2} s",
            clouds.len()
        ))
    } else {
        Err(format!(
            "demo failed for {} (in {secs:.2} s)",
            failed.join(", ")
        ))
    }
}

/// The device name the emulator knows each demo device by.
fn device_name(cloud: Cloud) -> String {
    match cloud {
        Cloud::Aliyun => names::ALIYUN_DEVICE.into(),
        Cloud::Tencent => names::TENCENT_DEVICE.into(),
        Cloud::OneNet => names::ONENET_DEVICE.into(),
        Cloud::Huawei => format!("{}_{}", names::HUAWEI_PRODUCT, names::HUAWEI_NODE),
        Cloud::Tuya => names::TUYA_DEVICE.into(),
        Cloud::Baidu => names::BAIDU_DEVICE.into(),
        Cloud::Tlink => names::TLINK_SERIAL.into(),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The configuration a user would give for the demo device of `cloud`, pointed at the
/// emulator: registration where the cloud has it, the device's own credentials otherwise.
pub(crate) fn demo_config(emulator: &CloudEmulator, cloud: Cloud) -> Vec<(String, String)> {
    let port = emulator.mqtt_port(cloud).unwrap_or(1).to_string();
    let reg = emulator.registration().url();
    let mut out = pairs(&[("host", "127.0.0.1"), ("port", &port), ("tls", "false")]);
    out.extend(match cloud {
        Cloud::Aliyun => pairs(&[
            ("product_id", names::ALIYUN_PRODUCT),
            ("device_name", names::ALIYUN_DEVICE),
            ("product_secret", names::ALIYUN_PRODUCT_SECRET),
            ("register_flow", "register"),
        ]),
        Cloud::Tencent => pairs(&[
            ("product_id", names::TENCENT_PRODUCT),
            ("device_name", names::TENCENT_DEVICE),
            ("product_secret", names::TENCENT_PRODUCT_SECRET),
            ("register_url", &reg),
        ]),
        Cloud::OneNet => pairs(&[
            ("product_id", names::ONENET_PRODUCT),
            ("device_name", names::ONENET_DEVICE),
            ("userid", names::ONENET_USER),
            ("userkey", names::ONENET_USER_KEY),
            ("register_url", &format!("{reg}/device/create")),
        ]),
        Cloud::Huawei => pairs(&[
            ("product_id", names::HUAWEI_PRODUCT),
            ("device_name", names::HUAWEI_NODE),
            ("project_id", names::HUAWEI_PROJECT),
            ("iam_domain", names::HUAWEI_DOMAIN),
            ("iam_username", names::HUAWEI_USER),
            ("iam_password", names::HUAWEI_PASSWORD),
            ("region", names::HUAWEI_REGION),
            ("endpoint", "emulator"),
            ("service_id", "Meter"),
            ("iam_url", &format!("{reg}/v3/auth/tokens")),
            (
                "register_url",
                &format!("{reg}/v5/iot/{}/devices", names::HUAWEI_PROJECT),
            ),
        ]),
        Cloud::Tuya => pairs(&[
            ("device_name", names::TUYA_DEVICE),
            ("device_secret", names::TUYA_SECRET),
        ]),
        Cloud::Baidu => pairs(&[
            ("product_id", names::BAIDU_CORE),
            ("device_name", names::BAIDU_DEVICE),
            ("device_secret", names::BAIDU_SECRET),
        ]),
        Cloud::Tlink => pairs(&[
            ("product_id", names::TLINK_USER),
            ("device_name", names::TLINK_SERIAL),
            ("product_secret", names::TLINK_PASSWORD),
        ]),
    });
    out
}

/// The device's own credentials as the emulator holds them (after registration), with the
/// secret changed in its last character when `tamper` is set.
pub(crate) fn direct_config(
    emulator: &CloudEmulator,
    cloud: Cloud,
    tamper: bool,
) -> Vec<(String, String)> {
    let accounts = emulator.accounts();
    let port = emulator.mqtt_port(cloud).unwrap_or(1).to_string();
    let mut out = pairs(&[("host", "127.0.0.1"), ("port", &port), ("tls", "false")]);
    let (mut list, secret_key, secret): (Vec<(String, String)>, &str, String) = match cloud {
        Cloud::Aliyun => (
            pairs(&[
                ("product_id", names::ALIYUN_PRODUCT),
                ("device_name", names::ALIYUN_DEVICE),
            ]),
            "device_secret",
            accounts
                .aliyun
                .first()
                .and_then(|p| p.devices.first())
                .map(|d| d.device_secret.clone())
                .unwrap_or_default(),
        ),
        Cloud::Tencent => (
            pairs(&[
                ("product_id", names::TENCENT_PRODUCT),
                ("device_name", names::TENCENT_DEVICE),
            ]),
            "device_secret",
            accounts
                .tencent
                .first()
                .and_then(|p| p.devices.first())
                .map(|d| d.psk.clone())
                .unwrap_or_default(),
        ),
        Cloud::OneNet => (
            pairs(&[
                ("product_id", names::ONENET_PRODUCT),
                ("device_name", names::ONENET_DEVICE),
            ]),
            "device_secret",
            accounts
                .onenet
                .first()
                .and_then(|u| u.products.first())
                .and_then(|p| p.devices.first())
                .map(|d| d.sec_key.clone())
                .unwrap_or_default(),
        ),
        Cloud::Huawei => (
            pairs(&[("device_id", &device_name(cloud))]),
            "device_secret",
            accounts
                .huawei
                .first()
                .and_then(|a| a.devices.first())
                .map(|d| d.secret.clone())
                .unwrap_or_default(),
        ),
        Cloud::Tuya => (
            pairs(&[("device_name", names::TUYA_DEVICE)]),
            "device_secret",
            names::TUYA_SECRET.into(),
        ),
        Cloud::Baidu => (
            pairs(&[
                ("product_id", names::BAIDU_CORE),
                ("device_name", names::BAIDU_DEVICE),
            ]),
            "device_secret",
            names::BAIDU_SECRET.into(),
        ),
        Cloud::Tlink => (
            pairs(&[
                ("product_id", names::TLINK_USER),
                ("device_name", names::TLINK_SERIAL),
            ]),
            "product_secret",
            names::TLINK_PASSWORD.into(),
        ),
    };
    let secret = if tamper { tampered(&secret) } else { secret };
    list.push((secret_key.to_owned(), secret));
    out.extend(list);
    out
}

/// `secret` with one character changed (staying base64 for the clouds that decode it).
pub(crate) fn tampered(secret: &str) -> String {
    let mut chars: Vec<char> = secret.chars().collect();
    // The first character: the last of a base64 text may be padding.
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The command topic the demo device subscribes to, or `None` where the SDK subscribes to
/// the cloud's downlink itself (Tuya's `auto_subscribe`, Tlink's `{serial}/+`).
fn command_filter(cloud: Cloud, device: &str) -> Option<String> {
    match cloud {
        Cloud::Aliyun => Some(format!(
            "/sys/{}/{device}/thing/service/property/set",
            names::ALIYUN_PRODUCT
        )),
        Cloud::Tencent => Some(format!(
            "$thing/down/property/{}/{device}",
            names::TENCENT_PRODUCT
        )),
        Cloud::OneNet => Some(format!(
            "$sys/{}/{device}/thing/property/set",
            names::ONENET_PRODUCT
        )),
        Cloud::Huawei => Some(format!("$oc/devices/{device}/sys/commands/#")),
        Cloud::Baidu => Some(format!("$iot/{device}/msg")),
        Cloud::Tuya | Cloud::Tlink => None,
    }
}

/// Telemetry in the cloud's own format, and its topic.
fn telemetry(cloud: Cloud, device: &str) -> (String, String) {
    match cloud {
        Cloud::Aliyun => (
            format!("/sys/{}/{device}/thing/event/property/post", names::ALIYUN_PRODUCT),
            r#"{"id":"1","version":"1.0","params":{"temperature":21.5},"method":"thing.event.property.post"}"#.into(),
        ),
        Cloud::Tencent => (
            format!("$thing/up/property/{}/{device}", names::TENCENT_PRODUCT),
            r#"{"method":"report","clientToken":"demo-1","params":{"temperature":21.5}}"#.into(),
        ),
        Cloud::OneNet => (
            format!("$sys/{}/{device}/thing/property/post", names::ONENET_PRODUCT),
            r#"{"id":"1","version":"1.0","params":{"temperature":{"value":21.5}}}"#.into(),
        ),
        Cloud::Huawei => (
            format!("$oc/devices/{device}/sys/properties/report"),
            r#"{"services":[{"service_id":"sensor","properties":{"temperature":21.5}}]}"#.into(),
        ),
        Cloud::Tuya => (
            format!("tylink/{device}/thing/property/report"),
            r#"{"msgId":"1","data":{"temperature":{"value":21.5}}}"#.into(),
        ),
        Cloud::Baidu => (format!("$iot/{device}/events"), r#"{"temperature":21.5}"#.into()),
        Cloud::Tlink => (device.into(), r#"{"sensorDatas":[{"sensorsId":1,"value":"21.5"}]}"#.into()),
    }
}

fn sdk_cloud(cloud: Cloud) -> Result<iotcloud::Cloud, String> {
    iotcloud::Cloud::from_name(cloud.name()).map_err(|e| e.to_string())
}

/// A scratch directory for the device's store, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(cloud: Cloud) -> ScratchDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        ScratchDir(std::env::temp_dir().join(format!(
            "iotcloud-demo-{}-{cloud}-{nanos}",
            std::process::id()
        )))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A device of the demo, connected.
type Connected<'b> =
    iotcloud::Device<'b, AnyProvider<'b>, hal_host::HostPlatform<FileStore>, iotcloud::Connected>;

/// Waits for an event `pick` accepts, failing on a disconnection or after the timeout.
async fn wait_for<T>(
    device: &mut Connected<'_>,
    what: &str,
    mut pick: impl FnMut(&Event<'_>) -> Option<T>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, device.next_event())
            .await
            .map_err(|_| format!("no {what} within {} s", STEP_TIMEOUT.as_secs()))?
            .map_err(|e| format!("waiting for {what}: {e}"))?;
        if let Some(t) = pick(&ev) {
            return Ok(t);
        }
        if let Event::Disconnected(reason) = ev {
            return Err(format!("disconnected while waiting for {what}: {reason}"));
        }
    }
}

/// Polls the emulator until `check` holds.
async fn until(what: &str, mut check: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !check() {
        if Instant::now() > deadline {
            return Err(format!("the emulator never saw {what}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

fn is_online(emulator: &CloudEmulator, cloud: Cloud, name: &str) -> bool {
    emulator
        .online()
        .iter()
        .any(|w| w.cloud == cloud && w.device == name)
}

/// One device's life on `tl.cloud`.
async fn life(emulator: &CloudEmulator, tl: &Timeline) -> Result<(), String> {
    let cloud = tl.cloud;
    let name = device_name(cloud);
    let ota_cloud = matches!(
        cloud,
        Cloud::Aliyun | Cloud::Tencent | Cloud::Huawei | Cloud::Tuya | Cloud::OneNet
    );
    let settings = demo_config(emulator, cloud);
    let config = Config::from_pairs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| e.to_string())?;
    let provider = AnyProvider::new(sdk_cloud(cloud)?, &config, None).map_err(|e| e.to_string())?;
    // OneNET's HTTP OTA API is served beside the emulator's firmware images.
    let ota_api = format!("http://{}/fuse-ota", emulator.firmware().addr());
    let provider = match provider {
        AnyProvider::OneNet(o) => {
            AnyProvider::OneNet(o.with_ota_url(&ota_api).map_err(|e| e.to_string())?)
        }
        other => other,
    };
    let registers = provider.registration().is_some();
    let dir = ScratchDir::new(cloud);
    let open = || FileStore::open(&dir.0).map_err(|e| format!("store: {e}"));
    let (mut first, mut second) = (Memory::new(16 * 1024), Memory::new(16 * 1024));
    let device = host::device(
        provider.clone(),
        open()?,
        &mut first,
        ota_cloud.then(|| Firmware::new(OLD_VERSION)),
    );

    // Register.
    let device = device
        .register()
        .await
        .map_err(|e| format!("registration: {e}"))?;
    if registers {
        let how = match cloud {
            Cloud::Aliyun => {
                "device secret obtained over MQTT (authType=register) with the product secret"
            }
            Cloud::Tencent => {
                "device key obtained from /device/register (X-TC signature, AES payload)"
            }
            Cloud::OneNet => "device created through /device/create with the user token",
            _ => "IAM token issued, device created through /v5/iot/{project}/devices",
        };
        tl.ok("register", how);
    } else {
        tl.skip(
            "register",
            &format!(
                "{cloud} has no device-side registration; the device holds its own credentials"
            ),
        );
    }

    // Connect.
    let mut device = device
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    wait_for(&mut device, "the connection", |ev| {
        matches!(ev, Event::Connected { .. }).then_some(())
    })
    .await?;
    until("the device online", || is_online(emulator, cloud, &name)).await?;
    tl.ok(
        "connect",
        &format!("CONNECT accepted by {cloud}'s rules as device {name}, firmware {OLD_VERSION}"),
    );

    // Subscribe to commands where the SDK does not already.
    match command_filter(cloud, &name) {
        Some(filter) => {
            device
                .subscribe(&[(filter.as_str(), QoS::AtLeastOnce)])
                .await
                .map_err(|e| format!("subscribe: {e}"))?;
            let granted = wait_for(&mut device, "the SUBACK", |ev| match ev {
                Event::Subscribed { codes, .. } => {
                    Some(codes.iter().all(|c| c != SubackCode::Failure))
                }
                _ => None,
            })
            .await?;
            if !granted {
                return Err(format!("the emulator refused the subscription to {filter}"));
            }
            tl.ok("subscribe", &filter);
        }
        None => tl.skip(
            "subscribe",
            "the SDK subscribed to the cloud's downlink on connect",
        ),
    }

    // Telemetry.
    let (topic, payload) = telemetry(cloud, &name);
    device
        .publish(&topic, payload.as_bytes(), QoS::AtLeastOnce)
        .await
        .map_err(|e| format!("publish: {e}"))?;
    wait_for(&mut device, "the PUBACK", |ev| {
        matches!(ev, Event::Published { .. }).then_some(())
    })
    .await?;
    until("the telemetry", || {
        emulator
            .published()
            .iter()
            .any(|p| p.topic == topic && p.payload == payload.as_bytes())
    })
    .await?;
    tl.ok("publish", &format!("{topic} {payload}"));

    // A command from the cloud.
    let command = r#"{"method":"control","params":{"power":"on"}}"#;
    let sent_on = emulator
        .command(cloud, &name, command.as_bytes(), None)
        .map_err(|e| format!("command: {e}"))?;
    // Tencent answers the telemetry on the same downlink (`report_reply`): not the command.
    let got = wait_for(&mut device, "the command", |ev| match ev {
        Event::Message(m)
            if m.topic == sent_on && !m.payload.windows(12).any(|w| w == b"report_reply") =>
        {
            Some(String::from_utf8_lossy(m.payload).into_owned())
        }
        _ => None,
    })
    .await?;
    if got != command {
        return Err(format!("the command arrived changed: {got}"));
    }
    tl.ok("command", &format!("received on {sent_on}: {got}"));

    if !ota_cloud {
        let why = match cloud {
            Cloud::Baidu => "Baidu IoT Core has no device OTA",
            _ => "Tlink has no OTA protocol",
        };
        tl.skip("ota", why);
        finish(emulator, tl, &name, device).await?;
        return data::data_model(emulator, tl, &name, provider, open()?).await;
    }

    // OTA: the job, the download, then a reboot into the new firmware, whose version
    // report is how the clouds confirm an upgrade.
    ota(emulator, tl, &name, &provider, &mut device).await?;
    let before = emulator.ota_reports().len();
    device
        .report_ota(OtaStatus::Done)
        .await
        .map_err(|e| format!("reporting the result: {e}"))?;
    if let AnyProvider::OneNet(o) = &provider {
        // OneNET takes the result over its HTTP API (step 201).
        let record = device.registration_record().map(<[u8]>::to_vec);
        onenet_call(
            o,
            record.as_deref(),
            OneNetCall::Status(OtaStatus::Done),
            &mut device,
        )
        .await?;
    }
    let _ = device.disconnect().await;
    until("the device leave", || !is_online(emulator, cloud, &name)).await?;
    let rebooted = host::device(
        provider.clone(),
        open()?,
        &mut second,
        Some(Firmware::new(NEW_VERSION)),
    );
    let rebooted = rebooted
        .register()
        .await
        .map_err(|e| format!("after the reboot, loading the registration: {e}"))?;
    let mut rebooted = rebooted
        .connect()
        .await
        .map_err(|e| format!("reconnect: {e}"))?;
    wait_for(&mut rebooted, "the connection", |ev| {
        matches!(ev, Event::Connected { .. }).then_some(())
    })
    .await?;
    if let AnyProvider::OneNet(o) = &provider {
        // OneNET learns the new version over its HTTP API, not on connect.
        let record = rebooted.registration_record().map(<[u8]>::to_vec);
        onenet_call(
            o,
            record.as_deref(),
            OneNetCall::Version(NEW_VERSION),
            &mut rebooted,
        )
        .await?;
    }
    let mine =
        |r: &(iotcloud_emulator::Identity, OtaReport)| r.0.cloud == cloud && r.0.device == name;
    let confirmed = |r: &(iotcloud_emulator::Identity, OtaReport)| {
        mine(r) && matches!(&r.1, OtaReport::Version(v) if v == NEW_VERSION)
    };
    until("the new version reported", || {
        emulator.ota_reports().iter().skip(before).any(confirmed)
    })
    .await?;
    let seen: Vec<String> = emulator
        .ota_reports()
        .iter()
        .filter(|r| mine(r))
        .map(|(_, r)| match r {
            OtaReport::Version(v) => format!("version {v}"),
            OtaReport::Progress(p) => format!("{p}%"),
            OtaReport::Installing => "installing".into(),
            OtaReport::Done => "done".into(),
            OtaReport::Failed(why) => format!("FAILED {why}"),
        })
        .collect();
    if seen.iter().any(|s| s.starts_with("FAILED")) {
        return Err(format!(
            "the device reported a failure: {}",
            seen.join(", ")
        ));
    }
    tl.ok(
        "report",
        &format!(
            "rebooted into {NEW_VERSION}; the emulator read: {}",
            seen.join(", ")
        ),
    );
    finish(emulator, tl, &name, rebooted).await?;
    data::data_model(emulator, tl, &name, provider, open()?).await?;
    if cloud == Cloud::Tencent {
        psk::tls_psk(tl).await?;
    }
    Ok(())
}

/// Disconnects, then shows a device with one credential field changed refused.
async fn finish(
    emulator: &CloudEmulator,
    tl: &Timeline,
    name: &str,
    device: Connected<'_>,
) -> Result<(), String> {
    let _registered = device.disconnect().await;
    until("the device leave", || !is_online(emulator, tl.cloud, name)).await?;
    tl.ok(
        "disconnect",
        "DISCONNECT sent; the emulator closed the session",
    );
    impostor(emulator, tl).await
}

/// A OneNET OTA API call the demo makes.
enum OneNetCall<'a> {
    /// Reports the running version.
    Version(&'a str),
    /// Reports the status of the current job.
    Status(OtaStatus),
    /// Reports the running version, checks for the task and hands it to the device.
    Check(&'a str),
}

/// Runs `call` against OneNET's HTTP OTA API, signed with the device token (`record`:
/// the device's registration record, which holds its key).
async fn onenet_call(
    o: &iotcloud::onenet::OneNet<'_>,
    record: Option<&[u8]>,
    call: OneNetCall<'_>,
    device: &mut Connected<'_>,
) -> Result<(), String> {
    let clock = SystemClock::new();
    let ctx = SignContext {
        unix_time_ms: clock.unix_time_ms(),
        random: 0,
        registered: record,
    };
    let mut http = TcpTransport::new();
    let mut work = vec![0u8; 4096];
    match call {
        OneNetCall::Version(v) => o
            .ota_report_version(&mut http, &clock, &ctx, v, &mut work)
            .await
            .map_err(|e| format!("OneNET version report: {e}")),
        OneNetCall::Status(status) => {
            let job = device.ota_job().ok_or("no OneNET job to report on")?;
            o.ota_report(&mut http, &clock, &ctx, &job, status, &mut work)
                .await
                .map_err(|e| format!("OneNET status report: {e}"))
        }
        OneNetCall::Check(v) => {
            o.ota_report_version(&mut http, &clock, &ctx, v, &mut work)
                .await
                .map_err(|e| format!("OneNET version report: {e}"))?;
            let mut job = vec![0u8; 1024];
            let found = o
                .ota_check(&mut http, &clock, &ctx, v, &mut work, &mut job)
                .await
                .map_err(|e| format!("OneNET task check: {e}"))?
                .ok_or("OneNET has no task for the device")?;
            device
                .set_ota_job(&found)
                .map_err(|e| format!("OneNET task: {e}"))
        }
    }
}

async fn ota(
    emulator: &CloudEmulator,
    tl: &Timeline,
    name: &str,
    provider: &AnyProvider<'_>,
    device: &mut Connected<'_>,
) -> Result<(), String> {
    let cloud = tl.cloud;
    let bytes = image(IMAGE_LEN, NEW_VERSION);
    let offer = emulator
        .offer_ota(cloud, name, NEW_VERSION, bytes.clone())
        .map_err(|e| format!("OTA job: {e}"))?;
    if let AnyProvider::OneNet(o) = provider {
        // OneNET announces the task on ota/inform and runs it over HTTP.
        let inform = o.ota_inform().0.concat();
        wait_for(device, "the OTA announcement", |ev| match ev {
            Event::Message(m) if m.topic == inform => Some(()),
            _ => None,
        })
        .await?;
        let record = device.registration_record().map(<[u8]>::to_vec);
        onenet_call(o, record.as_deref(), OneNetCall::Check(OLD_VERSION), device).await?;
        let job = device
            .ota_job()
            .ok_or("the OneNET task did not become a job")?;
        tl.ok(
            "ota job",
            &format!(
                "announced on {inform}; task {} version {} ({} bytes) from {}",
                job.task_id().unwrap_or("?"),
                job.version(),
                job.size().unwrap_or(0),
                offer.url
            ),
        );
        return download(tl, cloud, provider, device, &bytes).await;
    }
    let job = wait_for(device, "the OTA job", |ev| match ev {
        Event::Ota(job) => Some(format!(
            "version {} ({} bytes)",
            job.version(),
            job.size().unwrap_or(0)
        )),
        Event::OtaRejected(e) => Some(format!("REJECTED {e}")),
        _ => None,
    })
    .await?;
    if job.starts_with("REJECTED") {
        return Err(format!("the SDK refused the OTA notice: {job}"));
    }
    tl.ok("ota job", &format!("{job} from {}", offer.url));
    download(tl, cloud, provider, device, &bytes).await?;
    if cloud == Cloud::Aliyun {
        over_mqtt(emulator, tl, name, provider, device, &bytes).await?;
    }
    Ok(())
}

/// Aliyun delivers small images over MQTT too: the same image again, as a job naming a
/// stream, fetched in blocks over the device's own connection.
async fn over_mqtt(
    emulator: &CloudEmulator,
    tl: &Timeline,
    name: &str,
    provider: &AnyProvider<'_>,
    device: &mut Connected<'_>,
    bytes: &[u8],
) -> Result<(), String> {
    let cloud = tl.cloud;
    emulator
        .offer_ota_over_mqtt(cloud, name, NEW_VERSION, bytes.to_vec())
        .map_err(|e| format!("OTA job over MQTT: {e}"))?;
    let job = wait_for(device, "the OTA job over MQTT", |ev| match ev {
        Event::Ota(job) => Some(Ok(format!(
            "version {} ({} bytes), stream {}",
            job.version(),
            job.size().unwrap_or(0),
            job.stream().unwrap_or("none")
        ))),
        Event::OtaRejected(e) => Some(Err(format!("the SDK refused the OTA notice: {e}"))),
        _ => None,
    })
    .await??;
    tl.ok("ota mqtt", &job);
    download(tl, cloud, provider, device, bytes).await
}

/// Downloads the device's current job and checks it against `bytes`.
async fn download(
    tl: &Timeline,
    cloud: Cloud,
    provider: &AnyProvider<'_>,
    device: &mut Connected<'_>,
    bytes: &[u8],
) -> Result<(), String> {
    let dir = ScratchDir::new(cloud);
    std::fs::create_dir_all(&dir.0).map_err(|e| format!("scratch directory: {e}"))?;
    let path = dir.0.join("firmware.bin");
    let mut sink = FileSink::new(&path);
    let mut http = TcpTransport::new();
    let mut work = vec![0u8; 4096 + 16 * 1024];
    let settings = DownloadSettings::default();
    let mut last = 0u8;
    let mut error = None;
    let result = device
        .download_ota(&mut http, &mut sink, &mut work, &settings, |e| match e {
            OtaEvent::Progress(p) => tl.progress(&p, &mut last),
            OtaEvent::Error(e) => error = Some(e.to_string()),
            _ => {}
        })
        .await;
    let len = result.map_err(|e| {
        format!(
            "download: {e}{}",
            error.map(|x| format!(" ({x})")).unwrap_or_default()
        )
    })?;
    let saved = std::fs::read(&path).map_err(|e| format!("reading the image back: {e}"))?;
    if saved != bytes {
        return Err("the downloaded image differs from the one served".into());
    }
    tl.ok("download", &format!("{len} bytes, digest verified"));
    if let AnyProvider::OneNet(o) = provider {
        // Downloaded and verified: OneNET's step 101.
        let record = device.registration_record().map(<[u8]>::to_vec);
        onenet_call(
            o,
            record.as_deref(),
            OneNetCall::Status(OtaStatus::Installing),
            device,
        )
        .await?;
    }
    Ok(())
}

/// Connects with one credential field changed and expects the refusal.
async fn impostor(emulator: &CloudEmulator, tl: &Timeline) -> Result<(), String> {
    let cloud = tl.cloud;
    let settings = direct_config(emulator, cloud, true);
    let config = Config::from_pairs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| e.to_string())?;
    let provider = AnyProvider::new(sdk_cloud(cloud)?, &config, None).map_err(|e| e.to_string())?;
    let dir = ScratchDir::new(cloud);
    let store = FileStore::open(&dir.0).map_err(|e| format!("store: {e}"))?;
    let mut mem = Memory::new(1024);
    let device = host::device(provider, store, &mut mem, None);
    let device = device
        .register()
        .await
        .map_err(|e| format!("registration: {e}"))?;
    match device.connect().await.map_err(TransitionError::into_error) {
        Err(Error::Refused(code)) => {
            tl.ok("impostor", &format!("a wrong secret is refused: {code}"));
            Ok(())
        }
        Err(e) => Err(format!("a wrong secret failed otherwise than refused: {e}")),
        Ok(d) => {
            let _ = d.disconnect().await;
            Err("a wrong secret was accepted".into())
        }
    }
}
