//! Test support for iotcloud devices on a host: a real mosquitto broker per test on its own
//! loopback port (plain, TLS or TLS-PSK listeners, stopped and restarted at will), fault
//! injection between a device and its broker, and helpers that drive a `hal-host` device
//! against them and collect its events as owned values. The SDK's own integration tests use
//! it; applications can use it to test their devices the same way.
//!
//! ```no_run
//! use iotcloud_core::QoS;
//! use iotcloud_testkit::{Broker, connect, memory, provider, round_trip};
//!
//! #[tokio::test]
//! async fn my_device_round_trips_a_message() {
//!     let mut broker = Broker::start(); // stopped when dropped
//!     let mut device = connect(provider(broker.port, "dev-1"), memory(2048, 1024, 4096)).await;
//!     // Subscribes, publishes, and asserts the message comes back intact.
//!     round_trip(&mut device, "dev-1/echo", b"hello", QoS::AtLeastOnce).await;
//!     broker.restart(); // the device sees the loss and can reconnect
//! }
//! ```
//!
//! mosquitto must be installed (`$MOSQUITTO`, `/usr/sbin/mosquitto`, or on `$PATH`).
//! Panics are how these helpers report failure: they are meant to run inside tests only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod data;
pub mod fault;

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hal_host::{FileStore, HostError, HostPlatform};
use iotcloud_core::plain::PlainMqtt;
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::register::RegisterError;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::{
    Connected, Device, Error, Event, KvStore, Memory, NoStore, Provider, QoS, Unregistered,
};

/// Where mosquitto is: `$MOSQUITTO`, then the Debian path, then `$PATH`.
fn mosquitto_bin() -> PathBuf {
    if let Ok(p) = std::env::var("MOSQUITTO") {
        return p.into();
    }
    for p in [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    let found = Command::new("sh")
        .args(["-c", "command -v mosquitto"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match found {
        Some(p) if !p.is_empty() => p.into(),
        _ => panic!(
            "these tests need the mosquitto broker: `apt-get install mosquitto`, or set MOSQUITTO \
             to its path (.ci/run installs it)"
        ),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Extra `mosquitto.conf` lines for the listener (TLS settings).
#[derive(Default, Clone)]
pub struct ListenerExtra(pub Vec<String>);

/// A loopback port that was free a moment ago and that this process has not handed out
/// before (two tests starting brokers at once could otherwise be given the same one).
fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(port)
        {
            return port;
        }
    }
}

/// A mosquitto process on a loopback port, with persistence in a temporary directory.
pub struct Broker {
    child: Option<Child>,
    /// The loopback port it listens on.
    pub port: u16,
    /// Its configuration, log and persistence directory (removed on drop).
    pub dir: tempfile::TempDir,
    extra: ListenerExtra,
}

impl Broker {
    /// Starts a plain-TCP broker on a free loopback port.
    pub fn start() -> Broker {
        Self::start_with(ListenerExtra::default())
    }

    /// Starts a broker whose listener also has the `extra` configuration lines.
    pub fn start_with(extra: ListenerExtra) -> Broker {
        Self::start_in(tempfile::tempdir().unwrap(), extra)
    }

    /// A broker whose only listener is TLS-PSK (TLS 1.2, pre-shared-key cipher suites, no
    /// certificate) and knows one client: `identity` with `key`. Mosquitto's `psk_hint` and
    /// `psk_file`; the key is written to the file as hex, as mosquitto reads it. The cipher
    /// suites are the two Tencent's device SDK offers. The broker takes each client's user
    /// name from its PSK identity (`use_identity_as_username`), so its log names the
    /// identity it authenticated.
    pub fn start_psk(identity: &str, key: &[u8]) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("psk");
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(&file, format!("{identity}:{hex}\n")).unwrap();
        let extra = ListenerExtra(vec![
            "psk_hint iotcloud-test".into(),
            format!("psk_file {}", file.display()),
            "tls_version tlsv1.2".into(),
            "ciphers PSK-AES128-CBC-SHA:PSK-AES256-CBC-SHA".into(),
            "use_identity_as_username true".into(),
        ]);
        Self::start_in(dir, extra)
    }

    fn start_in(dir: tempfile::TempDir, extra: ListenerExtra) -> Broker {
        let mut b = Broker {
            child: None,
            port: 0,
            dir,
            extra,
        };
        // A port found free can be taken by another broker before this one binds it (a
        // test running beside this one, another test process): try another then.
        let mut lost = String::new();
        for _ in 0..10 {
            b.port = free_port();
            match b.try_launch() {
                Ok(()) => return b,
                Err(log) => lost = log,
            }
        }
        panic!("mosquitto found no free port in 10 tries; its last log:\n{lost}");
    }

    fn launch(&mut self) {
        if let Err(log) = self.try_launch() {
            panic!("mosquitto could not listen on port {}: {log}", self.port);
        }
    }

    /// Starts mosquitto on `self.port`: `Ok` once this process says it is running and the
    /// port accepts connections, `Err` with its log if it exited (its port was taken).
    fn try_launch(&mut self) -> Result<(), String> {
        let dir = self.dir.path();
        // The log is appended to across restarts: only what this start writes counts.
        let logged_before = self.log().len();
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
             persistence_location {dir}/\nautosave_interval 1\nlog_dest file {dir}/mosquitto.log\n\
             log_type all\nmax_inflight_messages 0\nmax_queued_messages 10000\n",
            port = self.port,
            dir = dir.display()
        );
        if is_root() {
            // Stay root so the persistence directory stays writable.
            conf.push_str("user root\n");
        }
        for line in &self.extra.0 {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = dir.join("mosquitto.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(mosquitto_bin())
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Err(format!("mosquitto exited with {status}: {}", self.log()));
            }
            // "mosquitto version … running" comes once every listener is open, so a
            // connection then reaches this process and not another broker on the port.
            let running = self
                .log()
                .get(logged_before..)
                .is_some_and(|new| new.contains(" running"));
            if running && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mosquitto did not start: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the broker the way a service manager does (SIGTERM): it saves its state.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            child.wait().unwrap();
        }
    }

    /// Freezes the broker (SIGSTOP): connections stay open, nothing is read or answered.
    pub fn freeze(&mut self) {
        if let Some(child) = &self.child {
            Command::new("kill")
                .args(["-STOP", &child.id().to_string()])
                .status()
                .unwrap();
        }
    }

    /// Kills the broker outright (SIGKILL): only what it saved before survives.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            child.wait().unwrap();
        }
    }

    /// Starts the broker again on the same port with the same persistence directory.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "broker still running");
        self.launch();
    }

    /// Stops the broker and starts it again on the same port and persistence directory.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// What the broker has logged so far (empty if nothing yet).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `len` zeroed bytes that live for the whole test.
