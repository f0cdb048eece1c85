//! The MQTT side: one loopback listener per cloud, a thread per connection, and a hub that
//! knows every live device session, routes messages and records what devices published.
//!
//! A CONNECT is checked the way its cloud checks it ([`crate::login`]); a SUBSCRIBE to a
//! filter that is not the device's own gets return code `0x80`; a PUBLISH to a topic that is
//! not the device's own closes the connection (the clouds' documents do not say which they
//! do; this is the emulator's choice, see README). QoS 2 is refused the same ways.

use std::io;
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Cloud;
use crate::acceptor::Acceptor;
use crate::file_download::{self, Answer, BlockFault, BlockRequest, Stream};
use crate::login::{self, Identity, Login, Refusal};
use crate::server::Shared as CloudState;
use crate::thing::{self, DataAnswer, DataRequest};
use crate::topics::{self, OtaReport};
use crate::wire::{self, Inbound, WireError};

/// How long a new connection may take to send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write to a device may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A message a device published, as the broker received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Who published it.
    pub from: Identity,
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS it was sent with.
    pub qos: u8,
    /// When it arrived, unix milliseconds.
    pub at_ms: u64,
}

/// A CONNECT the broker refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedLogin {
    /// The cloud whose rules refused it.
    pub cloud: Cloud,
    /// The client id sent.
    pub client_id: String,
    /// The CONNACK code and why.
    pub refusal: Refusal,
}

/// A CONNECT the broker accepted: who logged in, with which client id and user name (which
/// carry the time signed with: Aliyun's and Huawei's client id, Tencent's and Tuya's user
/// name). The password is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedLogin {
    /// The device.
    pub who: Identity,
    /// The client id sent.
    pub client_id: String,
    /// The user name sent, if any.
    pub username: Option<String>,
}

/// Something a device did that its cloud does not allow once connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The device.
    pub by: Identity,
    /// What it tried, e.g. `publish to /sys/pk/other/…`.
    pub what: String,
}

