//! `cargo xtask fuzz [--seconds N]`: every fuzz target in `fuzz/Cargo.toml`, one after
//! the other, for N seconds each (default 15), starting from its committed corpus.
//!
//! The targets need the nightly toolchain and cargo-fuzz. Without them the run says that
//! fuzzing was skipped and why, and succeeds; with them, a crash fails it. New inputs
//! found go to `fuzz/target/corpus/<target>`, so the committed corpora change only when
//! someone minimises into them on purpose.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::run_step;

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 15;

/// Runs every target; `Err` names the first that failed.
pub fn run(args: &[String]) -> Result<(), String> {
    let seconds = match args {
        [] => DEFAULT_SECONDS,
        [flag, n] if flag == "--seconds" => n
            .parse()
            .map_err(|_| format!("fuzz: --seconds wants a number, not {n:?}"))?,
        _ => return Err("fuzz: usage: cargo xtask fuzz [--seconds N]".into()),
    };
    let dir = fuzz_dir();
    if let Some(why) = missing_tools() {
        println!("\n==> fuzz: SKIPPED: {why}");
        return Ok(());
    }
    let targets = targets(&dir.join("Cargo.toml"))?;
    run_step(
        "fuzz build",
        "cargo +nightly fuzz build --sanitizer none",
        fuzz_cargo(&dir, &["build", "--sanitizer", "none"]),
    )?;
    for target in &targets {
        let found = dir.join("target").join("corpus").join(target);
        std::fs::create_dir_all(&found).map_err(|e| format!("fuzz: {}: {e}", found.display()))?;
        let found = found.to_string_lossy().into_owned();
        let committed = format!("corpus/{target}");
        let limit = format!("-max_total_time={seconds}");
        run_step(
            &format!("fuzz {target}"),
            &format!("cargo +nightly fuzz run {target} for {seconds}s"),
            fuzz_cargo(
                &dir,
                &[
                    "run",
                    "--sanitizer",
                    "none",
                    target,
                    &found,
                    &committed,
                    "--",
                    &limit,
                    "-print_final_stats=1",
                ],
            ),
        )?;
    }
    println!(
        "\nfuzz: {} targets ran {seconds}s each without a crash",
        targets.len()
    );
    Ok(())
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("fuzz"), |root| root.join("fuzz"))
}

/// `cargo +nightly fuzz …` in `dir`, building into `fuzz/target` whatever the caller's
/// `CARGO_TARGET_DIR` says (the fuzz crate is its own workspace).
fn fuzz_cargo(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly").arg("fuzz").args(args).current_dir(dir);
    cmd.env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

/// Why fuzzing cannot run here, if it cannot.
fn missing_tools() -> Option<String> {
    let works = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .env_remove("RUSTUP_TOOLCHAIN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(&["+nightly", "--version"]) {
        return Some(
            "no nightly toolchain (rustup toolchain install nightly --profile minimal)".into(),
        );
    }
    if !works(&["+nightly", "fuzz", "--version"]) {
        return Some("cargo-fuzz is not installed (cargo install cargo-fuzz --locked)".into());
    }
    None
}

/// The names of the `[[bin]]` sections of the fuzz crate's manifest: its targets.
fn targets(manifest: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("fuzz: {}: {e}", manifest.display()))?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(value) = line.strip_prefix("name") {
            let name = value
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            targets.push(name.to_owned());
        }
    }
    if targets.is_empty() {
        return Err(format!(
            "fuzz: no [[bin]] targets in {}",
            manifest.display()
        ));
    }
    Ok(targets)
}