pub fn zeroed(len: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; len].into_boxed_slice())
}

/// Device memory that lives for the whole test: receive, transmit and session buffers.
pub fn memory(rx: usize, tx: usize, session: usize) -> Memory<'static> {
    Memory {
        rx: zeroed(rx),
        tx: zeroed(tx),
        session: zeroed(session),
        ..Memory::default()
    }
}

/// A host device of provider `P` in state `St`.
/// (The store defaults to none; registration tests use `FileStore`.)
pub type HostDevice<P, St, S = NoStore> = Device<'static, P, HostPlatform<S>, St>;

/// A plain MQTT provider for the broker on `port`.
pub fn provider(port: u16, client_id: &'static str) -> PlainMqtt<'static> {
    PlainMqtt::new("127.0.0.1", port, client_id).unwrap()
}

/// Every system subscription `provider` asks for on connect, as filter and QoS, in order.
pub fn system_subscriptions<P: Provider>(provider: &P) -> Vec<(String, QoS)> {
    let mut subs = Vec::new();
    loop {
        let mut buf = [0u8; 512];
        let scratch = &mut Scratch::new(&mut buf);
        match provider.system_subscription(subs.len(), scratch).unwrap() {
            Some(sub) => subs.push((sub.filter.as_str().to_string(), sub.qos)),
            None => return subs,
        }
    }
}

/// Every topic `provider`'s OTA formats subscribe on connect (when OTA is enabled), as
/// filter and QoS, in order; none when the cloud has no OTA over MQTT.
pub fn ota_subscriptions<P: Provider>(provider: &P) -> Vec<(String, QoS)> {
    use iotcloud_core::ota::OtaFormat as _;
    let Ok(ota) = provider.ota() else {
        return Vec::new();
    };
    let mut subs = Vec::new();
    loop {
        let mut buf = [0u8; 512];
        let scratch = &mut Scratch::new(&mut buf);
        match ota.subscription(subs.len(), scratch).unwrap() {
            Some(sub) => subs.push((sub.filter.as_str().to_string(), sub.qos)),
            None => return subs,
        }
    }
}

/// Overrides that point a cloud provider at the broker on `port`: 127.0.0.1, TLS off.
pub fn local(port: u16) -> EndpointOverrides<'static> {
    EndpointOverrides {
        host: Some("127.0.0.1"),
        port: Some(port),
        tls: TlsChoice::Off,
        client: None,
    }
}

