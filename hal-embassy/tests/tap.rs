//! End to end: a device on hal-embassy, over embassy-net on a Linux TAP interface
//! (`embassy-net-tuntap`), against mosquitto, inside a network namespace of its own.
//!
//! Run as `cargo test -p hal-embassy --test tap`. It needs root (to create the namespace and
//! the TAP interface) and `/dev/net/tun`; without them it prints one line saying so and
//! passes without running. CI runs as root.
//!
//! One binary plays two parts. Run by the test harness, it is the *orchestrator*: it creates
//! the namespace `iotc-emb-<pid>` with a TAP interface `tap0` (192.168.69.1/24 on the kernel's
//! side), starts mosquitto listening on 192.168.69.1 inside it, and runs itself again inside
//! the namespace (`ip netns exec`) as the *device*: embassy-net on `tap0` as 192.168.69.2, a
//! DNS server of its own on 192.168.69.1:53 (a thread answering `broker.iotcloud.test`), and
//! an iotcloud device connecting to `broker.iotcloud.test:1883`. Before the device uses the
//! transport, the transport alone must refuse TLS and TLS-PSK endpoints, refuse to read
//! before connecting, and connect twice in a row on its one socket. The orchestrator kills
//! mosquitto once the device has its first echo, starts it again once the device has been
//! refused, and checks what both say. The namespace is deleted at the end, also on failure.
//!
//! Nothing reaches the host's own network: every address is inside the namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The environment variable that makes the binary the device.
const DEVICE_ROLE: &str = "HAL_EMBASSY_TAP_DEVICE";
const TAP: &str = "tap0";
const HOST_SIDE: &str = "192.168.69.1";
const DEVICE_ADDRESS: [u8; 4] = [192, 168, 69, 2];
const BROKER_NAME: &str = "broker.iotcloud.test";
const BROKER_PORT: u16 = 1883;
const CLIENT_ID: &str = "hal-embassy-tap";
const TOPIC: &str = "hal-embassy/tap/echo";

/// What the device prints, in order, for the orchestrator to follow and check.
mod says {
    pub const TRANSPORT: &str = "transport alone: ok";
    pub const ROUND_1: &str = "round 1: own message received";
    pub const LINK_LOST: &str = "link lost:";
    pub const REFUSED: &str = "reconnect refused";
    pub const ROUND_2: &str = "round 2: own message received";
    pub const DONE: &str = "done";
    pub const DNS: &str = "dns: answered";
}

