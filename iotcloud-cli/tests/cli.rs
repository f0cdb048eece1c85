//! The command line itself, run as the built binary: every command's help (what it does, its
//! keys for each cloud, examples that work as printed), suggestions for what was mistyped,
//! usage errors that never show a value, keys from a file with a suggestion for a typo, and
//! `--json` and `--quiet` on `run`, `pub` and `sub`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use iotcloud_emulator::catalog::parse_spec;
use iotcloud_emulator::{Accounts, Cloud, CloudEmulator};
use iotcloud_testkit::Broker;
use serde_json::{Value, json};

const COMMANDS: [&str; 8] = [
    "sign", "register", "run", "time", "pub", "sub", "demo", "emulate",
];

fn iotcloud(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// `iotcloud <command> --help`, expecting success and nothing on stderr.
fn help(command: &str) -> String {
    let out = iotcloud(&[command, "--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    stdout(&out)
}

/// The example command lines of a help text, each joined where it was broken with `\`.
fn examples(help: &str) -> Vec<String> {
    let section = help.split_once("\nexamples:\n").unwrap().1;
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in section.lines().filter(|l| !l.trim_start().starts_with('#')) {
        match line.trim().strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line.trim());
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    lines
}

#[test]
fn every_command_has_help_with_its_usage_and_examples_however_it_is_asked_for() {
    for command in COMMANDS {
        let long = help(command);
        assert!(
            long.contains(&format!("usage: iotcloud {command}")),
            "{command}:\n{long}"
        );
        let examples = examples(&long);
        assert!(!examples.is_empty(), "{command}:\n{long}");
        assert!(
            examples[0].contains(&format!("iotcloud {command}")),
            "{command}: {examples:?}"
        );
        assert!(
            examples.iter().all(|e| e.contains("iotcloud ")),
            "{command}: {examples:?}"
        );
        let short = iotcloud(&[command, "-h"]);
        assert_eq!(stdout(&short), long, "{command} -h");
        let via_help = iotcloud(&["help", command]);
        assert_eq!(via_help.status.code(), Some(0));
        assert_eq!(stdout(&via_help), long, "help {command}");
    }
}

#[test]
fn help_pub_is_exactly_pub_help() {
    let pub_help = help("pub");
    assert_eq!(stdout(&iotcloud(&["help", "pub"])), pub_help);
    // Its own keys, its option, and the device's keys.
    for needle in [
        "topic=T",
        "qos=Q",
        "-q, --quiet",
        "config=FILE",
        "IOTCLOUD_DEVICE_SECRET",
    ] {
        assert!(pub_help.contains(needle), "{needle}:\n{pub_help}");
    }
    // `--json` is not one of `pub`'s options.
    assert!(!pub_help.contains("--json"), "{pub_help}");
    assert!(help("sub").contains("--json"));
    assert!(help("run").contains("--json"));
}

#[test]
fn the_top_help_names_every_command_and_the_version_is_the_crate_s() {
    let out = iotcloud(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let commands = text.split_once("\ncommands:\n").unwrap().1;
    for command in COMMANDS {
        assert!(
            commands
                .lines()
                .any(|l| l.starts_with(&format!("  {command} "))),
            "{command}:\n{text}"
        );
    }
    for version in ["--version", "-V"] {
        let out = iotcloud(&[version]);
        assert_eq!(
            stdout(&out),
            format!("iotcloud {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// The keys are listed for each cloud from the SDK's own table of which cloud reads which
/// key.
#[test]
fn the_device_s_keys_are_listed_for_each_cloud() {
    let text = help("sign");
    // A cloud's line and its continuation lines.
    let keys_of = |cloud: &str| -> String {
        let start = text.find(&format!("\n  {cloud}:")).unwrap();
        let rest = &text[start + 1..];
        let mut out = String::new();
        for (i, line) in rest.lines().enumerate() {
            if i > 0 && !line.starts_with("               ") {
                break;
            }
            out.push_str(line);
        }
        out
    };
    let tuya = keys_of("tuya");
    assert!(tuya.contains("device_secret"), "{tuya}");
    assert!(!tuya.contains("product_id"), "{tuya}");
    let tlink = keys_of("tlink");
    assert!(tlink.contains("product_secret"), "{tlink}");
    assert!(!tlink.contains("device_secret"), "{tlink}");
    let huawei = keys_of("huawei");
    assert!(huawei.contains("iam_password") && huawei.contains("service_id"));
    assert!(keys_of("mqtt").contains("username"));
    assert!(keys_of("every cloud").contains("port (or ip)"));
}

/// The first example of `sign --help`, run as printed, gives LuatOS's published answer.
#[test]
fn the_sign_example_works_as_printed() {
    let example = examples(&help("sign")).remove(0);
    let words: Vec<&str> = example.split_whitespace().collect();
    assert_eq!(&words[..2], ["iotcloud", "sign"], "{example}");
    let out = iotcloud(&words[1..]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["password"], "16CB9B20009795D576E9172CDC820646", "{v}");
    assert_eq!(v["username"], "abcdefg&123456789", "{v}");
}

/// Exit status 2 and a message on stderr, nothing on stdout.
fn refused(args: &[&str]) -> String {
    let out = iotcloud(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
    assert!(out.stdout.is_empty(), "{args:?}");
    stderr(&out)
}

#[test]
fn mistyped_commands_keys_and_options_get_the_right_name_suggested() {
    for args in [&["signn", "aliyun"][..], &["help", "signn"]] {
        let message = refused(args);
        assert!(
            message.contains("unknown command `signn`; did you mean `sign`?"),
            "{message}"
        );
    }
    let message = refused(&[
        "run",
        "aliyun",
        "product_id=p",
        "devce_name=d",
        "device_secret=s",
    ]);
    assert!(
        message.contains("unknown key `devce_name`; did you mean `device_name`?"),
        "{message}"
    );
    let message = refused(&["sub", "tlink", "--jsn"]);
    assert!(
        message.contains("unknown option `--jsn`; did you mean `--json`?"),
        "{message}"
    );
    assert!(message.contains("usage: iotcloud sub"), "{message}");
    // `pub` has no `--json`: nothing to suggest.
    assert!(!refused(&["pub", "tlink", "--jsn"]).contains("did you mean"));
    assert!(refused(&["sign"]).contains("`sign` needs a cloud"));
    let message = refused(&[]);
    assert!(
        message.contains("a command is needed") && message.contains("usage:"),
        "{message}"
    );
}

/// Options that are not options, and values given to flags, are named without the value.
#[test]
fn option_errors_never_show_a_value() {
    let message = refused(&["sign", "aliyun", "--device_secret=s3cr3t-value"]);
    assert!(
        message.contains("unknown option `--device_secret`"),
        "{message}"
    );
    let message = refused(&["sign", "aliyun", "product_id=p", "--S3cr3tPasted"]);
    assert!(
        message.contains("argument 4 is not an option of this command"),
        "{message}"
    );
    let message = refused(&["run", "aliyun", "--json=s3cr3t-value"]);
    assert!(message.contains("`--json` takes no value"), "{message}");
    let message = refused(&["run", "aliyun", "--quiet", "s3cr3t-value"]);
    assert!(message.contains("argument 4 is not key=value"), "{message}");
    for args in [
        &["sign", "aliyun", "--device_secret=s3cr3t-value"][..],
        &["sign", "aliyun", "--S3cr3tPasted"],
        &["run", "aliyun", "--json=s3cr3t-value"],
        &["run", "aliyun", "--quiet", "s3cr3t-value"],
    ] {
        let message = refused(args);
        assert!(
            !message.contains("s3cr3t") && !message.contains("S3cr3t"),
            "{message}"
        );
    }
}

/// A key mistyped in a `config=` file is named with the key meant, never with a value.
#[test]
fn a_config_file_s_mistyped_key_gets_the_right_name_suggested() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("device.toml");
    std::fs::write(
        &file,
        "product_id = \"p\"\ndevce_name = \"d\"\ndevice_secret = \"s3cr3t-value\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = format!("config={}", file.display());
    let message = refused(&["sign", "aliyun", &config]);
    assert!(
        message.contains("unknown key `devce_name`; did you mean `device_name`?"),
        "{message}"
    );
    assert!(!message.contains("s3cr3t"), "{message}");
}

/// Flags may come anywhere among the `key=value` arguments, and keys still come from the
/// command line first, then the environment, then the file.
#[test]
fn flags_go_anywhere_and_keys_keep_their_order_of_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("device.toml");
    std::fs::write(
        &file,
        "produt_id = \"123456789\"\ndevice_name = \"abcdefg\"\ndevice_secret = \"from-the-file\"\n\
         luatos = true\n",
    )
    .unwrap();
    let config = format!("config={}", file.display());
    let sign = |args: &[&str], env: &[(&str, &str)]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let secret = "Y877Bgo8X5owd3lcB5wWDjryNPoB";
    let expected = "16CB9B20009795D576E9172CDC820646";
    // From the environment over the file.
    let v = sign(
        &["sign", "aliyun", &config],
        &[("IOTCLOUD_DEVICE_SECRET", secret)],
    );
    assert_eq!(v["password"], expected);
    // From the command line over both, after `--`.
    let v = sign(
        &[
            "sign",
            "aliyun",
            &config,
            "--",
            &format!("device_secret={secret}"),
        ],
        &[("IOTCLOUD_DEVICE_SECRET", "from-the-environment")],
    );
    assert_eq!(v["password"], expected);
    // The file alone signs with its own secret: a different password.
    let v = sign(&["sign", "aliyun", &config], &[]);
    assert_ne!(v["password"], expected);
}

/// One Tencent device (a cloud with a data model and OTA) on the emulator.
fn emulator() -> CloudEmulator {
    let mut accounts = Accounts::default();
    parse_spec("cloud=tencent,product=TESTPID001,name=jsondev1,secret=dGVuY2VudC1rZXktZGV2YTE=")
        .unwrap()
        .add_to(&mut accounts)
        .unwrap();
    CloudEmulator::start(accounts, &[Cloud::Tencent]).unwrap()
}

fn device_args(emu: &CloudEmulator, store: &std::path::Path) -> Vec<String> {
    vec![
        "run".into(),
        "tencent".into(),
        "product_id=TESTPID001".into(),
        "device_name=jsondev1".into(),
        "device_secret=dGVuY2VudC1rZXktZGV2YTE=".into(),
        "host=127.0.0.1".into(),
        format!("port={}", emu.mqtt_port(Cloud::Tencent).unwrap()),
        "tls=false".into(),
        format!("store={}", store.display()),
    ]
}

/// Retries `f` until it succeeds, for at most 10 s.
fn until<T, E: std::fmt::Debug>(what: &str, mut f: impl FnMut() -> Result<T, E>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) => assert!(Instant::now() < deadline, "{what}: {e:?}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `run` against the emulator while the cloud sends a property set (with an escape
/// sequence in it), a command and an OTA job; stopped with Ctrl-C (SIGINT) once the image
/// is saved, so that a slow machine only takes longer: `seconds=` is only a bound.
fn run_with_traffic(extra: &[&str]) -> Output {
    use std::io::{BufRead as _, BufReader, Read as _};
    let emu = emulator();
    let store = tempfile::tempdir().unwrap();
    let ota_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(device_args(&emu, store.path()))
        .args([
            "seconds=60",
            "version=1.0.0",
            "prop.temp=21.5",
            &format!("ota_dir={}", ota_dir.path().display()),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<Vec<u8>>();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || {
        for line in stdout.split(b'\n') {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut all = Vec::new();
        stderr.read_to_end(&mut all).unwrap();
        all
    });

    let values = json!({"on": true, "label": "a\u{1b}[2Jb"});
    until("property set", || {
        emu.set_properties(Cloud::Tencent, "jsondev1", &values)
    });
    until("command", || {
        emu.invoke(Cloud::Tencent, "jsondev1", "reboot", &json!({"delay": 1}))
    });
    let image: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    until("ota", || {
        emu.offer_ota(Cloud::Tencent, "jsondev1", "2.0.0", image.clone())
    });

    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            let _ = child.kill();
            panic!(
                "the image was never saved:\n{}",
                String::from_utf8_lossy(&out)
            );
        };
        out.extend_from_slice(&line);
        out.push(b'\n');
        let text = String::from_utf8_lossy(&line);
        if text.contains(r#""event":"ota_done""#) || text.contains("verified and saved") {
            break;
        }
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    reader.join().unwrap();
    for line in lines.try_iter() {
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    Output {
        status,
        stdout: out,
        stderr: stderr.join().unwrap(),
    }
}

/// The JSON objects of `run --json`'s output, each line checked to be one.
fn events(out: &Output) -> Vec<Value> {
    assert!(
        !out.stdout.contains(&0x1b),
        "a raw escape reached the terminal"
    );
    stdout(out)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(v["event"].is_string(), "{line}");
            v
        })
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["event"].as_str()).collect()
}

#[test]
fn run_json_prints_one_object_per_event_with_what_came_from_the_network_escaped() {
    let out = run_with_traffic(&["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    let kinds = kinds(&events);
    for kind in [
        "connecting",
        "connected",
        "reported",
        "properties",
        "answered",
        "command",
        "ota_job",
        "ota_done",
        "stopped",
    ] {
        assert!(kinds.contains(&kind), "no {kind}: {kinds:?}");
    }
    assert_eq!(kinds.last(), Some(&"stopped"), "{kinds:?}");
    let connected = events.iter().find(|e| e["event"] == "connected").unwrap();
    assert_eq!(connected["session_present"], false);
    let set = events
        .iter()
        .find(|e| e["event"] == "properties" && e["origin"] == "set")
        .unwrap();
    assert_eq!(set["values"]["on"], true, "{set}");
    assert_eq!(set["values"]["label"], "a\u{1b}[2Jb", "{set}");
    let command = events.iter().find(|e| e["event"] == "command").unwrap();
    assert_eq!(command["name"], "reboot");
    assert_eq!(command["params"], json!({"delay": 1}));
    let job = events.iter().find(|e| e["event"] == "ota_job").unwrap();
    assert_eq!(
        (&job["version"], &job["size"]),
        (&json!("2.0.0"), &json!(20_000))
    );
    let done = events.iter().find(|e| e["event"] == "ota_done").unwrap();
    assert_eq!(done["bytes"], 20_000, "{done}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "ota_progress" && e["percent"] == 100),
        "{kinds:?}"
    );
    assert!(!stdout(&out).contains("dGVuY2VudC1rZXktZGV2YTE="));
}

#[test]
fn run_quiet_shows_data_and_leaves_out_connection_events() {
    let out = run_with_traffic(&["--json", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    let kinds = kinds(&events);
    for kind in ["properties", "command", "ota_job", "ota_done"] {
        assert!(kinds.contains(&kind), "no {kind}: {kinds:?}");
    }
    for kind in [
        "connecting",
        "connected",
        "reported",
        "answered",
        "published",
        "subscribed",
        "ota_progress",
        "stopped",
    ] {
        assert!(!kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    // As text too.
    let out = run_with_traffic(&["-q"]);
    let text = stdout(&out);
    assert!(text.contains("properties set id="), "{text}");
    assert!(!text.contains("connected"), "{text}");
    assert!(!text.contains("disconnected"), "{text}");
}

/// `pub` and `sub` as plain-broker devices on a local mosquitto.
fn mqtt(port: u16, client: &str, rest: &[&str]) -> Vec<String> {
    let mut args = vec![
        "mqtt".to_string(),
        "host=127.0.0.1".into(),
        format!("port={port}"),
        "tls=false".into(),
        format!("client_id={client}"),
    ];
    args.extend(rest.iter().map(|s| (*s).to_string()));
    args
}

#[test]
fn pub_and_sub_quiet_say_nothing_on_stderr_but_errors() {
    let broker = Broker::start();
    let publish = |client: &str, quiet: bool| -> Output {
        let mut args = vec!["pub".to_string()];
        args.extend(mqtt(
            broker.port,
            client,
            &["topic=quiet/t", "count=3", "payload=hello {seq}"],
        ));
        if quiet {
            args.push("--quiet".into());
        }
        Command::new(env!("CARGO_BIN_EXE_iotcloud"))
            .args(&args)
            .output()
            .unwrap()
    };
    let loud = publish("loud-pub", false);
    assert_eq!(loud.status.code(), Some(0), "{}", stderr(&loud));
    assert!(stderr(&loud).contains("connected"), "{}", stderr(&loud));
    let quiet = publish("quiet-pub", true);
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));
    let summary: Value = serde_json::from_str(&stdout(&quiet)).unwrap();
    assert_eq!(summary["acknowledged"], 3);

    // `sub --json --quiet`: it cannot say when it is subscribed, so the message is sent
    // until it arrives.
    let mut args = vec!["sub".to_string()];
    args.extend(mqtt(
        broker.port,
        "quiet-sub",
        &["topic=quiet/s", "count=1", "seconds=10", "--json", "-q"],
    ));
    let mut sub = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sub.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let mut args = vec!["pub".to_string()];
        args.extend(mqtt(
            broker.port,
            "quiet-sender",
            &["topic=quiet/s", "payload=hi", "qos=0", "-q"],
        ));
        let sent = Command::new(env!("CARGO_BIN_EXE_iotcloud"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = sub.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let line: Value = serde_json::from_str(stdout(&out).trim_end()).unwrap();
    assert_eq!(
        line,
        json!({"topic": "quiet/s", "payload": "hi", "qos": 0, "retain": false})
    );
}
