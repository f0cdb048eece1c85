//! `iotcloud`: the SDK's command-line tool.
//!
//! Every command is a subcommand (`cli.rs`, with clap) whose `<cloud>` and trailing
//! `key=value` arguments are kept as written: `iotcloud sign <cloud> key=value…` prints the
//! MQTT credentials and endpoint a device of that cloud would connect with, as one JSON
//! object; `register` runs dynamic registration and stores what was obtained, which `sign`,
//! `run`, `pub` and `sub` then use; `run` stays connected and logs every event (`--json`:
//! one JSON object per event); `time` prints the cloud's clock; `pub` and `sub` publish and
//! print messages through disconnects (`--quiet`: no connection events); `demo` and
//! `emulate` run the cloud emulator. `iotcloud help <command>` prints a command's keys, for
//! each cloud, and examples (`help.rs`).
//!
//! The keys are those of the `iotcloud` crate's `Config` (LuatOS's names), plus `store=DIR`
//! and `config=FILE`; the values of `server_cert`, `client_cert` and `client_key` are paths
//! of PEM files. A key not on the command line comes from the environment
//! (`IOTCLOUD_DEVICE_SECRET`, …), then from the `config=` file. Usage errors exit with
//! status 2 and never show a value.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use std::path::{Path, PathBuf};

mod cli;
mod config;
mod demo;
mod emulate;
mod help;
mod host;
mod output;
mod pubsub;
mod run;
mod suggest;
mod trace;

use hal_host::FileStore;
use iotcloud::iotcloud_core::ServerAuth;
use iotcloud::iotcloud_core::register::{self, Registration as _};
use iotcloud::iotcloud_core::scratch::Scratch;
use iotcloud::{AnyProvider, Error, Key, KvStore, Provider, SignContext};

use crate::cli::{DeviceArgs, Invocation};
use crate::help::DeviceCommand;

/// The keys whose values are PEM files on the command line.
const PEM_FILE_KEYS: [Key; 3] = [Key::ServerCert, Key::ClientCert, Key::ClientKey];

fn main() -> ExitCode {
    let args = match utf8_args(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("iotcloud: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(out) => {
            if !out.is_empty() {
                output::line(&out);
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            // Lines of the tool's own (the usage text) stay lines; anything else that could
            // act on a terminal, which a server's answer quoted in an error might hold, is
            // escaped.
            eprintln!("iotcloud: {}", output::escaped_lines(&message));
            ExitCode::from(2)
        }
    }
}

/// The arguments as text. One that is not UTF-8 is an error that names its key (the part
/// before `=`, when that much is text) or its position, and never shows its value: it may
/// be a secret.
fn utf8_args(args: impl Iterator<Item = std::ffi::OsString>) -> Result<Vec<String>, String> {
    args.enumerate()
        .map(|(i, arg)| {
            arg.into_string().map_err(|raw| {
                let bytes = raw.as_encoded_bytes();
                let key = bytes
                    .iter()
                    .position(|&b| b == b'=')
                    .and_then(|eq| std::str::from_utf8(&bytes[..eq]).ok())
                    .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic()));
                match key {
                    Some(key) => format!("the value of `{key}=` is not valid UTF-8"),
                    None => format!("argument {} is not valid UTF-8", i + 1),
                }
            })
        })
        .collect()
}