/// Longest the whole exchange may take.
const DEADLINE: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    if std::env::var_os(DEVICE_ROLE).is_some() {
        return device::run();
    }
    if let Some(why) = missing_privileges() {
        println!("hal-embassy tap end-to-end test: SKIPPED, {why}");
        return ExitCode::SUCCESS;
    }
    let mut world = match World::create() {
        Ok(world) => world,
        Err(e) => {
            eprintln!("hal-embassy tap end-to-end test: FAILED to set up: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = world.exchange();
    drop(world);
    match result {
        Ok(()) => {
            println!("hal-embassy tap end-to-end test: ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hal-embassy tap end-to-end test: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why this machine cannot run the test, if it cannot.
fn missing_privileges() -> Option<&'static str> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0");
    if !root {
        return Some("it needs root (uid 0) to create a network namespace and a TAP interface");
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("it needs /dev/net/tun for the TAP interface");
    }
    None
}

fn mosquitto_binary() -> PathBuf {
    let packaged = PathBuf::from("/usr/sbin/mosquitto");
    if packaged.exists() {
        packaged
    } else {
        PathBuf::from("mosquitto")
    }
}

/// Runs `ip` with `args`; an error says which command failed and why.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("could not run `ip` (Debian: iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Deletes the namespaces of earlier runs whose process is gone: a run killed by a signal
/// (a CI timeout) cannot clean up after itself, so the next one does.
fn sweep_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name.strip_prefix("iotc-emb-") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// The namespace, its TAP interface, mosquitto and the device process; all removed on
/// drop.
struct World {
    namespace: String,
    dir: PathBuf,
    broker: Option<Child>,
    broker_runs: usize,
    device: Option<Child>,
}

impl World {
    fn create() -> Result<World, String> {
        sweep_stale_namespaces();
        let pid = std::process::id();
        let namespace = format!("iotc-emb-{pid}");
        let dir = std::env::temp_dir().join(format!("hal-embassy-tap-{pid}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        ip(&["netns", "add", &namespace])?;
        // From here on, dropping the world deletes the namespace.
        let world = World {
            namespace,
            dir,
            broker: None,
            broker_runs: 0,
            device: None,
        };
        let ns = world.namespace.as_str();
        let address = format!("{HOST_SIDE}/24");
        for args in [
            &["link", "set", "lo", "up"][..],
            &["tuntap", "add", "dev", TAP, "mode", "tap"],
            &["addr", "add", &address, "dev", TAP],
            &["link", "set", TAP, "up"],
        ] {
            let mut full = vec!["netns", "exec", ns, "ip"];
            full.extend_from_slice(args);
            ip(&full)?;
        }
        let config = world.dir.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {BROKER_PORT} {HOST_SIDE}\nallow_anonymous true\npersistence false\n\
                 log_dest stderr\nlog_type all\nconnection_messages true\n"
            ),
        )
        .map_err(|e| format!("{}: {e}", config.display()))?;
        Ok(world)
    }

    fn broker_log(&self, run: usize) -> PathBuf {
        self.dir.join(format!("mosquitto-{run}.log"))
    }

    /// Starts mosquitto in the namespace and waits until it listens. Its log goes to a file
    /// this process opened, so mosquitto needs no writable directory after dropping root.
    fn start_broker(&mut self) -> Result<(), String> {
        self.broker_runs += 1;
        let log_path = self.broker_log(self.broker_runs);
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.namespace])
            .arg(mosquitto_binary())
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("could not start mosquitto: {e}"))?;
        self.broker = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains("Opening ipv4 listen socket on port") {
                return Ok(());
            }
            if let Some(status) = self
                .broker
                .as_mut()
                .and_then(|b| b.try_wait().ok().flatten())
            {
                return Err(format!("mosquitto exited at start ({status}):\n{text}"));
            }
            if Instant::now() > deadline {
                return Err(format!("mosquitto did not listen within 10 s:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills mosquitto the hard way, as a crash or a power cut would.
    fn kill_broker(&mut self) {
        if let Some(mut broker) = self.broker.take() {
            let _ = broker.kill();
            let _ = broker.wait();
        }
    }

    /// The whole exchange; `Err` says what went wrong and shows what both sides said.
    fn exchange(&mut self) -> Result<(), String> {
        self.start_broker()?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut device = Command::new("ip")
            .args(["netns", "exec", &self.namespace])
            .arg(exe)
            .env(DEVICE_ROLE, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start the device: {e}"))?;
        let stdout = device.stdout.take().ok_or("no device output")?;
        self.device = Some(device);
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });

        let deadline = Instant::now() + DEADLINE;
        let mut said = Vec::new();
        let ended = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Disconnected) => break true,
                Err(mpsc::RecvTimeoutError::Timeout) => break false,
            };
            println!("  device | {line}");
            let _ = std::io::stdout().flush();
            if line.starts_with(says::ROUND_1) {
                // The device has its echo: take the broker away under it.
                self.kill_broker();
            } else if line.starts_with(says::REFUSED) && self.broker.is_none() {
                // The device has been refused at least once: bring the broker back.
                self.start_broker()?;
            }
            said.push(line);
        };
        let status = match self.device.take() {
            Some(mut device) => {
                if !ended {
                    let _ = device.kill();
                }
                device.wait().map_err(|e| e.to_string())?
            }
            None => return Err("no device process".into()),
        };
        self.kill_broker();
        let logs: Vec<String> = (1..=self.broker_runs)
            .map(|run| std::fs::read_to_string(self.broker_log(run)).unwrap_or_default())
            .collect();
        let report = || {
            let mut text = format!("device said:\n  {}\n", said.join("\n  "));
            for (n, log) in logs.iter().enumerate() {
                text += &format!("mosquitto run {}:\n{log}", n + 1);
            }
            text
        };
        if !ended {
            return Err(format!(
                "the device did not finish within {}s\n{}",
                DEADLINE.as_secs(),
                report()
            ));
        }
        if !status.success() {
            return Err(format!("the device failed ({status})\n{}", report()));
        }
        check(&said, &logs).map_err(|e| format!("{e}\n{}", report()))
    }
}

/// What must be true of a good run.
fn check(said: &[String], logs: &[String]) -> Result<(), String> {
    // The device's steps, in this order.
    let mut at = 0;
    for step in [
        says::TRANSPORT,
        says::ROUND_1,
        says::LINK_LOST,
        says::REFUSED,
        says::ROUND_2,
        says::DONE,
    ] {
        at = said[at..]
            .iter()
            .position(|l| l.starts_with(step))
            .map(|i| at + i + 1)
            .ok_or_else(|| format!("the device never said {step:?} (in order)"))?;
    }
    // The host name went through embassy-net's DNS client to the device's server.
    let answered = said
        .iter()
        .find_map(|l| l.strip_prefix(says::DNS))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    if answered == 0 {
        return Err("no DNS query reached the device's DNS server".into());
    }
    // Two broker runs, each with one connection from the embassy stack's address (not
    // loopback: the bytes crossed the TAP interface) and the device's own echo.
    if logs.len() != 2 {
        return Err(format!("expected 2 mosquitto runs, saw {}", logs.len()));
    }
    let from = format!(
        "New client connected from {}.{}.{}.{}:",
        DEVICE_ADDRESS[0], DEVICE_ADDRESS[1], DEVICE_ADDRESS[2], DEVICE_ADDRESS[3]
    );
    for (n, log) in logs.iter().enumerate() {
        let run = n + 1;
        let connects = log.lines().filter(|l| l.contains(&from)).count();
        if connects != 1 {
            return Err(format!(
                "mosquitto run {run}: {connects} connections from {from:?}, expected 1"
            ));
        }
        if !log.contains(&format!("as {CLIENT_ID}")) {
            return Err(format!("mosquitto run {run}: no client {CLIENT_ID}"));
        }
        if !log.contains(&format!("Received SUBSCRIBE from {CLIENT_ID}")) {
            return Err(format!(
                "mosquitto run {run}: no SUBSCRIBE (the subscription must be restored after the reconnect)"
            ));
        }
        let publishes = format!("Received PUBLISH from {CLIENT_ID}");
        if !log.contains(&publishes) {
            return Err(format!("mosquitto run {run}: no PUBLISH from the device"));
        }
    }
    // The second run ended with the device's DISCONNECT, not a dropped connection.
    if !logs[1].contains(&format!("Received DISCONNECT from {CLIENT_ID}")) {
        return Err("mosquitto run 2: the device did not disconnect cleanly".into());
    }
    Ok(())
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(mut device) = self.device.take() {
            let _ = device.kill();
            let _ = device.wait();
        }
        self.kill_broker();
        if let Err(e) = ip(&["netns", "del", &self.namespace]) {
            eprintln!("hal-embassy tap end-to-end test: cleanup: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The device: runs inside the namespace, on embassy's executor for std.
mod device {
    use std::net::{Ipv4Addr, UdpSocket};
    use std::process::ExitCode;
    use std::sync::atomic::{AtomicU32, Ordering};

    use embassy_executor::Executor;
    use embassy_futures::select::{Either, select};
    use embassy_net::tcp::State;
    use embassy_net::{Config, Ipv4Address, Ipv4Cidr, StackResources, StaticConfigV4};
    use embassy_net_tuntap::TunTapDevice;
    use embassy_time::{Duration, Timer, with_timeout};
    use embedded_io_async::Read;
    use hal_embassy::{EmbassyClock, EmbassyPlatform, NetError, NetTransport, WallClock};
    use iotcloud_core::Transport;
    use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
    use iotcloud_core::plain::PlainMqtt;
    use iotcloud_core::transport::{Endpoint, Psk, ServerAuth};
    use iotcloud_core::{Connected, Device, Event, QoS};
    use static_cell::StaticCell;

    use super::{BROKER_NAME, BROKER_PORT, CLIENT_ID, DEVICE_ADDRESS, TAP, TOPIC, says};

    static ANSWERED: AtomicU32 = AtomicU32::new(0);
    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    static WALL: WallClock = WallClock::new();
    /// The platform's seed: distinctive, so that a `Debug` showing it would be caught.
    const SEED: u64 = 0x5eed_c0ff_ee15_b0a7;

    /// Longest wait for any one step of the device.
    const STEP: Duration = Duration::from_secs(20);

    type Failure = String;

    pub fn run() -> ExitCode {
        if let Err(e) = start_dns_server() {
            println!("device: FAILED to start its DNS server: {e}");
            return ExitCode::FAILURE;
        }
        let executor = EXECUTOR.init(Executor::new());
        executor.run(|spawner| spawner.spawn(main_task().unwrap()))
    }

    #[embassy_executor::task]
    async fn main_task() {
        let code = match scenario().await {
            Ok(()) => {
                println!("{} {}", says::DNS, ANSWERED.load(Ordering::SeqCst));
                println!("{}", says::DONE);
                0
            }
            Err(e) => {
                println!("device: FAILED: {e}");
                1
            }
        };
        std::process::exit(code);
    }

    async fn scenario() -> Result<(), Failure> {
        let tap = TunTapDevice::new(TAP).map_err(|e| format!("opening {TAP}: {e}"))?;
        let [a, b, c, d] = DEVICE_ADDRESS;
        let host_side: Ipv4Address = super::HOST_SIDE.parse().map_err(|_| "address")?;
        let config = Config::ipv4_static(StaticConfigV4 {
            address: Ipv4Cidr::new(Ipv4Address::new(a, b, c, d), 24),
            gateway: Some(host_side),
            dns_servers: [host_side].into_iter().collect(),
        });
        // TCP socket, DNS socket.
        let mut resources = StackResources::<2>::new();
        let (stack, mut runner) = embassy_net::new(tap, config, &mut resources, 0x5eed);
        let mut socket_rx = [0u8; 2048];
        let mut socket_tx = [0u8; 2048];
        let device = async {
            stack.wait_config_up().await;
            let mut transport = NetTransport::new(stack, &mut socket_rx, &mut socket_tx);
            transport_alone(&mut transport).await?;
            // A fixed seed: a test wants the same ids on every run.
            let platform = EmbassyPlatform::new(transport, EmbassyClock::new(&WALL), SEED);
            let shown = format!("{platform:?}");
            if shown.contains(&SEED.to_string()) || shown.contains(&format!("{SEED:x}")) {
                return Err(format!("the platform's Debug shows its seed: {shown}"));
            }
            exchange(platform).await
        };
        match select(runner.run(), device).await {
            Either::First(never) => never,
            Either::Second(result) => result,
        }
    }

    /// The transport on its own, before the device uses it: TLS refused before any packet,
    /// nothing to read before a connection, and a second connect on a live connection
    /// resets the first instead of failing.
    async fn transport_alone(transport: &mut NetTransport<'_>) -> Result<(), Failure> {
        let mut byte = [0u8; 1];
        match transport.read(&mut byte).await {
            Err(NetError::NotConnected) => {}
            other => return Err(format!("read before connecting: {other:?}")),
        }
        let mut psk = [0u8; 32];
        let psk = Psk::write(&mut psk, "id", b"key").map_err(|e| format!("{e:?}"))?;
        for server in [ServerAuth::NoVerification, ServerAuth::Psk(psk)] {
            let tls = Endpoint::tls(BROKER_NAME, BROKER_PORT, server);
            match transport.connect(&tls).await {
                Err(NetError::TlsUnsupported) => {}
                other => return Err(format!("a TLS endpoint was not refused: {other:?}")),
            }
        }
        if transport.supports_psk() || transport.state() != State::Closed {
            return Err(
                "the transport claims TLS-PSK, or a refused TLS connect left a socket".into(),
            );
        }
        let plain = Endpoint::tcp(BROKER_NAME, BROKER_PORT);
        for attempt in 1..=2 {
            transport
                .connect(&plain)
                .await
                .map_err(|e| format!("raw connect {attempt}: {e}"))?;
            if transport.state() != State::Established {
                return Err(format!("raw connect {attempt}: {:?}", transport.state()));
            }
        }
        transport.close().await;
        if transport.is_connected() || transport.state() != State::Closed {
            return Err(format!("after close: {:?}", transport.state()));
        }
        println!("{}", says::TRANSPORT);
        Ok(())
    }

    async fn exchange(platform: EmbassyPlatform<'_>) -> Result<(), Failure> {
        let provider = PlainMqtt::new(BROKER_NAME, BROKER_PORT, CLIENT_ID)
            .map_err(|e| e.to_string())?
            .with_keep_alive(30);
        let mut memory = MemoryArrays::<Rx<2048>, Tx<1024>, SessionBytes<2048>>::new();
        let device = Device::new(&provider, platform, memory.memory());
        let device = device.register().await.map_err(|e| e.to_string())?;

        let mut device = device.connect().await.map_err(|e| e.to_string())?;
        println!("round 1: connected");
        device
            .subscribe(&[(TOPIC, QoS::AtLeastOnce)])
            .await
            .map_err(|e| e.to_string())?;
        device
            .publish(TOPIC, b"one", QoS::AtLeastOnce)
            .await
            .map_err(|e| e.to_string())?;
        echo(&mut device, b"one").await?;
        println!("{}", says::ROUND_1);

        // The orchestrator kills the broker now; the device must notice.
        let reason = with_timeout(STEP, async {
            loop {
                match device.next_event().await {
                    Ok(Event::Disconnected(reason)) => break Ok(reason.to_string()),
                    Ok(_) => {}
                    Err(e) => break Err(e.to_string()),
                }
            }
        })
        .await
        .map_err(|_| "the lost broker went unnoticed")??;
        println!("{} {reason}", says::LINK_LOST);
        let mut registered = device.disconnect().await;

        // Reconnect on the same socket: refused while the broker is down, then accepted
        // once the orchestrator has started it again.
        let mut refusals = 0;
        let mut device = with_timeout(STEP, async {
            loop {
                match registered.connect().await {
                    Ok(device) => break Ok(device),
                    Err(failed) => {
                        let (error, device) = failed.into_parts();
                        let refused =
                            matches!(error, iotcloud_core::Error::Transport(NetError::Refused));
                        if !refused {
                            break Err(format!("reconnect: {error}"));
                        }
                        refusals += 1;
                        if refusals == 1 {
                            println!("{} (broker down): {error}", says::REFUSED);
                        }
                        registered = device;
                        Timer::after_millis(100).await;
                    }
                }
            }
        })
        .await
        .map_err(|_| "no reconnect within the step's time")??;
        println!("round 2: connected after {refusals} refusals");
        // The session restores the subscription (mosquitto kept no session of it).
        device
            .publish(TOPIC, b"two", QoS::AtLeastOnce)
            .await
            .map_err(|e| e.to_string())?;
        echo(&mut device, b"two").await?;
        println!("{}", says::ROUND_2);
        let _ = device.disconnect().await;
        Ok(())
    }

    /// Waits for `payload` to come back on the topic, and for the broker's PUBACK.
    async fn echo<P: iotcloud_core::Provider>(
        device: &mut Device<'_, P, EmbassyPlatform<'_>, Connected>,
        payload: &[u8],
    ) -> Result<(), Failure> {
        let (mut received, mut acknowledged) = (false, false);
        let waited = with_timeout(STEP, async {
            while !(received && acknowledged) {
                match device.next_event().await.map_err(|e| e.to_string())? {
                    Event::Message(m) if m.topic() == TOPIC && m.payload() == payload => {
                        received = true
                    }
                    Event::Published { .. } => acknowledged = true,
                    Event::Disconnected(reason) => return Err(format!("disconnected: {reason}")),
                    _ => {}
                }
            }
            Ok(())
        })
        .await;
        waited.map_err(|_| format!("no echo of {payload:?} within {STEP:?}"))?
    }

    /// Answers A queries for [`BROKER_NAME`] with the broker's address, from a thread on
    /// the kernel's side of the TAP interface: the DNS server the device's stack asks.
    fn start_dns_server() -> std::io::Result<()> {
        let socket = UdpSocket::bind((super::HOST_SIDE, 53))?;
        let broker: Ipv4Addr = super::HOST_SIDE.parse().map_err(std::io::Error::other)?;
        std::thread::spawn(move || {
            let mut query = [0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut query) {
                if let Some(answer) = dns_answer(&query[..n], broker) {
                    ANSWERED.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.send_to(&answer, from);
                }
            }
        });
        Ok(())
    }

    /// The answer to a one-question query: `broker` for an A query of [`BROKER_NAME`], a
    /// name error for anything else.
    fn dns_answer(query: &[u8], broker: Ipv4Addr) -> Option<Vec<u8>> {
        let header = query.get(..12)?;
        let mut at = 12;
        let mut name = Vec::new();
        loop {
            let len = usize::from(*query.get(at)?);
            at += 1;
            if len == 0 {
                break;
            }
            name.push(
                std::str::from_utf8(query.get(at..at + len)?)
                    .ok()?
                    .to_owned(),
            );
            at += len;
        }
        let question_end = at + 4;
        let qtype = query.get(at..at + 2)?;
        let known = name.join(".").eq_ignore_ascii_case(BROKER_NAME) && qtype == [0, 1];
        let mut answer = Vec::with_capacity(question_end + 16);
        answer.extend_from_slice(&header[..2]); // id
        // A response, recursion desired and available; a name error when unknown.
        answer.extend_from_slice(if known { &[0x81, 0x80] } else { &[0x81, 0x83] });
        answer.extend_from_slice(&[0, 1, 0, u8::from(known), 0, 0, 0, 0]);
        answer.extend_from_slice(query.get(12..question_end)?);
        if known {
            // The name by pointer to the question, type A, class IN, TTL 60, 4 bytes.
            answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            answer.extend_from_slice(&broker.octets());
        }
        Some(answer)
    }
}
