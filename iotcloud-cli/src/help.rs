//! The help the tool prints: each command declared once — what it does, its usage, its own
//! keys, its options, worked examples — and the device's keys for each cloud, taken from
//! the `iotcloud` crate's table of which cloud reads which key.

use iotcloud::{Cloud, Key};

/// The tool in one line.
pub(crate) const ABOUT: &str = "Sign, register, run, publish and subscribe as a device of seven \
Chinese IoT clouds or a standard MQTT broker, and emulate those clouds on this machine.";

/// The commands that act as a device: they take `<cloud> key=value…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceCommand {
    /// `sign`.
    Sign,
    /// `register`.
    Register,
    /// `run`.
    Run,
    /// `time`.
    Time,
    /// `pub`.
    Pub,
    /// `sub`.
    Sub,
}

/// One command of a device, declared once for the grammar and the help.
pub(crate) struct DeviceSpec {
    /// The command.
    pub command: DeviceCommand,
    /// Its name on the command line.
    pub name: &'static str,
    /// What it does, in one line.
    pub about: &'static str,
    /// Its synopsis.
    pub usage: &'static str,
    /// What it does, in full.
    pub description: &'static str,
    /// Its own `key=value` arguments and what each is for.
    pub own_keys: &'static [(&'static str, &'static str)],
    /// The help of `--json`, where the command has it.
    pub json: Option<&'static str>,
    /// The help of `--quiet`, where the command has it.
    pub quiet: Option<&'static str>,
    /// Worked examples: what each does, and the command line.
    pub examples: &'static [(&'static str, &'static str)],
}

impl DeviceSpec {
    /// Whether the command connects a device (and so has a trace to show).
    pub fn connects(&self) -> bool {
        matches!(
            self.command,
            DeviceCommand::Run | DeviceCommand::Time | DeviceCommand::Pub | DeviceCommand::Sub
        )
    }
}

/// A command that is not a device (`demo`, `emulate`): its options are clap's.
pub(crate) struct OtherSpec {
    /// What it does, in one line.
    pub about: &'static str,
    /// Its synopsis.
    pub usage: &'static str,
    /// What it does, in full.
    pub description: &'static str,
    /// Worked examples.
    pub examples: &'static [(&'static str, &'static str)],
}

/// The keys every device command takes besides the configuration's.
const TOOL_KEYS: &[(&str, &str)] = &[
    (
        "config=FILE",
        "keys not given otherwise, from a TOML file (chmod 600 it)",
    ),
    (
        "store=DIR",
        "where registration results are kept (default ~/.local/share/iotcloud)",
    ),
];

/// The clouds, as named on the command line.
const CLOUDS: &str =
    "aliyun, tencent (or qcloud), onenet, huawei, tuya, baidu, tlink, or mqtt (a standard broker)";

