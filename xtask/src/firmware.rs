//! The firmware workspace (`firmware/`) on QEMU's `mps2-an385` Cortex-M3: building it,
//! running it with a time limit, and a mosquitto for it to talk to through the UART.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The device target of the firmware.
pub const TARGET: &str = "thumbv7m-none-eabi";

/// Longest a firmware may run before it counts as hung.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The repository root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or(manifest.clone(), Path::to_path_buf)
}

/// The firmware workspace.
pub fn dir() -> PathBuf {
    root().join("firmware")
}

/// The workspace's target directory: `$CARGO_TARGET_DIR` when set, else `target/`.
pub fn workspace_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => root().join("target"),
    }
}

/// Where the firmware builds: `fw/` in the workspace's target directory.
pub fn target_dir() -> PathBuf {
    workspace_target_dir().join("fw")
}

/// A `cargo` command run in the firmware workspace (its `.cargo/config.toml` chooses the
/// target and linker script) with the firmware's target directory.
pub fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir())
        .env("CARGO_TARGET_DIR", target_dir())
        .args(args);
    cmd
}

/// A `--config` value that rewrites the source paths compiled into the firmware (panic
/// locations, debug information) to fixed ones: the repository to `/iotcloud`, Cargo's
/// home to `/cargo`. The sizes then do not change with the length of those paths (symbol
/// hashes still differ between checkouts, which moves them by a few bytes). Cargo appends
/// these flags to the ones `firmware/.cargo/config.toml` sets.
fn remap_paths() -> String {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut flags = vec![format!(
        "--remap-path-prefix={}=/iotcloud",
        root().display()
    )];
    if let Some(home) = home {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    let quoted: Vec<String> = flags.iter().map(|f| format!("{f:?}")).collect();
    format!("target.{TARGET}.rustflags=[{}]", quoted.join(", "))
}

/// Builds one firmware binary in release mode and returns its ELF.
pub fn build(package: &str, features: &[&str], default_features: bool) -> Result<PathBuf, String> {
    let feature_list = features.join(",");
    let remap = remap_paths();
    let mut args = vec![
        "build",
        "--release",
        "--quiet",
        "--config",
        &remap,
        "-p",
        package,
    ];
    if !default_features {
        args.push("--no-default-features");
    }
    if !features.is_empty() {
        args.extend(["--features", &feature_list]);
    }
    let status = cargo(&args)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building {package} ({feature_list}) failed"));
    }
    Ok(target_dir().join(TARGET).join("release").join(package))
}

/// What a firmware run printed and how it ended.
pub struct Run {
    /// Semihosting output.
    pub output: String,
    /// QEMU's exit status: the firmware's semihosting exit.
    pub status: ExitStatus,
}

