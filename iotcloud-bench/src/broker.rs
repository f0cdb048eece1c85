//! The broker every client is measured against: a mosquitto started for this run, on a free
//! loopback port, with a configuration that never drops a message.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Context, Result, fail};

/// A mosquitto process owned by the benchmark; stopped when dropped.
pub struct Broker {
    child: Child,
    dir: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
    /// Its version line, e.g. `mosquitto version 2.0.11`.
    pub version: String,
}

/// Where mosquitto is: `$MOSQUITTO`, the Debian path, or `$PATH`.
fn mosquitto_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MOSQUITTO") {
        return p.into();
    }
    for p in ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    "mosquitto".into()
}

/// The first line `mosquitto -h` prints, which names the version.
fn version_line(bin: &PathBuf) -> String {
    Command::new(bin)
        .arg("-h")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "mosquitto (version unknown)".into())
}

impl Broker {
    /// CPU time the broker has used so far, in nanoseconds (`/proc/PID/schedstat`), or
    /// `None` where that file is missing.
    pub fn cpu_ns(&self) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/schedstat", self.child.id())).ok()?;
        text.split_whitespace().next()?.parse().ok()
    }

    /// Starts mosquitto and waits until it accepts connections.
    pub fn start() -> Result<Broker> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ctx("finding a free loopback port")?
            .port();
        let dir = std::env::temp_dir().join(format!("iotcloud-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ctx("creating the broker's directory")?;
        // No persistence and no logging: the broker does the same work for every client.
        // `max_inflight_messages 0` and `max_queued_messages 0` lift mosquitto's per-client
        // limits, so a slow subscriber delays QoS 0 messages instead of losing them.
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             log_dest none\nmax_inflight_messages 0\nmax_queued_messages 0\n"
        );
        // SAFETY: `geteuid` has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            // Started as root, mosquitto switches to a `mosquitto` user that may not exist.
            conf.push_str("user root\n");
        }
        let conf_path = dir.join("mosquitto.conf");
        std::fs::write(&conf_path, conf).ctx("writing mosquitto.conf")?;
        let bin = mosquitto_bin();
        let version = version_line(&bin);
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ctx(&format!(
                "starting {} (Debian: apt-get install mosquitto; or set MOSQUITTO)",
                bin.display()
            ))?;
        let mut broker = Broker {
            child,
            dir,
            port,
            version,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return fail(format!("mosquitto exited at start with {status}"));
            }
            if Instant::now() > deadline {
                return fail("mosquitto did not accept connections within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