fn run(args: &[String]) -> Result<String, String> {
    let (command, device) = match cli::parse(args)? {
        Invocation::Print(text) => return Ok(text),
        Invocation::Demo { clouds } => return demo::demo(&clouds),
        Invocation::Emulate(opts) => return emulate::emulate(opts),
        Invocation::Device(command, device) => (command, device),
    };
    let DeviceArgs {
        cloud,
        keys,
        json,
        quiet,
        verbose,
    } = device;
    if verbose {
        trace::to_stderr();
    }
    match command {
        DeviceCommand::Sign => sign(&cloud, &keys),
        DeviceCommand::Register => register(&cloud, &keys),
        DeviceCommand::Run => run_command(&cloud, &keys, run::Report { json, quiet }),
        DeviceCommand::Time => time_command(&cloud, &keys),
        DeviceCommand::Pub | DeviceCommand::Sub => {
            let (mut opts, rest) = pubsub::PubSubOptions::take(&keys)?;
            opts.quiet = quiet;
            if json {
                if opts.format == Some(false) {
                    return Err("`--json` and `format=text` disagree".into());
                }
                opts.format = Some(true);
            }
            let args = pairs(&rest)?;
            if command == DeviceCommand::Pub {
                pubsub::publish(&cloud, args, opts)
            } else {
                pubsub::subscribe(&cloud, args, opts)
            }
        }
    }
}

/// `run`: the tool's own keys, then the configuration.
fn run_command(cloud: &str, args: &[String], report: run::Report) -> Result<String, String> {
    let mut opts = run::RunOptions {
        report,
        ota_dir: None,
        version: "0.0.0".into(),
        seconds: None,
        props: Vec::new(),
        answer_code: None,
        no_clock: false,
    };
    let mut rest = Vec::new();
    for arg in args {
        match arg.split_once('=') {
            Some(("ota_dir", v)) => opts.ota_dir = Some(PathBuf::from(v)),
            Some(("version", v)) => opts.version = v.to_string(),
            Some(("seconds", v)) => {
                opts.seconds = Some(v.parse().map_err(|_| "`seconds` is not a number")?);
            }
            Some(("answer_code", v)) => {
                opts.answer_code = Some(v.parse().map_err(|_| "`answer_code` is not a number")?);
            }
            Some(("clock", "none")) => opts.no_clock = true,
            Some(("clock", _)) => return Err("`clock` takes only `none`".into()),
            Some((key, v)) if key.starts_with("prop.") => {
                let name = &key["prop.".len()..];
                if name.is_empty() {
                    return Err("`prop.` needs a property name: prop.NAME=VALUE".into());
                }
                opts.props.push((name.to_string(), v.to_string()));
            }
            _ => rest.push(arg.clone()),
        }
    }
    run::run(cloud, pairs(&rest)?, opts)
}

/// `time`: `clock=none`, then the configuration.
fn time_command(cloud: &str, args: &[String]) -> Result<String, String> {
    let mut no_clock = false;
    let mut rest = Vec::new();
    for arg in args {
        match arg.split_once('=') {
            Some(("clock", "none")) => no_clock = true,
            Some(("clock", _)) => return Err("`clock` takes only `none`".into()),
            _ => rest.push(arg.clone()),
        }
    }
    run::time(cloud, pairs(&rest)?, no_clock)
}

/// The configuration pairs and the store directory.
pub(crate) struct Args {
    pub(crate) pairs: Vec<(String, String)>,
    pub(crate) store: PathBuf,
}

/// Splits `key=value` arguments, reading PEM files for the keys that take them and taking
/// `store=` and `config=` for the tool itself. Keys not on the command line come from the
/// environment (`IOTCLOUD_DEVICE_SECRET`, …) and then from the `config=` file: secrets need
/// not appear in the process list.
fn pairs(args: &[String]) -> Result<Args, String> {
    let mut out = Vec::with_capacity(args.len());
    let mut store = None;
    let mut config_file = None;
    for arg in args {
        // `cli::check_keys` has named any argument that is not key=value by its position
        // in the command line (which `pairs`, given what is left after the tool's own
        // keys, cannot know); the argument itself is never shown: it may hold a secret.
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| "an argument is not key=value".to_string())?;
        if key == "store" {
            if store.replace(PathBuf::from(value)).is_some() {
                return Err("`store` given twice".into());
            }
            continue;
        }
        if key == "config" {
            config_file = Some(PathBuf::from(value));
            continue;
        }
        out.push((key.to_string(), pem_or_value(key, value)?));
    }
    let given = |out: &[(String, String)], key: Key| out.iter().any(|(k, _)| k == key.name());
    for key in Key::ALL {
        if given(&out, key) {
            continue;
        }
        let var = env_name(key);
        match std::env::var(&var) {
            Ok(value) => out.push((key.name().to_string(), pem_or_value(key.name(), &value)?)),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!("the value of {var} is not valid UTF-8"));
            }
            Err(std::env::VarError::NotPresent) => {}
        }
    }
    if let Some(path) = config_file {
        for (key, value) in config::read(&path)? {
            if !given(&out, key) {
                out.push((key.name().to_string(), pem_or_value(key.name(), &value)?));
            }
        }
    }
    let store = match store {
        Some(dir) => dir,
        None => default_store()?,
    };
    Ok(Args { pairs: out, store })
}

