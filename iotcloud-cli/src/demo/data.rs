//! The demo's data-model part: a device with no wall clock at all connects, learns the
//! desired values and the time, reports, answers a property set and a command, posts an
//! event, and reconnects signing with the time it learned.

use std::time::{SystemTime, UNIX_EPOCH};

use hal_host::{FileStore, SystemClock};
use iotcloud::AnyProvider;
use iotcloud::iotcloud_core::data::{DataError, DataParts, Field, Outcome, PropertyOrigin};
use iotcloud::iotcloud_core::device::DataOptions;
use iotcloud::{Error, Event};
use iotcloud_emulator::CloudEmulator;

use super::{Connected, Timeline, is_online, until, wait_for};
use crate::host::{self, Memory};

/// A data event, as the demo shows it, and the request to answer if it asks for one.
fn shown(ev: &Event<'_>) -> Option<(String, Option<iotcloud::iotcloud_core::data::Request>)> {
    Some(match ev {
        Event::Properties(p) => {
            let values: Vec<String> = p
                .iter()
                .map(|(n, v)| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(n.raw()).trim_matches('"'),
                        String::from_utf8_lossy(v.raw())
                    )
                })
                .collect();
            let request = (p.origin() == PropertyOrigin::Set).then(|| p.request());
            (values.join(" "), request)
        }
        Event::Command(c) => (
            format!("{} {}", c.name(), String::from_utf8_lossy(c.params().raw())),
            Some(c.request()),
        ),
        Event::Reply(r) => (format!("id {} code {}", r.id, r.code), None),
        Event::TimeSynced(t) => (format!("{} {}", t.unix_time_ms, t.round_trip_ms), None),
        _ => return None,
    })
}

