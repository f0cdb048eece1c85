//! Standard output of the commands. `println!` panics when standard output is gone (a
//! closed pipe: `iotcloud sub … | head -1`); these end the program quietly instead.

use std::io::Write;

use iotcloud::iotcloud_core::Printable;

/// The exit status when standard output is gone: what a shell reports for a program ended
/// by SIGPIPE (128 + 13), which is how such a program usually ends.
const OUTPUT_CLOSED: i32 = 141;

/// Writes `text` and a newline to standard output and flushes it.
pub(crate) fn line(text: &str) {
    write(text, "\n");
}

/// Writes `text` to standard output without a newline (a progress bar redrawn with `\r`)
/// and flushes it.
pub(crate) fn partial(text: &str) {
    write(text, "");
}

fn write(text: &str, end: &str) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(end.as_bytes()))
        .and_then(|()| out.flush());
    if written.is_err() {
        std::process::exit(OUTPUT_CLOSED);
    }
}

/// `text` with everything that could act on a terminal escaped ([`Printable`]), except the
/// line breaks between its lines: for multi-line text of the tool's own that quotes what
/// came from the network.
pub(crate) fn escaped_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| Printable(line).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