/// The value of `key`: for the keys that take PEM files, the file at the path `value`.
fn pem_or_value(key: &str, value: &str) -> Result<String, String> {
    match Key::from_name(key) {
        Some(k) if PEM_FILE_KEYS.contains(&k) => std::fs::read_to_string(value)
            .map_err(|e| format!("cannot read the `{key}` file {value}: {e}")),
        _ => Ok(value.to_string()),
    }
}

/// The environment variable of `key`: `IOTCLOUD_` and its name in capitals.
fn env_name(key: Key) -> String {
    format!("IOTCLOUD_{}", key.name().to_ascii_uppercase())
}

/// `$XDG_DATA_HOME/iotcloud`, else `~/.local/share/iotcloud`.
fn default_store() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("iotcloud"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/iotcloud"))
        .ok_or_else(|| "no data directory (HOME unset); give store=DIR".to_string())
}

/// The stored registration record of `provider`, if its configuration registers: `None`
/// if it does not; an error if it registers and nothing (or something corrupt) is stored.
fn stored_record(provider: &AnyProvider<'_>, dir: &Path) -> Result<Option<Vec<u8>>, String> {
    let Some(id) = provider.registration() else {
        return Ok(None);
    };
    let key = id.id().store_key(provider.cloud());
    let mut buf = vec![0u8; CREDENTIALS_LEN];
    // Signing only reads: a store directory that does not exist holds nothing.
    let got = if dir.is_dir() {
        let mut store =
            FileStore::open(dir).map_err(|e| format!("store {}: {e}", dir.display()))?;
        block_on(store.get(&key, &mut buf)).map_err(|e| format!("store: {e}"))?
    } else {
        None
    };
    let Some(n) = got else {
        return Err(format!(
            "not registered yet (nothing under `{key}` in {}): run `iotcloud register` first",
            dir.display()
        ));
    };
    let record = register::unseal(&buf[..n])
        .ok_or_else(|| format!("the stored record `{key}` is corrupt; not used"))?;
    Ok(Some(record.to_vec()))
}

/// Memory for registration records: enough for a certificate and its key.
pub(crate) const CREDENTIALS_LEN: usize = 8 * 1024;

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))
}

/// Ends at Ctrl-C (SIGINT) or, with `seconds`, after that long, whichever comes first: a
/// command given `seconds=` still disconnects politely when interrupted.
pub(crate) async fn until_stopped(seconds: Option<u64>) {
    let ctrl_c = async {
        // Where no handler can be installed there is no Ctrl-C to wait for.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match seconds {
        Some(s) => tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(s)) => {}
            () = ctrl_c => {}
        },
        None => ctrl_c.await,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match runtime() {
        Ok(rt) => rt.block_on(f),
        // A current-thread runtime only fails to build when the OS refuses resources.
        Err(e) => panic!("{e}"),
    }
}