/// Waits for the data event `kind` accepts and shows it.
async fn data_event(
    device: &mut Connected<'_>,
    what: &str,
    kind: impl Fn(&Event<'_>) -> bool,
) -> Result<(String, Option<iotcloud::iotcloud_core::data::Request>), String> {
    wait_for(device, what, |ev| if kind(ev) { shown(ev) } else { None }).await
}

/// The data-model part of one device's life on `tl.cloud`, for a cloud that has one.
pub(super) async fn data_model(
    emulator: &CloudEmulator,
    tl: &Timeline,
    name: &str,
    provider: AnyProvider<'_>,
    store: FileStore,
) -> Result<(), String> {
    let cloud = tl.cloud;
    let mut mem = Memory::new(16 * 1024);
    let device = host::device_on(
        provider,
        store,
        &mut mem,
        None,
        SystemClock::without_wall_time(),
    )
    .with_data(DataOptions::default());
    let parts: DataParts = match device.data_parts() {
        Ok(parts) => parts,
        Err(why) => {
            tl.skip("data", why);
            return Ok(());
        }
    };
    emulator.set_desired(
        cloud,
        name,
        serde_json::json!({"target_temp": 22})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let device = device
        .register()
        .await
        .map_err(|e| format!("registration: {e}"))?;
    let mut device = device
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    until("the device online", || is_online(emulator, cloud, name)).await?;
    tl.ok(
        "no clock",
        "connected with no wall clock, signed in the cloud's clockless form",
    );

    if parts.desired {
        let (values, _) = data_event(&mut device, "the desired values", |ev| {
            matches!(ev, Event::Properties(_))
        })
        .await?;
        tl.ok("desired", &format!("fetched on connect: {values}"));
    }
    if parts.time {
        let (synced, _) = data_event(&mut device, "the time", |ev| {
            matches!(ev, Event::TimeSynced(_))
        })
        .await?;
        let mut words = synced.split(' ');
        let learned: i128 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        let rtt = words.next().unwrap_or("?");
        let here = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i128::try_from(d.as_millis()).unwrap_or(0));
        tl.ok(
            "time",
            &format!(
                "learned from the cloud: {learned} ms (round trip {rtt} ms; cloud minus this \
                 machine's clock: {} ms)",
                learned - here
            ),
        );
    } else {
        tl.skip("time", "the cloud documents no time service");
    }

    let id = device
        .report(&[("temp", &21.5), ("power", &true)])
        .await
        .map_err(|e| format!("report: {e}"))?;
    if parts.report_reply {
        let (reply, _) = data_event(&mut device, "the report's reply", |ev| {
            matches!(ev, Event::Reply(_))
        })
        .await?;
        tl.ok(
            "report",
            &format!("temp=21.5 power=true, acknowledged: {reply}"),
        );
    } else {
        tl.ok(
            "report",
            &format!("temp=21.5 power=true (id {id}; the cloud sends no reply)"),
        );
    }

    emulator
        .set_properties(cloud, name, &serde_json::json!({"power": false}))
        .map_err(|e| format!("property set: {e}"))?;
    answer(emulator, tl, &mut device, "set", |ev| {
        matches!(ev, Event::Properties(_))
    })
    .await?;
    emulator
        .invoke(cloud, name, "reboot", &serde_json::json!({"delay_s": 5}))
        .map_err(|e| format!("command: {e}"))?;
    answer(emulator, tl, &mut device, "invoke", |ev| {
        matches!(ev, Event::Command(_))
    })
    .await?;

    match device.event("overheat", &[("celsius", &81.5)]).await {
        Ok(id) if parts.report_reply => {
            let (reply, _) = data_event(&mut device, "the event's reply", |ev| {
                matches!(ev, Event::Reply(_))
            })
            .await?;
            tl.ok(
                "event",
                &format!("overheat celsius=81.5 (id {id}), acknowledged: {reply}"),
            );
        }
        Ok(id) => tl.ok("event", &format!("overheat celsius=81.5 (id {id})")),
        Err(Error::Data(DataError::Unsupported(why))) => tl.skip("event", why),
        Err(e) => return Err(format!("event: {e}")),
    }

    // Reconnected, the device signs with the time it learned.
    let device = device.disconnect().await;
    let mut device = device
        .connect()
        .await
        .map_err(|e| format!("reconnect: {e}"))?;
    wait_for(&mut device, "the connection", |ev| {
        matches!(ev, Event::Connected { .. }).then_some(())
    })
    .await?;
    let client_id = emulator
        .logins()
        .into_iter()
        .rev()
        .find(|l| l.who.cloud == cloud && l.who.device == name)
        .map(|l| l.client_id)
        .unwrap_or_default();
    let how = if parts.time {
        "signed with the time learned from the cloud"
    } else {
        "signed in the clockless form again (no time service to learn from)"
    };
    tl.ok("resign", &format!("{how}; client id {client_id}"));
    let _ = device.disconnect().await;
    until("the device leave", || !is_online(emulator, cloud, name)).await
}

/// Waits for the request `kind` accepts, answers it, and shows what the emulator checked.
async fn answer(
    emulator: &CloudEmulator,
    tl: &Timeline,
    device: &mut Connected<'_>,
    step: &str,
    kind: impl Fn(&Event<'_>) -> bool,
) -> Result<(), String> {
    let (shown, request) = data_event(device, step, kind).await?;
    let request = request.ok_or("a request to answer")?;
    let output: &[Field<'_>] = &[("accepted", &true)];
    device
        .answer(&request, Outcome::with_output(output))
        .await
        .map_err(|e| format!("answer: {e}"))?;
    let before = |a: &iotcloud_emulator::DataAnswer| a.id == request.id();
    until("the answer", || emulator.data_answers().iter().any(before)).await?;
    let checked = emulator
        .data_answers()
        .into_iter()
        .rev()
        .find(|a| before(a))
        .ok_or("the answer")?;
    if !(checked.success && checked.answers.is_some()) {
        return Err(format!("the cloud did not take the answer: {checked:?}"));
    }
    tl.ok(
        step,
        &format!(
            "{shown}: answered code {} on {}",
            checked.code, checked.topic
        ),
    );
    Ok(())
}
