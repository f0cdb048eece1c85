//! `iotcloud pub` and `iotcloud sub`: a supervised device that publishes numbered messages
//! through disconnects, and one that prints what it receives.

use std::time::{Duration, Instant};

use hal_host::{FileStore, HostError, HostPlatform};
use iotcloud::iotcloud_core::Printable;
use iotcloud::iotcloud_core::device::{ReconnectPolicy, Supervised, Supervisor};
use iotcloud::iotcloud_core::mqtt::{QoS, SubackCode};
use iotcloud::{AnyProvider, Error, Event};

use crate::host::{self, Memory, configure};
use crate::{Args, runtime};

/// The tool's own keys for `pub` and `sub`, taken out of the configuration.
pub(crate) struct PubSubOptions {
    /// `topic=`: where to publish, or the filter to subscribe to.
    pub topic: Option<String>,
    /// `count=`: messages to publish (default 1), or to wait for (default: no limit).
    pub count: Option<u64>,
    /// `qos=`: 0, 1 or 2 (default 1).
    pub qos: QoS,
    /// `interval=`: milliseconds between two publishes (default 0).
    pub interval_ms: u64,
    /// `payload=`: the message, with `{seq}` replaced by its sequence number.
    pub payload: String,
    /// `seconds=`: give up (`pub`) or stop (`sub`) after this long.
    pub seconds: Option<u64>,
    /// `floor_ms=` and `cap_ms=`: the reconnect backoff.
    pub policy: ReconnectPolicy,
    /// `format=json` (`Some(true)`) or `format=text` (`Some(false)`): whether `sub` prints
    /// one JSON object per message instead of `topic payload` (default text).
    pub format: Option<bool>,
    /// `--quiet`: no connection events on stderr, only data and errors.
    pub quiet: bool,
}

impl PubSubOptions {
    /// Takes the tool's keys out of `args`, leaving the configuration.
    pub(crate) fn take(args: &[String]) -> Result<(Self, Vec<String>), String> {
        let mut o = PubSubOptions {
            topic: None,
            count: None,
            qos: QoS::AtLeastOnce,
            interval_ms: 0,
            payload: "{seq}".into(),
            seconds: None,
            policy: ReconnectPolicy::default(),
            format: None,
            quiet: false,
        };
        let mut rest = Vec::new();
        let number = |key: &str, v: &str| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("`{key}` is not a whole number: {v}"))
        };
        for arg in args {
            match arg.split_once('=') {
                Some(("topic", v)) => o.topic = Some(v.to_string()),
                Some(("count", v)) => o.count = Some(number("count", v)?),
                Some(("qos", v)) => {
                    o.qos = match v {
                        "0" => QoS::AtMostOnce,
                        "1" => QoS::AtLeastOnce,
                        "2" => QoS::ExactlyOnce,
                        _ => return Err(format!("`qos` is 0, 1 or 2, not {v}")),
                    }
                }
                Some(("interval", v)) => o.interval_ms = number("interval", v)?,
                Some(("payload", v)) => o.payload = v.to_string(),
                Some(("seconds", v)) => o.seconds = Some(number("seconds", v)?),
                Some(("format", "json")) => o.format = Some(true),
                Some(("format", "text")) => o.format = Some(false),
                Some(("format", _)) => return Err("`format` is text or json".into()),
                Some(("floor_ms", v)) => {
                    o.policy.floor_ms = u32::try_from(number("floor_ms", v)?)
                        .map_err(|_| "`floor_ms` is too large")?;
                }
                Some(("cap_ms", v)) => {
                    o.policy.cap_ms =
                        u32::try_from(number("cap_ms", v)?).map_err(|_| "`cap_ms` is too large")?;
                }
                _ => rest.push(arg.clone()),
            }
        }
        Ok((o, rest))
    }
}

type Sup<'b> = Supervisor<'b, AnyProvider<'b>, HostPlatform<FileStore>>;

/// 16 KiB of session memory: subscriptions and QoS 1 messages awaiting acknowledgement.
const SUB_SESSION_LEN: usize = 16 * 1024;

/// Memory a `pub` device queues messages in while the link is down: when it is full,
/// publishing waits for acknowledgements rather than dropping anything.
const QUEUE_LEN: usize = 256 * 1024;