fn register(cloud: &str, args: &[String]) -> Result<String, String> {
    let args = pairs(args)?;
    let (cloud, config) = host::configure(cloud, &args)?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    let Some(id) = provider.registration() else {
        return Err(format!(
            "this {cloud} configuration holds its own credentials: nothing to register \
             (registration needs product_secret, userid/userkey or the IAM keys)"
        ));
    };
    let key = id.id().store_key(provider.cloud());
    let rt = runtime()?;
    // Registration needs no session memory to speak of.
    let mut mem = host::Memory::new(256);
    let device = host::device(provider.clone(), host::store(&args)?, &mut mem, None);
    let (record, stored) = match rt.block_on(device.register()) {
        Ok(dev) => (dev.registration_record().map(<[u8]>::to_vec), Ok(())),
        Err(failed) => match failed.into_parts() {
            (Error::Store(e), dev) if dev.registration_record().is_some() => {
                (dev.registration_record().map(<[u8]>::to_vec), Err(e))
            }
            (e, _) => return Err(e.to_string()),
        },
    };
    let record = record.ok_or("registration gave no record")?;
    let mut out = String::from("{");
    for (i, (name, value)) in register::named(&record).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{}:{}", json(Some(name)), json(Some(value))));
    }
    out.push('}');
    let path = args.store.join(key.as_str());
    match stored {
        Ok(()) => Ok(format!(
            "{{\"credentials\":{out},\"stored\":{}}}",
            json(path.to_str())
        )),
        Err(e) => {
            // The cloud may not register this device again: the credentials must reach
            // the user even though they could not be stored.
            output::line(&format!("{{\"credentials\":{out},\"stored\":null}}"));
            Err(format!(
                "registered, but storing the credentials in {} failed: {e}; keep the output above",
                args.store.display()
            ))
        }
    }
}

fn sign(cloud: &str, args: &[String]) -> Result<String, String> {
    let args = pairs(args)?;
    let (cloud, config) = host::configure(cloud, &args)?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    let record = stored_record(&provider, &args.store)?;
    let mut host = [0u8; iotcloud::iotcloud_core::provider::MAX_HOST_LEN];
    let endpoint = provider
        .endpoint(&mut Scratch::new(&mut host))
        .map_err(|e| e.to_string())?;
    let ctx = SignContext {
        unix_time_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok()),
        random: random(),
        registered: record.as_deref(),
    };
    let mut buf = [0u8; 2048];
    let mut scratch = Scratch::new(&mut buf);
    let creds = provider
        .sign(&ctx, &mut scratch)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "{{\"client_id\":{},\"username\":{},\"password\":{},\"host\":{},\"port\":{},\"tls\":{}}}",
        json(Some(creds.client_id)),
        json(creds.username),
        json(creds.password),
        json(Some(endpoint.host)),
        endpoint.port,
        match endpoint.tls {
            None => "false",
            Some(tls) if matches!(tls.server, ServerAuth::NoVerification) => "\"insecure\"",
            Some(_) => "true",
        },
    ))
}

/// A JSON string, or `null`.
fn json(s: Option<&str>) -> String {
    match s {
        Some(s) => serde_json::Value::from(s).to_string(),
        None => "null".to_string(),
    }
}

/// A random value for connection ids and nonces, from the standard library's per-process
/// hash keys (no cryptographic use is made of it).
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt as _;

    use super::*;

    proptest::proptest! {
        /// Any argument bytes at all: reading and checking them never panics, and what is
        /// refused is named by position or key, never by a value.
        #[test]
        fn any_arguments_are_refused_by_name_never_by_value(
            args in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::num::u8::ANY, 0..40),
                    "[a-z_]{1,10}=SECRET[ -~]{0,20}".prop_map(String::into_bytes),
                    "SECRET[ -<>-~]{0,20}".prop_map(String::into_bytes),
                ],
                0..8,
            )
        ) {
            let mut argv = vec![OsString::from("pub"), OsString::from("tlink")];
            argv.extend(args.into_iter().map(OsString::from_vec));
            let checked = utf8_args(argv.into_iter()).and_then(|args| cli::check_keys(&args));
            if let Err(message) = checked {
                proptest::prop_assert!(!message.contains("SECRET"), "{}", message);
            }
        }
    }

    use proptest::strategy::Strategy as _;
}
