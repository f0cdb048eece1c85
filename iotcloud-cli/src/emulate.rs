//! `iotcloud emulate [cloud…]`: the cloud emulator in the foreground for devices outside
//! this process. Prints the ports and the settings each known device should use, logs
//! every connection, refusal and message, and takes control commands on standard input
//! and as HTTP/JSON.

use std::io::BufRead as _;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use iotcloud_emulator::catalog::{self, DeviceSpec};
use iotcloud_emulator::{Accounts, Cloud, CloudEmulator, image};

use crate::cli::EmulateArgs;
use crate::demo::demo_config;

const STDIN_HELP: &str = "\
commands on standard input:
  devices                               the connected devices
  published                             what devices published
  command CLOUD DEVICE PAYLOAD          send PAYLOAD on the cloud's command topic
  ota CLOUD DEVICE VERSION [SIZE]       offer an OTA job (an image of SIZE bytes, default 65536)
  set CLOUD DEVICE {JSON}               send a property set in the cloud's format
  invoke CLOUD DEVICE NAME [{JSON}]     send command NAME with parameters
  desired CLOUD DEVICE {JSON}           keep desired values for the device's fetches
  answers                               the devices' answers to sets and commands
  quit";

struct Options {
    clouds: Vec<Cloud>,
    specs: Vec<DeviceSpec>,
    control_port: u16,
    seconds: Option<u64>,
}

/// Reads what the command line gave: the device files and specs, the clouds.
fn options(args: EmulateArgs) -> Result<Options, String> {
    let mut o = Options {
        clouds: Vec::new(),
        specs: Vec::new(),
        control_port: args.control_port,
        seconds: args.seconds,
    };
    for path in &args.device_files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the device file {path}: {e}"))?;
        o.specs
            .extend(catalog::parse_toml(&text).map_err(|e| format!("{path}: {e}"))?);
    }
    for spec in &args.devices {
        o.specs
            .push(catalog::parse_spec(spec).map_err(|e| format!("--device: {e}"))?);
    }
    for name in &args.clouds {
        if name == "all" {
            o.clouds.extend(Cloud::ALL);
        } else {
            o.clouds
                .push(name.parse::<Cloud>().map_err(|e| e.to_string())?);
        }
    }
    if o.clouds.is_empty() {
        o.clouds.extend(Cloud::ALL);
    }
    o.clouds.sort();
    o.clouds.dedup();
    Ok(o)
}

/// Prints the emulator's lines; device names and topics in them can come from the
/// network, so anything that could act on a terminal is escaped (line breaks of the
/// emulator's own multi-line answers stay).
fn say(text: &str) {
    crate::output::line(&crate::output::escaped_lines(text));
}

fn shell_line(cloud: Cloud, pairs: &[(String, String)]) -> String {
    let mut line = format!("  iotcloud run {cloud}");
    for (k, v) in pairs {
        line.push_str(&format!(" {k}={v}"));
    }
    line
}

/// `iotcloud emulate`.
pub(crate) fn emulate(args: EmulateArgs) -> Result<String, String> {
    let opts = options(args)?;
    let demo_set = opts.specs.is_empty();
    let accounts = if demo_set {
        catalog::demo::accounts()
    } else {
        let mut a = Accounts::default();
        for spec in &opts.specs {
            spec.add_to(&mut a).map_err(|e| e.to_string())?;
        }
        a
    };
    let mut emulator = CloudEmulator::start_logged(accounts, &opts.clouds, |line| {
        say(&format!("emulator: {line}"));
    })
    .map_err(|e| format!("starting the emulator: {e}"))?;
    let control = emulator
        .serve_control(opts.control_port)
        .map_err(|e| format!("control port {}: {e}", opts.control_port))?;
    say(&format!("registration: {}", emulator.registration().url()));
    say(&format!("control: http://{control}"));
    for (cloud, port) in emulator.mqtt_ports() {
        say(&format!("mqtt {cloud}: 127.0.0.1:{port}"));
    }
    say("devices (TLS off, loopback):");
    for &cloud in &opts.clouds {
        if demo_set {
            // The demo set: the clouds with registration register first.
            say(&shell_line(cloud, &demo_config(&emulator, cloud)));
        } else {
            for pairs in declared(&emulator, cloud) {
                say(&shell_line(cloud, &pairs));
            }
        }
    }
    say(STDIN_HELP);

    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = opts
        .seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let wait = deadline.map_or(Duration::from_millis(200), |d| {
            d.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(200))
        });
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        match lines_rx.recv_timeout(wait) {
            Ok(line) => {
                if line.trim() == "quit" {
                    break;
                }
                say(&control_line(&emulator, &line));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Standard input closed: keep serving until the time is up or Ctrl-C.
            Err(mpsc::RecvTimeoutError::Disconnected) => match deadline {
                Some(d) => std::thread::sleep(d.saturating_duration_since(Instant::now())),
                None => loop {
                    std::thread::park();
                },
            },
        }
    }
    Ok("emulator stopped".into())
}