/// Runs `elf` on the emulated board. With `serial_port`, UART0 becomes a TCP connection to
/// `127.0.0.1:serial_port`. The run is killed after [`RUN_TIMEOUT`].
pub fn run_qemu(elf: &Path, serial_port: Option<u16>) -> Result<Run, String> {
    let qemu = std::env::var("QEMU_SYSTEM_ARM").unwrap_or_else(|_| "qemu-system-arm".into());
    let serial = match serial_port {
        Some(port) => format!("tcp:127.0.0.1:{port}"),
        None => "null".into(),
    };
    let mut child = Command::new(&qemu)
        .args(["-machine", "mps2-an385", "-cpu", "cortex-m3"])
        .args(["-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-serial", &serial])
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("could not start {qemu} (Debian: apt-get install qemu-system-arm): {e}")
        })?;
    let mut stdout = child.stdout.take().ok_or("no QEMU output pipe")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("waiting for QEMU: {e}"))?
        {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let output = reader.join().unwrap_or_default();
            print!("{output}");
            return Err(format!(
                "{} did not finish within {}s",
                elf.display(),
                RUN_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = reader.join().map_err(|_| "reading QEMU's output failed")?;
    Ok(Run { output, status })
}

/// A mosquitto on a free loopback port, stopped when dropped.
pub struct Broker {
    child: Child,
    /// Its port.
    pub port: u16,
    dir: PathBuf,
}

fn mosquitto_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("MOSQUITTO") {
        return path.into();
    }
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .unwrap_or_else(|| "mosquitto".into())
}

impl Broker {
    /// Starts mosquitto with anonymous access and full logging.
    pub fn start() -> Result<Broker, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("iotcloud-fw-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest file {}\nlog_type all\n",
            dir.join("mosquitto.log").display()
        );
        if Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
        {
            conf.push_str("user root\n");
        }
        let conf_path = dir.join("mosquitto.conf");
        std::fs::write(&conf_path, conf).map_err(|e| format!("{}: {e}", conf_path.display()))?;
        let child = Command::new(mosquitto_bin())
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start mosquitto (apt-get install mosquitto): {e}"))?;
        let mut broker = Broker { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(format!("mosquitto exited with {status}: {}", broker.log()));
            }
            if Instant::now() >= deadline {
                return Err(format!("mosquitto did not start: {}", broker.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Builds and runs the on-target checks; `Err` unless every check passed.
pub fn checks() -> Result<(), String> {
    let elf = build("fw-checks", &[], true)?;
    let run = run_qemu(&elf, None)?;
    print!("{}", run.output);
    if !run.status.success() {
        return Err(format!(
            "the checks failed on the Cortex-M3 ({})",
            run.status
        ));
    }
    Ok(())
}

/// Builds `package` (default features), runs it against a local mosquitto through UART0
/// and prints what it printed. `Err` unless it exited successfully having printed `done`,
/// and the broker's log has every line of `expected`; `what` names it in errors.
fn exchange_with_broker(
    package: &str,
    what: &str,
    done: &str,
    expected: &[&str],
) -> Result<Run, String> {
    let elf = build(package, &[], true)?;
    let broker = Broker::start()?;
    let run = run_qemu(&elf, Some(broker.port))?;
    print!("{}", run.output);
    if !run.status.success() || !run.output.contains(done) {
        return Err(format!(
            "{what} failed ({}); broker log:\n{}",
            run.status,
            broker.log()
        ));
    }
    let log = broker.log();
    if let Some(missing) = expected.iter().find(|line| !log.contains(*line)) {
        return Err(format!("the broker's log lacks {missing:?}:\n{log}"));
    }
    Ok(run)
}

/// Builds the device firmware for the Aliyun provider and runs it against a local
/// mosquitto through UART0; `Err` unless the exchange succeeded and the broker saw it.
pub fn end_to_end() -> Result<(), String> {
    // The broker's side of the story: Aliyun's signed client id over plain TCP
    // (securemode=3), and the QoS 1 message on the device's topic.
    exchange_with_broker(
        "fw-device",
        "the device firmware",
        "e2e aliyun: ok",
        &[
            "as 123456789.abcdefg|securemode=3,signmethod=hmacsha256,timestamp=",
            "Received PUBLISH from 123456789.abcdefg|",
            "'/123456789/abcdefg/user/update', ... (13 bytes)",
            "Received DISCONNECT from 123456789.abcdefg|",
        ],
    )?;
    println!("mosquitto saw the connect, the publish and the disconnect");
    Ok(())
}

/// Builds `hal-ec618`'s device task for the emulated board (`firmware/ec618-task`: the
/// crate's own code over a stand-in for the vendor SDK's C functions) and runs it against a
/// local mosquitto through UART0. `Err` unless the task finished and the broker saw its
/// exchange; prints the task's peak stack, which the hal-ec618 README quotes.
pub fn ec618_task() -> Result<(), String> {
    // TLS to the broker's address as the module would connect (the stand-in passes the
    // bytes through), Aliyun's client id for a TLS link, and the echo.
    let run = exchange_with_broker(
        "fw-ec618-task",
        "the hal-ec618 task",
        "ec618 task: ok",
        &[
            "as 123456789.abcdefg|securemode=2,signmethod=hmacsha256",
            "Received PUBLISH from 123456789.abcdefg|",
            "'/123456789/abcdefg/user/update', ... (13 bytes)",
            "Received DISCONNECT from 123456789.abcdefg|",
        ],
    )?;
    let peak = run
        .output
        .lines()
        .find_map(|line| line.strip_prefix("stack: peak "))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or("the hal-ec618 task printed no stack measurement")?;
    println!("hal-ec618 device task (Aliyun, default features): peak stack {peak} bytes");
    Ok(())
}
