//! The Tencent device's key authentication over TLS-PSK, as on the cloud's port 8883: the
//! emulator's brokers are plain TCP, so this step starts a mosquitto whose only listener
//! speaks TLS-PSK (TLS 1.2 with the two PSK cipher suites Tencent's device SDK offers) and
//! knows the device's identity (`{ProductId}{DeviceName}`) and key (its decoded secret). It
//! needs mosquitto, and a build with hal-host's TLS-PSK (`--features psk`, over OpenSSL);
//! without either it says so and is skipped.

use super::Timeline;

#[cfg(not(feature = "psk"))]
pub(super) async fn tls_psk(tl: &Timeline) -> Result<(), String> {
    tl.skip(
        "tls-psk",
        "this build has no TLS-PSK: `cargo run -p iotcloud-cli --features psk -- demo` \
         (OpenSSL's headers and mosquitto needed)",
    );
    Ok(())
}

#[cfg(feature = "psk")]
pub(super) use with_psk::tls_psk;

#[cfg(feature = "psk")]
mod with_psk {
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use hal_host::HostPlatform;
    use iotcloud::iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
    use iotcloud::iotcloud_core::{Device, Event, QoS};
    use iotcloud::tencent::Tencent;

    use super::Timeline;

    const PRODUCT: &str = "DEMOPID001";
    const DEVICE: &str = "psk-meter";
    /// Base64 of sixteen bytes: the device secret, whose decoded bytes are the key.
    const SECRET: &str = "ZGVtby10bHMtcHNrLWtleQ==";

    /// mosquitto, its directory, removed when dropped.
    struct Broker {
        child: Child,
        dir: PathBuf,
        port: u16,
    }

    impl Drop for Broker {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// `$MOSQUITTO`, the Debian path, or `mosquitto` on `$PATH`.
    fn mosquitto() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("MOSQUITTO") {
            return Some(p.into());
        }
        for p in ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"] {
            if Path::new(p).exists() {
                return Some(p.into());
            }
        }
        let runs = Command::new("mosquitto")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        runs.then(|| "mosquitto".into())
    }

    fn start(bin: &Path, identity: &str, key: &[u8]) -> Result<Broker, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("iotcloud-demo-psk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let psk_file = dir.join("psk");
        write_private(&psk_file, &format!("{identity}:{hex}\n"))?;
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             psk_hint iotcloud-demo\npsk_file {}\ntls_version tlsv1.2\n\
             ciphers PSK-AES128-CBC-SHA:PSK-AES256-CBC-SHA\nuse_identity_as_username true\n",
            psk_file.display()
        );
        if is_root() {
            // mosquitto started as root drops to its own user, which could not read the key.
            conf.push_str("user root\n");
        }
        let conf_file = dir.join("mosquitto.conf");
        write_private(&conf_file, &conf)?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting mosquitto: {e}"))?;
        let mut broker = Broker { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(format!("mosquitto exited with {status}"));
            }
            if Instant::now() > deadline {
                return Err("mosquitto did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        broker.port = port;
        Ok(broker)
    }

    /// Writes a file only its owner may read: it holds a key.
    fn write_private(path: &Path, text: &str) -> Result<(), String> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn is_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .is_some_and(|id| id.trim() == "0")
    }

    pub(in super::super) async fn tls_psk(tl: &Timeline) -> Result<(), String> {
        let Some(bin) = mosquitto() else {
            tl.skip("tls-psk", "mosquitto is not installed");
            return Ok(());
        };
        let tencent = Tencent::with_secret(PRODUCT, DEVICE, SECRET)
            .map_err(|e| e.to_string())?
            .with_host("127.0.0.1");
        let identity = format!("{PRODUCT}{DEVICE}");
        let mut key_buf = [0u8; 128];
        let psk = tencent
            .psk(&mut iotcloud::iotcloud_core::scratch::Scratch::new(
                &mut key_buf,
            ))
            .map_err(|e| e.to_string())?;
        let broker = start(&bin, &identity, psk.key())?;
        let tencent = tencent.with_port(broker.port);
        let mut memory = MemoryArrays::<Rx<2048>, Tx<1024>, SessionBytes<2048>>::new();
        let device = Device::new(&tencent, HostPlatform::new(), memory.memory());
        let device = device.register().await.map_err(|e| e.to_string())?;
        let mut device = device
            .connect()
            .await
            .map_err(|e| format!("TLS-PSK connect: {}", e.error()))?;
        let topic = tencent.data().to_string();
        let mut round_trip = async || -> Result<(), String> {
            let wait = Duration::from_secs(10);
            let next = async |d: &mut Device<'_, _, _, _>| {
                tokio::time::timeout(wait, d.next_event())
                    .await
                    .map_err(|_| "no answer from the PSK broker within 10 s".to_string())?
                    .map_err(|e| e.to_string())
                    .map(|ev| matches!(ev, Event::Message(m) if m.payload() == b"over TLS-PSK"))
            };
            let _ = next(&mut device).await?; // Connected
            device
                .subscribe(&[(topic.as_str(), QoS::AtLeastOnce)])
                .await
                .map_err(|e| e.to_string())?;
            device
                .publish(&topic, b"over TLS-PSK", QoS::AtLeastOnce)
                .await
                .map_err(|e| e.to_string())?;
            for _ in 0..8 {
                if next(&mut device).await? {
                    return Ok(());
                }
            }
            Err("the message did not come back".into())
        };
        let result = round_trip().await;
        device.disconnect().await;
        result?;
        tl.ok(
            "tls-psk",
            &format!(
                "key device {identity} over TLS-PSK (no certificate) to a PSK-only mosquitto on \
                 port {}: message round trip",
                broker.port
            ),
        );
        Ok(())
    }
}