/// The settings of every declared device of `cloud`.
fn declared(emulator: &CloudEmulator, cloud: Cloud) -> Vec<Vec<(String, String)>> {
    let a = emulator.accounts();
    let port = emulator.mqtt_port(cloud).unwrap_or(1).to_string();
    let base = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("tls", "false"),
    ];
    let make = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        base.iter()
            .chain(list)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let mut out = Vec::new();
    match cloud {
        Cloud::Aliyun => {
            for p in &a.aliyun {
                for d in &p.devices {
                    out.push(make(&[
                        ("product_id", &p.product_key),
                        ("device_name", &d.name),
                        ("device_secret", &d.device_secret),
                    ]));
                }
            }
        }
        Cloud::Tencent => {
            for p in &a.tencent {
                for d in &p.devices {
                    out.push(make(&[
                        ("product_id", &p.product_id),
                        ("device_name", &d.name),
                        ("device_secret", &d.psk),
                    ]));
                }
            }
        }
        Cloud::OneNet => {
            for p in a.onenet.iter().flat_map(|u| &u.products) {
                for d in &p.devices {
                    out.push(make(&[
                        ("product_id", &p.product_id),
                        ("device_name", &d.name),
                        ("device_secret", &d.sec_key),
                    ]));
                }
            }
        }
        Cloud::Huawei => {
            for d in a.huawei.iter().flat_map(|x| &x.devices) {
                out.push(make(&[
                    ("device_id", &d.device_id),
                    ("device_secret", &d.secret),
                ]));
            }
        }
        Cloud::Tuya => {
            for d in &a.tuya {
                out.push(make(&[
                    ("device_name", &d.device_id),
                    ("device_secret", &d.secret),
                ]));
            }
        }
        Cloud::Baidu => {
            for d in &a.baidu {
                out.push(make(&[
                    ("product_id", &d.core_id),
                    ("device_name", &d.device_key),
                    ("device_secret", &d.secret),
                ]));
            }
        }
        Cloud::Tlink => {
            for d in &a.tlink {
                out.push(make(&[
                    ("product_id", &d.username),
                    ("device_name", &d.serial),
                    ("product_secret", &d.password),
                ]));
            }
        }
    }
    out
}

/// Runs one line of the standard-input control language and says what happened.
fn control_line(emulator: &CloudEmulator, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let cloud = |w: &str| w.parse::<Cloud>().map_err(|e| e.to_string());
    let result = match words.as_slice() {
        [] => return String::new(),
        ["devices"] => Ok(emulator
            .online()
            .iter()
            .map(|w| format!("online: {} {} {}", w.cloud, w.product, w.device))
            .collect::<Vec<_>>()
            .join("\n")),
        ["published"] => Ok(emulator
            .published()
            .iter()
            .map(|p| {
                format!(
                    "published: {} {} {} {}",
                    p.from.cloud,
                    p.from.device,
                    p.topic,
                    String::from_utf8_lossy(&p.payload)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")),
        ["command", c, device, ..] => {
            let payload = line
                .splitn(4, char::is_whitespace)
                .nth(3)
                .unwrap_or("")
                .trim();
            cloud(c).and_then(|c| {
                emulator
                    .command(c, device, payload.as_bytes(), None)
                    .map(|t| format!("command sent on {t}"))
                    .map_err(|e| e.to_string())
            })
        }
        ["answers"] => Ok(emulator
            .data_answers()
            .iter()
            .map(|a| {
                format!(
                    "answer: {} {} id {} code {} ({}{}) on {}{}",
                    a.from.cloud,
                    a.from.device,
                    a.id,
                    a.code,
                    if a.success { "success" } else { "failure" },
                    if a.answers.is_some() {
                        ""
                    } else {
                        ", answers no request"
                    },
                    a.topic,
                    if a.output.is_empty() {
                        String::new()
                    } else {
                        format!(" output {}", a.output)
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")),
        [verb @ ("set" | "desired"), c, device, ..] => {
            let json = line
                .splitn(4, char::is_whitespace)
                .nth(3)
                .unwrap_or("")
                .trim();
            let values = serde_json::from_str::<serde_json::Value>(json)
                .map_err(|_| format!("{verb} takes CLOUD DEVICE {{JSON object}}"));
            values.and_then(|values| {
                cloud(c).and_then(|c| {
                    if *verb == "desired" {
                        let Some(map) = values.as_object() else {
                            return Err("desired values must be a JSON object".to_string());
                        };
                        emulator.set_desired(c, device, map.clone());
                        Ok(format!("desired values kept for {c} {device}"))
                    } else {
                        emulator
                            .set_properties(c, device, &values)
                            .map(|r| format!("property set {} sent on {}", r.id, r.topic))
                            .map_err(|e| e.to_string())
                    }
                })
            })
        }
        ["invoke", c, device, name, ..] => {
            let json = line
                .splitn(5, char::is_whitespace)
                .nth(4)
                .unwrap_or("")
                .trim();
            let params = if json.is_empty() {
                Ok(serde_json::json!({}))
            } else {
                serde_json::from_str::<serde_json::Value>(json)
                    .map_err(|_| "invoke takes CLOUD DEVICE NAME [{JSON object}]".to_string())
            };
            params.and_then(|params| {
                cloud(c).and_then(|c| {
                    emulator
                        .invoke(c, device, name, &params)
                        .map(|r| format!("command {} sent on {}", r.id, r.topic))
                        .map_err(|e| e.to_string())
                })
            })
        }
        ["ota", c, device, version, rest @ ..] => {
            let size = match rest {
                [] => Ok(64 * 1024),
                [n] => n
                    .parse::<usize>()
                    .map_err(|_| "SIZE is not a number".to_string()),
                _ => Err("ota takes CLOUD DEVICE VERSION [SIZE]".to_string()),
            };
            size.and_then(|size| {
                cloud(c).and_then(|c| {
                    emulator
                        .offer_ota(c, device, version, image(size, version))
                        .map(|o| {
                            format!(
                                "ota job sent: version {} at {} ({} bytes, md5 {})",
                                o.version, o.url, o.size, o.md5
                            )
                        })
                        .map_err(|e| e.to_string())
                })
            })
        }
        _ => Err(format!("not a command\n{STDIN_HELP}")),
    };
    match result {
        Ok(s) if s.is_empty() => "(none)".into(),
        Ok(s) => s,
        Err(e) => format!("error: {e}"),
    }
}
