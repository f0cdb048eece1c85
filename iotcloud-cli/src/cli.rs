//! The command line's grammar: each command a subcommand whose `<cloud>` and trailing
//! `key=value` arguments are kept as written (the device's keys and the command's own are
//! read by the command), with its help — what it does, the keys it takes, worked examples
//! (`help.rs`) — and usage errors in the tool's words, never showing a value.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::help::{self, DeviceCommand};
use crate::suggest;

/// What the command line asks for.
pub(crate) enum Invocation {
    /// Help or the version, for standard output.
    Print(String),
    /// A command of a device: `sign`, `register`, `run`, `time`, `pub` or `sub`.
    Device(DeviceCommand, DeviceArgs),
    /// `demo`: the `--cloud` values as given (names, `all`, comma-separated lists).
    Demo { clouds: Vec<String> },
    /// `emulate`.
    Emulate(EmulateArgs),
}

/// What a command of a device was given.
pub(crate) struct DeviceArgs {
    /// The cloud's name as typed (checked by the command).
    pub cloud: String,
    /// The `key=value` arguments, in order.
    pub keys: Vec<String>,
    /// `--json` (`run`, `sub`).
    pub json: bool,
    /// `--quiet` (`run`, `pub`, `sub`).
    pub quiet: bool,
    /// `--verbose` (the commands that connect): the device's trace on standard error.
    pub verbose: bool,
}

/// What `emulate` was given.
pub(crate) struct EmulateArgs {
    /// The clouds to serve as typed (names or `all`; none: all).
    pub clouds: Vec<String>,
    /// `--devices FILE`, each a TOML file of `[[device]]` tables.
    pub device_files: Vec<String>,
    /// `--device SPEC`, each one device.
    pub devices: Vec<String>,
    /// `--control-port N` (0: any free port).
    pub control_port: u16,
    /// `--seconds N`: stop after this long.
    pub seconds: Option<u64>,
}

/// The template of every command's help: lower-case headings, like the tool's messages.
/// A command's description is its `before_help`, so that `-h` and `--help` show the same.
const DEVICE_TEMPLATE: &str = "{about-with-newline}\nusage: {usage}\n\n{before-help}arguments:\n\
                               {positionals}\n\noptions:\n{options}{after-help}";
const OPTIONS_TEMPLATE: &str =
    "{about-with-newline}\nusage: {usage}\n\n{before-help}options:\n{options}{after-help}";
const TOP_TEMPLATE: &str = "{about-with-newline}\nusage: {usage}\n\ncommands:\n{subcommands}\n\noptions:\n{options}{after-help}";

/// The tool's command line.
pub(crate) fn command() -> Command {
    let mut top = Command::new("iotcloud")
        .version(env!("CARGO_PKG_VERSION"))
        .about(help::wrap(help::ABOUT))
        .override_usage(help::synopsis())
        .after_help(help::top())
        .help_template(TOP_TEMPLATE)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(help_flag())
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("Print the version"),
        );
    for spec in &help::DEVICE_COMMANDS {
        top = top.subcommand(device_command(spec));
    }
    top.subcommand(demo_command()).subcommand(emulate_command())
}

/// `-h`/`--help` in the tool's words (clap's says "Print help").
fn help_flag() -> Arg {
    Arg::new("help")
        .short('h')
        .long("help")
        .action(ArgAction::Help)
        .help("Print this help")
}

fn device_command(spec: &help::DeviceSpec) -> Command {
    let mut cmd =
        Command::new(spec.name)
            .about(spec.about)
            .override_usage(spec.usage)
            .before_help(help::wrap(spec.description))
            .after_help(help::device(spec))
            .help_template(DEVICE_TEMPLATE)
            .disable_help_flag(true)
            .arg(Arg::new("cloud").value_name("CLOUD").required(true).help(
                "The cloud, one of those the keys below are listed for (tencent is also qcloud)",
            ))
            .arg(
                Arg::new("keys")
                    .value_name("KEY=VALUE")
                    .num_args(0..)
                    .action(ArgAction::Append)
                    .help("The device's keys and the command's own (below), each once"),
            );
    if let Some(text) = spec.json {
        cmd = cmd.arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help(text),
        );
    }
    if spec.connects() {
        cmd = cmd.arg(
            Arg::new("verbose")
                .short('v')
                .long("verbose")
                .action(ArgAction::SetTrue)
                .help("Trace the device's exchanges on stderr; never a secret"),
        );
    }
    if let Some(text) = spec.quiet {
        cmd = cmd.arg(
            Arg::new("quiet")
                .short('q')
                .long("quiet")
                .action(ArgAction::SetTrue)
                .help(text),
        );
    }
    cmd.arg(help_flag())
}