/// The commands of a device, in the order the help lists them.
pub(crate) const DEVICE_COMMANDS: [DeviceSpec; 6] = [
    DeviceSpec {
        command: DeviceCommand::Sign,
        name: "sign",
        about: "Print the MQTT credentials and endpoint a device would connect with, as JSON",
        usage: "iotcloud sign <cloud> key=value...",
        description: "Prints the MQTT client id, user name, password, host, port and TLS flag a \
device of the cloud would connect with, as one JSON object, for pasting into an MQTT desktop \
client. Devices that register use what `iotcloud register` stored.",
        own_keys: &[],
        json: None,
        quiet: None,
        examples: &[
            (
                "LuatOS's own Aliyun test vector, signed as LuatOS signs it",
                "iotcloud sign aliyun product_id=123456789 device_name=abcdefg \
                 device_secret=Y877Bgo8X5owd3lcB5wWDjryNPoB luatos=true",
            ),
            (
                "the secret from the environment, not the process list",
                "IOTCLOUD_DEVICE_SECRET=... iotcloud sign tuya device_name=6c95875d0f5ba69607nzfl",
            ),
            (
                "every key from a file",
                "iotcloud sign aliyun config=pump-7.toml",
            ),
        ],
    },
    DeviceSpec {
        command: DeviceCommand::Register,
        name: "register",
        about: "Run dynamic registration, store what the cloud hands out and print it",
        usage: "iotcloud register <cloud> key=value...",
        description: "Runs the cloud's dynamic registration (it needs product_secret, \
userid/userkey on OneNET, or the IAM keys on Huawei), stores the device's credentials under \
store=DIR and prints them as JSON; `sign`, `run`, `pub` and `sub` then use them. A \
configuration that holds its own credentials has nothing to register.",
        own_keys: &[],
        json: None,
        quiet: None,
        examples: &[
            (
                "register a Tencent device with its product's secret",
                "iotcloud register tencent product_id=ZAJCHA24SH device_name=dev1 \
                 product_secret=... store=/var/lib/iotcloud",
            ),
            (
                "then sign with what was stored",
                "iotcloud sign tencent product_id=ZAJCHA24SH device_name=dev1 \
                 product_secret=... store=/var/lib/iotcloud",
            ),
        ],
    },
    DeviceSpec {
        command: DeviceCommand::Run,
        name: "run",
        about: "Stay connected as a device: log every event, take OTA jobs, answer the data model",
        usage: "iotcloud run <cloud> key=value... [ota_dir=DIR] [version=V] [seconds=N]\n                    \
                [prop.NAME=VALUE]... [answer_code=N] [clock=none] [--json] [--quiet] [-v]",
        description: "Connects and logs every event, one per line, reconnecting after every loss \
with backoff, until Ctrl-C or seconds=N. It reports firmware version V and downloads OTA jobs \
into ota_dir, verified, with a progress bar on a terminal, reporting progress and the result \
to the cloud. Where the cloud has a data model it answers property sets and commands, reports \
the prop.NAME=VALUE properties after every connect, fetches desired values, and learns the \
time from the cloud when the clock is unknown.",
        own_keys: &[
            (
                "ota_dir=DIR",
                "download OTA images here (without it, jobs are only logged)",
            ),
            (
                "version=V",
                "the firmware version to report (default 0.0.0)",
            ),
            ("seconds=N", "stop after N seconds (default: at Ctrl-C)"),
            (
                "prop.NAME=VALUE",
                "a property to report after every connect (VALUE as JSON where it is JSON)",
            ),
            (
                "answer_code=N",
                "answer property sets and commands with code N, not success",
            ),
            ("clock=none", "act out a device without a wall clock"),
        ],
        json: Some("One JSON object per event on stdout, its kind in \"event\""),
        quiet: Some("Leave out connection events, acknowledgements and progress"),
        examples: &[
            (
                "a device whose keys are in a file, taking OTA jobs",
                "iotcloud run aliyun config=pump-7.toml version=1.0.0 ota_dir=/tmp/ota",
            ),
            (
                "events as JSON lines for a script, against a local broker",
                "iotcloud run mqtt host=127.0.0.1 port=1883 tls=false client_id=dev1 --json",
            ),
            (
                "report two properties and refuse every set, without a clock",
                "iotcloud run tencent config=dev.toml prop.temp=21.5 prop.mode=eco \
                 answer_code=7 clock=none --quiet",
            ),
        ],
    },
    DeviceSpec {
        command: DeviceCommand::Time,
        name: "time",
        about: "Ask the cloud for the time and print this machine's offset from it, as JSON",
        usage: "iotcloud time <cloud> key=value... [clock=none] [-v]",
        description: "Connects, asks the cloud for the time over MQTT (the clouds with a time \
service) and prints it with this machine's offset from it and the round trip, as one JSON \
object.",
        own_keys: &[(
            "clock=none",
            "act out a device without a wall clock (it has no offset to tell)",
        )],
        json: None,
        quiet: None,
        examples: &[
            (
                "the cloud's clock against this machine's",
                "iotcloud time aliyun config=pump-7.toml",
            ),
            (
                "as a device that has no clock",
                "iotcloud time tencent config=dev.toml clock=none",
            ),
        ],
    },
    DeviceSpec {
        command: DeviceCommand::Pub,
        name: "pub",
        about: "Publish numbered messages through disconnects until each is acknowledged",
        usage: "iotcloud pub <cloud> key=value... topic=T [count=N] [qos=Q] [interval=MS]\n                    \
                [payload=TEXT] [seconds=N] [floor_ms=MS] [cap_ms=MS] [--quiet] [-v]",
        description: "Publishes N messages at QoS Q, one every MS milliseconds, `{seq}` in the \
payload becoming the message's number. It starts once connected, reconnects after every loss, \
queues what it publishes meanwhile, and exits 0 only once every message is acknowledged (QoS \
0: sent), printing {\"published\":N,\"acknowledged\":N,\"seconds\":...}.",
        own_keys: &[
            ("topic=T", "where to publish (required)"),
            ("count=N", "how many messages (default 1)"),
            ("qos=Q", "0, 1 or 2 (default 1)"),
            (
                "interval=MS",
                "milliseconds between two messages (default 0: full speed)",
            ),
            (
                "payload=TEXT",
                "the message; {seq} becomes its number (default {seq})",
            ),
            ("seconds=N", "give up after N seconds, with exit status 2"),
            ("floor_ms=MS, cap_ms=MS", "the reconnect backoff's bounds"),
        ],
        json: None,
        quiet: Some("No connection events on stderr: only the summary and errors"),
        examples: &[
            (
                "ten messages to a local broker",
                "iotcloud pub mqtt host=127.0.0.1 port=1883 tls=false client_id=x topic=t count=10",
            ),
            (
                "a thousand at QoS 0, full speed",
                "iotcloud pub aliyun config=dev-a.toml topic=/a1B2c3D4e5F/dev-a/user/data \
                 count=1000 qos=0 payload='{\"seq\":{seq}}'",
            ),
        ],
    },
    DeviceSpec {
        command: DeviceCommand::Sub,
        name: "sub",
        about: "Subscribe and print each message, one per line, through disconnects",
        usage: "iotcloud sub <cloud> key=value... topic=FILTER [count=N] [qos=Q] [seconds=N]\n                    \
                [format=json] [floor_ms=MS] [cap_ms=MS] [--json] [--quiet] [-v]",
        description: "Subscribes to FILTER and prints each message as `topic payload` (control \
characters escaped), one per line, until N messages, N seconds or Ctrl-C, reconnecting after \
every loss. Connection events go to standard error.",
        own_keys: &[
            ("topic=FILTER", "what to subscribe to (required)"),
            ("count=N", "stop after N messages"),
            ("qos=Q", "0, 1 or 2 (default 1)"),
            ("seconds=N", "stop after N seconds"),
            ("format=json", "the same as --json"),
            ("floor_ms=MS, cap_ms=MS", "the reconnect backoff's bounds"),
        ],
        json: Some("One JSON object per message (as format=json)"),
        quiet: Some("No connection events on stderr: only messages and errors"),
        examples: &[
            (
                "everything on a local broker",
                "iotcloud sub mqtt host=127.0.0.1 port=1883 tls=false client_id=y topic='#'",
            ),
            (
                "one message as JSON, nothing else",
                "iotcloud sub aliyun config=dev-b.toml topic='/a1B2c3D4e5F/dev-b/user/#' \
                 count=1 seconds=30 --json --quiet",
            ),
        ],
    },
];