/// One line on stderr; what came from the network in it (an error's text can quote a
/// server) is escaped.
fn err_line(line: &str) {
    eprintln!("{}", Printable(line));
}

/// Logs a supervisor event that is not a message to stderr (with `quiet`, only what went
/// wrong: failed attempts, skipped and dropped messages); returns whether it was an
/// acknowledgement.
fn log_event(ev: &Supervised<'_, HostError>, quiet: bool) -> bool {
    let chatter = |line: String| {
        if !quiet {
            err_line(&line);
        }
    };
    match ev {
        Supervised::Connecting { attempt, cause } => {
            // A connection that checks no certificate is worth a line even when quiet.
            host::warn_if_insecure();
            chatter(format!("connecting: attempt {attempt} ({cause})"));
        }
        Supervised::ConnectFailed {
            attempt,
            error,
            retry_in_ms,
        } => err_line(&format!(
            "connect attempt {attempt} failed: {error}; retrying in {retry_in_ms} ms"
        )),
        Supervised::Event(Event::Connected { session_present }) => {
            chatter(format!("connected session_present={session_present}"));
        }
        Supervised::Event(Event::Disconnected(reason)) => {
            chatter(format!("disconnected: {reason}"));
        }
        Supervised::Skipped(error) => err_line(&format!("skipped: {error}")),
        Supervised::Event(Event::Published { .. }) => return true,
        Supervised::Event(Event::Dropped { packet_id }) => {
            err_line(&format!("dropped id={}", packet_id.get()));
        }
        _ => {}
    }
    false
}

/// `iotcloud pub`: publishes `count` messages and waits until each is acknowledged.
pub(crate) fn publish(cloud: &str, args: Args, o: PubSubOptions) -> Result<String, String> {
    let topic = o.topic.clone().ok_or("`pub` needs topic=")?;
    let count = o.count.unwrap_or(1);
    let mut mem = Memory::new(QUEUE_LEN);
    let (cloud, config) = configure(cloud, &args)?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    let device = host::device(provider, host::store(&args)?, &mut mem, None);
    let rt = runtime()?;
    rt.block_on(async {
        let device = device.register().await.map_err(|e| e.to_string())?;
        let mut sup = device.supervise(o.policy);
        let started = Instant::now();
        let deadline = o.seconds.map(|s| started + Duration::from_secs(s));
        let interval = Duration::from_millis(o.interval_ms);
        let (mut seq, mut acked) = (0u64, 0u64);
        let mut next_due = started;
        let done = |seq: u64, acked: u64| match o.qos {
            QoS::AtMostOnce => seq == count,
            _ => acked == count,
        };
        // The first message waits for the first connection, as with mosquitto_pub: a
        // backlog queued before it would go out a replay window at a time. Messages
        // published during a later outage wait in the session's offline queue.
        while !sup.is_connected() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = sup.into_device().await;
                return Err(format!(
                    "gave up after {} s: 0 of {count} published, 0 acknowledged (never connected)",
                    o.seconds.unwrap_or(0)
                ));
            }
            service(&mut sup, SERVICE_WAIT, o.quiet).await?;
        }
        // Messages are enqueued: they leave together when the transmit buffer fills or
        // when the supervisor waits for the broker. The link is serviced only when there is
        // nothing to enqueue: the queue is full, the link is down, or the next message is
        // not due yet.
        while !done(seq, acked) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = sup.into_device().await;
                return Err(format!(
                    "gave up after {} s: {seq} of {count} published, {acked} acknowledged",
                    o.seconds.unwrap_or(0)
                ));
            }
            let now = Instant::now();
            let wait = if seq < count && now >= next_due {
                let body = o.payload.replace("{seq}", &seq.to_string());
                match sup.enqueue(&topic, body.as_bytes(), o.qos).await {
                    Ok(_) => {
                        seq += 1;
                        next_due += interval;
                        continue;
                    }
                    // Full queue, or QoS 0 without a link: service the link, then retry.
                    Err(Error::SessionFull { .. } | Error::NoPacketIds | Error::NotConnected) => {
                        SERVICE_WAIT
                    }
                    Err(e) => return Err(format!("publish {seq}: {e}")),
                }
            } else if seq < count {
                next_due - now
            } else {
                SERVICE_WAIT
            };
            if service(&mut sup, wait, o.quiet).await? {
                acked += 1;
            }
        }
        let _ = sup.into_device().await;
        Ok(format!(
            "{{\"published\":{seq},\"acknowledged\":{},\"seconds\":{:.3}}}",
            if o.qos == QoS::AtMostOnce { 0 } else { acked },
            started.elapsed().as_secs_f64()
        ))
    })
}