fn demo_command() -> Command {
    Command::new("demo")
        .about(help::DEMO.about)
        .override_usage(help::DEMO.usage)
        .before_help(help::wrap(help::DEMO.description))
        .after_help(help::examples(help::DEMO.examples))
        .help_template(OPTIONS_TEMPLATE)
        .disable_help_flag(true)
        .arg(
            Arg::new("cloud")
                .long("cloud")
                .value_name("NAME|all")
                .action(ArgAction::Append)
                .help("The clouds to take through a device's life, comma-separated (default all)"),
        )
        .arg(help_flag())
}

fn emulate_command() -> Command {
    Command::new("emulate")
        .about(help::EMULATE.about)
        .override_usage(help::EMULATE.usage)
        .before_help(help::wrap(help::EMULATE.description))
        .after_help(help::examples(help::EMULATE.examples))
        .help_template(DEVICE_TEMPLATE)
        .disable_help_flag(true)
        .arg(
            Arg::new("clouds")
                .value_name("CLOUD")
                .num_args(0..)
                .action(ArgAction::Append)
                .help("The clouds to serve, or `all` (default all)"),
        )
        .arg(
            Arg::new("devices")
                .long("devices")
                .value_name("FILE.toml")
                .action(ArgAction::Append)
                .help("Devices from [[device]] tables: cloud, product, name, secret (tlink: username)"),
        )
        .arg(
            Arg::new("device")
                .long("device")
                .value_name("SPEC")
                .action(ArgAction::Append)
                .help("One device: cloud=…,product=…,name=…,secret=… (tlink: username=…)"),
        )
        .arg(
            Arg::new("control-port")
                .long("control-port")
                .value_name("N")
                .value_parser(clap::value_parser!(u16))
                .help("The HTTP/JSON control port (default: any free port)"),
        )
        .arg(
            Arg::new("seconds")
                .long("seconds")
                .value_name("N")
                .value_parser(clap::value_parser!(u64))
                .help("Stop after N seconds (default: at `quit` or Ctrl-C)"),
        )
        .arg(help_flag())
}

/// Reads the command line (`args` without the program's name). Help and the version are
/// [`Invocation::Print`]; a usage error is its message, which names what was wrong and
/// suggests what was meant but never shows a value (any may be a secret).
pub(crate) fn parse(args: &[String]) -> Result<Invocation, String> {
    let all = std::iter::once("iotcloud").chain(args.iter().map(String::as_str));
    let matches = match command().try_get_matches_from(all) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Ok(Invocation::Print(e.render().to_string().trim_end().into()));
        }
        Err(e) => return Err(usage_error(&e, args)),
    };
    let Some((name, sub)) = matches.subcommand() else {
        // `subcommand_required` rules this out; a message is still better than a panic.
        return Err(format!(
            "a command is needed\n\nusage: {}",
            help::synopsis()
        ));
    };
    let strings = |id: &str| -> Vec<String> {
        sub.get_many::<String>(id)
            .map(|v| v.cloned().collect())
            .unwrap_or_default()
    };
    match name {
        "demo" => Ok(Invocation::Demo {
            clouds: strings("cloud"),
        }),
        "emulate" => Ok(Invocation::Emulate(EmulateArgs {
            clouds: strings("clouds"),
            device_files: strings("devices"),
            devices: strings("device"),
            control_port: sub.get_one::<u16>("control-port").copied().unwrap_or(0),
            seconds: sub.get_one::<u64>("seconds").copied(),
        })),
        name => {
            let spec =
                help::device_spec(name).ok_or_else(|| format!("unknown command `{name}`"))?;
            check_keys(args)?;
            Ok(Invocation::Device(
                spec.command,
                DeviceArgs {
                    cloud: sub.get_one::<String>("cloud").cloned().unwrap_or_default(),
                    keys: strings("keys"),
                    json: flag(sub, "json"),
                    quiet: flag(sub, "quiet"),
                    verbose: flag(sub, "verbose"),
                },
            ))
        }
    }
}

/// Whether the flag `id`, which not every command has, was given.
fn flag(m: &ArgMatches, id: &str) -> bool {
    m.try_get_one::<bool>(id)
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false)
}

/// Every argument after a device command's cloud is `key=value`, each key once (the tool's
/// own keys and the configuration's alike). Arguments are counted from the command (1), as
/// the user typed them, flags included; none is shown, as any may hold a secret.
pub(crate) fn check_keys(args: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let mut cloud_seen = false;
    let mut options_end = false;
    for (i, arg) in args.iter().enumerate().skip(1) {
        if !options_end && arg == "--" {
            options_end = true;
            continue;
        }
        if !options_end && arg.starts_with('-') {
            // A flag clap has accepted (`--json`, `-q`).
            continue;
        }
        if !cloud_seen {
            cloud_seen = true;
            continue;
        }
        let Some((key, _)) = arg.split_once('=') else {
            return Err(format!("argument {} is not key=value", i + 1));
        };
        if !seen.insert(key) {
            return Err(format!(
                "`{}` given twice",
                crate::output::escaped_lines(key)
            ));
        }
    }
    Ok(())
}

