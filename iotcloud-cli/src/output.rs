//! Standard output of the commands. `println!` panics when standard output is gone (a
//! closed pipe: `iotcloud sub … | head -1`); these end the program quietly instead.

use std::io::Write;

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