/// How long `pub` services the link at a time when it has nothing to enqueue.
const SERVICE_WAIT: Duration = Duration::from_millis(100);

/// Services the supervisor for at most `wait` (zero: only what is ready), or until the
/// link is up again while it is down; `true` for an acknowledgement.
async fn service(sup: &mut Sup<'_>, wait: Duration, quiet: bool) -> Result<bool, String> {
    let event = if sup.is_connected() {
        // The supervisor's futures may be dropped at any await: a timeout is safe.
        match tokio::time::timeout(wait, sup.next_event()).await {
            Err(_) => return Ok(false),
            Ok(event) => event,
        }
    } else {
        // Connecting: let the attempt (a TLS handshake may take longer than `wait`) finish.
        sup.next_event().await
    };
    match event {
        Ok(ev) => Ok(log_event(&ev, quiet)),
        Err(e) => Err(e.to_string()),
    }
}

/// A message as one line of JSON: `topic`, `payload` (its text, or `payload_hex` when it is
/// not UTF-8), `qos`, `retain`, safe on a terminal ([`crate::output::json_line`]).
fn message_json(m: &iotcloud::Message<'_>) -> String {
    let mut v = serde_json::json!({"topic": m.topic, "qos": m.qos as u8, "retain": m.retain});
    crate::output::put_payload(&mut v, m.payload);
    crate::output::json_line(&v)
}

/// `iotcloud sub`: subscribes and prints each message as `topic payload`, one per line.
pub(crate) fn subscribe(cloud: &str, args: Args, o: PubSubOptions) -> Result<String, String> {
    let filter = o.topic.clone().ok_or("`sub` needs topic=")?;
    let mut mem = Memory::new(SUB_SESSION_LEN);
    let (cloud, config) = configure(cloud, &args)?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    let device = host::device(provider, host::store(&args)?, &mut mem, None);
    let rt = runtime()?;
    rt.block_on(async {
        let device = device.register().await.map_err(|e| e.to_string())?;
        let mut sup = device.supervise(o.policy);
        let stop = crate::until_stopped(o.seconds);
        tokio::pin!(stop);
        let mut received = 0u64;
        let mut subscribed = false;
        // The SUBSCRIBE of the filter, until its SUBACK is reported.
        let mut pending: Option<u16> = None;
        while o.count.is_none_or(|c| received < c) {
            let connected = tokio::select! {
                _ = &mut stop => break,
                ev = sup.next_event() => {
                    let ev = ev.map_err(|e| e.to_string())?;
                    if let Supervised::Event(Event::Message(m)) = &ev {
                        if o.format == Some(true) {
                            crate::output::line(&message_json(m));
                        } else {
                            crate::output::line(&format!(
                                "{} {}",
                                Printable(m.topic),
                                Printable(&String::from_utf8_lossy(m.payload))
                            ));
                        }
                        received += 1;
                    } else if let Supervised::Event(Event::Subscribed { packet_id, codes }) = &ev
                        && pending == Some(packet_id.get())
                    {
                        pending = None;
                        if codes.iter().any(|c| c == SubackCode::Failure) {
                            return Err(format!(
                                "the broker refused the subscription to {}",
                                Printable(&filter)
                            ));
                        }
                        // Messages sent from now on arrive: a script can wait for this line.
                        if !o.quiet {
                            err_line(&format!("subscribed {}", Printable(&filter)));
                        }
                    } else {
                        log_event(&ev, o.quiet);
                    }
                    matches!(ev, Supervised::Event(Event::Connected { .. }))
                }
            };
            // Subscribed once, the session restores it on every later connection.
            if connected && !subscribed {
                let id = sup
                    .subscribe(&[(filter.as_str(), o.qos)])
                    .await
                    .map_err(|e| format!("subscribe {filter}: {e}"))?;
                pending = Some(id.get());
                subscribed = true;
            }
        }
        let _ = sup.into_device().await;
        if !o.quiet {
            err_line(&format!("received {received}"));
        }
        Ok(String::new())
    })
}