/// The message of a usage error: what was wrong, what was meant where something close
/// exists, and the usage of the command at hand. Unknown options are named without what
/// follows their `=`.
fn usage_error(e: &clap::Error, args: &[String]) -> String {
    let context = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        Some(ContextValue::Strings(v)) => v.first().map(String::as_str),
        _ => None,
    };
    // The command at hand: the first argument, when it names one.
    let command = args.first().and_then(|name| {
        self::command()
            .get_subcommands()
            .find(|c| c.get_name() == name)
            .cloned()
    });
    let usage = command
        .as_ref()
        .and_then(|c| help::usage_of(c.get_name()))
        .map_or_else(help::synopsis, str::to_string);
    let what = match e.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return format!(
                "a command is needed\n\n{}",
                e.render().to_string().trim_end()
            );
        }
        ErrorKind::InvalidSubcommand => {
            let typed = context(ContextKind::InvalidSubcommand).unwrap_or_default();
            let names: Vec<String> = self::command()
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .chain(["help".to_string()])
                .collect();
            let hint = suggest::hint(typed, names.iter().map(String::as_str));
            named(typed, &hint, args, "unknown command", "a command")
        }
        ErrorKind::UnknownArgument => {
            let typed = context(ContextKind::InvalidArg).unwrap_or_default();
            // `--name=value` is named without its value; a short option is one letter.
            let typed = match typed.strip_prefix("--") {
                Some(_) => typed.split_once('=').map_or(typed, |(name, _)| name),
                None => typed
                    .char_indices()
                    .nth(2)
                    .map_or(typed, |(at, _)| &typed[..at]),
            };
            let flags: Vec<String> = command
                .iter()
                .flat_map(Command::get_arguments)
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            let hint = suggest::hint(typed, flags.iter().map(String::as_str));
            named(
                typed,
                &hint,
                args,
                "unknown option",
                "an option of this command",
            )
        }
        // `--json=yes`: the value is not shown; it could be anything.
        ErrorKind::TooManyValues => {
            let arg = context(ContextKind::InvalidArg).unwrap_or_default();
            let arg = arg.split_once(' ').map_or(arg, |(name, _)| name);
            format!("`{arg}` takes no value")
        }
        ErrorKind::MissingRequiredArgument => match &command {
            Some(c) => format!("`{}` needs a cloud", c.get_name()),
            None => first_line(e),
        },
        _ => first_line(e),
    };
    format!("{what}\n\nusage: {usage}")
}

/// `unknown … `typed``, with `hint`, where `typed` looks like a name or is close to one;
/// anything else (a secret pasted by mistake) is named by its position among `args`.
fn named(typed: &str, hint: &str, args: &[String], unknown: &str, not_a: &str) -> String {
    let looks_like_a_name = typed.len() <= 24
        && typed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b));
    if looks_like_a_name || !hint.is_empty() {
        return format!("{unknown} `{typed}`{hint}");
    }
    match args.iter().position(|a| a.starts_with(typed)) {
        Some(i) => format!("argument {} is not {not_a}", i + 1),
        // Not found as typed: nothing is shown.
        None => format!("{unknown} given"),
    }
}

/// The first line of clap's message, without its `error: `.
fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    proptest::proptest! {
        /// Whatever follows a command, a usage error names what was wrong by key, option
        /// name or position, never by a value.
        #[test]
        fn usage_errors_never_show_a_value(
            command in proptest::sample::select(
                vec!["sign", "register", "run", "time", "pub", "sub", "demo", "help", "sig"],
            ),
            args in proptest::collection::vec(
                proptest::prop_oneof![
                    "[a-z_]{1,10}=SECRET[ -~]{0,10}".prop_map(String::from),
                    "-{1,2}[a-z_]{0,6}=?SECRET[ -~]{0,10}".prop_map(String::from),
                    "SECRET[ -~]{0,10}".prop_map(String::from),
                    proptest::sample::select(vec!["--json", "-q", "--quiet", "--", "tlink"])
                        .prop_map(String::from),
                ],
                0..6,
            )
        ) {
            let mut argv = vec![command.to_string()];
            argv.extend(args);
            if let Err(message) = parse(&argv) {
                proptest::prop_assert!(!message.contains("SECRET"), "{argv:?}: {message}");
            }
        }
    }

    /// What proptest once found: `help` names its argument as a command.
    #[test]
    fn what_is_not_a_command_s_name_is_named_by_position() {
        let args = ["help".to_string(), "a=SECRET".to_string()];
        assert_eq!(
            parse(&args).err().as_deref().and_then(|m| m.lines().next()),
            Some("argument 2 is not a command")
        );
    }

    #[test]
    fn keys_are_counted_from_the_command_with_flags_in_place() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_keys(&args(&["pub", "--quiet", "tlink", "a=1", "oops"])),
            Err("argument 5 is not key=value".into())
        );
        assert_eq!(
            check_keys(&args(&["pub", "tlink", "a=1", "-q", "a=2"])),
            Err("`a` given twice".into())
        );
        assert_eq!(check_keys(&args(&["sign", "tlink", "--", "a=1"])), Ok(()));
    }
}