/// A host device over `provider`, not yet registered.
pub fn device<P: Provider>(provider: P, memory: Memory<'static>) -> HostDevice<P, Unregistered> {
    Device::new(provider, HostPlatform::new(), memory)
}

/// Registers and connects, and consumes the `Connected` event.
pub async fn connect<P: Provider>(
    provider: P,
    memory: Memory<'static>,
) -> HostDevice<P, Connected> {
    let dev = device(provider, memory).register().await.unwrap();
    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    dev
}

/// An owned copy of an event, so tests can keep it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    /// Connected; whether the broker kept the session.
    Connected(bool),
    /// A message received.
    Message {
        /// Its topic.
        topic: String,
        /// Its payload.
        payload: Vec<u8>,
        /// The QoS it was delivered with.
        qos: QoS,
        /// Whether the broker marked it as a redelivery.
        dup: bool,
    },
    /// A QoS 1 or 2 publish acknowledged: its packet id.
    Published(u16),
    /// A SUBACK: its packet id and the codes per filter.
    Subscribed(u16, Vec<iotcloud_core::mqtt::SubackCode>),
    /// An UNSUBACK: its packet id.
    Unsubscribed(u16),
    /// The connection was lost, with the reason as text.
    Disconnected(String),
    /// An upgrade job, as its `Debug` text.
    Ota(String),
    /// An upgrade notice the device refused, and why.
    OtaRejected(iotcloud_core::ota::OtaNoticeError),
    /// Any other event, or an error, as `Debug` text.
    Error(String),
}

/// The next event within `ms`, or `None` on timeout.
pub async fn next<P: Provider, S: KvStore>(
    dev: &mut HostDevice<P, Connected, S>,
    ms: u64,
) -> Option<Ev> {
    let ev = tokio::time::timeout(Duration::from_millis(ms), dev.next_event())
        .await
        .ok()?;
    Some(match ev {
        Ok(Event::Connected { session_present }) => Ev::Connected(session_present),
        Ok(Event::Message(m)) => Ev::Message {
            topic: m.topic.into(),
            payload: m.payload.into(),
            qos: m.qos,
            dup: m.dup,
        },
        Ok(Event::Published { packet_id }) => Ev::Published(packet_id.get()),
        Ok(Event::Subscribed { packet_id, codes }) => {
            Ev::Subscribed(packet_id.get(), codes.iter().collect())
        }
        Ok(Event::Unsubscribed { packet_id }) => Ev::Unsubscribed(packet_id.get()),
        Ok(Event::Disconnected(r)) => Ev::Disconnected(r.to_string()),
        Ok(Event::Ota(job)) => Ev::Ota(format!("{job:?}")),
        Ok(Event::OtaRejected(e)) => Ev::OtaRejected(e),
        #[allow(unreachable_patterns)]
        Ok(other) => Ev::Error(format!("unexpected {other:?}")),
        Err(e) => Ev::Error(e.to_string()),
    })
}

/// Waits for the SUBACK of a subscription.
pub async fn subscribe<P: Provider, S: KvStore>(
    dev: &mut HostDevice<P, Connected, S>,
    filter: &str,
    qos: QoS,
) {
    let id = dev.subscribe(&[(filter, qos)]).await.unwrap().get();
    loop {
        match next(dev, 5_000).await {
            Some(Ev::Subscribed(got, codes)) if got == id => {
                assert_eq!(codes, [iotcloud_core::mqtt::SubackCode::Granted(qos)]);
                return;
            }
            Some(Ev::Subscribed(..)) => {}
            other => panic!("waiting for SUBACK: {other:?}"),
        }
    }
}

/// Waits for the SUBACK of the system subscriptions the provider made on connect, and
/// checks that the session holds exactly `filters`.
pub async fn subscribed_on_connect<P: Provider, S: KvStore>(
    dev: &mut HostDevice<P, Connected, S>,
    filters: &[&str],
) {
    assert!(matches!(next(dev, 5_000).await, Some(Ev::Subscribed(..))));
    let held: Vec<String> = dev
        .session()
        .subscriptions()
        .map(|s| s.0.to_string())
        .collect();
    assert_eq!(held, filters);
}

