//! `cargo xtask <task>`: the project's own tasks.
//!
//! - `test`: everything CI checks — formatting, lints, the whole test suite (including
//!   the mosquitto integration tests), and the `no_std` crates built for the Air780E's
//!   Cortex-M3 (`thumbv7m-none-eabi`).

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

const DEVICE_TARGET: &str = "thumbv7m-none-eabi";

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "test" => test(),
        _ => {
            eprintln!("usage: cargo xtask test");
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
    println!("\n==> {name}: {program} {}", args.join(" "));
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("{name} (could not start {program}: {e})"))?;
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

fn test() -> Result<(), String> {
    let start = Instant::now();
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
    for krate in NO_STD_CRATES {
        step(
            &format!("{krate} for {DEVICE_TARGET}"),
            "cargo",
            &["build", "-p", krate, "--target", DEVICE_TARGET],
        )?;
    }
    println!(
        "\nxtask: all checks passed in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
