//! `iotcloud`: the SDK's command-line tool.
//!
//! `iotcloud sign <cloud> key=value…` prints the MQTT credentials and endpoint a device of
//! that cloud would connect with, as one JSON object, for pasting into an MQTT desktop
//! client. The keys are those of the `iotcloud` crate's `Config` (LuatOS's names); the
//! values of `server_cert`, `client_cert` and `client_key` are paths of PEM files.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use iotcloud::iotcloud_core::scratch::Scratch;
use iotcloud::{AnyProvider, Cloud, Config, Key, Provider, SignContext};

const USAGE: &str = "\
usage: iotcloud sign <cloud> key=value...

Prints the MQTT client id, user name, password, host, port and TLS flag a device would
connect with, as one JSON object.

clouds: aliyun, tencent (or qcloud), onenet, huawei, tuya, baidu, tlink

keys:   product_id (or produt_id), device_name, device_secret, product_secret, key,
        method, instance_id, region, endpoint, device_id, host, port (or ip),
        tls (true|false|insecure), server_cert, client_cert, client_key (PEM file paths),
        keepalive, timestamp (now|luatos|Unix seconds), conn_id, app_id, luatos (true|false)
";

/// The keys whose values are PEM files on the command line.
const PEM_FILE_KEYS: [Key; 3] = [Key::ServerCert, Key::ClientCert, Key::ClientKey];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("iotcloud: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    match args.first().map(String::as_str) {
        Some("sign") => match args.get(1) {
            Some(cloud) => sign(cloud, &args[2..]),
            None => Err(format!("`sign` needs a cloud\n\n{USAGE}")),
        },
        Some("-h" | "--help" | "help") => Ok(USAGE.trim_end().to_string()),
        Some("-V" | "--version") => Ok(format!("iotcloud {}", env!("CARGO_PKG_VERSION"))),
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.trim_end().to_string()),
    }
}

/// Splits `key=value` arguments, reading PEM files for the keys that take them.
fn pairs(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(args.len());
    for (n, arg) in args.iter().enumerate() {
        // The argument itself is not shown: it may hold a secret.
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| format!("argument {} is not key=value", n + 3))?;
        let value = match Key::from_name(key) {
            Some(k) if PEM_FILE_KEYS.contains(&k) => std::fs::read_to_string(value)
                .map_err(|e| format!("cannot read the `{key}` file {value}: {e}"))?,
            _ => value.to_string(),
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

fn sign(cloud: &str, args: &[String]) -> Result<String, String> {
    let cloud = Cloud::from_name(cloud).map_err(|e| e.to_string())?;
    let owned = pairs(args)?;
    let config = Config::from_pairs(owned.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| e.to_string())?;
    let provider = AnyProvider::new(cloud, &config, None).map_err(|e| e.to_string())?;
    let endpoint = provider.endpoint().map_err(|e| e.to_string())?;
    let ctx = SignContext {
        unix_time_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok()),
        random: random(),
        registered: None,
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
        endpoint.tls.is_some(),
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