/// Publishes `payload` to `topic`, which the device is subscribed to, and waits until the
/// message has come back unchanged and, at QoS 1 and 2, the broker has acknowledged this
/// publish. Any other event fails the test.
pub async fn round_trip<P: Provider, S: KvStore>(
    dev: &mut HostDevice<P, Connected, S>,
    topic: &str,
    payload: &[u8],
    qos: QoS,
) {
    let id = dev
        .publish(topic, payload, qos)
        .await
        .unwrap()
        .map(|id| id.get());
    let mut got_message = false;
    let mut got_ack = id.is_none();
    while !(got_message && got_ack) {
        match next(dev, 5_000).await.expect("event") {
            Ev::Message {
                topic: t,
                payload: p,
                ..
            } => {
                assert_eq!((t.as_str(), p.as_slice()), (topic, payload));
                got_message = true;
            }
            Ev::Published(got) if Some(got) == id => got_ack = true,
            other => panic!("waiting for the round trip on {topic}: {other:?}"),
        }
    }
}

/// Checks that the device refuses to publish at QoS 2, for clouds that have none.
pub async fn assert_qos2_refused<P: Provider, S: KvStore>(
    dev: &mut HostDevice<P, Connected, S>,
    topic: &str,
) {
    assert!(matches!(
        dev.publish(topic, b"x", QoS::ExactlyOnce).await,
        Err(iotcloud_core::Error::QosNotSupported { .. })
    ));
}

