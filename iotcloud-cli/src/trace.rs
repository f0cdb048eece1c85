//! `--verbose`: the device's trace (the SDK's `log` records, target `iotcloud`) on standard
//! error, one `trace: …` line each, every character that could act on a terminal escaped
//! (topics and client ids come from the configuration or the network). The SDK never traces
//! a secret.

use std::io::Write as _;

use iotcloud::iotcloud_core::Printable;

struct StderrTrace;

impl log::Log for StderrTrace {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("iotcloud") && metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let text = record.args().to_string();
            // A closed standard error is no reason to stop the device.
            let _ = writeln!(std::io::stderr().lock(), "trace: {}", Printable(&text));
        }
    }

    fn flush(&self) {}
}

static TRACE: StderrTrace = StderrTrace;

/// Sends the SDK's trace to standard error from now on.
pub(crate) fn to_stderr() {
    if log::set_logger(&TRACE).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}
