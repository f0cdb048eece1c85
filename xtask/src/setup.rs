//! What the tests need that a fresh machine may lack, installed before they run: the Rust
//! target and components of `rust-toolchain.toml` and the `no_std` crates' minimum Rust
//! (with the device target) through rustup; and mosquitto, qemu-system-arm, the
//! arm-none-eabi C toolchain, pkg-config with the OpenSSL headers (for hal-host's `psk`
//! feature), and iproute2 (hal-embassy's end-to-end test) through apt-get (with sudo when
//! not root). On a system without apt-get, one line says what to install.

use std::path::Path;
use std::process::Command;

use crate::firmware::TARGET;

/// Whether `program arg` runs and succeeds.
pub fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A system tool the tests need, and the Debian packages that provide it.
struct Tool {
    /// What it is for, in the message when it cannot be installed.
    purpose: &'static str,
    /// Whether it is there.
    present: fn() -> bool,
    /// Debian packages.
    packages: &'static [&'static str],
}

fn mosquitto_present() -> bool {
    runs("mosquitto", "-h") || Path::new("/usr/sbin/mosquitto").exists()
}

/// pkg-config and the OpenSSL headers it finds, which the `openssl` crate builds against.
fn openssl_dev_present() -> bool {
    Command::new("pkg-config")
        .args(["--exists", "openssl"])
        .status()
        .is_ok_and(|s| s.success())
}

/// `ip`, which hal-embassy's end-to-end test creates its network namespace and TAP
/// interface with.
fn iproute2_present() -> bool {
    runs("ip", "-V")
}

fn qemu_present() -> bool {
    runs("qemu-system-arm", "--version")
}

/// The arm-none-eabi C compiler with newlib for the Cortex-M3, and readelf.
pub fn arm_gcc_present() -> bool {
    runs("arm-none-eabi-gcc", "--version")
        && runs("arm-none-eabi-readelf", "--version")
        && Command::new("arm-none-eabi-gcc")
            .args(["-mcpu=cortex-m3", "-mthumb", "-print-file-name=libc_nano.a"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .is_some_and(|p| Path::new(p.trim()).is_absolute())
}

const TOOLS: &[Tool] = &[
    Tool {
        purpose: "the MQTT broker of the integration tests",
        present: mosquitto_present,
        packages: &["mosquitto"],
    },
    Tool {
        purpose: "hal-host's `psk` feature (TLS-PSK through OpenSSL) and its tests",
        present: openssl_dev_present,
        packages: &["pkg-config", "libssl-dev"],
    },
    Tool {
        purpose: "hal-embassy's end-to-end test (a network namespace with a TAP interface)",
        present: iproute2_present,
        packages: &["iproute2"],
    },
    Tool {
        purpose: "the emulated Cortex-M3 board of the firmware checks",
        present: qemu_present,
        packages: &["qemu-system-arm"],
    },
    Tool {
        purpose: "hal-ec618's checks against the vendor's C headers",
        present: arm_gcc_present,
        packages: &[
            "gcc-arm-none-eabi",
            "binutils-arm-none-eabi",
            "libnewlib-arm-none-eabi",
        ],
    },
];

/// Installs what is missing; an error says what could not be installed and how to.
pub fn ensure() -> Result<(), String> {
    rust()?;
    let missing: Vec<&Tool> = TOOLS.iter().filter(|t| !(t.present)()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing
        .iter()
        .flat_map(|t| t.packages.iter().copied())
        .collect();
    apt_install(&packages)?;
    match missing.iter().find(|t| !(t.present)()) {
        None => Ok(()),
        Some(t) => Err(format!(
            "{} installed, but {} ({}) is still not usable from PATH",
            t.packages.join(" "),
            t.packages[0],
            t.purpose
        )),
    }
}

/// The device target and the components the tests use, through rustup.
fn rust() -> Result<(), String> {
    if !runs("rustup", "--version") {
        // A toolchain without rustup: the target must already be there.
        return Ok(());
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == TARGET) {
        rustup(&["target", "add", TARGET])?;
    }
    // The oldest Rust the `no_std` crates promise, with the device target, for their check.
    let (msrv, _) = msrv_toolchain()?;
    let msrv_ready = Command::new("rustup")
        .args([
            "run",
            &msrv,
            "rustc",
            "--print",
            "target-libdir",
            "--target",
            TARGET,
        ])
        .output()
        .ok()
        .and_then(|o| o.status.success().then_some(o.stdout))
        .and_then(|dir| String::from_utf8(dir).ok())
        .is_some_and(|dir| has_core(dir.trim()));
    if !msrv_ready {
        rustup(&[
            "toolchain",
            "install",
            &msrv,
            "--profile",
            "minimal",
            "--target",
            TARGET,
        ])?;
    }
    for (component, probe) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        let present = Command::new("cargo")
            .args([probe, "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            rustup(&["component", "add", component])?;
        }
    }
    Ok(())
}

/// Whether a target library directory holds `core` (its file names carry a hash).
fn has_core(dir: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("libcore-") && n.ends_with(".rlib"))
        })
    })
}

/// The `no_std` crates' minimum Rust version (`iotcloud-core`'s `rust-version`) as a
/// toolchain name and as written (`1.88.0` and `1.88`).
pub fn msrv_toolchain() -> Result<(String, String), String> {
    let manifest = crate::firmware::root().join("iotcloud-core/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or_else(|| format!("{}: no rust-version", manifest.display()))?;
    let toolchain = match version.split('.').count() {
        2 => format!("{version}.0"),
        _ => version.to_string(),
    };
    Ok((toolchain, version.to_string()))
}

fn rustup(args: &[&str]) -> Result<(), String> {
    println!("setup: rustup {}", args.join(" "));
    let status = Command::new("rustup")
        .args(args)
        .status()
        .map_err(|e| format!("could not run rustup: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("rustup {} failed ({status})", args.join(" ")))
    }
}

/// `apt-get install` of `packages`, as root or through sudo.
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    let wanted = packages.join(" ");
    if !runs("apt-get", "--version") {
        return Err(format!(
            "the tests need {wanted} (Debian package names), and apt-get is not available: install them with your system's package manager"
        ));
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|id| id.trim() == "0");
    if !root_user && !runs("sudo", "--version") {
        return Err(format!(
            "the tests need {wanted}, and installing it needs root: run `apt-get install -y --no-install-recommends {wanted}` as root"
        ));
    }
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut cmd = if root_user {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        println!("setup: apt-get {}", args.join(" "));
        let status = cmd
            .status()
            .map_err(|e| format!("could not run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("apt-get {} failed ({status})", args.join(" ")))
        }
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(packages);
    apt(&install)
}
