//! `cargo xtask <task>`: the project's own tasks.
//!
//! - `test`: everything CI checks — formatting, lints, the whole test suite (including
//!   the mosquitto integration tests, and hal-host's TLS-PSK tests with its `psk` feature),
//!   the `no_std` crates built for the Air780E's Cortex-M3 (`thumbv7m-none-eabi`), and
//!   again with the oldest Rust they declare (`rust-version`), hal-ec618 against the
//!   vendor's C headers, the firmware run on an emulated Cortex-M3, and hal-embassy for
//!   the device target with its example firmware and its end-to-end test over a TAP
//!   interface. It first installs what the machine lacks (`setup.rs`: the rustup target
//!   and components, mosquitto, qemu-system-arm, the arm-none-eabi C toolchain, pkg-config
//!   and libssl-dev, iproute2).
//!   Last, the crates as published: `cargo package --workspace`, and the tests of every
//!   published package unpacked outside the repository (`package.rs`).
//! - `packages`: only that last part.
//! - `msrv`: only the check of the `no_std` crates with the oldest Rust they declare.
//! - `embassy`: only hal-embassy's steps of `test` (the device target, its features, the
//!   end-to-end test).
//! - `ec618-check`: only hal-ec618's binding and symbol checks against the vendor's headers.
//! - `qemu`: only the emulated Cortex-M3 part: the SDK's checks on the target, the device
//!   firmware exchanging MQTT with a local mosquitto through the board's UART, and
//!   hal-ec618's device task doing the same over a stand-in for the vendor SDK (its peak
//!   stack).
//! - `footprint`: flash, RAM and peak stack of the minimal device firmware per cloud.
//! - `bench`: the benchmark (`iotcloud-bench`) in release, against a mosquitto it
//!   starts on loopback; prints one table. Arguments after `bench` go to it (`--quick`).
//!   Not part of `test`: it measures, it does not check.
//! - `fuzz [--seconds N]`: every fuzz target for N seconds (default 15) on the nightly
//!   toolchain; skipped, saying why, where nightly or cargo-fuzz is missing.

mod ec618;
mod features;
mod firmware;
mod footprint;
mod fuzz;
mod package;
mod setup;

use std::process::{Command, ExitCode};
use std::time::Instant;

/// Crates that must build without `std` for the device.
const NO_STD_CRATES: &[&str] = &[
    "iotcloud-core",
    "iotcloud-aliyun",
    "iotcloud-tencent",
    "iotcloud-onenet",
    "iotcloud-huawei",
    "iotcloud-tuya",
    "iotcloud-baidu",
    "iotcloud-tlink",
    "iotcloud",
];

/// The smallest feature sets those crates offer, each of which must also build (without
/// warnings) for the device: no registration, no OTA, no bundled roots, one algorithm.
const NO_STD_MINIMAL: &[(&str, &str)] = &[
    ("iotcloud-core", ""),
    ("iotcloud-core", "md5"),
    ("iotcloud-core", "sha1"),
    ("iotcloud-core", "sha256"),
    ("iotcloud-core", "registration"),
    ("iotcloud-core", "ota"),
    ("iotcloud-core", "data"),
    ("iotcloud-core", "data,ota,defmt"),
    ("iotcloud-core", "data,ota,log"),
    ("iotcloud-aliyun", "sha256"),
    ("iotcloud-tencent", "sha256"),
    ("iotcloud-onenet", "sha256"),
    ("iotcloud-huawei", ""),
    ("iotcloud-tuya", "sha256"),
    ("iotcloud-baidu", "md5"),
    ("iotcloud-tlink", ""),
    ("iotcloud", "aliyun,sha256"),
];