/// `demo`.
pub(crate) const DEMO: OtherSpec = OtherSpec {
    about: "Take a device per cloud through its whole life against the emulator, as a timeline",
    usage: "iotcloud demo [--cloud NAME|all]",
    description: "Starts the cloud emulator in this process and takes one device per chosen \
cloud through registration, connection, telemetry, a command, an OTA job and its download, the \
result report and disconnection, printing a timeline; exits 0 only if every step succeeded.",
    examples: &[
        ("every cloud", "iotcloud demo"),
        ("two of them", "iotcloud demo --cloud tuya,baidu"),
    ],
};

/// `emulate`.
pub(crate) const EMULATE: OtherSpec = OtherSpec {
    about: "Serve the cloud emulator in the foreground for devices elsewhere",
    usage: "iotcloud emulate [CLOUD...] [--devices FILE.toml] [--device SPEC]...\n                        \
            [--control-port N] [--seconds N]",
    description: "Runs the cloud emulator and prints the settings each device should use (an \
`iotcloud run` line per device). Devices come from --devices files, --device specs, or the demo \
set. Commands and OTA jobs go through standard input (`devices`, `published`, `command CLOUD \
DEVICE PAYLOAD`, `ota CLOUD DEVICE VERSION`, `quit`, ...) or the HTTP/JSON control port.",
    examples: &[
        ("the demo devices of every cloud", "iotcloud emulate"),
        (
            "two clouds, devices from a file, a fixed control port",
            "iotcloud emulate tuya baidu --devices devices.toml --control-port 8080",
        ),
        (
            "one Tlink device for a minute",
            "iotcloud emulate tlink --device cloud=tlink,name=dev1,username=acct,secret=pw \
             --seconds 60",
        ),
    ],
};

/// The spec of the device command `name`.
pub(crate) fn device_spec(name: &str) -> Option<&'static DeviceSpec> {
    DEVICE_COMMANDS.iter().find(|s| s.name == name)
}

/// The synopsis of the command `name`.
pub(crate) fn usage_of(name: &str) -> Option<&'static str> {
    match name {
        "demo" => Some(DEMO.usage),
        "emulate" => Some(EMULATE.usage),
        name => device_spec(name).map(|s| s.usage),
    }
}

/// Every command's synopsis, one per line.
pub(crate) fn synopsis() -> String {
    let mut lines: Vec<&str> = DEVICE_COMMANDS.iter().map(|s| s.usage).collect();
    lines.extend([DEMO.usage, EMULATE.usage]);
    lines.join("\n       ")
}