/// Why a message could not be delivered to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// No such device in the emulator's accounts.
    UnknownDevice(String),
    /// The device is not connected.
    NotConnected(String),
    /// The device has not subscribed to the topic.
    NotSubscribed(String),
    /// The topic is not the device's own.
    ForeignTopic(String),
    /// The cloud has no such system message (for example no OTA).
    Unsupported(&'static str),
    /// Writing to the device failed.
    Io(String),
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownDevice(d) => write!(f, "no device `{d}` in the emulator"),
            Self::NotConnected(who) => write!(f, "device {who} is not connected"),
            Self::NotSubscribed(t) => write!(f, "the device has not subscribed to {t}"),
            Self::ForeignTopic(t) => write!(f, "{t} is not the device's topic"),
            Self::Unsupported(why) => f.write_str(why),
            Self::Io(e) => write!(f, "writing to the device failed: {e}"),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// A line for the emulator's log, when one is wanted (`iotcloud emulate` prints them).
pub(crate) type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

struct Session {
    conn: u64,
    who: Identity,
    stream: Arc<Mutex<TcpStream>>,
    filters: Vec<String>,
    next_id: u16,
}

#[derive(Default)]
pub(crate) struct Hub {
    sessions: Vec<Session>,
    pub published: Vec<Published>,
    pub reports: Vec<(Identity, OtaReport)>,
    pub refused: Vec<RefusedLogin>,
    pub logins: Vec<AcceptedLogin>,
    pub violations: Vec<Violation>,
    /// Property sets and commands sent, waiting for the device's answer.
    pub waiting: Vec<DataRequest>,
    /// The devices' answers to property sets and commands, as checked.
    pub answers: Vec<DataAnswer>,
    /// The desired values kept per device (cloud, device name).
    pub desired: Vec<((Cloud, String), serde_json::Map<String, serde_json::Value>)>,
    /// Files streamed by Aliyun's MQTT file download.
    pub streams: Vec<Stream>,
    /// The file download's requests, oldest first.
    pub block_requests: Vec<BlockRequest>,
    /// Faults to play, each on the request whose index (in `block_requests`) it names.
    pub block_faults: Vec<(usize, BlockFault)>,
    next_conn: u64,
}

impl Hub {
    /// The desired values kept for `who` (none set: empty).
    pub fn desired_of(&self, who: &Identity) -> serde_json::Map<String, serde_json::Value> {
        self.desired
            .iter()
            .find(|((c, d), _)| *c == who.cloud && *d == who.device)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

pub(crate) struct HubShared {
    hub: Mutex<Hub>,
    pub cloud: Arc<CloudState>,
    log: Option<LogFn>,
}

fn lock_stream(s: &Mutex<TcpStream>) -> MutexGuard<'_, TcpStream> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl HubShared {
    pub(crate) fn new(cloud: Arc<CloudState>, log: Option<LogFn>) -> Self {
        Self {
            hub: Mutex::new(Hub::default()),
            cloud,
            log,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a line to the log. Client ids, topics and refusal details come from the
    /// network: control characters (which could act on a terminal or forge log lines) and
    /// backslashes are escaped first.
    fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.log {
            log(&printable(&line()));
        }
    }

    /// The identities of the connected devices.
    pub(crate) fn online(&self) -> Vec<Identity> {
        self.lock().sessions.iter().map(|s| s.who.clone()).collect()
    }

    /// Sends `payload` on `topic` to the device `who` at QoS 1, if it listens there.
    pub(crate) fn deliver(
        &self,
        who: &Identity,
        topic: &str,
        payload: &[u8],
    ) -> Result<(), DeliveryError> {
        if !topics::owns(who, topic) {
            return Err(DeliveryError::ForeignTopic(topic.into()));
        }
        let mut hub = self.lock();
        let Some(session) = hub.sessions.iter_mut().find(|s| &s.who == who) else {
            return Err(DeliveryError::NotConnected(format!(
                "{} {}",
                who.cloud, who.device
            )));
        };
        if !listens(session, topic) {
            return Err(DeliveryError::NotSubscribed(topic.into()));
        }
        let id = session.take_id();
        let bytes = wire::publish(topic, 1, id, payload);
        let stream = Arc::clone(&session.stream);
        drop(hub);
        wire::send(&mut *lock_stream(&stream), &bytes)
            .map_err(|e| DeliveryError::Io(e.to_string()))?;
        self.log(|| {
            format!(
                "{} {} <- {topic} ({} bytes)",
                who.cloud,
                who.device,
                payload.len()
            )
        });
        Ok(())
    }

    /// Delivers a device's own message to every session subscribed to it.
    fn route(&self, topic: &str, payload: &[u8]) {
        let targets: Vec<(Arc<Mutex<TcpStream>>, Vec<u8>)> = {
            let mut hub = self.lock();
            hub.sessions
                .iter_mut()
                .filter(|s| listens(s, topic))
                .map(|s| {
                    let id = s.take_id();
                    (Arc::clone(&s.stream), wire::publish(topic, 1, id, payload))
                })
                .collect()
        };
        for (stream, bytes) in targets {
            let _ = wire::send(&mut *lock_stream(&stream), &bytes);
        }
    }
}

impl Session {
    fn take_id(&mut self) -> u16 {
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        self.next_id
    }
}

/// Whether the session receives `topic`: a matching subscription; on Tuya, the
/// `channel/downlink/auto_subscribe` subscription that routes every downlink (§5.3); on
/// Huawei, any system downlink `$oc/devices/{id}/sys/…`, which IoTDA delivers without a
/// subscription.
fn listens(s: &Session, topic: &str) -> bool {
    if s.who.cloud == Cloud::Huawei
        && topic.starts_with(&format!("$oc/devices/{}/sys/", s.who.device))
    {
        return true;
    }
    let tuya_auto = s.who.cloud == Cloud::Tuya
        && s.filters
            .iter()
            .any(|f| *f == format!("tylink/{}/channel/downlink/auto_subscribe", s.who.device));
    (tuya_auto && topic.starts_with(&format!("tylink/{}/", s.who.device)))
        || s.filters.iter().any(|f| wire::matches(f, topic))
}

/// One cloud's MQTT listener, stopped when dropped.
pub(crate) struct Listener {
    acceptor: Acceptor,
    shared: Arc<HubShared>,
}

impl Listener {
    pub(crate) fn start(cloud: Cloud, shared: Arc<HubShared>) -> io::Result<Listener> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let acceptor = Acceptor::start(
            listener,
            format!("emulator-mqtt-{cloud}"),
            format!("emulator-mqtt-{cloud}-conn"),
            {
                let shared = Arc::clone(&shared);
                move |stream| serve(cloud, stream, &shared)
            },
        )?;
        Ok(Listener { acceptor, shared })
    }

    pub(crate) fn port(&self) -> u16 {
        self.acceptor.addr().port()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // No new sessions first, then close the ones there are so their threads end.
        self.acceptor.stop();
        for s in &self.shared.lock().sessions {
            let _ = lock_stream(&s.stream).shutdown(Shutdown::Both);
        }
    }
}

fn serve(cloud: Cloud, stream: TcpStream, shared: &HubShared) {
    let _ = stream.set_read_timeout(Some(CONNECT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(mut reader) = stream.try_clone() else {
        return;
    };
    let writer = Arc::new(Mutex::new(stream));
    let Ok(Inbound::Connect(connect)) = wire::read_packet(&mut reader) else {
        // Not MQTT, or not CONNECT first ([MQTT-3.1.0-1]): close.
        return;
    };
    let login = {
        let mut state = shared.cloud.lock();
        let now = state.now();
        login::check(cloud, &connect, &mut state.accounts, now)
    };
    let who = match login {
        Err(refusal) => {
            shared.log(|| {
                format!(
                    "{cloud} refused {} (CONNACK {}): {}",
                    connect.client_id, refusal.code, refusal.reason
                )
            });
            let code = refusal.code;
            // Recorded before the answer, so that whoever sees the CONNACK finds the record.
            shared.lock().refused.push(RefusedLogin {
                cloud,
                client_id: connect.client_id.clone(),
                refusal,
            });
            let _ = wire::send(&mut *lock_stream(&writer), &wire::connack(false, code));
            return;
        }
        Ok(Login::AliyunRegistration { topic, payload }) => {
            shared.log(|| format!("aliyun registration over MQTT answered on {topic}"));
            let mut w = lock_stream(&writer);
            let _ = wire::send(&mut *w, &wire::connack(false, 0));
            let _ = wire::send(&mut *w, &wire::publish(topic, 0, 0, payload.as_bytes()));
            drop(w);
            // The platform closes the connection after answering; give the device a moment
            // to read the answer and leave first.
            let _ = reader.set_read_timeout(Some(Duration::from_secs(2)));
            while wire::read_packet(&mut reader).is_ok() {}
            return;
        }
        Ok(Login::Device(who)) => who,
    };
    shared.lock().logins.push(AcceptedLogin {
        who: who.clone(),
        client_id: connect.client_id.clone(),
        username: connect.username.clone(),
    });
    if connect.keep_alive > 0 {
        // MQTT 3.1.1 §3.1.2.10: one and a half keep-alive periods without a packet.
        let limit = Duration::from_millis(u64::from(connect.keep_alive) * 1500);
        let _ = reader.set_read_timeout(Some(limit));
    } else {
        let _ = reader.set_read_timeout(None);
    }
    let conn = {
        let mut hub = shared.lock();
        hub.next_conn += 1;
        let conn = hub.next_conn;
        // One connection per device: a new login takes over from the old one.
        if let Some(old) = hub.sessions.iter().position(|s| s.who == who) {
            let old = hub.sessions.remove(old);
            let _ = lock_stream(&old.stream).shutdown(Shutdown::Both);
        }
        hub.sessions.push(Session {
            conn,
            who: who.clone(),
            stream: Arc::clone(&writer),
            filters: Vec::new(),
            next_id: 0,
        });
        conn
    };
    shared.log(|| format!("{cloud} {} connected", who.device));
    let _ = wire::send(&mut *lock_stream(&writer), &wire::connack(false, 0));
    let why = session_loop(&who, conn, &mut reader, &writer, shared);
    shared.log(|| format!("{cloud} {} disconnected: {why}", who.device));
    let mut hub = shared.lock();
    hub.sessions.retain(|s| s.conn != conn);
    drop(hub);
    let _ = lock_stream(&writer).shutdown(Shutdown::Both);
}

fn session_loop(
    who: &Identity,
    conn: u64,
    reader: &mut TcpStream,
    writer: &Mutex<TcpStream>,
    shared: &HubShared,
) -> String {
    let send = |bytes: Vec<u8>| wire::send(&mut *lock_stream(writer), &bytes);
    let violation = |what: String| {
        shared.log(|| format!("{} {} closed: {what}", who.cloud, who.device));
        shared.lock().violations.push(Violation {
            by: who.clone(),
            what: what.clone(),
        });
        what
    };
    loop {
        let packet = match wire::read_packet(reader) {
            Ok(p) => p,
            Err(WireError::Io(e)) => return format!("connection ended ({})", e.kind()),
            Err(WireError::Malformed(why)) => return violation(format!("malformed packet: {why}")),
        };
        let sent = match packet {
            Inbound::Publish {
                topic,
                qos,
                packet_id,
                payload,
                ..
            } => {
                if qos > 1 {
                    return violation(format!("QoS {qos} publish to {topic}"));
                }
                if !wire::valid_topic(&topic) || !topics::owns(who, &topic) {
                    return violation(format!("publish to {topic}"));
                }
                let report = topics::ota_report(who, &topic, &payload);
                let mut answer = topics::system_answer(who, &topic, &payload);
                let mut file = None;
                {
                    let mut hub = shared.lock();
                    if file_download::is_request(who, &topic) {
                        let hub = &mut *hub;
                        let index = hub.block_requests.len();
                        let fault = hub
                            .block_faults
                            .iter()
                            .position(|(i, _)| *i == index)
                            .map(|at| hub.block_faults.remove(at).1);
                        file = Some(file_download::answer(
                            who,
                            &payload,
                            &hub.streams,
                            fault,
                            &mut hub.block_requests,
                        ));
                    }
                    if answer.is_none() {
                        let desired = hub.desired_of(who);
                        answer = thing::cloud_answer(who, &topic, &payload, &desired);
                    }
                    let checked = thing::check_answer(who, &topic, &payload, &mut hub.waiting);
                    if let Some(a) = checked {
                        shared.log(|| {
                            format!(
                                "{} {} answered {} with code {}{}",
                                who.cloud,
                                who.device,
                                a.id,
                                a.code,
                                if a.answers.is_some() {
                                    ""
                                } else {
                                    " (no such request)"
                                }
                            )
                        });
                        hub.answers.push(a);
                    }
                    hub.published.push(Published {
                        from: who.clone(),
                        topic: topic.clone(),
                        payload: payload.clone(),
                        qos,
                        at_ms: now_ms(),
                    });
                    if let Some(r) = report {
                        hub.reports.push((who.clone(), r));
                    }
                }
                shared.log(|| {
                    format!(
                        "{} {} -> {topic}: {}",
                        who.cloud,
                        who.device,
                        String::from_utf8_lossy(&payload)
                    )
                });
                let acked = match packet_id {
                    Some(id) => send(wire::puback(id)),
                    None => Ok(()),
                };
                shared.route(&topic, &payload);
                if let Some((topic, body)) = answer {
                    let _ = shared.deliver(who, &topic, body.as_bytes());
                }
                match file {
                    Some(Answer::Reply(topic, body)) => {
                        let _ = shared.deliver(who, &topic, &body);
                    }
                    Some(Answer::Close) => return "closed instead of a block reply".into(),
                    Some(Answer::Nothing) | None => {}
                }
                acked
            }
            Inbound::Subscribe { packet_id, filters } => {
                let mut codes = Vec::with_capacity(filters.len());
                let mut refused = Vec::new();
                let mut hub = shared.lock();
                let Some(session) = hub.sessions.iter_mut().find(|s| s.conn == conn) else {
                    return "taken over by a newer connection".into();
                };
                for (filter, qos) in filters {
                    if wire::valid_filter(&filter) && topics::owns(who, &filter) {
                        codes.push(qos.min(1));
                        if !session.filters.contains(&filter) {
                            session.filters.push(filter);
                        }
                    } else {
                        codes.push(0x80);
                        refused.push(Violation {
                            by: who.clone(),
                            what: format!("subscribe to {filter}"),
                        });
                        shared.log(|| {
                            format!("{} {} refused subscription {filter}", who.cloud, who.device)
                        });
                    }
                }
                hub.violations.extend(refused);
                drop(hub);
                send(wire::suback(packet_id, &codes))
            }
            Inbound::Unsubscribe { packet_id, filters } => {
                if let Some(s) = shared.lock().sessions.iter_mut().find(|s| s.conn == conn) {
                    s.filters.retain(|f| !filters.contains(f));
                }
                send(wire::unsuback(packet_id))
            }
            Inbound::Puback(_) => Ok(()),
            Inbound::Pingreq => send(wire::pingresp()),
            Inbound::Disconnect => return "DISCONNECT".into(),
            Inbound::Connect(_) => return violation("a second CONNECT".into()),
        };
        if let Err(e) = sent {
            return format!("write failed ({})", e.kind());
        }
    }
}

/// `text` with control characters written as `\u{…}` and backslashes doubled.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}