const DEVICE_TARGET: &str = firmware::TARGET;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().cloned().unwrap_or_default();
    let result = match task.as_str() {
        "test" => test(),
        "qemu" => setup::ensure().and_then(|()| qemu()),
        "ec618-check" => ec618_check(),
        "packages" => packages(),
        "features" => features::check(
            &package::published()
                .unwrap_or_default()
                .into_iter()
                .map(|(d, _)| d)
                .collect::<Vec<_>>(),
        ),
        "msrv" => setup::ensure().and_then(|()| msrv()),
        "embassy" => setup::ensure().and_then(|()| hal_embassy()),
        "footprint" => setup::ensure().and_then(|()| timed("footprint", footprint::report)),
        "bench" => bench(),
        "fuzz" => fuzz::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask test | qemu | ec618-check | packages | msrv | embassy | footprint | bench [--quick] | fuzz [--seconds N]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(step) => {
            eprintln!("\nxtask: FAILED at: {step}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one step, printing its name and how long it took; `Err(name)` if it failed.
fn step(name: &str, program: &str, args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_step(name, &format!("{program} {}", args.join(" ")), cmd)
}

fn run_step(name: &str, shown: &str, mut cmd: Command) -> Result<(), String> {
    println!("\n==> {name}: {shown}");
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{name} (could not start {shown}: {e})"))?;
    println!(
        "<== {name}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(name.to_string())
    }
}

/// Runs a step done in this process; `Err` names it and says why.
fn timed(name: &str, work: fn() -> Result<(), String>) -> Result<(), String> {
    println!("\n==> {name}");
    let start = Instant::now();
    let result = work();
    println!(
        "<== {name}: {} in {:.1}s",
        if result.is_ok() { "ok" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    result.map_err(|why| format!("{name}: {why}"))
}

/// The crates as published: `cargo package --workspace` builds each from its package alone;
/// then the published packages, unpacked outside the repository, run their tests.
fn packages() -> Result<(), String> {
    package::clear_extracted().map_err(|why| format!("packages: {why}"))?;
    package::clear_verify_builds().map_err(|why| format!("packages: {why}"))?;
    // `--allow-dirty`: this checks what would be published from the working tree, which
    // need not be committed yet.
    let verify = package::verify_dir();
    let verify = verify.to_string_lossy();
    step(
        "packages",
        "cargo",
        &[
            "package",
            "--workspace",
            "--allow-dirty",
            "--target-dir",
            &verify,
        ],
    )?;
    package::clear_verify_builds().map_err(|why| format!("packages: {why}"))?;
    let dir = package::unpack().map_err(|why| format!("unpacking the packages: {why}"))?;
    let mut cmd = Command::new("cargo");
    cmd.args(["test", "--workspace"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", firmware::workspace_target_dir());
    run_step(
        "tests of the unpacked packages",
        &format!("cargo test --workspace (in {})", dir.display()),
        cmd,
    )
}

/// The `no_std` crates built with the oldest Rust they declare (`rust-version`; embedded
/// users pin older toolchains), as a user on that Rust gets them: a crate depending on all
/// of them, its dependencies resolved afresh for that Rust, checked for the device.
fn msrv() -> Result<(), String> {
    let (toolchain, version) = setup::msrv_toolchain()?;
    let crates: Vec<&str> = NO_STD_CRATES.iter().copied().chain(["hal-ec618"]).collect();
    let dir = package::msrv_user(&version, &crates)?;
    let plus = format!("+{toolchain}");
    let target = firmware::workspace_target_dir().join("msrv");
    let mut lock = Command::new("cargo");
    lock.args([plus.as_str(), "generate-lockfile"])
        .current_dir(&dir);
    run_step(
        &format!("dependencies for Rust {version}"),
        &format!("cargo {plus} generate-lockfile (in {})", dir.display()),
        lock,
    )?;
    let mut check = Command::new("cargo");
    check
        .args([plus.as_str(), "check", "--target", DEVICE_TARGET])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target);
    run_step(
        &format!("the no_std crates with Rust {version}, their minimum"),
        &format!(
            "cargo {plus} check --target {DEVICE_TARGET} (in {})",
            dir.display()
        ),
        check,
    )
}

/// `hal-embassy` for the device target: the library with its example firmware, each
/// logging feature (and the IP medium) without warnings, then its end-to-end test: a
/// device on embassy-net over a TAP interface against mosquitto, in a network namespace of
/// its own (it needs root and `/dev/net/tun`, and says in one line when it cannot run).
fn hal_embassy() -> Result<(), String> {
    step(
        &format!("hal-embassy for {DEVICE_TARGET}, with its example firmware"),
        "cargo",
        &[
            "build",
            "-p",
            "hal-embassy",
            "--target",
            DEVICE_TARGET,
            "--examples",
        ],
    )?;
    // `defmt` and `log` exclude each other (as in embassy): each on its own.
    for (features, default_features) in [("defmt", true), ("log", true), ("medium-ip", false)] {
        let mut selection = vec!["-p", "hal-embassy"];
        if !default_features {
            selection.push("--no-default-features");
        }
        selection.extend(["--features", features]);
        let mut build = vec!["rustc", "--target", DEVICE_TARGET];
        build.extend(&selection);
        build.extend(["--", "-D", "warnings"]);
        step(
            &format!("hal-embassy [{features}] for {DEVICE_TARGET}"),
            "cargo",
            &build,
        )?;
        let mut lints = vec!["clippy", "--all-targets"];
        lints.extend(&selection);
        lints.extend(["--", "-D", "warnings"]);
        step(&format!("hal-embassy [{features}]: lints"), "cargo", &lints)?;
    }
    step(
        "hal-embassy end to end: embassy-net on a TAP interface, mosquitto, a network namespace",
        "cargo",
        &["test", "-p", "hal-embassy", "--test", "tap"],
    )
}

/// `hal-ec618` against the vendor's C headers: the binding check and the firmware library's
/// undefined symbols (`xtask/src/ec618.rs`).
fn ec618_check() -> Result<(), String> {
    timed("hal-ec618 against the vendor's C SDK", ec618::check)
}

/// The firmware workspace's format and lint checks, then both QEMU runs.
fn qemu() -> Result<(), String> {
    let mut fmt = firmware::cargo(&["fmt", "--all", "--check"]);
    fmt.env_remove("CARGO_TARGET_DIR");
    run_step(
        "firmware format",
        "cargo fmt --all --check (firmware/)",
        fmt,
    )?;
    run_step(
        "firmware lints",
        "cargo clippy --workspace --release -- -D warnings (firmware/)",
        firmware::cargo(&["clippy", "--workspace", "--release", "--", "-D", "warnings"]),
    )?;
    run_step(
        "firmware lints, session loop and data model",
        "cargo clippy -p fw-device --release --features session-loop,data -- -D warnings \
         (firmware/)",
        firmware::cargo(&[
            "clippy",
            "-p",
            "fw-device",
            "--release",
            "--features",
            "session-loop,data",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    timed("checks on the Cortex-M3 (QEMU)", firmware::checks)?;
    timed(
        "MQTT end to end through the UART (QEMU + mosquitto)",
        firmware::end_to_end,
    )?;
    timed(
        "hal-ec618's device task over the SDK stand-in (QEMU + mosquitto)",
        firmware::ec618_task,
    )
}

/// Builds the `iotcloud` command line in release (row 6 runs it), then builds and runs the
/// benchmark in release with `IOTCLOUD_CLI` naming that binary, passing on the arguments
/// after `bench`.
fn bench() -> Result<(), String> {
    step(
        "bench: iotcloud command line",
        "cargo",
        &["build", "--release", "--quiet", "-p", "iotcloud-cli"],
    )?;
    let cli = firmware::workspace_target_dir()
        .join("release")
        .join("iotcloud");
    let mut args: Vec<String> = ["run", "--release", "--quiet", "-p", "iotcloud-bench", "--"]
        .map(String::from)
        .into();
    args.extend(std::env::args().skip(2));
    let mut cmd = Command::new("cargo");
    cmd.args(&args).env("IOTCLOUD_CLI", &cli);
    run_step(
        "bench",
        &format!("IOTCLOUD_CLI={} cargo {}", cli.display(), args.join(" ")),
        cmd,
    )
}

fn test() -> Result<(), String> {
    let start = Instant::now();
    // What a fresh machine lacks (the device target, mosquitto, qemu, the ARM C toolchain),
    // installed first: the README's test command stands on its own.
    setup::ensure()?;
    step("format", "cargo", &["fmt", "--all", "--check"])?;
    step(
        "lints",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step("tests", "cargo", &["test", "--workspace"])?;
    timed("documented features match the manifests", || {
        let dirs: Vec<String> = package::published()?.into_iter().map(|(d, _)| d).collect();
        features::check(&dirs)
    })?;
    // Every feature at once (each crate's own and those it forwards), so that none is left
    // unbuilt; the smallest combinations are built for the device below.
    step(
        "every feature",
        "cargo",
        // hal-embassy's `defmt` and `log` exclude each other, as embassy's own do: its
        // features are built one by one in its steps.
        &[
            "check",
            "--workspace",
            "--all-features",
            "--exclude",
            "hal-embassy",
        ],
    )?;
    // TLS-PSK is behind a feature (it links the system's OpenSSL): its lints and its tests
    // against mosquitto's PSK listener run on their own.
    step(
        "hal-host with TLS-PSK: lints",
        "cargo",
        &[
            "clippy",
            "-p",
            "hal-host",
            "--features",
            "psk",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step(
        "hal-host with TLS-PSK: tests",
        "cargo",
        &["test", "-p", "hal-host", "--features", "psk"],
    )?;
    // Every public item is documented; the docs' links must resolve too.
    let mut doc = Command::new("cargo");
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run_step(
        "docs",
        "RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps",
        doc,
    )?;
    for krate in NO_STD_CRATES {
        step(
            &format!("{krate} for {DEVICE_TARGET}"),
            "cargo",
            &["build", "-p", krate, "--target", DEVICE_TARGET],
        )?;
    }
    step(
        &format!("iotcloud with defmt (forwarded to the core and every cloud) for {DEVICE_TARGET}"),
        "cargo",
        &[
            "build",
            "-p",
            "iotcloud",
            "--features",
            "defmt",
            "--target",
            DEVICE_TARGET,
        ],
    )?;
    for (krate, features) in NO_STD_MINIMAL {
        let mut args = vec![
            "rustc",
            "-p",
            krate,
            "--target",
            DEVICE_TARGET,
            "--no-default-features",
        ];
        if !features.is_empty() {
            args.extend(["--features", features]);
        }
        // Warnings in the crate itself are errors: a feature combination must not leave
        // unused code behind.
        args.extend(["--", "-D", "warnings"]);
        step(
            &format!("{krate} [{features}] for {DEVICE_TARGET}"),
            "cargo",
            &args,
        )?;
    }
    msrv()?;
    hal_embassy()?;
    step(
        "hal-ec618 for the Air780E",
        "cargo",
        &[
            "build",
            "-p",
            "hal-ec618",
            "--target",
            DEVICE_TARGET,
            "--release",
        ],
    )?;
    step(
        "hal-ec618 with its bundled public roots: transport tests",
        "cargo",
        &[
            "test",
            "-p",
            "hal-ec618",
            "--features",
            "public-roots",
            "--test",
            "transport",
        ],
    )?;
    step(
        &format!("hal-ec618 [public-roots] for {DEVICE_TARGET}"),
        "cargo",
        &[
            "rustc",
            "-p",
            "hal-ec618",
            "--lib",
            "--target",
            DEVICE_TARGET,
            "--features",
            "public-roots",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    ec618_check()?;
    qemu()?;
    packages()?;
    println!(
        "\nxtask: all checks passed in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