/// The end of `iotcloud --help`: the clouds, where keys come from, where to read more.
pub(crate) fn top() -> String {
    wrap(&format!(
        "clouds: {CLOUDS}\n\n{SOURCES}\n\n`iotcloud help <command>` (or `iotcloud <command> \
         --help`) shows a command's keys, for each cloud, and examples."
    ))
}

/// Where a device's keys come from.
const SOURCES: &str = "Keys come from the command line, then the environment (IOTCLOUD_ and the \
key in capitals: IOTCLOUD_DEVICE_SECRET=...), then a TOML file of key = \"value\" lines given as \
config=FILE, so that secrets need not be in the process list.";

/// The end of a device command's help: its own keys, the device's keys, examples.
pub(crate) fn device(spec: &DeviceSpec) -> String {
    let mut out = String::new();
    let mut own: Vec<(&str, &str)> = spec.own_keys.to_vec();
    own.extend_from_slice(TOOL_KEYS);
    out.push_str("the command's keys:\n");
    let width = own.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, what) in own {
        out.push_str(&format!("  {key:<width$}  {what}\n"));
    }
    out.push_str(&format!("\n{}\n\n{}\n\n", device_keys(), wrap(SOURCES)));
    out.push_str(&examples(spec.examples));
    out
}

/// Examples: each a comment saying what it does, then the command line, broken with `\`
/// where it is long.
pub(crate) fn examples(list: &[(&str, &str)]) -> String {
    let mut out = String::from("examples:");
    for (what, line) in list {
        out.push_str(&format!("\n  # {what}\n"));
        let mut column = 0;
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 && column + 1 + word.len() > WIDTH - 4 {
                out.push_str(" \\\n      ");
                column = 4;
            } else if i > 0 {
                out.push(' ');
                column += 1;
            } else {
                out.push_str("  ");
                column = 2;
            }
            out.push_str(word);
            column += word.len();
        }
    }
    out
}

/// How wide the help's text is.
const WIDTH: usize = 92;

/// `text` wrapped to [`WIDTH`] columns, paragraph by paragraph (blank lines between them
/// stay).
pub(crate) fn wrap(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|paragraph| {
            let mut out = String::new();
            let mut column = 0;
            for word in paragraph.split_whitespace() {
                if column > 0 && column + 1 + word.len() > WIDTH {
                    out.push('\n');
                    column = 0;
                } else if column > 0 {
                    out.push(' ');
                    column += 1;
                }
                out.push_str(word);
                column += word.chars().count();
            }
            out
        })
        .collect();
    paragraphs.join("\n\n")
}

/// The device's keys: those every cloud reads, then each cloud's own, from the `iotcloud`
/// crate's table ([`Cloud::reads`]).
pub(crate) fn device_keys() -> String {
    let name = |k: Key| match k {
        Key::ProductId => "product_id (or produt_id)",
        Key::DeviceName => "device_name (or client_id)",
        Key::Port => "port (or ip)",
        k => k.name(),
    };
    let mut out = String::from("the device's keys:\n");
    let common: Vec<&str> = Key::ALL
        .into_iter()
        .filter(|k| k.is_common())
        .map(name)
        .collect();
    out.push_str(&wrapped("every cloud:", &common, ','));
    for cloud in Cloud::ALL {
        let own: Vec<&str> = Key::ALL
            .into_iter()
            .filter(|&k| !k.is_common() && k != Key::ProdutId && cloud.reads(k))
            .map(name)
            .collect();
        out.push_str(&wrapped(&format!("{}:", cloud.name()), &own, ','));
    }
    out.push_str(&wrapped(
        "values:",
        &[
            "tls=true|false|insecure",
            "timestamp=auto|now|luatos|SECONDS",
            "luatos=true|false",
            "register_flow=https|register|regnwl (aliyun), key|certificate (tencent)",
            "server_cert, client_cert and client_key: paths of PEM files",
        ],
        ';',
    ));
    out.trim_end().to_string()
}

/// `label` and `items`, each but the last followed by `separator`, wrapped under the first
/// item.
fn wrapped(label: &str, items: &[&str], separator: char) -> String {
    const INDENT: usize = 15;
    let mut out = format!("  {label:<width$}", width = INDENT - 2);
    let mut column = INDENT;
    for (i, item) in items.iter().enumerate() {
        let text = if i + 1 < items.len() {
            format!("{item}{separator}")
        } else {
            (*item).to_string()
        };
        if column > INDENT && column + 1 + text.len() > WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(INDENT));
            column = INDENT;
        } else if column > INDENT {
            out.push(' ');
            column += 1;
        }
        out.push_str(&text);
        column += text.len();
    }
    out.push('\n');
    out
}