/// Leaks a string, for a `'static` configuration value built at run time (a URL).
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A fresh, empty directory for one test's store, unique per process and call.
pub fn store_dir(prefix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "iotcloud-{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A host device over `provider` that keeps registration records in a file store in `dir`,
/// with a credentials buffer of `creds` bytes.
pub fn registering_device<P: Provider>(
    provider: P,
    dir: &Path,
    creds: usize,
) -> HostDevice<P, Unregistered, FileStore> {
    Device::new(
        provider,
        HostPlatform::new().with_store(FileStore::open(dir).unwrap()),
        Memory {
            credentials: zeroed(creds),
            ..memory(4096, 1024, 2048)
        },
    )
}

/// Registers, expecting a registration error; returns the device and that error.
pub async fn registration_error<P: Provider>(
    dev: HostDevice<P, Unregistered, FileStore>,
) -> (
    HostDevice<P, Unregistered, FileStore>,
    RegisterError<HostError>,
) {
    match dev.register().await {
        Ok(_) => panic!("registration should fail"),
        Err(failed) => match failed.into_parts() {
            (Error::Registration(e), dev) => (dev, e),
            (other, _) => panic!("not a registration error: {other:?}"),
        },
    }
}

/// The firmware image of an OTA round, as a cloud's notice describes it.
#[derive(Debug, Clone)]
pub struct Image {
    /// Download URL on the local firmware server.
    pub url: String,
    /// Size in bytes.
    pub size: usize,
    /// MD5, lower-case hex.
    pub md5: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// What an OTA round saw.
#[derive(Debug)]
pub struct OtaRound {
    /// The job the device took from the notice (`Debug` of `OtaJob`).
    pub job: String,
    /// The image as downloaded equals the served one.
    pub image_ok: bool,
    /// What the device published on the watched topics, in order: before the notice
    /// (version report, job request) and during and after the download.
    pub published: Vec<(String, String)>,
    /// Notices refused while the download ran (the round re-sends its notice then).
    pub rejected_during_download: Vec<iotcloud_core::ota::OtaNoticeError>,
}

impl OtaRound {
    /// Asserts what every cloud's round must show: the image downloaded intact, the
    /// notice re-sent during the download refused as busy, and a job for version 2.0.0
    /// whose digest is of kind `digest` (`"sha256"`, `"md5"`).
    #[track_caller]
    pub fn assert_took_version_2(&self, digest: &str) {
        assert!(self.image_ok);
        assert_eq!(
            self.rejected_during_download,
            [iotcloud_core::ota::OtaNoticeError::Busy]
        );
        assert!(self.job.contains(r#"version: "2.0.0""#), "{}", self.job);
        assert!(self.job.contains(&format!("{digest}:")), "{}", self.job);
    }
}

/// One OTA round through `broker`: the device (`provider`, running `version`) connects
/// with OTA enabled; a cloud-side client watching `watch` publishes the notice `notice`
/// builds for a 60 kB image on a local firmware server; the device downloads it (the
/// server drops the first connection half-way), and everything the device published on
/// `watch` is returned.
pub async fn ota_round<P: Provider>(
    broker: &Broker,
    provider: P,
    version: &'static str,
    watch: &str,
    notice: impl FnOnce(&Image) -> (String, String),
) -> OtaRound {
    ota_round_subscribed(broker, provider, version, watch, None, notice).await
}

/// [`ota_round`] where the device also subscribes to `downlink` after connecting: for a
/// cloud that routes its system downlinks without a subscription (IoTDA), which a plain
/// broker does not.
pub async fn ota_round_subscribed<P: Provider>(
    broker: &Broker,
    provider: P,
    version: &'static str,
    watch: &str,
    downlink: Option<&str>,
    notice: impl FnOnce(&Image) -> (String, String),
) -> OtaRound {
    use iotcloud_core::ota::{DownloadSettings, Firmware};
    use md5::Digest as _;

    let server = iotcloud_emulator::FirmwareServer::start().unwrap();
    let bytes: Vec<u8> = (0..60_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let image = Image {
        url: server.add("/fw/image.bin", bytes.clone()),
        size: bytes.len(),
        md5: hex(&md5::Md5::digest(&bytes)),
        sha256: hex(&sha2::Sha256::digest(&bytes)),
    };
    server.fail_next(iotcloud_emulator::DownloadFault::DropAfter(25_000));

    let cloud_id = leak(format!("cloud-side-{}", broker.port));
    let mut cloud = connect(
        crate::provider(broker.port, cloud_id),
        memory(4096, 1024, 4096),
    )
    .await;
    subscribe(&mut cloud, watch, QoS::AtLeastOnce).await;

    let memory = Memory {
        ota_job: zeroed(1024),
        ..memory(4096, 1024, 4096)
    };
    let dev = device(provider, memory)
        .with_ota(Firmware::new(version))
        .register()
        .await
        .unwrap();
    let mut dev = dev.connect().await.unwrap();
    assert!(matches!(
        next(&mut dev, 5_000).await,
        Some(Ev::Connected(_))
    ));
    if let Some(downlink) = downlink {
        subscribe(&mut dev, downlink, QoS::AtLeastOnce).await;
    }

    let mut published = Vec::new();
    collect(&mut cloud, &mut published, 300).await;

    let (topic, payload) = notice(&image);
    cloud
        .publish(&topic, payload.as_bytes(), QoS::AtLeastOnce)
        .await
        .unwrap();
    let job = loop {
        match next(&mut dev, 5_000).await {
            Some(Ev::Ota(job)) => break job,
            Some(Ev::Published(_) | Ev::Subscribed(..)) => {}
            other => panic!("expected the upgrade job, got {other:?}"),
        }
    };

    // The same notice again: it arrives during the download and must be refused.
    cloud
        .publish(&topic, payload.as_bytes(), QoS::AtLeastOnce)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fw.bin");
    let mut sink = hal_host::FileSink::new(&path);
    let mut http = hal_host::TcpTransport::new();
    let mut work = vec![0u8; 1024 + 4096];
    let settings = DownloadSettings {
        retry_delay_ms: 20,
        progress_interval_ms: 0,
        progress_step: 25,
        ..DownloadSettings::default()
    };
    let mut during = Vec::new();
    let len = dev
        .download_ota(&mut http, &mut sink, &mut work, &settings, |e| {
            if let iotcloud_core::device::OtaEvent::Event(Event::OtaRejected(e)) = e {
                during.push(e);
            }
        })
        .await
        .unwrap();
    assert_eq!(len, bytes.len() as u64);
    let image_ok = std::fs::read(&path).unwrap() == bytes;
    collect(&mut cloud, &mut published, 500).await;
    OtaRound {
        job,
        image_ok,
        published,
        rejected_during_download: during,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Messages `cloud` receives until `quiet_ms` pass without one.
async fn collect<P: Provider>(
    cloud: &mut HostDevice<P, Connected>,
    out: &mut Vec<(String, String)>,
    quiet_ms: u64,
) {
    while let Some(ev) = next(cloud, quiet_ms).await {
        if let Ev::Message { topic, payload, .. } = ev {
            out.push((topic, String::from_utf8_lossy(&payload).into_owned()));
        }
    }
}
